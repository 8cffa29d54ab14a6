--! Previous: sha1:bdf05a2ab122ccefb02e49278fcc19b6534e6f59
--! Hash: sha1:05902bfeff13dfe9285820733d452011ec2622bd
--! Message: Search weighs rare query words more and ignores function words

--! split: 1-search-idf.sql
/*
 * Why: with no text model present (an offline install) ranking rests on
 * full-text, and there every query word counted the same: "the" in a
 * transcript outranked "apple" burned into the picture. Query words are now
 * weighted by how rare they are among the caller's scenes, English function
 * words are dropped from queries, and on-screen text counts 0.8 of speech
 * instead of 0.4. The function and its helpers are recreated from
 * fixtures/search_scenes.sql.
 */
drop function if exists app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text);
drop type if exists app_public.scene_hit;
drop function if exists app_hidden.search_tag_score(jsonb, text[]);
drop function if exists app_hidden.search_rank(tsvector, tsquery);
drop function if exists app_hidden.search_tsquery(text[], text);
drop function if exists app_hidden.search_query_words(text);
drop function if exists app_hidden.search_similarity(text, double precision);
drop function if exists app_hidden.search_snippet(text, text, tsquery);
drop function if exists app_hidden.search_escape_html(text);
-- Obsolete since the candidate rewrite; nothing uses it.
drop function if exists app_hidden.search_text_match(tsvector, text[]);

--! Included search_scenes.sql
-- search_scenes sets hnsw.* parameters, which exist only once pgvector's
-- library is loaded in this session; a non-superuser may not set an unknown
-- parameter, so load it by using the type.
select '[0]'::vector;

-- Raw cosines of two different models are not comparable (BGE-M3 relevant
-- pairs sit around 0.5-0.8, SigLIP text-image pairs around 0.05-0.2), so each
-- space maps its cosine linearly from [lo, hi] onto [0, 1] and clamps. These
-- are the only calibration constants; change them here and in sql/README.md.
-- No SET clause, so the planner inlines it into the search query.
create function app_hidden.search_similarity(space text, cosine double precision) returns double precision
language sql immutable parallel safe
as $$
  select case
    when cosine is null or cosine <> cosine then 0::float8
    -- BGE-M3 (text_vec): unrelated sentences ~0.35, close paraphrases ~0.75.
    when space = 'text' then greatest(0, least(1, (cosine - 0.35) / (0.75 - 0.35)))
    -- SigLIP text->image (image_vec): the model's own sigmoid reaches 0.5 near
    -- cosine 0.11; unrelated pairs sit near 0, strong matches near 0.2.
    when space = 'vision' then greatest(0, least(1, (cosine - 0.05) / (0.20 - 0.05)))
    else 0::float8
  end
$$;

-- The query's words as the 'simple' parser sees them (lower-cased, split on
-- punctuation), at most 32 so a pasted paragraph cannot blow up the plan.
create function app_hidden.search_query_words(query text) returns text[]
language sql immutable parallel safe
set search_path = ''
as $$
  -- English function words carry no meaning of their own and, since the
  -- 'simple' configuration keeps them in every transcript, would let "the"
  -- outrank the one word that matters. They are dropped from the query unless
  -- nothing else is left ("the who" still searches for something).
  with w as (
    select coalesce((pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, coalesce(query, ''))))[1:32], '{}') as all_words
  ), kept as (
    select array(select x from unnest(w.all_words) x where x <> all (array[
      'a', 'an', 'the', 'and', 'or', 'but', 'of', 'in', 'on', 'at', 'to', 'for', 'with', 'by', 'from', 'into', 'onto',
      'about', 'over', 'under', 'as', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'am', 'do', 'does', 'did',
      'it', 'its', 'this', 'that', 'these', 'those', 'there', 'here', 'i', 'me', 'my', 'we', 'our', 'you', 'your',
      'he', 'him', 'his', 'she', 'her', 'they', 'them', 'their', 'what', 'which', 'who', 'whom', 'where', 'when',
      'how', 'some', 'any', 'so', 'if', 'then', 'than', 'not', 'no'])) as words, w.all_words
    from w
  )
  select case when cardinality(kept.words) > 0 then kept.words else kept.all_words end from kept
$$;

