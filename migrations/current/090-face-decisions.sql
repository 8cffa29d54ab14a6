/*
 * Why: a face the user unassigned or moved by hand stayed a candidate for
 * automatic matching, so the next naming, merge, enrolment or clustering
 * pass put it back with the person the user had just taken it from. A face
 * now remembers that its person is the user's decision (assigned_by_user,
 * set by assign_face): automatic matching (faces_match, the faces__cluster
 * pass, person_attach) never changes such a face again, while the user's
 * own actions (assignFace, mergePersons) still do. The decision survives
 * the face being detected again (faces_write carries it over with the
 * person). One flag rather than a list of rejected persons: it needs no
 * bookkeeping when persons are merged or deleted, and "the user placed this
 * face" is exactly what matching must not second-guess.
 */
-- hnsw.* parameters exist only once pgvector's library is loaded.
select '[0]'::vector;

alter table app_public.faces drop column if exists assigned_by_user;
alter table app_public.faces add column assigned_by_user boolean not null default false;
-- NOTE: assign_face runs as the user and records the decision with the person.
grant update (assigned_by_user) on app_public.faces to authenticated;
comment on column app_public.faces.assigned_by_user is 'True once the user placed this face by hand (assignFace, to a person or to nobody): automatic matching never moves it again.';

/*
 * Enrolling or naming a person attaches the faces already found that are
 * within match_distance of one of its faces: unassigned ones and those in
 * unnamed groups (never another named person's, never one the user placed
 * by hand). Runs as the caller, so row-level security bounds it to the
 * caller's own faces.
 */
create or replace function app_hidden.person_attach(person_id uuid) returns integer
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
   where g.id = near.id and g.owner_id = p.owner_id and not g.assigned_by_user
     and (g.person_id is null
          or exists (select from app_public.persons q where q.id = g.person_id and q.owner_id = p.owner_id and q.name is null));
  get diagnostics n = row_count;
  perform app_hidden.drop_empty_groups(p.owner_id);
  return n;
end;
$$;

/*
 * Decides the person of each unassigned face in face_ids that the user has
 * not placed by hand, oldest first, so earlier decisions inform later ones:
 * (1) the nearest enrolled or named person within match_distance; else (2)
 * a core face joins its nearest neighbour's person or starts an unnamed
 * one; with deferred (the later pass) a face that is still not core joins
 * its nearest neighbour's person if that neighbour has one. Returns how
 * many faces got a person.
 */
create or replace function app_private.faces_match(face_ids uuid[], deferred boolean default false) returns integer
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
            where x.id = any (face_ids) and x.person_id is null and not x.assigned_by_user
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
 * Stores the faces a scan found in the given scenes, replacing what those
 * scenes had. A new face at the same moment (within half a second) and
 * place (boxes overlapping by half) as a replaced face that had a person,
 * or that the user had placed by hand, keeps that person and that
 * decision; the rest are matched as new faces.
 */
create or replace function app_private.faces_write(video_id uuid, face_model text, scenes jsonb) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  ids uuid[];
  stored integer;
  known jsonb;
