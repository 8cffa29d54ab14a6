--! Previous: sha1:8fb08bef1577eb9dacf91f8a34b26b26212d2869
--! Hash: sha1:ebc1781ddc5c720c2c3cacd527ef01a3a8557f4c
--! Message: People, faces and matching; pipeline jobs with a bounded retry budget; word forms and fuzzy on-screen text; least-privilege logins and grants

--! split: 090-persons-faces.sql
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

--! split: 091-faces-matching.sql
/*
 * Why: who a face is gets decided in SQL, next to the data, in the same
 * transaction that stores it, so a crash never leaves faces half-matched and
 * the rules are tested against a real database. The grouping of faces nobody
 * named follows Immich's incremental DBSCAN: a face with at least min_faces
 * neighbours within cluster_distance is a core face and joins the person of
 * its nearest neighbour that has one, or starts a new unnamed person; other
 * faces stay unassigned until a later pass (job faces__cluster) looks at
 * them again with more faces around, and then also lets them join a
 * neighbour's person (a border point). Nothing rescans all faces per insert.
 */
-- hnsw.* parameters exist only once pgvector's library is loaded.
select '[0]'::vector;

drop function if exists app_public.assign_face(uuid, uuid);
drop function if exists app_public.merge_persons(uuid, uuid);
drop function if exists app_private.faces_recluster(uuid);
drop function if exists app_private.faces_write(uuid, text, jsonb);
drop function if exists app_private.faces_match(uuid[], boolean);
drop function if exists app_hidden.person_attach(uuid);
drop function if exists app_hidden.drop_empty_groups(uuid);

-- Unnamed groups that lost their last face are noise in the person list.
create function app_hidden.drop_empty_groups(owner_id uuid) returns void
language sql volatile security invoker
set search_path = ''
as $$
  delete from app_public.persons p
   where p.owner_id = drop_empty_groups.owner_id and p.name is null
     and not exists (select from app_public.faces f where f.person_id = p.id and f.owner_id = p.owner_id)
$$;

/*
 * Enrolling or naming a person attaches the faces already found that are
 * within match_distance of one of its faces: unassigned ones and those in
 * unnamed groups (never another named person's). Runs as the caller, so
 * row-level security bounds it to the caller's own faces.
 */
create function app_hidden.person_attach(person_id uuid) returns integer
language plpgsql volatile security invoker
set search_path = pg_catalog, public
set hnsw.iterative_scan = relaxed_order
set hnsw.ef_search = 100
as $$
#variable_conflict use_column
declare
  p record;
  n integer;
begin
  select pr.id, pr.owner_id, pr.name into p from app_public.persons pr where pr.id = person_attach.person_id;
  if not found or p.name is null then
    return 0;
  end if;
  with near as (
    select distinct c.id
      from app_public.faces m
      cross join lateral app_hidden.face_calibration(m.face_model) cal
      cross join lateral (
        select g.id, g.person_id, g.embedding <=> m.embedding as d
          from app_public.faces g
         where g.owner_id = p.owner_id and g.face_model = m.face_model and g.id <> m.id
         order by g.embedding <=> m.embedding
         limit 200) c
     where m.person_id = p.id and m.owner_id = p.owner_id
       and c.d <= cal.match_distance and c.person_id is distinct from p.id
  )
  update app_public.faces g set person_id = p.id
    from near
   where g.id = near.id and g.owner_id = p.owner_id
     and (g.person_id is null
          or exists (select from app_public.persons q where q.id = g.person_id and q.owner_id = p.owner_id and q.name is null));
  get diagnostics n = row_count;
  perform app_hidden.drop_empty_groups(p.owner_id);
  return n;
end;
$$;

/*
 * Decides the person of each unassigned face in face_ids, oldest first, so
 * earlier decisions inform later ones: (1) the nearest enrolled or named
 * person within match_distance; else (2) a core face joins its nearest
 * neighbour's person or starts an unnamed one; with deferred (the later
 * pass) a face that is still not core joins its nearest neighbour's person
 * if that neighbour has one. Returns how many faces got a person.
 */
create function app_private.faces_match(face_ids uuid[], deferred boolean default false) returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, public
set hnsw.iterative_scan = relaxed_order
set hnsw.ef_search = 100
as $$
declare
  f record;
  cal record;
  target uuid;
  neighbours integer;
  n integer := 0;
