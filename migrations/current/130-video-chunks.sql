/*
 * Why: a long video is transcribed and indexed in a chain of jobs, one per
 * chunk of video time (INDEX_CHUNK_S), so no job runs for hours (graphile-
 * worker's lock is 4 hours) and a crash or a retry redoes one chunk, not the
 * whole video. Each chunk's product is committed here, in the transaction
 * that queues the next chunk; the last chunk's step function assembles them
 * (fixtures/pipeline_steps.sql) and deletes them. A row's presence is what
 * "this chunk is done" means, so a re-run job skips it.
 *
 * Keyframes and face crops a staged chunk stored are referenced by `keys`
 * until its scenes are assembled: the orphan sweep (unreferenced_keys) must
 * not take them, and deleting the video mid-way must delete them too
 * (tg_videos__forget_objects). Both are re-created here with that added;
 * `create or replace` keeps their grants and the trigger attached.
 */
drop table if exists app_private.video_chunks;

create table app_private.video_chunks (
  video_id uuid not null references app_public.videos (id) on delete cascade,
  step text not null check (step in ('transcribe', 'index')),
  chunk integer not null check (chunk >= 0),
  -- The video time this chunk covered; the next index chunk starts at end_s.
  start_s float8 not null check (start_s >= 0),
  end_s float8 not null check (end_s >= start_s),
  -- True for the chunk that reached the end of the video.
  last boolean not null,
  -- transcribe: {source, language, model, segments, missing};
  -- index: the IndexResult of its scenes (global ordinals).
  product jsonb not null,
  -- Storage objects this chunk stored (keyframes, face crops).
  keys text[] not null default '{}',
  created_at timestamptz not null default now(),
  primary key (video_id, step, chunk)
);
create index video_chunks_keys_idx on app_private.video_chunks using gin (keys);
alter table app_private.video_chunks enable row level security;
-- NOTE: no policies and no grants: only the security definer step functions read or write it.

comment on table app_private.video_chunks is 'Per-chunk products of videos__transcribe and videos__index, until the last chunk assembles them.';

create or replace function app_private.unreferenced_keys(keys text[]) returns text[]
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
     and not exists (select 1 from app_public.faces f where f.id = c.face_id and f.owner_id = c.owner_id)
     -- Stored by a chunk whose scenes are not assembled yet.
     and not exists (select 1 from app_private.video_chunks vc where vc.keys @> array[c.k]);
$$;
comment on function app_private.unreferenced_keys(text[]) is 'Worker: which of these storage keys no video, scene, face or staged chunk refers to (the orphan sweep, and a failed attempt cleaning up after itself).';

create or replace function app_private.tg_videos__forget_objects() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform app_private.add_pipeline_job('videos__delete_objects',
    json_build_object('id', old.id, 'owner_id', old.owner_id, 'keys',
      array_remove(array[old.object_key, old.subtitle_key], null)
      || coalesce((select array_agg(s.keyframe_key) from app_public.scenes s
                   where s.video_id = old.id and s.keyframe_key is not null), '{}')
      -- What chunks of an unfinished index stored (the rows go with the video).
      || coalesce((select array_agg(k) from app_private.video_chunks vc, unnest(vc.keys) k
                   where vc.video_id = old.id), '{}')));
  return old;
end;
$$;
