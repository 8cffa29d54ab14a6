/**
 * storage__sweep {}: queued about hourly (app_private.queue_storage_sweep, from
 * the workers' heartbeat loop) and idempotent. Deletes objects under u/ that
 * no video, scene or face refers to (app_private.unreferenced_keys) once they
 * are older than ORPHAN_GRACE_S: uploads never registered with createVideo or
 * createPerson, and keyframes and face crops of attempts killed before they
 * could clean up after themselves (runWithStored). The grace period covers an
 * upload still on its way and a job that has stored keyframes but not yet
 * written its scenes. No next step.
 */
import type { Task } from 'graphile-worker';
import type pg from 'pg';
import type { Storage } from '../../core/storage/types.ts';
import type { PipelineContext } from '../pipeline/context.ts';

const BATCH = 500;

export async function sweepOrphans(
  storage: Storage,
  query: (text: string, values: unknown[]) => Promise<pg.QueryResult<{ keys: string[] }>>,
  graceS: number,
  now = Date.now(),
): Promise<string[]> {
  const deleted: string[] = [];
  let batch: string[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const { rows } = await query('select app_private.unreferenced_keys($1) as keys', [batch]);
    const keys = rows[0]!.keys;
    if (keys.length) await storage.delete(keys);
    deleted.push(...keys);
    batch = [];
  };
  for await (const o of storage.list('u/')) {
    if (now - o.modified.getTime() < graceS * 1000) continue;
    batch.push(o.key);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return deleted;
}

export function storage__sweep(ctx: PipelineContext): Task {
  return async (_payload, helpers) => {
    const deleted = await sweepOrphans(
      ctx.storage,
      (text, values) => helpers.query(text, values),
      ctx.config.worker.orphanGraceS,
    );
    if (deleted.length) helpers.logger.info(`deleted ${deleted.length} object(s) no video refers to`);
  };
}
