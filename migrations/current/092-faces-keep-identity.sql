/*
 * Why: who a face belongs to is the user's knowledge (a group they named, a
 * face they assigned by hand, a person they enrolled from photos), and it
 * was lost whenever faces were detected again. faces_write replaced a
 * scene's faces with new rows that only automatic matching could place, and
 * after a face-model change nothing matched at all: the enrolment photos
 * still held the old model's embeddings, and matching compares a model only
 * with itself. Now a face detected again at the same moment and place keeps
 * its person, and enrolment photos are embedded again by the new model
 * (job faces__reembed, queued by reindex_stale).
 */
-- hnsw.* parameters exist only once pgvector's library is loaded.
select '[0]'::vector;

drop function if exists app_private.enrolment_faces_stale(text, integer);
drop function if exists app_private.enrolment_faces_stale(text, integer, uuid[]);
drop function if exists app_private.enrolment_face_reembedded(uuid, text, real[], real, jsonb);
drop function if exists app_hidden.box_iou(real[], real[]);

-- Intersection over union of two (x, y, w, h) boxes in frame fractions.
create function app_hidden.box_iou(a real[], b real[]) returns real
language sql immutable parallel safe
set search_path = ''
as $$
  select case when u > 0 then (i / u)::real else 0::real end
    from (select greatest(0, least(a[1] + a[3], b[1] + b[3]) - greatest(a[1], b[1]))
               * greatest(0, least(a[2] + a[4], b[2] + b[4]) - greatest(a[2], b[2])) as i) x
    cross join lateral (select a[3] * a[4] + b[3] * b[4] - x.i as u) y
$$;

/*
 * Stores the faces a scan found in the given scenes, replacing what those
 * scenes had. A new face at the same moment (within half a second) and
 * place (boxes overlapping by half) as a replaced face that had a person
 * keeps that person; the rest are matched as new faces.
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
    returning f.scene_id, f.frame_s, f.box, f.person_id
  )
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(gone)), '[]') into known
    from gone where gone.person_id is not null;
  with ins as (
    insert into app_public.faces (id, owner_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model,
                                  person_id)
    select n.id, v_owner, faces_write.video_id, n.scene_id, n.frame_s, n.box, n.det_score, n.embedding,
           faces_write.face_model,
           (select k.person_id
              from pg_catalog.jsonb_to_recordset(known) k(scene_id uuid, frame_s float8, box real[], person_id uuid)
             where k.scene_id = n.scene_id and abs(k.frame_s - n.frame_s) <= 0.5
               and app_hidden.box_iou(k.box, n.box) >= 0.5
             order by app_hidden.box_iou(k.box, n.box) desc
             limit 1)
      from (select coalesce((x ->> 'id')::uuid, gen_random_uuid()) as id, s.id as scene_id,
                   (x ->> 'frame_s')::float8 as frame_s,
                   array(select b::real from pg_catalog.jsonb_array_elements_text(x -> 'box') b) as box,
                   (x ->> 'det_score')::real as det_score, app_private.jsonb_vector(x -> 'embedding') as embedding
              from pg_catalog.jsonb_array_elements(scenes) e
              join app_public.scenes s on s.video_id = faces_write.video_id and s.ordinal = (e ->> 'ordinal')::int
              cross join lateral pg_catalog.jsonb_array_elements(coalesce(e -> 'faces', '[]')) x) n
    returning id, person_id
  )
  select coalesce(array_agg(ins.id) filter (where ins.person_id is null), '{}'), count(*) into ids, stored from ins;
  if app_private.faces_match(ids) < cardinality(ids) then
    perform graphile_worker.add_job('faces__cluster', json_build_object('id', v_owner),
      job_key := 'faces__cluster:' || v_owner::text, run_at := now() + interval '2 seconds', max_attempts := 8);
  end if;
  return stored;
end;
$$;

/*
 * Enrolment photos whose embedding came from another face model than the
 * given one, oldest first, for the worker to embed again, leaving out those
 * it already gave up on (skip). The box says which face of the photo was
 * enrolled.
 */
create function app_private.enrolment_faces_stale(face_model text, max_rows integer, skip uuid[] default '{}')
returns table (id uuid, owner_id uuid, photo_key text, box real[])
language sql stable security definer
set search_path = ''
as $$
  select f.id, f.owner_id, f.photo_key, f.box
    from app_public.faces f
   where f.photo_key is not null and f.face_model is distinct from enrolment_faces_stale.face_model
     and f.id <> all (coalesce(skip, '{}'))
   order by f.created_at, f.id
   limit greatest(max_rows, 0)
$$;

/*
 * Records an enrolment photo embedded again. The person stays; faces found
 * under the new model that match it are attached (as enrolling does), and
 * the owner's faces that no one has placed yet are matched again.
 */
create function app_private.enrolment_face_reembedded(face_id uuid, face_model text, box real[], det_score real,
                                                      embedding jsonb)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_owner uuid;
  v_person uuid;
begin
  update app_public.faces f
     set face_model = enrolment_face_reembedded.face_model, box = enrolment_face_reembedded.box,
         det_score = enrolment_face_reembedded.det_score,
         embedding = app_private.jsonb_vector(enrolment_face_reembedded.embedding)
   where f.id = face_id and f.photo_key is not null
  returning f.owner_id, f.person_id into v_owner, v_person;
  if not found then
    return false;
  end if;
  -- Runs as the owner of the tables here; it bounds itself to the person's owner.
  perform app_hidden.person_attach(v_person);
  perform graphile_worker.add_job('faces__cluster', json_build_object('id', v_owner),
    job_key := 'faces__cluster:' || v_owner::text, run_at := now() + interval '2 seconds', max_attempts := 8);
  return true;
end;
$$;
