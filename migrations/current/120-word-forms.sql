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
