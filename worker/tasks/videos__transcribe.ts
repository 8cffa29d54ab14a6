/**
 * videos__transcribe {id}: queued by pipeline_validated. Subtitles (sidecar,
 * then embedded) or speech recognition; app_private.pipeline_transcribed
 * keeps the result for the index step and queues videos__index. A job of its
 * own because recognising hours of speech is the pipeline's longest stage.
 * Idempotent: the stored transcript is replaced, never appended to.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { guarded, payloadId, progressReporter, readVideo } from '../pipeline/jobs.ts';
import { transcribeVideo } from '../pipeline/steps.ts';

export function videos__transcribe(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const video = await readVideo(helpers, id);
    if (!video) return;
    await guarded(helpers, id, async () => {
      const { notes, ...t } = await transcribeVideo(ctx, video, progressReporter(helpers, id), helpers.abortSignal);
      for (const note of notes ?? []) await helpers.query('select app_private.pipeline_note($1, $2)', [id, note]);
      await helpers.query('select app_private.pipeline_transcribed($1, $2)', [id, JSON.stringify(t)]);
    });
  };
}
