--! Previous: -
--! Hash: sha1:bdf05a2ab122ccefb02e49278fcc19b6534e6f59
--! Message: Initial schema: videos, scenes, RLS, pipeline, search, local auth, uploads

--! split: 1-roles.sql
/*
 * Why: every later file grants to these roles. Names follow Supabase (anon,
 * authenticated, service_role) so the same policies run unchanged on a
 * Supabase database; they are created only when absent. heimdex_worker is what
 * the pipeline drops to when it writes scenes, and heimdex_authenticator is the
 * login the API server uses: it owns nothing, has no BYPASSRLS, and can only
 * become anon or authenticated.
 */
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role', 'heimdex_worker', 'heimdex_authenticator'] loop
    if not exists (select from pg_catalog.pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin noinherit', r);
      exception when duplicate_object or unique_violation then
        -- Another session created it concurrently (roles are cluster-wide).
        null;
      end;
    end if;
  end loop;
end
$$;

grant anon, authenticated to heimdex_authenticator;
-- The owner connection (migrations, worker) may drop to the worker role so
-- that scene writes go through the same policies tests exercise.
grant heimdex_worker to current_user;

--! split: 2-supabase-compat.sql
/*
 * Why: policies call auth.uid() exactly as on Supabase. On Supabase these
 * functions already exist (and belong to supabase_auth_admin), so they are
 * created only when absent and never replaced. The bodies are Supabase's:
 * they read the request.jwt.claims setting that the API server sets per
 * request (and the older request.jwt.claim.* form).
 */
create schema if not exists auth;

do $$
begin
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid language sql stable as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text language sql stable as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $f$;
  end if;
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb language sql stable as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $f$;
  end if;
  -- On Supabase the auth schema is not ours to grant on, and is already usable.
  begin
    grant usage on schema auth to anon, authenticated, service_role, heimdex_worker;
  exception when insufficient_privilege then
    null;
  end;
end
$$;

--! split: 3-schemas.sql
/*
 * Why: app_public is the API (PostGraphile exposes exactly this schema),
 * app_hidden holds helpers callers may use but GraphQL does not show, and
 * app_private holds secrets, pipeline state and security definer steps.
 */
create extension if not exists vector;
create extension if not exists pgcrypto;

create schema if not exists app_public;
create schema if not exists app_hidden;
create schema if not exists app_private;

grant usage on schema app_public, app_hidden to anon, authenticated, heimdex_worker;
-- NOTE: no usage on app_private for anon/authenticated: nothing in it is theirs.
grant usage on schema app_private to heimdex_worker;

alter default privileges in schema app_public, app_hidden revoke execute on functions from public;

create or replace function app_private.tg__set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

--! split: 4-videos.sql
/*
 * Why: one row per uploaded video, the unit users own. The pipeline fills
 * media facts and advances state; users may only rename or delete. A row
 * inserted by plain SQL with owner_id, title and object_key is complete: the
 * insert trigger (6-pipeline.sql) queues its processing.
 */
drop table if exists app_public.videos cascade;

create table app_public.videos (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid(),
  title text not null default '' check (char_length(title) <= 500),
  filename text check (char_length(filename) <= 500),
  object_key text not null check (object_key <> '' and char_length(object_key) <= 1024 and object_key !~ '(^/|\.\./)'),
  subtitle_key text check (subtitle_key <> '' and char_length(subtitle_key) <= 1024 and subtitle_key !~ '(^/|\.\./)'),
  byte_size bigint check (byte_size >= 0),
  content_type text,
  state text not null default 'uploaded'
    check (state in ('uploaded', 'validating', 'processing', 'indexed', 'failed')),
  stage text,
  progress real not null default 0 check (progress between 0 and 1),
  error text,
  duration_s double precision check (duration_s >= 0),
  width int check (width > 0),
  height int check (height > 0),
  fps double precision,
  video_codec text,
  audio_codec text,
  has_audio boolean,
  language text,
  transcript_source text check (transcript_source in ('subtitles', 'asr', 'none')),
  asr_model text,
  text_model text,
  image_model text,
  ocr_model text,
  missing_stages text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  indexed_at timestamptz,
  -- Target of scenes' composite foreign key: a scene's owner must be its video's owner.
  unique (id, owner_id)
);

alter table app_public.videos enable row level security;

create index videos_owner_id_created_at_idx on app_public.videos (owner_id, created_at desc);
create index videos_state_idx on app_public.videos (state) where state <> 'indexed';

-- Object keys are per-user prefixes ("u/<owner_id>/..."): the database itself
-- refuses a row pointing into someone else's folder, whatever the client.
create policy select_own on app_public.videos for select to authenticated
  using (owner_id = (select auth.uid()));
create policy insert_own on app_public.videos for insert to authenticated
  with check (
    owner_id = (select auth.uid())
    and object_key like 'u/' || owner_id::text || '/%'
    and (subtitle_key is null or subtitle_key like 'u/' || owner_id::text || '/%')
  );
create policy update_own on app_public.videos for update to authenticated
  using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
create policy delete_own on app_public.videos for delete to authenticated
  using (owner_id = (select auth.uid()));
create policy all_worker on app_public.videos for all to heimdex_worker using (true) with check (true);

grant select, delete on app_public.videos to authenticated;
grant insert (title, filename, object_key, subtitle_key, byte_size, content_type) on app_public.videos to authenticated;
-- NOTE: users may rename only; state, facts and progress belong to the pipeline.
grant update (title) on app_public.videos to authenticated;
grant select, update on app_public.videos to heimdex_worker;
-- NOTE: anon gets nothing at all.

create trigger _100_set_updated_at before update on app_public.videos
  for each row execute function app_private.tg__set_updated_at();

comment on table app_public.videos is 'A video uploaded by a user, and where its processing stands.';
comment on column app_public.videos.owner_id is 'The user (auth.uid()) who owns the video.';
comment on column app_public.videos.title is 'Display title.';
comment on column app_public.videos.filename is 'Original file name as uploaded.';
comment on column app_public.videos.object_key is 'Storage key of the video bytes, under the owner''s prefix u/<owner_id>/.';
comment on column app_public.videos.subtitle_key is 'Storage key of an optional sidecar .srt/.vtt uploaded with the video.';
comment on column app_public.videos.byte_size is 'Size of the uploaded object in bytes.';
comment on column app_public.videos.content_type is 'MIME type announced at upload.';
comment on column app_public.videos.state is 'uploaded -> validating -> processing -> indexed | failed.';
comment on column app_public.videos.stage is 'Pipeline stage currently running (fetch, validate, transcribe, scenes, ocr, embed, tags, write).';
comment on column app_public.videos.progress is 'Overall progress, 0..1.';
comment on column app_public.videos.error is 'Why processing failed, in words a user can act on.';
comment on column app_public.videos.duration_s is 'Duration in seconds (from validation).';
comment on column app_public.videos.width is 'Frame width in pixels.';
comment on column app_public.videos.height is 'Frame height in pixels.';
comment on column app_public.videos.fps is 'Frames per second.';
comment on column app_public.videos.video_codec is 'Codec of the video stream.';
comment on column app_public.videos.audio_codec is 'Codec of the first audio stream, if any.';
comment on column app_public.videos.has_audio is 'Whether the video has an audio stream.';
comment on column app_public.videos.language is 'Spoken language detected by speech recognition (or declared by subtitles).';
comment on column app_public.videos.transcript_source is 'Where the transcript came from: subtitles, asr or none.';
comment on column app_public.videos.asr_model is 'Speech model that produced the transcript.';
comment on column app_public.videos.text_model is 'Model that produced scenes.text_vec; search only compares vectors from the same model.';
comment on column app_public.videos.image_model is 'Model that produced scenes.image_vec and tags.';
comment on column app_public.videos.ocr_model is 'Model that read on-screen text.';
comment on column app_public.videos.missing_stages is 'Stages skipped because their model was absent; heimdex reindex --missing runs them later.';
comment on column app_public.videos.created_at is 'When the row was inserted.';
comment on column app_public.videos.updated_at is 'When the row last changed.';
comment on column app_public.videos.indexed_at is 'When processing last finished successfully.';

--! split: 5-scenes.sql
/*
 * Why: scenes are what search returns. owner_id is denormalised so RLS is a
 * plain indexed equality, and the composite foreign key (video_id, owner_id)
 * stops anyone attaching scenes to a video they do not own (foreign-key checks
 * bypass RLS, so the key itself must carry the owner). Only the worker writes.
 */
drop table if exists app_public.scenes cascade;
drop function if exists app_hidden.tag_text(jsonb);

-- The labels of a tags array as one string, for the generated tsvector.
create function app_hidden.tag_text(tags jsonb) returns text
language sql immutable strict parallel safe
set search_path = ''
as $$
  select coalesce(string_agg(t ->> 'label', ' '), '')
  from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(tags) = 'array' then tags else '[]'::jsonb end) t
