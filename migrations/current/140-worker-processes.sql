/*
 * Why: a killed worker's jobs waited WORKER_DEAD_AFTER_S (plus up to a third
 * of it) for its heartbeat to go stale, even when the worker that replaces it
 * runs on the same machine and can see at once that the old process is gone:
 * under `heimdex start` (one worker, restarted within a second) every crash
 * stalled its video for 30-40 s. Heartbeats now also record the worker's
 * operating-system process id and the pid space it lives in (the machine's
 * boot id and the pid namespace, so two containers or two machines with the
 * same host name never mistake each other's processes); a worker in the same
 * pid space releases the jobs of pools whose process no longer exists without
 * waiting. A pid reused by another process only means falling back to the
 * heartbeat bound, never releasing a live worker's job.
 *
 * Every lock counts as an attempt, a killed one too. A job released after its
 * last attempt is never run again, and its video sat in "processing" for
 * ever; such videos are now failed with a reason as the job is released.
 */
drop function if exists app_private.release_gone_processes(text, integer[]);
drop function if exists app_private.fail_crashed_jobs(text[]);
drop function if exists app_private.worker_processes(text);
drop function if exists app_private.worker_heartbeat(text[], text, text, integer);
alter table app_private.worker_heartbeats drop column if exists process_id;
alter table app_private.worker_heartbeats drop column if exists process_scope;

alter table app_private.worker_heartbeats
  add column process_scope text,
  add column process_id integer;
comment on column app_private.worker_heartbeats.process_scope is 'The pid space of the worker process (boot id and pid namespace); null where the platform does not tell.';
comment on column app_private.worker_heartbeats.process_id is 'The worker''s operating-system process id within process_scope.';

-- Replaces the two-argument form of migration 000005; its callers keep working.
drop function if exists app_private.worker_heartbeat(text[], text);
create function app_private.worker_heartbeat(worker_ids text[], host text, process_scope text default null,
                                             process_id integer default null) returns void
language sql volatile security definer
set search_path = ''
as $$
  insert into app_private.worker_heartbeats (worker_id, host, pid, process_scope, process_id)
  select w, worker_heartbeat.host, pg_catalog.pg_backend_pid(), worker_heartbeat.process_scope,
         worker_heartbeat.process_id
    from pg_catalog.unnest(worker_ids) w
  on conflict (worker_id) do update set seen_at = now();
$$;
comment on function app_private.worker_heartbeat(text[], text, text, integer) is 'Worker: record that these pools (of this process) are alive.';

/*
 * Called by every function that releases jobs, before it unlocks them: a
 * video whose job was interrupted on its last attempt is failed now, with a
 * reason, instead of waiting for a run that graphile-worker will never start.
 * Re-indexing an indexed video is left alone: that video stays searchable.
 */
create function app_private.fail_crashed_jobs(worker_ids text[]) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform app_private.pipeline_fail((j.payload ->> 'id')::uuid,
    pg_catalog.format('Processing was interrupted on its last attempt (%s of %s: the worker was killed, ran out '
                      'of memory or lost its database). An administrator can retry it.', j.attempts, j.max_attempts))
     from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    where j.locked_by = any(worker_ids) and j.attempts >= j.max_attempts
      and t.identifier in ('videos__validate', 'videos__transcribe', 'videos__index');
end;
$$;
comment on function app_private.fail_crashed_jobs(text[]) is 'Fails the videos whose jobs these pools held on their last attempt (called as they are released).';

-- Migration 000005's two release functions, now failing such videos first.
create or replace function app_private.release_dead_workers(dead_after_s integer) returns text[]
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
    perform app_private.fail_crashed_jobs(dead);
    perform graphile_worker.force_unlock_workers(dead);
  end if;
  delete from app_private.worker_heartbeats h where h.seen_at < now() - pg_catalog.make_interval(secs => dead_after_s * 10);
  return dead;
end;
$$;

create or replace function app_private.release_workers(worker_ids text[]) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform app_private.fail_crashed_jobs(worker_ids);
  perform graphile_worker.force_unlock_workers(worker_ids);
end;
$$;

/*
 * The process ids in one pid space whose pools hold jobs: the candidates a
 * worker in that space checks for existence.
 */
create function app_private.worker_processes(process_scope text) returns integer[]
language sql stable security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct h.process_id), '{}')
    from app_private.worker_heartbeats h
   where h.process_scope = worker_processes.process_scope and h.process_id is not null
     and (exists (select 1 from graphile_worker._private_jobs j where j.locked_by = h.worker_id)
          or exists (select 1 from graphile_worker._private_job_queues q where q.locked_by = h.worker_id));
$$;
comment on function app_private.worker_processes(text) is 'Worker: the process ids of this pid space whose pools hold jobs.';

/*
 * Returns the pools whose jobs it released: those of the given processes,
 * which the caller found gone from its own pid space.
 */
create function app_private.release_gone_processes(process_scope text, process_ids integer[]) returns text[]
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  gone text[];
begin
  select coalesce(array_agg(h.worker_id), '{}') into gone
    from app_private.worker_heartbeats h
   where h.process_scope = release_gone_processes.process_scope and h.process_id = any(process_ids);
  if cardinality(gone) > 0 then
    perform app_private.fail_crashed_jobs(gone);
    perform graphile_worker.force_unlock_workers(gone);
    delete from app_private.worker_heartbeats h where h.worker_id = any(gone);
  end if;
  return gone;
end;
$$;
comment on function app_private.release_gone_processes(text, integer[]) is 'Worker: return the jobs of these exited processes (same pid space as the caller) to the queue; returns their pool ids.';

revoke all on function app_private.fail_crashed_jobs(text[]), app_private.worker_heartbeat(text[], text, text, integer),
  app_private.worker_processes(text), app_private.release_gone_processes(text, integer[]) from public;
