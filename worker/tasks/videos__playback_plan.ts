/**
 * videos__playback_plan {id}: queued by migration 000022 for each indexed
 * video validated before browser-playable copies existed (no
 * playback_state). Probes the file (pinned bytes) and hands
 * app_private.pipeline_playback_planned how it plays; that queues its copy's
 * jobs where it needs one. Idempotent: a video with a plan is skipped. A
 * file that can no longer be read leaves the video as it was (playing as
 * uploaded) and is not retried.
 */
import type { Task } from 'graphile-worker';
import { MediaInputError, probe } from '../media/index.ts';
import { mediaLimits, type PipelineContext } from '../pipeline/context.ts';
import { payloadId, readVideo } from '../pipeline/jobs.ts';
import { fetchVideo, playbackFacts, withWorkDir } from '../pipeline/steps.ts';

export function videos__playback_plan(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const video = await readVideo(helpers, id);
    if (!video || video.state !== 'indexed' || video.playback_state !== null) return;
    try {
      const playback = await withWorkDir(async (dir) => {
        const { file } = await fetchVideo(ctx, video, dir, helpers.abortSignal);
        return playbackFacts(ctx, await probe(file, mediaLimits(ctx, helpers.abortSignal)));
      });
      await helpers.query('select app_private.pipeline_playback_planned($1, $2)', [id, JSON.stringify(playback)]);
    } catch (e) {
      if (!(e instanceof MediaInputError)) throw e;
      helpers.logger.info(`video ${id}: no playback plan, it plays as uploaded: ${e.message}`);
    }
  };
}
