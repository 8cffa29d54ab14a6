/*
 * Why: a crashed worker, a database restart or one user's backlog must never
 * leave work that only a human can clear.
 *  - Heartbeats: graphile-worker keeps a dead worker's jobs locked for 4
 *    hours. Every worker process records a heartbeat; a live one hands the
 *    jobs of workers whose heartbeat is stale back to the queue with
 *    graphile-worker's own force_unlock_workers.
 *  - Fairness: jobs get a priority computed here, where they are added: the
 *    position of the video in its owner's own backlog. graphile-worker runs
 *    lower priorities first, so another user's first video does not wait
 *    behind someone's twenty.
 *  - Orphans: objects that no row refers to (uploads never registered,
 *    keyframes of failed attempts) are found by the worker's sweep.
 *  - Pinned bytes and recorded cuts: the digest validation saw, and notes on
 *    what processing had to cut.
 */
drop function if exists app_private.pipeline_note(uuid, text);
drop function if exists app_private.job_priority(json);
drop function if exists app_private.job_priority(uuid);
drop function if exists app_private.queue_storage_sweep(integer);
drop function if exists app_private.release_workers(text[]);
drop function if exists app_private.unreferenced_keys(text[]);
drop function if exists app_private.release_dead_workers(integer);
drop function if exists app_private.worker_heartbeat(text[], text);
drop table if exists app_private.worker_heartbeats;

alter table app_public.videos drop column if exists notes;
alter table app_public.videos drop column if exists subtitle_sha256;
alter table app_public.videos drop column if exists content_sha256;

alter table app_public.videos
  add column content_sha256 text check (content_sha256 ~ '^[0-9a-f]{64}$'),
  add column subtitle_sha256 text check (subtitle_sha256 ~ '^[0-9a-f]{64}$'),
  add column notes text[] not null default '{}';

comment on column app_public.videos.content_sha256 is 'SHA-256 of the video bytes as validated; every later stage refuses other bytes ("changed after upload").';
comment on column app_public.videos.subtitle_sha256 is 'SHA-256 of the subtitle sidecar as first read; later reads must match.';
comment on column app_public.videos.notes is 'What processing had to cut to stay within limits (e.g. a transcript cut at SCENE_TEXT_MAX_CHARS), so nothing is dropped silently.';

create table app_private.worker_heartbeats (
  worker_id text primary key,
  host text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  seen_at timestamptz not null default now()
);
alter table app_private.worker_heartbeats enable row level security;
-- NOTE: no policies and no grants: workers write and read heartbeats only through
-- worker_heartbeat and release_dead_workers (security definer, below).
comment on table app_private.worker_heartbeats is 'Last sign of life of each graphile-worker pool (its locked_by id).';

create function app_private.worker_heartbeat(worker_ids text[], host text) returns void
language sql volatile security definer
set search_path = ''
as $$
  insert into app_private.worker_heartbeats (worker_id, host, pid)
  select w, worker_heartbeat.host, pg_catalog.pg_backend_pid() from pg_catalog.unnest(worker_ids) w
  on conflict (worker_id) do update set seen_at = now();
$$;
comment on function app_private.worker_heartbeat(text[], text) is 'Worker: record that these pools are alive.';

/*
 * Returns the worker ids whose locks it released. A lock is released when its
 * holder has no fresh heartbeat and the lock itself is older than the bound
 * (so a worker that has just started and not yet beaten is left alone).
 * Heartbeats of long-dead workers are forgotten.
 */
create function app_private.release_dead_workers(dead_after_s integer) returns text[]
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  dead text[];
  bound timestamptz := now() - pg_catalog.make_interval(secs => dead_after_s);
begin
  select coalesce(array_agg(distinct l.locked_by), '{}') into dead
    from (select j.locked_by, j.locked_at from graphile_worker._private_jobs j where j.locked_by is not null
          union all
          select q.locked_by, q.locked_at from graphile_worker._private_job_queues q where q.locked_by is not null) l
   where l.locked_at < bound
     and not exists (select 1 from app_private.worker_heartbeats h
                      where h.worker_id = l.locked_by and h.seen_at >= bound);
  if cardinality(dead) > 0 then
    perform graphile_worker.force_unlock_workers(dead);
  end if;
  delete from app_private.worker_heartbeats h where h.seen_at < now() - pg_catalog.make_interval(secs => dead_after_s * 10);
  return dead;
end;
$$;
comment on function app_private.release_dead_workers(integer) is 'Worker: return the jobs of workers silent for dead_after_s seconds to the queue; returns their ids.';

/*
 * The keys in the list that no row refers to: a video's object or sidecar, a
 * scene's keyframe, an enrolment photo, or the crop of a face that exists
 * (u/<owner>/faces/<face id>.jpg). The owner folder in each key narrows every
 * look-up to that owner's rows (indexed), so an hourly sweep of a large store
 * costs index probes, not scans. Security definer: the worker login reads no
 * scenes or faces itself; it learns only which of its candidate keys are free.
 */
