/**
 * videos__validate {id}: queued by the insert trigger (and reprocess_video).
 * Fetches the object, probes it and checks the limits; then
 * app_private.pipeline_validated records the facts and queues videos__transcribe,
 * or the video fails with the reason. Idempotent: it only reads the object.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { guarded, payloadId, progressReporter, readVideo } from '../pipeline/jobs.ts';
import { fetchVideo, validateVideo, withWorkDir } from '../pipeline/steps.ts';

export function videos__validate(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const video = await readVideo(helpers, id);
    if (!video) return;
    await guarded(helpers, id, async () => {
      await progressReporter(helpers, id)('validate', 0);
      const facts = await withWorkDir(async (dir) =>
        validateVideo(ctx, await fetchVideo(ctx, video, dir, helpers.abortSignal), helpers.abortSignal),
      );
      await helpers.query('select app_private.pipeline_validated($1, $2)', [id, JSON.stringify(facts)]);
    });
  };
}
