/*
 * Why: least privilege for every login the product uses (README, "Database
 * roles"), and constraints that hold for any client of the schema, not only
 * for GraphQL.
 *
 * - heimdex_worker is the workers' own login now. Workers parse untrusted
 *   media, so this role may read videos, call the pipeline step functions
 *   (granted in 950-privileges.sql, after 900 recreates them) and work
 *   graphile-worker's queue; it writes no table directly. Its old blanket
 *   policies (all_worker, using true) and table write grants go.
 * - graphile-worker's schema is migrated by the owner (`heimdex db migrate`
 *   runs graphile-worker's migrations first); at start a worker only reads
 *   graphile_worker.migrations to see that nothing is left to do, registers
 *   its task names and locks, completes and fails jobs. It gets exactly
 *   that. A graphile-worker upgrade that adds migrations needs a
 *   `heimdex db migrate` before the workers start.
 * - heimdex_auth is the API's login for local sign-up, sign-in and session
 *   checks: usage on app_private to call the auth functions (950) and read
 *   access to the migration list for /healthz.
 * - Functions: PUBLIC loses EXECUTE on every function the owner creates from
 *   now on (per-schema default privileges cannot remove the built-in PUBLIC
 *   grant; the role-wide one can), and 950 revokes it from every existing
 *   app_* function.
 * - content_type becomes the Content-Type of signed URLs: only video types
 *   are stored, so nothing can be served as HTML. Object keys must lie
 *   strictly under u/<owner>/ with no ".." (or ".") segment, which the API
 *   already guarantees and the delete job relies on.
 */
alter table app_public.videos drop constraint if exists videos_content_type_video;
alter table app_public.videos drop constraint if exists videos_object_key_owned;
alter table app_public.videos drop constraint if exists videos_subtitle_key_owned;
alter table app_public.scenes drop constraint if exists scenes_keyframe_key_owned;
drop policy if exists select_worker on app_public.videos;
drop policy if exists work_queue on graphile_worker._private_tasks;
drop policy if exists work_queue on graphile_worker._private_jobs;
drop policy if exists work_queue on graphile_worker._private_job_queues;
drop policy if exists all_worker on app_public.videos;
drop policy if exists all_worker on app_public.scenes;

-- Roles: the embedded cluster and docker/db-init create them (as the
-- superuser); a hosted database without heimdex_auth (Supabase, whose own
-- auth replaces ours) simply has no such grants.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'heimdex_auth') then
    begin
      create role heimdex_auth nologin noinherit;
    exception when insufficient_privilege or duplicate_object or unique_violation then
      null;
    end;
  end if;
end
$$;

/* heimdex_worker: select on videos, nothing else on tables. */
revoke all on app_public.videos, app_public.scenes from heimdex_worker;
grant select on app_public.videos to heimdex_worker;
create policy select_worker on app_public.videos for select to heimdex_worker using (true);
-- NOTE: no scenes access: the step functions read and write them as the owner.
revoke execute on function app_hidden.tag_text(jsonb) from heimdex_worker;
revoke usage on schema app_hidden from heimdex_worker;

/* heimdex_worker and graphile-worker's queue. */
revoke all on schema graphile_worker from public;
grant usage on schema graphile_worker to heimdex_worker;
revoke all on all tables in schema graphile_worker from heimdex_worker;
grant select on graphile_worker.migrations to heimdex_worker;
grant select, insert on graphile_worker._private_tasks to heimdex_worker;
grant select, update, delete on graphile_worker._private_jobs to heimdex_worker;
grant select, update on graphile_worker._private_job_queues to heimdex_worker;
-- graphile-worker turns on row-level security for its tables (so API
-- roles see nothing); the worker's rows are all of them.
create policy work_queue on graphile_worker._private_tasks to heimdex_worker using (true) with check (true);
create policy work_queue on graphile_worker._private_jobs to heimdex_worker using (true) with check (true);
create policy work_queue on graphile_worker._private_job_queues to heimdex_worker using (true) with check (true);
-- NOTE: no insert on jobs: a worker queues the next step only through the
-- security definer step functions; no graphile_worker function either.
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'graphile_worker'
  loop
    execute pg_catalog.format('revoke all on function %s from public', f);
  end loop;
end
$$;

/* heimdex_auth: the migration list for /healthz. */
do $$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'heimdex_auth') then
    grant usage on schema app_private to heimdex_auth;
    if to_regclass('graphile_migrate.migrations') is not null then
      grant usage on schema graphile_migrate to heimdex_auth;
      grant select on graphile_migrate.migrations to heimdex_auth;
    end if;
  end if;
end
$$;

alter default privileges revoke execute on functions from public;

/* Constraints any client meets, GraphQL or not. */
alter table app_public.videos add constraint videos_content_type_video
  check (content_type ~ '^video/[a-z0-9][a-z0-9.+-]*$');
alter table app_public.videos add constraint videos_object_key_owned
  check (starts_with(object_key, 'u/' || owner_id::text || '/')
         and char_length(object_key) > char_length('u/' || owner_id::text || '/')
         and object_key !~ '(^|/)\.{1,2}(/|$)' and object_key !~ '//');
alter table app_public.videos add constraint videos_subtitle_key_owned
  check (starts_with(subtitle_key, 'u/' || owner_id::text || '/')
         and char_length(subtitle_key) > char_length('u/' || owner_id::text || '/')
         and subtitle_key !~ '(^|/)\.{1,2}(/|$)' and subtitle_key !~ '//');
alter table app_public.scenes add constraint scenes_keyframe_key_owned
  check (starts_with(keyframe_key, 'u/' || owner_id::text || '/')
         and keyframe_key !~ '(^|/)\.{1,2}(/|$)' and keyframe_key !~ '//');

comment on column app_public.videos.content_type is 'MIME type announced at upload; always a video/* type (it becomes the Content-Type of signed URLs).';
