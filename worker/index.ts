/*
 * The worker process: graphile-worker running the video pipeline. Any number
 * of these may run on any number of machines against one database and one
 * object store; graphile-worker's row locking hands each job to exactly one
 * of them, so there is no queue of our own.
 */
import { Logger, run, type LogFunctionFactory, type Runner } from 'graphile-worker';
import pg from 'pg';
import type { Config } from '../core/config.ts';
import { resolveDatabase } from '../core/database.ts';
import { createLogger } from '../core/log.ts';
import type { Storage } from '../core/storage/types.ts';
import type { ModelRegistry, PipelineContext } from './pipeline/context.ts';
import { createTaskList } from './tasks/index.ts';

export interface WorkerOptions {
  /**
   * The worker's connection, as heimdex_worker (default: resolveDatabase's
   * workerUrl). Workers parse untrusted media, so this login can read
   * videos, call the pipeline step functions and work the queue, nothing else.
   */
  databaseUrl?: string;
  storage?: Storage;
  models?: ModelRegistry;
  /** How often to look for retries and scheduled jobs (ms); new jobs arrive by LISTEN at once. */
  pollInterval?: number;
  /** Leave SIGINT/SIGTERM to the caller (the CLI installs its own). */
  noHandleSignals?: boolean;
  logFactory?: LogFunctionFactory;
  /** Queue re-embedding of videos indexed with other models at start (default true). */
  reembedStale?: boolean;
}

export interface WorkerHandle {
  stop(): Promise<void>;
  /** Settles when the runner stops on its own (e.g. a fatal database error). */
  readonly done: Promise<void>;
  readonly runner: Runner;
}

/** graphile-worker's logger, writing through the one JSON logger every process uses. */
function jsonLogFactory(threshold: Config['logLevel']): LogFunctionFactory {
  const log = createLogger(threshold, { process: 'worker' });
  return (scope) => {
    const scoped = log.child({ task: scope.taskIdentifier, jobId: scope.jobId });
    return (level, message, meta) => {
      const method = level === 'warning' ? 'warn' : level === 'error' || level === 'debug' ? level : 'info';
      scoped[method](message, meta?.error ? { error: String(meta.error) } : undefined);
    };
  };
}

/**
 * When the configured models changed since videos were indexed (MODEL_TEXT,
 * a new manifest, a model pulled onto an offline install), those videos are
 * re-embedded in the background. Search compares only vectors of the query's
 * model meanwhile, so old and new vectors never mix in one ranking. The job
 * keys make several workers starting at once queue each video only once.
 */
async function queueStaleReembedding(pool: pg.Pool, models: ModelRegistry): Promise<number> {
  if (!models.status) return 0;
  const status = await models.status();
  const present = (role: string) => status.find((s) => s.role === role && s.present)?.id ?? null;
  const [text, image, face] = [present('text'), present('vision'), present('face')];
  if (!text && !image && !face) return 0;
  const { rows } = await pool.query<{ n: number }>('select app_private.reindex_stale($1, $2, $3) as n', [
    text,
    image,
    face,
  ]);
  return rows[0]!.n;
}

/**
 * Starts processing jobs. Refuses to start when a configured model's output
 * width does not match its vector column: writing such vectors would fail on
 * every video, so the worker stops with the message naming both.
 */
export async function startWorker(config: Config, opts: WorkerOptions = {}): Promise<WorkerHandle> {
  const models = opts.models ?? (await import('./ml/index.ts')).getModels(config);
  await models.checkDimensions();
  const storage = opts.storage ?? (await import('../core/storage/index.ts')).createStorage(config);
  const databaseUrl = opts.databaseUrl ?? (await resolveDatabase(config)).workerUrl;
  const ctx: PipelineContext = { config, storage, models };
  const logger = new Logger(opts.logFactory ?? jsonLogFactory(config.logLevel));
  // An object store that is down at start-up is the same transient condition
  // as one that goes down later: jobs fail and are retried with backoff, so
  // the worker starts anyway instead of crash-looping under its supervisor.
  await storage
    .ensureReady()
    .catch((e: Error) => logger.warn(`object storage not ready yet (${e.message}); jobs will retry`));
  // Our own pool so that an idle connection dropped by a database restart is
  // logged (and replaced on next use) instead of crashing the process, and so
  // stop() can close every connection before returning.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: config.worker.concurrency + 4 });
  pool.on('error', (e) => logger.warn(`idle database connection lost: ${e.message}`));
  // A checked-out client that loses its connection emits 'error' on itself;
  // unhandled, that would crash the process instead of failing one job.
  pool.on('connect', (client) => client.on('error', (e) => logger.warn(`database connection lost: ${e.message}`)));
  const runner = await run(
    {
      pgPool: pool,
      concurrency: config.worker.concurrency,
      // Jobs poll for retries; LISTEN/NOTIFY already wakes the worker for new ones.
      pollInterval: opts.pollInterval ?? 2000,
      noHandleSignals: opts.noHandleSignals ?? false,
      taskList: createTaskList(ctx),
      logger,
      // No periodic jobs: everything is triggered by rows (and admin
      // functions); an empty list stops graphile-worker looking for ./crontab.
    },
    undefined,
    [],
  ).catch(async (e: unknown) => {
    await pool.end();
    throw e;
  });
  if (opts.reembedStale ?? true) {
    await queueStaleReembedding(pool, models).then(
      (n) => n > 0 && logger.info(`queued ${n} video(s) embedded by other models for re-embedding`),
      (e: Error) => logger.warn(`could not queue re-embedding of stale videos: ${e.message}`),
    );
  }
  let stopped = false;
  return {
    runner,
    done: runner.promise,
    async stop() {
      if (stopped) return runner.promise;
      stopped = true;
      await runner.stop();
      await pool.end();
    },
  };
}
