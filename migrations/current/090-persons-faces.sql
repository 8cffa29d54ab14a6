/*
 * Why: "show me every moment where Grandma appears". A person is enrolled
 * from photos or is a group of similar faces the pipeline found; faces are
 * what the detector saw, each with an identity embedding. Like scenes, both
 * tables carry owner_id, and every foreign key includes it, so no face can
 * point at another user's person, video or scene (foreign-key checks bypass
 * row-level security; the key itself must carry the owner). Embeddings are
 * biometric data: they are deleted with their video, and an enrolled person's
 * photos and embeddings with the person (README "People").
 */
drop table if exists app_public.faces cascade;
drop table if exists app_public.persons cascade;
alter table app_public.scenes drop constraint if exists scenes_id_owner_id_key;
drop function if exists app_private.tg_persons__forget_enrolment();
drop function if exists app_private.tg_persons__attach_on_naming();
drop function if exists app_private.tg_faces__forget_objects();
drop function if exists app_hidden.face_crop_key(uuid, uuid);
drop function if exists app_hidden.face_calibration(text);

alter table app_public.videos drop column if exists face_model;
alter table app_public.videos add column face_model text;
comment on column app_public.videos.face_model is 'Model that detected and embedded the faces of its scenes; null when no faces stage ran.';

-- Target of faces' composite foreign key: a face's owner must be its scene's owner.
alter table app_public.scenes add constraint scenes_id_owner_id_key unique (id, owner_id);

create table app_public.persons (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid(),
  name text check (name is null or (name = btrim(name) and char_length(name) between 1 and 200)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, owner_id)
);

create table app_public.faces (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid(),
  person_id uuid,
  video_id uuid,
  scene_id uuid,
  photo_key text check (photo_key <> '' and char_length(photo_key) <= 1024 and photo_key !~ '(^/|\.\./)'),
  frame_s double precision check (frame_s >= 0),
  box real[] not null check (
    array_ndims(box) = 1 and cardinality(box) = 4 and 0 <= all (box) and 1 >= all (box)
    and box[1] + box[3] <= 1.0001 and box[2] + box[4] <= 1.0001),
  det_score real not null check (det_score between 0 and 1),
  embedding vector(128) not null,
  face_model text not null check (face_model <> ''),
  created_at timestamptz not null default now(),
  -- Only person_id is cleared when a person goes: its scene faces become unassigned.
  foreign key (person_id, owner_id) references app_public.persons (id, owner_id) on delete set null (person_id),
  foreign key (video_id, owner_id) references app_public.videos (id, owner_id) on delete cascade,
  foreign key (scene_id, owner_id) references app_public.scenes (id, owner_id) on delete cascade,
  -- A face was seen either in a scene of a video or on an enrolment photo of a person.
  check ((scene_id is null) = (video_id is null)),
  check ((scene_id is null) <> (photo_key is null)),
  check (photo_key is null or person_id is not null)
);

alter table app_public.persons enable row level security;
alter table app_public.faces enable row level security;

create index persons_owner_id_name_idx on app_public.persons (owner_id, name);
create index faces_person_id_owner_id_scene_id_idx on app_public.faces (person_id, owner_id, scene_id);
create index faces_scene_id_owner_id_person_id_idx on app_public.faces (scene_id, owner_id, person_id);
create index faces_video_id_owner_id_idx on app_public.faces (video_id, owner_id);
-- The faces a clustering pass re-examines, and the owner filter of the policy.
create index faces_owner_id_person_id_idx on app_public.faces (owner_id) where person_id is null;
create index faces_owner_id_created_at_idx on app_public.faces (owner_id, created_at);
create index faces_embedding_idx on app_public.faces using hnsw (embedding vector_cosine_ops);

create policy select_own on app_public.persons for select to authenticated
  using (owner_id = (select auth.uid()));
create policy insert_own on app_public.persons for insert to authenticated
  with check (owner_id = (select auth.uid()));
create policy update_own on app_public.persons for update to authenticated
  using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
create policy delete_own on app_public.persons for delete to authenticated
  using (owner_id = (select auth.uid()));

create policy select_own on app_public.faces for select to authenticated
  using (owner_id = (select auth.uid()));
-- Users add faces only from their own enrolment photos (the API computes the
-- embedding); scene faces are written by the pipeline.
create policy insert_own on app_public.faces for insert to authenticated
  with check (
    owner_id = (select auth.uid()) and scene_id is null and video_id is null
    and photo_key like 'u/' || owner_id::text || '/%'
  );
create policy update_own on app_public.faces for update to authenticated
  using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));

grant select, delete on app_public.persons to authenticated;
grant insert (name) on app_public.persons to authenticated;
grant update (name) on app_public.persons to authenticated;
grant select on app_public.faces to authenticated;
grant insert (id, person_id, photo_key, box, det_score, embedding, face_model) on app_public.faces to authenticated;
-- NOTE: users may only (re)assign a face to a person; what was seen stays as the detector saw it.
grant update (person_id) on app_public.faces to authenticated;
-- NOTE: no delete on faces for users: they go with their video, or with their person (enrolment photos).
-- NOTE: nothing for heimdex_worker: faces are written by app_private.faces_write (security definer).