$$;

create table app_public.scenes (
  id uuid primary key default gen_random_uuid(),
  video_id uuid not null,
  owner_id uuid not null,
  ordinal int not null check (ordinal >= 0),
  start_s double precision not null check (start_s >= 0),
  end_s double precision not null check (end_s > start_s),
  transcript text not null default '',
  ocr_text text not null default '',
  tags jsonb not null default '[]' check (jsonb_typeof(tags) = 'array'),
  -- 'simple' neither stems nor drops stop words, so Korean, Japanese and
  -- other non-English text is indexed as written instead of being mangled
  -- by the English stemmer.
  tsv tsvector generated always as (
    setweight(to_tsvector('simple'::regconfig, transcript), 'A')
    || setweight(to_tsvector('simple'::regconfig, ocr_text), 'B')
    || setweight(to_tsvector('simple'::regconfig, app_hidden.tag_text(tags)), 'C')
  ) stored,
  text_vec vector(1024),
  image_vec vector(1152),
  keyframe_key text,
  created_at timestamptz not null default now(),
  foreign key (video_id, owner_id) references app_public.videos (id, owner_id) on delete cascade,
  unique (video_id, ordinal)
);

alter table app_public.scenes enable row level security;

create index scenes_owner_id_video_id_start_s_idx on app_public.scenes (owner_id, video_id, start_s);
create index scenes_video_id_owner_id_idx on app_public.scenes (video_id, owner_id);
create index scenes_tsv_idx on app_public.scenes using gin (tsv);
create index scenes_text_vec_idx on app_public.scenes using hnsw (text_vec vector_cosine_ops);
create index scenes_image_vec_idx on app_public.scenes using hnsw (image_vec vector_cosine_ops);

