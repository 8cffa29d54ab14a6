/*
 * Why: word and tag search for a user with tens of thousands of scenes spent
 * its time visiting scene rows: counting how many scenes hold each query word
 * (for its IDF), ranking every scene that holds a common word, and ranking
 * every scene tagged with it. PostgreSQL's GIN index says which rows match
 * but not how well, and a count over it still reads every matching row.
 *
 * scene_terms holds, per scene, each word it contains with the word's weight
 * in that scene, kept by a trigger as scenes are written. Its primary key is
 * ordered (owner, kind, lexeme), so the scenes holding a word, or any word
 * starting with a prefix, are one index-only range read:
 *  - kind 'w': a word as written in the transcript or on-screen text; impact
 *    = the sum of its occurrences' weights (1.0 spoken, 0.8 on screen), which
 *    is exactly what ts_rank_cd adds up for search_scenes' OR query of words
 *    (every occurrence of any query word is a cover of its own), so candidates
 *    come out in the order search_rank would give them.
 *  - kind 's': a stemmed form (tsv_stem) that is not also a written word of
 *    the scene, for matching other forms of a word.
 *  - kind 't': a word of a tag label; impact = the label's score divided by
 *    the label's word count, i.e. search_tag_score for a one-word query.
 * The lexeme is stored in the C collation so a prefix is a byte range.
 */
create table if not exists app_hidden.scene_terms (
  owner_id uuid not null,
  scene_id uuid not null,
  video_id uuid not null,
  kind "char" not null check (kind in ('w', 's', 't')),
  lexeme text collate "C" not null,
  impact real not null,
  primary key (owner_id, kind, lexeme, scene_id) include (video_id, impact),
  foreign key (scene_id, owner_id) references app_public.scenes (id, owner_id) on delete cascade
);
create index if not exists scene_terms_scene_id_idx on app_hidden.scene_terms (scene_id);

alter table app_hidden.scene_terms enable row level security;
drop policy if exists select_own on app_hidden.scene_terms;
create policy select_own on app_hidden.scene_terms for select to authenticated
  using (owner_id = (select auth.uid()));
revoke all on app_hidden.scene_terms from public;
grant select on app_hidden.scene_terms to authenticated;
comment on table app_hidden.scene_terms is
  'Each word of each scene with its weight there, kept by a trigger on scenes; search_scenes reads it for word frequencies and word/tag candidates.';

drop trigger if exists _300_terms on app_public.scenes;
drop function if exists app_private.tg_scenes__terms();
drop function if exists app_hidden.scene_terms_of(tsvector, tsvector, jsonb);

-- The rows of scene_terms for one scene, from its stored tsvectors and tags.
create function app_hidden.scene_terms_of(tsv tsvector, tsv_stem tsvector, tags jsonb)
returns table (kind "char", lexeme text, impact real)
language sql immutable parallel safe
set search_path = ''
as $$
  select 'w'::"char", u.lexeme, sum(case w when 'A' then 1.0 else 0.8 end)::real
    from pg_catalog.unnest(tsv) u, pg_catalog.unnest(u.weights) w
   where w in ('A', 'B')
   group by u.lexeme
  union all
  -- A stem that is also a written word of the scene adds nothing to what
  -- matches (kind 'w' or 's' is searched alike), so it is not stored twice.
  select 's'::"char", u.lexeme, sum(case w when 'A' then 1.0 else 0.8 end)::real
    from pg_catalog.unnest(tsv_stem) u, pg_catalog.unnest(u.weights) w
   where w in ('A', 'B')
     and not exists (select from pg_catalog.unnest(tsv) v, pg_catalog.unnest(v.weights) vw
                     where v.lexeme = u.lexeme and vw in ('A', 'B'))
   group by u.lexeme
  union all
  -- The same validity rules as search_tag_score: malformed entries are no tag.
  select 't'::"char", l.lexeme, max(greatest(0, least(1, (t ->> 'score')::float8)) / l.n)::real
    from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(tags) = 'array' then tags else '[]'::jsonb end) t
   cross join lateral (
     select x as lexeme, count(*) over () as n
       from pg_catalog.unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, t ->> 'label'))) x) l
   where pg_catalog.jsonb_typeof(t) = 'object'
     and pg_catalog.jsonb_typeof(t -> 'score') = 'number'
     and pg_catalog.jsonb_typeof(t -> 'label') = 'string'
   group by l.lexeme
$$;

-- Security definer: scenes are written by the worker, which has no grant on
-- scene_terms and needs none.
create function app_private.tg_scenes__terms() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' then
    delete from app_hidden.scene_terms t where t.scene_id = old.id;
  end if;
  insert into app_hidden.scene_terms (owner_id, scene_id, video_id, kind, lexeme, impact)
  select new.owner_id, new.id, new.video_id, x.kind, x.lexeme, x.impact
    from app_hidden.scene_terms_of(new.tsv, new.tsv_stem, new.tags) x;
  return null;
end;
$$;

-- After the row is written: generated columns (tsv, tsv_stem) are computed by then.
create trigger _300_terms after insert or update of transcript, ocr_text, tags, stem_config, video_id, owner_id
  on app_public.scenes for each row execute function app_private.tg_scenes__terms();

-- Scenes written before this migration (idempotent: only scenes without terms).
insert into app_hidden.scene_terms (owner_id, scene_id, video_id, kind, lexeme, impact)
select s.owner_id, s.id, s.video_id, x.kind, x.lexeme, x.impact
  from app_public.scenes s
 cross join lateral app_hidden.scene_terms_of(s.tsv, s.tsv_stem, s.tags) x
 where not exists (select from app_hidden.scene_terms t where t.scene_id = s.id);
