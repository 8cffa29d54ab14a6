--! Previous: sha1:0192f9f4fc8f7f321686911c732320701978061d
--! Hash: sha1:7b949959617d10440c34b224248383a46ec84df7
--! Message: A person's filtered vector walks start from 40 candidates instead of 100

--! split: 900-functions.sql
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

-- Swaps a refresh token for a new one in the same session. Returns one row:
-- the user and session, or (on failure) only `error`, GoTrue's error code.
-- A token that was already rotated is a replay, with Supabase Auth's grace
-- (GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL): within reuse_s seconds of
-- its rotation it is swapped again, because two tabs or requests refreshing
-- with the same token at once are the page's normal life, not theft; later,
-- the whole session family is revoked (and that revocation commits, because
-- this function returns instead of raising). The row lock makes concurrent
-- refreshes of one token take turns, so the second sees the first's rotation.
create function app_private.auth_refresh(old_hash text, new_hash text, ttl_s int, reuse_s int)
returns table (user_id uuid, email text, session_id uuid, error text)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  t app_private.refresh_tokens;
  s app_private.sessions;
begin
  select * into t from app_private.refresh_tokens where token_hash = old_hash for update;
  if t.token_hash is null then
    return query select null::uuid, null::text, null::uuid, 'refresh_token_not_found';
    return;
  end if;
  select * into s from app_private.sessions where id = t.session_id for update;
  if s.revoked_at is not null then
    return query select null::uuid, null::text, null::uuid, 'refresh_token_not_found';
    return;
  end if;
  if t.rotated_at is not null and t.rotated_at + make_interval(secs => greatest(reuse_s, 0)) <= now() then
    update app_private.sessions set revoked_at = now(), revoked_reason = 'refresh token reused'
      where id = s.id;
    return query select null::uuid, null::text, null::uuid, 'refresh_token_already_used';
    return;
  end if;
  if t.expires_at <= now() then
    return query select null::uuid, null::text, null::uuid, 'refresh_token_not_found';
    return;
  end if;
  -- Within the grace the first rotation time stands: replays cannot extend it.
  update app_private.refresh_tokens set rotated_at = now() where token_hash = old_hash and rotated_at is null;
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
    values (new_hash, s.id, now() + make_interval(secs => ttl_s));
  update app_private.sessions set refreshed_at = now() where id = s.id;
  return query select u.id, u.email, s.id, null::text from app_private.users u where u.id = s.user_id;
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

-- The user behind a live session, for Supabase's GET /auth/v1/user: a signed-out
-- (revoked) session yields no row even while its access token is unexpired.
create function app_private.auth_session_user(user_id uuid, session_id uuid)
returns table (id uuid, email text, created_at timestamptz, last_login_at timestamptz)
language sql stable security definer
set search_path = ''
as $$
  select u.id, u.email, u.created_at, u.last_login_at
    from app_private.users u
    join app_private.sessions s on s.user_id = u.id
   where u.id = auth_session_user.user_id and s.id = auth_session_user.session_id and s.revoked_at is null
$$;

-- Supabase's logout scopes "global" (every session of the user) and "others"
-- (all but keep_session); returns how many sessions were ended.
create function app_private.auth_logout_user(user_id uuid, keep_session uuid)
returns int
language sql volatile security definer
set search_path = ''
as $$
  with ended as (
    update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
     where s.user_id = auth_logout_user.user_id and s.revoked_at is null
       and s.id is distinct from auth_logout_user.keep_session
    returning 1)
  select count(*)::int from ended
$$;

revoke all on function app_private.auth_signup(text, text), app_private.auth_login(text, text),
  app_private.auth_create_session(uuid, text, int), app_private.auth_refresh(text, text, int, int),
  app_private.auth_logout_token(text), app_private.auth_logout_session(uuid),
  app_private.auth_session_active(uuid), app_private.auth_session_user(uuid, uuid),
  app_private.auth_logout_user(uuid, uuid) from public;
--! EndIncluded auth.sql
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

-- Every pipeline job is queued through here, so the retry policy is stated
-- once: 8 attempts back off exponentially (graphile-worker waits e^attempt
-- seconds), about half an hour in all, so a storage or network outage of
-- that length is ridden out, and a failure caused by the file itself is
-- recorded at once by the worker instead of being retried at all.
-- priority_offset puts work that can wait (a playback copy) behind the
-- indexing of the next few videos, which is what makes them searchable.
create function app_private.add_pipeline_job(task text, payload json, job_key text default null,
                                             queue_name text default null, job_key_mode text default 'replace',
                                             priority_offset integer default 0)
returns void
language plpgsql volatile
set search_path = ''
as $$
begin
  -- priority: fairness between users (job_priority, committed migration 000005).
  perform graphile_worker.add_job(task, payload, queue_name := queue_name, job_key := job_key,
                                  job_key_mode := job_key_mode, max_attempts := 8,
                                  priority := app_private.job_priority(payload) + priority_offset);
end;
$$;

-- Where each stage sits on a video's 0..1 progress bar. The worker only
-- says which stage it is in and how far (0..1); the scale lives here, once.
create function app_private.pipeline_stage_progress(stage text, done real) returns real
language sql immutable parallel safe
set search_path = ''
as $$
  select (b.lo + (b.hi - b.lo) * least(greatest(coalesce(done, 0), 0), 1))::real
    from (values ('validate', 0.0, 0.1), ('transcribe', 0.1, 0.35), ('cut', 0.35, 0.45), ('keyframes', 0.45, 0.55),
                 ('embed_text', 0.55, 0.62), ('embed_image', 0.62, 0.72), ('tags', 0.72, 0.78),
                 ('ocr', 0.78, 0.9), ('faces', 0.9, 0.98)) as b(name, lo, hi)
   where b.name = stage
$$;

-- lo..hi: the share of the video (0..1) the calling chunk job covers (see
-- app_private.video_chunks). Within the transcribe phase and within the
-- index phase the bar then moves through the chunks in turn, so a long
-- video's bar moves steadily instead of sweeping each phase once per chunk.
-- A job that covers the whole video passes 0..1 (the defaults).
create function app_private.pipeline_progress(video_id uuid, stage text, done real, lo real default 0, hi real default 1)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_state text := case when stage = 'validate' then 'validating' else 'processing' end;
  v_progress real := app_private.pipeline_stage_progress(stage, done);
  -- The phase this stage belongs to: validate, transcribe, or index (cut..faces).
  v_lo real := case stage when 'validate' then 0 when 'transcribe' then app_private.pipeline_stage_progress('transcribe', 0)
                 else app_private.pipeline_stage_progress('cut', 0) end;
  v_hi real := case stage when 'validate' then app_private.pipeline_stage_progress('validate', 1)
                 when 'transcribe' then app_private.pipeline_stage_progress('transcribe', 1)
                 else app_private.pipeline_stage_progress('faces', 1) end;
begin
  if v_progress is null then
    raise exception 'unknown pipeline stage %', stage using errcode = '22023';
  end if;
  if not (lo >= 0 and hi <= 1 and lo <= hi) then
    raise exception 'pipeline_progress needs 0 <= lo <= hi <= 1, got % and %', lo, hi using errcode = '22023';
  end if;
  v_progress := v_lo + (v_hi - v_lo) * (lo + (hi - lo) * (v_progress - v_lo) / (v_hi - v_lo));
  -- greatest(): a retried job re-announcing an early stage must not make
  -- the progress bar jump backwards within the same state.
  update app_public.videos v
     set state = v_state,
         stage = pipeline_progress.stage,
         progress = case when v.state = v_state then greatest(v.progress, v_progress) else v_progress end,
         error = null
   where v.id = video_id;
  return found;
end;
$$;

-- A re-index works on an indexed video, which stays indexed and searchable:
-- only the stage (prefixed "reindex:") and the bar move.
create function app_private.pipeline_reindex_progress(video_id uuid, stage text, done real)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_progress real := app_private.pipeline_stage_progress(stage, done);
begin
  if v_progress is null then
    raise exception 'unknown pipeline stage %', stage using errcode = '22023';
  end if;
  update app_public.videos v
     set stage = 'reindex:' || pipeline_reindex_progress.stage, progress = v_progress
   where v.id = video_id and v.state = 'indexed';
  return found;
end;
$$;

create function app_private.pipeline_fail(video_id uuid, error text)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_copying boolean;
begin
  if error is null or error = '' then
    raise exception 'pipeline_fail needs a reason' using errcode = '22023';
  end if;
  -- A failed video is not played: a copy on its way is called off (its
  -- jobs find it no longer pending), so a broken file of hours does not
  -- keep a worker encoding. Processing it again starts a new copy.
  select v.owner_id, coalesce(v.playback_state = 'pending', false) into v_owner, v_copying
    from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  update app_public.videos v
     set state = 'failed', error = pipeline_fail.error,
         playback_state = case when v_copying then null else v.playback_state end
   where v.id = video_id;
  if v_copying then
    perform app_private.playback_forget_parts(video_id, v_owner, null);
  end if;
  return true;
end;
$$;

-- facts: {byte_size, duration_s, width, height, fps, video_codec, audio_codec, has_audio,
--         content_sha256, subtitle_sha256,
--         playback: {plan: original|remux|transcode, parts, part_s}}
create function app_private.pipeline_validated(video_id uuid, facts jsonb)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_old app_public.videos;
  v_plan text := coalesce(facts -> 'playback' ->> 'plan', 'original');
  v_keep boolean;
begin
  select * into v_old from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  -- A reprocessed video keeps a finished copy of the same bytes.
  v_keep := v_plan <> 'original' and v_old.playback_state is not distinct from 'ready'
            and v_old.content_sha256 is not distinct from facts ->> 'content_sha256';
  update app_public.videos v
     -- The size of the object the worker fetched, not what the client
     -- announced: storage accounting must not trust an insert.
     set byte_size = coalesce((facts ->> 'byte_size')::bigint, v.byte_size),
         duration_s = (facts ->> 'duration_s')::float8,
         width = (facts ->> 'width')::int,
         height = (facts ->> 'height')::int,
         fps = (facts ->> 'fps')::float8,
         video_codec = facts ->> 'video_codec',
         audio_codec = facts ->> 'audio_codec',
         has_audio = (facts ->> 'has_audio')::boolean,
         -- Pinned: every later stage refuses other bytes under these keys.
         content_sha256 = facts ->> 'content_sha256',
         subtitle_sha256 = facts ->> 'subtitle_sha256',
         notes = '{}',
         state = 'processing', stage = 'transcribe',
         progress = app_private.pipeline_stage_progress('transcribe', 0), error = null,
         playback_state = case when v_plan = 'original' then 'original' when v_keep then 'ready' else 'pending' end,
         playback_key = case when v_keep then v.playback_key end,
         playback_bytes = case when v_keep then v.playback_bytes end
   where v.id = video_id;
  -- A fresh run (a reprocessed video): chunks of an earlier run are not ours.
  -- Keys they stored are left to the orphan sweep, or reused under the same names.
  delete from app_private.video_chunks c where c.video_id = pipeline_validated.video_id;
  perform app_private.add_pipeline_job('videos__transcribe', json_build_object('id', video_id),
    'videos__transcribe:' || video_id::text);
  if v_old.playback_key is not null and not v_keep then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', v_old.owner_id, 'keys', array[v_old.playback_key]));
  end if;
  if v_plan <> 'original' and not v_keep then
    delete from app_private.playback_parts p where p.video_id = pipeline_validated.video_id;
    perform app_private.playback_queue(video_id, v_plan, (facts -> 'playback' ->> 'parts')::int,
                                       (facts -> 'playback' ->> 'part_s')::float8);
  end if;
  return true;
end;
$$;

-- playback: {plan: original|remux|transcode, parts, part_s}, as validation
-- decides it, for an indexed video that has no plan: one validated before
-- playback copies existed (migration 000022 queues videos__playback_plan
-- for each; pipeline_indexed for one indexed since). Its copy's jobs are
-- queued as validation would have. False when the video is gone, not
-- indexed, or has a plan by now.
create function app_private.pipeline_playback_planned(video_id uuid, playback jsonb)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_plan text := playback ->> 'plan';
begin
  if v_plan is null or v_plan not in ('original', 'remux', 'transcode') then
    raise exception 'unknown playback plan %', v_plan using errcode = '22023';
  end if;
  update app_public.videos v
     set playback_state = case when v_plan = 'original' then 'original' else 'pending' end
   where v.id = video_id and v.playback_state is null and v.state = 'indexed';
  if not found then
    return false;
  end if;
  if v_plan <> 'original' then
    delete from app_private.playback_parts p where p.video_id = pipeline_playback_planned.video_id;
    perform app_private.playback_queue(video_id, v_plan, (playback ->> 'parts')::int, (playback ->> 'part_s')::float8);
  end if;
  return true;
end;
$$;

-- The jobs of a playback copy: one per part, whose last queues the join
-- (pipeline_playback_part_done), or the join alone for a repackaging. They
-- wait behind the indexing of the owner's next 10 videos.
create function app_private.playback_queue(video_id uuid, plan text, parts integer, part_s float8)
returns void
language plpgsql volatile
set search_path = ''
as $$
begin
  if plan = 'remux' then
    perform app_private.add_pipeline_job('videos__playback', json_build_object('id', video_id),
      'videos__playback:' || video_id::text, priority_offset := 10);
  elsif plan = 'transcode' then
    if not (parts between 1 and 100000 and part_s > 0) then
      raise exception 'a transcoded copy needs parts >= 1 and part_s > 0, got % and %', parts, part_s
        using errcode = '22023';
    end if;
    perform app_private.add_pipeline_job('videos__playback_part',
      json_build_object('id', video_id, 'part', n, 'parts', parts, 'part_s', part_s),
      'videos__playback_part:' || video_id::text || ':' || n::text, priority_offset := 10)
      from pg_catalog.generate_series(0, parts - 1) n;
  else
    raise exception 'unknown playback plan %', plan using errcode = '22023';
  end if;
end;
$$;

-- A part of a copy is stored under key. When it is the last of the parts
-- of this run (same part_s), the join is queued. False: the video is gone
-- or no longer waits for this copy, and the caller deletes what it stored.
create function app_private.pipeline_playback_part_done(video_id uuid, part integer, parts integer,
                                                       part_s float8, key text)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_replaced text;
begin
  select v.owner_id into v_owner from app_public.videos v
   where v.id = video_id and v.playback_state = 'pending' for update;
  if not found then
    return false;
  end if;
  if not starts_with(key, 'u/' || v_owner::text || '/') then
    raise exception 'a part key must lie under the owner''s prefix' using errcode = '22023';
  end if;
  -- A part made again (its job retried after this step had committed) has
  -- a name of its own; the one it replaces goes.
  select p.key into v_replaced from app_private.playback_parts p
   where p.video_id = pipeline_playback_part_done.video_id and p.part = pipeline_playback_part_done.part;
  insert into app_private.playback_parts as p (video_id, part, part_s, key)
  values (video_id, part, part_s, key)
  on conflict on constraint playback_parts_pkey do update set part_s = excluded.part_s, key = excluded.key;
  if v_replaced is distinct from key and v_replaced is not null then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', v_owner, 'keys', array[v_replaced]));
  end if;
  if (select count(*) from app_private.playback_parts p
       where p.video_id = pipeline_playback_part_done.video_id
         and p.part_s = pipeline_playback_part_done.part_s and p.part < parts) = parts then
    perform app_private.add_pipeline_job('videos__playback', json_build_object('id', video_id),
      'videos__playback:' || video_id::text, priority_offset := 10);
  end if;
  return true;
end;
$$;

-- The parts of a copy, in order, as the join reads them; empty for a repackaging.
create function app_private.pipeline_playback_parts(video_id uuid)
returns table (part integer, part_s float8, key text)
language sql stable security definer
set search_path = ''
as $$
  select p.part, p.part_s, p.key from app_private.playback_parts p
   where p.video_id = pipeline_playback_parts.video_id order by p.part;
$$;

-- The copy is stored under key (bytes long, for user_stats): the video plays
-- from it, and its parts go. False: the video is gone or no longer waits for
-- this copy.
create function app_private.pipeline_playback_ready(video_id uuid, key text, bytes bigint)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
begin
  select v.owner_id into v_owner from app_public.videos v
   where v.id = video_id and v.playback_state = 'pending' for update;
  if not found then
    return false;
  end if;
  update app_public.videos v set playback_state = 'ready', playback_key = key, playback_bytes = bytes
   where v.id = video_id;
  perform app_private.playback_forget_parts(video_id, v_owner, key);
  return true;
end;
$$;