begin
  for f in select x.id, x.owner_id, x.embedding, x.face_model from app_public.faces x
            where x.id = any (face_ids) and x.person_id is null
            order by x.created_at, x.id loop
    select * into cal from app_hidden.face_calibration(f.face_model);
    if not found then
      continue;
    end if;
    target := null;
    select c.person_id into target
      from (select g.person_id, g.embedding <=> f.embedding as d
              from app_public.faces g
             where g.owner_id = f.owner_id and g.face_model = f.face_model and g.id <> f.id and g.person_id is not null
             order by g.embedding <=> f.embedding
             limit 20) c
      join app_public.persons p on p.id = c.person_id and p.owner_id = f.owner_id and p.name is not null
     where c.d <= cal.match_distance
     order by c.d
     limit 1;
    if target is null then
      select count(*) filter (where c.d <= cal.cluster_distance),
             (array_agg(c.person_id order by c.d) filter (where c.d <= cal.cluster_distance and c.person_id is not null))[1]
        into neighbours, target
        from (select g.person_id, g.embedding <=> f.embedding as d
                from app_public.faces g
               where g.owner_id = f.owner_id and g.face_model = f.face_model and g.id <> f.id
               order by g.embedding <=> f.embedding
               limit 50) c;
      if neighbours >= cal.min_faces then
        if target is null then
          insert into app_public.persons (owner_id, name) values (f.owner_id, null) returning id into target;
        end if;
      elsif not deferred then
        target := null;
      end if;
    end if;
    if target is not null then
      update app_public.faces x set person_id = target where x.id = f.id;
      n := n + 1;
    end if;
  end loop;
  return n;
end;
$$;

/*
 * scenes: [{ordinal, faces: [{id, frame_s, box: [x, y, w, h], det_score,
 * embedding: number[]}]}]. Replaces the faces of each scene listed (in the
 * transaction that writes the scenes), matches them, and when some stay
 * unassigned queues one faces__cluster pass for the owner, debounced by its
 * job key so a batch of uploads costs one pass. Returns the faces written,
 * or null when the video is gone.
 */
create function app_private.faces_write(video_id uuid, face_model text, scenes jsonb) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  ids uuid[];
begin
  select v.owner_id into v_owner from app_public.videos v where v.id = faces_write.video_id;
  if not found then
    return null;
  end if;
  if pg_catalog.jsonb_typeof(scenes) is distinct from 'array' then
    raise exception 'faces_write needs an array of scenes' using errcode = '22023';
  end if;
  delete from app_public.faces f
   using app_public.scenes s, pg_catalog.jsonb_array_elements(scenes) e
   where f.scene_id = s.id and f.owner_id = v_owner and s.video_id = faces_write.video_id
     and s.ordinal = (e ->> 'ordinal')::int and e ? 'faces';
  with ins as (
    insert into app_public.faces (id, owner_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model)
    select coalesce((x ->> 'id')::uuid, gen_random_uuid()), v_owner, faces_write.video_id, s.id,
           (x ->> 'frame_s')::float8,
           array(select b::real from pg_catalog.jsonb_array_elements_text(x -> 'box') b),
           (x ->> 'det_score')::real, app_private.jsonb_vector(x -> 'embedding'), faces_write.face_model
      from pg_catalog.jsonb_array_elements(scenes) e
      join app_public.scenes s on s.video_id = faces_write.video_id and s.ordinal = (e ->> 'ordinal')::int
      cross join lateral pg_catalog.jsonb_array_elements(coalesce(e -> 'faces', '[]')) x
    returning id
  )
  select coalesce(array_agg(ins.id), '{}') into ids from ins;
  if app_private.faces_match(ids) < cardinality(ids) then
    perform graphile_worker.add_job('faces__cluster', json_build_object('id', v_owner),
      job_key := 'faces__cluster:' || v_owner::text, run_at := now() + interval '2 seconds', max_attempts := 8);
  end if;
  return cardinality(ids);
end;
$$;

-- The later pass over one owner's unassigned faces: cores first, then
-- border faces. Bounded per job; a further job continues if more remain.
create function app_private.faces_recluster(owner_id uuid) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  ids uuid[];
  n integer;
begin
  ids := array(select f.id from app_public.faces f
                where f.owner_id = faces_recluster.owner_id and f.person_id is null
                order by f.created_at, f.id limit 5000);
  n := app_private.faces_match(ids, false);
  n := n + app_private.faces_match(ids, true);
  return n;
end;
$$;

create function app_public.merge_persons(source_id uuid, target_id uuid) returns app_public.persons
language plpgsql volatile security invoker
set search_path = ''
as $$
declare
  s app_public.persons;
  t app_public.persons;
begin
  select * into s from app_public.persons p where p.id = merge_persons.source_id;
  select * into t from app_public.persons p where p.id = merge_persons.target_id;
  if s.id is null or t.id is null then
    raise exception 'person not found' using errcode = 'P0001';
  end if;
  if s.id = t.id then
    raise exception 'cannot merge a person into itself' using errcode = '22023';
  end if;
  update app_public.faces f set person_id = t.id where f.person_id = s.id and f.owner_id = s.owner_id;
  delete from app_public.persons p where p.id = s.id;
  if t.name is null and s.name is not null then
    update app_public.persons p set name = s.name where p.id = t.id;
  else
    perform app_hidden.person_attach(t.id);
  end if;
  select * into t from app_public.persons p where p.id = merge_persons.target_id;
  return t;
end;
$$;

