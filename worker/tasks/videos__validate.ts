/**
 * videos__validate {id}: queued by the insert trigger (and reprocess_video).
 * Fetches the object, probes it and checks the limits; then
 * app_private.pipeline_validated records the facts and queues videos__transcribe,
 * or the video fails with the reason. Records the digests of the video and
 * its sidecar, which every later stage checks (pinned bytes). Idempotent: it
 * only reads the objects.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { guarded, payloadId, progressReporter, readVideo } from '../pipeline/jobs.ts';
import { keepVerified } from '../pipeline/kept-videos.ts';
import { fetchVideo, readSidecar, validateVideo, withWorkDir } from '../pipeline/steps.ts';

export function videos__validate(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const video = await readVideo(helpers, id);
    if (!video) return;
    await guarded(helpers, id, async () => {
      await progressReporter(helpers, id)('validate', 0);
      const facts = await withWorkDir(async (dir) => {
        const fetched = await fetchVideo(ctx, video, dir, helpers.abortSignal);
        const valid = await validateVideo(ctx, fetched.file, helpers.abortSignal);
        // The next job of this video on this worker (transcription) starts from these bytes.
        if (fetched.version) await keepVerified(video.object_key, fetched.sha256, fetched.version, fetched.file);
        return { ...valid, content_sha256: fetched.sha256 };
      });
      // The sidecar is pinned too: its digest now, compared when it is read.
      const sidecar = video.subtitle_key ? await readSidecar(ctx, video.subtitle_key) : null;
      await helpers.query('select app_private.pipeline_validated($1, $2)', [
        id,
        JSON.stringify({ ...facts, subtitle_sha256: sidecar?.sha256 ?? null }),
      ]);
    });
  };
}