create policy select_own on app_public.scenes for select to authenticated
  using (owner_id = (select auth.uid()));
create policy all_worker on app_public.scenes for all to heimdex_worker using (true) with check (true);

grant select on app_public.scenes to authenticated;
-- NOTE: no insert/update/delete for users; scenes are written by the pipeline only.
grant select, insert, update, delete on app_public.scenes to heimdex_worker;
grant execute on function app_hidden.tag_text(jsonb) to authenticated, heimdex_worker;

comment on table app_public.scenes is 'A contiguous shot of a video: the unit search returns as a moment.';
comment on column app_public.scenes.video_id is 'The video this scene belongs to.';
comment on column app_public.scenes.owner_id is 'Owner of the video (denormalised for row-level security).';
comment on column app_public.scenes.ordinal is 'Position of the scene in its video, from 0.';
comment on column app_public.scenes.start_s is 'Start time in seconds.';
comment on column app_public.scenes.end_s is 'End time in seconds.';
comment on column app_public.scenes.transcript is 'Speech (or subtitles) during the scene.';
comment on column app_public.scenes.ocr_text is 'Text read on screen in the scene''s keyframe.';
comment on column app_public.scenes.tags is 'Zero-shot labels for the keyframe: [{"label": text, "score": 0..1}], best first.';
comment on column app_public.scenes.tsv is 'Full-text index over transcript, on-screen text and tags (simple configuration).';
comment on column app_public.scenes.text_vec is 'Transcript embedding (1024-d, unit norm); NULL for silent scenes.';
comment on column app_public.scenes.image_vec is 'Keyframe embedding in the SigLIP space (1152-d, unit norm).';
comment on column app_public.scenes.keyframe_key is 'Storage key of the keyframe JPEG.';
comment on column app_public.scenes.created_at is 'When the pipeline wrote the scene.';

--! split: 6-pipeline.sql
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

--! split: 7-search.sql
/*
 * Why: search is one SQL function so that row-level security, the model
 * filters and the ranking live next to the data and are tested there. It
 * gathers candidates from each index (HNSW per vector space, GIN for words and
 * tags), scores every candidate on every modality on a common 0..1 scale and
 * fuses them with per-call weights. The GraphQL field searchScenes wraps it
 * (it embeds the query first), so the raw function is hidden from GraphQL.
 *
 * The calibration constants live in app_hidden.search_similarity() alone and
 * are explained in sql/README.md ("Search scoring").
 */
drop function if exists app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text);
drop type if exists app_public.scene_hit;
drop function if exists app_hidden.search_tag_score(jsonb, text[]);
drop function if exists app_hidden.search_text_match(tsvector, text[]);
drop function if exists app_hidden.search_tsquery(text[], text);
drop function if exists app_hidden.search_query_words(text);
drop function if exists app_hidden.search_similarity(text, double precision);
drop function if exists app_hidden.search_snippet(text, text, tsquery);
drop function if exists app_hidden.search_escape_html(text);

--! Included search_scenes.sql
-- Raw cosines of two different models are not comparable (BGE-M3 relevant
-- pairs sit around 0.5-0.8, SigLIP text-image pairs around 0.05-0.2), so each
-- space maps its cosine linearly from [lo, hi] onto [0, 1] and clamps. These
-- are the only calibration constants; change them here and in sql/README.md.
-- No SET clause, so the planner inlines it into the search query.
create function app_hidden.search_similarity(space text, cosine double precision) returns double precision
language sql immutable parallel safe
as $$
  select case
    when cosine is null or cosine <> cosine then 0::float8
    -- BGE-M3 (text_vec): unrelated sentences ~0.35, close paraphrases ~0.75.
    when space = 'text' then greatest(0, least(1, (cosine - 0.35) / (0.75 - 0.35)))
    -- SigLIP text->image (image_vec): the model's own sigmoid reaches 0.5 near
    -- cosine 0.11; unrelated pairs sit near 0, strong matches near 0.2.
    when space = 'vision' then greatest(0, least(1, (cosine - 0.05) / (0.20 - 0.05)))
    else 0::float8
  end
$$;

