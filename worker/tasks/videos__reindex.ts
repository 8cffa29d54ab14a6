/**
 * videos__reindex {id, mode: "missing" | "stale"}: queued by
 * app_private.reindex_missing() / reindex_stale(). Recomputes only the
 * stages that were skipped (missing) or whose model changed (stale) on the
 * stored scenes, then app_private.pipeline_reindexed applies them. Returns
 * quietly when the models needed are still absent. Idempotent: it overwrites
 * columns of existing scenes and never adds scenes.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { payloadId, readVideo } from '../pipeline/jobs.ts';
import { reindexVideo, type ReindexMode, type StoredScene } from '../pipeline/steps.ts';

export function videos__reindex(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const mode = (payload as { mode?: unknown }).mode;
    if (mode !== 'missing' && mode !== 'stale')
      throw new Error(`videos__reindex needs mode "missing" or "stale", got ${JSON.stringify(mode)}`);
    const video = await readVideo(helpers, id);
    if (!video || video.state !== 'indexed') return;
    const { rows: scenes } = await helpers.query<StoredScene>(
      `select ordinal, start_s, end_s, transcript, keyframe_key, image_vec::text as image_vec
         from app_public.scenes where video_id = $1 order by ordinal`,
      [id],
    );
    // Progress only, never state: the video stays searchable while it is re-embedded.
    const progress = async (stage: string, p: number) => {
      await helpers.query('update app_public.videos set stage = $2, progress = $3 where id = $1', [
        id,
        `reindex:${stage}`,
        p,
      ]);
    };
    const result = await reindexVideo(ctx, video, scenes, mode as ReindexMode, progress, helpers.abortSignal);
    if (!result) return;
    await helpers.query('select app_private.pipeline_reindexed($1, $2)', [id, JSON.stringify(result)]);
  };
}