create function app_public.assign_face(face_id uuid, person_id uuid) returns app_public.faces
language plpgsql volatile security invoker
set search_path = ''
as $$
declare
  f app_public.faces;
begin
  select * into f from app_public.faces x where x.id = assign_face.face_id;
  if f.id is null then
    raise exception 'face not found' using errcode = 'P0001';
  end if;
  if assign_face.person_id is not null
     and not exists (select from app_public.persons p where p.id = assign_face.person_id) then
    raise exception 'person not found' using errcode = 'P0001';
  end if;
  if assign_face.person_id is null and f.photo_key is not null then
    raise exception 'a face from an enrolment photo always belongs to its person; delete the person instead'
      using errcode = '22023';
  end if;
  update app_public.faces x set person_id = assign_face.person_id where x.id = f.id returning * into f;
  perform app_hidden.drop_empty_groups(f.owner_id);
  return f;
end;
$$;

create function app_public.persons_face_count(p app_public.persons) returns integer
language sql stable
set search_path = ''
as $$
  select count(*)::int from app_public.faces f where f.person_id = p.id and f.owner_id = p.owner_id
$$;

create function app_public.persons_scene_count(p app_public.persons) returns integer
language sql stable
set search_path = ''
as $$
  select count(distinct f.scene_id)::int from app_public.faces f
   where f.person_id = p.id and f.owner_id = p.owner_id and f.scene_id is not null
$$;

-- The crop shown for a person: an enrolment photo's face if any, else the most confidently detected one.
create function app_public.persons_thumbnail_key(p app_public.persons) returns text
language sql stable
set search_path = ''
as $$
  select app_hidden.face_crop_key(f.owner_id, f.id) from app_public.faces f
   where f.person_id = p.id and f.owner_id = p.owner_id
   order by f.photo_key is null, f.det_score desc, f.id
   limit 1
$$;

revoke all on function app_private.faces_match(uuid[], boolean), app_private.faces_write(uuid, text, jsonb),
  app_private.faces_recluster(uuid) from public;
grant execute on function app_hidden.person_attach(uuid), app_hidden.drop_empty_groups(uuid),
  app_public.merge_persons(uuid, uuid), app_public.assign_face(uuid, uuid),
  app_public.persons_face_count(app_public.persons), app_public.persons_scene_count(app_public.persons),
  app_public.persons_thumbnail_key(app_public.persons)
  to authenticated;

-- The worker's faces__cluster task calls this one directly.
grant execute on function app_private.faces_recluster(uuid) to heimdex_worker;

comment on function app_hidden.drop_empty_groups(uuid) is 'Deletes the owner''s unnamed persons that have no face left.';
comment on function app_hidden.person_attach(uuid) is 'Attaches the owner''s unassigned or unnamed-group faces within match_distance of a named person''s faces; returns how many.';
comment on function app_private.faces_match(uuid[], boolean) is 'Worker: give each unassigned face a person (named match, core face of a group, or with deferred a border face).';
comment on function app_private.faces_write(uuid, text, jsonb) is 'Worker: replace the faces of the given scenes, match them, queue a faces__cluster pass when some stay unassigned.';
comment on function app_private.faces_recluster(uuid) is 'Worker (faces__cluster): the later clustering pass over one owner''s unassigned faces.';
comment on function app_public.merge_persons(uuid, uuid) is E'@behavior -*\nMoves every face of source to target and deletes source; an unnamed target takes the source''s name.';
comment on function app_public.assign_face(uuid, uuid) is E'@behavior -*\nSets (or with null clears) the person of one face.';
comment on function app_public.persons_face_count(app_public.persons) is 'How many faces (enrolment photos and scenes) belong to the person.';
comment on function app_public.persons_scene_count(app_public.persons) is 'In how many scenes the person appears.';
comment on function app_public.persons_thumbnail_key(app_public.persons) is E'@behavior -*\nStorage key of the face crop shown for the person.';

--! split: 100-pipeline-jobs.sql
/*
 * Why: the insert trigger, the delete trigger and reprocess_video each
 * queued jobs with their own hard-coded max_attempts. They now go through
 * app_private.add_pipeline_job (fixtures/pipeline_steps.sql), where the retry
 * policy is stated once. `create or replace` keeps the triggers attached and
 * the grants as they are. Also corrects the ocr_text comment: on-screen text
 * is read on frames sampled through the whole scene, not only the keyframe.
 */
create or replace function app_private.tg__add_job() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  -- Generic: tg_argv[0] is the task; the payload is the row id.
  perform app_private.add_pipeline_job(tg_argv[0], json_build_object('id', new.id),
    tg_argv[0] || ':' || new.id::text, job_key_mode := 'preserve_run_at');
  return new;
end;
$$;

