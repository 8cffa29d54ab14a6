--! Previous: sha1:05902bfeff13dfe9285820733d452011ec2622bd
--! Hash: sha1:8fb08bef1577eb9dacf91f8a34b26b26212d2869
--! Message: Validation records the size of objects imported by SQL

--! split: 1-pipeline-byte-size.sql
/*
 * Why: a video inserted by plain SQL (an admin importing an object already
 * in storage) has no byte_size, so user_stats counted it as 0 bytes. The
 * validation step now records the stored object's size when the row has
 * none. The step functions are recreated from fixtures/pipeline_steps.sql.
 */
drop function if exists app_private.reindex_stale(text, text);
drop function if exists app_private.reindex_missing();
drop function if exists app_private.pipeline_reindexed(uuid, jsonb);
drop function if exists app_private.pipeline_indexed(uuid, jsonb);
drop function if exists app_private.pipeline_transcribed(uuid, jsonb);
drop function if exists app_private.pipeline_validated(uuid, jsonb);
drop function if exists app_private.pipeline_fail(uuid, text);
drop function if exists app_private.pipeline_progress(uuid, text, text, real);
drop function if exists app_private.jsonb_vector(jsonb);

--! Included pipeline_steps.sql
-- A JSON array of numbers as a pgvector value; null/absent stays NULL (a
-- silent scene has no text vector, never a zero vector).
create function app_private.jsonb_vector(v jsonb) returns public.vector
language sql immutable parallel safe
set search_path = ''
as $$
  select case when v is null or pg_catalog.jsonb_typeof(v) <> 'array' then null
              else (v::text)::public.vector end
$$;

create function app_private.pipeline_progress(video_id uuid, state text, stage text, progress real)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  -- greatest(): a retried job re-announcing an early stage must not make
  -- the progress bar jump backwards within the same state.
  update app_public.videos v
     set state = pipeline_progress.state,
         stage = pipeline_progress.stage,
         progress = case when v.state = pipeline_progress.state
                         then greatest(v.progress, pipeline_progress.progress)
                         else pipeline_progress.progress end,
         error = null
   where v.id = video_id;
  return found;
end;
$$;

create function app_private.pipeline_fail(video_id uuid, error text)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  if error is null or error = '' then
    raise exception 'pipeline_fail needs a reason' using errcode = '22023';
  end if;
  update app_public.videos v
     set state = 'failed', error = pipeline_fail.error
   where v.id = video_id;
  return found;
end;
$$;

-- facts: {byte_size, duration_s, width, height, fps, video_codec, audio_codec, has_audio}
create function app_private.pipeline_validated(video_id uuid, facts jsonb)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update app_public.videos v
     -- The API records the size at upload; a row inserted by SQL has none.
     set byte_size = coalesce(v.byte_size, (facts ->> 'byte_size')::bigint),
         duration_s = (facts ->> 'duration_s')::float8,
         width = (facts ->> 'width')::int,
         height = (facts ->> 'height')::int,
         fps = (facts ->> 'fps')::float8,
         video_codec = facts ->> 'video_codec',
         audio_codec = facts ->> 'audio_codec',
         has_audio = (facts ->> 'has_audio')::boolean,
         state = 'processing', stage = 'transcribe', progress = 0.1, error = null
   where v.id = video_id;
  if not found then
    return false;
  end if;
  perform graphile_worker.add_job('videos__transcribe', json_build_object('id', video_id),
    job_key := 'videos__transcribe:' || video_id::text, max_attempts := 5);
  return true;
end;
$$;

-- transcript: {source, language, model, segments: [{start, end, text}], missing}
create function app_private.pipeline_transcribed(video_id uuid, transcript jsonb)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform 1 from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  insert into app_private.video_transcripts (video_id, source, language, model, segments, missing)
  values (video_id, transcript ->> 'source', transcript ->> 'language', transcript ->> 'model',
          coalesce(transcript -> 'segments', '[]'), coalesce((transcript ->> 'missing')::boolean, false))
  on conflict on constraint video_transcripts_pkey do update
    set source = excluded.source, language = excluded.language, model = excluded.model,
        segments = excluded.segments, missing = excluded.missing, created_at = now();
  update app_public.videos v set stage = 'scenes', progress = greatest(v.progress, 0.35) where v.id = video_id;
  perform graphile_worker.add_job('videos__index', json_build_object('id', video_id),
    job_key := 'videos__index:' || video_id::text, max_attempts := 5);
  return true;
