/*
 * `heimdex reindex [--missing]`: queue background re-indexing. Both paths
 * only add jobs (in SQL, so the same works from psql); running workers pick
 * them up. With --missing, only stages that were skipped for want of a
 * model; otherwise also everything embedded with a different model than the
 * configured one.
 */
import pg from 'pg';
import type { Config } from '../core/config.ts';
import { resolveDatabase } from '../core/database.ts';
import type { ModelRegistry } from './pipeline/context.ts';

export interface ReindexSummary {
  /** Videos queued because a stage was skipped. */
  missing: number;
  /** Videos queued because their vectors came from another model (0 with missingOnly). */
  stale: number;
  textModel: string | null;
  imageModel: string | null;
}

export async function reindex(
  config: Config,
  opts: { missingOnly?: boolean; ownerUrl?: string; models?: ModelRegistry } = {},
): Promise<ReindexSummary> {
  const ownerUrl = opts.ownerUrl ?? (await resolveDatabase(config)).ownerUrl;
  const models = opts.models ?? (await import('./ml/index.ts')).getModels(config);
  const [text, image, face] = await Promise.all([
    models.textEmbedder(),
    models.imageEmbedder(),
    config.models.faces ? models.faceAnalyzer() : null,
  ]);
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const missing = (await client.query<{ n: number }>('select app_private.reindex_missing() as n')).rows[0]!.n;
    const stale = opts.missingOnly
      ? 0
      : (
          await client.query<{ n: number }>('select app_private.reindex_stale($1, $2, $3) as n', [
            text?.modelId ?? null,
            image?.modelId ?? null,
            face?.modelId ?? null,
          ])
        ).rows[0]!.n;
    return { missing, stale, textModel: text?.modelId ?? null, imageModel: image?.modelId ?? null };
  } finally {
    await client.end();
  }
}