-- OR of the words, each a prefix match (so a Korean noun finds the word with
-- its particle attached: 고양이 matches 고양이가) except one-character words,
-- which would match half the dictionary. weights restricts the tsvector
-- sections: 'AB' = transcript and on-screen text, 'C' = tags, '' = any.
create function app_hidden.search_tsquery(words text[], weights text) returns tsquery
language sql immutable parallel safe
set search_path = ''
as $$
  select case when coalesce(cardinality(words), 0) = 0 then null else
    pg_catalog.array_to_string(array(
      select '''' || replace(replace(w, '\', '\\'), '''', '''''') || ''''
             || case when char_length(w) > 1 or weights <> '' then ':' else '' end
             || case when char_length(w) > 1 then '*' else '' end
             || weights
      from unnest(words) w
    ), ' | ')::tsquery
  end
$$;

-- Cover density of the matches, normalised to r/(r+1) (0..1). On-screen
-- text (weight B) counts 0.8 of speech (A) rather than PostgreSQL's default
-- 0.4: a burned-in title or slide is as deliberate as a spoken word.
create function app_hidden.search_rank(tsv tsvector, q tsquery) returns double precision
language sql immutable parallel safe
set search_path = ''
as $$
  select pg_catalog.ts_rank_cd('{0.1, 0.2, 0.8, 1.0}'::real[], tsv, q, 32)::float8
$$;

-- Tag strength in 0..1: the best label's score times the share of that
-- label's words the query mentions ("dog" fully matches label "dog", half
-- matches "hot dog"). Malformed entries count as no match, never an error.
create function app_hidden.search_tag_score(tags jsonb, words text[]) returns double precision
language sql immutable parallel safe
set search_path = ''
as $$
  select coalesce(max(
    greatest(0, least(1, (t ->> 'score')::float8))
    * (select count(*) filter (where exists (select from unnest(words) w where starts_with(lw, w) and (char_length(w) > 1 or lw = w)))::float8
              / nullif(count(*), 0)
       from unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, t ->> 'label'))) lw)
  ), 0)
  from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(tags) = 'array' then tags else '[]'::jsonb end) t
  where coalesce(cardinality(words), 0) > 0
    and pg_catalog.jsonb_typeof(t) = 'object'
    and pg_catalog.jsonb_typeof(t -> 'score') = 'number'
    and pg_catalog.jsonb_typeof(t -> 'label') = 'string'
$$;

-- Snippets are shown as HTML with <b> highlights; everything else in the
-- transcript must arrive as text, never as markup.
create function app_hidden.search_escape_html(t text) returns text
language sql immutable parallel safe
as $$
  select pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;

-- A short excerpt: the transcript around the matches, or the on-screen text
-- when only it matches; the opening words when nothing matches (a scene found
-- by its picture).
create function app_hidden.search_snippet(transcript text, ocr_text text, q tsquery) returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select case
    when coalesce(src, '') = '' then null
    when q is null or not pg_catalog.to_tsvector('simple'::regconfig, src) @@ q then
      app_hidden.search_escape_html(pg_catalog.array_to_string((pg_catalog.regexp_split_to_array(pg_catalog.btrim(src), '\s+'))[1:16], ' '))
    else pg_catalog.ts_headline('simple'::regconfig, app_hidden.search_escape_html(src), q,
           'StartSel=<b>, StopSel=</b>, MaxWords=24, MinWords=8, ShortWord=1, MaxFragments=2, FragmentDelimiter=" … "')
  end
  from (select case
          when coalesce(transcript, '') <> ''
               and (q is null or coalesce(ocr_text, '') = ''
                    or pg_catalog.to_tsvector('simple'::regconfig, transcript) @@ q
                    or not pg_catalog.to_tsvector('simple'::regconfig, ocr_text) @@ q)
            then transcript
          else ocr_text
        end as src) s
$$;

create type app_public.scene_hit as (
  scene_id uuid,
  video_id uuid,
  start_s double precision,
  end_s double precision,
  score double precision,
  text_score double precision,
  vision_score double precision,
  tags_score double precision,
  snippet text
);

/*
 * Stable and security invoker: row-level security applies, and the owner
 * filter is repeated so the planner can use it inside every index scan.
 * Small scopes (<= exact_below scenes) compare vectors exactly. Above that,
 * relaxed_order lets the HNSW scan keep going past ef_search until LIMIT rows
 * survive the owner/video filters, instead of returning the few of the first
 * ef_search neighbours that happen to be the caller's; exact order inside the
 * candidate list does not matter because every candidate is re-scored
 * exactly below. max_scan_tuples bounds that walk; scan_mem_multiplier lets
 * it hold that many candidates.
 */