-- No copy can be made (the file's fault, or every attempt failed): the
-- video stays searchable and plays as uploaded where a browser can; why is
-- recorded in its notes.
create function app_private.pipeline_playback_failed(video_id uuid, reason text)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
begin
  update app_public.videos v
     set playback_state = 'failed',
         notes = case when reason = any (v.notes) then v.notes else v.notes || reason end
   where v.id = video_id and v.playback_state = 'pending'
  returning v.owner_id into v_owner;
  if not found then
    return false;
  end if;
  perform app_private.playback_forget_parts(video_id, v_owner, null);
  return true;
end;
$$;

create function app_private.playback_forget_parts(video_id uuid, owner_id uuid, keep text)
returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  v_keys text[];
begin
  with gone as (
    delete from app_private.playback_parts p where p.video_id = playback_forget_parts.video_id returning p.key
  )
  select coalesce(array_agg(g.key) filter (where g.key is distinct from keep), '{}') into v_keys from gone g;
  if cardinality(v_keys) > 0 then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', owner_id, 'keys', v_keys));
  end if;
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
  update app_public.videos v set stage = 'cut', progress = greatest(v.progress, app_private.pipeline_stage_progress('cut', 0))
   where v.id = video_id;
  perform app_private.add_pipeline_job('videos__index', json_build_object('id', video_id),
    'videos__index:' || video_id::text);
  return true;
end;
$$;

/*
 * Where chunk `chunk` of `step` ('transcribe' | 'index') starts, for the job
 * about to do it: {done, start_s, ordinal}. done: the chunk is already
 * staged (the job ran to its commit before, then crashed), so the job does
 * nothing. start_s: where the previous chunk ended (0 for the first).
 * ordinal: how many scenes the earlier index chunks staged, the first
 * ordinal of this chunk. Null when the previous chunk is not staged: a job
 * left over from an earlier run of the video (reprocessed meanwhile), which
 * must do nothing.
 */
create function app_private.pipeline_chunk_start(video_id uuid, step text, chunk integer) returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select jsonb_build_object(
           'done', exists (select from app_private.video_chunks c
                            where c.video_id = pipeline_chunk_start.video_id and c.step = pipeline_chunk_start.step
                              and c.chunk = pipeline_chunk_start.chunk),
           'start_s', coalesce(p.end_s, 0),
           'ordinal', (select coalesce(sum(jsonb_array_length(c.product -> 'scenes')), 0)
                         from app_private.video_chunks c
                        where c.video_id = pipeline_chunk_start.video_id and c.step = 'index'
                          and c.chunk < pipeline_chunk_start.chunk))
    from (select 1) one
    left join app_private.video_chunks p
      on p.video_id = pipeline_chunk_start.video_id and p.step = pipeline_chunk_start.step
     and p.chunk = pipeline_chunk_start.chunk - 1
   where pipeline_chunk_start.chunk = 0 or p.chunk is not null
$$;

/*
 * Stages one chunk's product and, in the same transaction, queues the next
 * chunk's job (same job key: a pending one is replaced), or, for the chunk
 * that reached the end, assembles all of them and hands the whole to
 * pipeline_transcribed / pipeline_indexed, exactly what a single job covering
 * the video hands over, then forgets the staged rows.
 * part: {start_s, end_s, last, product}; keys: storage objects it stored.
 * Returns false when the video is gone or the chunk does not belong to the
 * current run (see pipeline_chunk_start); true when staged or already staged.
 */
create function app_private.pipeline_chunk_done(video_id uuid, step text, chunk integer, part jsonb,
                                                keys text[] default '{}')
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_task text := 'videos__' || step;
  v_whole jsonb;
begin
  perform 1 from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  if step not in ('transcribe', 'index') then
    raise exception 'unknown chunked step %', step using errcode = '22023';
  end if;
  if chunk > 0 and not exists (select from app_private.video_chunks c
                                where c.video_id = pipeline_chunk_done.video_id and c.step = pipeline_chunk_done.step
                                  and c.chunk = pipeline_chunk_done.chunk - 1) then
    return false;
  end if;
  insert into app_private.video_chunks (video_id, step, chunk, start_s, end_s, last, product, keys)
  values (video_id, step, chunk, (part ->> 'start_s')::float8, (part ->> 'end_s')::float8,
          (part ->> 'last')::boolean, part -> 'product', coalesce(keys, '{}'))
  on conflict on constraint video_chunks_pkey do nothing;
  if not found then
    -- Staged by an earlier attempt, whose transaction also queued what follows.
    return true;
  end if;

  if not (part ->> 'last')::boolean then
    -- A key of its own per chunk: graphile-worker marks a running job whose
    -- key is reused as finally failed, and this job is still running. A job
    -- of an earlier run of the video finds its chunk not part of the current
    -- run (pipeline_chunk_start) and does nothing.
    perform app_private.add_pipeline_job(v_task, json_build_object('id', video_id, 'chunk', chunk + 1),
      v_task || ':' || video_id::text || ':' || (chunk + 1)::text);
    return true;
  end if;

  if step = 'transcribe' then
    select jsonb_build_object(
             'source', (array_agg(c.product ->> 'source' order by c.chunk))[1],
             'language', (array_agg(c.product ->> 'language' order by c.chunk)
                            filter (where c.product ->> 'language' is not null))[1],
             'model', (array_agg(c.product ->> 'model' order by c.chunk)
                         filter (where c.product ->> 'model' is not null))[1],
             'segments', coalesce((select jsonb_agg(e order by c2.chunk, o)
                                     from app_private.video_chunks c2,
                                          jsonb_array_elements(c2.product -> 'segments') with ordinality as x(e, o)
                                    where c2.video_id = pipeline_chunk_done.video_id and c2.step = 'transcribe'), '[]'),
             'missing', bool_or(coalesce((c.product ->> 'missing')::boolean, false)))
      into v_whole
      from app_private.video_chunks c
     where c.video_id = pipeline_chunk_done.video_id and c.step = 'transcribe';
    perform app_private.pipeline_transcribed(video_id, v_whole);
  else
    -- Video-level facts: the last chunk's model ids where it has them (a
    -- model that appeared mid-video), any chunk's otherwise; a stage skipped
    -- in any chunk is missing for the video, so a re-index fills it in.
    select jsonb_build_object(
             'transcript_source', (array_agg(c.product ->> 'transcript_source' order by c.chunk desc))[1],
             'language', (array_agg(c.product ->> 'language' order by c.chunk desc)
                            filter (where c.product ->> 'language' is not null))[1],
             'asr_model', (array_agg(c.product ->> 'asr_model' order by c.chunk desc)
                             filter (where c.product ->> 'asr_model' is not null))[1],
             'text_model', (array_agg(c.product ->> 'text_model' order by c.chunk desc)
                              filter (where c.product ->> 'text_model' is not null))[1],
             'image_model', (array_agg(c.product ->> 'image_model' order by c.chunk desc)
                               filter (where c.product ->> 'image_model' is not null))[1],
             'ocr_model', (array_agg(c.product ->> 'ocr_model' order by c.chunk desc)
                             filter (where c.product ->> 'ocr_model' is not null))[1],
             'face_model', (array_agg(c.product ->> 'face_model' order by c.chunk desc)
                              filter (where c.product ->> 'face_model' is not null))[1],
             'missing_stages', coalesce((select jsonb_agg(m order by array_position(
                                            array['transcribe', 'embed_text', 'embed_image', 'tags', 'ocr', 'faces'], m))
                                           from (select distinct m
                                                   from app_private.video_chunks c2,
                                                        jsonb_array_elements_text(c2.product -> 'missing_stages') m
                                                  where c2.video_id = pipeline_chunk_done.video_id
                                                    and c2.step = 'index') d), '[]'),
             'scenes', coalesce((select jsonb_agg(e order by (e ->> 'ordinal')::int)
                                   from app_private.video_chunks c2, jsonb_array_elements(c2.product -> 'scenes') e
                                  where c2.video_id = pipeline_chunk_done.video_id and c2.step = 'index'), '[]'))
      into v_whole
      from app_private.video_chunks c
     where c.video_id = pipeline_chunk_done.video_id and c.step = 'index';
    perform app_private.pipeline_indexed(video_id, v_whole);
  end if;
  delete from app_private.video_chunks c where c.video_id = pipeline_chunk_done.video_id and c.step = pipeline_chunk_done.step;
  return true;
end;
$$;

-- What videos__transcribe stored for the index step, as the worker reads it
-- ({source, language, model, segments, missing}); null when there is none.
create function app_private.pipeline_transcript(video_id uuid) returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select jsonb_build_object('source', t.source, 'language', t.language, 'model', t.model,
                            'segments', t.segments, 'missing', t.missing)
    from app_private.video_transcripts t
   where t.video_id = pipeline_transcript.video_id
$$;

-- The stored scenes a re-index starts from, in order: [{ordinal, start_s,
-- end_s, transcript, keyframe_key, image_vec: number[] | null}].
create function app_private.pipeline_stored_scenes(video_id uuid) returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'ordinal', s.ordinal, 'start_s', s.start_s, 'end_s', s.end_s, 'transcript', s.transcript,
           'keyframe_key', s.keyframe_key, 'image_vec', (s.image_vec::text)::jsonb) order by s.ordinal), '[]')
    from app_public.scenes s
   where s.video_id = pipeline_stored_scenes.video_id
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
  if result ->> 'face_model' is not null then
    perform app_private.faces_write(video_id, result ->> 'face_model', result -> 'scenes');
  end if;

  update app_public.videos v
     set state = 'indexed', stage = null, progress = 1, error = null, indexed_at = now(),
         transcript_source = result ->> 'transcript_source',
         language = result ->> 'language',
         asr_model = result ->> 'asr_model',
         text_model = result ->> 'text_model',
         image_model = result ->> 'image_model',
         ocr_model = result ->> 'ocr_model',
         face_model = result ->> 'face_model',
         missing_stages = coalesce(array(select jsonb_array_elements_text(result -> 'missing_stages')), '{}')
   where v.id = video_id;
  -- Validated before playback copies existed and indexed since (it was on
  -- its way when the upgrade queued plans for the indexed ones): planned now.
  if exists (select from app_public.videos v where v.id = video_id and v.playback_state is null) then
    perform app_private.add_pipeline_job('videos__playback_plan', json_build_object('id', video_id),
      'videos__playback_plan:' || video_id::text, priority_offset := 10);
  end if;

  if cardinality(v_orphans) > 0 then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', v_owner, 'keys', v_orphans));
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
  if result ->> 'face_model' is not null then
    perform app_private.faces_write(video_id, result ->> 'face_model', result -> 'scenes');
  end if;

  update app_public.videos v
     set transcript_source = case when result ? 'transcript_source' then result ->> 'transcript_source' else v.transcript_source end,
         language = case when result ? 'language' then result ->> 'language' else v.language end,
         asr_model = case when result ? 'asr_model' then result ->> 'asr_model' else v.asr_model end,
         text_model = case when result ? 'text_model' then result ->> 'text_model' else v.text_model end,
         image_model = case when result ? 'image_model' then result ->> 'image_model' else v.image_model end,
         ocr_model = case when result ? 'ocr_model' then result ->> 'ocr_model' else v.ocr_model end,
         face_model = case when result ? 'face_model' then result ->> 'face_model' else v.face_model end,
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
    perform app_private.add_pipeline_job('videos__reindex', json_build_object('id', v_id, 'mode', 'missing'),
      'videos__reindex:missing:' || v_id::text, 'video:' || v_id::text);
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
create function app_private.reindex_stale(text_model text, image_model text, face_model text default null) returns integer
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
                   or (reindex_stale.image_model is not null and v.image_model is distinct from reindex_stale.image_model)
                   -- Videos never scanned for faces (FACES=off then) are not stale: that is not a model change.
                   or (reindex_stale.face_model is not null and v.face_model is not null
                       and v.face_model is distinct from reindex_stale.face_model))
               order by v.created_at loop
    perform app_private.add_pipeline_job('videos__reindex', json_build_object('id', v_id, 'mode', 'stale'),
      'videos__reindex:stale:' || v_id::text, 'video:' || v_id::text);
    n := n + 1;
  end loop;
  -- Enrolment photos are embedded again too, or no face found by the new
  -- model could be recognised as an enrolled person.
  if reindex_stale.face_model is not null
     and exists (select from app_private.enrolment_faces_stale(reindex_stale.face_model, 1)) then
    perform app_private.add_pipeline_job('faces__reembed', json_build_object('face_model', reindex_stale.face_model),
      'faces__reembed');
  end if;
  return n;
end;
$$;

revoke all on function app_private.add_pipeline_job(text, json, text, text, text, integer),
  app_private.pipeline_stage_progress(text, real), app_private.pipeline_progress(uuid, text, real, real, real), app_private.pipeline_reindex_progress(uuid, text, real),
  app_private.pipeline_fail(uuid, text), app_private.pipeline_validated(uuid, jsonb),
  app_private.pipeline_transcribed(uuid, jsonb), app_private.pipeline_transcript(uuid),
  app_private.pipeline_chunk_start(uuid, text, integer), app_private.pipeline_chunk_done(uuid, text, integer, jsonb, text[]),
  app_private.pipeline_stored_scenes(uuid), app_private.pipeline_indexed(uuid, jsonb),
  app_private.pipeline_reindexed(uuid, jsonb), app_private.reindex_missing(),
  app_private.reindex_stale(text, text, text), app_private.playback_queue(uuid, text, integer, float8),
  app_private.pipeline_playback_part_done(uuid, integer, integer, float8, text),
  app_private.pipeline_playback_parts(uuid), app_private.pipeline_playback_ready(uuid, text, bigint),
  app_private.pipeline_playback_failed(uuid, text), app_private.playback_forget_parts(uuid, uuid, text),
  app_private.pipeline_playback_planned(uuid, jsonb) from public;

comment on function app_private.add_pipeline_job(text, json, text, text, text, integer) is 'Queue a pipeline job with the one retry policy (8 attempts), behind priority_offset more of the owner''s videos than its own place.';
comment on function app_private.playback_queue(uuid, text, integer, float8) is 'Queue the jobs that make a browser-playable copy: one per part then the join, or the join alone for a repackaging.';
comment on function app_private.pipeline_playback_part_done(uuid, integer, integer, float8, text) is 'Worker: record a stored part of a playback copy, and queue the join when it is the last; false when the video no longer waits for a copy.';
comment on function app_private.pipeline_playback_parts(uuid) is 'Worker: the stored parts of a playback copy, in order.';
comment on function app_private.pipeline_playback_ready(uuid, text, bigint) is 'Worker: the video plays from this copy now; its parts are deleted.';
comment on function app_private.pipeline_playback_failed(uuid, text) is 'Worker: no playback copy can be made; the reason goes to the video''s notes and its parts are deleted.';
comment on function app_private.pipeline_playback_planned(uuid, jsonb) is 'Worker: how an indexed video validated before playback copies existed plays, and its copy''s jobs; false when it has a plan by now.';
comment on function app_private.playback_forget_parts(uuid, uuid, text) is 'Forget the staged parts of a playback copy and queue their objects for deletion (all but keep).';
comment on function app_private.pipeline_stage_progress(text, real) is 'Overall 0..1 progress of a video that is done (0..1) through the given stage.';
comment on function app_private.pipeline_progress(uuid, text, real, real, real) is 'Worker: announce the stage and how far it is, within the share lo..hi of the video a chunk job covers (never moves progress backwards within a state).';
comment on function app_private.pipeline_chunk_start(uuid, text, integer) is 'Worker: whether a chunk is already done, where it starts and its first scene ordinal; null for a job of an earlier run.';
comment on function app_private.pipeline_chunk_done(uuid, text, integer, jsonb, text[]) is 'Worker: stage one chunk and queue the next, or assemble all chunks after the last one.';
comment on function app_private.pipeline_reindex_progress(uuid, text, real) is 'Worker: announce re-index progress on an indexed video without changing its state.';
comment on function app_private.pipeline_transcript(uuid) is 'Worker: the transcript stored for the index step, or null.';
comment on function app_private.pipeline_stored_scenes(uuid) is 'Worker: the stored scenes a re-index starts from.';
comment on function app_private.pipeline_fail(uuid, text) is 'Worker: mark a video failed with a reason a user can act on.';
comment on function app_private.pipeline_validated(uuid, jsonb) is 'Worker: record probed media facts, move to processing and queue videos__transcribe, and the playback copy''s jobs where the video needs one.';
comment on function app_private.pipeline_transcribed(uuid, jsonb) is 'Worker: keep the transcript for the index step and queue videos__index.';
comment on function app_private.pipeline_indexed(uuid, jsonb) is 'Worker: replace all scenes of a video in one transaction and mark it indexed.';
comment on function app_private.pipeline_reindexed(uuid, jsonb) is 'Worker: apply recomputed scene columns and model ids after videos__reindex.';
comment on function app_private.reindex_missing() is 'Queue videos__reindex for every indexed video with skipped stages; returns how many.';
comment on function app_private.reindex_stale(text, text, text) is 'Queue videos__reindex for videos embedded with another text/image/face model; returns how many.';
--! EndIncluded pipeline_steps.sql
--! Included search_scenes.sql
-- search_scenes sets hnsw.* parameters, which exist only once pgvector's
-- library is loaded in this session; a non-superuser may not set an unknown
-- parameter, so load it by using the type.
select '[0]'::vector;
-- The same for pg_trgm's strict_word_similarity_threshold.
select similarity('a', 'a');

-- Raw cosines of two different models are not comparable (BGE-M3 relevant
-- pairs sit around 0.5-0.8, SigLIP text-image pairs around 0.05-0.2), so each
-- space maps its cosine linearly from [lo, hi] onto [0, 1] and clamps. These
-- are the only calibration constants; change them here and in sql/README.md.
-- No SET clause, so the planner inlines it into the search query. There it
-- puts the argument, a vector distance, in place of each mention of cosine,
-- and computes it at each: cosine is mentioned once (four times before, and
-- a candidate without a carried distance had it computed four times in each
-- space). NULL and NaN (a vector of zeros has no direction) count as no
-- similarity; PostgreSQL orders NaN above every number, so a NaN had been
-- clamped to 1.
create function app_hidden.search_similarity(space text, cosine double precision) returns double precision
language sql immutable parallel safe
as $$
  select greatest(0, least(1, coalesce(
    (nullif(cosine, 'NaN'::float8)
      -- BGE-M3 (text_vec): unrelated sentences ~0.35, close paraphrases ~0.75.
      -- SigLIP text->image (image_vec): the model's own sigmoid reaches 0.5 near
      -- cosine 0.11; unrelated pairs sit near 0, strong matches near 0.2.
      - case space when 'text' then 0.35 when 'vision' then 0.05 end)
    / case space when 'text' then 0.75 - 0.35 when 'vision' then 0.20 - 0.05 end,
    0)))
$$;

-- The helpers below that cannot be inlined into the search query (they loop,
-- or query tables) are plpgsql, not SQL: a SQL function that is not inlined
-- is parsed and planned again in every statement that calls it, which cost a
-- 30-scene user's search 0.66 of its 4.5 ms (BENCHMARKS.md). plpgsql keeps each
-- expression's plan for the connection, and these bodies are loops over
-- simple expressions, which it evaluates without the planner.