-- Deleting a video must not leak its bytes: a job removes the objects after
-- the delete commits (and is simply dropped if the delete rolls back).
create or replace function app_private.tg_videos__forget_objects() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform app_private.add_pipeline_job('videos__delete_objects',
    json_build_object('id', old.id, 'owner_id', old.owner_id, 'keys',
      array_remove(array[old.object_key, old.subtitle_key], null)
      || coalesce((select array_agg(s.keyframe_key) from app_public.scenes s
                   where s.video_id = old.id and s.keyframe_key is not null), '{}')));
  return old;
end;
$$;

create or replace function app_private.reprocess_video(video_id uuid) returns boolean
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
  perform app_private.add_pipeline_job('videos__validate', json_build_object('id', video_id),
    'videos__validate:' || video_id::text);
  return true;
end;
$$;

comment on column app_public.scenes.ocr_text is 'Text read on screen in frames sampled through the scene, not only in its keyframe.';

--! split: 120-word-forms.sql
/*
 * Why: query words must match the forms people speak and the near-misses OCR
 * reads. The 'simple' tsvector (scenes.tsv) indexes every language as written
 * and stays as it is; next to it, tsv_stem holds the transcript and on-screen
 * text stemmed with the PostgreSQL text search configuration of the video's
 * language ("roasting the tomatoes" → roast, tomato), so "roasted tomato"
 * matches. Languages PostgreSQL has no stemmer for (Korean, Japanese,
 * Chinese…) get an empty tsv_stem: their words are matched as written, as
 * before. pg_trgm (a contrib extension, in Debian's postgresql package and the
 * postgres images) indexes ocr_text by trigrams, so a query word still finds
 * "Laotop" when the screen said "Laptop".
 */
drop trigger if exists _200_stem_config on app_public.videos;
drop trigger if exists _200_stem_config on app_public.scenes;
drop function if exists app_private.tg_videos__stem_config();
drop function if exists app_private.tg_scenes__stem_config();
drop index if exists app_public.scenes_ocr_text_trgm_idx;
drop index if exists app_public.scenes_tsv_words_idx;
alter table app_public.scenes drop column if exists tsv_stem;
alter table app_public.scenes drop column if exists stem_config;
drop function if exists app_hidden.stem_config(text);

-- Trusted since PostgreSQL 13: the owner role may create it. The embedded
-- setup and afterReset.sql create it as the superuser too, like vector.
create extension if not exists pg_trgm;

-- The stemming configuration for a language as Whisper (ISO 639-1, "en") or
-- a subtitle track (ISO 639-2, "eng") names it. Unknown (NULL: a sidecar
-- subtitle file, on-screen text only) counts as English, the most common
-- case; the simple forms still match any language exactly. A language with
-- no stemmer maps to 'simple', which tsv_stem stores as nothing.
create function app_hidden.stem_config(language text) returns regconfig
language sql immutable parallel safe
set search_path = ''
as $$
  select case lower(coalesce(language, 'en'))
    when 'en' then 'english' when 'eng' then 'english' when 'english' then 'english'
    when 'de' then 'german' when 'deu' then 'german' when 'ger' then 'german' when 'german' then 'german'
    when 'fr' then 'french' when 'fra' then 'french' when 'fre' then 'french' when 'french' then 'french'
    when 'es' then 'spanish' when 'spa' then 'spanish' when 'spanish' then 'spanish'
    when 'it' then 'italian' when 'ita' then 'italian' when 'italian' then 'italian'
    when 'pt' then 'portuguese' when 'por' then 'portuguese' when 'portuguese' then 'portuguese'
    when 'nl' then 'dutch' when 'nld' then 'dutch' when 'dut' then 'dutch' when 'dutch' then 'dutch'
    when 'sv' then 'swedish' when 'swe' then 'swedish' when 'swedish' then 'swedish'
    when 'da' then 'danish' when 'dan' then 'danish' when 'danish' then 'danish'
    when 'no' then 'norwegian' when 'nb' then 'norwegian' when 'nn' then 'norwegian' when 'nor' then 'norwegian'
    when 'nob' then 'norwegian' when 'norwegian' then 'norwegian'
    when 'fi' then 'finnish' when 'fin' then 'finnish' when 'finnish' then 'finnish'
    when 'ru' then 'russian' when 'rus' then 'russian' when 'russian' then 'russian'
    when 'hu' then 'hungarian' when 'hun' then 'hungarian' when 'hungarian' then 'hungarian'
    when 'ro' then 'romanian' when 'ron' then 'romanian' when 'rum' then 'romanian' when 'romanian' then 'romanian'
    when 'tr' then 'turkish' when 'tur' then 'turkish' when 'turkish' then 'turkish'
    else 'simple'
  end::regconfig
$$;
-- search_scenes runs as the caller and picks each video's stemmer with it.
grant execute on function app_hidden.stem_config(text) to authenticated;
comment on function app_hidden.stem_config(text) is 'The text search configuration that stems words of this language (ISO 639-1 or -2 code); NULL counts as English, a language without a stemmer as simple (no stemming).';