create function app_public.search_scenes(
  query text,
  text_embedding real[] default null,
  image_embedding real[] default null,
  video_ids uuid[] default null,
  person_id uuid default null,
  w_text real default 0.5,
  w_vision real default 0.35,
  w_tags real default 0.15,
  page_size int default 20,
  page_offset int default 0,
  text_model text default null,
  image_model text default null
) returns setof app_public.scene_hit
language plpgsql stable security invoker
set search_path = pg_catalog, public, extensions
set hnsw.iterative_scan = relaxed_order
set hnsw.ef_search = 200
set hnsw.max_scan_tuples = 200000
set hnsw.scan_mem_multiplier = 4
set enable_sort = on
as $$
#variable_conflict use_column
declare
  -- Candidates per source. Constant, so the ranked pool (and therefore every
  -- page) does not depend on page_size/page_offset.
  pool constant int := 200;
  -- Up to this many scenes in scope, vectors are compared exactly instead
  -- of through HNSW: it costs a few milliseconds, and unlike a graph walk it
  -- cannot miss a scene the graph happens not to reach. That matters most
  -- to a user with few scenes among many users' (and to narrow video_ids).
  exact_below constant int := 2000;
  exact boolean;
  text_ids uuid[];
  image_ids uuid[];
  uid uuid := (select auth.uid());
  words text[] := app_hidden.search_query_words(search_scenes.query);
  tsq_text tsquery;
  tsq_tags tsquery;
  tsq_plain tsquery;
  word_queries tsquery[];
  -- Inverse document frequency of each query word among the caller's scenes
  -- in scope: a word found in few scenes says more than one found in many.
  word_idf float8[];
  idf_total float8;
  scope_size bigint;
  tsq_all tsquery;
  word_ids uuid[];
  qv_text vector;
  qv_image vector;
  text_videos uuid[];
  image_videos uuid[];
  -- Through numeric so 0.35::real counts as 0.35, not 0.3499999940395355.
  wt float8 := w_text::numeric::float8;
  wv float8 := w_vision::numeric::float8;
  wg float8 := w_tags::numeric::float8;
