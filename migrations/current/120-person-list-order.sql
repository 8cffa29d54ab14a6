/*
 * Why: searchScenes(personId) with no words lists a person's scenes in the
 * library's order (videos by created_at, id; scenes by start_s). For a person
 * seen in tens of thousands of scenes that sorted every one of them to return
 * a page: 220 ms at 300k scenes (BENCHMARKS.md). With videos indexed in that
 * order and the person's faces indexed by video, search_scenes walks the
 * person's videos in order, counts the ones before the page and reads scenes
 * only from the videos on it.
 *
 * (owner_id, created_at, id) also serves the library's newest-first listing
 * (read backwards), so it replaces the created_at-only index.
 */
drop index if exists app_public.videos_owner_id_created_at_idx;
drop index if exists app_public.videos_owner_id_created_at_id_idx;
create index videos_owner_id_created_at_id_idx on app_public.videos (owner_id, created_at, id);

drop index if exists app_public.faces_person_id_owner_id_video_id_scene_id_idx;
create index faces_person_id_owner_id_video_id_scene_id_idx
  on app_public.faces (person_id, owner_id, video_id, scene_id);
