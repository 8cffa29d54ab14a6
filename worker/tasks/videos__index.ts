/**
 * videos__index {id}: queued by pipeline_transcribed. Scenes, keyframes,
 * embeddings, tags and OCR over the stored transcript, then app_private.pipeline_indexed
 * replaces all scenes of the video in one transaction and marks it indexed.
 * Idempotent: keyframe keys are per ordinal and the scene set is replaced,
 * so a retry or a second run never duplicates scenes.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { guarded, payloadId, progressReporter, readVideo, runWithStored } from '../pipeline/jobs.ts';
import { indexVideo } from '../pipeline/stages.ts';
import { capSceneTexts, type Transcript } from '../pipeline/steps.ts';

export function videos__index(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const video = await readVideo(helpers, id);
    if (!video) return;
    await guarded(helpers, id, async () => {
      const { rows } = await helpers.query<{ t: Transcript | null }>(
        'select app_private.pipeline_transcript($1) as t',
        [id],
      );
      // A video deleted meanwhile, or a write that fails, leaves no keyframe
      // or face crop of this attempt behind (runWithStored).
      await runWithStored(ctx, helpers, async (jobCtx) => {
        const result = await indexVideo(jobCtx, video, rows[0]!.t, progressReporter(helpers, id), helpers.abortSignal);
        // Input-caused limits are applied here, before the write, so an
        // oversized text is cut once instead of failing every retry.
        for (const note of capSceneTexts(result.scenes, ctx.config.worker.sceneTextMaxChars))
          await helpers.query('select app_private.pipeline_note($1, $2)', [id, note]);
        const r = await helpers.query<{ n: number | null }>('select app_private.pipeline_indexed($1, $2) as n', [
          id,
          JSON.stringify(result),
        ]);
        return r.rows[0]!.n !== null;
      });
    });
  };
}
