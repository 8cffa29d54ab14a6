/**
 * videos__delete_objects {id, owner_id, keys}: queued when a video row is
 * deleted (6-pipeline.sql) and for keyframes a re-index no longer uses.
 * Deletes the objects; deleting a missing key is not an error, so retries
 * are harmless. Keys outside the owner's prefix are skipped and logged: the
 * payload must never reach someone else's files, and retrying cannot change
 * that.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { forgetCuts } from '../pipeline/cuts-ahead.ts';
import { forgetKeys } from '../pipeline/kept-videos.ts';
import { payloadId } from '../pipeline/jobs.ts';

export function videos__delete_objects(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const { owner_id: owner, keys } = payload as { owner_id?: unknown; keys?: unknown };
    if (typeof owner !== 'string' || !Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      throw new Error(`videos__delete_objects needs owner_id and keys, got ${JSON.stringify(payload)}`);
    }
    const prefix = `u/${owner}/`;
    const own = keys.filter((k) => k.startsWith(prefix) && !k.includes('..'));
    if (own.length < keys.length) {
      helpers.logger.warn(`not deleting keys outside ${prefix}: ${keys.filter((k) => !own.includes(k)).join(', ')}`);
    }
    if (own.length) await ctx.storage.delete(own);
    // A copy of a deleted video this worker kept for its next job goes too
    // (other workers' copies within the 10 minutes they keep them), and so
    // do the cuts it prepared for the video's index jobs.
    forgetKeys(own);
    forgetCuts(id);
  };
}
