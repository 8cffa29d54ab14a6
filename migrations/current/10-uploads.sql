/*
 * Why: createVideo checks an uploaded object and then inserts its row; two
 * concurrent calls for the same key would both pass the check. One object is
 * one video, so the database refuses the second row and the API turns the
 * unique violation into a CONFLICT error.
 */
drop index if exists app_public.videos_object_key_key;

create unique index videos_object_key_key on app_public.videos (object_key);