begin
  if search_scenes.person_id is not null then
    raise exception 'person search is not available yet' using errcode = '0A000';
  end if;
  if page_size is null or page_size < 1 or page_size > 100 then
    raise exception 'page_size must be between 1 and 100 (got %)', page_size using errcode = '22023';
  end if;
  if page_offset is null or page_offset < 0 then
    raise exception 'page_offset must be 0 or more (got %)', page_offset using errcode = '22023';
  end if;
  if w_text is null or w_vision is null or w_tags is null or w_text < 0 or w_vision < 0 or w_tags < 0
     or w_text + w_vision + w_tags <= 0 then
    raise exception 'weights must be non-negative and not all zero (got text %, vision %, tags %)', w_text, w_vision, w_tags
      using errcode = '22023';
  end if;
  if text_embedding is not null then
    if array_ndims(text_embedding) is distinct from 1 or cardinality(text_embedding) <> 1024 then
      raise exception 'text_embedding must have 1024 numbers (got %)', cardinality(text_embedding) using errcode = '22023';
    end if;
    qv_text := text_embedding::vector(1024);
    if vector_norm(qv_text) = 0 then
      raise exception 'text_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if image_embedding is not null then
    if array_ndims(image_embedding) is distinct from 1 or cardinality(image_embedding) <> 1152 then
      raise exception 'image_embedding must have 1152 numbers (got %)', cardinality(image_embedding) using errcode = '22023';
    end if;
    qv_image := image_embedding::vector(1152);
    if vector_norm(qv_image) = 0 then
      raise exception 'image_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if uid is null then
    return;
  end if;

  tsq_text := app_hidden.search_tsquery(words, 'AB');
  tsq_tags := app_hidden.search_tsquery(words, 'C');
  tsq_plain := app_hidden.search_tsquery(words, '');
  word_queries := array(select app_hidden.search_tsquery(array[w], 'AB') from unnest(words) w);
  tsq_all := (select string_agg(q::text, ' & ') from unnest(word_queries) q)::tsquery;
  if cardinality(word_queries) > 0 then
    scope_size := (select count(*) from app_public.scenes s
                   where s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids)));
    -- Document frequencies are capped: beyond 10k scenes a word is simply
    -- common, and counting further would only cost time.
    word_idf := array(
      select ln(1 + (scope_size + 1)::float8 / (1 + (
               select count(*) from (select from app_public.scenes s
                                     where s.owner_id = uid and s.tsv @@ t.wq
                                       and (video_ids is null or s.video_id = any(video_ids))
                                     limit 10000) d)))
      from unnest(word_queries) with ordinality t(wq, i)
      order by t.i);
    idf_total := (select sum(x) from unnest(word_idf) x);
  end if;

  -- Which videos' vectors may be compared with this query: those in
  -- video_ids and made by the requested model. NULL means "all of mine",
  -- which keeps the HNSW filter trivial in the common one-model case.
  if video_ids is not null or (search_scenes.text_model is not null and exists (
       select from app_public.videos v where v.owner_id = uid and v.text_model is distinct from search_scenes.text_model)) then
    text_videos := array(select v.id from app_public.videos v
                         where v.owner_id = uid
                           and (video_ids is null or v.id = any(video_ids))
                           and (search_scenes.text_model is null or v.text_model = search_scenes.text_model));
  end if;
  if video_ids is not null or (search_scenes.image_model is not null and exists (
       select from app_public.videos v where v.owner_id = uid and v.image_model is distinct from search_scenes.image_model)) then
    image_videos := array(select v.id from app_public.videos v
                          where v.owner_id = uid
                            and (video_ids is null or v.id = any(video_ids))
                            and (search_scenes.image_model is null or v.image_model = search_scenes.image_model));
  end if;

  exact := (select count(*) from (
              select from app_public.scenes s
              where s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids))
              limit exact_below + 1) scope) <= exact_below;

  -- Vector candidates are fetched before the main query so that only these
  -- two statements run with sorting disabled: the planner does not count
  -- de-TOASTing and comparing 1024 floats per row, so for a user with
  -- tens of thousands of scenes it would otherwise pick "scan them all and
  -- sort" (~7 us a row) over the HNSW walk. The function's own SET clause
  -- restores enable_sort when it returns.
  if exact then
    -- "+ 0" keeps these exact scans off the HNSW index.
    text_ids := array(
      select s.id from app_public.scenes s
      where qv_text is not null and s.owner_id = uid and s.text_vec is not null
        and (text_videos is null or s.video_id = any(text_videos))
      order by (s.text_vec <=> qv_text) + 0, s.id
      limit pool);
    image_ids := array(
      select s.id from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
      order by (s.image_vec <=> qv_image) + 0, s.id
      limit pool);
  else
    perform set_config('enable_sort', 'off', true);
    text_ids := array(
      select s.id from app_public.scenes s
      where qv_text is not null and s.owner_id = uid and s.text_vec is not null
        and (text_videos is null or s.video_id = any(text_videos))
      order by s.text_vec <=> qv_text
      limit pool);
    image_ids := array(
      select s.id from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
      order by s.image_vec <=> qv_image
      limit pool);
    perform set_config('enable_sort', 'on', true);
  end if;

  -- Word candidates: scenes with every query word first, and only when
  -- there are too few of those, any word. Ranking every scene that merely
  -- contains "the" is what makes word search slow for users with many scenes.
  if tsq_text is not null then
    word_ids := array(
      select s.id from app_public.scenes s
      where s.owner_id = uid and s.tsv @@ tsq_all
        and (video_ids is null or s.video_id = any(video_ids))
      order by app_hidden.search_rank(s.tsv, tsq_text) desc, s.id
      limit pool);
    if cardinality(word_ids) < pool and cardinality(words) > 1 then
      word_ids := array(
        select s.id from app_public.scenes s
        where s.owner_id = uid and s.tsv @@ tsq_text
          and (video_ids is null or s.video_id = any(video_ids))
        order by app_hidden.search_rank(s.tsv, tsq_text) desc, s.id
        limit pool);
    end if;
  end if;

  return query
  with
  tag_hits as (
    select s.id from app_public.scenes s
    where tsq_tags is not null and s.owner_id = uid and s.tsv @@ tsq_tags
      and (video_ids is null or s.video_id = any(video_ids))
    order by ts_rank_cd(s.tsv, tsq_tags) desc, s.id
    limit pool
  ),
  candidates as (
    select unnest(text_ids) as id
    union select unnest(image_ids)
    union select unnest(word_ids)
    union select id from tag_hits
  ),
  components as (
    select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text,
           case when qv_text is not null and (text_videos is null or s.video_id = any(text_videos))
                then app_hidden.search_similarity('text', 1 - (s.text_vec <=> qv_text)) else 0 end as dense,
           -- Full-text strength in 0..1: half the IDF-weighted share of query
           -- words present in the transcript/on-screen text, half cover
           -- density (ts_rank_cd normalised to r/(r+1)), so matching every
           -- word, and the rare ones, beats repeating one. The @@ guards skip
           -- the work for vector-only hits.
           case when tsq_text is not null and s.tsv @@ tsq_text
                then 0.5 * coalesce((select sum(t.idf) from unnest(word_queries, word_idf) t(wq, idf) where s.tsv @@ t.wq), 0) / idf_total
                     + 0.5 * app_hidden.search_rank(s.tsv, tsq_text)
                else 0 end as words_score,
           case when qv_image is not null and (image_videos is null or s.video_id = any(image_videos))
                then app_hidden.search_similarity('vision', 1 - (s.image_vec <=> qv_image)) else 0 end as vision,
           case when tsq_tags is not null and s.tsv @@ tsq_tags
                then app_hidden.search_tag_score(s.tags, words) else 0 end as tags
    from candidates c
    join app_public.scenes s on s.id = c.id
    where s.owner_id = uid
  ),
  scored as (
    -- Dense and full-text evidence combine as a noisy OR: either alone can
    -- carry a scene, both together rank it higher, and a missing one (a silent
    -- scene, no text model) simply contributes nothing.
    select c.*, (c.dense + c.words_score - c.dense * c.words_score) as text_score
    from components c
  ),
  page as (
    select s.*, wt * s.text_score + wv * s.vision + wg * s.tags as score
    from scored s
    where wt * s.text_score + wv * s.vision + wg * s.tags > 0
    order by score desc, s.id
    limit page_size offset page_offset
  )
  select p.id, p.video_id, p.start_s, p.end_s, p.score, p.text_score, p.vision::float8, p.tags::float8,
         app_hidden.search_snippet(p.transcript, p.ocr_text, tsq_plain)
  from page p
  order by p.score desc, p.id;
