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
