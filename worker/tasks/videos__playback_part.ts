/**
 * videos__playback_part {id, part, parts, part_s}: queued by
 * pipeline_validated for a video browsers cannot play, one job per part.
 * Encodes the picture of its part (worker/media/playback.ts), stores it, and
 * app_private.pipeline_playback_part_done records it; the last part in
 * queues videos__playback, which joins them. Idempotent: a retry records
 * its part in place of the earlier one (whose object goes), and a video that
 * no longer waits for a copy (deleted, failed, reprocessed, copy finished)
 * is skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Task } from 'graphile-worker';
import { playbackPartKey } from '../../core/storage/keys.ts';
import { partRange, probe, transcodePart } from '../media/index.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { payloadId, playbackJob, runWithStored } from '../pipeline/jobs.ts';

function payloadPart(payload: unknown): { part: number; parts: number; partS: number } {
  const p = payload as { part?: unknown; parts?: unknown; part_s?: unknown };
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!int(p.part) || !int(p.parts) || !((p.part as number) < (p.parts as number)))
    throw new Error(`job payload needs part < parts, non-negative integers, got ${JSON.stringify(payload)}`);
  if (typeof p.part_s !== 'number' || !(p.part_s > 0))
    throw new Error(`job payload needs a positive part_s, got ${JSON.stringify(payload)}`);
  return { part: p.part as number, parts: p.parts as number, partS: p.part_s };
}

export function videos__playback_part(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const { part, parts, partS } = payloadPart(payload);
    await playbackJob(ctx, helpers, id, async (video, file, dir, limits) => {
      const out = path.join(dir, 'part.mp4');
      await transcodePart(file, await probe(file, limits), partRange(part, parts, partS), out, limits);
      // A video deleted or reprocessed meanwhile leaves no part behind (runWithStored).
      await runWithStored(ctx, helpers, async (jobCtx) => {
        const key = playbackPartKey(video.owner_id, id, part);
        await jobCtx.storage.put(key, fs.createReadStream(out), 'video/mp4');
        const r = await helpers.query<{ ok: boolean }>(
          'select app_private.pipeline_playback_part_done($1, $2, $3, $4, $5) as ok',
          [id, part, parts, partS, key],
        );
        helpers.logger.info(`video ${id} playback part ${part + 1} of ${parts} stored`);
        return r.rows[0]!.ok;
      });
    });
  };
}