-- The query's words as the 'simple' parser sees them, through index_text as
-- scenes are (lower-cased, split on punctuation; "10,000" one number;
-- "COVID-19" also "covid19", "covid19" also "covid" and "19"; Chinese and
-- Japanese cut into character pairs),
-- at most 32 so a pasted paragraph cannot blow up the plan.
create function app_hidden.search_query_words(query text) returns text[]
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  all_words text[] := coalesce((pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig,
    app_hidden.index_text(coalesce(query, ''), false))))[1:32], '{}');
  -- English function words carry no meaning of their own and, since the
  -- 'simple' configuration keeps them in every transcript, would let "the"
  -- outrank the one word that matters. They are dropped from the query unless
  -- nothing else is left ("the who" still searches for something).
  function_words constant text[] := '{a,an,the,and,or,but,of,in,on,at,to,for,with,by,from,into,onto,about,over,under,as,is,are,was,were}'::text[]
    || '{be,been,being,am,do,does,did,it,its,this,that,these,those,there,here,i,me,my,we,our,you,your,he,him,his,she,her}'::text[]
    || '{they,them,their,what,which,who,whom,where,when,how,some,any,so,if,then,than,not,no}'::text[];
  -- Korean attaches particles to the noun ("고양이가", "바다에서"): the query
  -- word with its particle only finds that particle, while the word is
  -- matched as a prefix anyway, so the particle is dropped and the noun
  -- finds every form ("고양이가" finds "고양이는", "고양이를"). Longest first;
  -- at least two syllables stay, so "아이" is never cut to "아".
  -- A particle with another after it ("바다에는", "학교에도") goes whole.
  particles constant text[] := '{으로부터,에서부터,에서는,에서도,에게서,에게는,에게도,한테서,한테는,으로는,으로도,까지는,까지도,부터는,보다는}'::text[]
    || '{에서,에게,한테,께서,까지,부터,보다,처럼,이랑,하고,으로,에는,에도,은,는,이,가,을,를,에,의,와,과,도,만,로,랑}'::text[];
  kept text[] := '{}';
  nouns text[] := '{}';
  w text;
  p text;
  stem text;
begin
  foreach w in array all_words loop
    if w <> all (function_words) then
      kept := kept || w;
    end if;
  end loop;
  if cardinality(kept) = 0 then
    kept := all_words;
  end if;
  foreach w in array kept loop
    if w ~ '[가-힣]$' then
      foreach p in array particles loop
        stem := pg_catalog.left(w, char_length(w) - char_length(p));
        if pg_catalog.right(w, char_length(p)) = p and char_length(stem) >= 2 and stem ~ '^[가-힣]+$' then
          w := stem;
          exit;
        end if;
      end loop;
    end if;
    -- "고양이가 고양이를" is one word once its particles are gone.
    if w <> all (nouns) then
      nouns := nouns || w;
    end if;
  end loop;
  return nouns;
end;
$$;

-- Whether a query word also finds the words it begins. Korean needs it (a
-- noun carries its particle: 고양이 finds 고양이가), and so do the character
-- pairs of Chinese and Japanese: a word of two characters or more with a
-- Hangul, Han or kana character is matched so. A word of one character is
-- not (개 would find every word it begins; a Chinese or Japanese character is
-- kept alone in scenes, so 猫 finds 小猫 as it is). Words of other scripts
-- are found in their other forms by the stemmer of the language they are
-- spoken in, so where a language in scope has one (stemming), they match
-- as written or stemmed only: as prefixes, "car" found "career" and "card",
-- "tea" every "team", as strongly as "car" itself. Where none has one (only
-- Polish, Czech, Ukrainian … videos), a word of three characters or more is a
-- prefix, so that "kot" still finds "kota". Two characters are never enough:
-- "ai" would find "air" and "aim", "10" every number from 100 on, and reading
-- all of them was the slowest word search (BENCHMARKS.md, session 25).
-- No SET clause (names are qualified instead), so the planner inlines it.
create function app_hidden.search_prefix(w text, stemming boolean) returns boolean
language sql immutable parallel safe
as $$
  select pg_catalog.char_length(w) >= 2
     and (w ~ ('[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f' || app_hidden.cjk_letters() || ']')
          or (pg_catalog.char_length(w) >= 3 and not coalesce(stemming, false)))
$$;

-- Whether a language in scope has a stemmer (search_prefix): any of the
-- configurations but simple and app_hidden.simple_folded, which keeps the
-- words as written, only with their accents folded. Inlined like
-- search_prefix.
create function app_hidden.search_stemming(configs regconfig[]) returns boolean
language sql immutable parallel safe
as $$
  select not (coalesce(configs, '{}') <@ array['pg_catalog.simple', 'app_hidden.simple_folded']::pg_catalog.regconfig[])
$$;

-- OR of the words, each a prefix match where search_prefix says so.
-- weights restricts the tsvector sections: 'AB' = transcript and on-screen
-- text, 'C' = tags, '' = any; stemming as in search_prefix.
create function app_hidden.search_tsquery(words text[], weights text, stemming boolean) returns tsquery
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  parts text[] := '{}';
  w text;
begin
  if coalesce(cardinality(words), 0) = 0 then
    return null;
  end if;
  foreach w in array words loop
    parts := parts || ('''' || replace(replace(w, '\', '\\'), '''', '''''') || ''''
                       || case when app_hidden.search_prefix(w, stemming) or weights <> '' then ':' else '' end
                       || case when app_hidden.search_prefix(w, stemming) then '*' else '' end
                       || weights);
  end loop;
  return pg_catalog.array_to_string(parts, ' | ')::tsquery;
end;
$$;

-- The other forms of an English word that no stemmer relates to it: plurals
-- that change the word ("people" of "person", "children", "mice", "leaves"),
-- the past forms of irregular verbs ("swam", "written") and British and
-- American spellings ("colour", "centre", "catalogue", "defence", "grey").
-- A query word finds them as it finds its stems (0.75), and names tag
-- labels by them ("people" names "person"): search_word_forms puts them
-- after the word, where its stems are made (search_stem_tsquery,
-- search_scenes) and the words that name tags are (search_tag_words).
-- Left out: forms that are also common words of another meaning ("saw",
-- "left", "found", "rose", "felt", "fell", "lead", "shot", "bit", "lay",
-- "lives", "dice", "fed", "won", "tear", "tire"), which would find scenes
-- about that instead.
-- A word spelled with -ise or -ize, -yse or -yze, and the endings made from
-- them (-ised, -ising, -iser, -isable, -isation …) has the other spelling as
-- a form by rule, since no list could hold them all: "organise" finds
-- "organized", "realization" finds "realisation". Transcripts mostly spell
-- the American way, so a British query found nothing of them. Three letters
-- at least before the -is/-iz keep "rise", "size", "noise" and "seize" out.
-- The English stemmer takes some -ize words to a shorter word ("finalize" to
-- "final", "personalize" to "person"), and a British query now finds what
-- the American one always did, those words included.
-- A group is a run of words between bars; the spaces around each make a
-- word's membership one strpos. A word is looked up as written, else by its
-- English stem ("swimming" is a form of swim), which a group lists after a
-- tilde where it is no word of the group ("centres" has the stem ~centr).
create function app_hidden.search_forms(w text) returns text[]
language plpgsql immutable parallel safe
-- Kept although names are qualified: its callers run with different
-- search paths, and an expression is planned again whenever the path
-- differs from the one it was planned under (111 us a call inside a search
-- without it, 63 with; BENCHMARKS.md).
set search_path = ''
as $$
declare
  -- One literal: the lines are joined as the function is parsed.
  groups constant text := ' person people | man men | woman women | child children | grandchild grandchildren '
    '| foot feet | tooth teeth | goose geese | mouse mice | louse lice | ox oxen | knife knives | wife wives '
    '| leaf leaves | wolf wolves | shelf shelves | half halves | calf calves | loaf loaves | thief thieves '
    '| scarf scarves | elf elves | hoof hooves | cactus cacti | fungus fungi | nucleus nuclei | radius radii '
    '| stimulus stimuli | alumnus alumni | criterion criteria | phenomenon phenomena | crisis crises '
    '| thesis theses | hypothesis hypotheses | diagnosis diagnoses | analysis analyses | index indices '
    '| matrix matrices | vertex vertices | appendix appendices | bacterium bacteria | curriculum curricula '
    '| policeman policemen | policewoman policewomen | fireman firemen | fisherman fishermen '
    '| businessman businessmen | businesswoman businesswomen | gentleman gentlemen | snowman snowmen '
    '| chairman chairmen | salesman salesmen | spokesman spokesmen '
    '| go went gone ~goe | eat ate eaten | swim swam swum | sing sang sung | drink drank drunk '
    '| drive drove driven | ride rode ridden | write wrote written | speak spoke spoken | fly flew flown '
    '| throw threw thrown | begin began begun | break broke broken | choose chose chosen | give gave given '
    '| take took taken | wear wore worn | know knew known | grow grew grown | draw drew drawn | blow blew blown '
    '| buy bought | bring brought | catch caught | teach taught | think thought | fight fought | seek sought '
    '| sell sold | tell told | sleep slept | keep kept | build built | send sent | spend spent '
    '| run ran | sit sat | stand stood | understand understood | forget forgot forgotten | hide hid hidden '
    '| freeze froze frozen | wake woke woken | shake shook shaken | steal stole stolen | bite bitten '
    '| hang hung | dig dug | meet met | make made | pay paid | say said | get got gotten | come came '
    '| become became | see seen | fall fallen | lose lost | hold held | rise risen | hear heard '
    '| lend lent | bend bent | weep wept | creep crept | sweep swept | kneel knelt | dream dreamt '
    '| mean meant | sting stung | swing swung | cling clung | strike struck '
    '| forgive forgave forgiven | undertake undertook undertaken | mistake mistook mistaken '
    '| overcome overcame | withdraw withdrew withdrawn | arise arose arisen '
    '| colour color | favour favor | favourite favorite ~favourit ~favorit | flavour flavor | honour honor '
    '| humour humor | labour labor | neighbour neighbor | neighbourhood neighborhood | behaviour behavior '
    '| harbour harbor | rumour rumor | armour armor | odour odor | vapour vapor | endeavour endeavor '
    '| parlour parlor | saviour savior | tumour tumor | vigour vigor '
    '| centre center ~centr | theatre theater ~theatr | metre meter ~metr | litre liter ~litr '
    '| fibre fiber ~fibr | manoeuvre maneuver ~manoeuvr ~maneuv | catalogue catalog ~catalogu '
    '| dialogue dialog ~dialogu | analogue analog ~analogu | defence defense ~defenc ~defens '
    '| licence license ~licenc ~licens | offence offense ~offenc ~offens | grey gray '
    '| aluminium aluminum | programme program ~programm | jewellery jewelry ~jewelleri ~jewelri '
    '| mould mold | plough plow | pyjamas pajamas ~pyjama ~pajama | cosy cozy ~cosi ~cozi '
    '| sceptical skeptical ~sceptic ~skeptic | moustache mustache ~moustach ~mustach '
    '| encyclopaedia encyclopedia | paediatric pediatric ~paediatr ~pediatr | analyse analyze ~analys ~analyz | ';
  g text;
  f text;
  key text := ' ' || w || ' ';
  stem text;
  forms text[] := '{}';
  spelled text[];
begin
  if w is null then
    return '{}';
  end if;
  if pg_catalog.strpos(groups, key) = 0 then
    stem := app_hidden.search_label_stem(w);
    if stem is not null then
      key := ' ' || stem || ' ';
      if pg_catalog.strpos(groups, key) = 0 then
        key := ' ~' || stem || ' ';
      end if;
    end if;
  end if;
  if pg_catalog.strpos(groups, key) > 0 then
    foreach g in array pg_catalog.string_to_array(groups, '|') loop
      if pg_catalog.strpos(g, key) > 0 then
        foreach f in array pg_catalog.string_to_array(pg_catalog.btrim(g), ' ') loop
          if f <> w and not pg_catalog.starts_with(f, '~') then
            forms := forms || f;
          end if;
        end loop;
        return forms;
      end if;
    end loop;
  end if;
  spelled := pg_catalog.regexp_match(w, '^([a-z]{3,}[iy])([sz])(e|es|ed|ing|er|ers|able|ation|ations|ational)$');
  if spelled is not null then
    return array[spelled[1] || pg_catalog.translate(spelled[2], 'sz', 'zs') || spelled[3]];
  end if;
  return '{}';
end;
$$;

-- Each word with its search_forms after it, space-separated ("people
-- person"): what search_stem_tsquery stems and search_tag_words reads, so a
-- search looks each word's forms up once.
create function app_hidden.search_word_forms(words text[]) returns text[]
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  result text[] := '{}';
  w text;
begin
  foreach w in array coalesce(words, '{}') loop
    result := result || case when w is not null then pg_catalog.array_to_string(w || app_hidden.search_forms(w), ' ') end;
  end loop;
  return result;
end;
$$;

-- The words that name tag labels, from search_word_forms: the query's words,
-- then their forms that are not query words themselves.
create function app_hidden.search_tag_words(word_forms text[]) returns text[]
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  result text[] := '{}';
  forms text[] := '{}';
  wf text;
  f text;
begin
  foreach wf in array coalesce(word_forms, '{}') loop
    continue when wf is null;
    result := result || pg_catalog.split_part(wf, ' ', 1);
    forms := forms || pg_catalog.string_to_array(wf, ' ');
  end loop;
  foreach f in array forms loop
    if f <> all (result) then
      result := result || f;
    end if;
  end loop;
  return result;
end;
$$;

-- The stemmed forms of the words in each of the given configurations, OR-ed
-- ('simple' is skipped: tsv_stem is empty there). Stop words stem to nothing.
-- An element may hold several words (search_word_forms): all are stemmed.
-- weights as in search_tsquery.
create function app_hidden.search_stem_tsquery(words text[], configs regconfig[], weights text)
returns tsquery
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  parts text[] := '{}';
  part text;
  w text;
  c regconfig;
  l text;
begin
  if words is null or configs is null then
    return null;
  end if;
  foreach w in array words loop
    continue when w is null;
    foreach c in array configs loop
      continue when c is null or c = 'simple'::regconfig;
      foreach l in array pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(c, w)) loop
        part := '''' || replace(replace(l, '\', '\\'), '''', '''''') || ''''
                || case when weights <> '' then ':' else '' end || weights;
        if part <> all (parts) then
          parts := parts || part;
        end if;
      end loop;
    end loop;
  end loop;
  return nullif(pg_catalog.array_to_string(parts, ' | '), '')::tsquery;
end;
$$;

-- Cover density of the matches, normalised to r/(r+1) (0..1). On-screen
-- text (weight B) counts 0.8 of speech (A) rather than PostgreSQL's default
-- 0.4: a burned-in title or slide is as deliberate as a spoken word.
-- No SET clause (names are qualified instead), so the planner inlines it:
-- it runs once per matching scene, and a SET clause alone costs a GUC
-- save/restore per call.
create function app_hidden.search_rank(tsv tsvector, q tsquery) returns double precision
language sql immutable parallel safe
as $$
  select pg_catalog.ts_rank_cd('{0.1, 0.2, 0.8, 1.0}'::real[], tsv, q, 32)::float8
$$;

-- The English stem of one word (the english configuration's dictionary),
-- null for a stop word. Tag labels are English (models/labels.txt), whatever
-- the language of the videos, so this is how a query word meets them.
-- Inlined like search_prefix.
create function app_hidden.search_label_stem(w text) returns text
language sql immutable parallel safe
as $$
  select (pg_catalog.ts_lexize('pg_catalog.english_stem'::pg_catalog.regdictionary, w))[1]
$$;

-- What every word with this stem begins with: the stem, but for a final i,
-- which English spells y in the word ("city", stem "citi"). Inlined like
-- search_prefix.
create function app_hidden.search_stem_start(stem text) returns text
language sql immutable parallel safe
as $$
  select case when stem like '%i' then pg_catalog.left(stem, -1) else stem end
$$;

-- Where the label words a query word names begin (search_names): the word
-- itself where it is a prefix, else where the words of its English stem
-- (stem) begin, for a stem of three letters or more. Null: only the word as
-- written.
create function app_hidden.search_label_start(w text, stem text, stemming boolean) returns text
language sql immutable parallel safe
as $$
  select case when app_hidden.search_prefix(w, stemming) then w
              when pg_catalog.char_length(stem) >= 3 then app_hidden.search_stem_start(stem)
         end
$$;

-- Whether query word w (stem: its search_label_stem) names label word lw:
-- as written, as its start where search_prefix says so, or else by the same
-- English stem ("dogs" names "dog", "cloud" names "clouds"; "car" does not
-- name "cartoon", nor "tea" "teaching"). The start is tested first, which
-- spares stemming most label words. Inlined like search_prefix.
create function app_hidden.search_names(lw text, w text, stem text, stemming boolean) returns boolean
language sql immutable parallel safe
as $$
  select lw = w
      or (pg_catalog.starts_with(lw, app_hidden.search_label_start(w, stem, stemming))
          and (app_hidden.search_prefix(w, stemming) or app_hidden.search_label_stem(lw) = stem))
$$;

-- Tag strength in 0..1: the best label's score times the share of that
-- label's words the query names (search_names: "dog" fully matches label
-- "dog", half matches "hot dog"; stems[k] is search_label_stem(words[k])).
-- Malformed entries count as no match, never an error.
-- It runs for each candidate that may have a tag the query names, most of
-- a hybrid search's ~240 at 47k scenes (5.6 of its 50 ms), so the caller
-- passes the stems it has already made, and there is no SET clause: saving
-- and restoring search_path cost ~2 us a call, and every name here is
-- qualified (an invoker's function: a caller's search_path can only mislead
-- the caller). Together 4.9 -> 3.1 ms for 243 scenes (BENCHMARKS.md).
create function app_hidden.search_tag_score(tags jsonb, words text[], stems text[], stemming boolean)
returns double precision
language plpgsql immutable parallel safe
as $$
declare
  best float8;
  t jsonb;
  lw text;
  label_words int;
  named int;
begin
  if coalesce(cardinality(words), 0) = 0 or pg_catalog.jsonb_typeof(tags) is distinct from 'array' then
    return 0;
  end if;
  -- A loop of simple expressions, not a query: this runs once per candidate.
  for i in 0 .. pg_catalog.jsonb_array_length(tags) - 1 loop
    t := tags -> i;
    continue when pg_catalog.jsonb_typeof(t) <> 'object'
               or pg_catalog.jsonb_typeof(t -> 'score') is distinct from 'number'
               or pg_catalog.jsonb_typeof(t -> 'label') is distinct from 'string';
    label_words := 0;
    named := 0;
    foreach lw in array pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, t ->> 'label')) loop
      label_words := label_words + 1;
      for k in 1 .. cardinality(words) loop
        if app_hidden.search_names(lw, words[k], stems[k], stemming) then
          named := named + 1;
          exit;
        end if;
      end loop;
    end loop;
    best := greatest(best, greatest(0, least(1, (t ->> 'score')::float8)) * (named::float8 / nullif(label_words, 0)));
  end loop;
  return coalesce(best, 0);
