/*
 * The shared shape of every task: payload check, row re-read, and the split
 * between failures that are the file's fault (recorded, never retried) and
 * transient ones (thrown, so graphile-worker retries with backoff).
 */
import type { JobHelpers } from 'graphile-worker';
import { MediaInputError } from '../media/index.ts';
import { VIDEO_COLUMNS, type VideoRow } from './context.ts';
import type { StageName } from './stages.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
 * Runs the job body. Bad input marks the video failed and returns normally
 * (no retry loop). Anything else is retried; on the last attempt the video
 * is marked failed too, so it never sits in "processing" forever.
 */
/**
 * PostgreSQL refusing what the file produced (a text too large to index,
 * bytes that are not valid text) would refuse it again on every retry.
 */
const INPUT_SQLSTATE = new Set(['54000', '22021', '22P05', '2200N', '22P02']);

export async function guarded(helpers: JobHelpers, id: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    let err = e as Error;
    const code = (e as { code?: string }).code;
    if (code && INPUT_SQLSTATE.has(code))
      err = new MediaInputError(`The file's content could not be stored: ${err.message}. It will not be retried.`);
    if (err instanceof MediaInputError) {
      helpers.logger.info(`video ${id} failed: ${err.message}`);
      await helpers.query('select app_private.pipeline_fail($1, $2)', [id, err.message]);
      return;
    }
    if (helpers.job.attempts >= helpers.job.max_attempts) {
      await helpers
        .query('select app_private.pipeline_fail($1, $2)', [
          id,
          `Processing kept failing after ${helpers.job.attempts} attempts (${err.message}). An administrator can retry it.`,
        ])
        .catch(() => {});
    }
    throw err;
  }
}