-- The query's words as the 'simple' parser sees them (lower-cased, split on
-- punctuation), at most 32 so a pasted paragraph cannot blow up the plan.
create function app_hidden.search_query_words(query text) returns text[]
language sql immutable parallel safe
set search_path = ''
as $$
  select coalesce((pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, coalesce(query, ''))))[1:32], '{}')
$$;

-- OR of the words, each a prefix match (so a Korean noun finds the word with
-- its particle attached: 고양이 matches 고양이가) except one-character words,
-- which would match half the dictionary. weights restricts the tsvector
-- sections: 'AB' = transcript and on-screen text, 'C' = tags, '' = any.
create function app_hidden.search_tsquery(words text[], weights text) returns tsquery
language sql immutable parallel safe
set search_path = ''
as $$
  select case when coalesce(cardinality(words), 0) = 0 then null else
    pg_catalog.array_to_string(array(
      select '''' || replace(replace(w, '\', '\\'), '''', '''''') || ''''
             || case when char_length(w) > 1 or weights <> '' then ':' else '' end
             || case when char_length(w) > 1 then '*' else '' end
             || weights
      from unnest(words) w
    ), ' | ')::tsquery
  end
$$;

-- Tag strength in 0..1: the best label's score times the share of that
-- label's words the query mentions ("dog" fully matches label "dog", half
-- matches "hot dog"). Malformed entries count as no match, never an error.
create function app_hidden.search_tag_score(tags jsonb, words text[]) returns double precision
language sql immutable parallel safe
set search_path = ''
as $$
  select coalesce(max(
    greatest(0, least(1, (t ->> 'score')::float8))
    * (select count(*) filter (where exists (select from unnest(words) w where starts_with(lw, w) and (char_length(w) > 1 or lw = w)))::float8
              / nullif(count(*), 0)
       from unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, t ->> 'label'))) lw)
  ), 0)
  from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(tags) = 'array' then tags else '[]'::jsonb end) t
  where coalesce(cardinality(words), 0) > 0
    and pg_catalog.jsonb_typeof(t) = 'object'
    and pg_catalog.jsonb_typeof(t -> 'score') = 'number'
    and pg_catalog.jsonb_typeof(t -> 'label') = 'string'
$$;

-- Snippets are shown as HTML with <b> highlights; everything else in the
-- transcript must arrive as text, never as markup.
create function app_hidden.search_escape_html(t text) returns text
language sql immutable parallel safe
as $$
  select pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;

-- A short excerpt: the transcript around the matches, or the on-screen text
-- when only it matches; the opening words when nothing matches (a scene found
-- by its picture).
create function app_hidden.search_snippet(transcript text, ocr_text text, q tsquery) returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select case
    when coalesce(src, '') = '' then null
    when q is null or not pg_catalog.to_tsvector('simple'::regconfig, src) @@ q then
      app_hidden.search_escape_html(pg_catalog.array_to_string((pg_catalog.regexp_split_to_array(pg_catalog.btrim(src), '\s+'))[1:16], ' '))
    else pg_catalog.ts_headline('simple'::regconfig, app_hidden.search_escape_html(src), q,
           'StartSel=<b>, StopSel=</b>, MaxWords=24, MinWords=8, ShortWord=1, MaxFragments=2, FragmentDelimiter=" … "')
  end
  from (select case
          when coalesce(transcript, '') <> ''
               and (q is null or coalesce(ocr_text, '') = ''
                    or pg_catalog.to_tsvector('simple'::regconfig, transcript) @@ q
                    or not pg_catalog.to_tsvector('simple'::regconfig, ocr_text) @@ q)
            then transcript
          else ocr_text
        end as src) s
$$;

create type app_public.scene_hit as (
  scene_id uuid,
  video_id uuid,
  start_s double precision,
  end_s double precision,
  score double precision,
  text_score double precision,
  vision_score double precision,
  tags_score double precision,
  snippet text
);

/*
 * Stable and security invoker: row-level security applies, and the owner
 * filter is repeated so the planner can use it inside every index scan.
 * Small scopes (<= exact_below scenes) compare vectors exactly. Above that,
 * relaxed_order lets the HNSW scan keep going past ef_search until LIMIT rows
 * survive the owner/video filters, instead of returning the few of the first
 * ef_search neighbours that happen to be the caller's; exact order inside the
 * candidate list does not matter because every candidate is re-scored
 * exactly below. max_scan_tuples bounds that walk; scan_mem_multiplier lets
 * it hold that many candidates.
 */
