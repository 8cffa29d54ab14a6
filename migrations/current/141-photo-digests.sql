/*
 * Why: an enrolment photo is read once by createPerson/addPersonPhotos and
 * again, much later, whenever the face model changes (faces__reembed). An
 * upload URL that is still valid (S3 presigned uploads live until they
 * expire) could replace the photo in between, and the person would be
 * re-embedded from someone else's face. The API records the SHA-256 of the
 * bytes it enrolled, as validation does for videos (content_sha256), and the
 * worker refuses other bytes under that key ("changed after upload").
 */
drop function if exists app_private.enrolment_faces_stale(text, integer, uuid[]);
alter table app_public.faces drop column if exists photo_sha256;

alter table app_public.faces
  add column photo_sha256 text check (photo_sha256 ~ '^[0-9a-f]{64}$');
comment on column app_public.faces.photo_sha256 is 'SHA-256 of the enrolment photo as enrolled; re-embedding refuses other bytes ("changed after upload").';
grant insert (photo_sha256) on app_public.faces to authenticated;

/*
 * Enrolment photos whose embedding came from another face model than the
 * given one, oldest first, for the worker to embed again, leaving out those
 * it already gave up on (skip). The box says which face of the photo was
 * enrolled; photo_sha256 which bytes (null for photos enrolled before it was
 * recorded).
 */
create function app_private.enrolment_faces_stale(face_model text, max_rows integer, skip uuid[] default '{}')
returns table (id uuid, owner_id uuid, photo_key text, box real[], photo_sha256 text)
language sql stable security definer
set search_path = ''
as $$
  select f.id, f.owner_id, f.photo_key, f.box, f.photo_sha256
    from app_public.faces f
   where f.photo_key is not null and f.face_model is distinct from enrolment_faces_stale.face_model
     and f.id <> all (coalesce(skip, '{}'))
   order by f.created_at, f.id
   limit greatest(max_rows, 0)
$$;
comment on function app_private.enrolment_faces_stale(text, integer, uuid[]) is 'Worker: enrolment photos embedded by another face model, to embed again.';
revoke all on function app_private.enrolment_faces_stale(text, integer, uuid[]) from public;