create function app_private.unreferenced_keys(keys text[]) returns text[]
language sql stable security definer
set search_path = ''
as $$
  with c as (
    select k, case when k ~ '^u/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/'
                   then pg_catalog.substr(k, 3, 36)::uuid end as owner_id,
           case when k ~ '^u/[^/]+/faces/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jpg$'
                then pg_catalog.substring(k, '/faces/([0-9a-f-]{36})\.jpg$')::uuid end as face_id
      from pg_catalog.unnest(keys) k
  )
  select coalesce(array_agg(c.k), '{}') from c
   where not exists (select 1 from app_public.videos v where v.object_key = c.k)
     and not exists (select 1 from app_public.videos v where v.owner_id = c.owner_id and v.subtitle_key = c.k)
     and not exists (select 1 from app_public.scenes s where s.owner_id = c.owner_id and s.keyframe_key = c.k)
     and not exists (select 1 from app_public.faces f where f.owner_id = c.owner_id and f.photo_key = c.k)
     and not exists (select 1 from app_public.faces f where f.id = c.face_id and f.owner_id = c.owner_id);
$$;
comment on function app_private.unreferenced_keys(text[]) is 'Worker: which of these storage keys no video, scene or face refers to (the orphan sweep, and a failed attempt cleaning up after itself).';

/*
 * graphile-worker's force_unlock_workers for the worker login, which executes
 * no graphile_worker function itself: a worker whose job runner stopped (the
 * database went away mid-job) hands its own pools' jobs straight back instead
 * of waiting for the heartbeat bound.
 */
create function app_private.release_workers(worker_ids text[]) returns void
language sql volatile security definer
set search_path = ''
as $$
  select graphile_worker.force_unlock_workers(worker_ids);
$$;
comment on function app_private.release_workers(text[]) is 'Worker: return the jobs these worker pools hold to the queue.';

/*
 * The orphan sweep's schedule. graphile-worker's cron would need the worker
 * login to write graphile-worker's crontab table and add jobs directly; this
 * lets it ask for one sweep instead. The fixed job key makes every worker's
 * request the same pending job, and preserve_run_at keeps its time, so a
 * fleet of workers still sweeps about once per every_s seconds.
 */
create function app_private.queue_storage_sweep(every_s integer) returns void
language sql volatile security definer
set search_path = ''
as $$
  select graphile_worker.add_job('storage__sweep', '{}'::json, job_key := 'storage__sweep',
    job_key_mode := 'preserve_run_at', max_attempts := 1,
    run_at := now() + pg_catalog.make_interval(secs => greatest(every_s, 60)));
$$;
comment on function app_private.queue_storage_sweep(integer) is 'Worker: make sure one orphan sweep is queued, every_s seconds from the first request.';

revoke all on function app_private.worker_heartbeat(text[], text), app_private.release_dead_workers(integer),
  app_private.unreferenced_keys(text[]), app_private.release_workers(text[]),
  app_private.queue_storage_sweep(integer) from public;

/*
 * The position of a job's video in its owner's backlog (0 = the owner's
 * oldest unfinished video), capped so one huge backlog cannot overflow
 * anything. add_pipeline_job (fixtures/pipeline_steps.sql) uses it as
 * graphile-worker's priority for every job whose payload names a video.
 */
create function app_private.job_priority(payload json) returns integer
language sql stable
set search_path = ''
as $$
  select coalesce((
    select least(count(*), 10000)::integer
      from app_public.videos v
      join app_public.videos o on o.owner_id = v.owner_id
     where v.id = case when payload ->> 'id' ~ '^[0-9a-fA-F-]{36}$' then (payload ->> 'id')::uuid end
       and o.state in ('uploaded', 'validating', 'processing')
       and (o.created_at, o.id) < (v.created_at, v.id)), 0);
$$;
comment on function app_private.job_priority(json) is 'Fair job priority: how many of the owner''s unfinished videos are older than the payload''s video.';
revoke all on function app_private.job_priority(json) from public;

-- Records, once, what processing had to cut (a long subtitle file, a scene's text).
create function app_private.pipeline_note(video_id uuid, note text) returns boolean
language sql volatile security definer
set search_path = ''
as $$
  update app_public.videos v
     set notes = case when pipeline_note.note = any (v.notes) then v.notes else v.notes || pipeline_note.note end
   where v.id = pipeline_note.video_id
  returning true;
$$;
comment on function app_private.pipeline_note(uuid, text) is 'Worker: record what processing had to cut to stay within limits.';
revoke all on function app_private.pipeline_note(uuid, text) from public;