begin
  select v.owner_id into v_owner from app_public.videos v where v.id = faces_write.video_id;
  if not found then
    return null;
  end if;
  if pg_catalog.jsonb_typeof(scenes) is distinct from 'array' then
    raise exception 'faces_write needs an array of scenes' using errcode = '22023';
  end if;
  with gone as (
    delete from app_public.faces f
     using app_public.scenes s, pg_catalog.jsonb_array_elements(scenes) e
     where f.scene_id = s.id and f.owner_id = v_owner and s.video_id = faces_write.video_id
       and s.ordinal = (e ->> 'ordinal')::int and e ? 'faces'
    returning f.scene_id, f.frame_s, f.box, f.person_id, f.assigned_by_user
  )
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(gone)), '[]') into known
    from gone where gone.person_id is not null or gone.assigned_by_user;
  with ins as (
    insert into app_public.faces (id, owner_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model,
                                  person_id, assigned_by_user)
    select n.id, v_owner, faces_write.video_id, n.scene_id, n.frame_s, n.box, n.det_score, n.embedding,
           faces_write.face_model, k.person_id, coalesce(k.assigned_by_user, false)
      from (select coalesce((x ->> 'id')::uuid, gen_random_uuid()) as id, s.id as scene_id,
                   (x ->> 'frame_s')::float8 as frame_s,
                   array(select b::real from pg_catalog.jsonb_array_elements_text(x -> 'box') b) as box,
                   (x ->> 'det_score')::real as det_score, app_private.jsonb_vector(x -> 'embedding') as embedding
              from pg_catalog.jsonb_array_elements(scenes) e
              join app_public.scenes s on s.video_id = faces_write.video_id and s.ordinal = (e ->> 'ordinal')::int
              cross join lateral pg_catalog.jsonb_array_elements(coalesce(e -> 'faces', '[]')) x) n
      left join lateral (
        select k.person_id, k.assigned_by_user
          from pg_catalog.jsonb_to_recordset(known) k(scene_id uuid, frame_s float8, box real[], person_id uuid,
                                                       assigned_by_user boolean)
         where k.scene_id = n.scene_id and abs(k.frame_s - n.frame_s) <= 0.5
           and app_hidden.box_iou(k.box, n.box) >= 0.5
         order by app_hidden.box_iou(k.box, n.box) desc
         limit 1) k on true
    returning id, person_id, assigned_by_user
  )
  select coalesce(array_agg(ins.id) filter (where ins.person_id is null and not ins.assigned_by_user), '{}'), count(*)
    into ids, stored from ins;
  if app_private.faces_match(ids) < cardinality(ids) then
    perform graphile_worker.add_job('faces__cluster', json_build_object('id', v_owner),
      job_key := 'faces__cluster:' || v_owner::text, run_at := now() + interval '2 seconds', max_attempts := 8);
  end if;
  return stored;
end;
$$;

-- The later pass over one owner's unassigned faces (not those the user left
-- unassigned on purpose): cores first, then border faces. Bounded per job;
-- a further job continues if more remain.
create or replace function app_private.faces_recluster(owner_id uuid) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  ids uuid[];
  n integer;
begin
  ids := array(select f.id from app_public.faces f
                where f.owner_id = faces_recluster.owner_id and f.person_id is null and not f.assigned_by_user
                order by f.created_at, f.id limit 5000);
  n := app_private.faces_match(ids, false);
  n := n + app_private.faces_match(ids, true);
  return n;
end;
$$;

-- The user's own placement of a face: recorded as theirs, so matching leaves it alone from now on.
create or replace function app_public.assign_face(face_id uuid, person_id uuid) returns app_public.faces
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
  update app_public.faces x set person_id = assign_face.person_id, assigned_by_user = true
   where x.id = f.id returning * into f;
  perform app_hidden.drop_empty_groups(f.owner_id);
  return f;
end;
$$;

comment on function app_hidden.person_attach(uuid) is 'Attaches the owner''s unassigned or unnamed-group faces within match_distance of a named person''s faces, except faces the user placed by hand; returns how many.';
comment on function app_private.faces_match(uuid[], boolean) is 'Worker: give each unassigned face the user did not place by hand a person (named match, core face of a group, or with deferred a border face).';
comment on function app_private.faces_write(uuid, text, jsonb) is 'Worker: replace the faces of the given scenes (keeping person and user decision of a face detected again), match them, queue a faces__cluster pass when some stay unassigned.';
comment on function app_private.faces_recluster(uuid) is 'Worker (faces__cluster): the later clustering pass over one owner''s unassigned faces that the user did not leave unassigned on purpose.';
comment on function app_public.assign_face(uuid, uuid) is E'@behavior -*\nSets (or with null clears) the person of one face, as the user''s decision: automatic matching never moves the face again.';
