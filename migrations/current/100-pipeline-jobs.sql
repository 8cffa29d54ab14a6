/*
 * Why: the insert trigger, the delete trigger and reprocess_video each
 * queued jobs with their own hard-coded max_attempts. They now go through
 * app_private.add_pipeline_job (fixtures/pipeline_steps.sql), where the retry
 * policy is stated once. `create or replace` keeps the triggers attached and
 * the grants as they are. Also corrects the ocr_text comment: on-screen text
 * is read on frames sampled through the whole scene, not only the keyframe.
 */
create or replace function app_private.tg__add_job() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  -- Generic: tg_argv[0] is the task; the payload is the row id.
  perform app_private.add_pipeline_job(tg_argv[0], json_build_object('id', new.id),
    tg_argv[0] || ':' || new.id::text, job_key_mode := 'preserve_run_at');
  return new;
end;
$$;

-- Deleting a video must not leak its bytes: a job removes the objects after
-- the delete commits (and is simply dropped if the delete rolls back).
create or replace function app_private.tg_videos__forget_objects() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform app_private.add_pipeline_job('videos__delete_objects',
    json_build_object('id', old.id, 'owner_id', old.owner_id, 'keys',
      array_remove(array[old.object_key, old.subtitle_key], null)
      || coalesce((select array_agg(s.keyframe_key) from app_public.scenes s
                   where s.video_id = old.id and s.keyframe_key is not null), '{}')));
  return old;
end;
$$;

create or replace function app_private.reprocess_video(video_id uuid) returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update app_public.videos
     set state = 'uploaded', stage = null, progress = 0, error = null
   where id = video_id;
  if not found then
    return false;
  end if;
  perform app_private.add_pipeline_job('videos__validate', json_build_object('id', video_id),
    'videos__validate:' || video_id::text);
  return true;
end;
$$;

comment on column app_public.scenes.ocr_text is 'Text read on screen in frames sampled through the scene, not only in its keyframe.';
