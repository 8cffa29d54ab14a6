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