end;
$$;

/*
 * result: {transcript_source, language, asr_model, text_model, image_model,
 *          ocr_model, missing_stages: text[],
 *          scenes: [{ordinal, start_s, end_s, transcript, ocr_text, tags,
 *                    text_vec: number[]|null, image_vec: number[]|null, keyframe_key}]}
 * Replaces every scene of the video at once, so a retried or repeated job
 * leaves exactly one set. Keyframes of scenes that no longer exist are
 * handed to videos__delete_objects. Returns the number of scenes written,
 * or null when the video is gone.
 */
create function app_private.pipeline_indexed(video_id uuid, result jsonb)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_orphans text[];
  n integer;
begin
  select v.owner_id into v_owner from app_public.videos v where v.id = video_id for update;
  if not found then
    return null;
  end if;
  if jsonb_typeof(result -> 'scenes') <> 'array' or jsonb_array_length(result -> 'scenes') = 0 then
    raise exception 'pipeline_indexed needs at least one scene' using errcode = '22023';
  end if;

  select coalesce(array_agg(s.keyframe_key), '{}') into v_orphans
    from app_public.scenes s
   where s.video_id = pipeline_indexed.video_id and s.keyframe_key is not null
     and s.keyframe_key not in (
       select e ->> 'keyframe_key' from jsonb_array_elements(result -> 'scenes') e
        where e ->> 'keyframe_key' is not null);

  delete from app_public.scenes s where s.video_id = pipeline_indexed.video_id;
  insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, ocr_text, tags,
                                 text_vec, image_vec, keyframe_key)
  select video_id, v_owner, (e ->> 'ordinal')::int, (e ->> 'start_s')::float8, (e ->> 'end_s')::float8,
         coalesce(e ->> 'transcript', ''), coalesce(e ->> 'ocr_text', ''), coalesce(e -> 'tags', '[]'),
         app_private.jsonb_vector(e -> 'text_vec'), app_private.jsonb_vector(e -> 'image_vec'),
         e ->> 'keyframe_key'
    from jsonb_array_elements(result -> 'scenes') e;
  get diagnostics n = row_count;

  update app_public.videos v
     set state = 'indexed', stage = null, progress = 1, error = null, indexed_at = now(),
         transcript_source = result ->> 'transcript_source',
         language = result ->> 'language',
         asr_model = result ->> 'asr_model',
         text_model = result ->> 'text_model',
         image_model = result ->> 'image_model',
         ocr_model = result ->> 'ocr_model',
         missing_stages = coalesce(array(select jsonb_array_elements_text(result -> 'missing_stages')), '{}')
   where v.id = video_id;

  if cardinality(v_orphans) > 0 then
    perform graphile_worker.add_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', v_owner, 'keys', v_orphans), max_attempts := 5);
  end if;
  return n;
end;
$$;

/*
 * Partial update after videos__reindex: result carries only what was
 * recomputed. Scene-level keys present in an element overwrite that column
 * of the scene with the same ordinal; video-level model ids present in result
 * overwrite theirs; missing_stages is replaced when given. Scene boundaries
 * are never changed here (that is a full re-run: reprocess_video).
 */
create function app_private.pipeline_reindexed(video_id uuid, result jsonb)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
begin
  perform 1 from app_public.videos v where v.id = video_id for update;
  if not found then
    return null;
  end if;
  update app_public.scenes s
     set transcript = case when e ? 'transcript' then coalesce(e ->> 'transcript', '') else s.transcript end,
         ocr_text = case when e ? 'ocr_text' then coalesce(e ->> 'ocr_text', '') else s.ocr_text end,
         tags = case when e ? 'tags' then coalesce(e -> 'tags', '[]') else s.tags end,
         text_vec = case when e ? 'text_vec' then app_private.jsonb_vector(e -> 'text_vec') else s.text_vec end,
         image_vec = case when e ? 'image_vec' then app_private.jsonb_vector(e -> 'image_vec') else s.image_vec end
    from jsonb_array_elements(coalesce(result -> 'scenes', '[]')) e
   where s.video_id = pipeline_reindexed.video_id and s.ordinal = (e ->> 'ordinal')::int;
  get diagnostics n = row_count;

  update app_public.videos v
     set transcript_source = case when result ? 'transcript_source' then result ->> 'transcript_source' else v.transcript_source end,
         language = case when result ? 'language' then result ->> 'language' else v.language end,
         asr_model = case when result ? 'asr_model' then result ->> 'asr_model' else v.asr_model end,
         text_model = case when result ? 'text_model' then result ->> 'text_model' else v.text_model end,
         image_model = case when result ? 'image_model' then result ->> 'image_model' else v.image_model end,
         ocr_model = case when result ? 'ocr_model' then result ->> 'ocr_model' else v.ocr_model end,
         missing_stages = case when result ? 'missing_stages'
                               then array(select jsonb_array_elements_text(result -> 'missing_stages'))
                               else v.missing_stages end,
         stage = null, progress = 1, indexed_at = now()
   where v.id = video_id;
  return n;