create function app_public.search_scenes(
  query text,
  text_embedding real[] default null,
  image_embedding real[] default null,
  video_ids uuid[] default null,
  person_id uuid default null,
  w_text real default 0.5,
  w_vision real default 0.35,
  w_tags real default 0.15,
  page_size int default 20,
  page_offset int default 0,
  text_model text default null,
  image_model text default null
) returns setof app_public.scene_hit
language plpgsql stable security invoker
set search_path = pg_catalog, public, extensions
set hnsw.iterative_scan = relaxed_order
set hnsw.ef_search = 200
set hnsw.max_scan_tuples = 200000
set hnsw.scan_mem_multiplier = 4
set enable_sort = on
as $$
#variable_conflict use_column
declare
  -- Candidates per source. Constant, so the ranked pool (and therefore every
  -- page) does not depend on page_size/page_offset.
  pool constant int := 200;
  -- Up to this many scenes in scope, vectors are compared exactly instead
  -- of through HNSW: it costs a few milliseconds, and unlike a graph walk it
  -- cannot miss a scene the graph happens not to reach. That matters most
  -- to a user with few scenes among many users' (and to narrow video_ids).
  exact_below constant int := 2000;
  exact boolean;
  text_ids uuid[];
  image_ids uuid[];
  uid uuid := (select auth.uid());
  words text[] := app_hidden.search_query_words(search_scenes.query);
  tsq_text tsquery;
  tsq_tags tsquery;
  tsq_plain tsquery;
  word_queries tsquery[];
  tsq_all tsquery;
  word_ids uuid[];
  qv_text vector;
  qv_image vector;
  text_videos uuid[];
  image_videos uuid[];
  -- Through numeric so 0.35::real counts as 0.35, not 0.3499999940395355.
  wt float8 := w_text::numeric::float8;
  wv float8 := w_vision::numeric::float8;
  wg float8 := w_tags::numeric::float8;
