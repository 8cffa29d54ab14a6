/*
 * Why: the often-edited function bodies live in migrations/fixtures/ and are
 * recreated here, last, so that they may use any table or column that the
 * lower-numbered files of current/ add. Every function a fixture defines is
 * dropped first, whatever its signature, so changing a signature needs no
 * new drop statement: add a new function's name to the list instead.
 */
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('app_public', 'app_hidden', 'app_private')
       and p.proname = any (array[
         -- fixtures/auth.sql
         'auth_signup', 'auth_login', 'auth_create_session', 'auth_refresh', 'auth_logout_token',
         'auth_logout_session', 'auth_session_active', 'auth_session_user', 'auth_logout_user',
         -- fixtures/pipeline_steps.sql
         'jsonb_vector', 'add_pipeline_job', 'pipeline_stage_progress', 'pipeline_progress',
         'pipeline_reindex_progress', 'pipeline_fail', 'pipeline_validated', 'pipeline_transcribed',
         'pipeline_transcript', 'pipeline_stored_scenes', 'pipeline_indexed', 'pipeline_reindexed',
         'reindex_missing', 'reindex_stale', 'pipeline_chunk_start', 'pipeline_chunk_done',
         'playback_queue', 'pipeline_playback_part_done', 'pipeline_playback_parts', 'pipeline_playback_ready',
         'pipeline_playback_failed', 'playback_forget_parts', 'pipeline_playback_planned',
         -- fixtures/search_scenes.sql
         'search_similarity', 'search_query_words', 'search_prefix', 'search_stemming', 'search_tsquery',
         'search_forms', 'search_word_forms', 'search_tag_words',
         'search_stem_tsquery', 'search_rank', 'search_tag_score',
         'search_label_stem', 'search_stem_start', 'search_label_start', 'search_names',
         'search_escape_html', 'search_highlight', 'search_compound_parts', 'search_snippet_query', 'search_snippet', 'search_scenes', 'search_scene_persons', 'search_persons_of',
         'search_bits_weight', 'search_postings', 'search_range_rows', 'search_stem_rows', 'search_scene_matches',
         'search_word_rows',
         'search_word_estimate', 'search_ocr_fuzzy'])
  loop
    execute pg_catalog.format('drop function %s', f);
  end loop;
end;
$$;
drop type if exists app_public.scene_hit;

--!include auth.sql
--!include pipeline_steps.sql
--!include search_scenes.sql
