/*
 * Why: processing is database-triggered. Whoever inserts a video row (the API,
 * psql, an import script) gets it processed, because the insert itself queues
 * the first graphile-worker job in the same transaction. The job key
 * "<task>:<id>" makes re-queuing replace a pending job instead of adding a
 * second one. State changes are announced with pg_notify so the API can push
 * live status to subscribers.
 */
drop view if exists app_private.user_stats;
drop function if exists app_private.reprocess_failed();
drop function if exists app_private.reprocess_video(uuid);
drop function if exists app_private.tg_videos__notify() cascade;
drop function if exists app_private.tg__add_job() cascade;
drop function if exists app_private.tg_videos__forget_objects() cascade;

-- Generic: tg_argv[0] is the task; the payload is the row id.
create function app_private.tg__add_job() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform graphile_worker.add_job(
    tg_argv[0],
    json_build_object('id', new.id),
    job_key := tg_argv[0] || ':' || new.id::text,
    job_key_mode := 'preserve_run_at',
    max_attempts := 10
  );
  return new;
end;
$$;

create trigger _500_enqueue_validate after insert on app_public.videos
  for each row execute function app_private.tg__add_job('videos__validate');

create function app_private.tg_videos__notify() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  -- One channel per owner: a subscriber only ever listens to its own.
  perform pg_notify(
    'heimdex:videos:' || new.owner_id::text,
    json_build_object(
      'id', new.id, 'state', new.state, 'stage', new.stage,
      'progress', new.progress, 'error', new.error,
      'event', lower(tg_op)
    )::text
  );
  return new;
end;
$$;

create trigger _900_notify_insert after insert on app_public.videos
  for each row execute function app_private.tg_videos__notify();
create trigger _900_notify_update after update on app_public.videos
  for each row
  when (old.state is distinct from new.state or old.stage is distinct from new.stage
        or old.progress is distinct from new.progress or old.error is distinct from new.error)
  execute function app_private.tg_videos__notify();

-- Deleting a video must not leak its bytes: a job removes the objects after
-- the delete commits (and is simply dropped if the delete rolls back).
create function app_private.tg_videos__forget_objects() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform graphile_worker.add_job(
    'videos__delete_objects',
    json_build_object('id', old.id, 'owner_id', old.owner_id, 'keys',
      array_remove(array[old.object_key, old.subtitle_key], null)
      || coalesce((select array_agg(s.keyframe_key) from app_public.scenes s
                   where s.video_id = old.id and s.keyframe_key is not null), '{}')),
    max_attempts := 5
  );
  return old;
end;
$$;

create trigger _500_forget_objects before delete on app_public.videos
  for each row execute function app_private.tg_videos__forget_objects();

/* SQL-level administration (run as the owner, e.g. `heimdex db psql`). */

create function app_private.reprocess_video(video_id uuid) returns boolean
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
  perform graphile_worker.add_job('videos__validate', json_build_object('id', video_id),
    job_key := 'videos__validate:' || video_id::text, max_attempts := 10);
  return true;
end;
$$;

create function app_private.reprocess_failed() returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_id uuid;
  n integer := 0;
begin
  for v_id in select id from app_public.videos where state = 'failed' order by created_at loop
    perform app_private.reprocess_video(v_id);
    n := n + 1;
  end loop;
  return n;
end;
$$;

create view app_private.user_stats as
  select v.owner_id,
         count(*) as videos,
         count(*) filter (where v.state = 'indexed') as indexed,
         count(*) filter (where v.state in ('uploaded', 'validating', 'processing')) as in_progress,
         count(*) filter (where v.state = 'failed') as failed,
         coalesce(sum(v.byte_size), 0) as bytes,
         coalesce(sum(v.duration_s), 0) as seconds,
         (select count(*) from app_public.scenes s where s.owner_id = v.owner_id) as scenes,
         max(v.created_at) as last_upload_at,
         (array_agg(v.error order by v.updated_at desc) filter (where v.state = 'failed'))[1] as last_error
  from app_public.videos v
  group by v.owner_id;

revoke all on function app_private.reprocess_video(uuid), app_private.reprocess_failed() from public;

comment on function app_private.reprocess_video(uuid) is 'Re-runs the whole pipeline for one video. Returns false when the id does not exist.';
comment on function app_private.reprocess_failed() is 'Re-runs every failed video; returns how many were queued.';
comment on view app_private.user_stats is 'Per-user counts of videos by state, storage, scenes and the latest failure.';