end;
$$;

-- The same, stemming the words itself (for callers without the stems).
create function app_hidden.search_tag_score(tags jsonb, words text[], stemming boolean) returns double precision
language sql immutable parallel safe
as $$
  select app_hidden.search_tag_score(tags, words, array(select app_hidden.search_label_stem(w) from unnest(words) w),
                                     stemming)
$$;

-- Snippets are shown as HTML with <b> highlights; everything else in the
-- transcript must arrive as text, never as markup.
create function app_hidden.search_escape_html(t text) returns text
language sql immutable parallel safe
as $$
  select pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;

-- The text around the first match of q, with every match in bold, for text
-- the parser cannot cut into words (Chinese, Japanese): ts_headline counts a
-- whole sentence of it as one word, so it could neither mark the pair that
-- matched nor keep the excerpt short. A pair or character of the query is
-- found wherever it occurs (the pairs of one phrase make one bold run); other
-- words only as a whole word, or a prefix (:*) at the start of a word,
-- through to its end, as the queries match them.
create function app_hidden.search_highlight(src text, q tsquery) returns text
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  -- About as much as ts_headline's 24 words of English take on screen.
  width constant int := 60;
  -- Read past the window's end, so a match running over it is marked whole.
  margin constant int := 40;
  cjk constant text := app_hidden.cjk_letters();
  low text := pg_catalog.lower(src);
  len int := char_length(src);
  patterns text[] := '{}';
  pattern text;
  lexeme text;
  prefix boolean;
  first int;
  p int;
  e int;
  lo int;
  hi int;
  -- The window as read: from one character before it (so that a match
  -- there is seen to start inside a word) through the margin; src's
  -- character i is its character i - base + 1.
  base int;
  win text;
  marked boolean[];
  from_pos int;
  bold boolean := false;
  result text := '';