alter table app_public.scenes add column stem_config regconfig not null default 'english';
alter table app_public.scenes add column tsv_stem tsvector generated always as (
  case when stem_config = 'simple'::regconfig then ''::tsvector
  else setweight(to_tsvector(stem_config, transcript), 'A') || setweight(to_tsvector(stem_config, ocr_text), 'B') end
) stored;
comment on column app_public.scenes.stem_config is 'Stemming configuration of the video''s language (set from videos.language by a trigger).';
comment on column app_public.scenes.tsv_stem is 'Transcript (A) and on-screen text (B) stemmed in stem_config; empty for languages without a stemmer.';

-- Word candidates are found by any form in one index scan.
create index scenes_tsv_words_idx on app_public.scenes using gin ((tsv || tsv_stem));
create index scenes_ocr_text_trgm_idx on app_public.scenes using gin (ocr_text gin_trgm_ops);

create function app_private.tg_scenes__stem_config() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  new.stem_config := app_hidden.stem_config((select v.language from app_public.videos v where v.id = new.video_id));
  return new;
end;
$$;
comment on function app_private.tg_scenes__stem_config() is 'Scenes take the stemming configuration of their video''s language.';

-- The language may be recorded after the scenes (a reindex that transcribes).
create function app_private.tg_videos__stem_config() returns trigger
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  update app_public.scenes s set stem_config = app_hidden.stem_config(new.language)
   where s.video_id = new.id and s.stem_config is distinct from app_hidden.stem_config(new.language);
  return null;
end;
$$;
comment on function app_private.tg_videos__stem_config() is 'A video''s new language restems its scenes.';

create trigger _200_stem_config before insert or update of video_id on app_public.scenes
  for each row execute function app_private.tg_scenes__stem_config();
create trigger _200_stem_config after update of language on app_public.videos
  for each row when (old.language is distinct from new.language)
  execute function app_private.tg_videos__stem_config();

update app_public.scenes s set stem_config = app_hidden.stem_config(v.language)
  from app_public.videos v where v.id = s.video_id;

--! split: 150-privileges.sql
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
         'reindex_missing', 'reindex_stale',
         -- fixtures/search_scenes.sql
         'search_similarity', 'search_query_words', 'search_tsquery', 'search_stem_tsquery', 'search_rank', 'search_tag_score',
         'search_escape_html', 'search_snippet', 'search_scenes', 'search_scene_persons'])
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
  app_private.auth_create_session(uuid, text, int), app_private.auth_refresh(text, text, int),
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
create function app_private.add_pipeline_job(task text, payload json, job_key text default null,
                                             queue_name text default null, job_key_mode text default 'replace')
returns void
language plpgsql volatile
set search_path = ''
as $$
begin
  perform graphile_worker.add_job(task, payload, queue_name := queue_name, job_key := job_key,
                                  job_key_mode := job_key_mode, max_attempts := 8);
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

create function app_private.pipeline_progress(video_id uuid, stage text, done real)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_state text := case when stage = 'validate' then 'validating' else 'processing' end;
  v_progress real := app_private.pipeline_stage_progress(stage, done);
begin
  if v_progress is null then
    raise exception 'unknown pipeline stage %', stage using errcode = '22023';
  end if;
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
         state = 'processing', stage = 'transcribe',
         progress = app_private.pipeline_stage_progress('transcribe', 0), error = null
   where v.id = video_id;
  if not found then
    return false;
  end if;
  perform app_private.add_pipeline_job('videos__transcribe', json_build_object('id', video_id),
    'videos__transcribe:' || video_id::text);
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
  update app_public.videos v set stage = 'cut', progress = greatest(v.progress, app_private.pipeline_stage_progress('cut', 0))
   where v.id = video_id;
  perform app_private.add_pipeline_job('videos__index', json_build_object('id', video_id),
    'videos__index:' || video_id::text);
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
  return n;
end;
$$;

revoke all on function app_private.add_pipeline_job(text, json, text, text, text),
  app_private.pipeline_stage_progress(text, real), app_private.pipeline_progress(uuid, text, real), app_private.pipeline_reindex_progress(uuid, text, real),
  app_private.pipeline_fail(uuid, text), app_private.pipeline_validated(uuid, jsonb),
  app_private.pipeline_transcribed(uuid, jsonb), app_private.pipeline_transcript(uuid),
  app_private.pipeline_stored_scenes(uuid), app_private.pipeline_indexed(uuid, jsonb),
  app_private.pipeline_reindexed(uuid, jsonb), app_private.reindex_missing(),
  app_private.reindex_stale(text, text, text) from public;

