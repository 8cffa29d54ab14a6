/*
 * Why: a face that is not a core face when its video is indexed (too few
 * neighbours yet) waits for the later clustering pass (faces__cluster). That
 * pass was queued only when faces of the video just written stayed
 * unassigned, so when it ran before the owner's next video of the same
 * person, and that video's faces formed a group on their own, the first
 * video's faces stayed outside that group for good (test/cli/people.test.ts,
 * two videos of one person, failed that way under load: 2 faces grouped, 2
 * unassigned, no job left). Now writing faces also queues the pass when the
 * owner has unassigned faces elsewhere. Same body as migration 000006
 * otherwise; create or replace keeps its grants.
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
  matched integer;
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
  matched := app_private.faces_match(ids);
  -- The later pass also looks again when faces of the owner's other videos
  -- are still unassigned: these new faces may be the neighbours they lacked.
  if matched < cardinality(ids)
     or exists (select from app_public.faces f
                 where f.owner_id = v_owner and f.person_id is null and not f.assigned_by_user
                   and f.video_id is distinct from faces_write.video_id) then
    perform graphile_worker.add_job('faces__cluster', json_build_object('id', v_owner),
      job_key := 'faces__cluster:' || v_owner::text, run_at := now() + interval '2 seconds', max_attempts := 8);
  end if;
  return stored;
end;
$$;
