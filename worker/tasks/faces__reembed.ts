/**
 * faces__reembed {face_model}: queued by app_private.reindex_stale when the
 * face model changed and enrolment photos still carry the old model's
 * embeddings. Reads each photo again, finds the enrolled face in it (the one
 * whose box overlaps the stored box most) and records the new embedding
 * through app_private.enrolment_face_reembedded, which keeps the person.
 *
 * A photo that is gone from storage, whose bytes differ from those enrolled
 * (photo_sha256: replaced after upload), or in which the new model finds no
 * face where the old one did, keeps its old embedding (harmless: matching
 * only compares a model with itself) and is logged; retrying cannot change it.
 * The task works through the photos in batches of BATCH, leaving out the
 * ones it gave up on, until none is left.
 */
import crypto from 'node:crypto';
import type { Task } from 'graphile-worker';
import { MAX_PHOTO_BYTES } from '../../core/storage/keys.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { iou } from '../pipeline/stages.ts';

const BATCH = 200;
export const PHOTO_CHANGED = 'The enrolment photo changed after upload: its bytes differ from those enrolled';

interface StaleFace {
  id: string;
  photo_key: string;
  box: number[];
  photo_sha256: string | null;
}
/** The new model's face must overlap the enrolled box this much to be the same face. */
const SAME_FACE_IOU = 0.3;

export function faces__reembed(ctx: PipelineContext): Task {
  return async (_payload, helpers) => {
    if (!ctx.config.models.faces) return;
    const analyzer = await ctx.models.faceAnalyzer();
    if (!analyzer) return;
    // Photos this job could not embed; left out of later batches.
    const skipped: string[] = [];
    for (;;) {
      const { rows } = await helpers.query<StaleFace>(
        'select id, photo_key, box, photo_sha256 from app_private.enrolment_faces_stale($1, $2, $3)',
        [analyzer.modelId, BATCH, skipped],
      );
      for (const row of rows) {
        if (!(await reembed(row))) skipped.push(row.id);
      }
      if (rows.length < BATCH) return;
    }

    async function reembed(row: StaleFace): Promise<boolean> {
      const info = await ctx.storage.stat(row.photo_key);
      if (!info || info.size > MAX_PHOTO_BYTES) {
        helpers.logger.warn(`enrolment photo ${row.photo_key} of face ${row.id} is gone or too large; kept as it was`);
        return false;
      }
      const chunks: Buffer[] = [];
      for await (const c of await ctx.storage.getStream(row.photo_key)) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      if (
        bytes.length > MAX_PHOTO_BYTES ||
        (row.photo_sha256 && crypto.createHash('sha256').update(bytes).digest('hex') !== row.photo_sha256)
      ) {
        helpers.logger.warn(`${PHOTO_CHANGED} (${row.photo_key}, face ${row.id}); kept as it was`);
        return false;
      }
      const [x, y, w, h] = row.box as [number, number, number, number];
      const enrolled = { x, y, w, h };
      const { faces } = await analyzer!.detect(bytes);
      const best = faces
        .map((f) => ({ f, overlap: iou(f.box, enrolled) }))
        .filter((c) => c.overlap >= SAME_FACE_IOU)
        .sort((a, b) => b.overlap - a.overlap)[0]?.f;
      if (!best) {
        helpers.logger.warn(`${analyzer!.modelId} finds no face where face ${row.id} was enrolled; kept as it was`);
        return false;
      }
      await helpers.query('select app_private.enrolment_face_reembedded($1, $2, $3, $4, $5)', [
        row.id,
        analyzer!.modelId,
        [best.box.x, best.box.y, best.box.w, best.box.h],
        best.score,
        JSON.stringify(Array.from(best.embedding, (v) => Math.fround(v))),
      ]);
      return true;
    }
  };
}
