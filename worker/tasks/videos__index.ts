/**
 * videos__index {id, chunk?}: queued by pipeline_transcribed (chunk 0,
 * absent) and by the previous chunk. Scenes, keyframes, embeddings, tags,
 * OCR and faces over the stored transcript, for the scenes from where the
 * previous chunk ended up to the last cut within INDEX_CHUNK_S (or to the
 * end); app_private.pipeline_chunk_done stages them and queues the next
 * chunk in one transaction, and after the last chunk pipeline_indexed
 * replaces all scenes of the video at once and marks it indexed.
 * Idempotent: a staged chunk is never redone (the job returns at once),
 * keyframe keys are per ordinal and the scene set is replaced, so a retry
 * or a second run never duplicates scenes.
 */
import type { Task } from 'graphile-worker';
import { faceCropKey } from '../../core/storage/keys.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { removeTaken, takeCut } from '../pipeline/cuts-ahead.ts';
import { chunkStart, guarded, payloadChunk, payloadId, readVideo, runWithStored } from '../pipeline/jobs.ts';
import { indexVideo } from '../pipeline/stages.ts';
import { capSceneTexts, type Transcript } from '../pipeline/steps.ts';

export function videos__index(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const chunk = payloadChunk(payload);
    const video = await readVideo(helpers, id);
    if (!video) return;
    await guarded(helpers, id, async () => {
      const start = await chunkStart(helpers, video, 'index', chunk, ctx.config.worker.chunkS);
      if (!start) return;
      const { rows } = await helpers.query<{ t: Transcript | null }>(
        'select app_private.pipeline_transcript($1) as t',
        [id],
      );
      // The cut stage this process did while the chunk's speech was
      // recognised, if it did (a retry cuts again: the frames are used up).
      const prepared = takeCut(video, start.startS);
      // A video deleted meanwhile, or a write that fails, leaves no keyframe
      // or face crop of this attempt behind (runWithStored).
      await runWithStored(ctx, helpers, async (jobCtx) => {
        const part = await indexVideo(
          jobCtx,
          video,
          rows[0]!.t,
          start.progress,
          helpers.abortSignal,
          start,
          prepared,
        ).finally(() => prepared && removeTaken(prepared));
        // Input-caused limits are applied here, before the write, so an
        // oversized text is cut once instead of failing every retry.
        for (const note of capSceneTexts(part.product.scenes, ctx.config.worker.sceneTextMaxChars))
          await helpers.query('select app_private.pipeline_note($1, $2)', [id, note]);
        // What this chunk stored, so the orphan sweep and a delete see it until assembly.
        const keys = part.product.scenes.flatMap((s) => [
          ...(s.keyframe_key ? [s.keyframe_key] : []),
          ...(s.faces ?? []).map((f) => faceCropKey(video.owner_id, f.id)),
        ]);
        const r = await helpers.query<{ ok: boolean }>(
          'select app_private.pipeline_chunk_done($1, $2, $3, $4, $5) as ok',
          [id, 'index', chunk, JSON.stringify(part), keys],
        );
        helpers.logger.info(
          `video ${id} index chunk ${chunk} done: ${part.start_s.toFixed(1)}-${part.end_s.toFixed(1)} s ` +
            `(${prepared ? 'cut during its speech, ' : ''}decoded ${part.decoded.from.toFixed(1)}-${part.decoded.to.toFixed(1)} s), ` +
            `${part.product.scenes.length} scene(s) from ordinal ${start.ordinal}${part.last ? ' (last)' : ''}`,
        );
        return r.rows[0]!.ok;
      });
    });
  };
}