comment on function app_private.add_pipeline_job(text, json, text, text, text) is 'Queue a pipeline job with the one retry policy (8 attempts).';
comment on function app_private.pipeline_stage_progress(text, real) is 'Overall 0..1 progress of a video that is done (0..1) through the given stage.';
comment on function app_private.pipeline_progress(uuid, text, real) is 'Worker: announce the stage and how far it is (never moves progress backwards within a state).';
comment on function app_private.pipeline_reindex_progress(uuid, text, real) is 'Worker: announce re-index progress on an indexed video without changing its state.';
comment on function app_private.pipeline_transcript(uuid) is 'Worker: the transcript stored for the index step, or null.';
comment on function app_private.pipeline_stored_scenes(uuid) is 'Worker: the stored scenes a re-index starts from.';
comment on function app_private.pipeline_fail(uuid, text) is 'Worker: mark a video failed with a reason a user can act on.';
comment on function app_private.pipeline_validated(uuid, jsonb) is 'Worker: record probed media facts, move to processing and queue videos__transcribe.';
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
  -- English function words carry no meaning of their own and, since the
  -- 'simple' configuration keeps them in every transcript, would let "the"
  -- outrank the one word that matters. They are dropped from the query unless
  -- nothing else is left ("the who" still searches for something).
  with w as (
    select coalesce((pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, coalesce(query, ''))))[1:32], '{}') as all_words
  ), kept as (
    select array(select x from unnest(w.all_words) x where x <> all (array[
      'a', 'an', 'the', 'and', 'or', 'but', 'of', 'in', 'on', 'at', 'to', 'for', 'with', 'by', 'from', 'into', 'onto',
      'about', 'over', 'under', 'as', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'am', 'do', 'does', 'did',
      'it', 'its', 'this', 'that', 'these', 'those', 'there', 'here', 'i', 'me', 'my', 'we', 'our', 'you', 'your',
      'he', 'him', 'his', 'she', 'her', 'they', 'them', 'their', 'what', 'which', 'who', 'whom', 'where', 'when',
      'how', 'some', 'any', 'so', 'if', 'then', 'than', 'not', 'no'])) as words, w.all_words
    from w
  )
  select case when cardinality(kept.words) > 0 then kept.words else kept.all_words end from kept
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

-- The stemmed forms of the words in each of the given configurations, OR-ed
-- ('simple' is skipped: tsv_stem is empty there). Stop words stem to nothing.
-- weights as in search_tsquery; prefix makes each stem a prefix (for
-- highlighting "roasting" from the stem "roast" in a snippet).
create function app_hidden.search_stem_tsquery(words text[], configs regconfig[], weights text, prefix boolean default false)
returns tsquery
language sql immutable parallel safe
set search_path = ''
as $$
  select nullif(pg_catalog.array_to_string(array(
    select distinct '''' || replace(replace(l, '\', '\\'), '''', '''''') || ''''
           || case when weights <> '' or prefix then ':' else '' end
           || case when prefix then '*' else '' end || weights
    from unnest(words) w, unnest(configs) c, unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(c, w))) l
    where c <> 'simple'::regconfig
  ), ' | '), '')::tsquery
$$;

-- Cover density of the matches, normalised to r/(r+1) (0..1). On-screen
-- text (weight B) counts 0.8 of speech (A) rather than PostgreSQL's default
-- 0.4: a burned-in title or slide is as deliberate as a spoken word.
create function app_hidden.search_rank(tsv tsvector, q tsquery) returns double precision
language sql immutable parallel safe
set search_path = ''
as $$
  select pg_catalog.ts_rank_cd('{0.1, 0.2, 0.8, 1.0}'::real[], tsv, q, 32)::float8
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

