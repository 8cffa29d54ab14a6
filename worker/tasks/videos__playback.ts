/**
 * videos__playback {id}: queued by pipeline_validated for a video that only
 * needs repackaging, and by pipeline_playback_part_done once every part of
 * a transcoded copy is in. Joins the parts (or repackages the original)
 * with the original's sound into one MP4, stores it, and
 * app_private.pipeline_playback_ready makes it what the video plays from
 * and deletes the parts. Idempotent: the copy has one key, and a video that
 * no longer waits for a copy is skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Task } from 'graphile-worker';
import { playbackKey } from '../../core/storage/keys.ts';
import { StoragePermanentError } from '../../core/storage/types.ts';
import { assembleCopy, MediaInputError, playbackParts, playbackPlan, probe } from '../media/index.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { payloadId, playbackJob, runWithStored } from '../pipeline/jobs.ts';

export function videos__playback(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    await playbackJob(ctx, helpers, id, async (video, file, dir, limits) => {
      const { rows } = await helpers.query<{ part: number; part_s: number; key: string }>(
        'select * from app_private.pipeline_playback_parts($1)',
        [id],
      );
      const facts = await probe(file, limits);
      const plan = playbackPlan(facts) === 'transcode' ? 'transcode' : 'remux';
      // Every part of one run, or none for a repackaging. A join queued by an
      // earlier run (the video was processed again meanwhile) finds the new
      // run's parts incomplete and leaves the join to its last part.
      const complete =
        plan === 'remux' ||
        (rows.length === playbackParts(facts.pictureS, rows[0]?.part_s ?? 1) &&
          rows.every((r, i) => r.part === i && r.part_s === rows[0]!.part_s));
      if (!complete) {
        helpers.logger.info(`video ${id}: ${rows.length} part(s) of the copy so far; the last part joins them`);
        return;
      }
      const parts = [];
      for (const r of rows) {
        const partFile = path.join(dir, `part-${r.part}.mp4`);
        await ctx.storage
          .download(r.key, partFile, { maxBytes: Number.MAX_SAFE_INTEGER, signal: helpers.abortSignal })
          .catch((e: Error) => {
            if (e instanceof StoragePermanentError)
              throw new MediaInputError(`part ${r.part + 1} of the copy is missing from storage (${e.message})`);
            throw e;
          });
        parts.push({ file: partFile, lengthS: r.part === rows.length - 1 ? null : r.part_s });
      }
      const out = path.join(dir, 'playback.mp4');
      await assembleCopy(file, facts, plan, parts, out, dir, limits);
      await runWithStored(ctx, helpers, async (jobCtx) => {
        const key = playbackKey(video.owner_id, id);
        const bytes = fs.statSync(out).size;
        await jobCtx.storage.put(key, fs.createReadStream(out), 'video/mp4');
        const r = await helpers.query<{ ok: boolean }>('select app_private.pipeline_playback_ready($1, $2, $3) as ok', [
          id,
          key,
          bytes,
        ]);
        helpers.logger.info(`video ${id} playback copy stored (${bytes} bytes)`);
        return r.rows[0]!.ok;
      });
    });
  };
}
