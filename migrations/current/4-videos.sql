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