/*
 * The matching constants of each face model, in cosine distance of unit
 * embeddings (models/README.md "Faces" has the measurements behind them):
 * match_distance: a face joins an enrolled or named person when one of the
 * person's faces is at most this far; cluster_distance and min_faces: a face
 * with at least min_faces other faces within cluster_distance is a core face
 * of an unnamed group. A model without an entry never matches anything,
 * rather than with thresholds meant for another embedding space.
 */
create function app_hidden.face_calibration(face_model text)
returns table (match_distance double precision, cluster_distance double precision, min_faces int)
language sql immutable parallel safe
set search_path = ''
as $$
  select v.match_distance, v.cluster_distance, v.min_faces
  from (values ('@vladmandic/face-api', 0.06::float8, 0.045::float8, 2)) v(face_model, match_distance, cluster_distance, min_faces)
  where v.face_model = face_calibration.face_model
$$;

-- Where a face's thumbnail (a small JPEG crop) is stored: under its owner's prefix.
create function app_hidden.face_crop_key(owner_id uuid, face_id uuid) returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select 'u/' || owner_id::text || '/faces/' || face_id::text || '.jpg'
$$;

-- Deleting a person deletes its enrolment photos' faces (the embeddings the
-- user gave us for this person); its scene faces only lose the person.
create function app_private.tg_persons__forget_enrolment() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  delete from app_public.faces f where f.person_id = old.id and f.owner_id = old.owner_id and f.photo_key is not null;
  return old;
end;
$$;

create function app_private.tg_persons__attach_on_naming() returns trigger
language plpgsql volatile security invoker
set search_path = ''
as $$
begin
  perform app_hidden.person_attach(new.id);
  return new;
end;
$$;

-- Crops and enrolment photos are biometric data too: once their faces are
-- gone (a deleted video, person or re-indexed scene), a job deletes the
-- objects, after the delete commits. Unnamed groups left without a face go
-- too, so the person list never shows an empty group.
create function app_private.tg_faces__forget_objects() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  r record;
begin
  for r in select g.owner_id,
                  array_agg(app_hidden.face_crop_key(g.owner_id, g.id)) || coalesce(array_agg(g.photo_key) filter (where g.photo_key is not null), '{}') as keys
             from gone g group by g.owner_id loop
    -- videos__delete_objects takes any keys under the owner's prefix; id is the owner here.
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', r.owner_id, 'owner_id', r.owner_id, 'keys', r.keys));
    perform app_hidden.drop_empty_groups(r.owner_id);
  end loop;
  return null;
end;
$$;

create trigger _100_set_updated_at before update on app_public.persons
  for each row execute function app_private.tg__set_updated_at();
create trigger _500_forget_enrolment before delete on app_public.persons
  for each row execute function app_private.tg_persons__forget_enrolment();
create trigger _500_attach_on_naming after update of name on app_public.persons
  for each row when (old.name is null and new.name is not null)
  execute function app_private.tg_persons__attach_on_naming();
create trigger _900_forget_objects after delete on app_public.faces
  referencing old table as gone
  for each statement execute function app_private.tg_faces__forget_objects();

grant execute on function app_hidden.face_calibration(text), app_hidden.face_crop_key(uuid, uuid)
  to authenticated;

comment on table app_public.persons is 'Someone whose faces are recognised: enrolled from photos and named, or an unnamed group of similar faces found in videos.';
comment on column app_public.persons.owner_id is 'The user (auth.uid()) who owns the person.';
comment on column app_public.persons.name is 'Display name; null for an unnamed group the system formed.';
comment on column app_public.persons.created_at is 'When the person was enrolled or the group formed.';
comment on column app_public.persons.updated_at is 'When the row last changed.';
comment on table app_public.faces is 'One face seen in a scene (or on an enrolment photo), with its identity embedding.';
comment on column app_public.faces.owner_id is 'Owner of the video or photo (denormalised for row-level security).';
comment on column app_public.faces.person_id is 'Who this face is; null while unassigned.';
comment on column app_public.faces.video_id is 'Video the face was seen in; null for an enrolment photo.';
comment on column app_public.faces.scene_id is 'Scene the face was seen in; null for an enrolment photo.';
comment on column app_public.faces.photo_key is 'Storage key of the enrolment photo; null for a face seen in a video.';
comment on column app_public.faces.frame_s is 'Time of the frame in seconds from the video''s start; null for photos.';
comment on column app_public.faces.box is 'Where the face is: [x, y, w, h] as fractions of the frame (x, y = top-left corner).';
comment on column app_public.faces.det_score is 'Face detector confidence, 0..1.';
comment on column app_public.faces.embedding is 'Identity embedding (unit norm; compared by cosine distance only with faces of the same face_model).';
comment on column app_public.faces.face_model is 'Model that detected and embedded the face.';
comment on column app_public.faces.created_at is 'When the face was stored.';
comment on function app_hidden.face_calibration(text) is 'Matching thresholds of a face model (cosine distance): match_distance for enrolled/named persons, cluster_distance and min_faces for unnamed groups.';
comment on function app_hidden.face_crop_key(uuid, uuid) is 'Storage key of a face''s thumbnail crop.';