begin
  if search_scenes.person_id is not null then
    raise exception 'person search is not available yet' using errcode = '0A000';
  end if;
  if page_size is null or page_size < 1 or page_size > 100 then
    raise exception 'page_size must be between 1 and 100 (got %)', page_size using errcode = '22023';
  end if;
  if page_offset is null or page_offset < 0 then
    raise exception 'page_offset must be 0 or more (got %)', page_offset using errcode = '22023';
  end if;
  if w_text is null or w_vision is null or w_tags is null or w_text < 0 or w_vision < 0 or w_tags < 0
     or w_text + w_vision + w_tags <= 0 then
    raise exception 'weights must be non-negative and not all zero (got text %, vision %, tags %)', w_text, w_vision, w_tags
      using errcode = '22023';
  end if;
  if text_embedding is not null then
    if array_ndims(text_embedding) is distinct from 1 or cardinality(text_embedding) <> 1024 then
      raise exception 'text_embedding must have 1024 numbers (got %)', cardinality(text_embedding) using errcode = '22023';
    end if;
    qv_text := text_embedding::vector(1024);
    if vector_norm(qv_text) = 0 then
      raise exception 'text_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if image_embedding is not null then
    if array_ndims(image_embedding) is distinct from 1 or cardinality(image_embedding) <> 1152 then
      raise exception 'image_embedding must have 1152 numbers (got %)', cardinality(image_embedding) using errcode = '22023';
    end if;
    qv_image := image_embedding::vector(1152);
    if vector_norm(qv_image) = 0 then
      raise exception 'image_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if uid is null then
    return;
  end if;

  tsq_text := app_hidden.search_tsquery(words, 'AB');
  tsq_tags := app_hidden.search_tsquery(words, 'C');
  tsq_plain := app_hidden.search_tsquery(words, '');
  word_queries := array(select app_hidden.search_tsquery(array[w], 'AB') from unnest(words) w);
  tsq_all := (select string_agg(q::text, ' & ') from unnest(word_queries) q)::tsquery;

  -- Which videos' vectors may be compared with this query: those in
  -- video_ids and made by the requested model. NULL means "all of mine",
  -- which keeps the HNSW filter trivial in the common one-model case.
  if video_ids is not null or (search_scenes.text_model is not null and exists (
       select from app_public.videos v where v.owner_id = uid and v.text_model is distinct from search_scenes.text_model)) then
    text_videos := array(select v.id from app_public.videos v
                         where v.owner_id = uid
                           and (video_ids is null or v.id = any(video_ids))
                           and (search_scenes.text_model is null or v.text_model = search_scenes.text_model));
  end if;
  if video_ids is not null or (search_scenes.image_model is not null and exists (
       select from app_public.videos v where v.owner_id = uid and v.image_model is distinct from search_scenes.image_model)) then
    image_videos := array(select v.id from app_public.videos v
                          where v.owner_id = uid
                            and (video_ids is null or v.id = any(video_ids))
                            and (search_scenes.image_model is null or v.image_model = search_scenes.image_model));
  end if;

  exact := (select count(*) from (
              select from app_public.scenes s
              where s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids))
              limit exact_below + 1) scope) <= exact_below;

  -- Vector candidates are fetched before the main query so that only these
  -- two statements run with sorting disabled: the planner does not count
  -- de-TOASTing and comparing 1024 floats per row, so for a user with
  -- tens of thousands of scenes it would otherwise pick "scan them all and
  -- sort" (~7 us a row) over the HNSW walk. The function's own SET clause
  -- restores enable_sort when it returns.
  if exact then
    -- "+ 0" keeps these exact scans off the HNSW index.
    text_ids := array(
      select s.id from app_public.scenes s
      where qv_text is not null and s.owner_id = uid and s.text_vec is not null
        and (text_videos is null or s.video_id = any(text_videos))
      order by (s.text_vec <=> qv_text) + 0, s.id
      limit pool);
    image_ids := array(
      select s.id from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
      order by (s.image_vec <=> qv_image) + 0, s.id
      limit pool);
  else
    perform set_config('enable_sort', 'off', true);
    text_ids := array(
      select s.id from app_public.scenes s
      where qv_text is not null and s.owner_id = uid and s.text_vec is not null
        and (text_videos is null or s.video_id = any(text_videos))
      order by s.text_vec <=> qv_text
      limit pool);
    image_ids := array(
      select s.id from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
      order by s.image_vec <=> qv_image
      limit pool);
    perform set_config('enable_sort', 'on', true);
  end if;

  -- Word candidates: scenes with every query word first, and only when
  -- there are too few of those, any word. Ranking every scene that merely
  -- contains "the" is what makes word search slow for users with many scenes.
  if tsq_text is not null then
    word_ids := array(
      select s.id from app_public.scenes s
      where s.owner_id = uid and s.tsv @@ tsq_all
        and (video_ids is null or s.video_id = any(video_ids))
      order by ts_rank_cd(s.tsv, tsq_text) desc, s.id
      limit pool);
    if cardinality(word_ids) < pool and cardinality(words) > 1 then
      word_ids := array(
        select s.id from app_public.scenes s
        where s.owner_id = uid and s.tsv @@ tsq_text
          and (video_ids is null or s.video_id = any(video_ids))
        order by ts_rank_cd(s.tsv, tsq_text) desc, s.id
        limit pool);
    end if;
  end if;

  return query
  with
  tag_hits as (
    select s.id from app_public.scenes s
    where tsq_tags is not null and s.owner_id = uid and s.tsv @@ tsq_tags
      and (video_ids is null or s.video_id = any(video_ids))
    order by ts_rank_cd(s.tsv, tsq_tags) desc, s.id
    limit pool
  ),
  candidates as (
    select unnest(text_ids) as id
    union select unnest(image_ids)
    union select unnest(word_ids)
    union select id from tag_hits
  ),
  components as (
    select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text,
           case when qv_text is not null and (text_videos is null or s.video_id = any(text_videos))
                then app_hidden.search_similarity('text', 1 - (s.text_vec <=> qv_text)) else 0 end as dense,
           -- Full-text strength in 0..1: half the share of query words present
           -- in the transcript/on-screen text, half cover density
           -- (ts_rank_cd normalised to r/(r+1)), so matching every word beats
           -- repeating one. The @@ guards skip the work for vector-only hits.
           case when tsq_text is not null and s.tsv @@ tsq_text
                then 0.5 * (select count(*) from unnest(word_queries) wq where s.tsv @@ wq)::float8 / cardinality(word_queries)
                     + 0.5 * ts_rank_cd(s.tsv, tsq_text, 32)::float8
                else 0 end as words_score,
           case when qv_image is not null and (image_videos is null or s.video_id = any(image_videos))
                then app_hidden.search_similarity('vision', 1 - (s.image_vec <=> qv_image)) else 0 end as vision,
           case when tsq_tags is not null and s.tsv @@ tsq_tags
                then app_hidden.search_tag_score(s.tags, words) else 0 end as tags
    from candidates c
    join app_public.scenes s on s.id = c.id
    where s.owner_id = uid
  ),
  scored as (
    -- Dense and full-text evidence combine as a noisy OR: either alone can
    -- carry a scene, both together rank it higher, and a missing one (a silent
    -- scene, no text model) simply contributes nothing.
    select c.*, (c.dense + c.words_score - c.dense * c.words_score) as text_score
    from components c
  ),
  page as (
    select s.*, wt * s.text_score + wv * s.vision + wg * s.tags as score
    from scored s
    where wt * s.text_score + wv * s.vision + wg * s.tags > 0
    order by score desc, s.id
    limit page_size offset page_offset
  )
  select p.id, p.video_id, p.start_s, p.end_s, p.score, p.text_score, p.vision::float8, p.tags::float8,
         app_hidden.search_snippet(p.transcript, p.ocr_text, tsq_plain)
  from page p
  order by p.score desc, p.id;
end;
$$;

revoke all on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) from public;
grant execute on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) to authenticated;
grant execute on function
  app_hidden.search_similarity(text, double precision),
  app_hidden.search_query_words(text),
  app_hidden.search_tsquery(text[], text),
  app_hidden.search_tag_score(jsonb, text[]),
  app_hidden.search_escape_html(text),
  app_hidden.search_snippet(text, text, tsquery)
  to authenticated;

