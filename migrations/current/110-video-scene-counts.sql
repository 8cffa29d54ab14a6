/*
 * Why: every word search needs the number of scenes in its scope (the N of
 * each query word's IDF), and counting them per query walked one index
 * entry per scene: ~4 ms of a 35 ms words-only search for a user with 47k
 * scenes at 100k (BENCHMARKS.md), growing with the user's library.
 * video_scene_counts keeps that number per video, so the scope is a sum
 * over the user's videos (or over the video_ids asked for) instead.
 *
 * Kept by triggers on scenes. The one writer of a video's scenes in
 * production, app_private.pipeline_indexed, already holds that video's row
 * lock while it replaces them, so the count row of a video adds no wait
 * between workers; different videos of the same owner never share a row
 * (a per-owner total would make every worker of that owner queue on it).
 * A row exists only while its video has scenes.
 */
drop trigger if exists _310_counts_truncate on app_public.scenes;
drop trigger if exists _310_counts_move on app_public.scenes;
drop trigger if exists _310_counts_delete on app_public.scenes;
drop trigger if exists _310_counts_insert on app_public.scenes;
drop trigger if exists _310_counts on app_public.scenes;
drop function if exists app_private.tg_scenes__counts_truncate();
drop function if exists app_private.tg_scenes__counts_move();
drop function if exists app_private.tg_scenes__counts_delete();
drop function if exists app_private.tg_scenes__counts_insert();
drop function if exists app_private.tg_scenes__counts();
drop table if exists app_hidden.video_scene_counts;

create table app_hidden.video_scene_counts (
  video_id uuid primary key,
  owner_id uuid not null,
  scenes integer not null check (scenes > 0),
  foreign key (video_id, owner_id) references app_public.videos (id, owner_id) on delete cascade
);
-- search_scenes sums an owner's rows; index-only with scenes included.
create index video_scene_counts_owner_id_idx on app_hidden.video_scene_counts (owner_id) include (scenes);

alter table app_hidden.video_scene_counts enable row level security;
create policy select_own on app_hidden.video_scene_counts for select to authenticated
  using (owner_id = (select auth.uid()));
revoke all on app_hidden.video_scene_counts from public;
-- NOTE: no insert/update/delete grant: only the triggers below write it.
grant select on app_hidden.video_scene_counts to authenticated;
comment on table app_hidden.video_scene_counts is
  'Scenes per video, kept by triggers on scenes; search_scenes sums it for the scope of a word search (the N of the IDF).';

-- Security definer: scenes are written by the worker (and deleted by
-- cascades from videos), which has no grant on this table and needs none.
-- Per statement, from the transition tables: a row trigger would update a
-- video's count once per scene, and each update of a row the same
-- transaction already updated walks all its earlier versions (10,000 scenes
-- of one video took 73 s instead of 22 s). Rows are taken in video order,
-- so two statements touching the same videos cannot deadlock.
create function app_private.tg_scenes__counts_insert() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into app_hidden.video_scene_counts as c (video_id, owner_id, scenes)
  select n.video_id, n.owner_id, count(*) from new_scenes n group by n.video_id, n.owner_id order by n.video_id
  on conflict (video_id) do update set scenes = c.scenes + excluded.scenes;
  return null;
end;
$$;

create function app_private.tg_scenes__counts_delete() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform from app_hidden.video_scene_counts c
   where c.video_id in (select o.video_id from old_scenes o)
   order by c.video_id
     for update;
  delete from app_hidden.video_scene_counts c
   using (select o.video_id, count(*) as n from old_scenes o group by o.video_id) o
   where c.video_id = o.video_id and c.scenes <= o.n;
  update app_hidden.video_scene_counts c set scenes = c.scenes - o.n
    from (select o.video_id, count(*) as n from old_scenes o group by o.video_id) o
   where c.video_id = o.video_id;
  return null;
end;
$$;

-- A scene moved to another video (never by the pipeline, which replaces a
-- video's scenes): transition tables cannot go with a column list, and a
-- statement-level UPDATE trigger would copy every row of every update, so
-- this one is per row and fires only when the video changes.
create function app_private.tg_scenes__counts_move() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform from app_hidden.video_scene_counts c
   where c.video_id in (old.video_id, new.video_id)
   order by c.video_id
     for update;
  delete from app_hidden.video_scene_counts c where c.video_id = old.video_id and c.scenes <= 1;
  if not found then
    update app_hidden.video_scene_counts c set scenes = c.scenes - 1 where c.video_id = old.video_id;
  end if;
  insert into app_hidden.video_scene_counts as c (video_id, owner_id, scenes)
  values (new.video_id, new.owner_id, 1)
  on conflict (video_id) do update set scenes = c.scenes + 1;
  return null;
end;
$$;

create function app_private.tg_scenes__counts_truncate() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  delete from app_hidden.video_scene_counts;
  return null;
end;
$$;

create trigger _310_counts_insert after insert on app_public.scenes
  referencing new table as new_scenes
  for each statement execute function app_private.tg_scenes__counts_insert();
create trigger _310_counts_delete after delete on app_public.scenes
  referencing old table as old_scenes
  for each statement execute function app_private.tg_scenes__counts_delete();
-- A scene's owner always equals its video's owner (the foreign key on
-- scenes), so only a change of video moves a count.
create trigger _310_counts_move after update of video_id on app_public.scenes
  for each row when (old.video_id is distinct from new.video_id)
  execute function app_private.tg_scenes__counts_move();
create trigger _310_counts_truncate after truncate on app_public.scenes
  for each statement execute function app_private.tg_scenes__counts_truncate();

-- Scenes written before this migration (the table was re-created above).
insert into app_hidden.video_scene_counts (video_id, owner_id, scenes)
select s.video_id, s.owner_id, count(*) from app_public.scenes s group by s.video_id, s.owner_id;
