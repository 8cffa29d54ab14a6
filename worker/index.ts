/*
 * The worker process: graphile-worker running the video pipeline. Any number
 * of these may run on any number of machines against one database and one
 * object store; graphile-worker's row locking hands each job to exactly one
 * of them, so there is no queue of our own.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import { Logger, run, type LogFunctionFactory, type Runner, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import type { Config } from '../core/config.ts';
import { isConnectionError, resolveDatabase } from '../core/database.ts';
import { createLogger, outageLog } from '../core/log.ts';
import type { Storage } from '../core/storage/types.ts';
import type { ModelRegistry, PipelineContext } from './pipeline/context.ts';
import { forgetAllCuts } from './pipeline/cuts-ahead.ts';
import { forgetKept } from './pipeline/kept-videos.ts';
import { alive, removeDeadWorkDirs } from './pipeline/workdir.ts';
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
  /** graphile-worker's event emitter, for callers that watch the runner (tests wait on its events). */
  events?: WorkerEvents;
}

export interface WorkerHandle {
  stop(): Promise<void>;
  /** Settles once stop() has ended the runner; database outages do not end it. */
  readonly done: Promise<void>;
  /** The current graphile-worker runner (replaced after an outage). */
  readonly runner: Runner;
  /** graphile-worker ids (locked_by) of this process's live pools. */
  workerIds(): string[];
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
 * The pid space this process lives in: the machine's boot id and the pid
 * namespace. Two processes with the same id in the same space are the same
 * process, whatever the host name says (containers and cloned machines share
 * names). Null where Linux's /proc does not tell; such workers rely on the
 * heartbeat bound alone.
 */
export function processScope(): string | null {
  try {
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const ns = fs.readlinkSync('/proc/self/ns/pid');
    return boot && ns ? `${boot}/${ns}` : null;
  } catch {
    return null;
  }
}

/** How often unreferenced objects are swept (storage__sweep); ORPHAN_GRACE_S decides what is old enough. */
const SWEEP_EVERY_S = 3600;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Starts processing jobs. Refuses to start when a configured model's output
 * width does not match its vector column: writing such vectors would fail on
 * every video, so the worker stops with the message naming both.
 *
 * Once started it stays up through database restarts: graphile-worker stops
 * its pool when it cannot record a job's outcome, so this restarts the pool
 * (new worker id) when the database answers again and hands the old pool's
 * locked job straight back to the queue. Heartbeats let any live worker do
 * the same for a worker process that was killed.
 */
export async function startWorker(config: Config, opts: WorkerOptions = {}): Promise<WorkerHandle> {
  const models =
    opts.models ??
    (await import('./ml/index.ts')).getModels(config, {
      memoryMb: config.worker.modelMemoryMb,
    });
  await models.checkDimensions();
  const storage = opts.storage ?? (await import('../core/storage/index.ts')).createStorage(config);
  const databaseUrl = opts.databaseUrl ?? (await resolveDatabase(config)).workerUrl;
  const ctx: PipelineContext = { config, storage, models };
  const logFactory = opts.logFactory ?? jsonLogFactory(config.logLevel);
  const logger = new Logger(logFactory);
  const removed = await removeDeadWorkDirs();
  if (removed.length) logger.info(`removed ${removed.length} temp folder(s) of dead worker processes`);
  // An object store that is down at start-up is the same transient condition
  // as one that goes down later: jobs fail and are retried with backoff, so
  // the worker starts anyway instead of crash-looping under its supervisor.
  await storage
    .ensureReady()
    .catch((e: Error) => logger.warn(`object storage not ready yet (${e.message}); jobs will retry`));
  // Our own pool so that an idle connection dropped by a database restart is
  // logged (and replaced on next use) instead of crashing the process, and so
  // stop() can close every connection before returning.
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: config.worker.concurrency + 4,
    connectionTimeoutMillis: 10_000,
  });
  const outage = outageLog(
    (m) => logger.warn(m),
    (m) => logger.info(m),
  );
  pool.on('error', (e) => outage.down(e));
  // A checked-out client that loses its connection emits 'error' on itself;
  // unhandled, that would crash the process instead of failing one job.
  pool.on('connect', (client) => {
    outage.up();
    client.on('error', (e) => outage.down(e));
  });

  const livePools = new Set<string>();
  const events = opts.events ?? (new EventEmitter() as WorkerEvents);
  // The id is what graphile_worker.jobs.locked_by and the release log lines
  // name, so an operator can tell which process held a stranded job.
  const scope = processScope();
  const heartbeat = () =>
    pool.query('select app_private.worker_heartbeat($1, $2, $3, $4)', [
      [...livePools],
      os.hostname(),
      scope,
      process.pid,
    ]);
  events.on('pool:create', ({ workerPool }) => {
    livePools.add(workerPool.id);
    logger.info(`job runner ${workerPool.id} started (process ${process.pid} on ${os.hostname()})`);
    // At once, as the pool starts taking jobs: a process killed before its
    // first regular beat would otherwise be found only by the stale bound.
    heartbeat().catch(() => {});
  });
  const stopping = new AbortController();

  const startRunner = () =>
    run(
      {
        pgPool: pool,
        concurrency: config.worker.concurrency,
        // Jobs poll for retries; LISTEN/NOTIFY already wakes the worker for new ones.
        pollInterval: opts.pollInterval ?? 2000,
        noHandleSignals: opts.noHandleSignals ?? false,
        taskList: createTaskList(ctx),
        logger,
        events,
        // Batched completion hands a failure to record a job's outcome (the
        // database went away) to the pool, which stops cleanly and is
        // restarted below; unbatched, graphile-worker leaves that promise
        // unhandled and Node kills the whole process.
        preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      },
      undefined,
      // No cron items: the worker login may not write graphile-worker's
      // crontab table; the heartbeat loop queues the orphan sweep instead. An
      // empty list also stops graphile-worker looking for ./crontab. run()
      // still starts its (idle) cron loop, which only reads that table.
      [],
    );

  let runner = await startRunner().catch(async (e: unknown) => {
    await pool.end();
    throw e;
  });

  // Idle workers wake up on a jobs:insert notification (graphile-worker's
  // LISTEN); released jobs would otherwise wait for the next poll.
  const announce = (released: number) =>
    pool.query(`select pg_catalog.pg_notify('jobs:insert', $1)`, [
      JSON.stringify({ count: released * config.worker.concurrency }),
    ]);
  const released = async (ids: string[], why: string) => {
    if (!ids.length) return;
    logger.warn(`returned the jobs of ${ids.length} ${why} to the queue: ${ids.join(', ')}`);
    await announce(ids.length);
  };
  let sweepQueuedAt = 0;
  const beat = async () => {
    await heartbeat();
    // A worker process on this machine that no longer exists (killed, out of
    // memory) is known dead now; no need to wait for its heartbeat to age.
    if (scope) {
      const { rows } = await pool.query<{ pids: number[] }>('select app_private.worker_processes($1) as pids', [scope]);
      const gone = rows[0]!.pids.filter((p) => p !== process.pid && !alive(p));
      if (gone.length) {
        const r = await pool.query<{ ids: string[] }>('select app_private.release_gone_processes($1, $2) as ids', [
          scope,
          gone,
        ]);
        await released(r.rows[0]!.ids, `exited worker process(es) ${gone.join(', ')} on this machine`);
      }
    }
    // One storage__sweep job for the whole fleet (its job key), about hourly.
    if (Date.now() - sweepQueuedAt > SWEEP_EVERY_S * 1000) {
      await pool.query('select app_private.queue_storage_sweep($1)', [SWEEP_EVERY_S]);
      sweepQueuedAt = Date.now();
    }
    const { rows } = await pool.query<{ ids: string[] }>('select app_private.release_dead_workers($1) as ids', [
      config.worker.deadAfterS,
    ]);
    await released(rows[0]!.ids, 'silent worker(s)');
    outage.up();
  };
  const heartbeats = (async () => {
    while (!stopping.signal.aborted) {
      await beat().catch((e: Error) =>
        isConnectionError(e) ? outage.down(e) : logger.warn(`heartbeat: ${e.message}`),
      );
      await sleep((config.worker.deadAfterS * 1000) / 3, stopping.signal);
    }
  })();

  // Restart the pool whenever it ends by itself; only stop() ends the loop.
  const supervised = (async () => {
    for (let attempt = 0; !stopping.signal.aborted;) {
      const ids = [...livePools];
      const error = await runner.promise.then(
        () => null,
        (e: Error) => e,
      );
      if (stopping.signal.aborted) return;
      for (const id of ids) livePools.delete(id);
      logger.warn(`job runner stopped (${error?.message ?? 'no error'}); restarting it`);
      for (;;) {
        await sleep(Math.min(30_000, 500 * 2 ** attempt++), stopping.signal);
        if (stopping.signal.aborted) return;
        try {
          // The old pool's job was being processed here and is not any more:
          // give it back now rather than after the heartbeat bound, with the
          // attempt the outage cut short (release_workers).
          await pool.query('select app_private.release_workers($1)', [ids]);
          runner = await startRunner();
          await announce(ids.length).catch(() => {});
          logger.info('job runner restarted');
          attempt = 0;
          break;
        } catch (e) {
          outage.down(e as Error);
        }
      }
    }
  })();

  if (opts.reembedStale ?? true) {
    await queueStaleReembedding(pool, models).then(
      (n) => n > 0 && logger.info(`queued ${n} video(s) embedded by other models for re-embedding`),
      (e: Error) => logger.warn(`could not queue re-embedding of stale videos: ${e.message}`),
    );
  }
  let stopped: Promise<void> | null = null;
  return {
    get runner() {
      return runner;
    },
    done: supervised,
    workerIds: () => [...livePools],
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await runner.stop().catch(() => {});
        await Promise.all([supervised, heartbeats]);
        await pool.end();
        await forgetKept();
        await forgetAllCuts();
      })();
      return stopped;
    },
  };
}
