/*
 * The shared shape of every task: payload check, row re-read, and the split
 * between failures that are the file's fault (recorded, never retried) and
 * transient ones (thrown, so graphile-worker retries with backoff).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { JobHelpers } from 'graphile-worker';
import { isConnectionError, isDatabaseGone } from '../../core/database.ts';
import type { Storage } from '../../core/storage/types.ts';
import { MediaInputError, type RunLimits } from '../media/index.ts';
import { ModelOutputError } from '../ml/index.ts';
import { mediaLimits, VIDEO_COLUMNS, type PipelineContext, type VideoRow } from './context.ts';
import type { StageName } from './stages.ts';
import { fetchVideo, withWorkDir } from './steps.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The payload's chunk (0 when absent: the first, or only, chunk), or throws. */
export function payloadChunk(payload: unknown): number {
  const chunk = (payload as { chunk?: unknown }).chunk ?? 0;
  if (typeof chunk !== 'number' || !Number.isInteger(chunk) || chunk < 0)
    throw new Error(`job payload "chunk" must be a non-negative integer, got ${JSON.stringify(payload)}`);
  return chunk;
}

/**
 * Where a chunk job starts (app_private.pipeline_chunk_start), with the
 * progress reporter for its stretch of the video; null when it has nothing
 * to do: its chunk is staged already (a re-run after a crash between its
 * commit and the job's completion), or it belongs to an earlier run of a
 * reprocessed video.
 */
export async function chunkStart(
  helpers: JobHelpers,
  video: { id: string; duration_s: number | null },
  step: 'transcribe' | 'index',
  chunk: number,
  chunkS: number,
): Promise<{ startS: number; ordinal: number; progress: ReturnType<typeof chunkProgressReporter> } | null> {
  const id = video.id;
  const { rows } = await helpers.query<{ s: { done: boolean; start_s: number; ordinal: number } | null }>(
    'select app_private.pipeline_chunk_start($1, $2, $3) as s',
    [id, step, chunk],
  );
  const s = rows[0]?.s;
  if (!s || s.done) {
    helpers.logger.info(`video ${id} ${step} chunk ${chunk}: ${s ? 'already done' : 'not part of the current run'}`);
    return null;
  }
  const progress = chunkProgressReporter(helpers, id, s.start_s, s.start_s + chunkS, video.duration_s ?? 0);
  return { startS: s.start_s, ordinal: Number(s.ordinal), progress };
}

/** The payload's id, or throws: a malformed payload is a bug, not bad input. */
export function payloadId(payload: unknown): string {
  const id = (payload as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || !UUID.test(id))
    throw new Error(`job payload needs an "id" uuid, got ${JSON.stringify(payload)}`);
  return id;
}

export async function readVideo(helpers: JobHelpers, id: string): Promise<VideoRow | null> {
  const { rows } = await helpers.query<VideoRow>(`select ${VIDEO_COLUMNS} from app_public.videos where id = $1`, [id]);
  return rows[0] ?? null;
}

/**
 * Announces the stage being worked on and how far it is; SQL turns that into
 * the video's state and overall progress. A re-index reports on the side
 * (the video stays indexed and searchable meanwhile).
 */
export function progressReporter(helpers: JobHelpers, id: string, kind: 'index' | 'reindex' = 'index') {
  const fn = kind === 'index' ? 'pipeline_progress' : 'pipeline_reindex_progress';
  return async (stage: StageName | 'validate', done: number) => {
    await helpers.query(`select app_private.${fn}($1, $2, $3)`, [id, stage, done]);
  };
}

/**
 * Progress of a chunk job covering [fromS, toS) of a video durationS long:
 * SQL places it on the bar within that share of the phase, so the bar moves
 * through a long video once rather than once per chunk.
 */
function chunkProgressReporter(helpers: JobHelpers, id: string, fromS: number, toS: number, durationS: number) {
  const lo = durationS > 0 ? Math.min(1, Math.max(0, fromS / durationS)) : 0;
  const hi = durationS > 0 ? Math.min(1, Math.max(lo, toS / durationS)) : 1;
  return async (stage: StageName | 'validate', done: number) => {
    await helpers.query('select app_private.pipeline_progress($1, $2, $3, $4, $5)', [id, stage, done, lo, hi]);
  };
}

/**
 * PostgreSQL refusing what the file produced (a text too large to index,
 * bytes that are not valid text) would refuse it again on every retry.
 */
const INPUT_SQLSTATE = new Set(['54000', '22021', '22P05', '2200N', '22P02']);

/**
 * Runs the job body. A failure that would repeat on every attempt (bad
 * input, a model's unusable output) marks the video failed and returns
 * normally (no retry loop). Anything else is retried; on the last attempt
 * the video is marked failed too, so it never sits in "processing" forever.
 */
