/**
 * faces__cluster {id: owner id}: queued (debounced by its job key) by
 * app_private.faces_write when faces of that owner stayed unassigned. The
 * later pass of the incremental clustering: app_private.faces_recluster looks
 * again at the owner's unassigned faces, now that more faces exist. Idempotent:
 * it only ever gives unassigned faces a person; a pass with nothing to do
 * changes nothing.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { payloadId } from '../pipeline/jobs.ts';

export function faces__cluster(_ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const owner = payloadId(payload);
    await helpers.query('select app_private.faces_recluster($1)', [owner]);
  };
}