end;
$$;

-- Queues videos__reindex (mode missing) for every indexed video that skipped
-- a stage. The job itself checks which models are present now and does
-- nothing for stages that are still impossible.
create function app_private.reindex_missing() returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_id uuid;
  n integer := 0;
begin
  for v_id in select v.id from app_public.videos v
               where v.state = 'indexed' and cardinality(v.missing_stages) > 0
               order by v.created_at loop
    perform graphile_worker.add_job('videos__reindex', json_build_object('id', v_id, 'mode', 'missing'),
      job_key := 'videos__reindex:missing:' || v_id::text, queue_name := 'video:' || v_id::text, max_attempts := 5);
    n := n + 1;
  end loop;
  return n;
end;
$$;

-- Queues videos__reindex (mode stale) for every indexed video whose vectors
-- came from a different model than the configured one. Search compares only
-- vectors of the query's model, so old and new vectors never mix while this
-- runs in the background. A null argument means "that model is absent": it
-- does not make anything stale.
create function app_private.reindex_stale(text_model text, image_model text) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_id uuid;
  n integer := 0;
begin
  for v_id in select v.id from app_public.videos v
               where v.state = 'indexed'
                 and ((reindex_stale.text_model is not null and v.text_model is distinct from reindex_stale.text_model
                       and v.transcript_source is distinct from 'none')
                   or (reindex_stale.image_model is not null and v.image_model is distinct from reindex_stale.image_model))
               order by v.created_at loop
    perform graphile_worker.add_job('videos__reindex', json_build_object('id', v_id, 'mode', 'stale'),
      job_key := 'videos__reindex:stale:' || v_id::text, queue_name := 'video:' || v_id::text, max_attempts := 5);
    n := n + 1;
  end loop;
  return n;
end;
$$;

revoke all on function app_private.pipeline_progress(uuid, text, text, real), app_private.pipeline_fail(uuid, text),
  app_private.pipeline_validated(uuid, jsonb), app_private.pipeline_transcribed(uuid, jsonb), app_private.pipeline_indexed(uuid, jsonb),
  app_private.pipeline_reindexed(uuid, jsonb), app_private.reindex_missing(),
  app_private.reindex_stale(text, text) from public;

comment on function app_private.pipeline_progress(uuid, text, text, real) is 'Worker: announce state/stage/progress (never moves progress backwards within a state).';
comment on function app_private.pipeline_fail(uuid, text) is 'Worker: mark a video failed with a reason a user can act on.';
comment on function app_private.pipeline_validated(uuid, jsonb) is 'Worker: record probed media facts, move to processing and queue videos__transcribe.';
comment on function app_private.pipeline_transcribed(uuid, jsonb) is 'Worker: keep the transcript for the index step and queue videos__index.';
comment on function app_private.pipeline_indexed(uuid, jsonb) is 'Worker: replace all scenes of a video in one transaction and mark it indexed.';
comment on function app_private.pipeline_reindexed(uuid, jsonb) is 'Worker: apply recomputed scene columns and model ids after videos__reindex.';
comment on function app_private.reindex_missing() is 'Queue videos__reindex for every indexed video with skipped stages; returns how many.';
comment on function app_private.reindex_stale(text, text) is 'Queue videos__reindex for videos embedded with another text/image model; returns how many.';
--! EndIncluded pipeline_steps.sql