export async function guarded(
  helpers: JobHelpers,
  id: string,
  body: () => Promise<void>,
  /** What fails: the video, or only its playback copy (the video stays searchable). */
  what: 'video' | 'playback' = 'video',
): Promise<void> {
  const fail = (message: string) =>
    what === 'video'
      ? helpers.query('select app_private.pipeline_fail($1, $2)', [id, message])
      : helpers.query('select app_private.pipeline_playback_failed($1, $2)', [
          id,
          `No browser-playable copy could be made: ${message}`,
        ]);
  try {
    await body();
  } catch (e) {
    let err = e as Error;
    const code = (e as { code?: string }).code;
    if (code && INPUT_SQLSTATE.has(code))
      err = new MediaInputError(`The file's content could not be stored: ${err.message}. It will not be retried.`);
    if (err instanceof MediaInputError || err instanceof ModelOutputError) {
      helpers.logger.info(`video ${id} ${what === 'video' ? '' : 'playback copy '}failed: ${err.message}`);
      await fail(err.message);
      return;
    }
    // A database restart ended this attempt through the job's own query: not
    // the job's failure, so the attempt is given back and the video is not
    // failed, even on what was its last attempt.
    if (isDatabaseGone(err) && (await attemptGivenBack(helpers))) {
      helpers.logger.warn(
        `video ${id}: the database went away under this attempt (${err.message}); it is retried and does not count`,
      );
      throw err;
    }
    if (helpers.job.attempts >= helpers.job.max_attempts) {
      await fail(
        `Processing kept failing after ${helpers.job.attempts} attempts (${err.message}). An administrator can retry it.`,
      ).catch(() => {});
    }
    throw err;
  }
}

/** How long a job whose database went away waits for it to answer again. */
const OUTAGE_WAIT_MS = 15_000;

/**
 * Gives back the attempt an outage interrupted (app_private.job_interrupted)
 * once the database answers again. False when it did not within
 * OUTAGE_WAIT_MS (graphile-worker cannot record the failure either, and the
 * restarted pool gives the attempt back through release_workers), or when
 * the job has had every attempt outages may add.
 */
async function attemptGivenBack(helpers: JobHelpers): Promise<boolean> {
  const deadline = Date.now() + OUTAGE_WAIT_MS;
  for (;;) {
    try {
      const { rows } = await helpers.query<{ given: boolean }>('select app_private.job_interrupted($1, $2) as given', [
        helpers.job.id,
        helpers.job.locked_by,
      ]);
      return rows[0]!.given;
    } catch (e) {
      // This query only talks to the database: a refused socket here is it.
      if (!isConnectionError(e) || Date.now() > deadline) return false;
      await delay(500);
    }
  }
}

/**
 * Keyframes and face crops are stored before the step function that refers
 * to them commits. When it does not (the video was deleted meanwhile, the
 * write failed, the attempt gave up), `runWithStored` deletes what this
 * attempt stored and no row refers to, at once; a process killed in between
 * leaves them to the hourly orphan sweep (storage__sweep).
 *
 * `body` gets a context whose storage records every key it puts, and returns
 * whether its result was recorded (false: the video is gone).
 */
export async function runWithStored(
  ctx: PipelineContext,
  helpers: JobHelpers,
  body: (ctx: PipelineContext) => Promise<boolean>,
): Promise<void> {
  const stored: string[] = [];
  const storage = new Proxy(ctx.storage, {
    get(target, prop) {
      if (prop === 'put')
        return (key: string, ...rest: [Buffer, string]) => {
          stored.push(key);
          return target.put(key, ...rest);
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Storage;
  let recorded = false;
  try {
    recorded = await body({ ...ctx, storage });
  } finally {
    if (!recorded && stored.length) {
      await forgetStored(ctx.storage, helpers, stored).catch((e: Error) =>
        helpers.logger.warn(`could not remove ${stored.length} object(s) of an unfinished attempt: ${e.message}`),
      );
    }
  }
}

async function forgetStored(storage: Storage, helpers: JobHelpers, keys: string[]): Promise<void> {
  const { rows } = await helpers.query<{ keys: string[] }>('select app_private.unreferenced_keys($1) as keys', [
    [...new Set(keys)],
  ]);
  if (rows[0]!.keys.length) await storage.delete(rows[0]!.keys);
}

/**
 * The frame of a playback-copy job: skipped unless the video still waits
 * for its copy; the video fetched (pinned bytes) into a work folder; a
 * failure fails the copy, never the video (guarded's 'playback').
 */
export async function playbackJob(
  ctx: PipelineContext,
  helpers: JobHelpers,
  id: string,
  body: (video: VideoRow, file: string, dir: string, limits: RunLimits) => Promise<void>,
): Promise<void> {
  const video = await readVideo(helpers, id);
  if (video?.playback_state !== 'pending') return;
  await guarded(
    helpers,
    id,
    () =>
      withWorkDir(async (dir) => {
        const limits = mediaLimits(ctx, helpers.abortSignal);
        await body(video, (await fetchVideo(ctx, video, dir, helpers.abortSignal)).file, dir, limits);
      }),
    'playback',
  );
}