-- The people seen in a scene, as [{id, name}] (named first), for each hit.
create function app_hidden.search_scene_persons(scene_id uuid, owner_id uuid) returns jsonb
language sql stable parallel safe
set search_path = ''
as $$
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', p.id, 'name', p.name)
                                       order by p.name is null, p.name, p.id), '[]'::jsonb)
  from app_public.persons p
  where p.owner_id = search_scene_persons.owner_id
    and p.id in (select f.person_id from app_public.faces f
                 where f.scene_id = search_scene_persons.scene_id and f.owner_id = search_scene_persons.owner_id)
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
-- A query word matches an on-screen word fuzzily when their trigram
-- similarity is at least a third: one wrong letter in a word of five or more
-- ("Laotop", "APRLE"), while "potato" stays apart from "tomato". Strict (whole
-- words), so "nation" does not match inside "presentation".
set pg_trgm.strict_word_similarity_threshold = 0.33
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
  -- Every form of the query words: stemmed in the stemming configurations
  -- of the caller's videos (tsv_stem), and fuzzily against on-screen text
  -- for words of four letters or more (shorter ones have too few trigrams
  -- to tell a misread from another word).
  stem_configs regconfig[];
  stem_queries tsquery[];
  any_queries tsquery[];
  fuzzy boolean[];
  tsq_stem tsquery;
  tsq_any tsquery;
  tsq_snippet tsquery;
  -- Inverse document frequency of each query word among the caller's scenes
  -- in scope: a word found in few scenes says more than one found in many.
  word_idf float8[];
  idf_total float8;
  scope_size bigint;
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
  -- A person filter restricts every candidate query below to the scenes
  -- where one of the person's faces was seen (an indexed semi-join, so a
  -- person with few scenes is cheap and never a scan of all scenes).
  if search_scenes.person_id is not null then
    if not exists (select from app_public.persons p where p.id = search_scenes.person_id and p.owner_id = uid) then
      return;
    end if;
    -- No words and no vectors: every scene of the person, in time order per video.
    if cardinality(words) = 0 and qv_text is null and qv_image is null then
      return query
      select s.id, s.video_id, s.start_s, s.end_s, 1::float8, 0::float8, 0::float8, 0::float8,
             app_hidden.search_snippet(s.transcript, s.ocr_text, null),
             app_hidden.search_scene_persons(s.id, uid)
        from app_public.scenes s
        join app_public.videos v on v.id = s.video_id and v.owner_id = uid
       where s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids))
         and s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id)
       order by v.created_at, v.id, s.start_s, s.id
       limit page_size offset page_offset;
      return;
    end if;
  end if;

  tsq_text := app_hidden.search_tsquery(words, 'AB');
  tsq_tags := app_hidden.search_tsquery(words, 'C');
  tsq_plain := app_hidden.search_tsquery(words, '');
  word_queries := array(select app_hidden.search_tsquery(array[w], 'AB') from unnest(words) w);
  stem_configs := array(select distinct app_hidden.stem_config(v.language) from app_public.videos v
                        where v.owner_id = uid and (video_ids is null or v.id = any(video_ids)));
  stem_queries := array(select app_hidden.search_stem_tsquery(array[w], stem_configs, 'AB') from unnest(words) w);
  any_queries := array(select case when sq is null then wq else wq || sq end
                       from unnest(word_queries, stem_queries) t(wq, sq));
  fuzzy := array(select char_length(w) >= 4 from unnest(words) w);
  tsq_stem := app_hidden.search_stem_tsquery(words, stem_configs, 'AB');
  tsq_any := case when tsq_stem is null then tsq_text else tsq_text || tsq_stem end;
  tsq_snippet := case when tsq_stem is null then tsq_plain
                      else tsq_plain || app_hidden.search_stem_tsquery(words, stem_configs, '', true) end;
  tsq_all := (select string_agg('(' || q::text || ')', ' & ') from unnest(any_queries) q)::tsquery;
  if cardinality(word_queries) > 0 then
    scope_size := (select count(*) from app_public.scenes s
                   where s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids)));
    -- Document frequencies (scenes with the word in any form) are capped:
    -- beyond 10k scenes a word is simply common, and counting further would
    -- only cost time.
    word_idf := array(
      select ln(1 + (scope_size + 1)::float8 / (1 + (
               select count(*) from (select s.id from app_public.scenes s
                                     where s.owner_id = uid and (s.tsv || s.tsv_stem) @@ t.aq
                                       and (video_ids is null or s.video_id = any(video_ids))
                                     union
                                     select s.id from app_public.scenes s
                                     where t.fz and s.owner_id = uid and t.w <<% s.ocr_text
                                       and (video_ids is null or s.video_id = any(video_ids))
                                     limit 10000) d)))
      from unnest(words, any_queries, fuzzy) with ordinality t(w, aq, fz, i)
      order by t.i);
    idf_total := (select sum(x) from unnest(word_idf) x);
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

  exact := (select count(*) from (
              select from app_public.scenes s
              where s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids))
                and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
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
        and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
      order by (s.text_vec <=> qv_text) + 0, s.id
      limit pool);
    image_ids := array(
      select s.id from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
        and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
      order by (s.image_vec <=> qv_image) + 0, s.id
      limit pool);
  else
    perform set_config('enable_sort', 'off', true);
    text_ids := array(
      select s.id from app_public.scenes s
      where qv_text is not null and s.owner_id = uid and s.text_vec is not null
        and (text_videos is null or s.video_id = any(text_videos))
        and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
      order by s.text_vec <=> qv_text
      limit pool);
    image_ids := array(
      select s.id from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
        and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
      order by s.image_vec <=> qv_image
      limit pool);
    perform set_config('enable_sort', 'on', true);
  end if;

  -- Word candidates: scenes with every query word (in some form) first,
  -- and only when there are too few of those, any word, then on-screen text
  -- that matches only fuzzily. Ranking every scene that merely contains
  -- "the" is what makes word search slow for users with many scenes.
  if tsq_text is not null then
    word_ids := array(
      select s.id from app_public.scenes s
      where s.owner_id = uid and (s.tsv || s.tsv_stem) @@ tsq_all
        and (video_ids is null or s.video_id = any(video_ids))
        and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
      order by app_hidden.search_rank(s.tsv, tsq_text) desc, s.id
      limit pool);
    if cardinality(word_ids) < pool and cardinality(words) > 1 then
      word_ids := array(
        select s.id from app_public.scenes s
        where s.owner_id = uid and (s.tsv || s.tsv_stem) @@ tsq_any
          and (video_ids is null or s.video_id = any(video_ids))
          and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
        order by app_hidden.search_rank(s.tsv, tsq_text) desc, s.id
        limit pool);
    end if;
    if cardinality(word_ids) < pool and true = any(fuzzy) then
      word_ids := word_ids || array(
        select f.id from (
          select s.id, max(strict_word_similarity(t.w, s.ocr_text)) as sim
          from unnest(words, fuzzy) t(w, fz)
          join app_public.scenes s on t.w <<% s.ocr_text
          where t.fz and s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids))
            and (search_scenes.person_id is null or s.id in (select fc.scene_id from app_public.faces fc where fc.owner_id = uid and fc.person_id = search_scenes.person_id))
          group by s.id) f
        where f.id <> all(word_ids)
        order by f.sim desc, f.id
        limit pool - cardinality(word_ids));
    end if;
  end if;

  return query
  with
  tag_hits as (
    select s.id from app_public.scenes s
    where tsq_tags is not null and s.owner_id = uid and s.tsv @@ tsq_tags
      and (video_ids is null or s.video_id = any(video_ids))
      and (search_scenes.person_id is null or s.id in (select f.scene_id from app_public.faces f where f.owner_id = uid and f.person_id = search_scenes.person_id))
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
           -- Full-text strength in 0..1: half the IDF-weighted share of query
           -- words present in the transcript/on-screen text, half cover
           -- density (ts_rank_cd normalised to r/(r+1)), so matching every
           -- word, and the rare ones, beats repeating one. A word counts 1
           -- as written (or as a prefix), 0.75 stemmed only, and 0.5 x its
           -- strict trigram word similarity (< 0.5) when only a misread on-screen
           -- word matches; stemmed cover density counts 0.75 too. The @@ and
           -- <<% guards skip the work for vector-only hits.
           case when tsq_text is not null
                     and ((s.tsv || s.tsv_stem) @@ tsq_any
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
         app_hidden.search_snippet(p.transcript, p.ocr_text, tsq_snippet),
         app_hidden.search_scene_persons(p.id, uid)
  from page p
  order by p.score desc, p.id;
end;
$$;

revoke all on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) from public;
grant execute on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) to authenticated;
grant execute on function
  app_hidden.search_similarity(text, double precision),
  app_hidden.search_query_words(text),
  app_hidden.search_rank(tsvector, tsquery),
  app_hidden.search_tsquery(text[], text),
  app_hidden.search_stem_tsquery(text[], regconfig[], text, boolean),
  app_hidden.search_tag_score(jsonb, text[]),
  app_hidden.search_escape_html(text),
  app_hidden.search_snippet(text, text, tsquery),
  app_hidden.search_scene_persons(uuid, uuid)
  to authenticated;