end;
$$;

revoke all on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) from public;
grant execute on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) to authenticated;
grant execute on function
  app_hidden.search_similarity(text, double precision),
  app_hidden.search_query_words(text),
  app_hidden.search_rank(tsvector, tsquery),
  app_hidden.search_tsquery(text[], text),
  app_hidden.search_tag_score(jsonb, text[]),
  app_hidden.search_escape_html(text),
  app_hidden.search_snippet(text, text, tsquery)
  to authenticated;

comment on type app_public.scene_hit is E'@behavior -*\nOne ranked search result: a scene, its fused score and each modality''s 0..1 component.';
comment on column app_public.scene_hit.score is 'w_text*text_score + w_vision*vision_score + w_tags*tags_score.';
comment on column app_public.scene_hit.text_score is 'Calibrated transcript/on-screen text match, 0..1 (dense similarity OR-ed with full-text).';
comment on column app_public.scene_hit.vision_score is 'Calibrated keyframe-to-query similarity, 0..1.';
comment on column app_public.scene_hit.tags_score is 'How well the query names the scene''s tags, 0..1.';
comment on column app_public.scene_hit.snippet is 'Short excerpt of the transcript (or on-screen text) with matches in <b>..</b>; the text itself is HTML-escaped.';
comment on function app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text) is E'@behavior -queryField -mutationField -typeField\nRanks the caller''s scenes for a query. score = w_text*text + w_vision*vision + w_tags*tags, each component on 0..1: text = noisy OR of calibrated dense similarity (BGE-M3 cosine mapped linearly from [0.35, 0.75]) and full-text match (IDF-weighted share of query words found plus ts_rank_cd/(1+ts_rank_cd) with on-screen text at 0.8 of speech, halved; English function words are dropped from the query unless nothing else is left); vision = SigLIP cosine of image_vec and image_embedding mapped from [0.05, 0.20]; tags = best label score times the share of its words the query names. Missing modalities score 0 and never exclude a scene. text_model/image_model restrict vector comparisons to videos embedded by that model. Candidates: 200 per source (text HNSW, image HNSW, words, tags; vectors compared exactly when the caller has at most 2000 scenes in scope); pages of page_size (1..100) from page_offset over that fixed pool, ties by scene id.';
--! EndIncluded search_scenes.sql