comment on type app_public.scene_hit is E'@behavior -*\nOne ranked search result: a scene, its fused score and each modality''s 0..1 component.';
comment on column app_public.scene_hit.score is 'w_text*text_score + w_vision*vision_score + w_tags*tags_score.';
comment on column app_public.scene_hit.text_score is 'Calibrated transcript/on-screen text match, 0..1 (dense similarity OR-ed with full-text).';
comment on column app_public.scene_hit.vision_score is 'Calibrated keyframe-to-query similarity, 0..1.';
comment on column app_public.scene_hit.tags_score is 'How well the query names the scene''s tags, 0..1.';
comment on column app_public.scene_hit.snippet is 'Short excerpt of the transcript (or on-screen text) with matches in <b>..</b>; the text itself is HTML-escaped.';
comment on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) is E'@behavior -queryField -mutationField -typeField\nRanks the caller''s scenes for a query. score = w_text*text + w_vision*vision + w_tags*tags, each component on 0..1: text = noisy OR of calibrated dense similarity (BGE-M3 cosine mapped linearly from [0.35, 0.75]) and full-text match (share of query words found plus ts_rank_cd/(1+ts_rank_cd), halved); vision = SigLIP cosine of image_vec and image_embedding mapped from [0.05, 0.20]; tags = best label score times the share of its words the query names. Missing modalities score 0 and never exclude a scene. text_model/image_model restrict vector comparisons to videos embedded by that model. Candidates: 200 per source (text HNSW, image HNSW, words, tags; vectors compared exactly when the caller has at most 2000 scenes in scope); pages of page_size (1..100) from page_offset over that fixed pool, ties by scene id.';
--! EndIncluded search_scenes.sql

--! split: 8-pipeline-steps.sql
/*
 * Why: the pipeline's state machine lives in SQL, where it runs in one
 * transaction with the job it enqueues and can be tested directly. Each
 * worker task does one side effect (probe, index, re-embed) and then calls
 * exactly one of these step functions, which records the result, advances
 * videos.state/stage/progress and adds the next job with a job key, so a
 * crash between two steps can neither lose the next job nor queue it twice.
 * The function bodies are in fixtures/pipeline_steps.sql.
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
drop table if exists app_private.video_transcripts;

-- The transcript between videos__transcribe and videos__index. Speech
-- recognition is the longest stage, so it is a job of its own; its result
-- waits here, and a retried or repeated index job reuses it.
create table app_private.video_transcripts (
  video_id uuid primary key references app_public.videos (id) on delete cascade,
  source text not null check (source in ('subtitles', 'asr', 'none')),
  language text,
  model text,
  -- [{start, end, text}] in seconds.
  segments jsonb not null default '[]' check (jsonb_typeof(segments) = 'array'),
  -- True when speech was there but no speech model was.
  missing boolean not null default false,
  created_at timestamptz not null default now()
);
alter table app_private.video_transcripts enable row level security;
-- NOTE: no policies and no grants: only the owner (the worker's connection) reads it.

comment on table app_private.video_transcripts is 'Transcript handed from videos__transcribe to videos__index.';
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

-- facts: {duration_s, width, height, fps, video_codec, audio_codec, has_audio}
create function app_private.pipeline_validated(video_id uuid, facts jsonb)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update app_public.videos v
     set duration_s = (facts ->> 'duration_s')::float8,
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

--! split: 9-auth.sql
/*
 * Why: AUTH_PROVIDER=local keeps users in this database, so a self-hosted
 * install needs no external identity service. Passwords are bcrypt (pgcrypto),
 * refresh tokens are stored only as sha256 hashes and rotate on every use;
 * presenting a rotated token again means it was stolen (or replayed), so the
 * whole session family is revoked. Only the API server's owner connection
 * calls these functions: nothing here is reachable through GraphQL.
 */
drop function if exists app_private.auth_signup(text, text);
drop function if exists app_private.auth_login(text, text);
drop function if exists app_private.auth_create_session(uuid, text, int);
drop function if exists app_private.auth_refresh(text, text, int);
drop function if exists app_private.auth_logout_token(text);
drop function if exists app_private.auth_logout_session(uuid);
drop function if exists app_private.auth_session_active(uuid);
drop table if exists app_private.refresh_tokens;
drop table if exists app_private.sessions;
drop table if exists app_private.users;

create table app_private.users (
  id uuid primary key default gen_random_uuid(),
  email text not null check (email ~ '^[^@\s]+@[^@\s]+$' and char_length(email) <= 320),
  password_hash text not null,
  created_at timestamptz not null default now(),
  last_login_at timestamptz
);
-- Emails are unique regardless of case: Alice@x and alice@x are one account.
create unique index users_email_key on app_private.users (lower(email));

create table app_private.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references app_private.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  refreshed_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_reason text
);
create index sessions_user_id_idx on app_private.sessions (user_id);

create table app_private.refresh_tokens (
  -- sha256 hex of the token: a database dump does not hand out sessions.
  token_hash text primary key check (token_hash ~ '^[0-9a-f]{64}$'),
  session_id uuid not null references app_private.sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  rotated_at timestamptz
);
create index refresh_tokens_session_id_idx on app_private.refresh_tokens (session_id);

