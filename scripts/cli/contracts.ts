/*
 * The shapes the CLI expects from modules other parts of the project own
 * (see the shared contracts). They are imported lazily through
 * importProject(), so these types are the CLI's side of the agreement.
 */
import type { Config } from '../../server/lib/config.ts';
import type { ModelStatus } from '../../worker/ml/types.ts';

export interface ServerModule {
  startServer(config: Config, opts?: Record<string, unknown>): Promise<{ url: string; close(): Promise<void> }>;
}

export interface WorkerModule {
  startWorker(config: Config, opts?: Record<string, unknown>): Promise<{ stop(): Promise<void> }>;
}

export interface ModelsModule {
  getModels(config: Config): { status(): Promise<ModelStatus[]> };
  pullModels?(config: Config, opts?: Record<string, unknown>): Promise<unknown>;
}

export interface ReindexModule {
  reindex(config: Config, opts: { missingOnly: boolean }): Promise<unknown>;
}
