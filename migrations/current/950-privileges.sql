/*
 * Why: runs after 900-functions.sql has recreated the fixture functions, so
 * what it grants and revokes is what stays. PUBLIC keeps EXECUTE on no
 * function in app_public, app_hidden or app_private (security definer
 * trigger functions included: attached to a caller's own temp table they
 * would otherwise queue jobs for anyone's rows). Each role then gets
 * exactly its functions, by name, so a changed signature in a fixture needs
 * no edit here; test/db/privileges.test.ts compares the result with an
 * explicit allow-list.
 */
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('app_public', 'app_hidden', 'app_private')
  loop
    execute pg_catalog.format('revoke all on function %s from public', f);
  end loop;

  -- Workers: the step functions that record a stage's result, and the
  -- start-up check for videos embedded by other models.
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'app_private'
       and p.proname = any (array[
         'pipeline_progress', 'pipeline_reindex_progress', 'pipeline_fail', 'pipeline_validated',
         'pipeline_transcribed', 'pipeline_transcript', 'pipeline_stored_scenes', 'pipeline_indexed',
         'pipeline_reindexed', 'reindex_stale', 'enrolment_faces_stale', 'enrolment_face_reembedded',
         -- migration 000005-faces-keep-their-identity-across-re-detection-heartbeats-fai.sql: heartbeats, releasing dead workers' jobs, the orphan sweep, cut notes.
         'worker_heartbeat', 'release_dead_workers', 'release_workers', 'unreferenced_keys', 'queue_storage_sweep', 'pipeline_note',
         -- migration 000006: releasing the jobs of exited processes on the same machine at once.
         'worker_processes', 'release_gone_processes',
         -- issue 13: long videos in chunk jobs (130-video-chunks.sql).
         'pipeline_chunk_start', 'pipeline_chunk_done',
         -- browser-playable copies (100-playback-copies.sql).
         'pipeline_playback_part_done', 'pipeline_playback_parts', 'pipeline_playback_ready', 'pipeline_playback_failed',
         -- copies for videos validated before they existed (100-playback-backfill.sql).
         'pipeline_playback_planned',
         -- an attempt a database restart cut short through the job's own query (job_interrupted).
         'job_interrupted'])
  loop
    execute pg_catalog.format('grant execute on function %s to heimdex_worker', f);
  end loop;

  -- The API's local auth: these functions and nothing else.
  if exists (select from pg_catalog.pg_roles where rolname = 'heimdex_auth') then
    for f in
      select p.oid::regprocedure from pg_catalog.pg_proc p
        join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'app_private' and p.proname like 'auth\_%'
    loop
      execute pg_catalog.format('grant execute on function %s to heimdex_auth', f);
    end loop;
  end if;
end
$$;