alter table app_private.users enable row level security;
alter table app_private.sessions enable row level security;
alter table app_private.refresh_tokens enable row level security;
-- NOTE: no policies and no grants: only the owner (the API server's
-- bookkeeping connection) touches these tables, through the functions below.

--! Included auth.sql
-- The functions are security definer with an empty search_path, so a
-- caller's search_path cannot redirect crypt() or the tables.

-- Creates a user; null when the email is already registered.
create function app_private.auth_signup(email text, password text)
returns app_private.users
language plpgsql volatile security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  u app_private.users;
begin
  if password is null or char_length(password) < 8 then
    raise exception 'password must be at least 8 characters' using errcode = '22023';
  end if;
  insert into app_private.users (email, password_hash)
    values (pg_catalog.btrim(auth_signup.email), public.crypt(password, public.gen_salt('bf', 10)))
    on conflict ((lower(email))) do nothing
    returning * into u;
  return u;
end;
$$;

-- The user when email and password match, else null. An unknown email still
-- pays for one bcrypt comparison, so timing does not reveal which emails exist.
create function app_private.auth_login(email text, password text)
returns app_private.users
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  u app_private.users;
begin
  select * into u from app_private.users where lower(users.email) = lower(pg_catalog.btrim(auth_login.email));
  if u.id is null then
    perform public.crypt(coalesce(password, ''), '$2a$10$CwTycUXWue0Thq9StjUM0uJ8.Yf3Fh5xoJ7/jEZZRZ3g6H0yk6Cfq');
    return null;
  end if;
  if u.password_hash <> public.crypt(coalesce(password, ''), u.password_hash) then
    return null;
  end if;
  update app_private.users set last_login_at = now() where id = u.id;
  return u;
end;
$$;

-- Opens a session with its first refresh token (already hashed by the caller).
create function app_private.auth_create_session(user_id uuid, token_hash text, ttl_s int)
returns uuid
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  sid uuid;
begin
  insert into app_private.sessions (user_id) values (auth_create_session.user_id) returning id into sid;
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
    values (auth_create_session.token_hash, sid, now() + make_interval(secs => ttl_s));
  return sid;
end;
$$;

-- Swaps a refresh token for a new one in the same session. Returns no row
-- when the token is unknown, expired or its session revoked. A token that
-- was already rotated is a replay: the whole session is revoked (and that
-- revocation commits, because this function returns instead of raising).
create function app_private.auth_refresh(old_hash text, new_hash text, ttl_s int)
returns table (user_id uuid, email text, session_id uuid)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  t app_private.refresh_tokens;
  s app_private.sessions;
begin
  select * into t from app_private.refresh_tokens where token_hash = old_hash for update;
  if t.token_hash is null then
    return;
  end if;
  select * into s from app_private.sessions where id = t.session_id for update;
  if s.revoked_at is not null then
    return;
  end if;
  if t.rotated_at is not null then
    update app_private.sessions set revoked_at = now(), revoked_reason = 'refresh token reused'
      where id = s.id;
    return;
  end if;
  if t.expires_at <= now() then
    return;
  end if;
  update app_private.refresh_tokens set rotated_at = now() where token_hash = old_hash;
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
    values (new_hash, s.id, now() + make_interval(secs => ttl_s));
  update app_private.sessions set refreshed_at = now() where id = s.id;
  return query select u.id, u.email, s.id from app_private.users u where u.id = s.user_id;
end;
$$;

-- Logout by refresh token: true when a live session was ended.
create function app_private.auth_logout_token(token_hash text)
returns boolean
language sql volatile security definer
set search_path = ''
as $$
  with t as (select session_id from app_private.refresh_tokens r where r.token_hash = auth_logout_token.token_hash)
  update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
    from t where s.id = t.session_id and s.revoked_at is null
  returning true
$$;

-- Logout by access token (its session_id claim).
create function app_private.auth_logout_session(session_id uuid)
returns boolean
language sql volatile security definer
set search_path = ''
as $$
  update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
    where s.id = auth_logout_session.session_id and s.revoked_at is null
  returning true
$$;

create function app_private.auth_session_active(session_id uuid)
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (select from app_private.sessions s where s.id = auth_session_active.session_id and s.revoked_at is null)
$$;

revoke all on function app_private.auth_signup(text, text), app_private.auth_login(text, text),
  app_private.auth_create_session(uuid, text, int), app_private.auth_refresh(text, text, int),
  app_private.auth_logout_token(text), app_private.auth_logout_session(uuid),
  app_private.auth_session_active(uuid) from public;
--! EndIncluded auth.sql

--! split: 10-uploads.sql
/*
 * Why: createVideo checks an uploaded object and then inserts its row; two
 * concurrent calls for the same key would both pass the check. One object is
 * one video, so the database refuses the second row and the API turns the
 * unique violation into a CONFLICT error.
 */
drop index if exists app_public.videos_object_key_key;

create unique index videos_object_key_key on app_public.videos (object_key);
