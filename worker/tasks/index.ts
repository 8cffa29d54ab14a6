/*
 * The task list. Names are <table>__<verb>; each file holds one thin task.
 */
import type { TaskList } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { faces__cluster } from './faces__cluster.ts';
import { faces__reembed } from './faces__reembed.ts';
import { storage__sweep } from './storage__sweep.ts';
import { videos__delete_objects } from './videos__delete_objects.ts';
import { videos__index } from './videos__index.ts';
import { videos__playback } from './videos__playback.ts';
import { videos__playback_part } from './videos__playback_part.ts';
import { videos__playback_plan } from './videos__playback_plan.ts';
import { videos__reindex } from './videos__reindex.ts';
import { videos__transcribe } from './videos__transcribe.ts';
import { videos__validate } from './videos__validate.ts';

export function createTaskList(ctx: PipelineContext): TaskList {
  return {
    videos__validate: videos__validate(ctx),
    videos__transcribe: videos__transcribe(ctx),
    videos__index: videos__index(ctx),
    videos__reindex: videos__reindex(ctx),
    videos__playback_part: videos__playback_part(ctx),
    videos__playback: videos__playback(ctx),
    videos__playback_plan: videos__playback_plan(ctx),
    videos__delete_objects: videos__delete_objects(ctx),
    faces__cluster: faces__cluster(ctx),
    faces__reembed: faces__reembed(ctx),
    storage__sweep: storage__sweep(ctx),
  };
}
