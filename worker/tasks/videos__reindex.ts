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
import { payloadId, progressReporter, readVideo, runWithStored } from '../pipeline/jobs.ts';
import { reindexVideo, type StoredScene } from '../pipeline/stages.ts';
import { capSceneTexts } from '../pipeline/steps.ts';

export function videos__reindex(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const mode = (payload as { mode?: unknown }).mode;
    if (mode !== 'missing' && mode !== 'stale')
      throw new Error(`videos__reindex needs mode "missing" or "stale", got ${JSON.stringify(mode)}`);
    const video = await readVideo(helpers, id);
    if (!video || video.state !== 'indexed') return;
    const { rows } = await helpers.query<{ scenes: StoredScene[] }>(
      'select app_private.pipeline_stored_scenes($1) as scenes',
      [id],
    );
    const progress = progressReporter(helpers, id, 'reindex');
    await runWithStored(ctx, helpers, async (jobCtx) => {
      const result = await reindexVideo(jobCtx, video, rows[0]!.scenes, mode, progress, helpers.abortSignal);
      if (!result) return false;
      for (const note of capSceneTexts(result.scenes, ctx.config.worker.sceneTextMaxChars))
        await helpers.query('select app_private.pipeline_note($1, $2)', [id, note]);
      const r = await helpers.query<{ n: number | null }>('select app_private.pipeline_reindexed($1, $2) as n', [
        id,
        JSON.stringify(result),
      ]);
      return r.rows[0]!.n !== null;
    });
  };
}