begin
  for lexeme, prefix in
    select pg_catalog.replace(pg_catalog.replace(x[1], '''''', ''''), '\\', '\'), coalesce(x[2], '') like '%*%'
      from pg_catalog.regexp_matches(q::text, '''((?:[^'']|'''')*)''(:[*A-D]+)?', 'g') x
  loop
    pattern := pg_catalog.regexp_replace(lexeme, '([^[:alnum:][:space:]])', '\\\1', 'g');
    if lexeme !~ ('[' || cjk || ']') then
      pattern := '(?:^|(?<=[[:space:][:punct:]' || cjk || ']))' || pattern
                 || case when prefix then '[^[:space:][:punct:]' || cjk || ']*'
                         else '(?![^[:space:][:punct:]' || cjk || '])' end;
    end if;
    patterns := patterns || pattern;
    -- Only the first match is looked for in the whole text: each search
    -- from a position converts the text from its start, so marking every
    -- match of a common character in a long transcript cost seconds.
    p := pg_catalog.regexp_instr(low, pattern);
    if p > 0 and (first is null or p < first) then
      first := p;
    end if;
  end loop;
  if first is null then
    return null;
  end if;
  -- A little before the first match, a full window where the text allows.
  lo := greatest(1, first - width / 4);
  hi := least(len, lo + width - 1);
  lo := greatest(1, hi - width + 1);
  base := greatest(1, lo - 1);
  win := substr(low, base, hi - base + 1 + margin);
  marked := pg_catalog.array_fill(false, array[char_length(win)]);
  foreach pattern in array patterns loop
    from_pos := 1;
    loop
      p := pg_catalog.regexp_instr(win, pattern, from_pos);
      exit when p = 0;
      e := pg_catalog.regexp_instr(win, pattern, p, 1, 1);
      for i in greatest(p, lo - base + 1) .. e - 1 loop
        marked[i] := true;
      end loop;
      from_pos := greatest(e, p + 1);
    end loop;
  end loop;
  while hi < len and marked[hi - base + 1] and marked[hi - base + 2] is true loop
    hi := hi + 1;
  end loop;
  while lo < hi and substr(src, lo, 1) ~ '\s' loop
    lo := lo + 1;
  end loop;
  if lo > 1 then
    result := '…';
  end if;
  for i in lo .. hi loop
    if coalesce(marked[i - base + 1], false) <> bold then
      result := result || case when bold then '</b>' else '<b>' end;
      bold := not bold;
    end if;
    result := result || app_hidden.search_escape_html(substr(src, i, 1));
  end loop;
  if bold then
    result := result || '</b>';
  end if;
  return pg_catalog.rtrim(result) || case when hi < len then '…' else '' end;
end;
$$;

-- The parts of each hyphenated compound among lexemes, each compound's as
-- a phrase, ORed: ts_headline marks no compound whole ("wi-fi" in "Wi-Fi"),
-- but marks its parts. Null when none is a compound.
create function app_hidden.search_compound_parts(lexemes text[]) returns tsquery
language plpgsql immutable parallel safe
set search_path = ''
as $$
begin
  return (select pg_catalog.string_agg(
                   '(' || pg_catalog.phraseto_tsquery('simple'::regconfig, pg_catalog.replace(l, '-', ' '))::text || ')', ' | ')::tsquery
          from unnest(lexemes) l where l ~ '^[^-]+(-[^-]+)+$');
end;
$$;

-- q, and the words of a scene (tsv) that are forms of the query's stems
-- (stems) in the scene's own stemming configuration, as written: what its
-- snippet marks. A stem as a prefix would also mark words that only begin
-- with it ("car" marking "career"). Only words that begin where the stem's
-- words begin (search_stem_start) are stemmed to check, words with a letter
-- the configuration may fold first ("école" has the stem "ecol" in
-- app_hidden.french_folded; Latin letters with marks, and Cyrillic ё), and
-- words of other scripts that begin with the stem's letter (the Greek
-- stemmer drops the accent: "σπίτια" has the stem "σπιτ").
create function app_hidden.search_snippet_query(q tsquery, tsv tsvector, config regconfig, stems text[]) returns tsquery
language plpgsql immutable parallel safe
as $$
declare
  forms text[] := '{}';
  extra tsquery;
  lw text;
  starts text[];
  ascii boolean;
begin
  if coalesce(cardinality(stems), 0) = 0 or config is null or config = 'pg_catalog.simple'::regconfig then
    return q;
  end if;
  -- Once per call, and the letter tests only for words beyond ASCII: this
  -- loop runs for every word of every hit, ~55 of them in 30 s of speech
  -- (150 us a hit before, 100 after; BENCHMARKS.md). A loop, not a query
  -- (a query starts an executor on every call), and no SET clause, every
  -- name qualified (it saved and restored search_path on every call): 89
  -- -> 69 us a hit of the benchmark's 12-word scenes, 117 -> 88 of 70 words.
  starts := '{}';
  for i in 1 .. cardinality(stems) loop
    starts[i] := app_hidden.search_stem_start(stems[i]);
  end loop;
  foreach lw in array pg_catalog.tsvector_to_array(tsv) loop
    ascii := pg_catalog.octet_length(lw) = pg_catalog.char_length(lw);
    for i in 1 .. cardinality(stems) loop
      if (pg_catalog.starts_with(lw, starts[i])
          or (not ascii and (lw ~ '[\u00c0-\u024f\u0451]'
                             or (lw ~ '^[^\x01-\x7f]' and pg_catalog.left(lw, 1) = pg_catalog.left(stems[i], 1)))))
         and stems[i] = any(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(config, lw))) then
        forms := forms || lw;
        exit;
      end if;
    end loop;
  end loop;
  if cardinality(forms) = 0 then
    return q;
  end if;
  extra := app_hidden.search_tsquery(forms, '', true);
  -- Per hit, so a call only where a form is a compound.
  if pg_catalog.strpos(pg_catalog.array_to_string(forms, ' '), '-') > 0 then
    extra := coalesce(extra || app_hidden.search_compound_parts(forms), extra);
  end if;
  return case when q is null then extra else q || extra end;
end;
$$;

-- A short excerpt: the transcript around the matches, or the on-screen text
-- when only it matches; the opening words when nothing matches (a scene found
-- by its picture). tsv, the scene's stored one (transcript A, on-screen text
-- B), says which of the two matches without parsing them again: each parse
-- of 30 s of speech costs ~65 us, and a hit took up to three before
-- ts_headline's own (BENCHMARKS.md). No SET clause, like
-- search_snippet_query: every name is qualified.
create function app_hidden.search_snippet(transcript text, ocr_text text, q tsquery, tsv tsvector)
returns text
language plpgsql immutable parallel safe
as $$
declare
  said boolean := coalesce(transcript <> '' and pg_catalog.ts_filter(tsv, '{a}') @@ q, false);
  shown boolean := coalesce(ocr_text <> '' and pg_catalog.ts_filter(tsv, '{b}') @@ q, false);
  from_transcript boolean := coalesce(transcript, '') <> '' and (said or not shown);
  src text := case when from_transcript then transcript else ocr_text end;
  -- Chinese or Japanese: no spaces to count words by.
  cjk boolean := src ~ ('[' || app_hidden.cjk_letters() || ']');
  marked text;
begin
  if coalesce(src, '') = '' then
    return null;
  end if;
  if q is not null and cjk then
    -- search_highlight finds the matches itself (null when there are none):
    -- testing the text's tsvector first would cut it into pairs once more.
    marked := app_hidden.search_highlight(src, q);
    if marked is not null then
      return marked;
    end if;
  elsif (from_transcript and said) or (not from_transcript and shown) then
    return pg_catalog.ts_headline('pg_catalog.simple'::regconfig, app_hidden.search_escape_html(src), q,
      'StartSel=<b>, StopSel=</b>, MaxWords=24, MinWords=8, ShortWord=1, MaxFragments=2, FragmentDelimiter=" … "');
  end if;
  -- No match: the opening words (characters, where there are no spaces).
  src := pg_catalog.array_to_string((pg_catalog.regexp_split_to_array(pg_catalog.btrim(src), '\s+'))[1:16], ' ');
  return app_hidden.search_escape_html(case when cjk and char_length(src) > 60 then pg_catalog.left(src, 60) || '…' else src end);
end;
$$;

-- The people seen in each scene of a page, as [{id, name}] (named first); a
-- scene with nobody in it has no row. One statement for the page: called
-- once per hit, the lookup cost a function call and an executor start each
-- (55 us a hit, a twentieth of a 30-scene user's search; BENCHMARKS.md). Its
-- query plans the same for every page (index probes by scene), so it is
-- planned once per connection whatever plan mode its caller is in.
create function app_hidden.search_persons_of(scene_ids uuid[], owner_id uuid)
returns table (scene_id uuid, persons jsonb)
language plpgsql stable parallel safe
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  select f.scene_id,
         pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', p.id, 'name', p.name)
                              order by p.name is null, p.name, p.id)
    from (select distinct fc.scene_id, fc.person_id from app_public.faces fc
           where fc.scene_id = any(search_persons_of.scene_ids) and fc.owner_id = search_persons_of.owner_id
             and fc.person_id is not null) f
    join app_public.persons p on p.id = f.person_id and p.owner_id = search_persons_of.owner_id
   group by f.scene_id;
end;
$$;

-- The caller's scenes whose on-screen text matches a query word only
-- fuzzily (strict trigram word similarity of at least
-- pg_trgm.strict_word_similarity_threshold, as search_scenes sets it), best
-- first, but those in `exclude`, at most n; within the videos asked for and
-- a person's scenes (person_many), for a library of more than a few
-- thousand scenes. Security definer, reading only the caller's scenes
-- (auth.uid()) itself: under row security the planner may not evaluate
-- pg_trgm's operators, which are not leakproof, before the policy's qual, so
-- it never used the trigram index and compared every scene of the library
-- (a word the library does not have, "elephant": 48 ms at 47k scenes, two
-- such words 94, growing with the library). Plpgsql, planned for the call
-- at hand like its caller's statements around it.
create function app_hidden.search_ocr_fuzzy(
  words text[], fuzzy boolean[], video_ids uuid[], person_many uuid[], exclude uuid[], n int)
returns setof uuid
language plpgsql stable security definer
set search_path = ''
as $$
begin
  return query
  select f.id from (
    select s.id, max(public.strict_word_similarity(t.w, s.ocr_text)) as sim
    from unnest(search_ocr_fuzzy.words, search_ocr_fuzzy.fuzzy) t(w, fz)
    join app_public.scenes s on t.w operator(public.<<%) s.ocr_text
    where t.fz and s.owner_id = (select auth.uid())
      and (search_ocr_fuzzy.video_ids is null or s.video_id = any(search_ocr_fuzzy.video_ids))
      and (search_ocr_fuzzy.person_many is null
           or s.id in (select pg_catalog.unnest(search_ocr_fuzzy.person_many)))
    group by s.id) f
  where f.id <> all(search_ocr_fuzzy.exclude)
  order by f.sim desc, f.id
  limit search_ocr_fuzzy.n;
end;
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
  snippet text,
  persons jsonb
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
-- The sum of the weights of the words whose bits are set, from the sums
-- of every set of up to 8 words that weights holds (256 entries for words
-- 1-8, then 256 for words 9-16 …; only as many as there are words): one
-- lookup while the words are at most 8. Inlined like search_prefix.
create function app_hidden.search_bits_weight(weights float8[], bits bigint) returns float8
language sql immutable parallel safe
as $$
  select case when bits < 256 then weights[1 + bits]
              else weights[1 + (bits & 255)] + coalesce(weights[257 + ((bits >> 8) & 255)], 0)
                   + coalesce(weights[513 + ((bits >> 16) & 255)], 0) + coalesce(weights[769 + ((bits >> 24) & 255)], 0)
         end
$$;

-- The words part of a scene's text score as the words pass estimates it
-- (before weighting): half the IDF-weighted share of the query words it has
-- (1 written, 0.75 stemmed only; search_bits_weight of its bits), half its
-- rank or stem rank normalised as search_rank does, the stems' at 0.75.
-- rank and stem_rank stay real, as the passes sum them. Inlined like
-- search_bits_weight.
create function app_hidden.search_word_estimate(
  weights float8[], idf_total float8, mask bigint, written bigint, rank real, stem_rank real)
returns float8
language sql immutable parallel safe
as $$
  select 0.5 * (0.75 * app_hidden.search_bits_weight(weights, mask) + 0.25 * app_hidden.search_bits_weight(weights, written))
             / idf_total
         + 0.5 * greatest(rank / (rank + 1), 0.75 * stem_rank / (stem_rank + 1))
$$;

-- The rows of scene_terms in one form's range (kinds row_kind and row_kind2,
-- lexemes lexeme..hi), and the rows of one stem (an exact lexeme of one
-- kind, src from src_from and before src_before), in the search's scope:
-- the videos asked for, and a person's scenes (person_scenes where they are
-- few, person_many where they are many: only in plans made for the search
-- at hand, where it is a constant that is hashed; in a generic plan, = any
-- would compare each row with every scene of the list). Each is a subquery
-- of its own (offset 0), so its plan is one index range scan for any owner:
-- planned for the unknown owner of a generic plan, a join of the forms with
-- scene_terms read every term of the owner's library and filtered them. SQL
-- with no SET clause, so they are inlined into the statements that read
-- them (search_postings, and the words' frequencies in search_scenes).
create function app_hidden.search_range_rows(
  uid uuid, row_kind "char", row_kind2 "char", lexeme text, hi text, video_ids uuid[], person_many uuid[], person_scenes uuid[])
returns table (scene_id uuid, kind "char", impact real)
language sql stable parallel safe
as $$
  select t.scene_id, t.kind, t.impact from app_hidden.scene_terms t
  where t.owner_id = search_range_rows.uid and t.kind in (search_range_rows.row_kind, search_range_rows.row_kind2)
    and t.lexeme >= search_range_rows.lexeme collate "C" and t.lexeme <= search_range_rows.hi collate "C"
    and (search_range_rows.video_ids is null or t.video_id = any(search_range_rows.video_ids))
    and (search_range_rows.person_scenes is null or t.scene_id = any(search_range_rows.person_scenes))
    and (search_range_rows.person_many is null or coalesce(t.scene_id = any(search_range_rows.person_many), false))
  offset 0
$$;

create function app_hidden.search_stem_rows(
  uid uuid, row_kind "char", lexeme text, src_from text, src_before text, video_ids uuid[], person_many uuid[])
returns table (scene_id uuid, kind "char", impact real)
language sql stable parallel safe
as $$
  select t.scene_id, t.kind, t.impact from app_hidden.scene_terms t
  where t.owner_id = search_stem_rows.uid and t.kind = search_stem_rows.row_kind
    and t.lexeme = search_stem_rows.lexeme collate "C"
    and t.src >= search_stem_rows.src_from collate "C" and t.src < search_stem_rows.src_before collate "C"
    and (search_stem_rows.video_ids is null or t.video_id = any(search_stem_rows.video_ids))
    and (search_stem_rows.person_many is null or coalesce(t.scene_id = any(search_stem_rows.person_many), false))
  offset 0
$$;

-- Every row of scene_terms that a query word's forms name, for the words
-- pass of search_scenes (search_scene_matches) and the frequency of a word
-- of several forms: the word's index, whether it comes from a tag label's
-- range, whether the row is the word as written and counts towards the
-- rank, the scene, the kind of row and its impact. From three sources: each
-- form's range (search_scenes' range_ arrays), each stem (stem_ arrays; none
-- for a person in few scenes), and the label words of a person in few
-- scenes, whose scenes' tag rows are read once, by scene, and picked by
-- search_names (tag_ arrays, checked). Inlined like the two above.
create function app_hidden.search_postings(
  uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[],
  range_word int[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[],
  range_surface boolean[], range_ranked boolean[],
  stem_word int[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[],
  tag_word int[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[],
  stemming boolean)
returns table (i int, tag boolean, surface boolean, ranked boolean, scene_id uuid, kind "char", impact real)
language sql stable parallel safe
as $$
  select f.i, f.kind = 't', f.surface, f.ranked, t.scene_id, t.kind, t.impact
  from unnest(search_postings.range_word, search_postings.range_kind, search_postings.range_kind2,
              search_postings.range_lexeme, search_postings.range_hi, search_postings.range_surface,
              search_postings.range_ranked) f(i, kind, kind2, lexeme, hi, surface, ranked)
  cross join lateral app_hidden.search_range_rows(search_postings.uid, f.kind, f.kind2, f.lexeme, f.hi,
                                                  search_postings.video_ids, search_postings.person_many,
                                                  search_postings.person_scenes) t
  union all
  select f.i, false, false, false, t.scene_id, t.kind, t.impact
  from unnest(search_postings.stem_word, search_postings.stem_kind, search_postings.stem_lexeme,
              search_postings.stem_src_from, search_postings.stem_src_before) f(i, kind, lexeme, src_from, src_before)
  cross join lateral app_hidden.search_stem_rows(search_postings.uid, f.kind, f.lexeme, f.src_from, f.src_before,
                                                 search_postings.video_ids, search_postings.person_many) t
  where search_postings.person_scenes is null
  union all
  select f.i, true, false, false, t.scene_id, 't', t.impact
  from unnest(search_postings.tag_word, search_postings.tag_lexeme, search_postings.tag_hi,
              search_postings.tag_check) f(i, lexeme, hi, checked)
  join (
    select t.scene_id, t.lexeme, t.impact from app_hidden.scene_terms t
    where t.owner_id = search_postings.uid and t.kind = 't' and t.scene_id = any(search_postings.person_scenes)
      and (search_postings.video_ids is null or t.video_id = any(search_postings.video_ids))
    offset 0) t on t.lexeme >= f.lexeme collate "C" and t.lexeme <= f.hi collate "C"
  where f.checked
    and app_hidden.search_names(t.lexeme, search_postings.tag_words[f.i], search_postings.label_stems[f.i],
                                search_postings.stemming)
$$;

-- The rows of query word i that search_scenes joins by scene when two words
-- are read as one lexeme each: its written forms' ranges (range_ arrays
-- without tag labels) and its stems, with what the join sums: word_bit
-- where the row is the word as written, its share of the rank and of the
-- stem rank (as search_scene_matches sums them). The rows search_postings
-- gives for that word but the tag labels', one projection fewer a row (two
-- common words' 15,400 rows joined in 14.6 ms instead of 17.0 in psql, ~1
-- ms less a search; BENCHMARKS.md). Inlined like search_postings.
-- The form at ordinal lead (a range of one lexeme, lead_lexeme, of 'w'
-- rows, where the word's rows almost always are) is read as a scan of its
-- own with its flags as plain values; the other forms through the arrays.
-- A row taken through unnest and a lateral subquery, its flags read from
-- it, cost ~0.14 us more (two common words: 13.4 -> 11.4 ms; BENCHMARKS.md).
create function app_hidden.search_word_rows(
  uid uuid, i int, word_bit bigint, lead bigint, lead_lexeme text, lead_surface boolean, lead_ranked boolean,
  range_word int[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[],
  range_surface boolean[], range_ranked boolean[],
  stem_word int[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[])
returns table (scene_id uuid, w bigint, r real, sr real)
language sql stable parallel safe
as $$
  select t.scene_id,
         case when search_word_rows.lead_surface then search_word_rows.word_bit else 0 end,
         case when search_word_rows.lead_ranked then t.impact else 0 end,
         case when search_word_rows.lead_surface then 0 else t.impact end
  from app_hidden.scene_terms t
  where t.owner_id = search_word_rows.uid and t.kind = 'w' and t.lexeme = search_word_rows.lead_lexeme collate "C"
  union all
  select t.scene_id,
         case when t.kind = 'w' and f.surface then search_word_rows.word_bit else 0 end,
         case when t.kind = 'w' and f.ranked then t.impact else 0 end,
         case when t.kind <> 't' and not f.surface then t.impact else 0 end
  from unnest(search_word_rows.range_word, search_word_rows.range_kind, search_word_rows.range_kind2,
              search_word_rows.range_lexeme, search_word_rows.range_hi, search_word_rows.range_surface,
              search_word_rows.range_ranked) with ordinality f(i, kind, kind2, lexeme, hi, surface, ranked, o)
  cross join lateral app_hidden.search_range_rows(search_word_rows.uid, f.kind, f.kind2, f.lexeme, f.hi,
                                                  null, null, null) t
  where f.i = search_word_rows.i and f.kind <> 't' and f.o is distinct from search_word_rows.lead
  union all
  select t.scene_id, 0, 0, t.impact
  from unnest(search_word_rows.stem_word, search_word_rows.stem_kind, search_word_rows.stem_lexeme,
              search_word_rows.stem_src_from, search_word_rows.stem_src_before) f(i, kind, lexeme, src_from, src_before)
  cross join lateral app_hidden.search_stem_rows(search_word_rows.uid, f.kind, f.lexeme, f.src_from, f.src_before,
                                                 null, null) t
  where f.i = search_word_rows.i
$$;

-- What the words pass scores each scene by, per scene with a row in
-- search_postings: which query words it has (bit i-1 for word i) and which
-- of them as written, its search_rank (for the OR of the words as written,
-- the summed impact of the written words matched: each occurrence is a cover
-- of its own), the same for stems, and its best tag (the label's score over
-- its word count). Inlined like search_postings.
create function app_hidden.search_scene_matches(
  uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[],
  range_word int[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[],
  range_surface boolean[], range_ranked boolean[],
  stem_word int[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[],
  tag_word int[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[],
  stemming boolean)
returns table (scene_id uuid, mask bigint, written bigint, rank real, stem_rank real, tag real)
language sql stable parallel safe
as $$
  select p.scene_id,
         coalesce(bit_or(1::bigint << (p.i - 1)) filter (where p.kind <> 't'), 0),
         coalesce(bit_or(1::bigint << (p.i - 1)) filter (where p.kind = 'w' and p.surface), 0),
         coalesce(sum(p.impact) filter (where p.kind = 'w' and p.ranked), 0),
         coalesce(sum(p.impact) filter (where p.kind <> 't' and not p.surface), 0),
         coalesce(max(p.impact) filter (where p.kind = 't'), 0)
  from app_hidden.search_postings(search_scene_matches.uid, search_scene_matches.video_ids,
         search_scene_matches.person_many, search_scene_matches.person_scenes,
         search_scene_matches.range_word, search_scene_matches.range_kind, search_scene_matches.range_kind2,
         search_scene_matches.range_lexeme, search_scene_matches.range_hi, search_scene_matches.range_surface,
         search_scene_matches.range_ranked, search_scene_matches.stem_word, search_scene_matches.stem_kind,
         search_scene_matches.stem_lexeme, search_scene_matches.stem_src_from, search_scene_matches.stem_src_before,
         search_scene_matches.tag_word, search_scene_matches.tag_lexeme, search_scene_matches.tag_hi,
         search_scene_matches.tag_check, search_scene_matches.tag_words, search_scene_matches.label_stems,
         search_scene_matches.stemming) p
  group by p.scene_id
$$;

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
set hnsw.ef_search = 100
set hnsw.max_scan_tuples = 200000
set hnsw.scan_mem_multiplier = 4
set enable_sort = on
set enable_seqscan = on
-- A search is short: JIT compiling its expressions never pays for itself,
-- and a statement costed high (a sort planned while enable_sort is off is
-- costed above 10^10) would be compiled with inlining, 214 ms measured at
-- 100k scenes, against jit_above_cost's default of 100,000.
set jit = off
-- Plan each statement for this caller unless it says otherwise: plpgsql
-- would otherwise switch to cached generic plans in which the owner is an
-- unknown parameter, and a plan made for an owner with few scenes (read all
-- of them) is the wrong one for an owner with many (HNSW walk, index range).
-- The statements whose plan is the same for every caller switch to generic
-- plans below, planned once per connection: planning costs a 30-scene
-- user's search more than running them (BENCHMARKS.md).
set plan_cache_mode = force_custom_plan
-- A query word matches an on-screen word fuzzily when their trigram
-- similarity is at least a third: one wrong letter in a word of five or more
-- ("Laotop", "APRLE"), while "potato" stays apart from "tomato". Strict (whole
-- words), so "nation" does not match inside "presentation".
set pg_trgm.strict_word_similarity_threshold = 0.33
as $$
#variable_conflict use_column
declare
  -- Candidates per source. They never depend on page_size/page_offset, so
  -- the ranked pool (and therefore every page) does not either. Each
  -- candidate costs the fusion a scene row and up to two de-TOASTed vectors,
  -- so the pools are as small as keeps recall@10 against the exact ranking
  -- well above 0.97 (BENCHMARKS.md): vector candidates come in exact distance
  -- order; word candidates are ordered by an estimate of their score, so they
  -- get more. With embeddings spread like real ones (clustered, hundreds of
  -- dimensions), a scene fairly close in both spaces and matching a word
  -- outranks scenes close in one: 50 per space held 0.937 of a 47k-scene
  -- user's exact top 10 (hybrid, 40 queries), 70 held 0.980, 80 0.982, 100
  -- 0.988. Past vec_scope scenes in scope the vector pools grow in
  -- proportion, up to vec_pool_max (at 147k, 50 held 0.938, 100 1.000).
  -- A person's scenes are a share of the library, and a walk filtered to
  -- them visits several graph nodes per candidate it keeps: for a person in
  -- 9,496 of those 47k scenes 40 held 1.000 (100 queries), 50 cost a
  -- fourteenth more time and 80 a fifth.
  vec_pool int := 80;
  vec_pool_person constant int := 40;
  vec_scope constant int := 75000;
  vec_pool_max constant int := 200;
  word_pool constant int := 60;
  tag_pool constant int := 50;
  -- Up to this many scenes in scope, vectors are compared exactly instead
  -- of through HNSW: it costs a few milliseconds, and unlike a graph walk it
  -- cannot miss a scene the graph happens not to reach. That matters most
  -- to a user with few scenes among many users' (and to narrow video_ids).
  exact_below constant int := 2000;
  -- Up to this many scenes of a person, the words pass reads their scenes'
  -- terms (by scene) rather than the words' rows across the library, kept
  -- where they are the person's. The terms of each of the person's scenes
  -- are read once per form of the query's words: for two common words, at
  -- 189 scenes that took 16 ms against 11 for the rows, at 1,900 52 against
  -- 13, at 20 5 against 9 (BENCHMARKS.md).
  words_by_scene_below constant int := 100;
  exact boolean;
  text_ids uuid[];
  image_ids uuid[];
  text_d float8[];
  image_d float8[];
  uid uuid := (select auth.uid());
  words text[] := app_hidden.search_query_words(search_scenes.query);
  tsq_text tsquery;
  tsq_tags tsquery;
  tsq_plain tsquery;
  word_queries tsquery[];
  -- Every form of the query words: stemmed in the stemming configurations
  -- of the caller's videos (tsv_stem), and fuzzily against on-screen text
  -- for words of four letters or more (shorter ones have too few trigrams
  -- to tell a misread from another word).
  stem_configs regconfig[];
  -- Whether a language in scope has a stemmer (see search_prefix).
  stemming boolean;
  stem_queries tsquery[];
  fuzzy boolean[];
  tsq_stem tsquery;
  tsq_any tsquery;
  -- The stems of the query words, for marking their forms in snippets.
  snippet_stems text[];
  -- Inverse document frequency of each query word among the caller's scenes
  -- in scope: a word found in few scenes says more than one found in many.
  word_idf float8[];
  idf_total float8;
  -- Per query word: whether its forms are one lexeme read exactly, so no
  -- scene has two of its rows (its document frequency is its row count).
  single boolean[];
  -- The IDF sums of sets of query words, 8 bits at a time (search_bits_weight).
  word_weights float8[];
  -- Each query word's document frequency (its scenes in scope).
  word_df float8[];
  -- The bits of every query word where the scenes with all of them are
  -- ranked first, alone (else 0), the estimate of the last of them kept,
  -- and the highest tag score of a scene that is not a tag candidate.
  word_mask bigint;
  word_floor float8;
  tag_rest float8;
  -- The forms' ranges without the tag labels', and the scenes with every
  -- word with what their estimates need but the tag.
  wr_word int[];
  wr_kind "char"[];
  wr_kind2 "char"[];
  wr_lexeme text[];
  wr_hi text[];
  wr_surface boolean[];
  wr_ranked boolean[];
  all_ids uuid[];
  all_written bigint[];
  all_rank real[];
  all_stem_rank real[];
  -- Each of the two joined words' lead form (search_word_rows): its
  -- ordinal in the wr_ arrays, lexeme and flags.
  lead_a bigint;
  lead_a_lexeme text;
  lead_a_surface boolean;
  lead_a_ranked boolean;
  lead_b bigint;
  lead_b_lexeme text;
  lead_b_surface boolean;
  lead_b_ranked boolean;
  -- Whether two words are joined before their frequencies are counted,
  -- and the scenes each must be in for that.
  join_first boolean;
  join_floor bigint;
  -- The highest rank and stem rank of a scene with some of the words.
  some_rank float8;
  some_stem_rank float8;
  scope_size bigint;
  -- The caller's scenes in scope (video_ids), summed from the per-video
  -- counts a trigger keeps (a few hundred rows instead of one index entry
  -- per scene): the IDF scope without a person, whether vectors are compared
  -- exactly, and how large the vector pools are.
  library_size bigint;
  -- Every form of every query word, as parallel arrays. Read as lexeme
  -- ranges: the word's index, the kinds of row (two, maybe the same), the
  -- range, whether it is the word as written, whether its occurrences count
  -- towards the rank.
  -- Read as stems: the word's index, the kind of row, the stem, and the
  -- range of src to read (from, before).
  range_word int[];
  range_kind "char"[];
  range_kind2 "char"[];
  range_lexeme text[];
  range_hi text[];
  range_surface boolean[];
  range_ranked boolean[];
  -- Each query word's English stem and where the label words of that stem
  -- begin (search_names), and the label words' ranges of tag rows: the
  -- word's index, the range, whether search_names must pick its rows.
  tag_words text[];
  -- The other spelling of a query word that is a hyphenated compound, or
  -- could be one, where the caller's scenes have it (written or stemmed):
  -- the word's index, that lexeme ("e-mail" for "email", "wifi" for
  -- "wi-fi") and its range, read as written.
  joined_word int[];
  joined_lexeme text[];
  joined_hi text[];
  -- Those and the other spellings of the word's stems, read as stems.
  stem_joined_word int[];
  stem_joined_lexeme text[];
  -- Each word and its search_forms, space-separated: what its stems are made of.
  word_forms text[];
  label_stems text[];
  label_starts text[];
  tag_word int[];
  tag_lexeme text[];
  tag_hi text[];
  tag_check boolean[];
  stem_word int[];
  stem_kind "char"[];
  stem_lexeme text[];
  stem_src_from text[];
  stem_src_before text[];
  word_ids uuid[];
  tag_ids uuid[];
  qv_text vector;
  qv_image vector;
  -- The same in half precision, for the exact comparisons.
  qh_text halfvec;
  qh_image halfvec;
  text_videos uuid[];
  image_videos uuid[];
  -- With a person in at most exact_below scenes (in scope): those scenes.
  -- The vector candidates and on-screen text matched fuzzily are then
  -- driven from them (index probes) instead of filtering the owner's by
  -- them afterwards.
  person_scenes uuid[];
  -- The video of each of those scenes.
  person_videos uuid[];
  -- With a person in at most words_by_scene_below: those scenes, whose
  -- terms the words pass reads.
  word_scenes uuid[];
  -- With a person in more: all of their scenes, read once, which the words
  -- pass and the HNSW walks keep (a semi-join to faces in each of them read
  -- the person's faces again, three or four times a search). Each statement
  -- tests a row against it as = any(person_many), in a plan made for the
  -- search at hand, where the list is a constant that PostgreSQL hashes once
  -- per statement: 0.07 us a row, against 0.36 for the hashed subplan over
  -- unnest it was (BENCHMARKS.md). Under coalesce, so it is never an index
  -- condition: a btree would descend once per scene of the list.
  person_many uuid[];
  -- Without words, a person in more than exact_below scenes: their scenes
  -- are not read, and the HNSW walks probe faces for each candidate. A walk
  -- passes a few hundred to keep vec_pool_person (for 9,496 of 47k scenes,
  -- ~470 and ~390), where reading and hashing all of them first cost more
  -- (23.8 against 17.5 ms p50 for vectors only; BENCHMARKS.md).
  person_probed boolean := false;
  -- Listing a person's scenes a page at a time.
  vid uuid;
  in_video bigint;
  taken bigint;
  to_skip bigint := page_offset;
  to_take bigint := page_size;
  -- Through numeric so 0.35::real counts as 0.35, not 0.3499999940395355.
  wt float8 := w_text::numeric::float8;
  wv float8 := w_vision::numeric::float8;
  wg float8 := w_tags::numeric::float8;
begin
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
    -- Normalised: cosine ignores a vector's length, but pgvector's float32
    -- sums do not (numbers past ~1e19 made the query similar to nothing, under
    -- ~1e-20 to everything), nor does the half-precision copy below (out of
    -- range past 65504): a query of any length ranks as its direction does.
    qv_text := l2_normalize(text_embedding::vector(1024));
    if vector_norm(qv_text) = 0 then
      raise exception 'text_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if image_embedding is not null then
    if array_ndims(image_embedding) is distinct from 1 or cardinality(image_embedding) <> 1152 then
      raise exception 'image_embedding must have 1152 numbers (got %)', cardinality(image_embedding) using errcode = '22023';
    end if;
    qv_image := l2_normalize(image_embedding::vector(1152));
    if vector_norm(qv_image) = 0 then
      raise exception 'image_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if uid is null then
    return;
  end if;
  -- A person filter restricts every candidate query below to the scenes
  -- where one of the person's faces was seen, read once from the faces'
  -- index (a person with few scenes is cheap and never a scan of all scenes).
  if search_scenes.person_id is not null then
    if not exists (select from app_public.persons p where p.id = search_scenes.person_id and p.owner_id = uid) then
      return;
    end if;
    select coalesce(array_agg(x.scene_id), '{}'), coalesce(array_agg(x.video_id), '{}')
      into person_scenes, person_videos
      -- In the order of faces' (person, owner, video, scene) index, so a
      -- limit stops its read: distinct pairs in another order were hashed
      -- from all of a person's faces first (+1.7 ms for 9,496 scenes). A
      -- search without words needs no more than whether they are many (the
      -- list below, and the vector walks, which then probe faces for each
      -- scene they pass), so it stops there; one with words reads them all,
      -- once, for the words pass.
      from (select distinct f.video_id, f.scene_id from app_public.faces f
            where f.owner_id = uid and f.person_id = search_scenes.person_id and f.scene_id is not null
              and (video_ids is null or f.video_id = any(video_ids))
            order by f.video_id, f.scene_id
            limit case when cardinality(words) = 0 then exact_below + 1 end) x;
    if cardinality(person_scenes) > exact_below then
      -- Without words the list was cut short: the walks probe faces instead.
      person_probed := cardinality(words) = 0;
      if not person_probed then
        person_many := person_scenes;
      end if;
      person_scenes := null;
      person_videos := null;
    end if;
    -- No words and no vectors: every scene of the person, in time order per video.
    if cardinality(words) = 0 and qv_text is null and qv_image is null then
      if person_scenes is not null then
        -- A few scenes: sort them.
        return query
        with page as (
          select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text, v.created_at
            from app_public.scenes s
            join app_public.videos v on v.id = s.video_id and v.owner_id = uid
           where s.owner_id = uid and s.id = any(person_scenes)
           order by v.created_at, v.id, s.start_s, s.id
           limit page_size offset page_offset
        )
        select pg.id, pg.video_id, pg.start_s, pg.end_s, 1::float8, 0::float8, 0::float8, 0::float8,
               app_hidden.search_snippet(pg.transcript, pg.ocr_text, null, null),
               coalesce(pp.persons, '[]'::jsonb)
          from page pg
          left join app_hidden.search_persons_of(array(select x.id from page x), uid) pp on pp.scene_id = pg.id
         order by pg.created_at, pg.video_id, pg.start_s, pg.id;
      else
        -- Many: walk the person's videos in order and take scenes from each
        -- until the page is full, instead of sorting all of the person's
        -- scenes (220 ms for 29k at 300k). A loop rather than one statement:
        -- the planner then cannot choose to read every video before sorting,
        -- which it did when it guessed the person rare. Videos before the
        -- page are skipped by counting, not read.
        for vid in
          select v.id from app_public.videos v
           where v.owner_id = uid and (video_ids is null or v.id = any(video_ids))
             and exists (select from app_public.faces f
                          where f.person_id = search_scenes.person_id and f.owner_id = uid and f.video_id = v.id)
           order by v.created_at, v.id
        loop
          -- Counted only while the page has not begun (page 1 counts nothing).
          if to_skip > 0 then
            in_video := (select count(*) from app_public.scenes s
                          where s.owner_id = uid and s.video_id = vid
                            and s.id in (select f.scene_id from app_public.faces f
                                          where f.person_id = search_scenes.person_id and f.owner_id = uid and f.video_id = vid));
            if to_skip >= in_video then
              to_skip := to_skip - in_video;
              continue;
            end if;
          end if;
          return query
          with page as (
            select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text
              from app_public.scenes s
             where s.owner_id = uid and s.video_id = vid
               and s.id in (select f.scene_id from app_public.faces f
                             where f.person_id = search_scenes.person_id and f.owner_id = uid and f.video_id = vid)
             order by s.start_s, s.id
             limit to_take offset to_skip
          )
          select pg.id, pg.video_id, pg.start_s, pg.end_s, 1::float8, 0::float8, 0::float8, 0::float8,
                 app_hidden.search_snippet(pg.transcript, pg.ocr_text, null, null),
                 coalesce(pp.persons, '[]'::jsonb)
            from page pg
            left join app_hidden.search_persons_of(array(select x.id from page x), uid) pp on pp.scene_id = pg.id
           order by pg.start_s, pg.id;
          get diagnostics taken = row_count;
          to_take := to_take - taken;
          to_skip := 0;
          exit when to_take <= 0;
        end loop;
      end if;
      return;
    end if;
    if cardinality(person_scenes) > words_by_scene_below then
      person_many := person_scenes;
    elsif person_scenes is not null then
      word_scenes := person_scenes;
    end if;
  end if;

  -- The per-search setup (library size, languages, the words' forms) reads a
  -- few rows of small tables or none: planning it on every call cost more
  -- than running it (0.6-0.8 ms of a 30-scene user's 4-7; BENCHMARKS.md).
  perform set_config('plan_cache_mode', 'force_generic_plan', true);
  library_size := (select coalesce(sum(c.scenes), 0) from app_hidden.video_scene_counts c
                   where c.owner_id = uid and (video_ids is null or c.video_id = any(video_ids)));
  -- Languages first: stem_config runs once per language, not once per video.
  if video_ids is null then
    -- The library's few languages, one descent of videos' (owner, language)
    -- index each, and whether a video has none yet (English is assumed):
    -- reading every video for them took 0.74 ms at 792 videos, this ~0.05.
    stem_configs := array(
      with recursive l as (
        (select v.language from app_public.videos v where v.owner_id = uid order by v.language limit 1)
        union all
        select (select v.language from app_public.videos v
                 where v.owner_id = uid and v.language > l.language order by v.language limit 1)
        from l where l.language is not null)
      select distinct app_hidden.stem_config(x.language)
      from (select l.language from l where l.language is not null
            union all
            select null where exists (select from app_public.videos v where v.owner_id = uid and v.language is null)) x);
  else
    stem_configs := array(select distinct app_hidden.stem_config(l.language) from (
                            select distinct v.language from app_public.videos v
                            where v.owner_id = uid and v.id = any(video_ids)) l);
  end if;
  stemming := app_hidden.search_stemming(stem_configs);
  word_forms := app_hidden.search_word_forms(words);
  -- Compounds are written with a hyphen or without ("e-mail" and "email",
  -- "Wi-Fi" and "wifi", "t-shirt", "on-line"), and the parser keeps the
  -- hyphenated one whole (with its parts). A query word finds the other
  -- spelling where the caller's scenes have it: a compound's letters joined,
  -- a word of 4 to 24 letters split by one hyphen at each place but before
  -- its last letter (n - 2 places for n letters), each probed once among
  -- the written and stemmed terms together. The other spelling of the word
  -- itself is read as written, and as a stem (the stemmed "e-mails" for
  -- "email"); the other spelling of one of its stems as a stem ("e-mail"
  -- for "emails", by the stem "email"). Either read finds nothing where the
  -- library has only the other kind. Only for the first 8 words: a pasted
  -- paragraph of 31 words took 5.5 ms longer with every word probed. Not
  -- for Korean, Chinese or Japanese, which are not written so.
  -- A number is its own compound: the parser keeps a hyphen or a minus
  -- before it ("COVID-19", "Windows-10", "10-19" hold the word "-19",
  -- "-10"), so "covid 19" found only "covid" and "GPT-4" nothing by "gpt 4".
  -- A number finds its signed form, and a signed one the number; numbers
  -- are never split (no hyphenated lexeme has digits on both sides).
  -- Each candidate is probed as a subplan with a limit, its bounds read
  -- from the materialized list: computed in the probe's index condition,
  -- they would wait for the row security qual (|| is not leakproof) and the
  -- probe would read the caller's terms from the bound on.
  with c as materialized (
    select b.i, x.v, bool_or(b.written) as written,
           case when app_hidden.search_prefix(x.v, stemming) then x.v || U&'\+10FFFF' else x.v end as hi
    from (
      select w.i::int as i, w.w as base, true as written
      from unnest(words[1:8]) with ordinality w(w, i)
      union
      select w.i::int, l, false
      from unnest(word_forms[1:8]) with ordinality w(f, i), unnest(stem_configs) cf,
           unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(cf, w.f))) l
      where stemming and cf <> 'simple'::regconfig
    ) b
    cross join lateral (
      select pg_catalog.replace(b.base, '-', '') as v
      where pg_catalog.strpos(b.base, '-') > 1
      union all
      select pg_catalog.left(b.base, k) || '-' || pg_catalog.substr(b.base, k + 1)
      from generate_series(1, pg_catalog.char_length(b.base) - 2) k
      where pg_catalog.strpos(b.base, '-') = 0 and pg_catalog.char_length(b.base) between 4 and 24
        and b.base !~ ('[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f' || app_hidden.cjk_letters() || ']')
        and b.base !~ '^[0-9.]+$'
      union all
      select case when pg_catalog.left(b.base, 1) = '-' then pg_catalog.substr(b.base, 2) else '-' || b.base end
      where b.base ~ '^-?[0-9]+([.][0-9]+)?$') x
    where x.v <> all (words)
    group by b.i, x.v
  ), found as (
    select c.i, c.v, c.hi, c.written
    from c
    where (select true from app_hidden.scene_terms t
           where t.owner_id = uid and t.kind in ('s', 'w')
             and t.lexeme >= c.v collate "C" and t.lexeme <= c.hi collate "C"
           limit 1)
  )
  select coalesce(array_agg(f.i order by f.i, f.v) filter (where f.written), '{}'),
         coalesce(array_agg(f.v order by f.i, f.v) filter (where f.written), '{}'),
         coalesce(array_agg(f.hi order by f.i, f.v) filter (where f.written), '{}'),
         coalesce(array_agg(f.i order by f.i, f.v) filter (where stemming), '{}'),
         coalesce(array_agg(f.v order by f.i, f.v) filter (where stemming), '{}')
    into joined_word, joined_lexeme, joined_hi, stem_joined_word, stem_joined_lexeme
    from found f;
  tsq_text := app_hidden.search_tsquery(words || joined_lexeme, 'AB', stemming);
  -- The snippet's: a compound found for a word without its hyphen is marked
  -- by its parts (ts_headline marks no compound whole).
  tsq_plain := app_hidden.search_tsquery(words || joined_lexeme, '', stemming);
  tsq_plain := coalesce(tsq_plain || app_hidden.search_compound_parts(joined_lexeme), tsq_plain);
  word_queries := array(select app_hidden.search_tsquery(
                                 array[w.w] || array(select j.v from unnest(joined_word, joined_lexeme) j(i, v) where j.i = w.i),
                                 'AB', stemming)
                        from unnest(words) with ordinality w(w, i) order by w.i);
  -- A compound's other spellings read as stems are matched as stems are:
  -- exact lexemes of tsv_stem (there are none unless stemming is true).
  stem_queries := array(select coalesce(s.sq || x.q, s.sq, x.q)
                        from unnest(word_forms) with ordinality w(f, i)
                        cross join lateral (select app_hidden.search_stem_tsquery(array[w.f], stem_configs, 'AB') as sq) s
                        cross join lateral (
                          select app_hidden.search_tsquery(array_agg(j.v), 'AB', true) as q
                          from unnest(stem_joined_word, stem_joined_lexeme) j(i, v) where j.i = w.i) x
                        order by w.i);
  tsq_stem := app_hidden.search_stem_tsquery(word_forms, stem_configs, 'AB');
  tsq_stem := coalesce(tsq_stem || app_hidden.search_tsquery(stem_joined_lexeme, 'AB', true),
                       tsq_stem, app_hidden.search_tsquery(stem_joined_lexeme, 'AB', true));
  snippet_stems := array(select distinct l from (
                           select l from unnest(word_forms) w, unnest(stem_configs) c,
                                         unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(c, w))) l
                           where c <> 'simple'::regconfig
                           union all
                           select unnest(stem_joined_lexeme)) x);
  fuzzy := array(select char_length(w) >= 4 from unnest(words) w);
  tsq_any := case when tsq_stem is null then tsq_text else tsq_text || tsq_stem end;
  tag_words := app_hidden.search_tag_words(word_forms);
  -- The label words each query word or its search_forms names (search_names:
  -- tag_words, each form after the words), read as exact
  -- keys of the caller's tag rows like the words: found by walking the
  -- distinct lexemes the word (as a prefix) or its stem begins, one index
  -- probe each, at most 100 per word (the tagger's labels have ~450 words).
  -- For a person in few scenes the words pass reads only their scenes'
  -- terms, so there each word's range of label words is read as it is and
  -- search_names picks the rows, and every candidate's tags are scored.
  select coalesce(array_agg(x.st order by x.i), '{}'),
         coalesce(array_agg(app_hidden.search_label_start(x.w, x.st, stemming) order by x.i), '{}')
    into label_stems, label_starts
    from (select w.w, w.i, app_hidden.search_label_stem(w.w) as st from unnest(tag_words) with ordinality w(w, i)) x;
  if word_scenes is null then
    -- Each walk's upper bound is computed before it, not in its index
    -- condition: there an expression that is not leakproof (||) would wait
    -- for the row security qual, leaving the bound a filter.
    select coalesce(array_agg(x.i order by x.i, x.lexeme), '{}'), coalesce(array_agg(x.lexeme order by x.i, x.lexeme), '{}')
      into tag_word, tag_lexeme
      from (
        select distinct w.i::int as i, l.lexeme
        from unnest(tag_words, label_stems, label_starts, array(select x || U&'\+10FFFF' from unnest(label_starts) x))
               with ordinality w(w, stem, start, hi, i)
        cross join lateral (
          select w.w as lexeme
          union all
          (with recursive walk(lexeme) as (
             select (select min(t.lexeme) from app_hidden.scene_terms t
                      where t.owner_id = uid and t.kind = 't'
                        and t.lexeme >= w.start collate "C" and t.lexeme <= w.hi collate "C")
             where w.start is not null
             union all
             select (select min(t.lexeme) from app_hidden.scene_terms t
                      where t.owner_id = uid and t.kind = 't'
                        and t.lexeme > walk.lexeme collate "C" and t.lexeme <= w.hi collate "C")
             from walk where walk.lexeme is not null)
           select walk.lexeme from walk where walk.lexeme is not null limit 100)) l
        where app_hidden.search_names(l.lexeme, w.w, w.stem, stemming)) x;
    tag_hi := tag_lexeme;
    tag_check := array_fill(false, array[cardinality(tag_lexeme)]);
    -- Whether a scene may have a tag the query names (a superset: a Korean
    -- label word is a prefix here too).
    tsq_tags := app_hidden.search_tsquery(tag_lexeme, 'C', true);
  else
    select array_agg(x.i), array_agg(x.lexeme), array_agg(x.hi), array_agg(x.checked)
      into tag_word, tag_lexeme, tag_hi, tag_check
      from (select w.i::int as i, w.w as lexeme, w.w as hi, false as checked
              from unnest(tag_words) with ordinality w(w, i)
            union all
            select w.i::int, w.start, w.start || U&'\+10FFFF', true
              from unnest(label_starts) with ordinality w(start, i) where w.start is not null) x;
    tsq_tags := null;
  end if;
  -- The same forms as key ranges of scene_terms (C collation, so a prefix
  -- is a byte range). Word i as written: the range [lexeme, hi] of 'w'
  -- rows (a prefix where search_prefix says so); the label words it names:
  -- their 't' rows. Prefix ranges nest or are disjoint; a written form
  -- inside another word's range ("cars" with "car") is not ranked, so each
  -- written occurrence counts once, as in search_rank. Each stem of word i:
  -- its 'w' rows unless the written range holds them, and its 's' rows but
  -- those of scenes the written range finds already: for a prefix, those
  -- whose written sources all start with the word (src, their common
  -- prefix, in the written range); for a word that is no prefix, those
  -- whose one source is the word itself (src, that word and a space). That
  -- leaves two ranges of src, before the word (or that src) and after.
  -- A space sorts before every character a word has but control
  -- characters, so no other src lies between it and the word followed by
  -- "!". U+10FFFF twice ends every real string.
  -- For a person in few scenes, stems are read as ranges too, with every
  -- src: exact lexemes look cheap to the planner, which would then read a
  -- common stem's rows across the whole library rather than the terms of
  -- the person's scenes.
  with w as (
    select t.i::int as i, t.w as lexeme, t.wf as forms,
           case when app_hidden.search_prefix(t.w, stemming) then t.w || U&'\+10FFFF' else t.w end as hi
    from unnest(words, word_forms) with ordinality t(w, wf, i)
  ), stems as (
    select distinct w.i, w.lexeme as word, w.hi as word_hi, l as lexeme,
           l >= w.lexeme collate "C" and l <= w.hi collate "C" as written
    from w, unnest(stem_configs) c, unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(c, w.forms))) l
    where c <> 'simple'::regconfig
    union
    -- A compound's other spelling, stemmed: written, where the word's other
    -- spelling as written reads its 'w' rows.
    select w.i, w.lexeme, w.hi, j.v,
           exists (select from unnest(joined_word, joined_lexeme) jw(i, v) where jw.i = j.i and jw.v = j.v)
    from w join unnest(stem_joined_word, stem_joined_lexeme) j(i, v) on j.i = w.i
  ), ranges as (
    select w.i, 'w'::"char" as kind, 'w'::"char" as kind2, w.lexeme, w.hi, true as surface,
           not exists (select from w o where o.i <> w.i and o.lexeme <= w.lexeme collate "C" and w.hi <= o.hi collate "C") as ranked
    from w
    union all
    -- The other spelling of a compound, as written.
    select j.i, 'w', 'w', j.lexeme, j.hi, true,
           not exists (select from w o where o.i <> j.i and o.lexeme <= j.lexeme collate "C" and j.hi <= o.hi collate "C")
    from unnest(joined_word, joined_lexeme, joined_hi) j(i, lexeme, hi)
    union all
    select tl.i, 't', 't', tl.lexeme, tl.hi, false, false
    from unnest(tag_word, tag_lexeme, tag_hi, tag_check) tl(i, lexeme, hi, checked) where not tl.checked
    union all
    select st.i, case when st.written then 's'::"char" else 'w' end, 's', st.lexeme, st.lexeme, false, false
    from stems st where word_scenes is not null
  ), exact as (
    select st.i, 'w'::"char" as kind, st.lexeme, '' as src_from, U&'\+10FFFF\+10FFFF' as src_before
    from stems st where not st.written
    union all
    select st.i, 's', st.lexeme, '', case when st.word_hi <> st.word then st.word else st.word || ' ' end
    from stems st
    union all
    select st.i, 's', st.lexeme, case when st.word_hi <> st.word then st.word_hi else st.word || '!' end,
           U&'\+10FFFF\+10FFFF'
    from stems st
  )
  select r.*, e.*
    into range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
         stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before
    from (select array_agg(x.i), array_agg(x.kind), array_agg(x.kind2), array_agg(x.lexeme), array_agg(x.hi),
                 array_agg(x.surface), array_agg(x.ranked)
          from ranges x) r,
         (select array_agg(x.i), array_agg(x.kind), array_agg(x.lexeme), array_agg(x.src_from), array_agg(x.src_before)
          from exact x where word_scenes is null) e;
  -- The words pass reads each form's range of scene_terms in a subquery of
  -- its own (lateral, offset 0), so its plan is one index range scan per
  -- form for any owner: planned for the unknown owner of a generic plan, a
  -- join of the forms with scene_terms read every term of the owner's
  -- library and filtered them. That plan, and those of the exact vector
  -- comparisons below, serve every search of the whole library. A search
  -- narrowed to a person or to videos is planned for the search at hand: a
  -- person in few scenes reads the terms of those scenes instead of the
  -- ranges, a few videos of a large library are read by video.
  if search_scenes.person_id is not null or video_ids is not null then
    perform set_config('plan_cache_mode', 'force_custom_plan', true);
  end if;
  if cardinality(word_queries) > 0 then
    -- The scope is that of the search: the videos asked for and, with a
    -- person, the scenes they appear in (a word common among the person's
    -- scenes says little there, however rare it is elsewhere).
    -- Without a person, the library in scope; with one, their scenes in it.
    scope_size := coalesce(cardinality(person_scenes), cardinality(person_many), library_size);
    -- One pass over scene_terms' index (never the scenes themselves) finds
    -- every scene with a query word in some form or in a tag label and what
    -- search_scenes will score it by (search_scene_matches), and keeps the
    -- word_pool scenes that the word part of text_score and tags_score will
    -- rank highest (stems and tag labels estimated), so the pool holds the
    -- scenes that can top a words-only ranking. Ranking every scene that
    -- merely contains "the" by visiting it is what made word search slow for
    -- users with many scenes. Their order needs each word's document
    -- frequency (its IDF).
    -- Grouped by hashing, not by sorting: in the generic plan each form's
    -- rows are a guess of one or ten, which made sorting every posting by
    -- scene look cheaper (a third of the pass for 30k rows, then a group
    -- pass). Only the pools' top-N sorts remain, which nothing replaces.
    perform set_config('enable_sort', 'off', true);
    if search_scenes.person_id is null and video_ids is null then
      -- Over the whole library the frequencies are read first, so the scenes
      -- stream from the grouping into the top-N: keeping them all to count
      -- them first cost as much as the grouping (BENCHMARKS.md, session 36).
      -- A word whose forms with rows in scope are one lexeme read exactly (a
      -- word that is its own stem: "car" as written, and the scenes where
      -- only its inflections stand, stored as stems where it is not written;
      -- "city" where no other form of it is said, its stem "citi" standing
      -- only beside "city", which the stem's ranges leave out) has no scene
      -- with two of its rows, so its rows are counted; another ("city" with
      -- "cities", a prefix, a compound's other spelling) has its scenes
      -- counted once each. Whether a form has rows is one index probe.
      single := array(
        select count(distinct x.lexeme) <= 1 and coalesce(bool_and(x.lexeme = x.hi), true)
        from generate_series(1, cardinality(words)) g(i)
        left join (select r.i, r.lexeme, r.hi
                     from unnest(range_word, range_kind, range_kind2, range_lexeme, range_hi) r(i, kind, kind2, lexeme, hi)
                    where r.kind <> 't'
                      and exists (select from app_hidden.search_range_rows(uid, r.kind, r.kind2, r.lexeme, r.hi, null, null, null))
                   union all
                   select st.i, st.lexeme, st.lexeme
                     from unnest(stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before)
                            st(i, kind, lexeme, src_from, src_before)
                    where exists (select from app_hidden.search_stem_rows(uid, st.kind, st.lexeme, st.src_from, st.src_before,
                                                                         null, null))) x on x.i = g.i
        group by g.i
        order by g.i);
      -- With two or more words, the scenes that have all of them are ranked
      -- first, alone: a scene with only some of them has a share of at most
      -- that of all words but the least informative, a rank and a stem rank
      -- at most the highest among such scenes, and, unless it is a tag
      -- candidate (a candidate either way), a tag at most tag_rest; when
      -- that bound stays under the estimate of the word_pool-th scene with
      -- all of them, no other scene can enter the pool, and the candidates
      -- hold every scene the pass over every scene would put in it. (With
      -- the best tag of all as the bound, random speech with labels on half
      -- its scenes kept none of these pools.) Their rows are grouped without
      -- the tag rows (a third of the rows of two common words), whose best
      -- is then joined to those scenes alone. Two common words ("car dog",
      -- each in a sixth of the library, together in 1.4 % of it): 686 scenes
      -- scored instead of 15,180 (BENCHMARKS.md, session 41). Tried only where the
      -- words' frequencies, taken as independent, promise enough such
      -- scenes, by a margin that grows with the words (three or more words
      -- are the less independent); otherwise, or when the bound does not
      -- hold, the pass ranks every scene with a word.
      word_mask := (1::bigint << cardinality(words)) - 1;
      -- Two words with a row at most per scene each are joined by scene
      -- (below), and the join counts their scenes too: where each is in at
      -- least join_floor scenes (then, taken as independent, they promise
      -- the scenes with both that an attempt needs), they are not counted
      -- first, only checked to be that common (for two words each in a
      -- sixth of a 47k-scene library, ~1,450 rows read instead of 15,866).
      join_floor := ceil(sqrt(word_pool * 4 * greatest(scope_size, 1)::float8));
      -- Each word's rows are first counted up to word_pool * 4, which a
      -- word must reach for the two to promise enough (the other is in at
      -- most every scene): a rare word beside a common one costs a few
      -- hundred rows. Whether each is in join_floor scenes is then
      -- estimated from a sixteenth of its rows, those of the scenes whose
      -- random ids begin with 0 (a word's rows as written are in scene id
      -- order in scene_terms' key, so that is one short range): counting up
      -- to join_floor read 3,376 rows of each common word at 47k scenes,
      -- this ~480. A wrong guess costs time, never a different result: the
      -- join is kept only where its bound holds, and without it the
      -- frequencies are counted exactly. Below a join_floor of 1,024 (a
      -- scope of ~4,400 scenes) the sixteenth would be too few rows to tell,
      -- and counting up to join_floor costs little: they are counted.
      join_first := cardinality(words) = 2 and single[1] and single[2]
        and not exists (
               select from (values (1, word_pool * 4), (2, word_pool * 4), (1, join_floor), (2, join_floor)) g(i, n)
               where (g.n = word_pool * 4 or join_floor < 1024)
                 and (select count(*) from (
                        select from app_hidden.search_postings(uid, null, null, null,
                                      range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface,
                                      range_ranked, stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                                      null, null, null, null, null, null, stemming) p
                        where p.i = g.i and not p.tag
                        limit g.n) y) < g.n)
        and (join_floor < 1024 or not exists (
               select from (values (1), (2)) g(i)
               where 16 * ((select count(*)
                            from unnest(range_word, range_kind, range_kind2, range_lexeme) f(i, kind, kind2, lexeme)
                            cross join lateral (
                              select from app_hidden.scene_terms t
                              where t.owner_id = uid and t.kind in (f.kind, f.kind2) and t.lexeme = f.lexeme collate "C"
                                and t.src = '' and t.scene_id < '10000000-0000-0000-0000-000000000000'::uuid
                              offset 0) x
                            where f.i = g.i and f.kind <> 't')
                           + (select count(*)
                              from unnest(stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before)
                                     f(i, kind, lexeme, src_from, src_before)
                              cross join lateral (
                                select from app_hidden.scene_terms t
                                where t.owner_id = uid and t.kind = f.kind and t.lexeme = f.lexeme collate "C"
                                  and t.src >= f.src_from collate "C" and t.src < f.src_before collate "C"
                                  and t.scene_id < '10000000-0000-0000-0000-000000000000'::uuid
                                offset 0) x
                              where f.i = g.i)) < join_floor));
      if not join_first then
        select array_agg(coalesce(d.n, 0) order by g.i)
          into word_df
          from generate_series(1, cardinality(words)) g(i)
          left join (
            select x.i, sum(x.n) as n
            from (
              select f.i, (select count(*) from app_hidden.search_range_rows(uid, f.kind, f.kind2, f.lexeme, f.hi,
                                                                             null, null, null)) as n
              from unnest(range_word, range_kind, range_kind2, range_lexeme, range_hi) f(i, kind, kind2, lexeme, hi)
              where f.kind <> 't' and single[f.i]
              union all
              select f.i, (select count(*) from app_hidden.search_stem_rows(uid, f.kind, f.lexeme, f.src_from, f.src_before,
                                                                            null, null))
              from unnest(stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before) f(i, kind, lexeme, src_from, src_before)
              where single[f.i]
              union all
              select q.i, count(*)
              from (select p.i, p.scene_id
                    from app_hidden.search_postings(uid, null, null, null,
                           range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
                           stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                           tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming) p
                    where not p.tag and not single[p.i]
                    group by p.i, p.scene_id) q
              group by q.i) x
            group by x.i) d on d.i = g.i;
      end if;
      if join_first
         or (cardinality(words) between 2 and 62
             and scope_size * (select exp(sum(ln(greatest(n, 1) / greatest(scope_size, 1)))) from unnest(word_df) n)
                 >= word_pool * 2 ^ cardinality(words)) then
        select array_agg(r.i order by r.o), array_agg(r.kind order by r.o), array_agg(r.kind2 order by r.o),
               array_agg(r.lexeme order by r.o), array_agg(r.hi order by r.o), array_agg(r.surface order by r.o),
               array_agg(r.ranked order by r.o)
          into wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked
          from unnest(range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked)
                 with ordinality r(i, kind, kind2, lexeme, hi, surface, ranked, o)
         where r.kind <> 't';
        -- Hashed both ways (below too): a generic plan guesses ten scenes
        -- with every word, and a nested loop over the rows of one word (or
        -- the tag rows) for each of 686 would compare millions of pairs.
        perform set_config('enable_nestloop', 'off', true);
        if cardinality(words) = 2 and single[1] and single[2] then
          -- Two words each read as one lexeme have a row at most per scene
          -- each: their rows joined by scene are the groups, without hashing
          -- a group for every scene (a full join, so that the scenes with one
          -- of them give the highest rank and stem rank too). The sums are
          -- those of search_scene_matches, added in the same precision.
          -- Each word's first range of one lexeme is its lead form, read as
          -- a scan of its own (search_word_rows); a word without one reads
          -- every form through the arrays.
          select r.o, r.lexeme, r.surface, r.ranked
            into lead_a, lead_a_lexeme, lead_a_surface, lead_a_ranked
            from unnest(wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked)
                   with ordinality r(i, kind, kind2, lexeme, hi, surface, ranked, o)
           where r.i = 1 and r.kind = 'w' and r.kind2 = 'w' and r.lexeme = r.hi
           order by r.o
           limit 1;
          select r.o, r.lexeme, r.surface, r.ranked
            into lead_b, lead_b_lexeme, lead_b_surface, lead_b_ranked
            from unnest(wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked)
                   with ordinality r(i, kind, kind2, lexeme, hi, surface, ranked, o)
           where r.i = 2 and r.kind = 'w' and r.kind2 = 'w' and r.lexeme = r.hi
           order by r.o
           limit 1;
          select coalesce(array_agg(a.scene_id) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(array_agg(a.w | b.w) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(array_agg(a.r + b.r) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(array_agg(a.sr + b.sr) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(greatest(max(a.r) filter (where b.scene_id is null), max(b.r) filter (where a.scene_id is null)), 0),
                 coalesce(greatest(max(a.sr) filter (where b.scene_id is null), max(b.sr) filter (where a.scene_id is null)), 0),
                 -- Each word's rows are its scenes: the frequencies, the same
                 -- as counted above where they were.
                 array[count(a.scene_id), count(b.scene_id)]
            into all_ids, all_written, all_rank, all_stem_rank, some_rank, some_stem_rank, word_df
            from app_hidden.search_word_rows(uid, 1, 1, lead_a, lead_a_lexeme, lead_a_surface, lead_a_ranked,
                                             wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked,
                                             stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before) a
            full join app_hidden.search_word_rows(uid, 2, 2, lead_b, lead_b_lexeme, lead_b_surface, lead_b_ranked,
                                                  wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked,
                                                  stem_word, stem_kind, stem_lexeme, stem_src_from,
                                                  stem_src_before) b on b.scene_id = a.scene_id;
        else
          select coalesce(array_agg(ps.scene_id) filter (where ps.mask = word_mask), '{}'),
                 coalesce(array_agg(ps.written) filter (where ps.mask = word_mask), '{}'),
                 coalesce(array_agg(ps.rank) filter (where ps.mask = word_mask), '{}'),
                 coalesce(array_agg(ps.stem_rank) filter (where ps.mask = word_mask), '{}'),
                 coalesce(max(ps.rank) filter (where ps.mask <> word_mask), 0),
                 coalesce(max(ps.stem_rank) filter (where ps.mask <> word_mask), 0)
            into all_ids, all_written, all_rank, all_stem_rank, some_rank, some_stem_rank
            from app_hidden.search_scene_matches(uid, null, null, null,
                   wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked,
                   stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                   tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming) ps;
        end if;
      else
        word_mask := 0;
      end if;
      -- The IDF-weighted share of the words a scene has (1 as written, 0.75
      -- stemmed only) is 0.75 x the weight of its words found + 0.25 x that
      -- of its words written (search_bits_weight): the sums of the IDFs of
      -- every set of up to 8 words, 8 bits at a time (word_weights[256c + k +
      -- 1] for the words 8c+1.. whose bits k has), so a scene's share is two
      -- lookups. Each chunk's table doubles with each word: the sets with
      -- word b are those without it, plus its IDF.
      word_idf := array(select ln(1 + (scope_size + 1)::float8 / (1 + n)) from unnest(word_df) with ordinality d(n, i) order by i);
      idf_total := (select sum(x) from unnest(word_idf) x);
      word_weights := '{}';
      for c in 0 .. (cardinality(words) - 1) / 8 loop
        word_weights[256 * c + 1] := 0;
        for b in 0 .. least(8, cardinality(words) - 8 * c) - 1 loop
          for k in 0 .. (1 << b) - 1 loop
            word_weights[256 * c + (1 << b) + k + 1] := word_weights[256 * c + k + 1] + word_idf[8 * c + b + 1];
          end loop;
        end loop;
      end loop;
      -- Tag candidates: the scenes whose labels best name a query word (the
      -- label's score over its word count, search_tag_score of that word),
      -- each label word's rows read in order of that score
      -- (scene_terms_tag_impact_idx), tag_pool of them at most: no scene
      -- outside a word's first tag_pool can be among the tag_pool best, since
      -- a scene has one row per label word.
      select coalesce(array_agg(y.scene_id order by y.tag desc, y.scene_id), '{}'),
             case when count(*) = tag_pool then min(y.tag) else 0 end
        into tag_ids, tag_rest
        from (
        select x.scene_id, x.tag
        from (
          select t.scene_id, max(t.impact) as tag
          from unnest(tag_lexeme) l(lexeme)
          cross join lateral (
            select t.scene_id, t.impact from app_hidden.scene_terms t
            where t.owner_id = uid and t.kind = 't' and t.lexeme = l.lexeme collate "C"
            order by t.impact desc, t.scene_id
            limit tag_pool) t
          group by t.scene_id) x
        where x.tag > 0
        order by x.tag desc, x.scene_id
        limit tag_pool) y;
      if word_mask <> 0 then
        select coalesce(array_agg(x.id order by x.est desc, x.id), '{}'), min(x.est)
          into word_ids, word_floor
          from (
            select a.id,
                   wt * app_hidden.search_word_estimate(word_weights, idf_total, word_mask, a.written, a.rank, a.stem_rank)
                   + wg * coalesce(max(t.impact), 0) as est
            from unnest(all_ids, all_written, all_rank, all_stem_rank) a(id, written, rank, stem_rank)
            left join (
              select t.scene_id, t.impact
              from unnest(tag_lexeme) l(lexeme)
              cross join lateral (
                select t.scene_id, t.impact from app_hidden.scene_terms t
                where t.owner_id = uid and t.kind = 't' and t.lexeme = l.lexeme collate "C"
                offset 0) t) t on t.scene_id = a.id
            group by a.id, a.written, a.rank, a.stem_rank
            order by est desc, a.id
            limit word_pool) x;
        perform set_config('enable_nestloop', 'on', true);
        if cardinality(word_ids) < word_pool
           or word_floor <= wt * (0.5 * (idf_total - (select min(x) from unnest(word_idf) x)) / idf_total
                                  + 0.5 * greatest(some_rank / (some_rank + 1), 0.75 * some_stem_rank / (some_stem_rank + 1)))
                            + wg * tag_rest + 1e-9 then
          word_ids := null;
        end if;
      end if;
      if word_ids is null then
        word_ids := array(
          select ps.scene_id
          from app_hidden.search_scene_matches(uid, null, null, null,
                 range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
                 stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                 tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming) ps
          where ps.mask <> 0
          order by wt * app_hidden.search_word_estimate(word_weights, idf_total, ps.mask, ps.written, ps.rank, ps.stem_rank)
                   + wg * ps.tag desc, ps.scene_id
          limit word_pool);
      end if;
    else
      -- Narrowed to a person or to videos, most of the rows read are those
      -- of scenes out of scope, and reading them twice (frequencies, then
      -- candidates) cost more than keeping the few scenes in scope: the
      -- frequencies and the IDF-weighted shares are computed per distinct
      -- combination of words a scene has, and the tag candidates come from
      -- the same scenes.
      with per_scene as materialized (
        select * from app_hidden.search_scene_matches(uid, video_ids, person_many, word_scenes,
                        range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
                        stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                        tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming)
      ), combos as (
        select ps.written, ps.mask, count(*) as n from per_scene ps where ps.mask <> 0 group by ps.written, ps.mask
      ), df as (
        select g.i, coalesce(sum(c.n), 0) as n
        from generate_series(1, cardinality(words)) g(i)
        left join combos c on c.mask & (1::bigint << (g.i - 1)) <> 0
        group by g.i
      ), idf as (
        select array_agg(ln(1 + (scope_size + 1)::float8 / (1 + df.n)) order by df.i) as v from df
      ), share as (
        select c.written, c.mask,
               sum(idf.v[g] * case when c.written & (1::bigint << (g - 1)) <> 0 then 1
                                   when c.mask & (1::bigint << (g - 1)) <> 0 then 0.75 else 0 end) / sum(idf.v[g]) as share
        from combos c cross join idf cross join generate_series(1, cardinality(words)) g
        group by c.written, c.mask
      )
      select (select idf.v from idf),
             array(select ps.scene_id
                   from per_scene ps join share sh on sh.written = ps.written and sh.mask = ps.mask
                   order by wt * (0.5 * sh.share + 0.5 * greatest(ps.rank / (ps.rank + 1), 0.75 * ps.stem_rank / (ps.stem_rank + 1)))
                            + wg * ps.tag desc, ps.scene_id
                   limit word_pool),
             array(select ps.scene_id from per_scene ps where ps.tag > 0 order by ps.tag desc, ps.scene_id limit tag_pool)
        into word_idf, word_ids, tag_ids;
      idf_total := (select sum(x) from unnest(word_idf) x);
    end if;
    perform set_config('enable_sort', 'on', true);
  end if;

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

  if search_scenes.person_id is null then
    exact := library_size <= exact_below;
  else
    exact := person_scenes is not null;
    vec_pool := vec_pool_person;
  end if;

  -- Vector candidates are fetched before the main query so that only these
  -- two statements run with sorting disabled: the planner does not count
  -- de-TOASTing and comparing 1024 floats per row, so for a user with
  -- tens of thousands of scenes it would otherwise pick "scan them all and
  -- sort" (~7 us a row) over the HNSW walk. The function's own SET clause
  -- restores enable_sort when it returns.
  -- Each candidate comes with its distance, so the fusion below does not
  -- de-TOAST and compare that vector a second time.
  -- Over the whole library, the exact comparisons read the vectors of an
  -- owner with few (generic plans, as set above); the HNSW walks are planned
  -- for the search at hand.
  if exact then
    -- Compared in half precision, stored in the row (scene_half_vecs): a
    -- full vector is three TOAST chunks, ~8 us to fetch against ~0.7 to
    -- compare (BENCHMARKS.md). The candidates chosen are then measured from
    -- their full vectors, so their scores are those of the full vectors.
    -- The materialized CTE computes each distance once.
    qh_text := qv_text::halfvec;
    qh_image := qv_image::halfvec;
    -- Both spaces in one read of the rows: the owner's, or a person's
    -- scenes' by their whole primary key (owner, video, scene, space: one
    -- descent for a scene's two rows, whatever the statistics say). Given the scenes as an
    -- array filter instead, the planner read every row of the owner in the
    -- primary key and kept the person's (235 ms for 300 scenes of 20k), or
    -- ANDed a bitmap of them with one of every row of the owner (three times
    -- as long as the probes for 1,900 of 47k); probed by scene alone, stale
    -- statistics made it read the owner's rows once per scene.
    -- Never a sequential scan: this path reads at most exact_below scenes'
    -- rows, but its generic plan cannot know the owner is small, and where
    -- a few owners hold most rows (300k scenes, two of 53 owners with 147k
    -- each) it read all 600,000 for a 30-scene user (~1 s a search). The
    -- function's SET clause restores enable_seqscan.
    perform set_config('enable_seqscan', 'off', true);
    with c as materialized (
      select h.scene_id as id, h.space,
             case h.space when 't' then h.vec <=> qh_text else h.vec <=> qh_image end as d
      from (
        select h.* from app_hidden.scene_half_vecs h where person_scenes is null
        union all
        select h.* from unnest(person_scenes, person_videos) p(id, video_id)
        cross join lateral (
          select h.* from app_hidden.scene_half_vecs h
          where h.owner_id = uid and h.space in ('t', 'i') and h.video_id = p.video_id and h.scene_id = p.id
          offset 0) h
      ) h
      where h.owner_id = uid and h.space in ('t', 'i')
        and (h.space = 'i' or (qv_text is not null and (text_videos is null or h.video_id = any(text_videos))))
        and (h.space = 't' or (qv_image is not null and (image_videos is null or h.video_id = any(image_videos))))
    ), x as (
      (select c.id, c.space from c where c.space = 't' order by c.d, c.id limit vec_pool)
      union all
      (select c.id, c.space from c where c.space = 'i' order by c.d, c.id limit vec_pool)
    )
    select coalesce(array_agg(x.id) filter (where x.space = 't'), '{}'),
           coalesce(array_agg(s.text_vec <=> qv_text) filter (where x.space = 't'), '{}'),
           coalesce(array_agg(x.id) filter (where x.space = 'i'), '{}'),
           coalesce(array_agg(s.image_vec <=> qv_image) filter (where x.space = 'i'), '{}')
      into text_ids, text_d, image_ids, image_d
      from x join app_public.scenes s on s.id = x.id and s.owner_id = uid;
    perform set_config('enable_seqscan', 'on', true);
  else
    vec_pool := least(vec_pool_max, greatest(vec_pool, ceil(vec_pool * library_size / vec_scope::float8)::int));
    perform set_config('plan_cache_mode', 'force_custom_plan', true);
    perform set_config('enable_sort', 'off', true);
    -- A walk filtered to a person's scenes keeps going (relaxed_order) until
    -- it has its vec_pool_person of them, so its first ef_search candidates
    -- only seed the walk: for a person in 9,496 of 47k scenes, 40 instead of
    -- 100 still found all of the person's ten nearest in each space (100
    -- queries) in ~0.6 ms less a walk (BENCHMARKS.md). The function's SET
    -- clause restores 100.
    if search_scenes.person_id is not null then
      perform set_config('hnsw.ef_search', '40', true);
    end if;
    select coalesce(array_agg(x.id), '{}'), coalesce(array_agg(x.d), '{}') into text_ids, text_d from (
      select s.id, s.text_vec <=> qv_text as d from app_public.scenes s
      where qv_text is not null and s.owner_id = uid and s.text_vec is not null
        and (text_videos is null or s.video_id = any(text_videos))
        and (person_many is null or coalesce(s.id = any(person_many), false))
        and (not person_probed or (select true from app_public.faces f
                                   where f.person_id = search_scenes.person_id and f.owner_id = uid and f.scene_id = s.id
                                   limit 1))
      order by s.text_vec <=> qv_text
      limit vec_pool) x;
    select coalesce(array_agg(x.id), '{}'), coalesce(array_agg(x.d), '{}') into image_ids, image_d from (
      select s.id, s.image_vec <=> qv_image as d from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
        and (person_many is null or coalesce(s.id = any(person_many), false))
        and (not person_probed or (select true from app_public.faces f
                                   where f.person_id = search_scenes.person_id and f.owner_id = uid and f.scene_id = s.id
                                   limit 1))
      order by s.image_vec <=> qv_image
      limit vec_pool) x;
    perform set_config('enable_sort', 'on', true);
  end if;

  -- Word candidates (above) filled up with scenes whose on-screen text
  -- matches only fuzzily, planned for the search at hand: among the few
  -- scenes in scope (a person's, or a small library's) as the caller, else
  -- through the trigram index (search_ocr_fuzzy, which row security keeps
  -- from it: 0.7 ms more than this statement for a 30-scene library).
  perform set_config('plan_cache_mode', 'force_custom_plan', true);
  if tsq_text is not null and cardinality(word_ids) < word_pool and true = any(fuzzy) then
    if person_scenes is not null or library_size <= exact_below then
      word_ids := word_ids || array(
        select f.id from (
          select s.id, max(strict_word_similarity(t.w, s.ocr_text)) as sim
          from unnest(words, fuzzy) t(w, fz)
          join app_public.scenes s on t.w <<% s.ocr_text
          where t.fz and s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids))
            and (person_scenes is null or s.id = any(person_scenes))
          group by s.id) f
        where f.id <> all(word_ids)
        order by f.sim desc, f.id
        limit word_pool - cardinality(word_ids));
    else
      word_ids := word_ids || array(
        select app_hidden.search_ocr_fuzzy(words, fuzzy, video_ids, person_many, word_ids, word_pool - cardinality(word_ids)));
    end if;
  end if;

  -- The fusion joins a fixed-size candidate list to scenes by primary key:
  -- the same plan for every caller, so it is planned once per connection.
  perform set_config('plan_cache_mode', 'force_generic_plan', true);
  return query
  with
  candidates as (
    select c.id, min(c.td) as td, min(c.vd) as vd from (
      select t.id, t.d as td, null::float8 as vd from unnest(text_ids, text_d) t(id, d)
      union all select i.id, null, i.d from unnest(image_ids, image_d) i(id, d)
      union all select w.id, null, null from unnest(word_ids) w(id)
      union all select h.id, null, null from unnest(tag_ids) h(id)) c
    group by c.id
  ),
  -- Materialized: each component is computed once per candidate. Inlined,
  -- the planner copied these expressions into the filter, the sort key and
  -- the output of the queries below, computing every distance three times.
  components as materialized (
    select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text, s.tsv, s.tsv_stem, s.stem_config,
           case when qv_text is not null and (text_videos is null or s.video_id = any(text_videos))
                then app_hidden.search_similarity('text', 1 - coalesce(c.td, s.text_vec <=> qv_text)) else 0 end as dense,
           -- Full-text strength in 0..1: half the IDF-weighted share of query
           -- words present in the transcript/on-screen text, half cover
           -- density (ts_rank_cd normalised to r/(r+1)), so matching every
           -- word, and the rare ones, beats repeating one. A word counts 1
           -- as written (or as a prefix), 0.75 stemmed only, and 0.5 x its
           -- strict trigram word similarity (< 0.5) when only a misread on-screen
           -- word matches; stemmed cover density counts 0.75 too. The @@ and
           -- <<% guards skip the work for vector-only hits. tsq_any is an OR
           -- of terms, so it matches either vector alone as it would match the
           -- two joined, without building that (3.6 us a scene of 30 s of
           -- speech against 0.7).
           case when tsq_text is not null
                     and (s.tsv @@ tsq_any or s.tsv_stem @@ tsq_any
                          or exists (select from unnest(words, fuzzy) t(w, fz) where t.fz and t.w <<% s.ocr_text))
                then 0.5 * coalesce((
                       select sum(t.idf * case when s.tsv @@ t.wq then 1
                                               when t.sq is not null and s.tsv_stem @@ t.sq then 0.75
                                               when t.fz and t.w <<% s.ocr_text then 0.5 * strict_word_similarity(t.w, s.ocr_text)
                                               else 0 end)
                       from unnest(words, word_queries, stem_queries, fuzzy, word_idf) t(w, wq, sq, fz, idf)), 0) / idf_total
                     + 0.5 * greatest(app_hidden.search_rank(s.tsv, tsq_text),
                                      case when tsq_stem is null then 0
                                           else 0.75 * app_hidden.search_rank(s.tsv_stem, tsq_stem) end)
                else 0 end as words_score,
           case when qv_image is not null and (image_videos is null or s.video_id = any(image_videos))
                then app_hidden.search_similarity('vision', 1 - coalesce(c.vd, s.image_vec <=> qv_image)) else 0 end as vision,
           case when cardinality(words) > 0 and (tsq_tags is null or s.tsv @@ tsq_tags)
                then app_hidden.search_tag_score(s.tags, tag_words, label_stems, stemming) else 0 end as tags
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
         -- A scene whose transcript and on-screen text have no query stem has
         -- no word for the stems to mark: its words are not looked through.
         app_hidden.search_snippet(p.transcript, p.ocr_text,
                                   app_hidden.search_snippet_query(tsq_plain, p.tsv, p.stem_config,
                                                                   case when p.tsv_stem @@ tsq_stem then snippet_stems end),
                                   p.tsv),
         coalesce(pp.persons, '[]'::jsonb)
  from page p
  left join app_hidden.search_persons_of(array(select x.id from page x), uid) pp on pp.scene_id = p.id
  order by p.score desc, p.id;
end;
$$;

revoke all on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) from public;
grant execute on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) to authenticated;
grant execute on function
  app_hidden.search_similarity(text, double precision),
  app_hidden.search_query_words(text),
  app_hidden.search_prefix(text, boolean),
  app_hidden.search_stemming(regconfig[]),
  app_hidden.search_rank(tsvector, tsquery),
  app_hidden.search_tsquery(text[], text, boolean),
  app_hidden.search_forms(text),
  app_hidden.search_word_forms(text[]),
  app_hidden.search_tag_words(text[]),
  app_hidden.search_stem_tsquery(text[], regconfig[], text),
  app_hidden.search_label_stem(text),
  app_hidden.search_stem_start(text),
  app_hidden.search_label_start(text, text, boolean),
  app_hidden.search_names(text, text, text, boolean),
  app_hidden.search_tag_score(jsonb, text[], boolean),
  app_hidden.search_tag_score(jsonb, text[], text[], boolean),
  app_hidden.search_escape_html(text),
  app_hidden.search_highlight(text, tsquery),
  app_hidden.search_compound_parts(text[]),
  app_hidden.search_snippet_query(tsquery, tsvector, regconfig, text[]),
  app_hidden.search_snippet(text, text, tsquery, tsvector),
  app_hidden.search_persons_of(uuid[], uuid),
  app_hidden.search_ocr_fuzzy(text[], boolean[], uuid[], uuid[], uuid[], int),
  app_hidden.search_bits_weight(float8[], bigint),
  app_hidden.search_word_estimate(float8[], float8, bigint, bigint, real, real),
  app_hidden.search_range_rows(uuid, "char", "char", text, text, uuid[], uuid[], uuid[]),
  app_hidden.search_stem_rows(uuid, "char", text, text, text, uuid[], uuid[]),
  app_hidden.search_word_rows(uuid, int, bigint, bigint, text, boolean, boolean, int[], "char"[], "char"[], text[],
                              text[], boolean[], boolean[], int[], "char"[], text[], text[], text[]),
  app_hidden.search_scene_matches(uuid, uuid[], uuid[], uuid[], int[], "char"[], "char"[], text[], text[], boolean[], boolean[],
                                  int[], "char"[], text[], text[], text[], int[], text[], text[], boolean[], text[], text[], boolean),
  app_hidden.search_postings(uuid, uuid[], uuid[], uuid[], int[], "char"[], "char"[], text[], text[], boolean[], boolean[],
                             int[], "char"[], text[], text[], text[], int[], text[], text[], boolean[], text[], text[], boolean)
  to authenticated;

comment on type app_public.scene_hit is E'@behavior -*\nOne ranked search result: a scene, its fused score and each modality''s 0..1 component.';
comment on column app_public.scene_hit.score is 'w_text*text_score + w_vision*vision_score + w_tags*tags_score.';
comment on column app_public.scene_hit.text_score is 'Calibrated transcript/on-screen text match, 0..1 (dense similarity OR-ed with full-text).';
comment on column app_public.scene_hit.vision_score is 'Calibrated keyframe-to-query similarity, 0..1.';
comment on column app_public.scene_hit.tags_score is 'How well the query names the scene''s tags, 0..1.';
comment on column app_public.scene_hit.persons is 'People seen in the scene: [{"id", "name"}], named first; name is null for an unnamed group.';
comment on column app_public.scene_hit.snippet is 'Short excerpt of the transcript (or on-screen text) with matches in <b>..</b>; the text itself is HTML-escaped.';
comment on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) is E'@behavior -queryField -mutationField -typeField\nRanks the caller''s scenes for a query. score = w_text*text + w_vision*vision + w_tags*tags, each component on 0..1: text = noisy OR of calibrated dense similarity (BGE-M3 cosine mapped linearly from [0.35, 0.75]) and full-text match (IDF-weighted share of query words found, a word counting 1 as written (a compound with its hyphen or without: "wifi" for "Wi-Fi", a number with a hyphen before it or without: "19" for "COVID-19", and letters with a number joined or apart: "covid19" for "COVID-19" and "covid 19", "covid" for "covid19"), 0.75 stemmed in its video''s language (accents folded first where they are marks, so "ecole" finds "école") or as another English form no stemmer relates to it ("children" for "child", "swam" for "swim", "color" for "colour"), under 0.5 as a misread on-screen word by trigram similarity, plus ts_rank_cd/(1+ts_rank_cd) with on-screen text at 0.8 of speech, halved; English function words are dropped from the query unless nothing else is left); vision = SigLIP cosine of image_vec and image_embedding mapped from [0.05, 0.20]; tags = best label score times the share of its words the query names (a label word is named as written, by the same English stem, "dogs" naming "dog", or by an irregular form, "people" naming "person"). A query word also finds the words it begins only if it is Korean, Chinese or Japanese, or if no language in scope has a stemmer. Missing modalities score 0 and never exclude a scene. person_id restricts every candidate source to scenes where one of that person''s faces was seen; with no words and no embeddings it lists all those scenes in time order per video (score 1). text_model/image_model restrict vector comparisons to videos embedded by that model. Candidates: 80 per vector space (text HNSW, image HNSW; 40 with person_id; past 75,000 scenes in scope growing in proportion, to at most 200), 60 by words and 50 by tags (vectors compared exactly when the caller has at most 2000 scenes in scope: chosen in half precision, scored in full); pages of page_size (1..100) from page_offset over that fixed pool, ties by scene id.';
--! EndIncluded search_scenes.sql

--! split: 950-privileges.sql
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