comment on type app_public.scene_hit is E'@behavior -*\nOne ranked search result: a scene, its fused score and each modality''s 0..1 component.';
comment on column app_public.scene_hit.score is 'w_text*text_score + w_vision*vision_score + w_tags*tags_score.';
comment on column app_public.scene_hit.text_score is 'Calibrated transcript/on-screen text match, 0..1 (dense similarity OR-ed with full-text).';
comment on column app_public.scene_hit.vision_score is 'Calibrated keyframe-to-query similarity, 0..1.';
comment on column app_public.scene_hit.tags_score is 'How well the query names the scene''s tags, 0..1.';
comment on column app_public.scene_hit.persons is 'People seen in the scene: [{"id", "name"}], named first; name is null for an unnamed group.';
comment on column app_public.scene_hit.snippet is 'Short excerpt of the transcript (or on-screen text) with matches in <b>..</b>; the text itself is HTML-escaped.';
comment on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) is E'@behavior -queryField -mutationField -typeField\nRanks the caller''s scenes for a query. score = w_text*text + w_vision*vision + w_tags*tags, each component on 0..1: text = noisy OR of calibrated dense similarity (BGE-M3 cosine mapped linearly from [0.35, 0.75]) and full-text match (IDF-weighted share of query words found, a word counting 1 as written, 0.75 stemmed in its video''s language, under 0.5 as a misread on-screen word by trigram similarity, plus ts_rank_cd/(1+ts_rank_cd) with on-screen text at 0.8 of speech, halved; English function words are dropped from the query unless nothing else is left); vision = SigLIP cosine of image_vec and image_embedding mapped from [0.05, 0.20]; tags = best label score times the share of its words the query names. Missing modalities score 0 and never exclude a scene. person_id restricts every candidate source to scenes where one of that person''s faces was seen; with no words and no embeddings it lists all those scenes in time order per video (score 1). text_model/image_model restrict vector comparisons to videos embedded by that model. Candidates: 200 per source (text HNSW, image HNSW, words, tags; vectors compared exactly when the caller has at most 2000 scenes in scope); pages of page_size (1..100) from page_offset over that fixed pool, ties by scene id.';
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
         'pipeline_reindexed', 'reindex_stale'])
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
