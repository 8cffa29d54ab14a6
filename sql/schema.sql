--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: app_hidden; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app_hidden;

--
-- Name: app_private; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app_private;

--
-- Name: app_public; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app_public;

--
-- Name: auth; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA auth;

--
-- Name: scene_hit; Type: TYPE; Schema: app_public; Owner: -
--

CREATE TYPE app_public.scene_hit AS (
	scene_id uuid,
	video_id uuid,
	start_s double precision,
	end_s double precision,
	score double precision,
	text_score double precision,
	vision_score double precision,
	tags_score double precision,
	snippet text,
	persons jsonb
);

--
-- Name: TYPE scene_hit; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON TYPE app_public.scene_hit IS '@behavior -*
One ranked search result: a scene, its fused score and each modality''s 0..1 component.';

--
-- Name: COLUMN scene_hit.score; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scene_hit.score IS 'w_text*text_score + w_vision*vision_score + w_tags*tags_score.';

--
-- Name: COLUMN scene_hit.text_score; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scene_hit.text_score IS 'Calibrated transcript/on-screen text match, 0..1 (dense similarity OR-ed with full-text).';

--
-- Name: COLUMN scene_hit.vision_score; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scene_hit.vision_score IS 'Calibrated keyframe-to-query similarity, 0..1.';

--
-- Name: COLUMN scene_hit.tags_score; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scene_hit.tags_score IS 'How well the query names the scene''s tags, 0..1.';

--
-- Name: COLUMN scene_hit.snippet; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scene_hit.snippet IS 'Short excerpt of the transcript (or on-screen text) with matches in <b>..</b>; the text itself is HTML-escaped.';

--
-- Name: COLUMN scene_hit.persons; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scene_hit.persons IS 'People seen in the scene: [{"id", "name"}], named first; name is null for an unnamed group.';

--
-- Name: transcript_line; Type: TYPE; Schema: app_public; Owner: -
--

CREATE TYPE app_public.transcript_line AS (
	start_s double precision,
	end_s double precision,
	text text
);

--
-- Name: TYPE transcript_line; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON TYPE app_public.transcript_line IS 'One line of what is said in a video, with its time span in seconds.';

--
-- Name: box_iou(real[], real[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.box_iou(a real[], b real[]) RETURNS real
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select case when u > 0 then (i / u)::real else 0::real end
    from (select greatest(0, least(a[1] + a[3], b[1] + b[3]) - greatest(a[1], b[1]))
               * greatest(0, least(a[2] + a[4], b[2] + b[4]) - greatest(a[2], b[2])) as i) x
    cross join lateral (select a[3] * a[4] + b[3] * b[4] - x.i as u) y
$$;

--
-- Name: cjk_letters(); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.cjk_letters() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select '\u3005-\u3007\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f'::text
$$;

--
-- Name: cjk_words(text, boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.cjk_words(t text, unigrams boolean) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
declare
  m text[];
  run text;
  n int;
  pieces text[] := '{}';
begin
  if t is null or t !~ ('[' || app_hidden.cjk_letters() || ']') then
    return t;
  end if;
  for m in
    select pg_catalog.regexp_matches(t,
      '([' || app_hidden.cjk_letters() || ']+)|([^' || app_hidden.cjk_letters() || ']+)', 'g')
  loop
    if m[1] is null then
      pieces := pieces || pg_catalog.regexp_replace(m[2],
        '[\u3000-\u3004\u3008-\u303f\u30fb\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]', ' ', 'g');
      continue;
    end if;
    -- The pairs are cut by regular expressions, each one pass in C over the
    -- run: every character doubled (ABC → AABBCC), the ends dropped (ABBC),
    -- then read two at a time (AB BC). A loop over the characters cost 0.7 to
    -- 1.3 ms for a scene of 300 characters, this 0.17 to 0.27 (BENCHMARKS.md).
    run := m[1];
    n := char_length(run);
    pieces := pieces || (' '
      || case when n = 1 then run
              else pg_catalog.regexp_replace(
                     pg_catalog.substr(pg_catalog.regexp_replace(run, '(.)', '\1\1', 'g'), 2, 2 * n - 2), '(..)', '\1 ', 'g')
         end
      || case when unigrams and n > 1 then pg_catalog.regexp_replace(run, '(.)', ' \1', 'g') else '' end
      || ' ');
  end loop;
  return pg_catalog.array_to_string(pieces, '');
end;
$$;

--
-- Name: FUNCTION cjk_words(t text, unigrams boolean); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.cjk_words(t text, unigrams boolean) IS 'The text with Chinese and Japanese written out as overlapping character pairs (and single characters with unigrams), so the simple parser finds words in text without spaces.';

--
-- Name: common_prefix(text, text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.common_prefix(a text, b text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO ''
    AS $$
declare
  n int := 0;
  m int := least(char_length(a), char_length(b));
begin
  while n < m and substr(a, n + 1, 1) = substr(b, n + 1, 1) loop
    n := n + 1;
  end loop;
  return left(a, n);
end;
$$;

--
-- Name: drop_empty_groups(uuid); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.drop_empty_groups(owner_id uuid) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  delete from app_public.persons p
   where p.owner_id = drop_empty_groups.owner_id and p.name is null
     and not exists (select from app_public.faces f where f.person_id = p.id and f.owner_id = p.owner_id)
$$;

--
-- Name: FUNCTION drop_empty_groups(owner_id uuid); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.drop_empty_groups(owner_id uuid) IS 'Deletes the owner''s unnamed persons that have no face left.';

--
-- Name: face_calibration(text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.face_calibration(face_model text) RETURNS TABLE(match_distance double precision, cluster_distance double precision, min_faces integer)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select v.match_distance, v.cluster_distance, v.min_faces
  from (values ('@vladmandic/face-api', 0.06::float8, 0.045::float8, 2)) v(face_model, match_distance, cluster_distance, min_faces)
  where v.face_model = face_calibration.face_model
$$;

--
-- Name: FUNCTION face_calibration(face_model text); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.face_calibration(face_model text) IS 'Matching thresholds of a face model (cosine distance): match_distance for enrolled/named persons, cluster_distance and min_faces for unnamed groups.';

--
-- Name: face_crop_key(uuid, uuid); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.face_crop_key(owner_id uuid, face_id uuid) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select 'u/' || owner_id::text || '/faces/' || face_id::text || '.jpg'
$$;

--
-- Name: FUNCTION face_crop_key(owner_id uuid, face_id uuid); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.face_crop_key(owner_id uuid, face_id uuid) IS 'Storage key of a face''s thumbnail crop.';

--
-- Name: index_text(text, boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.index_text(t text, unigrams boolean) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
begin
  -- Parted before joining, so a joined "covid19" is not parted again (its
  -- "covid" would count twice).
  return app_hidden.cjk_words(
    pg_catalog.regexp_replace(
      pg_catalog.regexp_replace(
        pg_catalog.regexp_replace(t, '([0-9]),(?=[0-9]{3}(?![0-9]))', '\1', 'g'),
        '\m([A-Za-z]{3,})([0-9]+)\M', '\1\2 \1 \2', 'g'),
      '\m([A-Za-z]+)-([0-9]+)\M', '\1-\2 \1\2', 'g'),
    unigrams);
end;
$$;

--
-- Name: FUNCTION index_text(t text, unigrams boolean); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.index_text(t text, unigrams boolean) IS 'Text as the simple parser is to read it, for scenes and queries alike: numbers with thousands separators as one number (10,000 → 10000), a word hyphened to a number also joined (COVID-19 → covid19), letters run into a number also apart (covid19 → covid, 19), Chinese and Japanese as character pairs (cjk_words).';

--
-- Name: person_attach(uuid); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.person_attach(person_id uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    SET "hnsw.iterative_scan" TO 'relaxed_order'
    SET "hnsw.ef_search" TO '100'
    AS $$
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

--
-- Name: FUNCTION person_attach(person_id uuid); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.person_attach(person_id uuid) IS 'Attaches the owner''s unassigned or unnamed-group faces within match_distance of a named person''s faces, except faces the user placed by hand; returns how many.';

--
-- Name: scene_terms_of(tsvector, tsvector, regconfig, jsonb); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.scene_terms_of(tsv tsvector, tsv_stem tsvector, stem_config regconfig, tags jsonb) RETURNS TABLE(kind "char", lexeme text, impact real, src text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select 'w'::"char", u.lexeme, sum(case w when 'A' then 1.0 else 0.8 end)::real, ''::text
    from pg_catalog.unnest(tsv) u, pg_catalog.unnest(u.weights) w
   where w in ('A', 'B')
   group by u.lexeme
  union all
  -- A stem that is also a written word of the scene adds nothing to what
  -- matches (kind 'w' or 's' is searched alike), so it is not stored twice.
  -- Its sources are found by stemming each written word alone, which is
  -- what to_tsvector does to it inside the text (a word at a time).
  select 's'::"char", s.lexeme, s.impact,
         case when src.lo = src.hi then src.lo || ' ' else coalesce(app_hidden.common_prefix(src.lo, src.hi), '') end
    from (select u.lexeme, sum(case w when 'A' then 1.0 else 0.8 end)::real as impact
            from pg_catalog.unnest(tsv_stem) u, pg_catalog.unnest(u.weights) w
           where w in ('A', 'B')
             and not exists (select from pg_catalog.unnest(tsv) v, pg_catalog.unnest(v.weights) vw
                             where v.lexeme = u.lexeme and vw in ('A', 'B'))
           group by u.lexeme) s
    left join (select x.stem, min(v.lexeme collate "C") as lo, max(v.lexeme collate "C") as hi
                 from pg_catalog.unnest(tsv) v
                cross join pg_catalog.unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(stem_config, v.lexeme))) x(stem)
                where v.weights && array['A', 'B']
                group by x.stem) src on src.stem = s.lexeme
  union all
  -- The same validity rules as search_tag_score: malformed entries are no tag.
  select 't'::"char", l.lexeme, max(greatest(0, least(1, (t ->> 'score')::float8)) / l.n)::real, ''::text
    from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(tags) = 'array' then tags else '[]'::jsonb end) t
   cross join lateral (
     select x as lexeme, count(*) over () as n
       from pg_catalog.unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, t ->> 'label'))) x) l
   where pg_catalog.jsonb_typeof(t) = 'object'
     and pg_catalog.jsonb_typeof(t -> 'score') = 'number'
     and pg_catalog.jsonb_typeof(t -> 'label') = 'string'
   group by l.lexeme
$$;

--
-- Name: scene_tsv(text, text, jsonb); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.scene_tsv(transcript text, ocr_text text, tags jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select pg_catalog.setweight(pg_catalog.to_tsvector('simple'::regconfig, app_hidden.index_text(transcript, true)), 'A')
      || pg_catalog.setweight(pg_catalog.to_tsvector('simple'::regconfig, app_hidden.index_text(ocr_text, true)), 'B')
      || pg_catalog.setweight(pg_catalog.to_tsvector('simple'::regconfig, app_hidden.tag_text(tags)), 'C')
$$;

--
-- Name: FUNCTION scene_tsv(transcript text, ocr_text text, tags jsonb); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.scene_tsv(transcript text, ocr_text text, tags jsonb) IS 'The full-text vector of a scene: transcript (A), on-screen text (B), tag labels (C), simple configuration, read through index_text.';

--
-- Name: search_bits_weight(double precision[], bigint); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_bits_weight(weights double precision[], bits bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select case when bits < 256 then weights[1 + bits]
              else weights[1 + (bits & 255)] + coalesce(weights[257 + ((bits >> 8) & 255)], 0)
                   + coalesce(weights[513 + ((bits >> 16) & 255)], 0) + coalesce(weights[769 + ((bits >> 24) & 255)], 0)
         end
$$;

--
-- Name: search_compound_parts(text[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_compound_parts(lexemes text[]) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $_$
begin
  return (select pg_catalog.string_agg(
                   '(' || pg_catalog.phraseto_tsquery('simple'::regconfig, pg_catalog.replace(l, '-', ' '))::text || ')', ' | ')::tsquery
          from unnest(lexemes) l where l ~ '^[^-]+(-[^-]+)+$');
end;
$_$;

--
-- Name: search_escape_html(text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_escape_html(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;

--
-- Name: search_forms(text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_forms(w text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $_$
declare
  -- One literal: the lines are joined as the function is parsed.
  groups constant text := ' person people | man men | woman women | child children | grandchild grandchildren '
    '| foot feet | tooth teeth | goose geese | mouse mice | louse lice | ox oxen | knife knives | wife wives '
    '| leaf leaves | wolf wolves | shelf shelves | half halves | calf calves | loaf loaves | thief thieves '
    '| scarf scarves | elf elves | hoof hooves | cactus cacti | fungus fungi | nucleus nuclei | radius radii '
    '| stimulus stimuli | alumnus alumni | criterion criteria | phenomenon phenomena | crisis crises '
    '| thesis theses | hypothesis hypotheses | diagnosis diagnoses | analysis analyses | index indices '
    '| matrix matrices | vertex vertices | appendix appendices | bacterium bacteria | curriculum curricula '
    '| policeman policemen | policewoman policewomen | fireman firemen | fisherman fishermen '
    '| businessman businessmen | businesswoman businesswomen | gentleman gentlemen | snowman snowmen '
    '| chairman chairmen | salesman salesmen | spokesman spokesmen '
    '| go went gone ~goe | eat ate eaten | swim swam swum | sing sang sung | drink drank drunk '
    '| drive drove driven | ride rode ridden | write wrote written | speak spoke spoken | fly flew flown '
    '| throw threw thrown | begin began begun | break broke broken | choose chose chosen | give gave given '
    '| take took taken | wear wore worn | know knew known | grow grew grown | draw drew drawn | blow blew blown '
    '| buy bought | bring brought | catch caught | teach taught | think thought | fight fought | seek sought '
    '| sell sold | tell told | sleep slept | keep kept | build built | send sent | spend spent '
    '| run ran | sit sat | stand stood | understand understood | forget forgot forgotten | hide hid hidden '
    '| freeze froze frozen | wake woke woken | shake shook shaken | steal stole stolen | bite bitten '
    '| hang hung | dig dug | meet met | make made | pay paid | say said | get got gotten | come came '
    '| become became | see seen | fall fallen | lose lost | hold held | rise risen | hear heard '
    '| lend lent | bend bent | weep wept | creep crept | sweep swept | kneel knelt | dream dreamt '
    '| mean meant | sting stung | swing swung | cling clung | strike struck '
    '| forgive forgave forgiven | undertake undertook undertaken | mistake mistook mistaken '
    '| overcome overcame | withdraw withdrew withdrawn | arise arose arisen '
    '| colour color | favour favor | favourite favorite ~favourit ~favorit | flavour flavor | honour honor '
    '| humour humor | labour labor | neighbour neighbor | neighbourhood neighborhood | behaviour behavior '
    '| harbour harbor | rumour rumor | armour armor | odour odor | vapour vapor | endeavour endeavor '
    '| parlour parlor | saviour savior | tumour tumor | vigour vigor '
    '| centre center ~centr | theatre theater ~theatr | metre meter ~metr | litre liter ~litr '
    '| fibre fiber ~fibr | manoeuvre maneuver ~manoeuvr ~maneuv | catalogue catalog ~catalogu '
    '| dialogue dialog ~dialogu | analogue analog ~analogu | defence defense ~defenc ~defens '
    '| licence license ~licenc ~licens | offence offense ~offenc ~offens | grey gray '
    '| aluminium aluminum | programme program ~programm | jewellery jewelry ~jewelleri ~jewelri '
    '| mould mold | plough plow | pyjamas pajamas ~pyjama ~pajama | cosy cozy ~cosi ~cozi '
    '| sceptical skeptical ~sceptic ~skeptic | moustache mustache ~moustach ~mustach '
    '| encyclopaedia encyclopedia | paediatric pediatric ~paediatr ~pediatr | analyse analyze ~analys ~analyz | ';
  g text;
  f text;
  key text := ' ' || w || ' ';
  stem text;
  forms text[] := '{}';
  spelled text[];
begin
  if w is null then
    return '{}';
  end if;
  if pg_catalog.strpos(groups, key) = 0 then
    stem := app_hidden.search_label_stem(w);
    if stem is not null then
      key := ' ' || stem || ' ';
      if pg_catalog.strpos(groups, key) = 0 then
        key := ' ~' || stem || ' ';
      end if;
    end if;
  end if;
  if pg_catalog.strpos(groups, key) > 0 then
    foreach g in array pg_catalog.string_to_array(groups, '|') loop
      if pg_catalog.strpos(g, key) > 0 then
        foreach f in array pg_catalog.string_to_array(pg_catalog.btrim(g), ' ') loop
          if f <> w and not pg_catalog.starts_with(f, '~') then
            forms := forms || f;
          end if;
        end loop;
        return forms;
      end if;
    end loop;
  end if;
  spelled := pg_catalog.regexp_match(w, '^([a-z]{3,}[iy])([sz])(e|es|ed|ing|er|ers|able|ation|ations|ational)$');
  if spelled is not null then
    return array[spelled[1] || pg_catalog.translate(spelled[2], 'sz', 'zs') || spelled[3]];
  end if;
  return '{}';
end;
$_$;

--
-- Name: search_highlight(text, tsquery); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_highlight(src text, q tsquery) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
declare
  -- About as much as ts_headline's 24 words of English take on screen.
  width constant int := 60;
  -- Read past the window's end, so a match running over it is marked whole.
  margin constant int := 40;
  cjk constant text := app_hidden.cjk_letters();
  low text := pg_catalog.lower(src);
  len int := char_length(src);
  patterns text[] := '{}';
  pattern text;
  lexeme text;
  prefix boolean;
  first int;
  p int;
  e int;
  lo int;
  hi int;
  -- The window as read: from one character before it (so that a match
  -- there is seen to start inside a word) through the margin; src's
  -- character i is its character i - base + 1.
  base int;
  win text;
  marked boolean[];
  from_pos int;
  bold boolean := false;
  result text := '';
begin
  for lexeme, prefix in
    select pg_catalog.replace(pg_catalog.replace(x[1], '''''', ''''), '\\', '\'), coalesce(x[2], '') like '%*%'
      from pg_catalog.regexp_matches(q::text, '''((?:[^'']|'''')*)''(:[*A-D]+)?', 'g') x
  loop
    pattern := pg_catalog.regexp_replace(lexeme, '([^[:alnum:][:space:]])', '\\\1', 'g');
    if lexeme !~ ('[' || cjk || ']') then
      pattern := '(?:^|(?<=[[:space:][:punct:]' || cjk || ']))' || pattern
                 || case when prefix then '[^[:space:][:punct:]' || cjk || ']*'
                         else '(?![^[:space:][:punct:]' || cjk || '])' end;
    end if;
    patterns := patterns || pattern;
    -- Only the first match is looked for in the whole text: each search
    -- from a position converts the text from its start, so marking every
    -- match of a common character in a long transcript cost seconds.
    p := pg_catalog.regexp_instr(low, pattern);
    if p > 0 and (first is null or p < first) then
      first := p;
    end if;
  end loop;
  if first is null then
    return null;
  end if;
  -- A little before the first match, a full window where the text allows.
  lo := greatest(1, first - width / 4);
  hi := least(len, lo + width - 1);
  lo := greatest(1, hi - width + 1);
  base := greatest(1, lo - 1);
  win := substr(low, base, hi - base + 1 + margin);
  marked := pg_catalog.array_fill(false, array[char_length(win)]);
  foreach pattern in array patterns loop
    from_pos := 1;
    loop
      p := pg_catalog.regexp_instr(win, pattern, from_pos);
      exit when p = 0;
      e := pg_catalog.regexp_instr(win, pattern, p, 1, 1);
      for i in greatest(p, lo - base + 1) .. e - 1 loop
        marked[i] := true;
      end loop;
      from_pos := greatest(e, p + 1);
    end loop;
  end loop;
  while hi < len and marked[hi - base + 1] and marked[hi - base + 2] is true loop
    hi := hi + 1;
  end loop;
  while lo < hi and substr(src, lo, 1) ~ '\s' loop
    lo := lo + 1;
  end loop;
  if lo > 1 then
    result := '…';
  end if;
  for i in lo .. hi loop
    if coalesce(marked[i - base + 1], false) <> bold then
      result := result || case when bold then '</b>' else '<b>' end;
      bold := not bold;
    end if;
    result := result || app_hidden.search_escape_html(substr(src, i, 1));
  end loop;
  if bold then
    result := result || '</b>';
  end if;
  return pg_catalog.rtrim(result) || case when hi < len then '…' else '' end;
end;
$$;

--
-- Name: search_label_start(text, text, boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_label_start(w text, stem text, stemming boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select case when app_hidden.search_prefix(w, stemming) then w
              when pg_catalog.char_length(stem) >= 3 then app_hidden.search_stem_start(stem)
         end
$$;

--
-- Name: search_label_stem(text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_label_stem(w text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select (pg_catalog.ts_lexize('pg_catalog.english_stem'::pg_catalog.regdictionary, w))[1]
$$;

--
-- Name: search_names(text, text, text, boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_names(lw text, w text, stem text, stemming boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select lw = w
      or (pg_catalog.starts_with(lw, app_hidden.search_label_start(w, stem, stemming))
          and (app_hidden.search_prefix(w, stemming) or app_hidden.search_label_stem(lw) = stem))
$$;

--
-- Name: search_ocr_fuzzy(text[], boolean[], uuid[], uuid[], uuid[], integer); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_ocr_fuzzy(words text[], fuzzy boolean[], video_ids uuid[], person_many uuid[], exclude uuid[], n integer) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  return query
  select f.id from (
    select s.id, max(public.strict_word_similarity(t.w, s.ocr_text)) as sim
    from unnest(search_ocr_fuzzy.words, search_ocr_fuzzy.fuzzy) t(w, fz)
    join app_public.scenes s on t.w operator(public.<<%) s.ocr_text
    where t.fz and s.owner_id = (select auth.uid())
      and (search_ocr_fuzzy.video_ids is null or s.video_id = any(search_ocr_fuzzy.video_ids))
      and (search_ocr_fuzzy.person_many is null
           or s.id in (select pg_catalog.unnest(search_ocr_fuzzy.person_many)))
    group by s.id) f
  where f.id <> all(search_ocr_fuzzy.exclude)
  order by f.sim desc, f.id
  limit search_ocr_fuzzy.n;
end;
$$;

--
-- Name: search_persons_of(uuid[], uuid); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_persons_of(scene_ids uuid[], owner_id uuid) RETURNS TABLE(scene_id uuid, persons jsonb)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
begin
  return query
  select f.scene_id,
         pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', p.id, 'name', p.name)
                              order by p.name is null, p.name, p.id)
    from (select distinct fc.scene_id, fc.person_id from app_public.faces fc
           where fc.scene_id = any(search_persons_of.scene_ids) and fc.owner_id = search_persons_of.owner_id
             and fc.person_id is not null) f
    join app_public.persons p on p.id = f.person_id and p.owner_id = search_persons_of.owner_id
   group by f.scene_id;
end;
$$;

--
-- Name: search_postings(uuid, uuid[], uuid[], uuid[], integer[], "char"[], "char"[], text[], text[], boolean[], boolean[], integer[], "char"[], text[], text[], text[], integer[], text[], text[], boolean[], text[], text[], boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_postings(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean) RETURNS TABLE(i integer, tag boolean, surface boolean, ranked boolean, scene_id uuid, kind "char", impact real)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select f.i, f.kind = 't', f.surface, f.ranked, t.scene_id, t.kind, t.impact
  from unnest(search_postings.range_word, search_postings.range_kind, search_postings.range_kind2,
              search_postings.range_lexeme, search_postings.range_hi, search_postings.range_surface,
              search_postings.range_ranked) f(i, kind, kind2, lexeme, hi, surface, ranked)
  cross join lateral app_hidden.search_range_rows(search_postings.uid, f.kind, f.kind2, f.lexeme, f.hi,
                                                  search_postings.video_ids, search_postings.person_many,
                                                  search_postings.person_scenes) t
  union all
  select f.i, false, false, false, t.scene_id, t.kind, t.impact
  from unnest(search_postings.stem_word, search_postings.stem_kind, search_postings.stem_lexeme,
              search_postings.stem_src_from, search_postings.stem_src_before) f(i, kind, lexeme, src_from, src_before)
  cross join lateral app_hidden.search_stem_rows(search_postings.uid, f.kind, f.lexeme, f.src_from, f.src_before,
                                                 search_postings.video_ids, search_postings.person_many) t
  where search_postings.person_scenes is null
  union all
  select f.i, true, false, false, t.scene_id, 't', t.impact
  from unnest(search_postings.tag_word, search_postings.tag_lexeme, search_postings.tag_hi,
              search_postings.tag_check) f(i, lexeme, hi, checked)
  join (
    select t.scene_id, t.lexeme, t.impact from app_hidden.scene_terms t
    where t.owner_id = search_postings.uid and t.kind = 't' and t.scene_id = any(search_postings.person_scenes)
      and (search_postings.video_ids is null or t.video_id = any(search_postings.video_ids))
    offset 0) t on t.lexeme >= f.lexeme collate "C" and t.lexeme <= f.hi collate "C"
  where f.checked
    and app_hidden.search_names(t.lexeme, search_postings.tag_words[f.i], search_postings.label_stems[f.i],
                                search_postings.stemming)
$$;

--
-- Name: search_prefix(text, boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_prefix(w text, stemming boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select pg_catalog.char_length(w) >= 2
     and (w ~ ('[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f' || app_hidden.cjk_letters() || ']')
          or (pg_catalog.char_length(w) >= 3 and not coalesce(stemming, false)))
$$;

--
-- Name: search_query_words(text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_query_words(query text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $_$
declare
  all_words text[] := coalesce((pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig,
    app_hidden.index_text(coalesce(query, ''), false))))[1:32], '{}');
  -- English function words carry no meaning of their own and, since the
  -- 'simple' configuration keeps them in every transcript, would let "the"
  -- outrank the one word that matters. They are dropped from the query unless
  -- nothing else is left ("the who" still searches for something).
  function_words constant text[] := '{a,an,the,and,or,but,of,in,on,at,to,for,with,by,from,into,onto,about,over,under,as,is,are,was,were}'::text[]
    || '{be,been,being,am,do,does,did,it,its,this,that,these,those,there,here,i,me,my,we,our,you,your,he,him,his,she,her}'::text[]
    || '{they,them,their,what,which,who,whom,where,when,how,some,any,so,if,then,than,not,no}'::text[];
  -- Korean attaches particles to the noun ("고양이가", "바다에서"): the query
  -- word with its particle only finds that particle, while the word is
  -- matched as a prefix anyway, so the particle is dropped and the noun
  -- finds every form ("고양이가" finds "고양이는", "고양이를"). Longest first;
  -- at least two syllables stay, so "아이" is never cut to "아".
  -- A particle with another after it ("바다에는", "학교에도") goes whole.
  particles constant text[] := '{으로부터,에서부터,에서는,에서도,에게서,에게는,에게도,한테서,한테는,으로는,으로도,까지는,까지도,부터는,보다는}'::text[]
    || '{에서,에게,한테,께서,까지,부터,보다,처럼,이랑,하고,으로,에는,에도,은,는,이,가,을,를,에,의,와,과,도,만,로,랑}'::text[];
  kept text[] := '{}';
  nouns text[] := '{}';
  w text;
  p text;
  stem text;
begin
  foreach w in array all_words loop
    if w <> all (function_words) then
      kept := kept || w;
    end if;
  end loop;
  if cardinality(kept) = 0 then
    kept := all_words;
  end if;
  foreach w in array kept loop
    if w ~ '[가-힣]$' then
      foreach p in array particles loop
        stem := pg_catalog.left(w, char_length(w) - char_length(p));
        if pg_catalog.right(w, char_length(p)) = p and char_length(stem) >= 2 and stem ~ '^[가-힣]+$' then
          w := stem;
          exit;
        end if;
      end loop;
    end if;
    -- "고양이가 고양이를" is one word once its particles are gone.
    if w <> all (nouns) then
      nouns := nouns || w;
    end if;
  end loop;
  return nouns;
end;
$_$;

--
-- Name: search_range_rows(uuid, "char", "char", text, text, uuid[], uuid[], uuid[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_range_rows(uid uuid, row_kind "char", row_kind2 "char", lexeme text, hi text, video_ids uuid[], person_many uuid[], person_scenes uuid[]) RETURNS TABLE(scene_id uuid, kind "char", impact real)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select t.scene_id, t.kind, t.impact from app_hidden.scene_terms t
  where t.owner_id = search_range_rows.uid and t.kind in (search_range_rows.row_kind, search_range_rows.row_kind2)
    and t.lexeme >= search_range_rows.lexeme collate "C" and t.lexeme <= search_range_rows.hi collate "C"
    and (search_range_rows.video_ids is null or t.video_id = any(search_range_rows.video_ids))
    and (search_range_rows.person_scenes is null or t.scene_id = any(search_range_rows.person_scenes))
    and (search_range_rows.person_many is null or coalesce(t.scene_id = any(search_range_rows.person_many), false))
  offset 0
$$;

--
-- Name: search_rank(tsvector, tsquery); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_rank(tsv tsvector, q tsquery) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select pg_catalog.ts_rank_cd('{0.1, 0.2, 0.8, 1.0}'::real[], tsv, q, 32)::float8
$$;

--
-- Name: search_scene_matches(uuid, uuid[], uuid[], uuid[], integer[], "char"[], "char"[], text[], text[], boolean[], boolean[], integer[], "char"[], text[], text[], text[], integer[], text[], text[], boolean[], text[], text[], boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_scene_matches(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean) RETURNS TABLE(scene_id uuid, mask bigint, written bigint, rank real, stem_rank real, tag real)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select p.scene_id,
         coalesce(bit_or(1::bigint << (p.i - 1)) filter (where p.kind <> 't'), 0),
         coalesce(bit_or(1::bigint << (p.i - 1)) filter (where p.kind = 'w' and p.surface), 0),
         coalesce(sum(p.impact) filter (where p.kind = 'w' and p.ranked), 0),
         coalesce(sum(p.impact) filter (where p.kind <> 't' and not p.surface), 0),
         coalesce(max(p.impact) filter (where p.kind = 't'), 0)
  from app_hidden.search_postings(search_scene_matches.uid, search_scene_matches.video_ids,
         search_scene_matches.person_many, search_scene_matches.person_scenes,
         search_scene_matches.range_word, search_scene_matches.range_kind, search_scene_matches.range_kind2,
         search_scene_matches.range_lexeme, search_scene_matches.range_hi, search_scene_matches.range_surface,
         search_scene_matches.range_ranked, search_scene_matches.stem_word, search_scene_matches.stem_kind,
         search_scene_matches.stem_lexeme, search_scene_matches.stem_src_from, search_scene_matches.stem_src_before,
         search_scene_matches.tag_word, search_scene_matches.tag_lexeme, search_scene_matches.tag_hi,
         search_scene_matches.tag_check, search_scene_matches.tag_words, search_scene_matches.label_stems,
         search_scene_matches.stemming) p
  group by p.scene_id
$$;

--
-- Name: search_similarity(text, double precision); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_similarity(space text, cosine double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select greatest(0, least(1, coalesce(
    (nullif(cosine, 'NaN'::float8)
      -- BGE-M3 (text_vec): unrelated sentences ~0.35, close paraphrases ~0.75.
      -- SigLIP text->image (image_vec): the model's own sigmoid reaches 0.5 near
      -- cosine 0.11; unrelated pairs sit near 0, strong matches near 0.2.
      - case space when 'text' then 0.35 when 'vision' then 0.05 end)
    / case space when 'text' then 0.75 - 0.35 when 'vision' then 0.20 - 0.05 end,
    0)))
$$;

--
-- Name: search_snippet(text, text, tsquery, tsvector); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_snippet(transcript text, ocr_text text, q tsquery, tsv tsvector) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
declare
  said boolean := coalesce(transcript <> '' and pg_catalog.ts_filter(tsv, '{a}') @@ q, false);
  shown boolean := coalesce(ocr_text <> '' and pg_catalog.ts_filter(tsv, '{b}') @@ q, false);
  from_transcript boolean := coalesce(transcript, '') <> '' and (said or not shown);
  src text := case when from_transcript then transcript else ocr_text end;
  -- Chinese or Japanese: no spaces to count words by.
  cjk boolean := src ~ ('[' || app_hidden.cjk_letters() || ']');
  marked text;
begin
  if coalesce(src, '') = '' then
    return null;
  end if;
  if q is not null and cjk then
    -- search_highlight finds the matches itself (null when there are none):
    -- testing the text's tsvector first would cut it into pairs once more.
    marked := app_hidden.search_highlight(src, q);
    if marked is not null then
      return marked;
    end if;
  elsif (from_transcript and said) or (not from_transcript and shown) then
    return pg_catalog.ts_headline('pg_catalog.simple'::regconfig, app_hidden.search_escape_html(src), q,
      'StartSel=<b>, StopSel=</b>, MaxWords=24, MinWords=8, ShortWord=1, MaxFragments=2, FragmentDelimiter=" … "');
  end if;
  -- No match: the opening words (characters, where there are no spaces).
  src := pg_catalog.array_to_string((pg_catalog.regexp_split_to_array(pg_catalog.btrim(src), '\s+'))[1:16], ' ');
  return app_hidden.search_escape_html(case when cjk and char_length(src) > 60 then pg_catalog.left(src, 60) || '…' else src end);
end;
$$;

--
-- Name: search_snippet_query(tsquery, tsvector, regconfig, text[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_snippet_query(q tsquery, tsv tsvector, config regconfig, stems text[]) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
declare
  forms text[] := '{}';
  extra tsquery;
  lw text;
  starts text[];
  ascii boolean;
begin
  if coalesce(cardinality(stems), 0) = 0 or config is null or config = 'pg_catalog.simple'::regconfig then
    return q;
  end if;
  -- Once per call, and the letter tests only for words beyond ASCII: this
  -- loop runs for every word of every hit, ~55 of them in 30 s of speech
  -- (150 us a hit before, 100 after; BENCHMARKS.md). A loop, not a query
  -- (a query starts an executor on every call), and no SET clause, every
  -- name qualified (it saved and restored search_path on every call): 89
  -- -> 69 us a hit of the benchmark's 12-word scenes, 117 -> 88 of 70 words.
  starts := '{}';
  for i in 1 .. cardinality(stems) loop
    starts[i] := app_hidden.search_stem_start(stems[i]);
  end loop;
  foreach lw in array pg_catalog.tsvector_to_array(tsv) loop
    ascii := pg_catalog.octet_length(lw) = pg_catalog.char_length(lw);
    for i in 1 .. cardinality(stems) loop
      if (pg_catalog.starts_with(lw, starts[i])
          or (not ascii and (lw ~ '[\u00c0-\u024f\u0451]'
                             or (lw ~ '^[^\x01-\x7f]' and pg_catalog.left(lw, 1) = pg_catalog.left(stems[i], 1)))))
         and stems[i] = any(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(config, lw))) then
        forms := forms || lw;
        exit;
      end if;
    end loop;
  end loop;
  if cardinality(forms) = 0 then
    return q;
  end if;
  extra := app_hidden.search_tsquery(forms, '', true);
  -- Per hit, so a call only where a form is a compound.
  if pg_catalog.strpos(pg_catalog.array_to_string(forms, ' '), '-') > 0 then
    extra := coalesce(extra || app_hidden.search_compound_parts(forms), extra);
  end if;
  return case when q is null then extra else q || extra end;
end;
$$;

--
-- Name: search_stem_rows(uuid, "char", text, text, text, uuid[], uuid[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_stem_rows(uid uuid, row_kind "char", lexeme text, src_from text, src_before text, video_ids uuid[], person_many uuid[]) RETURNS TABLE(scene_id uuid, kind "char", impact real)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select t.scene_id, t.kind, t.impact from app_hidden.scene_terms t
  where t.owner_id = search_stem_rows.uid and t.kind = search_stem_rows.row_kind
    and t.lexeme = search_stem_rows.lexeme collate "C"
    and t.src >= search_stem_rows.src_from collate "C" and t.src < search_stem_rows.src_before collate "C"
    and (search_stem_rows.video_ids is null or t.video_id = any(search_stem_rows.video_ids))
    and (search_stem_rows.person_many is null or coalesce(t.scene_id = any(search_stem_rows.person_many), false))
  offset 0
$$;

--
-- Name: search_stem_start(text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_stem_start(stem text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select case when stem like '%i' then pg_catalog.left(stem, -1) else stem end
$$;

--
-- Name: search_stem_tsquery(text[], regconfig[], text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_stem_tsquery(words text[], configs regconfig[], weights text) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
declare
  parts text[] := '{}';
  part text;
  w text;
  c regconfig;
  l text;
begin
  if words is null or configs is null then
    return null;
  end if;
  foreach w in array words loop
    continue when w is null;
    foreach c in array configs loop
      continue when c is null or c = 'simple'::regconfig;
      foreach l in array pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(c, w)) loop
        part := '''' || replace(replace(l, '\', '\\'), '''', '''''') || ''''
                || case when weights <> '' then ':' else '' end || weights;
        if part <> all (parts) then
          parts := parts || part;
        end if;
      end loop;
    end loop;
  end loop;
  return nullif(pg_catalog.array_to_string(parts, ' | '), '')::tsquery;
end;
$$;

--
-- Name: search_stemming(regconfig[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_stemming(configs regconfig[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select not (coalesce(configs, '{}') <@ array['pg_catalog.simple', 'app_hidden.simple_folded']::pg_catalog.regconfig[])
$$;

--
-- Name: search_tag_score(jsonb, text[], boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_tag_score(tags jsonb, words text[], stemming boolean) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select app_hidden.search_tag_score(tags, words, array(select app_hidden.search_label_stem(w) from unnest(words) w),
                                     stemming)
$$;

--
-- Name: search_tag_score(jsonb, text[], text[], boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_tag_score(tags jsonb, words text[], stems text[], stemming boolean) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
declare
  best float8;
  t jsonb;
  lw text;
  label_words int;
  named int;
begin
  if coalesce(cardinality(words), 0) = 0 or pg_catalog.jsonb_typeof(tags) is distinct from 'array' then
    return 0;
  end if;
  -- A loop of simple expressions, not a query: this runs once per candidate.
  for i in 0 .. pg_catalog.jsonb_array_length(tags) - 1 loop
    t := tags -> i;
    continue when pg_catalog.jsonb_typeof(t) <> 'object'
               or pg_catalog.jsonb_typeof(t -> 'score') is distinct from 'number'
               or pg_catalog.jsonb_typeof(t -> 'label') is distinct from 'string';
    label_words := 0;
    named := 0;
    foreach lw in array pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('simple'::regconfig, t ->> 'label')) loop
      label_words := label_words + 1;
      for k in 1 .. cardinality(words) loop
        if app_hidden.search_names(lw, words[k], stems[k], stemming) then
          named := named + 1;
          exit;
        end if;
      end loop;
    end loop;
    best := greatest(best, greatest(0, least(1, (t ->> 'score')::float8)) * (named::float8 / nullif(label_words, 0)));
  end loop;
  return coalesce(best, 0);
end;
$$;

--
-- Name: search_tag_words(text[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_tag_words(word_forms text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
declare
  result text[] := '{}';
  forms text[] := '{}';
  wf text;
  f text;
begin
  foreach wf in array coalesce(word_forms, '{}') loop
    continue when wf is null;
    result := result || pg_catalog.split_part(wf, ' ', 1);
    forms := forms || pg_catalog.string_to_array(wf, ' ');
  end loop;
  foreach f in array forms loop
    if f <> all (result) then
      result := result || f;
    end if;
  end loop;
  return result;
end;
$$;

--
-- Name: search_tsquery(text[], text, boolean); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_tsquery(words text[], weights text, stemming boolean) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
declare
  parts text[] := '{}';
  w text;
begin
  if coalesce(cardinality(words), 0) = 0 then
    return null;
  end if;
  foreach w in array words loop
    parts := parts || ('''' || replace(replace(w, '\', '\\'), '''', '''''') || ''''
                       || case when app_hidden.search_prefix(w, stemming) or weights <> '' then ':' else '' end
                       || case when app_hidden.search_prefix(w, stemming) then '*' else '' end
                       || weights);
  end loop;
  return pg_catalog.array_to_string(parts, ' | ')::tsquery;
end;
$$;

--
-- Name: search_word_estimate(double precision[], double precision, bigint, bigint, real, real); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_word_estimate(weights double precision[], idf_total double precision, mask bigint, written bigint, rank real, stem_rank real) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  select 0.5 * (0.75 * app_hidden.search_bits_weight(weights, mask) + 0.25 * app_hidden.search_bits_weight(weights, written))
             / idf_total
         + 0.5 * greatest(rank / (rank + 1), 0.75 * stem_rank / (stem_rank + 1))
$$;

--
-- Name: search_word_forms(text[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_word_forms(words text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
declare
  result text[] := '{}';
  w text;
begin
  foreach w in array coalesce(words, '{}') loop
    result := result || case when w is not null then pg_catalog.array_to_string(w || app_hidden.search_forms(w), ' ') end;
  end loop;
  return result;
end;
$$;

--
-- Name: search_word_rows(uuid, integer, bigint, bigint, text, boolean, boolean, integer[], "char"[], "char"[], text[], text[], boolean[], boolean[], integer[], "char"[], text[], text[], text[]); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.search_word_rows(uid uuid, i integer, word_bit bigint, lead bigint, lead_lexeme text, lead_surface boolean, lead_ranked boolean, range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[]) RETURNS TABLE(scene_id uuid, w bigint, r real, sr real)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  select t.scene_id,
         case when search_word_rows.lead_surface then search_word_rows.word_bit else 0 end,
         case when search_word_rows.lead_ranked then t.impact else 0 end,
         case when search_word_rows.lead_surface then 0 else t.impact end
  from app_hidden.scene_terms t
  where t.owner_id = search_word_rows.uid and t.kind = 'w' and t.lexeme = search_word_rows.lead_lexeme collate "C"
  union all
  select t.scene_id,
         case when t.kind = 'w' and f.surface then search_word_rows.word_bit else 0 end,
         case when t.kind = 'w' and f.ranked then t.impact else 0 end,
         case when t.kind <> 't' and not f.surface then t.impact else 0 end
  from unnest(search_word_rows.range_word, search_word_rows.range_kind, search_word_rows.range_kind2,
              search_word_rows.range_lexeme, search_word_rows.range_hi, search_word_rows.range_surface,
              search_word_rows.range_ranked) with ordinality f(i, kind, kind2, lexeme, hi, surface, ranked, o)
  cross join lateral app_hidden.search_range_rows(search_word_rows.uid, f.kind, f.kind2, f.lexeme, f.hi,
                                                  null, null, null) t
  where f.i = search_word_rows.i and f.kind <> 't' and f.o is distinct from search_word_rows.lead
  union all
  select t.scene_id, 0, 0, t.impact
  from unnest(search_word_rows.stem_word, search_word_rows.stem_kind, search_word_rows.stem_lexeme,
              search_word_rows.stem_src_from, search_word_rows.stem_src_before) f(i, kind, lexeme, src_from, src_before)
  cross join lateral app_hidden.search_stem_rows(search_word_rows.uid, f.kind, f.lexeme, f.src_from, f.src_before,
                                                 null, null) t
  where f.i = search_word_rows.i
$$;

--
-- Name: stem_config(text); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.stem_config(language text) RETURNS regconfig
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
begin
  return case pg_catalog.lower(coalesce(language, 'en'))
    when 'en' then 'app_hidden.english_folded' when 'eng' then 'app_hidden.english_folded'
    when 'english' then 'app_hidden.english_folded'
    when 'de' then 'app_hidden.german_folded' when 'deu' then 'app_hidden.german_folded'
    when 'ger' then 'app_hidden.german_folded' when 'german' then 'app_hidden.german_folded'
    when 'fr' then 'app_hidden.french_folded' when 'fra' then 'app_hidden.french_folded'
    when 'fre' then 'app_hidden.french_folded' when 'french' then 'app_hidden.french_folded'
    when 'es' then 'app_hidden.spanish_folded' when 'spa' then 'app_hidden.spanish_folded'
    when 'spanish' then 'app_hidden.spanish_folded'
    when 'it' then 'app_hidden.italian_folded' when 'ita' then 'app_hidden.italian_folded'
    when 'italian' then 'app_hidden.italian_folded'
    when 'pt' then 'app_hidden.portuguese_folded' when 'por' then 'app_hidden.portuguese_folded'
    when 'portuguese' then 'app_hidden.portuguese_folded'
    when 'nl' then 'app_hidden.dutch_folded' when 'nld' then 'app_hidden.dutch_folded'
    when 'dut' then 'app_hidden.dutch_folded' when 'dutch' then 'app_hidden.dutch_folded'
    when 'ru' then 'app_hidden.russian_folded' when 'rus' then 'app_hidden.russian_folded'
    when 'russian' then 'app_hidden.russian_folded'
    when 'ca' then 'app_hidden.catalan_folded' when 'cat' then 'app_hidden.catalan_folded'
    when 'catalan' then 'app_hidden.catalan_folded'
    when 'sv' then 'swedish' when 'swe' then 'swedish' when 'swedish' then 'swedish'
    when 'da' then 'danish' when 'dan' then 'danish' when 'danish' then 'danish'
    when 'no' then 'norwegian' when 'nb' then 'norwegian' when 'nn' then 'norwegian' when 'nor' then 'norwegian'
    when 'nob' then 'norwegian' when 'nno' then 'norwegian' when 'norwegian' then 'norwegian'
    when 'fi' then 'finnish' when 'fin' then 'finnish' when 'finnish' then 'finnish'
    when 'hu' then 'hungarian' when 'hun' then 'hungarian' when 'hungarian' then 'hungarian'
    when 'ro' then 'romanian' when 'ron' then 'romanian' when 'rum' then 'romanian' when 'romanian' then 'romanian'
    when 'tr' then 'turkish' when 'tur' then 'turkish' when 'turkish' then 'turkish'
    when 'ar' then 'arabic' when 'ara' then 'arabic' when 'arabic' then 'arabic'
    when 'hy' then 'armenian' when 'hye' then 'armenian' when 'arm' then 'armenian' when 'armenian' then 'armenian'
    when 'eu' then 'basque' when 'eus' then 'basque' when 'baq' then 'basque' when 'basque' then 'basque'
    when 'el' then 'greek' when 'ell' then 'greek' when 'gre' then 'greek' when 'greek' then 'greek'
    when 'hi' then 'hindi' when 'hin' then 'hindi' when 'hindi' then 'hindi'
    when 'id' then 'indonesian' when 'ind' then 'indonesian' when 'indonesian' then 'indonesian'
    when 'ga' then 'irish' when 'gle' then 'irish' when 'irish' then 'irish'
    when 'lt' then 'lithuanian' when 'lit' then 'lithuanian' when 'lithuanian' then 'lithuanian'
    when 'ne' then 'nepali' when 'nep' then 'nepali' when 'nepali' then 'nepali'
    when 'sr' then 'serbian' when 'srp' then 'serbian' when 'serbian' then 'serbian'
    when 'ta' then 'tamil' when 'tam' then 'tamil' when 'tamil' then 'tamil'
    when 'yi' then 'yiddish' when 'yid' then 'yiddish' when 'yiddish' then 'yiddish'
    when 'pl' then 'app_hidden.simple_folded' when 'pol' then 'app_hidden.simple_folded'
    when 'polish' then 'app_hidden.simple_folded'
    when 'cs' then 'app_hidden.simple_folded' when 'ces' then 'app_hidden.simple_folded'
    when 'cze' then 'app_hidden.simple_folded' when 'czech' then 'app_hidden.simple_folded'
    when 'sk' then 'app_hidden.simple_folded' when 'slk' then 'app_hidden.simple_folded'
    when 'slo' then 'app_hidden.simple_folded' when 'slovak' then 'app_hidden.simple_folded'
    when 'sl' then 'app_hidden.simple_folded' when 'slv' then 'app_hidden.simple_folded'
    when 'slovenian' then 'app_hidden.simple_folded'
    when 'hr' then 'app_hidden.simple_folded' when 'hrv' then 'app_hidden.simple_folded'
    when 'croatian' then 'app_hidden.simple_folded'
    when 'bs' then 'app_hidden.simple_folded' when 'bos' then 'app_hidden.simple_folded'
    when 'bosnian' then 'app_hidden.simple_folded'
    when 'vi' then 'app_hidden.simple_folded' when 'vie' then 'app_hidden.simple_folded'
    when 'vietnamese' then 'app_hidden.simple_folded'
    when 'gl' then 'app_hidden.simple_folded' when 'glg' then 'app_hidden.simple_folded'
    when 'galician' then 'app_hidden.simple_folded'
    when 'lv' then 'app_hidden.simple_folded' when 'lav' then 'app_hidden.simple_folded'
    when 'latvian' then 'app_hidden.simple_folded'
    when 'et' then 'app_hidden.simple_folded' when 'est' then 'app_hidden.simple_folded'
    when 'estonian' then 'app_hidden.simple_folded'
    when 'is' then 'app_hidden.simple_folded' when 'isl' then 'app_hidden.simple_folded'
    when 'ice' then 'app_hidden.simple_folded' when 'icelandic' then 'app_hidden.simple_folded'
    when 'cy' then 'app_hidden.simple_folded' when 'cym' then 'app_hidden.simple_folded'
    when 'wel' then 'app_hidden.simple_folded' when 'welsh' then 'app_hidden.simple_folded'
    when 'mt' then 'app_hidden.simple_folded' when 'mlt' then 'app_hidden.simple_folded'
    when 'maltese' then 'app_hidden.simple_folded'
    when 'sq' then 'app_hidden.simple_folded' when 'sqi' then 'app_hidden.simple_folded'
    when 'alb' then 'app_hidden.simple_folded' when 'albanian' then 'app_hidden.simple_folded'
    when 'af' then 'app_hidden.simple_folded' when 'afr' then 'app_hidden.simple_folded'
    when 'afrikaans' then 'app_hidden.simple_folded'
    else 'simple'
  end::regconfig;
end;
$$;

--
-- Name: FUNCTION stem_config(language text); Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON FUNCTION app_hidden.stem_config(language text) IS 'The text search configuration that stems words of this language (ISO 639-1 or -2 code), folding accents first where they are marks rather than letters (app_hidden.*_folded); NULL counts as English; a language without a stemmer maps to app_hidden.simple_folded where its letters carry marks (the words with them folded), else to simple (nothing stored).';

--
-- Name: tag_text(jsonb); Type: FUNCTION; Schema: app_hidden; Owner: -
--

CREATE FUNCTION app_hidden.tag_text(tags jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select coalesce(string_agg(t ->> 'label', ' '), '')
  from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(tags) = 'array' then tags else '[]'::jsonb end) t
$$;

--
-- Name: add_pipeline_job(text, json, text, text, text, integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.add_pipeline_job(task text, payload json, job_key text DEFAULT NULL::text, queue_name text DEFAULT NULL::text, job_key_mode text DEFAULT 'replace'::text, priority_offset integer DEFAULT 0) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  -- priority: fairness between users (job_priority, committed migration 000005).
  perform graphile_worker.add_job(task, payload, queue_name := queue_name, job_key := job_key,
                                  job_key_mode := job_key_mode, max_attempts := 8,
                                  priority := app_private.job_priority(payload) + priority_offset);
end;
$$;

--
-- Name: FUNCTION add_pipeline_job(task text, payload json, job_key text, queue_name text, job_key_mode text, priority_offset integer); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.add_pipeline_job(task text, payload json, job_key text, queue_name text, job_key_mode text, priority_offset integer) IS 'Queue a pipeline job with the one retry policy (8 attempts), behind priority_offset more of the owner''s videos than its own place.';

--
-- Name: auth_create_session(uuid, text, integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_create_session(user_id uuid, token_hash text, ttl_s integer) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  sid uuid;
begin
  insert into app_private.sessions (user_id) values (auth_create_session.user_id) returning id into sid;
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
    values (auth_create_session.token_hash, sid, now() + make_interval(secs => ttl_s));
  return sid;
end;
$$;

SET default_table_access_method = heap;

--
-- Name: users; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_login_at timestamp with time zone,
    CONSTRAINT users_email_check CHECK (((email ~ '^[^@\s]+@[^@\s]+$'::text) AND (char_length(email) <= 320)))
);

--
-- Name: auth_login(text, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_login(email text, password text) RETURNS app_private.users
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  u app_private.users;
begin
  select * into u from app_private.users where lower(users.email) = lower(pg_catalog.btrim(auth_login.email));
  if u.id is null then
    perform public.crypt(coalesce(password, ''), '$2a$10$CwTycUXWue0Thq9StjUM0uJ8.Yf3Fh5xoJ7/jEZZRZ3g6H0yk6Cfq');
    return null;
  end if;
  if u.password_hash <> public.crypt(coalesce(password, ''), u.password_hash) then
    return null;
  end if;
  update app_private.users set last_login_at = now() where id = u.id;
  return u;
end;
$_$;

--
-- Name: auth_logout_session(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_logout_session(session_id uuid) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
    where s.id = auth_logout_session.session_id and s.revoked_at is null
  returning true
$$;

--
-- Name: auth_logout_token(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_logout_token(token_hash text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with t as (select session_id from app_private.refresh_tokens r where r.token_hash = auth_logout_token.token_hash)
  update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
    from t where s.id = t.session_id and s.revoked_at is null
  returning true
$$;

--
-- Name: auth_logout_user(uuid, uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_logout_user(user_id uuid, keep_session uuid) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with ended as (
    update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
     where s.user_id = auth_logout_user.user_id and s.revoked_at is null
       and s.id is distinct from auth_logout_user.keep_session
    returning 1)
  select count(*)::int from ended
$$;

--
-- Name: auth_refresh(text, text, integer, integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_refresh(old_hash text, new_hash text, ttl_s integer, reuse_s integer) RETURNS TABLE(user_id uuid, email text, session_id uuid, error text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  t app_private.refresh_tokens;
  s app_private.sessions;
begin
  select * into t from app_private.refresh_tokens where token_hash = old_hash for update;
  if t.token_hash is null then
    return query select null::uuid, null::text, null::uuid, 'refresh_token_not_found';
    return;
  end if;
  select * into s from app_private.sessions where id = t.session_id for update;
  if s.revoked_at is not null then
    return query select null::uuid, null::text, null::uuid, 'refresh_token_not_found';
    return;
  end if;
  if t.rotated_at is not null and t.rotated_at + make_interval(secs => greatest(reuse_s, 0)) <= now() then
    update app_private.sessions set revoked_at = now(), revoked_reason = 'refresh token reused'
      where id = s.id;
    return query select null::uuid, null::text, null::uuid, 'refresh_token_already_used';
    return;
  end if;
  if t.expires_at <= now() then
    return query select null::uuid, null::text, null::uuid, 'refresh_token_not_found';
    return;
  end if;
  -- Within the grace the first rotation time stands: replays cannot extend it.
  update app_private.refresh_tokens set rotated_at = now() where token_hash = old_hash and rotated_at is null;
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
    values (new_hash, s.id, now() + make_interval(secs => ttl_s));
  update app_private.sessions set refreshed_at = now() where id = s.id;
  return query select u.id, u.email, s.id, null::text from app_private.users u where u.id = s.user_id;
end;
$$;

--
-- Name: auth_session_active(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_session_active(session_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select exists (select from app_private.sessions s where s.id = auth_session_active.session_id and s.revoked_at is null)
$$;

--
-- Name: auth_session_user(uuid, uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_session_user(user_id uuid, session_id uuid) RETURNS TABLE(id uuid, email text, created_at timestamp with time zone, last_login_at timestamp with time zone)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select u.id, u.email, u.created_at, u.last_login_at
    from app_private.users u
    join app_private.sessions s on s.user_id = u.id
   where u.id = auth_session_user.user_id and s.id = auth_session_user.session_id and s.revoked_at is null
$$;

--
-- Name: auth_signup(text, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.auth_signup(email text, password text) RETURNS app_private.users
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
#variable_conflict use_column
declare
  u app_private.users;
begin
  if password is null or char_length(password) < 8 then
    raise exception 'password must be at least 8 characters' using errcode = '22023';
  end if;
  insert into app_private.users (email, password_hash)
    values (pg_catalog.btrim(auth_signup.email), public.crypt(password, public.gen_salt('bf', 10)))
    on conflict ((lower(email))) do nothing
    returning * into u;
  return u;
end;
$$;

--
-- Name: enrolment_face_reembedded(uuid, text, real[], real, jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.enrolment_face_reembedded(face_id uuid, face_model text, box real[], det_score real, embedding jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: enrolment_faces_stale(text, integer, uuid[]); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.enrolment_faces_stale(face_model text, max_rows integer, skip uuid[] DEFAULT '{}'::uuid[]) RETURNS TABLE(id uuid, owner_id uuid, photo_key text, box real[], photo_sha256 text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select f.id, f.owner_id, f.photo_key, f.box, f.photo_sha256
    from app_public.faces f
   where f.photo_key is not null and f.face_model is distinct from enrolment_faces_stale.face_model
     and f.id <> all (coalesce(skip, '{}'))
   order by f.created_at, f.id
   limit greatest(max_rows, 0)
$$;

--
-- Name: FUNCTION enrolment_faces_stale(face_model text, max_rows integer, skip uuid[]); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.enrolment_faces_stale(face_model text, max_rows integer, skip uuid[]) IS 'Worker: enrolment photos embedded by another face model, to embed again.';

--
-- Name: faces_match(uuid[], boolean); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.faces_match(face_ids uuid[], deferred boolean DEFAULT false) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    SET "hnsw.iterative_scan" TO 'relaxed_order'
    SET "hnsw.ef_search" TO '100'
    AS $$
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

--
-- Name: FUNCTION faces_match(face_ids uuid[], deferred boolean); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.faces_match(face_ids uuid[], deferred boolean) IS 'Worker: give each unassigned face the user did not place by hand a person (named match, core face of a group, or with deferred a border face).';

--
-- Name: faces_recluster(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.faces_recluster(owner_id uuid) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: FUNCTION faces_recluster(owner_id uuid); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.faces_recluster(owner_id uuid) IS 'Worker (faces__cluster): the later clustering pass over one owner''s unassigned faces that the user did not leave unassigned on purpose.';

--
-- Name: faces_write(uuid, text, jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.faces_write(video_id uuid, face_model text, scenes jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: FUNCTION faces_write(video_id uuid, face_model text, scenes jsonb); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.faces_write(video_id uuid, face_model text, scenes jsonb) IS 'Worker: replace the faces of the given scenes (keeping person and user decision of a face detected again), match them, queue a faces__cluster pass when some stay unassigned.';

--
-- Name: fail_crashed_jobs(text[]); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.fail_crashed_jobs(worker_ids text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_why constant text := 'Processing was interrupted on its last attempt (%s of %s: the worker was killed, ran out '
                         'of memory or lost its database). An administrator can retry it.';
begin
  perform case when t.identifier in ('videos__playback', 'videos__playback_part')
               then app_private.pipeline_playback_failed((j.payload ->> 'id')::uuid,
                      'No browser-playable copy could be made: ' || pg_catalog.format(v_why, j.attempts, j.max_attempts))
               else app_private.pipeline_fail((j.payload ->> 'id')::uuid, pg_catalog.format(v_why, j.attempts, j.max_attempts))
          end
     from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    where j.locked_by = any(worker_ids) and j.attempts >= j.max_attempts
      and t.identifier in ('videos__validate', 'videos__transcribe', 'videos__index',
                           'videos__playback', 'videos__playback_part');
end;
$$;

--
-- Name: FUNCTION fail_crashed_jobs(worker_ids text[]); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.fail_crashed_jobs(worker_ids text[]) IS 'Fails the videos whose jobs these pools held on their last attempt (called as they are released).';

--
-- Name: job_interrupted(bigint, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.job_interrupted(job_id bigint, worker_id text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with given as (
    update graphile_worker._private_jobs j
       set max_attempts = j.max_attempts + 1
     where j.id = job_interrupted.job_id and j.locked_by = job_interrupted.worker_id and j.max_attempts < 24
    returning 1)
  select exists (select from given);
$$;

--
-- Name: FUNCTION job_interrupted(job_id bigint, worker_id text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.job_interrupted(job_id bigint, worker_id text) IS 'Worker: the database went away under this job''s attempt; allow it one attempt more (up to 24 in all). False when it may not have one.';

--
-- Name: job_priority(json); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.job_priority(payload json) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $_$
  select coalesce((
    select least(count(*), 10000)::integer
      from app_public.videos v
      join app_public.videos o on o.owner_id = v.owner_id
     where v.id = case when payload ->> 'id' ~ '^[0-9a-fA-F-]{36}$' then (payload ->> 'id')::uuid end
       and o.state in ('uploaded', 'validating', 'processing')
       and (o.created_at, o.id) < (v.created_at, v.id)), 0);
$_$;

--
-- Name: FUNCTION job_priority(payload json); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.job_priority(payload json) IS 'Fair job priority: how many of the owner''s unfinished videos are older than the payload''s video.';

--
-- Name: jsonb_vector(jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.jsonb_vector(v jsonb) RETURNS public.vector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select case when v is null or pg_catalog.jsonb_typeof(v) <> 'array' then null
              else (v::text)::public.vector end
$$;

--
-- Name: pipeline_chunk_done(uuid, text, integer, jsonb, text[]); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_chunk_done(video_id uuid, step text, chunk integer, part jsonb, keys text[] DEFAULT '{}'::text[]) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_task text := 'videos__' || step;
  v_whole jsonb;
begin
  perform 1 from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  if step not in ('transcribe', 'index') then
    raise exception 'unknown chunked step %', step using errcode = '22023';
  end if;
  if chunk > 0 and not exists (select from app_private.video_chunks c
                                where c.video_id = pipeline_chunk_done.video_id and c.step = pipeline_chunk_done.step
                                  and c.chunk = pipeline_chunk_done.chunk - 1) then
    return false;
  end if;
  insert into app_private.video_chunks (video_id, step, chunk, start_s, end_s, last, product, keys)
  values (video_id, step, chunk, (part ->> 'start_s')::float8, (part ->> 'end_s')::float8,
          (part ->> 'last')::boolean, part -> 'product', coalesce(keys, '{}'))
  on conflict on constraint video_chunks_pkey do nothing;
  if not found then
    -- Staged by an earlier attempt, whose transaction also queued what follows.
    return true;
  end if;

  if not (part ->> 'last')::boolean then
    -- A key of its own per chunk: graphile-worker marks a running job whose
    -- key is reused as finally failed, and this job is still running. A job
    -- of an earlier run of the video finds its chunk not part of the current
    -- run (pipeline_chunk_start) and does nothing.
    perform app_private.add_pipeline_job(v_task, json_build_object('id', video_id, 'chunk', chunk + 1),
      v_task || ':' || video_id::text || ':' || (chunk + 1)::text);
    return true;
  end if;

  if step = 'transcribe' then
    select jsonb_build_object(
             'source', (array_agg(c.product ->> 'source' order by c.chunk))[1],
             'language', (array_agg(c.product ->> 'language' order by c.chunk)
                            filter (where c.product ->> 'language' is not null))[1],
             'model', (array_agg(c.product ->> 'model' order by c.chunk)
                         filter (where c.product ->> 'model' is not null))[1],
             'segments', coalesce((select jsonb_agg(e order by c2.chunk, o)
                                     from app_private.video_chunks c2,
                                          jsonb_array_elements(c2.product -> 'segments') with ordinality as x(e, o)
                                    where c2.video_id = pipeline_chunk_done.video_id and c2.step = 'transcribe'), '[]'),
             'missing', bool_or(coalesce((c.product ->> 'missing')::boolean, false)))
      into v_whole
      from app_private.video_chunks c
     where c.video_id = pipeline_chunk_done.video_id and c.step = 'transcribe';
    perform app_private.pipeline_transcribed(video_id, v_whole);
  else
    -- Video-level facts: the last chunk's model ids where it has them (a
    -- model that appeared mid-video), any chunk's otherwise; a stage skipped
    -- in any chunk is missing for the video, so a re-index fills it in.
    select jsonb_build_object(
             'transcript_source', (array_agg(c.product ->> 'transcript_source' order by c.chunk desc))[1],
             'language', (array_agg(c.product ->> 'language' order by c.chunk desc)
                            filter (where c.product ->> 'language' is not null))[1],
             'asr_model', (array_agg(c.product ->> 'asr_model' order by c.chunk desc)
                             filter (where c.product ->> 'asr_model' is not null))[1],
             'text_model', (array_agg(c.product ->> 'text_model' order by c.chunk desc)
                              filter (where c.product ->> 'text_model' is not null))[1],
             'image_model', (array_agg(c.product ->> 'image_model' order by c.chunk desc)
                               filter (where c.product ->> 'image_model' is not null))[1],
             'ocr_model', (array_agg(c.product ->> 'ocr_model' order by c.chunk desc)
                             filter (where c.product ->> 'ocr_model' is not null))[1],
             'face_model', (array_agg(c.product ->> 'face_model' order by c.chunk desc)
                              filter (where c.product ->> 'face_model' is not null))[1],
             'missing_stages', coalesce((select jsonb_agg(m order by array_position(
                                            array['transcribe', 'embed_text', 'embed_image', 'tags', 'ocr', 'faces'], m))
                                           from (select distinct m
                                                   from app_private.video_chunks c2,
                                                        jsonb_array_elements_text(c2.product -> 'missing_stages') m
                                                  where c2.video_id = pipeline_chunk_done.video_id
                                                    and c2.step = 'index') d), '[]'),
             'scenes', coalesce((select jsonb_agg(e order by (e ->> 'ordinal')::int)
                                   from app_private.video_chunks c2, jsonb_array_elements(c2.product -> 'scenes') e
                                  where c2.video_id = pipeline_chunk_done.video_id and c2.step = 'index'), '[]'))
      into v_whole
      from app_private.video_chunks c
     where c.video_id = pipeline_chunk_done.video_id and c.step = 'index';
    perform app_private.pipeline_indexed(video_id, v_whole);
  end if;
  delete from app_private.video_chunks c where c.video_id = pipeline_chunk_done.video_id and c.step = pipeline_chunk_done.step;
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_chunk_done(video_id uuid, step text, chunk integer, part jsonb, keys text[]); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_chunk_done(video_id uuid, step text, chunk integer, part jsonb, keys text[]) IS 'Worker: stage one chunk and queue the next, or assemble all chunks after the last one.';

--
-- Name: pipeline_chunk_start(uuid, text, integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_chunk_start(video_id uuid, step text, chunk integer) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
           'done', exists (select from app_private.video_chunks c
                            where c.video_id = pipeline_chunk_start.video_id and c.step = pipeline_chunk_start.step
                              and c.chunk = pipeline_chunk_start.chunk),
           'start_s', coalesce(p.end_s, 0),
           'ordinal', (select coalesce(sum(jsonb_array_length(c.product -> 'scenes')), 0)
                         from app_private.video_chunks c
                        where c.video_id = pipeline_chunk_start.video_id and c.step = 'index'
                          and c.chunk < pipeline_chunk_start.chunk))
    from (select 1) one
    left join app_private.video_chunks p
      on p.video_id = pipeline_chunk_start.video_id and p.step = pipeline_chunk_start.step
     and p.chunk = pipeline_chunk_start.chunk - 1
   where pipeline_chunk_start.chunk = 0 or p.chunk is not null
$$;

--
-- Name: FUNCTION pipeline_chunk_start(video_id uuid, step text, chunk integer); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_chunk_start(video_id uuid, step text, chunk integer) IS 'Worker: whether a chunk is already done, where it starts and its first scene ordinal; null for a job of an earlier run.';

--
-- Name: pipeline_fail(uuid, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_fail(video_id uuid, error text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_owner uuid;
  v_copying boolean;
begin
  if error is null or error = '' then
    raise exception 'pipeline_fail needs a reason' using errcode = '22023';
  end if;
  -- A failed video is not played: a copy on its way is called off (its
  -- jobs find it no longer pending), so a broken file of hours does not
  -- keep a worker encoding. Processing it again starts a new copy.
  select v.owner_id, coalesce(v.playback_state = 'pending', false) into v_owner, v_copying
    from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  update app_public.videos v
     set state = 'failed', error = pipeline_fail.error,
         playback_state = case when v_copying then null else v.playback_state end
   where v.id = video_id;
  if v_copying then
    perform app_private.playback_forget_parts(video_id, v_owner, null);
  end if;
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_fail(video_id uuid, error text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_fail(video_id uuid, error text) IS 'Worker: mark a video failed with a reason a user can act on.';

--
-- Name: pipeline_indexed(uuid, jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_indexed(video_id uuid, result jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_owner uuid;
  v_orphans text[];
  n integer;
begin
  select v.owner_id into v_owner from app_public.videos v where v.id = video_id for update;
  if not found then
    return null;
  end if;
  if jsonb_typeof(result -> 'scenes') <> 'array' or jsonb_array_length(result -> 'scenes') = 0 then
    raise exception 'pipeline_indexed needs at least one scene' using errcode = '22023';
  end if;

  select coalesce(array_agg(s.keyframe_key), '{}') into v_orphans
    from app_public.scenes s
   where s.video_id = pipeline_indexed.video_id and s.keyframe_key is not null
     and s.keyframe_key not in (
       select e ->> 'keyframe_key' from jsonb_array_elements(result -> 'scenes') e
        where e ->> 'keyframe_key' is not null);

  delete from app_public.scenes s where s.video_id = pipeline_indexed.video_id;
  insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, ocr_text, tags,
                                 text_vec, image_vec, keyframe_key)
  select video_id, v_owner, (e ->> 'ordinal')::int, (e ->> 'start_s')::float8, (e ->> 'end_s')::float8,
         coalesce(e ->> 'transcript', ''), coalesce(e ->> 'ocr_text', ''), coalesce(e -> 'tags', '[]'),
         app_private.jsonb_vector(e -> 'text_vec'), app_private.jsonb_vector(e -> 'image_vec'),
         e ->> 'keyframe_key'
    from jsonb_array_elements(result -> 'scenes') e;
  get diagnostics n = row_count;
  if result ->> 'face_model' is not null then
    perform app_private.faces_write(video_id, result ->> 'face_model', result -> 'scenes');
  end if;

  update app_public.videos v
     set state = 'indexed', stage = null, progress = 1, error = null, indexed_at = now(),
         transcript_source = result ->> 'transcript_source',
         language = result ->> 'language',
         asr_model = result ->> 'asr_model',
         text_model = result ->> 'text_model',
         image_model = result ->> 'image_model',
         ocr_model = result ->> 'ocr_model',
         face_model = result ->> 'face_model',
         missing_stages = coalesce(array(select jsonb_array_elements_text(result -> 'missing_stages')), '{}')
   where v.id = video_id;
  -- Validated before playback copies existed and indexed since (it was on
  -- its way when the upgrade queued plans for the indexed ones): planned now.
  if exists (select from app_public.videos v where v.id = video_id and v.playback_state is null) then
    perform app_private.add_pipeline_job('videos__playback_plan', json_build_object('id', video_id),
      'videos__playback_plan:' || video_id::text, priority_offset := 10);
  end if;

  if cardinality(v_orphans) > 0 then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', v_owner, 'keys', v_orphans));
  end if;
  return n;
end;
$$;

--
-- Name: FUNCTION pipeline_indexed(video_id uuid, result jsonb); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_indexed(video_id uuid, result jsonb) IS 'Worker: replace all scenes of a video in one transaction and mark it indexed.';

--
-- Name: pipeline_note(uuid, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_note(video_id uuid, note text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  update app_public.videos v
     set notes = case when pipeline_note.note = any (v.notes) then v.notes else v.notes || pipeline_note.note end
   where v.id = pipeline_note.video_id
  returning true;
$$;

--
-- Name: FUNCTION pipeline_note(video_id uuid, note text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_note(video_id uuid, note text) IS 'Worker: record what processing had to cut to stay within limits.';

--
-- Name: pipeline_playback_failed(uuid, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_playback_failed(video_id uuid, reason text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_owner uuid;
begin
  update app_public.videos v
     set playback_state = 'failed',
         notes = case when reason = any (v.notes) then v.notes else v.notes || reason end
   where v.id = video_id and v.playback_state = 'pending'
  returning v.owner_id into v_owner;
  if not found then
    return false;
  end if;
  perform app_private.playback_forget_parts(video_id, v_owner, null);
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_playback_failed(video_id uuid, reason text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_playback_failed(video_id uuid, reason text) IS 'Worker: no playback copy can be made; the reason goes to the video''s notes and its parts are deleted.';

--
-- Name: pipeline_playback_part_done(uuid, integer, integer, double precision, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_playback_part_done(video_id uuid, part integer, parts integer, part_s double precision, key text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_owner uuid;
  v_replaced text;
begin
  select v.owner_id into v_owner from app_public.videos v
   where v.id = video_id and v.playback_state = 'pending' for update;
  if not found then
    return false;
  end if;
  if not starts_with(key, 'u/' || v_owner::text || '/') then
    raise exception 'a part key must lie under the owner''s prefix' using errcode = '22023';
  end if;
  -- A part made again (its job retried after this step had committed) has
  -- a name of its own; the one it replaces goes.
  select p.key into v_replaced from app_private.playback_parts p
   where p.video_id = pipeline_playback_part_done.video_id and p.part = pipeline_playback_part_done.part;
  insert into app_private.playback_parts as p (video_id, part, part_s, key)
  values (video_id, part, part_s, key)
  on conflict on constraint playback_parts_pkey do update set part_s = excluded.part_s, key = excluded.key;
  if v_replaced is distinct from key and v_replaced is not null then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', v_owner, 'keys', array[v_replaced]));
  end if;
  if (select count(*) from app_private.playback_parts p
       where p.video_id = pipeline_playback_part_done.video_id
         and p.part_s = pipeline_playback_part_done.part_s and p.part < parts) = parts then
    perform app_private.add_pipeline_job('videos__playback', json_build_object('id', video_id),
      'videos__playback:' || video_id::text, priority_offset := 10);
  end if;
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_playback_part_done(video_id uuid, part integer, parts integer, part_s double precision, key text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_playback_part_done(video_id uuid, part integer, parts integer, part_s double precision, key text) IS 'Worker: record a stored part of a playback copy, and queue the join when it is the last; false when the video no longer waits for a copy.';

--
-- Name: pipeline_playback_parts(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_playback_parts(video_id uuid) RETURNS TABLE(part integer, part_s double precision, key text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select p.part, p.part_s, p.key from app_private.playback_parts p
   where p.video_id = pipeline_playback_parts.video_id order by p.part;
$$;

--
-- Name: FUNCTION pipeline_playback_parts(video_id uuid); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_playback_parts(video_id uuid) IS 'Worker: the stored parts of a playback copy, in order.';

--
-- Name: pipeline_playback_planned(uuid, jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_playback_planned(video_id uuid, playback jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_plan text := playback ->> 'plan';
begin
  if v_plan is null or v_plan not in ('original', 'remux', 'transcode') then
    raise exception 'unknown playback plan %', v_plan using errcode = '22023';
  end if;
  update app_public.videos v
     set playback_state = case when v_plan = 'original' then 'original' else 'pending' end
   where v.id = video_id and v.playback_state is null and v.state = 'indexed';
  if not found then
    return false;
  end if;
  if v_plan <> 'original' then
    delete from app_private.playback_parts p where p.video_id = pipeline_playback_planned.video_id;
    perform app_private.playback_queue(video_id, v_plan, (playback ->> 'parts')::int, (playback ->> 'part_s')::float8);
  end if;
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_playback_planned(video_id uuid, playback jsonb); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_playback_planned(video_id uuid, playback jsonb) IS 'Worker: how an indexed video validated before playback copies existed plays, and its copy''s jobs; false when it has a plan by now.';

--
-- Name: pipeline_playback_ready(uuid, text, bigint); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_playback_ready(video_id uuid, key text, bytes bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_owner uuid;
begin
  select v.owner_id into v_owner from app_public.videos v
   where v.id = video_id and v.playback_state = 'pending' for update;
  if not found then
    return false;
  end if;
  update app_public.videos v set playback_state = 'ready', playback_key = key, playback_bytes = bytes
   where v.id = video_id;
  perform app_private.playback_forget_parts(video_id, v_owner, key);
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_playback_ready(video_id uuid, key text, bytes bigint); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_playback_ready(video_id uuid, key text, bytes bigint) IS 'Worker: the video plays from this copy now; its parts are deleted.';

--
-- Name: pipeline_progress(uuid, text, real, real, real); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_progress(video_id uuid, stage text, done real, lo real DEFAULT 0, hi real DEFAULT 1) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_state text := case when stage = 'validate' then 'validating' else 'processing' end;
  v_progress real := app_private.pipeline_stage_progress(stage, done);
  -- The phase this stage belongs to: validate, transcribe, or index (cut..faces).
  v_lo real := case stage when 'validate' then 0 when 'transcribe' then app_private.pipeline_stage_progress('transcribe', 0)
                 else app_private.pipeline_stage_progress('cut', 0) end;
  v_hi real := case stage when 'validate' then app_private.pipeline_stage_progress('validate', 1)
                 when 'transcribe' then app_private.pipeline_stage_progress('transcribe', 1)
                 else app_private.pipeline_stage_progress('faces', 1) end;
begin
  if v_progress is null then
    raise exception 'unknown pipeline stage %', stage using errcode = '22023';
  end if;
  if not (lo >= 0 and hi <= 1 and lo <= hi) then
    raise exception 'pipeline_progress needs 0 <= lo <= hi <= 1, got % and %', lo, hi using errcode = '22023';
  end if;
  v_progress := v_lo + (v_hi - v_lo) * (lo + (hi - lo) * (v_progress - v_lo) / (v_hi - v_lo));
  -- greatest(): a retried job re-announcing an early stage must not make
  -- the progress bar jump backwards within the same state.
  update app_public.videos v
     set state = v_state,
         stage = pipeline_progress.stage,
         progress = case when v.state = v_state then greatest(v.progress, v_progress) else v_progress end,
         error = null
   where v.id = video_id;
  return found;
end;
$$;

--
-- Name: FUNCTION pipeline_progress(video_id uuid, stage text, done real, lo real, hi real); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_progress(video_id uuid, stage text, done real, lo real, hi real) IS 'Worker: announce the stage and how far it is, within the share lo..hi of the video a chunk job covers (never moves progress backwards within a state).';

--
-- Name: pipeline_reindex_progress(uuid, text, real); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_reindex_progress(video_id uuid, stage text, done real) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_progress real := app_private.pipeline_stage_progress(stage, done);
begin
  if v_progress is null then
    raise exception 'unknown pipeline stage %', stage using errcode = '22023';
  end if;
  update app_public.videos v
     set stage = 'reindex:' || pipeline_reindex_progress.stage, progress = v_progress
   where v.id = video_id and v.state = 'indexed';
  return found;
end;
$$;

--
-- Name: FUNCTION pipeline_reindex_progress(video_id uuid, stage text, done real); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_reindex_progress(video_id uuid, stage text, done real) IS 'Worker: announce re-index progress on an indexed video without changing its state.';

--
-- Name: pipeline_reindexed(uuid, jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_reindexed(video_id uuid, result jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  n integer;
begin
  perform 1 from app_public.videos v where v.id = video_id for update;
  if not found then
    return null;
  end if;
  update app_public.scenes s
     set transcript = case when e ? 'transcript' then coalesce(e ->> 'transcript', '') else s.transcript end,
         ocr_text = case when e ? 'ocr_text' then coalesce(e ->> 'ocr_text', '') else s.ocr_text end,
         tags = case when e ? 'tags' then coalesce(e -> 'tags', '[]') else s.tags end,
         text_vec = case when e ? 'text_vec' then app_private.jsonb_vector(e -> 'text_vec') else s.text_vec end,
         image_vec = case when e ? 'image_vec' then app_private.jsonb_vector(e -> 'image_vec') else s.image_vec end
    from jsonb_array_elements(coalesce(result -> 'scenes', '[]')) e
   where s.video_id = pipeline_reindexed.video_id and s.ordinal = (e ->> 'ordinal')::int;
  get diagnostics n = row_count;
  if result ->> 'face_model' is not null then
    perform app_private.faces_write(video_id, result ->> 'face_model', result -> 'scenes');
  end if;

  update app_public.videos v
     set transcript_source = case when result ? 'transcript_source' then result ->> 'transcript_source' else v.transcript_source end,
         language = case when result ? 'language' then result ->> 'language' else v.language end,
         asr_model = case when result ? 'asr_model' then result ->> 'asr_model' else v.asr_model end,
         text_model = case when result ? 'text_model' then result ->> 'text_model' else v.text_model end,
         image_model = case when result ? 'image_model' then result ->> 'image_model' else v.image_model end,
         ocr_model = case when result ? 'ocr_model' then result ->> 'ocr_model' else v.ocr_model end,
         face_model = case when result ? 'face_model' then result ->> 'face_model' else v.face_model end,
         missing_stages = case when result ? 'missing_stages'
                               then array(select jsonb_array_elements_text(result -> 'missing_stages'))
                               else v.missing_stages end,
         stage = null, progress = 1, indexed_at = now()
   where v.id = video_id;
  return n;
end;
$$;

--
-- Name: FUNCTION pipeline_reindexed(video_id uuid, result jsonb); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_reindexed(video_id uuid, result jsonb) IS 'Worker: apply recomputed scene columns and model ids after videos__reindex.';

--
-- Name: pipeline_stage_progress(text, real); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_stage_progress(stage text, done real) RETURNS real
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
  select (b.lo + (b.hi - b.lo) * least(greatest(coalesce(done, 0), 0), 1))::real
    from (values ('validate', 0.0, 0.1), ('transcribe', 0.1, 0.35), ('cut', 0.35, 0.45), ('keyframes', 0.45, 0.55),
                 ('embed_text', 0.55, 0.62), ('embed_image', 0.62, 0.72), ('tags', 0.72, 0.78),
                 ('ocr', 0.78, 0.9), ('faces', 0.9, 0.98)) as b(name, lo, hi)
   where b.name = stage
$$;

--
-- Name: FUNCTION pipeline_stage_progress(stage text, done real); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_stage_progress(stage text, done real) IS 'Overall 0..1 progress of a video that is done (0..1) through the given stage.';

--
-- Name: pipeline_stored_scenes(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_stored_scenes(video_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'ordinal', s.ordinal, 'start_s', s.start_s, 'end_s', s.end_s, 'transcript', s.transcript,
           'keyframe_key', s.keyframe_key, 'image_vec', (s.image_vec::text)::jsonb) order by s.ordinal), '[]')
    from app_public.scenes s
   where s.video_id = pipeline_stored_scenes.video_id
$$;

--
-- Name: FUNCTION pipeline_stored_scenes(video_id uuid); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_stored_scenes(video_id uuid) IS 'Worker: the stored scenes a re-index starts from.';

--
-- Name: pipeline_transcribed(uuid, jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_transcribed(video_id uuid, transcript jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform 1 from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  insert into app_private.video_transcripts (video_id, source, language, model, segments, missing)
  values (video_id, transcript ->> 'source', transcript ->> 'language', transcript ->> 'model',
          coalesce(transcript -> 'segments', '[]'), coalesce((transcript ->> 'missing')::boolean, false))
  on conflict on constraint video_transcripts_pkey do update
    set source = excluded.source, language = excluded.language, model = excluded.model,
        segments = excluded.segments, missing = excluded.missing, created_at = now();
  update app_public.videos v set stage = 'cut', progress = greatest(v.progress, app_private.pipeline_stage_progress('cut', 0))
   where v.id = video_id;
  perform app_private.add_pipeline_job('videos__index', json_build_object('id', video_id),
    'videos__index:' || video_id::text);
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_transcribed(video_id uuid, transcript jsonb); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_transcribed(video_id uuid, transcript jsonb) IS 'Worker: keep the transcript for the index step and queue videos__index.';

--
-- Name: pipeline_transcript(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_transcript(video_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select jsonb_build_object('source', t.source, 'language', t.language, 'model', t.model,
                            'segments', t.segments, 'missing', t.missing)
    from app_private.video_transcripts t
   where t.video_id = pipeline_transcript.video_id
$$;

--
-- Name: FUNCTION pipeline_transcript(video_id uuid); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_transcript(video_id uuid) IS 'Worker: the transcript stored for the index step, or null.';

--
-- Name: pipeline_validated(uuid, jsonb); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.pipeline_validated(video_id uuid, facts jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_old app_public.videos;
  v_plan text := coalesce(facts -> 'playback' ->> 'plan', 'original');
  v_keep boolean;
begin
  select * into v_old from app_public.videos v where v.id = video_id for update;
  if not found then
    return false;
  end if;
  -- A reprocessed video keeps a finished copy of the same bytes.
  v_keep := v_plan <> 'original' and v_old.playback_state is not distinct from 'ready'
            and v_old.content_sha256 is not distinct from facts ->> 'content_sha256';
  update app_public.videos v
     -- The size of the object the worker fetched, not what the client
     -- announced: storage accounting must not trust an insert.
     set byte_size = coalesce((facts ->> 'byte_size')::bigint, v.byte_size),
         duration_s = (facts ->> 'duration_s')::float8,
         width = (facts ->> 'width')::int,
         height = (facts ->> 'height')::int,
         fps = (facts ->> 'fps')::float8,
         video_codec = facts ->> 'video_codec',
         audio_codec = facts ->> 'audio_codec',
         has_audio = (facts ->> 'has_audio')::boolean,
         -- Pinned: every later stage refuses other bytes under these keys.
         content_sha256 = facts ->> 'content_sha256',
         subtitle_sha256 = facts ->> 'subtitle_sha256',
         notes = '{}',
         state = 'processing', stage = 'transcribe',
         progress = app_private.pipeline_stage_progress('transcribe', 0), error = null,
         playback_state = case when v_plan = 'original' then 'original' when v_keep then 'ready' else 'pending' end,
         playback_key = case when v_keep then v.playback_key end,
         playback_bytes = case when v_keep then v.playback_bytes end
   where v.id = video_id;
  -- A fresh run (a reprocessed video): chunks of an earlier run are not ours.
  -- Keys they stored are left to the orphan sweep, or reused under the same names.
  delete from app_private.video_chunks c where c.video_id = pipeline_validated.video_id;
  perform app_private.add_pipeline_job('videos__transcribe', json_build_object('id', video_id),
    'videos__transcribe:' || video_id::text);
  if v_old.playback_key is not null and not v_keep then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', v_old.owner_id, 'keys', array[v_old.playback_key]));
  end if;
  if v_plan <> 'original' and not v_keep then
    delete from app_private.playback_parts p where p.video_id = pipeline_validated.video_id;
    perform app_private.playback_queue(video_id, v_plan, (facts -> 'playback' ->> 'parts')::int,
                                       (facts -> 'playback' ->> 'part_s')::float8);
  end if;
  return true;
end;
$$;

--
-- Name: FUNCTION pipeline_validated(video_id uuid, facts jsonb); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.pipeline_validated(video_id uuid, facts jsonb) IS 'Worker: record probed media facts, move to processing and queue videos__transcribe, and the playback copy''s jobs where the video needs one.';

--
-- Name: playback_forget_parts(uuid, uuid, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.playback_forget_parts(video_id uuid, owner_id uuid, keep text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_keys text[];
begin
  with gone as (
    delete from app_private.playback_parts p where p.video_id = playback_forget_parts.video_id returning p.key
  )
  select coalesce(array_agg(g.key) filter (where g.key is distinct from keep), '{}') into v_keys from gone g;
  if cardinality(v_keys) > 0 then
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', video_id, 'owner_id', owner_id, 'keys', v_keys));
  end if;
end;
$$;

--
-- Name: FUNCTION playback_forget_parts(video_id uuid, owner_id uuid, keep text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.playback_forget_parts(video_id uuid, owner_id uuid, keep text) IS 'Forget the staged parts of a playback copy and queue their objects for deletion (all but keep).';

--
-- Name: playback_queue(uuid, text, integer, double precision); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.playback_queue(video_id uuid, plan text, parts integer, part_s double precision) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if plan = 'remux' then
    perform app_private.add_pipeline_job('videos__playback', json_build_object('id', video_id),
      'videos__playback:' || video_id::text, priority_offset := 10);
  elsif plan = 'transcode' then
    if not (parts between 1 and 100000 and part_s > 0) then
      raise exception 'a transcoded copy needs parts >= 1 and part_s > 0, got % and %', parts, part_s
        using errcode = '22023';
    end if;
    perform app_private.add_pipeline_job('videos__playback_part',
      json_build_object('id', video_id, 'part', n, 'parts', parts, 'part_s', part_s),
      'videos__playback_part:' || video_id::text || ':' || n::text, priority_offset := 10)
      from pg_catalog.generate_series(0, parts - 1) n;
  else
    raise exception 'unknown playback plan %', plan using errcode = '22023';
  end if;
end;
$$;

--
-- Name: FUNCTION playback_queue(video_id uuid, plan text, parts integer, part_s double precision); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.playback_queue(video_id uuid, plan text, parts integer, part_s double precision) IS 'Queue the jobs that make a browser-playable copy: one per part then the join, or the join alone for a repackaging.';

--
-- Name: queue_storage_sweep(integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.queue_storage_sweep(every_s integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select graphile_worker.add_job('storage__sweep', '{}'::json, job_key := 'storage__sweep',
    job_key_mode := 'preserve_run_at', max_attempts := 1,
    run_at := now() + pg_catalog.make_interval(secs => greatest(every_s, 60)));
$$;

--
-- Name: FUNCTION queue_storage_sweep(every_s integer); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.queue_storage_sweep(every_s integer) IS 'Worker: make sure one orphan sweep is queued, every_s seconds from the first request.';

--
-- Name: reindex_missing(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.reindex_missing() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_id uuid;
  n integer := 0;
begin
  for v_id in select v.id from app_public.videos v
               where v.state = 'indexed' and cardinality(v.missing_stages) > 0
               order by v.created_at loop
    perform app_private.add_pipeline_job('videos__reindex', json_build_object('id', v_id, 'mode', 'missing'),
      'videos__reindex:missing:' || v_id::text, 'video:' || v_id::text);
    n := n + 1;
  end loop;
  return n;
end;
$$;

--
-- Name: FUNCTION reindex_missing(); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.reindex_missing() IS 'Queue videos__reindex for every indexed video with skipped stages; returns how many.';

--
-- Name: reindex_stale(text, text, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.reindex_stale(text_model text, image_model text, face_model text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_id uuid;
  n integer := 0;
begin
  for v_id in select v.id from app_public.videos v
               where v.state = 'indexed'
                 and ((reindex_stale.text_model is not null and v.text_model is distinct from reindex_stale.text_model
                       and v.transcript_source is distinct from 'none')
                   or (reindex_stale.image_model is not null and v.image_model is distinct from reindex_stale.image_model)
                   -- Videos never scanned for faces (FACES=off then) are not stale: that is not a model change.
                   or (reindex_stale.face_model is not null and v.face_model is not null
                       and v.face_model is distinct from reindex_stale.face_model))
               order by v.created_at loop
    perform app_private.add_pipeline_job('videos__reindex', json_build_object('id', v_id, 'mode', 'stale'),
      'videos__reindex:stale:' || v_id::text, 'video:' || v_id::text);
    n := n + 1;
  end loop;
  -- Enrolment photos are embedded again too, or no face found by the new
  -- model could be recognised as an enrolled person.
  if reindex_stale.face_model is not null
     and exists (select from app_private.enrolment_faces_stale(reindex_stale.face_model, 1)) then
    perform app_private.add_pipeline_job('faces__reembed', json_build_object('face_model', reindex_stale.face_model),
      'faces__reembed');
  end if;
  return n;
end;
$$;

--
-- Name: FUNCTION reindex_stale(text_model text, image_model text, face_model text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.reindex_stale(text_model text, image_model text, face_model text) IS 'Queue videos__reindex for videos embedded with another text/image/face model; returns how many.';

--
-- Name: release_dead_workers(integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.release_dead_workers(dead_after_s integer) RETURNS text[]
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  dead text[];
  bound timestamptz := now() - pg_catalog.make_interval(secs => dead_after_s);
begin
  select coalesce(array_agg(distinct l.locked_by), '{}') into dead
    from (select j.locked_by, j.locked_at from graphile_worker._private_jobs j where j.locked_by is not null
          union all
          select q.locked_by, q.locked_at from graphile_worker._private_job_queues q where q.locked_by is not null) l
   where l.locked_at < bound
     and not exists (select 1 from app_private.worker_heartbeats h
                      where h.worker_id = l.locked_by and h.seen_at >= bound);
  if cardinality(dead) > 0 then
    perform app_private.fail_crashed_jobs(dead);
    perform graphile_worker.force_unlock_workers(dead);
  end if;
  delete from app_private.worker_heartbeats h where h.seen_at < now() - pg_catalog.make_interval(secs => dead_after_s * 10);
  return dead;
end;
$$;

--
-- Name: FUNCTION release_dead_workers(dead_after_s integer); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.release_dead_workers(dead_after_s integer) IS 'Worker: return the jobs of workers silent for dead_after_s seconds to the queue; returns their ids.';

--
-- Name: release_gone_processes(text, integer[]); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.release_gone_processes(process_scope text, process_ids integer[]) RETURNS text[]
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  gone text[];
begin
  select coalesce(array_agg(h.worker_id), '{}') into gone
    from app_private.worker_heartbeats h
   where h.process_scope = release_gone_processes.process_scope and h.process_id = any(process_ids);
  if cardinality(gone) > 0 then
    perform app_private.fail_crashed_jobs(gone);
    perform graphile_worker.force_unlock_workers(gone);
    delete from app_private.worker_heartbeats h where h.worker_id = any(gone);
  end if;
  return gone;
end;
$$;

--
-- Name: FUNCTION release_gone_processes(process_scope text, process_ids integer[]); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.release_gone_processes(process_scope text, process_ids integer[]) IS 'Worker: return the jobs of these exited processes (same pid space as the caller) to the queue; returns their pool ids.';

--
-- Name: release_workers(text[]); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.release_workers(worker_ids text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  update graphile_worker._private_jobs j
     set max_attempts = j.max_attempts + 1
   where j.locked_by = any(worker_ids) and j.max_attempts < 24;
  perform app_private.fail_crashed_jobs(worker_ids);
  perform graphile_worker.force_unlock_workers(worker_ids);
end;
$$;

--
-- Name: FUNCTION release_workers(worker_ids text[]); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.release_workers(worker_ids text[]) IS 'Worker: return the jobs these pools held when their database went away to the queue, each with one attempt more (up to 24 in all).';

--
-- Name: reprocess_failed(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.reprocess_failed() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_id uuid;
  n integer := 0;
begin
  for v_id in select id from app_public.videos where state = 'failed' order by created_at loop
    perform app_private.reprocess_video(v_id);
    n := n + 1;
  end loop;
  return n;
end;
$$;

--
-- Name: FUNCTION reprocess_failed(); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.reprocess_failed() IS 'Re-runs every failed video; returns how many were queued.';

--
-- Name: reprocess_video(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.reprocess_video(video_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  update app_public.videos
     set state = 'uploaded', stage = null, progress = 0, error = null
   where id = video_id;
  if not found then
    return false;
  end if;
  perform app_private.add_pipeline_job('videos__validate', json_build_object('id', video_id),
    'videos__validate:' || video_id::text);
  return true;
end;
$$;

--
-- Name: FUNCTION reprocess_video(video_id uuid); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.reprocess_video(video_id uuid) IS 'Re-runs the whole pipeline for one video. Returns false when the id does not exist.';

--
-- Name: tg__add_job(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg__add_job() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- Generic: tg_argv[0] is the task; the payload is the row id.
  perform app_private.add_pipeline_job(tg_argv[0], json_build_object('id', new.id),
    tg_argv[0] || ':' || new.id::text, job_key_mode := 'preserve_run_at');
  return new;
end;
$$;

--
-- Name: tg__set_updated_at(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg__set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  new.updated_at := now();
  return new;
end;
$$;

--
-- Name: tg_faces__forget_objects(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_faces__forget_objects() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  r record;
begin
  for r in select g.owner_id,
                  array_agg(app_hidden.face_crop_key(g.owner_id, g.id)) || coalesce(array_agg(g.photo_key) filter (where g.photo_key is not null), '{}') as keys
             from gone g group by g.owner_id loop
    -- videos__delete_objects takes any keys under the owner's prefix; id is the owner here.
    perform app_private.add_pipeline_job('videos__delete_objects',
      json_build_object('id', r.owner_id, 'owner_id', r.owner_id, 'keys', r.keys));
    perform app_hidden.drop_empty_groups(r.owner_id);
  end loop;
  return null;
end;
$$;

--
-- Name: tg_persons__attach_on_naming(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_persons__attach_on_naming() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform app_hidden.person_attach(new.id);
  return new;
end;
$$;

--
-- Name: tg_persons__forget_enrolment(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_persons__forget_enrolment() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  delete from app_public.faces f where f.person_id = old.id and f.owner_id = old.owner_id and f.photo_key is not null;
  return old;
end;
$$;

--
-- Name: tg_scenes__counts_delete(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__counts_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: tg_scenes__counts_insert(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__counts_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  insert into app_hidden.video_scene_counts as c (video_id, owner_id, scenes)
  select n.video_id, n.owner_id, count(*) from new_scenes n group by n.video_id, n.owner_id order by n.video_id
  on conflict (video_id) do update set scenes = c.scenes + excluded.scenes;
  return null;
end;
$$;

--
-- Name: tg_scenes__counts_move(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__counts_move() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

--
-- Name: tg_scenes__counts_truncate(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__counts_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  delete from app_hidden.video_scene_counts;
  return null;
end;
$$;

--
-- Name: tg_scenes__half_vecs(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__half_vecs() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if tg_op = 'UPDATE' then
    delete from app_hidden.scene_half_vecs h where h.scene_id = old.id;
  end if;
  insert into app_hidden.scene_half_vecs (owner_id, scene_id, video_id, space, vec)
  select new.owner_id, new.id, new.video_id, x.space, x.vec
    from (values ('t'::"char", new.text_vec::public.halfvec), ('i', new.image_vec::public.halfvec)) x(space, vec)
   where x.vec is not null;
  return null;
end;
$$;

--
-- Name: tg_scenes__stem_config(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__stem_config() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  new.stem_config := app_hidden.stem_config((select v.language from app_public.videos v where v.id = new.video_id));
  return new;
end;
$$;

--
-- Name: FUNCTION tg_scenes__stem_config(); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.tg_scenes__stem_config() IS 'Scenes take the stemming configuration of their video''s language.';

--
-- Name: tg_scenes__terms(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__terms() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if tg_op = 'UPDATE' then
    delete from app_hidden.scene_terms t where t.scene_id = old.id;
  end if;
  insert into app_hidden.scene_terms (owner_id, scene_id, video_id, kind, lexeme, impact, src)
  select new.owner_id, new.id, new.video_id, x.kind, x.lexeme, x.impact, x.src
    from app_hidden.scene_terms_of(new.tsv, new.tsv_stem, new.stem_config, new.tags) x;
  return null;
end;
$$;

--
-- Name: tg_scenes__tsv(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_scenes__tsv() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  new.tsv := app_hidden.scene_tsv(new.transcript, new.ocr_text, new.tags);
  return new;
end;
$$;

--
-- Name: FUNCTION tg_scenes__tsv(); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.tg_scenes__tsv() IS 'Keeps scenes.tsv the full-text vector of the scene''s text and tags.';

--
-- Name: tg_videos__forget_objects(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_videos__forget_objects() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.add_pipeline_job('videos__delete_objects',
    json_build_object('id', old.id, 'owner_id', old.owner_id, 'keys',
      array_remove(array[old.object_key, old.subtitle_key, old.playback_key], null)
      || coalesce((select array_agg(s.keyframe_key) from app_public.scenes s
                   where s.video_id = old.id and s.keyframe_key is not null), '{}')
      -- What chunks of an unfinished index, and parts of an unfinished copy,
      -- stored (their rows go with the video).
      || coalesce((select array_agg(k) from app_private.video_chunks vc, unnest(vc.keys) k
                   where vc.video_id = old.id), '{}')
      || coalesce((select array_agg(p.key) from app_private.playback_parts p
                   where p.video_id = old.id), '{}')));
  return old;
end;
$$;

--
-- Name: tg_videos__notify(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_videos__notify() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  -- One channel per owner: a subscriber only ever listens to its own.
  perform pg_notify(
    'heimdex:videos:' || new.owner_id::text,
    json_build_object(
      'id', new.id, 'state', new.state, 'stage', new.stage,
      'progress', new.progress, 'error', new.error,
      'event', lower(tg_op)
    )::text
  );
  return new;
end;
$$;

--
-- Name: tg_videos__stem_config(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_videos__stem_config() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  update app_public.scenes s set stem_config = app_hidden.stem_config(new.language)
   where s.video_id = new.id and s.stem_config is distinct from app_hidden.stem_config(new.language);
  return null;
end;
$$;

--
-- Name: FUNCTION tg_videos__stem_config(); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.tg_videos__stem_config() IS 'A video''s new language restems its scenes.';

--
-- Name: unreferenced_keys(text[]); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.unreferenced_keys(keys text[]) RETURNS text[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $_$
  with c as (
    select k, case when k ~ '^u/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/'
                   then pg_catalog.substr(k, 3, 36)::uuid end as owner_id,
           case when k ~ '^u/[^/]+/faces/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jpg$'
                then pg_catalog.substring(k, '/faces/([0-9a-f-]{36})\.jpg$')::uuid end as face_id
      from pg_catalog.unnest(keys) k
  )
  select coalesce(array_agg(c.k), '{}') from c
   where not exists (select 1 from app_public.videos v where v.object_key = c.k)
     and not exists (select 1 from app_public.videos v where v.owner_id = c.owner_id and v.subtitle_key = c.k)
     and not exists (select 1 from app_public.videos v where v.owner_id = c.owner_id and v.playback_key = c.k)
     and not exists (select 1 from app_public.scenes s where s.owner_id = c.owner_id and s.keyframe_key = c.k)
     and not exists (select 1 from app_public.faces f where f.owner_id = c.owner_id and f.photo_key = c.k)
     and not exists (select 1 from app_public.faces f where f.id = c.face_id and f.owner_id = c.owner_id)
     -- Stored by a chunk whose scenes are not assembled yet, or a part of a copy not yet joined.
     and not exists (select 1 from app_private.video_chunks vc where vc.keys @> array[c.k])
     and not exists (select 1 from app_private.playback_parts p where p.key = c.k);
$_$;

--
-- Name: FUNCTION unreferenced_keys(keys text[]); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.unreferenced_keys(keys text[]) IS 'Worker: which of these storage keys no video, scene, face or staged chunk refers to (the orphan sweep, and a failed attempt cleaning up after itself).';

--
-- Name: worker_heartbeat(text[], text, text, integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.worker_heartbeat(worker_ids text[], host text, process_scope text DEFAULT NULL::text, process_id integer DEFAULT NULL::integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  insert into app_private.worker_heartbeats (worker_id, host, pid, process_scope, process_id)
  select w, worker_heartbeat.host, pg_catalog.pg_backend_pid(), worker_heartbeat.process_scope,
         worker_heartbeat.process_id
    from pg_catalog.unnest(worker_ids) w
  on conflict (worker_id) do update set seen_at = now();
$$;

--
-- Name: FUNCTION worker_heartbeat(worker_ids text[], host text, process_scope text, process_id integer); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.worker_heartbeat(worker_ids text[], host text, process_scope text, process_id integer) IS 'Worker: record that these pools (of this process) are alive.';

--
-- Name: worker_processes(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.worker_processes(process_scope text) RETURNS integer[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce(array_agg(distinct h.process_id), '{}')
    from app_private.worker_heartbeats h
   where h.process_scope = worker_processes.process_scope and h.process_id is not null
     and (exists (select 1 from graphile_worker._private_jobs j where j.locked_by = h.worker_id)
          or exists (select 1 from graphile_worker._private_job_queues q where q.locked_by = h.worker_id));
$$;

--
-- Name: FUNCTION worker_processes(process_scope text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.worker_processes(process_scope text) IS 'Worker: the process ids of this pid space whose pools hold jobs.';

--
-- Name: uid(); Type: FUNCTION; Schema: auth; Owner: -
--

CREATE FUNCTION auth.uid() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $$;

--
-- Name: faces; Type: TABLE; Schema: app_public; Owner: -
--

CREATE TABLE app_public.faces (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    owner_id uuid DEFAULT auth.uid() NOT NULL,
    person_id uuid,
    video_id uuid,
    scene_id uuid,
    photo_key text,
    frame_s double precision,
    box real[] NOT NULL,
    det_score real NOT NULL,
    embedding public.vector(128) NOT NULL,
    face_model text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    assigned_by_user boolean DEFAULT false NOT NULL,
    photo_sha256 text,
    CONSTRAINT faces_box_check CHECK (((array_ndims(box) = 1) AND (cardinality(box) = 4) AND ((0)::double precision <= ALL (box)) AND ((1)::double precision >= ALL (box)) AND ((box[1] + box[3]) <= (1.0001)::double precision) AND ((box[2] + box[4]) <= (1.0001)::double precision))),
    CONSTRAINT faces_check CHECK (((scene_id IS NULL) = (video_id IS NULL))),
    CONSTRAINT faces_check1 CHECK (((scene_id IS NULL) <> (photo_key IS NULL))),
    CONSTRAINT faces_check2 CHECK (((photo_key IS NULL) OR (person_id IS NOT NULL))),
    CONSTRAINT faces_det_score_check CHECK (((det_score >= (0)::double precision) AND (det_score <= (1)::double precision))),
    CONSTRAINT faces_face_model_check CHECK ((face_model <> ''::text)),
    CONSTRAINT faces_frame_s_check CHECK ((frame_s >= (0)::double precision)),
    CONSTRAINT faces_photo_key_check CHECK (((photo_key <> ''::text) AND (char_length(photo_key) <= 1024) AND (photo_key !~ '(^/|\.\./)'::text))),
    CONSTRAINT faces_photo_sha256_check CHECK ((photo_sha256 ~ '^[0-9a-f]{64}$'::text))
);

--
-- Name: TABLE faces; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON TABLE app_public.faces IS 'One face seen in a scene (or on an enrolment photo), with its identity embedding.';

--
-- Name: COLUMN faces.owner_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.owner_id IS 'Owner of the video or photo (denormalised for row-level security).';

--
-- Name: COLUMN faces.person_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.person_id IS 'Who this face is; null while unassigned.';

--
-- Name: COLUMN faces.video_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.video_id IS 'Video the face was seen in; null for an enrolment photo.';

--
-- Name: COLUMN faces.scene_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.scene_id IS 'Scene the face was seen in; null for an enrolment photo.';

--
-- Name: COLUMN faces.photo_key; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.photo_key IS 'Storage key of the enrolment photo; null for a face seen in a video.';

--
-- Name: COLUMN faces.frame_s; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.frame_s IS 'Time of the frame in seconds from the video''s start; null for photos.';

--
-- Name: COLUMN faces.box; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.box IS 'Where the face is: [x, y, w, h] as fractions of the frame (x, y = top-left corner).';

--
-- Name: COLUMN faces.det_score; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.det_score IS 'Face detector confidence, 0..1.';

--
-- Name: COLUMN faces.embedding; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.embedding IS 'Identity embedding (unit norm; compared by cosine distance only with faces of the same face_model).';

--
-- Name: COLUMN faces.face_model; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.face_model IS 'Model that detected and embedded the face.';

--
-- Name: COLUMN faces.created_at; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.created_at IS 'When the face was stored.';

--
-- Name: COLUMN faces.assigned_by_user; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.assigned_by_user IS 'True once the user placed this face by hand (assignFace, to a person or to nobody): automatic matching never moves it again.';

--
-- Name: COLUMN faces.photo_sha256; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.faces.photo_sha256 IS 'SHA-256 of the enrolment photo as enrolled; re-embedding refuses other bytes ("changed after upload").';

--
-- Name: assign_face(uuid, uuid); Type: FUNCTION; Schema: app_public; Owner: -
--

CREATE FUNCTION app_public.assign_face(face_id uuid, person_id uuid) RETURNS app_public.faces
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: FUNCTION assign_face(face_id uuid, person_id uuid); Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON FUNCTION app_public.assign_face(face_id uuid, person_id uuid) IS '@behavior -*
Sets (or with null clears) the person of one face, as the user''s decision: automatic matching never moves the face again.';

--
-- Name: persons; Type: TABLE; Schema: app_public; Owner: -
--

CREATE TABLE app_public.persons (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    owner_id uuid DEFAULT auth.uid() NOT NULL,
    name text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT persons_name_check CHECK (((name IS NULL) OR ((name = btrim(name)) AND ((char_length(name) >= 1) AND (char_length(name) <= 200)))))
);

--
-- Name: TABLE persons; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON TABLE app_public.persons IS 'Someone whose faces are recognised: enrolled from photos and named, or an unnamed group of similar faces found in videos.';

--
-- Name: COLUMN persons.owner_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.persons.owner_id IS 'The user (auth.uid()) who owns the person.';

--
-- Name: COLUMN persons.name; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.persons.name IS 'Display name; null for an unnamed group the system formed.';

--
-- Name: COLUMN persons.created_at; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.persons.created_at IS 'When the person was enrolled or the group formed.';

--
-- Name: COLUMN persons.updated_at; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.persons.updated_at IS 'When the row last changed.';

--
-- Name: merge_persons(uuid, uuid); Type: FUNCTION; Schema: app_public; Owner: -
--

CREATE FUNCTION app_public.merge_persons(source_id uuid, target_id uuid) RETURNS app_public.persons
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  s app_public.persons;
  t app_public.persons;
begin
  select * into s from app_public.persons p where p.id = merge_persons.source_id;
  select * into t from app_public.persons p where p.id = merge_persons.target_id;
  if s.id is null or t.id is null then
    raise exception 'person not found' using errcode = 'P0001';
  end if;
  if s.id = t.id then
    raise exception 'cannot merge a person into itself' using errcode = '22023';
  end if;
  update app_public.faces f set person_id = t.id where f.person_id = s.id and f.owner_id = s.owner_id;
  delete from app_public.persons p where p.id = s.id;
  if t.name is null and s.name is not null then
    update app_public.persons p set name = s.name where p.id = t.id;
  else
    perform app_hidden.person_attach(t.id);
  end if;
  select * into t from app_public.persons p where p.id = merge_persons.target_id;
  return t;
end;
$$;

--
-- Name: FUNCTION merge_persons(source_id uuid, target_id uuid); Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON FUNCTION app_public.merge_persons(source_id uuid, target_id uuid) IS '@behavior -*
Moves every face of source to target and deletes source; an unnamed target takes the source''s name.';

--
-- Name: persons_face_count(app_public.persons); Type: FUNCTION; Schema: app_public; Owner: -
--

CREATE FUNCTION app_public.persons_face_count(p app_public.persons) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select count(*)::int from app_public.faces f where f.person_id = p.id and f.owner_id = p.owner_id
$$;

--
-- Name: FUNCTION persons_face_count(p app_public.persons); Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON FUNCTION app_public.persons_face_count(p app_public.persons) IS 'How many faces (enrolment photos and scenes) belong to the person.';

--
-- Name: persons_scene_count(app_public.persons); Type: FUNCTION; Schema: app_public; Owner: -
--

CREATE FUNCTION app_public.persons_scene_count(p app_public.persons) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select count(distinct f.scene_id)::int from app_public.faces f
   where f.person_id = p.id and f.owner_id = p.owner_id and f.scene_id is not null
$$;

--
-- Name: FUNCTION persons_scene_count(p app_public.persons); Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON FUNCTION app_public.persons_scene_count(p app_public.persons) IS 'In how many scenes the person appears.';

--
-- Name: persons_thumbnail_key(app_public.persons); Type: FUNCTION; Schema: app_public; Owner: -
--

CREATE FUNCTION app_public.persons_thumbnail_key(p app_public.persons) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  select app_hidden.face_crop_key(f.owner_id, f.id) from app_public.faces f
   where f.person_id = p.id and f.owner_id = p.owner_id
   order by f.photo_key is null, f.det_score desc, f.id
   limit 1
$$;

--
-- Name: FUNCTION persons_thumbnail_key(p app_public.persons); Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON FUNCTION app_public.persons_thumbnail_key(p app_public.persons) IS '@behavior -*
Storage key of the face crop shown for the person.';

--
-- Name: search_scenes(text, real[], real[], uuid[], uuid, real, real, real, integer, integer, text, text); Type: FUNCTION; Schema: app_public; Owner: -
--

CREATE FUNCTION app_public.search_scenes(query text, text_embedding real[] DEFAULT NULL::real[], image_embedding real[] DEFAULT NULL::real[], video_ids uuid[] DEFAULT NULL::uuid[], person_id uuid DEFAULT NULL::uuid, w_text real DEFAULT 0.5, w_vision real DEFAULT 0.35, w_tags real DEFAULT 0.15, page_size integer DEFAULT 20, page_offset integer DEFAULT 0, text_model text DEFAULT NULL::text, image_model text DEFAULT NULL::text) RETURNS SETOF app_public.scene_hit
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public', 'extensions'
    SET "hnsw.iterative_scan" TO 'relaxed_order'
    SET "hnsw.ef_search" TO '100'
    SET "hnsw.max_scan_tuples" TO '200000'
    SET "hnsw.scan_mem_multiplier" TO '4'
    SET enable_sort TO 'on'
    SET enable_seqscan TO 'on'
    SET jit TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    SET "pg_trgm.strict_word_similarity_threshold" TO '0.33'
    AS $_$
#variable_conflict use_column
declare
  -- Candidates per source. They never depend on page_size/page_offset, so
  -- the ranked pool (and therefore every page) does not either. Each
  -- candidate costs the fusion a scene row and up to two de-TOASTed vectors,
  -- so the pools are as small as keeps recall@10 against the exact ranking
  -- well above 0.97 (BENCHMARKS.md): vector candidates come in exact distance
  -- order; word candidates are ordered by an estimate of their score, so they
  -- get more. With embeddings spread like real ones (clustered, hundreds of
  -- dimensions), a scene fairly close in both spaces and matching a word
  -- outranks scenes close in one: 50 per space held 0.937 of a 47k-scene
  -- user's exact top 10 (hybrid, 40 queries), 70 held 0.980, 80 0.982, 100
  -- 0.988. Past vec_scope scenes in scope the vector pools grow in
  -- proportion, up to vec_pool_max (at 147k, 50 held 0.938, 100 1.000).
  -- A person's scenes are a share of the library, and a walk filtered to
  -- them visits several graph nodes per candidate it keeps: for a person in
  -- 9,496 of those 47k scenes 40 held 1.000 (100 queries), 50 cost a
  -- fourteenth more time and 80 a fifth.
  vec_pool int := 80;
  vec_pool_person constant int := 40;
  vec_scope constant int := 75000;
  vec_pool_max constant int := 200;
  word_pool constant int := 60;
  tag_pool constant int := 50;
  -- Up to this many scenes in scope, vectors are compared exactly instead
  -- of through HNSW: it costs a few milliseconds, and unlike a graph walk it
  -- cannot miss a scene the graph happens not to reach. That matters most
  -- to a user with few scenes among many users' (and to narrow video_ids).
  exact_below constant int := 2000;
  -- Up to this many scenes of a person, the words pass reads their scenes'
  -- terms (by scene) rather than the words' rows across the library, kept
  -- where they are the person's. The terms of each of the person's scenes
  -- are read once per form of the query's words: for two common words, at
  -- 189 scenes that took 16 ms against 11 for the rows, at 1,900 52 against
  -- 13, at 20 5 against 9 (BENCHMARKS.md).
  words_by_scene_below constant int := 100;
  exact boolean;
  text_ids uuid[];
  image_ids uuid[];
  text_d float8[];
  image_d float8[];
  uid uuid := (select auth.uid());
  words text[] := app_hidden.search_query_words(search_scenes.query);
  tsq_text tsquery;
  tsq_tags tsquery;
  tsq_plain tsquery;
  word_queries tsquery[];
  -- Every form of the query words: stemmed in the stemming configurations
  -- of the caller's videos (tsv_stem), and fuzzily against on-screen text
  -- for words of four letters or more (shorter ones have too few trigrams
  -- to tell a misread from another word).
  stem_configs regconfig[];
  -- Whether a language in scope has a stemmer (see search_prefix).
  stemming boolean;
  stem_queries tsquery[];
  fuzzy boolean[];
  tsq_stem tsquery;
  tsq_any tsquery;
  -- The stems of the query words, for marking their forms in snippets.
  snippet_stems text[];
  -- Inverse document frequency of each query word among the caller's scenes
  -- in scope: a word found in few scenes says more than one found in many.
  word_idf float8[];
  idf_total float8;
  -- Per query word: whether its forms are one lexeme read exactly, so no
  -- scene has two of its rows (its document frequency is its row count).
  single boolean[];
  -- The IDF sums of sets of query words, 8 bits at a time (search_bits_weight).
  word_weights float8[];
  -- Each query word's document frequency (its scenes in scope).
  word_df float8[];
  -- The bits of every query word where the scenes with all of them are
  -- ranked first, alone (else 0), the estimate of the last of them kept,
  -- and the highest tag score of a scene that is not a tag candidate.
  word_mask bigint;
  word_floor float8;
  tag_rest float8;
  -- The forms' ranges without the tag labels', and the scenes with every
  -- word with what their estimates need but the tag.
  wr_word int[];
  wr_kind "char"[];
  wr_kind2 "char"[];
  wr_lexeme text[];
  wr_hi text[];
  wr_surface boolean[];
  wr_ranked boolean[];
  all_ids uuid[];
  all_written bigint[];
  all_rank real[];
  all_stem_rank real[];
  -- Each of the two joined words' lead form (search_word_rows): its
  -- ordinal in the wr_ arrays, lexeme and flags.
  lead_a bigint;
  lead_a_lexeme text;
  lead_a_surface boolean;
  lead_a_ranked boolean;
  lead_b bigint;
  lead_b_lexeme text;
  lead_b_surface boolean;
  lead_b_ranked boolean;
  -- Whether two words are joined before their frequencies are counted,
  -- and the scenes each must be in for that.
  join_first boolean;
  join_floor bigint;
  -- The highest rank and stem rank of a scene with some of the words.
  some_rank float8;
  some_stem_rank float8;
  scope_size bigint;
  -- The caller's scenes in scope (video_ids), summed from the per-video
  -- counts a trigger keeps (a few hundred rows instead of one index entry
  -- per scene): the IDF scope without a person, whether vectors are compared
  -- exactly, and how large the vector pools are.
  library_size bigint;
  -- Every form of every query word, as parallel arrays. Read as lexeme
  -- ranges: the word's index, the kinds of row (two, maybe the same), the
  -- range, whether it is the word as written, whether its occurrences count
  -- towards the rank.
  -- Read as stems: the word's index, the kind of row, the stem, and the
  -- range of src to read (from, before).
  range_word int[];
  range_kind "char"[];
  range_kind2 "char"[];
  range_lexeme text[];
  range_hi text[];
  range_surface boolean[];
  range_ranked boolean[];
  -- Each query word's English stem and where the label words of that stem
  -- begin (search_names), and the label words' ranges of tag rows: the
  -- word's index, the range, whether search_names must pick its rows.
  tag_words text[];
  -- The other spelling of a query word that is a hyphenated compound, or
  -- could be one, where the caller's scenes have it (written or stemmed):
  -- the word's index, that lexeme ("e-mail" for "email", "wifi" for
  -- "wi-fi") and its range, read as written.
  joined_word int[];
  joined_lexeme text[];
  joined_hi text[];
  -- Those and the other spellings of the word's stems, read as stems.
  stem_joined_word int[];
  stem_joined_lexeme text[];
  -- Each word and its search_forms, space-separated: what its stems are made of.
  word_forms text[];
  label_stems text[];
  label_starts text[];
  tag_word int[];
  tag_lexeme text[];
  tag_hi text[];
  tag_check boolean[];
  stem_word int[];
  stem_kind "char"[];
  stem_lexeme text[];
  stem_src_from text[];
  stem_src_before text[];
  word_ids uuid[];
  tag_ids uuid[];
  qv_text vector;
  qv_image vector;
  -- The same in half precision, for the exact comparisons.
  qh_text halfvec;
  qh_image halfvec;
  text_videos uuid[];
  image_videos uuid[];
  -- With a person in at most exact_below scenes (in scope): those scenes.
  -- The vector candidates and on-screen text matched fuzzily are then
  -- driven from them (index probes) instead of filtering the owner's by
  -- them afterwards.
  person_scenes uuid[];
  -- The video of each of those scenes.
  person_videos uuid[];
  -- With a person in at most words_by_scene_below: those scenes, whose
  -- terms the words pass reads.
  word_scenes uuid[];
  -- With a person in more: all of their scenes, read once, which the words
  -- pass and the HNSW walks keep (a semi-join to faces in each of them read
  -- the person's faces again, three or four times a search). Each statement
  -- tests a row against it as = any(person_many), in a plan made for the
  -- search at hand, where the list is a constant that PostgreSQL hashes once
  -- per statement: 0.07 us a row, against 0.36 for the hashed subplan over
  -- unnest it was (BENCHMARKS.md). Under coalesce, so it is never an index
  -- condition: a btree would descend once per scene of the list.
  person_many uuid[];
  -- Without words, a person in more than exact_below scenes: their scenes
  -- are not read, and the HNSW walks probe faces for each candidate. A walk
  -- passes a few hundred to keep vec_pool_person (for 9,496 of 47k scenes,
  -- ~470 and ~390), where reading and hashing all of them first cost more
  -- (23.8 against 17.5 ms p50 for vectors only; BENCHMARKS.md).
  person_probed boolean := false;
  -- Listing a person's scenes a page at a time.
  vid uuid;
  in_video bigint;
  taken bigint;
  to_skip bigint := page_offset;
  to_take bigint := page_size;
  -- Through numeric so 0.35::real counts as 0.35, not 0.3499999940395355.
  wt float8 := w_text::numeric::float8;
  wv float8 := w_vision::numeric::float8;
  wg float8 := w_tags::numeric::float8;
begin
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
    -- Normalised: cosine ignores a vector's length, but pgvector's float32
    -- sums do not (numbers past ~1e19 made the query similar to nothing, under
    -- ~1e-20 to everything), nor does the half-precision copy below (out of
    -- range past 65504): a query of any length ranks as its direction does.
    qv_text := l2_normalize(text_embedding::vector(1024));
    if vector_norm(qv_text) = 0 then
      raise exception 'text_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if image_embedding is not null then
    if array_ndims(image_embedding) is distinct from 1 or cardinality(image_embedding) <> 1152 then
      raise exception 'image_embedding must have 1152 numbers (got %)', cardinality(image_embedding) using errcode = '22023';
    end if;
    qv_image := l2_normalize(image_embedding::vector(1152));
    if vector_norm(qv_image) = 0 then
      raise exception 'image_embedding must not be all zeros' using errcode = '22023';
    end if;
  end if;
  if uid is null then
    return;
  end if;
  -- A person filter restricts every candidate query below to the scenes
  -- where one of the person's faces was seen, read once from the faces'
  -- index (a person with few scenes is cheap and never a scan of all scenes).
  if search_scenes.person_id is not null then
    if not exists (select from app_public.persons p where p.id = search_scenes.person_id and p.owner_id = uid) then
      return;
    end if;
    select coalesce(array_agg(x.scene_id), '{}'), coalesce(array_agg(x.video_id), '{}')
      into person_scenes, person_videos
      -- In the order of faces' (person, owner, video, scene) index, so a
      -- limit stops its read: distinct pairs in another order were hashed
      -- from all of a person's faces first (+1.7 ms for 9,496 scenes). A
      -- search without words needs no more than whether they are many (the
      -- list below, and the vector walks, which then probe faces for each
      -- scene they pass), so it stops there; one with words reads them all,
      -- once, for the words pass.
      from (select distinct f.video_id, f.scene_id from app_public.faces f
            where f.owner_id = uid and f.person_id = search_scenes.person_id and f.scene_id is not null
              and (video_ids is null or f.video_id = any(video_ids))
            order by f.video_id, f.scene_id
            limit case when cardinality(words) = 0 then exact_below + 1 end) x;
    if cardinality(person_scenes) > exact_below then
      -- Without words the list was cut short: the walks probe faces instead.
      person_probed := cardinality(words) = 0;
      if not person_probed then
        person_many := person_scenes;
      end if;
      person_scenes := null;
      person_videos := null;
    end if;
    -- No words and no vectors: every scene of the person, in time order per video.
    if cardinality(words) = 0 and qv_text is null and qv_image is null then
      if person_scenes is not null then
        -- A few scenes: sort them.
        return query
        with page as (
          select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text, v.created_at
            from app_public.scenes s
            join app_public.videos v on v.id = s.video_id and v.owner_id = uid
           where s.owner_id = uid and s.id = any(person_scenes)
           order by v.created_at, v.id, s.start_s, s.id
           limit page_size offset page_offset
        )
        select pg.id, pg.video_id, pg.start_s, pg.end_s, 1::float8, 0::float8, 0::float8, 0::float8,
               app_hidden.search_snippet(pg.transcript, pg.ocr_text, null, null),
               coalesce(pp.persons, '[]'::jsonb)
          from page pg
          left join app_hidden.search_persons_of(array(select x.id from page x), uid) pp on pp.scene_id = pg.id
         order by pg.created_at, pg.video_id, pg.start_s, pg.id;
      else
        -- Many: walk the person's videos in order and take scenes from each
        -- until the page is full, instead of sorting all of the person's
        -- scenes (220 ms for 29k at 300k). A loop rather than one statement:
        -- the planner then cannot choose to read every video before sorting,
        -- which it did when it guessed the person rare. Videos before the
        -- page are skipped by counting, not read.
        for vid in
          select v.id from app_public.videos v
           where v.owner_id = uid and (video_ids is null or v.id = any(video_ids))
             and exists (select from app_public.faces f
                          where f.person_id = search_scenes.person_id and f.owner_id = uid and f.video_id = v.id)
           order by v.created_at, v.id
        loop
          -- Counted only while the page has not begun (page 1 counts nothing).
          if to_skip > 0 then
            in_video := (select count(*) from app_public.scenes s
                          where s.owner_id = uid and s.video_id = vid
                            and s.id in (select f.scene_id from app_public.faces f
                                          where f.person_id = search_scenes.person_id and f.owner_id = uid and f.video_id = vid));
            if to_skip >= in_video then
              to_skip := to_skip - in_video;
              continue;
            end if;
          end if;
          return query
          with page as (
            select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text
              from app_public.scenes s
             where s.owner_id = uid and s.video_id = vid
               and s.id in (select f.scene_id from app_public.faces f
                             where f.person_id = search_scenes.person_id and f.owner_id = uid and f.video_id = vid)
             order by s.start_s, s.id
             limit to_take offset to_skip
          )
          select pg.id, pg.video_id, pg.start_s, pg.end_s, 1::float8, 0::float8, 0::float8, 0::float8,
                 app_hidden.search_snippet(pg.transcript, pg.ocr_text, null, null),
                 coalesce(pp.persons, '[]'::jsonb)
            from page pg
            left join app_hidden.search_persons_of(array(select x.id from page x), uid) pp on pp.scene_id = pg.id
           order by pg.start_s, pg.id;
          get diagnostics taken = row_count;
          to_take := to_take - taken;
          to_skip := 0;
          exit when to_take <= 0;
        end loop;
      end if;
      return;
    end if;
    if cardinality(person_scenes) > words_by_scene_below then
      person_many := person_scenes;
    elsif person_scenes is not null then
      word_scenes := person_scenes;
    end if;
  end if;

  -- The per-search setup (library size, languages, the words' forms) reads a
  -- few rows of small tables or none: planning it on every call cost more
  -- than running it (0.6-0.8 ms of a 30-scene user's 4-7; BENCHMARKS.md).
  perform set_config('plan_cache_mode', 'force_generic_plan', true);
  library_size := (select coalesce(sum(c.scenes), 0) from app_hidden.video_scene_counts c
                   where c.owner_id = uid and (video_ids is null or c.video_id = any(video_ids)));
  -- Languages first: stem_config runs once per language, not once per video.
  if video_ids is null then
    -- The library's few languages, one descent of videos' (owner, language)
    -- index each, and whether a video has none yet (English is assumed):
    -- reading every video for them took 0.74 ms at 792 videos, this ~0.05.
    stem_configs := array(
      with recursive l as (
        (select v.language from app_public.videos v where v.owner_id = uid order by v.language limit 1)
        union all
        select (select v.language from app_public.videos v
                 where v.owner_id = uid and v.language > l.language order by v.language limit 1)
        from l where l.language is not null)
      select distinct app_hidden.stem_config(x.language)
      from (select l.language from l where l.language is not null
            union all
            select null where exists (select from app_public.videos v where v.owner_id = uid and v.language is null)) x);
  else
    stem_configs := array(select distinct app_hidden.stem_config(l.language) from (
                            select distinct v.language from app_public.videos v
                            where v.owner_id = uid and v.id = any(video_ids)) l);
  end if;
  stemming := app_hidden.search_stemming(stem_configs);
  word_forms := app_hidden.search_word_forms(words);
  -- Compounds are written with a hyphen or without ("e-mail" and "email",
  -- "Wi-Fi" and "wifi", "t-shirt", "on-line"), and the parser keeps the
  -- hyphenated one whole (with its parts). A query word finds the other
  -- spelling where the caller's scenes have it: a compound's letters joined,
  -- a word of 4 to 24 letters split by one hyphen at each place but before
  -- its last letter (n - 2 places for n letters), each probed once among
  -- the written and stemmed terms together. The other spelling of the word
  -- itself is read as written, and as a stem (the stemmed "e-mails" for
  -- "email"); the other spelling of one of its stems as a stem ("e-mail"
  -- for "emails", by the stem "email"). Either read finds nothing where the
  -- library has only the other kind. Only for the first 8 words: a pasted
  -- paragraph of 31 words took 5.5 ms longer with every word probed. Not
  -- for Korean, Chinese or Japanese, which are not written so.
  -- A number is its own compound: the parser keeps a hyphen or a minus
  -- before it ("COVID-19", "Windows-10", "10-19" hold the word "-19",
  -- "-10"), so "covid 19" found only "covid" and "GPT-4" nothing by "gpt 4".
  -- A number finds its signed form, and a signed one the number; numbers
  -- are never split (no hyphenated lexeme has digits on both sides).
  -- Each candidate is probed as a subplan with a limit, its bounds read
  -- from the materialized list: computed in the probe's index condition,
  -- they would wait for the row security qual (|| is not leakproof) and the
  -- probe would read the caller's terms from the bound on.
  with c as materialized (
    select b.i, x.v, bool_or(b.written) as written,
           case when app_hidden.search_prefix(x.v, stemming) then x.v || U&'\+10FFFF' else x.v end as hi
    from (
      select w.i::int as i, w.w as base, true as written
      from unnest(words[1:8]) with ordinality w(w, i)
      union
      select w.i::int, l, false
      from unnest(word_forms[1:8]) with ordinality w(f, i), unnest(stem_configs) cf,
           unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(cf, w.f))) l
      where stemming and cf <> 'simple'::regconfig
    ) b
    cross join lateral (
      select pg_catalog.replace(b.base, '-', '') as v
      where pg_catalog.strpos(b.base, '-') > 1
      union all
      select pg_catalog.left(b.base, k) || '-' || pg_catalog.substr(b.base, k + 1)
      from generate_series(1, pg_catalog.char_length(b.base) - 2) k
      where pg_catalog.strpos(b.base, '-') = 0 and pg_catalog.char_length(b.base) between 4 and 24
        and b.base !~ ('[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f' || app_hidden.cjk_letters() || ']')
        and b.base !~ '^[0-9.]+$'
      union all
      select case when pg_catalog.left(b.base, 1) = '-' then pg_catalog.substr(b.base, 2) else '-' || b.base end
      where b.base ~ '^-?[0-9]+([.][0-9]+)?$') x
    where x.v <> all (words)
    group by b.i, x.v
  ), found as (
    select c.i, c.v, c.hi, c.written
    from c
    where (select true from app_hidden.scene_terms t
           where t.owner_id = uid and t.kind in ('s', 'w')
             and t.lexeme >= c.v collate "C" and t.lexeme <= c.hi collate "C"
           limit 1)
  )
  select coalesce(array_agg(f.i order by f.i, f.v) filter (where f.written), '{}'),
         coalesce(array_agg(f.v order by f.i, f.v) filter (where f.written), '{}'),
         coalesce(array_agg(f.hi order by f.i, f.v) filter (where f.written), '{}'),
         coalesce(array_agg(f.i order by f.i, f.v) filter (where stemming), '{}'),
         coalesce(array_agg(f.v order by f.i, f.v) filter (where stemming), '{}')
    into joined_word, joined_lexeme, joined_hi, stem_joined_word, stem_joined_lexeme
    from found f;
  tsq_text := app_hidden.search_tsquery(words || joined_lexeme, 'AB', stemming);
  -- The snippet's: a compound found for a word without its hyphen is marked
  -- by its parts (ts_headline marks no compound whole).
  tsq_plain := app_hidden.search_tsquery(words || joined_lexeme, '', stemming);
  tsq_plain := coalesce(tsq_plain || app_hidden.search_compound_parts(joined_lexeme), tsq_plain);
  word_queries := array(select app_hidden.search_tsquery(
                                 array[w.w] || array(select j.v from unnest(joined_word, joined_lexeme) j(i, v) where j.i = w.i),
                                 'AB', stemming)
                        from unnest(words) with ordinality w(w, i) order by w.i);
  -- A compound's other spellings read as stems are matched as stems are:
  -- exact lexemes of tsv_stem (there are none unless stemming is true).
  stem_queries := array(select coalesce(s.sq || x.q, s.sq, x.q)
                        from unnest(word_forms) with ordinality w(f, i)
                        cross join lateral (select app_hidden.search_stem_tsquery(array[w.f], stem_configs, 'AB') as sq) s
                        cross join lateral (
                          select app_hidden.search_tsquery(array_agg(j.v), 'AB', true) as q
                          from unnest(stem_joined_word, stem_joined_lexeme) j(i, v) where j.i = w.i) x
                        order by w.i);
  tsq_stem := app_hidden.search_stem_tsquery(word_forms, stem_configs, 'AB');
  tsq_stem := coalesce(tsq_stem || app_hidden.search_tsquery(stem_joined_lexeme, 'AB', true),
                       tsq_stem, app_hidden.search_tsquery(stem_joined_lexeme, 'AB', true));
  snippet_stems := array(select distinct l from (
                           select l from unnest(word_forms) w, unnest(stem_configs) c,
                                         unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(c, w))) l
                           where c <> 'simple'::regconfig
                           union all
                           select unnest(stem_joined_lexeme)) x);
  fuzzy := array(select char_length(w) >= 4 from unnest(words) w);
  tsq_any := case when tsq_stem is null then tsq_text else tsq_text || tsq_stem end;
  tag_words := app_hidden.search_tag_words(word_forms);
  -- The label words each query word or its search_forms names (search_names:
  -- tag_words, each form after the words), read as exact
  -- keys of the caller's tag rows like the words: found by walking the
  -- distinct lexemes the word (as a prefix) or its stem begins, one index
  -- probe each, at most 100 per word (the tagger's labels have ~450 words).
  -- For a person in few scenes the words pass reads only their scenes'
  -- terms, so there each word's range of label words is read as it is and
  -- search_names picks the rows, and every candidate's tags are scored.
  select coalesce(array_agg(x.st order by x.i), '{}'),
         coalesce(array_agg(app_hidden.search_label_start(x.w, x.st, stemming) order by x.i), '{}')
    into label_stems, label_starts
    from (select w.w, w.i, app_hidden.search_label_stem(w.w) as st from unnest(tag_words) with ordinality w(w, i)) x;
  if word_scenes is null then
    -- Each walk's upper bound is computed before it, not in its index
    -- condition: there an expression that is not leakproof (||) would wait
    -- for the row security qual, leaving the bound a filter.
    select coalesce(array_agg(x.i order by x.i, x.lexeme), '{}'), coalesce(array_agg(x.lexeme order by x.i, x.lexeme), '{}')
      into tag_word, tag_lexeme
      from (
        select distinct w.i::int as i, l.lexeme
        from unnest(tag_words, label_stems, label_starts, array(select x || U&'\+10FFFF' from unnest(label_starts) x))
               with ordinality w(w, stem, start, hi, i)
        cross join lateral (
          select w.w as lexeme
          union all
          (with recursive walk(lexeme) as (
             select (select min(t.lexeme) from app_hidden.scene_terms t
                      where t.owner_id = uid and t.kind = 't'
                        and t.lexeme >= w.start collate "C" and t.lexeme <= w.hi collate "C")
             where w.start is not null
             union all
             select (select min(t.lexeme) from app_hidden.scene_terms t
                      where t.owner_id = uid and t.kind = 't'
                        and t.lexeme > walk.lexeme collate "C" and t.lexeme <= w.hi collate "C")
             from walk where walk.lexeme is not null)
           select walk.lexeme from walk where walk.lexeme is not null limit 100)) l
        where app_hidden.search_names(l.lexeme, w.w, w.stem, stemming)) x;
    tag_hi := tag_lexeme;
    tag_check := array_fill(false, array[cardinality(tag_lexeme)]);
    -- Whether a scene may have a tag the query names (a superset: a Korean
    -- label word is a prefix here too).
    tsq_tags := app_hidden.search_tsquery(tag_lexeme, 'C', true);
  else
    select array_agg(x.i), array_agg(x.lexeme), array_agg(x.hi), array_agg(x.checked)
      into tag_word, tag_lexeme, tag_hi, tag_check
      from (select w.i::int as i, w.w as lexeme, w.w as hi, false as checked
              from unnest(tag_words) with ordinality w(w, i)
            union all
            select w.i::int, w.start, w.start || U&'\+10FFFF', true
              from unnest(label_starts) with ordinality w(start, i) where w.start is not null) x;
    tsq_tags := null;
  end if;
  -- The same forms as key ranges of scene_terms (C collation, so a prefix
  -- is a byte range). Word i as written: the range [lexeme, hi] of 'w'
  -- rows (a prefix where search_prefix says so); the label words it names:
  -- their 't' rows. Prefix ranges nest or are disjoint; a written form
  -- inside another word's range ("cars" with "car") is not ranked, so each
  -- written occurrence counts once, as in search_rank. Each stem of word i:
  -- its 'w' rows unless the written range holds them, and its 's' rows but
  -- those of scenes the written range finds already: for a prefix, those
  -- whose written sources all start with the word (src, their common
  -- prefix, in the written range); for a word that is no prefix, those
  -- whose one source is the word itself (src, that word and a space). That
  -- leaves two ranges of src, before the word (or that src) and after.
  -- A space sorts before every character a word has but control
  -- characters, so no other src lies between it and the word followed by
  -- "!". U+10FFFF twice ends every real string.
  -- For a person in few scenes, stems are read as ranges too, with every
  -- src: exact lexemes look cheap to the planner, which would then read a
  -- common stem's rows across the whole library rather than the terms of
  -- the person's scenes.
  with w as (
    select t.i::int as i, t.w as lexeme, t.wf as forms,
           case when app_hidden.search_prefix(t.w, stemming) then t.w || U&'\+10FFFF' else t.w end as hi
    from unnest(words, word_forms) with ordinality t(w, wf, i)
  ), stems as (
    select distinct w.i, w.lexeme as word, w.hi as word_hi, l as lexeme,
           l >= w.lexeme collate "C" and l <= w.hi collate "C" as written
    from w, unnest(stem_configs) c, unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector(c, w.forms))) l
    where c <> 'simple'::regconfig
    union
    -- A compound's other spelling, stemmed: written, where the word's other
    -- spelling as written reads its 'w' rows.
    select w.i, w.lexeme, w.hi, j.v,
           exists (select from unnest(joined_word, joined_lexeme) jw(i, v) where jw.i = j.i and jw.v = j.v)
    from w join unnest(stem_joined_word, stem_joined_lexeme) j(i, v) on j.i = w.i
  ), ranges as (
    select w.i, 'w'::"char" as kind, 'w'::"char" as kind2, w.lexeme, w.hi, true as surface,
           not exists (select from w o where o.i <> w.i and o.lexeme <= w.lexeme collate "C" and w.hi <= o.hi collate "C") as ranked
    from w
    union all
    -- The other spelling of a compound, as written.
    select j.i, 'w', 'w', j.lexeme, j.hi, true,
           not exists (select from w o where o.i <> j.i and o.lexeme <= j.lexeme collate "C" and j.hi <= o.hi collate "C")
    from unnest(joined_word, joined_lexeme, joined_hi) j(i, lexeme, hi)
    union all
    select tl.i, 't', 't', tl.lexeme, tl.hi, false, false
    from unnest(tag_word, tag_lexeme, tag_hi, tag_check) tl(i, lexeme, hi, checked) where not tl.checked
    union all
    select st.i, case when st.written then 's'::"char" else 'w' end, 's', st.lexeme, st.lexeme, false, false
    from stems st where word_scenes is not null
  ), exact as (
    select st.i, 'w'::"char" as kind, st.lexeme, '' as src_from, U&'\+10FFFF\+10FFFF' as src_before
    from stems st where not st.written
    union all
    select st.i, 's', st.lexeme, '', case when st.word_hi <> st.word then st.word else st.word || ' ' end
    from stems st
    union all
    select st.i, 's', st.lexeme, case when st.word_hi <> st.word then st.word_hi else st.word || '!' end,
           U&'\+10FFFF\+10FFFF'
    from stems st
  )
  select r.*, e.*
    into range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
         stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before
    from (select array_agg(x.i), array_agg(x.kind), array_agg(x.kind2), array_agg(x.lexeme), array_agg(x.hi),
                 array_agg(x.surface), array_agg(x.ranked)
          from ranges x) r,
         (select array_agg(x.i), array_agg(x.kind), array_agg(x.lexeme), array_agg(x.src_from), array_agg(x.src_before)
          from exact x where word_scenes is null) e;
  -- The words pass reads each form's range of scene_terms in a subquery of
  -- its own (lateral, offset 0), so its plan is one index range scan per
  -- form for any owner: planned for the unknown owner of a generic plan, a
  -- join of the forms with scene_terms read every term of the owner's
  -- library and filtered them. That plan, and those of the exact vector
  -- comparisons below, serve every search of the whole library. A search
  -- narrowed to a person or to videos is planned for the search at hand: a
  -- person in few scenes reads the terms of those scenes instead of the
  -- ranges, a few videos of a large library are read by video.
  if search_scenes.person_id is not null or video_ids is not null then
    perform set_config('plan_cache_mode', 'force_custom_plan', true);
  end if;
  if cardinality(word_queries) > 0 then
    -- The scope is that of the search: the videos asked for and, with a
    -- person, the scenes they appear in (a word common among the person's
    -- scenes says little there, however rare it is elsewhere).
    -- Without a person, the library in scope; with one, their scenes in it.
    scope_size := coalesce(cardinality(person_scenes), cardinality(person_many), library_size);
    -- One pass over scene_terms' index (never the scenes themselves) finds
    -- every scene with a query word in some form or in a tag label and what
    -- search_scenes will score it by (search_scene_matches), and keeps the
    -- word_pool scenes that the word part of text_score and tags_score will
    -- rank highest (stems and tag labels estimated), so the pool holds the
    -- scenes that can top a words-only ranking. Ranking every scene that
    -- merely contains "the" by visiting it is what made word search slow for
    -- users with many scenes. Their order needs each word's document
    -- frequency (its IDF).
    -- Grouped by hashing, not by sorting: in the generic plan each form's
    -- rows are a guess of one or ten, which made sorting every posting by
    -- scene look cheaper (a third of the pass for 30k rows, then a group
    -- pass). Only the pools' top-N sorts remain, which nothing replaces.
    perform set_config('enable_sort', 'off', true);
    if search_scenes.person_id is null and video_ids is null then
      -- Over the whole library the frequencies are read first, so the scenes
      -- stream from the grouping into the top-N: keeping them all to count
      -- them first cost as much as the grouping (BENCHMARKS.md, session 36).
      -- A word whose forms with rows in scope are one lexeme read exactly (a
      -- word that is its own stem: "car" as written, and the scenes where
      -- only its inflections stand, stored as stems where it is not written;
      -- "city" where no other form of it is said, its stem "citi" standing
      -- only beside "city", which the stem's ranges leave out) has no scene
      -- with two of its rows, so its rows are counted; another ("city" with
      -- "cities", a prefix, a compound's other spelling) has its scenes
      -- counted once each. Whether a form has rows is one index probe.
      single := array(
        select count(distinct x.lexeme) <= 1 and coalesce(bool_and(x.lexeme = x.hi), true)
        from generate_series(1, cardinality(words)) g(i)
        left join (select r.i, r.lexeme, r.hi
                     from unnest(range_word, range_kind, range_kind2, range_lexeme, range_hi) r(i, kind, kind2, lexeme, hi)
                    where r.kind <> 't'
                      and exists (select from app_hidden.search_range_rows(uid, r.kind, r.kind2, r.lexeme, r.hi, null, null, null))
                   union all
                   select st.i, st.lexeme, st.lexeme
                     from unnest(stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before)
                            st(i, kind, lexeme, src_from, src_before)
                    where exists (select from app_hidden.search_stem_rows(uid, st.kind, st.lexeme, st.src_from, st.src_before,
                                                                         null, null))) x on x.i = g.i
        group by g.i
        order by g.i);
      -- With two or more words, the scenes that have all of them are ranked
      -- first, alone: a scene with only some of them has a share of at most
      -- that of all words but the least informative, a rank and a stem rank
      -- at most the highest among such scenes, and, unless it is a tag
      -- candidate (a candidate either way), a tag at most tag_rest; when
      -- that bound stays under the estimate of the word_pool-th scene with
      -- all of them, no other scene can enter the pool, and the candidates
      -- hold every scene the pass over every scene would put in it. (With
      -- the best tag of all as the bound, random speech with labels on half
      -- its scenes kept none of these pools.) Their rows are grouped without
      -- the tag rows (a third of the rows of two common words), whose best
      -- is then joined to those scenes alone. Two common words ("car dog",
      -- each in a sixth of the library, together in 1.4 % of it): 686 scenes
      -- scored instead of 15,180 (BENCHMARKS.md, session 41). Tried only where the
      -- words' frequencies, taken as independent, promise enough such
      -- scenes, by a margin that grows with the words (three or more words
      -- are the less independent); otherwise, or when the bound does not
      -- hold, the pass ranks every scene with a word.
      word_mask := (1::bigint << cardinality(words)) - 1;
      -- Two words with a row at most per scene each are joined by scene
      -- (below), and the join counts their scenes too: where each is in at
      -- least join_floor scenes (then, taken as independent, they promise
      -- the scenes with both that an attempt needs), they are not counted
      -- first, only checked to be that common (for two words each in a
      -- sixth of a 47k-scene library, ~1,450 rows read instead of 15,866).
      join_floor := ceil(sqrt(word_pool * 4 * greatest(scope_size, 1)::float8));
      -- Each word's rows are first counted up to word_pool * 4, which a
      -- word must reach for the two to promise enough (the other is in at
      -- most every scene): a rare word beside a common one costs a few
      -- hundred rows. Whether each is in join_floor scenes is then
      -- estimated from a sixteenth of its rows, those of the scenes whose
      -- random ids begin with 0 (a word's rows as written are in scene id
      -- order in scene_terms' key, so that is one short range): counting up
      -- to join_floor read 3,376 rows of each common word at 47k scenes,
      -- this ~480. A wrong guess costs time, never a different result: the
      -- join is kept only where its bound holds, and without it the
      -- frequencies are counted exactly. Below a join_floor of 1,024 (a
      -- scope of ~4,400 scenes) the sixteenth would be too few rows to tell,
      -- and counting up to join_floor costs little: they are counted.
      join_first := cardinality(words) = 2 and single[1] and single[2]
        and not exists (
               select from (values (1, word_pool * 4), (2, word_pool * 4), (1, join_floor), (2, join_floor)) g(i, n)
               where (g.n = word_pool * 4 or join_floor < 1024)
                 and (select count(*) from (
                        select from app_hidden.search_postings(uid, null, null, null,
                                      range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface,
                                      range_ranked, stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                                      null, null, null, null, null, null, stemming) p
                        where p.i = g.i and not p.tag
                        limit g.n) y) < g.n)
        and (join_floor < 1024 or not exists (
               select from (values (1), (2)) g(i)
               where 16 * ((select count(*)
                            from unnest(range_word, range_kind, range_kind2, range_lexeme) f(i, kind, kind2, lexeme)
                            cross join lateral (
                              select from app_hidden.scene_terms t
                              where t.owner_id = uid and t.kind in (f.kind, f.kind2) and t.lexeme = f.lexeme collate "C"
                                and t.src = '' and t.scene_id < '10000000-0000-0000-0000-000000000000'::uuid
                              offset 0) x
                            where f.i = g.i and f.kind <> 't')
                           + (select count(*)
                              from unnest(stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before)
                                     f(i, kind, lexeme, src_from, src_before)
                              cross join lateral (
                                select from app_hidden.scene_terms t
                                where t.owner_id = uid and t.kind = f.kind and t.lexeme = f.lexeme collate "C"
                                  and t.src >= f.src_from collate "C" and t.src < f.src_before collate "C"
                                  and t.scene_id < '10000000-0000-0000-0000-000000000000'::uuid
                                offset 0) x
                              where f.i = g.i)) < join_floor));
      if not join_first then
        select array_agg(coalesce(d.n, 0) order by g.i)
          into word_df
          from generate_series(1, cardinality(words)) g(i)
          left join (
            select x.i, sum(x.n) as n
            from (
              select f.i, (select count(*) from app_hidden.search_range_rows(uid, f.kind, f.kind2, f.lexeme, f.hi,
                                                                             null, null, null)) as n
              from unnest(range_word, range_kind, range_kind2, range_lexeme, range_hi) f(i, kind, kind2, lexeme, hi)
              where f.kind <> 't' and single[f.i]
              union all
              select f.i, (select count(*) from app_hidden.search_stem_rows(uid, f.kind, f.lexeme, f.src_from, f.src_before,
                                                                            null, null))
              from unnest(stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before) f(i, kind, lexeme, src_from, src_before)
              where single[f.i]
              union all
              select q.i, count(*)
              from (select p.i, p.scene_id
                    from app_hidden.search_postings(uid, null, null, null,
                           range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
                           stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                           tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming) p
                    where not p.tag and not single[p.i]
                    group by p.i, p.scene_id) q
              group by q.i) x
            group by x.i) d on d.i = g.i;
      end if;
      if join_first
         or (cardinality(words) between 2 and 62
             and scope_size * (select exp(sum(ln(greatest(n, 1) / greatest(scope_size, 1)))) from unnest(word_df) n)
                 >= word_pool * 2 ^ cardinality(words)) then
        select array_agg(r.i order by r.o), array_agg(r.kind order by r.o), array_agg(r.kind2 order by r.o),
               array_agg(r.lexeme order by r.o), array_agg(r.hi order by r.o), array_agg(r.surface order by r.o),
               array_agg(r.ranked order by r.o)
          into wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked
          from unnest(range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked)
                 with ordinality r(i, kind, kind2, lexeme, hi, surface, ranked, o)
         where r.kind <> 't';
        -- Hashed both ways (below too): a generic plan guesses ten scenes
        -- with every word, and a nested loop over the rows of one word (or
        -- the tag rows) for each of 686 would compare millions of pairs.
        perform set_config('enable_nestloop', 'off', true);
        if cardinality(words) = 2 and single[1] and single[2] then
          -- Two words each read as one lexeme have a row at most per scene
          -- each: their rows joined by scene are the groups, without hashing
          -- a group for every scene (a full join, so that the scenes with one
          -- of them give the highest rank and stem rank too). The sums are
          -- those of search_scene_matches, added in the same precision.
          -- Each word's first range of one lexeme is its lead form, read as
          -- a scan of its own (search_word_rows); a word without one reads
          -- every form through the arrays.
          select r.o, r.lexeme, r.surface, r.ranked
            into lead_a, lead_a_lexeme, lead_a_surface, lead_a_ranked
            from unnest(wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked)
                   with ordinality r(i, kind, kind2, lexeme, hi, surface, ranked, o)
           where r.i = 1 and r.kind = 'w' and r.kind2 = 'w' and r.lexeme = r.hi
           order by r.o
           limit 1;
          select r.o, r.lexeme, r.surface, r.ranked
            into lead_b, lead_b_lexeme, lead_b_surface, lead_b_ranked
            from unnest(wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked)
                   with ordinality r(i, kind, kind2, lexeme, hi, surface, ranked, o)
           where r.i = 2 and r.kind = 'w' and r.kind2 = 'w' and r.lexeme = r.hi
           order by r.o
           limit 1;
          select coalesce(array_agg(a.scene_id) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(array_agg(a.w | b.w) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(array_agg(a.r + b.r) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(array_agg(a.sr + b.sr) filter (where a.scene_id = b.scene_id), '{}'),
                 coalesce(greatest(max(a.r) filter (where b.scene_id is null), max(b.r) filter (where a.scene_id is null)), 0),
                 coalesce(greatest(max(a.sr) filter (where b.scene_id is null), max(b.sr) filter (where a.scene_id is null)), 0),
                 -- Each word's rows are its scenes: the frequencies, the same
                 -- as counted above where they were.
                 array[count(a.scene_id), count(b.scene_id)]
            into all_ids, all_written, all_rank, all_stem_rank, some_rank, some_stem_rank, word_df
            from app_hidden.search_word_rows(uid, 1, 1, lead_a, lead_a_lexeme, lead_a_surface, lead_a_ranked,
                                             wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked,
                                             stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before) a
            full join app_hidden.search_word_rows(uid, 2, 2, lead_b, lead_b_lexeme, lead_b_surface, lead_b_ranked,
                                                  wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked,
                                                  stem_word, stem_kind, stem_lexeme, stem_src_from,
                                                  stem_src_before) b on b.scene_id = a.scene_id;
        else
          select coalesce(array_agg(ps.scene_id) filter (where ps.mask = word_mask), '{}'),
                 coalesce(array_agg(ps.written) filter (where ps.mask = word_mask), '{}'),
                 coalesce(array_agg(ps.rank) filter (where ps.mask = word_mask), '{}'),
                 coalesce(array_agg(ps.stem_rank) filter (where ps.mask = word_mask), '{}'),
                 coalesce(max(ps.rank) filter (where ps.mask <> word_mask), 0),
                 coalesce(max(ps.stem_rank) filter (where ps.mask <> word_mask), 0)
            into all_ids, all_written, all_rank, all_stem_rank, some_rank, some_stem_rank
            from app_hidden.search_scene_matches(uid, null, null, null,
                   wr_word, wr_kind, wr_kind2, wr_lexeme, wr_hi, wr_surface, wr_ranked,
                   stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                   tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming) ps;
        end if;
      else
        word_mask := 0;
      end if;
      -- The IDF-weighted share of the words a scene has (1 as written, 0.75
      -- stemmed only) is 0.75 x the weight of its words found + 0.25 x that
      -- of its words written (search_bits_weight): the sums of the IDFs of
      -- every set of up to 8 words, 8 bits at a time (word_weights[256c + k +
      -- 1] for the words 8c+1.. whose bits k has), so a scene's share is two
      -- lookups. Each chunk's table doubles with each word: the sets with
      -- word b are those without it, plus its IDF.
      word_idf := array(select ln(1 + (scope_size + 1)::float8 / (1 + n)) from unnest(word_df) with ordinality d(n, i) order by i);
      idf_total := (select sum(x) from unnest(word_idf) x);
      word_weights := '{}';
      for c in 0 .. (cardinality(words) - 1) / 8 loop
        word_weights[256 * c + 1] := 0;
        for b in 0 .. least(8, cardinality(words) - 8 * c) - 1 loop
          for k in 0 .. (1 << b) - 1 loop
            word_weights[256 * c + (1 << b) + k + 1] := word_weights[256 * c + k + 1] + word_idf[8 * c + b + 1];
          end loop;
        end loop;
      end loop;
      -- Tag candidates: the scenes whose labels best name a query word (the
      -- label's score over its word count, search_tag_score of that word),
      -- each label word's rows read in order of that score
      -- (scene_terms_tag_impact_idx), tag_pool of them at most: no scene
      -- outside a word's first tag_pool can be among the tag_pool best, since
      -- a scene has one row per label word.
      select coalesce(array_agg(y.scene_id order by y.tag desc, y.scene_id), '{}'),
             case when count(*) = tag_pool then min(y.tag) else 0 end
        into tag_ids, tag_rest
        from (
        select x.scene_id, x.tag
        from (
          select t.scene_id, max(t.impact) as tag
          from unnest(tag_lexeme) l(lexeme)
          cross join lateral (
            select t.scene_id, t.impact from app_hidden.scene_terms t
            where t.owner_id = uid and t.kind = 't' and t.lexeme = l.lexeme collate "C"
            order by t.impact desc, t.scene_id
            limit tag_pool) t
          group by t.scene_id) x
        where x.tag > 0
        order by x.tag desc, x.scene_id
        limit tag_pool) y;
      if word_mask <> 0 then
        select coalesce(array_agg(x.id order by x.est desc, x.id), '{}'), min(x.est)
          into word_ids, word_floor
          from (
            select a.id,
                   wt * app_hidden.search_word_estimate(word_weights, idf_total, word_mask, a.written, a.rank, a.stem_rank)
                   + wg * coalesce(max(t.impact), 0) as est
            from unnest(all_ids, all_written, all_rank, all_stem_rank) a(id, written, rank, stem_rank)
            left join (
              select t.scene_id, t.impact
              from unnest(tag_lexeme) l(lexeme)
              cross join lateral (
                select t.scene_id, t.impact from app_hidden.scene_terms t
                where t.owner_id = uid and t.kind = 't' and t.lexeme = l.lexeme collate "C"
                offset 0) t) t on t.scene_id = a.id
            group by a.id, a.written, a.rank, a.stem_rank
            order by est desc, a.id
            limit word_pool) x;
        perform set_config('enable_nestloop', 'on', true);
        if cardinality(word_ids) < word_pool
           or word_floor <= wt * (0.5 * (idf_total - (select min(x) from unnest(word_idf) x)) / idf_total
                                  + 0.5 * greatest(some_rank / (some_rank + 1), 0.75 * some_stem_rank / (some_stem_rank + 1)))
                            + wg * tag_rest + 1e-9 then
          word_ids := null;
        end if;
      end if;
      if word_ids is null then
        word_ids := array(
          select ps.scene_id
          from app_hidden.search_scene_matches(uid, null, null, null,
                 range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
                 stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                 tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming) ps
          where ps.mask <> 0
          order by wt * app_hidden.search_word_estimate(word_weights, idf_total, ps.mask, ps.written, ps.rank, ps.stem_rank)
                   + wg * ps.tag desc, ps.scene_id
          limit word_pool);
      end if;
    else
      -- Narrowed to a person or to videos, most of the rows read are those
      -- of scenes out of scope, and reading them twice (frequencies, then
      -- candidates) cost more than keeping the few scenes in scope: the
      -- frequencies and the IDF-weighted shares are computed per distinct
      -- combination of words a scene has, and the tag candidates come from
      -- the same scenes.
      with per_scene as materialized (
        select * from app_hidden.search_scene_matches(uid, video_ids, person_many, word_scenes,
                        range_word, range_kind, range_kind2, range_lexeme, range_hi, range_surface, range_ranked,
                        stem_word, stem_kind, stem_lexeme, stem_src_from, stem_src_before,
                        tag_word, tag_lexeme, tag_hi, tag_check, tag_words, label_stems, stemming)
      ), combos as (
        select ps.written, ps.mask, count(*) as n from per_scene ps where ps.mask <> 0 group by ps.written, ps.mask
      ), df as (
        select g.i, coalesce(sum(c.n), 0) as n
        from generate_series(1, cardinality(words)) g(i)
        left join combos c on c.mask & (1::bigint << (g.i - 1)) <> 0
        group by g.i
      ), idf as (
        select array_agg(ln(1 + (scope_size + 1)::float8 / (1 + df.n)) order by df.i) as v from df
      ), share as (
        select c.written, c.mask,
               sum(idf.v[g] * case when c.written & (1::bigint << (g - 1)) <> 0 then 1
                                   when c.mask & (1::bigint << (g - 1)) <> 0 then 0.75 else 0 end) / sum(idf.v[g]) as share
        from combos c cross join idf cross join generate_series(1, cardinality(words)) g
        group by c.written, c.mask
      )
      select (select idf.v from idf),
             array(select ps.scene_id
                   from per_scene ps join share sh on sh.written = ps.written and sh.mask = ps.mask
                   order by wt * (0.5 * sh.share + 0.5 * greatest(ps.rank / (ps.rank + 1), 0.75 * ps.stem_rank / (ps.stem_rank + 1)))
                            + wg * ps.tag desc, ps.scene_id
                   limit word_pool),
             array(select ps.scene_id from per_scene ps where ps.tag > 0 order by ps.tag desc, ps.scene_id limit tag_pool)
        into word_idf, word_ids, tag_ids;
      idf_total := (select sum(x) from unnest(word_idf) x);
    end if;
    perform set_config('enable_sort', 'on', true);
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

  if search_scenes.person_id is null then
    exact := library_size <= exact_below;
  else
    exact := person_scenes is not null;
    vec_pool := vec_pool_person;
  end if;

  -- Vector candidates are fetched before the main query so that only these
  -- two statements run with sorting disabled: the planner does not count
  -- de-TOASTing and comparing 1024 floats per row, so for a user with
  -- tens of thousands of scenes it would otherwise pick "scan them all and
  -- sort" (~7 us a row) over the HNSW walk. The function's own SET clause
  -- restores enable_sort when it returns.
  -- Each candidate comes with its distance, so the fusion below does not
  -- de-TOAST and compare that vector a second time.
  -- Over the whole library, the exact comparisons read the vectors of an
  -- owner with few (generic plans, as set above); the HNSW walks are planned
  -- for the search at hand.
  if exact then
    -- Compared in half precision, stored in the row (scene_half_vecs): a
    -- full vector is three TOAST chunks, ~8 us to fetch against ~0.7 to
    -- compare (BENCHMARKS.md). The candidates chosen are then measured from
    -- their full vectors, so their scores are those of the full vectors.
    -- The materialized CTE computes each distance once.
    qh_text := qv_text::halfvec;
    qh_image := qv_image::halfvec;
    -- Both spaces in one read of the rows: the owner's, or a person's
    -- scenes' by their whole primary key (owner, video, scene, space: one
    -- descent for a scene's two rows, whatever the statistics say). Given the scenes as an
    -- array filter instead, the planner read every row of the owner in the
    -- primary key and kept the person's (235 ms for 300 scenes of 20k), or
    -- ANDed a bitmap of them with one of every row of the owner (three times
    -- as long as the probes for 1,900 of 47k); probed by scene alone, stale
    -- statistics made it read the owner's rows once per scene.
    -- Never a sequential scan: this path reads at most exact_below scenes'
    -- rows, but its generic plan cannot know the owner is small, and where
    -- a few owners hold most rows (300k scenes, two of 53 owners with 147k
    -- each) it read all 600,000 for a 30-scene user (~1 s a search). The
    -- function's SET clause restores enable_seqscan.
    perform set_config('enable_seqscan', 'off', true);
    with c as materialized (
      select h.scene_id as id, h.space,
             case h.space when 't' then h.vec <=> qh_text else h.vec <=> qh_image end as d
      from (
        select h.* from app_hidden.scene_half_vecs h where person_scenes is null
        union all
        select h.* from unnest(person_scenes, person_videos) p(id, video_id)
        cross join lateral (
          select h.* from app_hidden.scene_half_vecs h
          where h.owner_id = uid and h.space in ('t', 'i') and h.video_id = p.video_id and h.scene_id = p.id
          offset 0) h
      ) h
      where h.owner_id = uid and h.space in ('t', 'i')
        and (h.space = 'i' or (qv_text is not null and (text_videos is null or h.video_id = any(text_videos))))
        and (h.space = 't' or (qv_image is not null and (image_videos is null or h.video_id = any(image_videos))))
    ), x as (
      (select c.id, c.space from c where c.space = 't' order by c.d, c.id limit vec_pool)
      union all
      (select c.id, c.space from c where c.space = 'i' order by c.d, c.id limit vec_pool)
    )
    select coalesce(array_agg(x.id) filter (where x.space = 't'), '{}'),
           coalesce(array_agg(s.text_vec <=> qv_text) filter (where x.space = 't'), '{}'),
           coalesce(array_agg(x.id) filter (where x.space = 'i'), '{}'),
           coalesce(array_agg(s.image_vec <=> qv_image) filter (where x.space = 'i'), '{}')
      into text_ids, text_d, image_ids, image_d
      from x join app_public.scenes s on s.id = x.id and s.owner_id = uid;
    perform set_config('enable_seqscan', 'on', true);
  else
    vec_pool := least(vec_pool_max, greatest(vec_pool, ceil(vec_pool * library_size / vec_scope::float8)::int));
    perform set_config('plan_cache_mode', 'force_custom_plan', true);
    perform set_config('enable_sort', 'off', true);
    -- A walk filtered to a person's scenes keeps going (relaxed_order) until
    -- it has its vec_pool_person of them, so its first ef_search candidates
    -- only seed the walk: for a person in 9,496 of 47k scenes, 40 instead of
    -- 100 still found all of the person's ten nearest in each space (100
    -- queries) in ~0.6 ms less a walk (BENCHMARKS.md). The function's SET
    -- clause restores 100.
    if search_scenes.person_id is not null then
      perform set_config('hnsw.ef_search', '40', true);
    end if;
    select coalesce(array_agg(x.id), '{}'), coalesce(array_agg(x.d), '{}') into text_ids, text_d from (
      select s.id, s.text_vec <=> qv_text as d from app_public.scenes s
      where qv_text is not null and s.owner_id = uid and s.text_vec is not null
        and (text_videos is null or s.video_id = any(text_videos))
        and (person_many is null or coalesce(s.id = any(person_many), false))
        and (not person_probed or (select true from app_public.faces f
                                   where f.person_id = search_scenes.person_id and f.owner_id = uid and f.scene_id = s.id
                                   limit 1))
      order by s.text_vec <=> qv_text
      limit vec_pool) x;
    select coalesce(array_agg(x.id), '{}'), coalesce(array_agg(x.d), '{}') into image_ids, image_d from (
      select s.id, s.image_vec <=> qv_image as d from app_public.scenes s
      where qv_image is not null and s.owner_id = uid and s.image_vec is not null
        and (image_videos is null or s.video_id = any(image_videos))
        and (person_many is null or coalesce(s.id = any(person_many), false))
        and (not person_probed or (select true from app_public.faces f
                                   where f.person_id = search_scenes.person_id and f.owner_id = uid and f.scene_id = s.id
                                   limit 1))
      order by s.image_vec <=> qv_image
      limit vec_pool) x;
    perform set_config('enable_sort', 'on', true);
  end if;

  -- Word candidates (above) filled up with scenes whose on-screen text
  -- matches only fuzzily, planned for the search at hand: among the few
  -- scenes in scope (a person's, or a small library's) as the caller, else
  -- through the trigram index (search_ocr_fuzzy, which row security keeps
  -- from it: 0.7 ms more than this statement for a 30-scene library).
  perform set_config('plan_cache_mode', 'force_custom_plan', true);
  if tsq_text is not null and cardinality(word_ids) < word_pool and true = any(fuzzy) then
    if person_scenes is not null or library_size <= exact_below then
      word_ids := word_ids || array(
        select f.id from (
          select s.id, max(strict_word_similarity(t.w, s.ocr_text)) as sim
          from unnest(words, fuzzy) t(w, fz)
          join app_public.scenes s on t.w <<% s.ocr_text
          where t.fz and s.owner_id = uid and (video_ids is null or s.video_id = any(video_ids))
            and (person_scenes is null or s.id = any(person_scenes))
          group by s.id) f
        where f.id <> all(word_ids)
        order by f.sim desc, f.id
        limit word_pool - cardinality(word_ids));
    else
      word_ids := word_ids || array(
        select app_hidden.search_ocr_fuzzy(words, fuzzy, video_ids, person_many, word_ids, word_pool - cardinality(word_ids)));
    end if;
  end if;

  -- The fusion joins a fixed-size candidate list to scenes by primary key:
  -- the same plan for every caller, so it is planned once per connection.
  perform set_config('plan_cache_mode', 'force_generic_plan', true);
  return query
  with
  candidates as (
    select c.id, min(c.td) as td, min(c.vd) as vd from (
      select t.id, t.d as td, null::float8 as vd from unnest(text_ids, text_d) t(id, d)
      union all select i.id, null, i.d from unnest(image_ids, image_d) i(id, d)
      union all select w.id, null, null from unnest(word_ids) w(id)
      union all select h.id, null, null from unnest(tag_ids) h(id)) c
    group by c.id
  ),
  -- Materialized: each component is computed once per candidate. Inlined,
  -- the planner copied these expressions into the filter, the sort key and
  -- the output of the queries below, computing every distance three times.
  components as materialized (
    select s.id, s.video_id, s.start_s, s.end_s, s.transcript, s.ocr_text, s.tsv, s.tsv_stem, s.stem_config,
           case when qv_text is not null and (text_videos is null or s.video_id = any(text_videos))
                then app_hidden.search_similarity('text', 1 - coalesce(c.td, s.text_vec <=> qv_text)) else 0 end as dense,
           -- Full-text strength in 0..1: half the IDF-weighted share of query
           -- words present in the transcript/on-screen text, half cover
           -- density (ts_rank_cd normalised to r/(r+1)), so matching every
           -- word, and the rare ones, beats repeating one. A word counts 1
           -- as written (or as a prefix), 0.75 stemmed only, and 0.5 x its
           -- strict trigram word similarity (< 0.5) when only a misread on-screen
           -- word matches; stemmed cover density counts 0.75 too. The @@ and
           -- <<% guards skip the work for vector-only hits. tsq_any is an OR
           -- of terms, so it matches either vector alone as it would match the
           -- two joined, without building that (3.6 us a scene of 30 s of
           -- speech against 0.7).
           case when tsq_text is not null
                     and (s.tsv @@ tsq_any or s.tsv_stem @@ tsq_any
                          or exists (select from unnest(words, fuzzy) t(w, fz) where t.fz and t.w <<% s.ocr_text))
                then 0.5 * coalesce((
                       select sum(t.idf * case when s.tsv @@ t.wq then 1
                                               when t.sq is not null and s.tsv_stem @@ t.sq then 0.75
                                               when t.fz and t.w <<% s.ocr_text then 0.5 * strict_word_similarity(t.w, s.ocr_text)
                                               else 0 end)
                       from unnest(words, word_queries, stem_queries, fuzzy, word_idf) t(w, wq, sq, fz, idf)), 0) / idf_total
                     + 0.5 * greatest(app_hidden.search_rank(s.tsv, tsq_text),
                                      case when tsq_stem is null then 0
                                           else 0.75 * app_hidden.search_rank(s.tsv_stem, tsq_stem) end)
                else 0 end as words_score,
           case when qv_image is not null and (image_videos is null or s.video_id = any(image_videos))
                then app_hidden.search_similarity('vision', 1 - coalesce(c.vd, s.image_vec <=> qv_image)) else 0 end as vision,
           case when cardinality(words) > 0 and (tsq_tags is null or s.tsv @@ tsq_tags)
                then app_hidden.search_tag_score(s.tags, tag_words, label_stems, stemming) else 0 end as tags
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
         -- A scene whose transcript and on-screen text have no query stem has
         -- no word for the stems to mark: its words are not looked through.
         app_hidden.search_snippet(p.transcript, p.ocr_text,
                                   app_hidden.search_snippet_query(tsq_plain, p.tsv, p.stem_config,
                                                                   case when p.tsv_stem @@ tsq_stem then snippet_stems end),
                                   p.tsv),
         coalesce(pp.persons, '[]'::jsonb)
  from page p
  left join app_hidden.search_persons_of(array(select x.id from page x), uid) pp on pp.scene_id = p.id
  order by p.score desc, p.id;
end;
$_$;

--
-- Name: FUNCTION search_scenes(query text, text_embedding real[], image_embedding real[], video_ids uuid[], person_id uuid, w_text real, w_vision real, w_tags real, page_size integer, page_offset integer, text_model text, image_model text); Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON FUNCTION app_public.search_scenes(query text, text_embedding real[], image_embedding real[], video_ids uuid[], person_id uuid, w_text real, w_vision real, w_tags real, page_size integer, page_offset integer, text_model text, image_model text) IS '@behavior -queryField -mutationField -typeField
Ranks the caller''s scenes for a query. score = w_text*text + w_vision*vision + w_tags*tags, each component on 0..1: text = noisy OR of calibrated dense similarity (BGE-M3 cosine mapped linearly from [0.35, 0.75]) and full-text match (IDF-weighted share of query words found, a word counting 1 as written (a compound with its hyphen or without: "wifi" for "Wi-Fi", a number with a hyphen before it or without: "19" for "COVID-19", and letters with a number joined or apart: "covid19" for "COVID-19" and "covid 19", "covid" for "covid19"), 0.75 stemmed in its video''s language (accents folded first where they are marks, so "ecole" finds "école") or as another English form no stemmer relates to it ("children" for "child", "swam" for "swim", "color" for "colour"), under 0.5 as a misread on-screen word by trigram similarity, plus ts_rank_cd/(1+ts_rank_cd) with on-screen text at 0.8 of speech, halved; English function words are dropped from the query unless nothing else is left); vision = SigLIP cosine of image_vec and image_embedding mapped from [0.05, 0.20]; tags = best label score times the share of its words the query names (a label word is named as written, by the same English stem, "dogs" naming "dog", or by an irregular form, "people" naming "person"). A query word also finds the words it begins only if it is Korean, Chinese or Japanese, or if no language in scope has a stemmer. Missing modalities score 0 and never exclude a scene. person_id restricts every candidate source to scenes where one of that person''s faces was seen; with no words and no embeddings it lists all those scenes in time order per video (score 1). text_model/image_model restrict vector comparisons to videos embedded by that model. Candidates: 80 per vector space (text HNSW, image HNSW; 40 with person_id; past 75,000 scenes in scope growing in proportion, to at most 200), 60 by words and 50 by tags (vectors compared exactly when the caller has at most 2000 scenes in scope: chosen in half precision, scored in full); pages of page_size (1..100) from page_offset over that fixed pool, ties by scene id.';

--
-- Name: videos; Type: TABLE; Schema: app_public; Owner: -
--

CREATE TABLE app_public.videos (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    owner_id uuid DEFAULT auth.uid() NOT NULL,
    title text DEFAULT ''::text NOT NULL,
    filename text,
    object_key text NOT NULL,
    subtitle_key text,
    byte_size bigint,
    content_type text,
    state text DEFAULT 'uploaded'::text NOT NULL,
    stage text,
    progress real DEFAULT 0 NOT NULL,
    error text,
    duration_s double precision,
    width integer,
    height integer,
    fps double precision,
    video_codec text,
    audio_codec text,
    has_audio boolean,
    language text,
    transcript_source text,
    asr_model text,
    text_model text,
    image_model text,
    ocr_model text,
    missing_stages text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    indexed_at timestamp with time zone,
    face_model text,
    content_sha256 text,
    subtitle_sha256 text,
    notes text[] DEFAULT '{}'::text[] NOT NULL,
    playback_state text,
    playback_key text,
    playback_bytes bigint,
    CONSTRAINT videos_byte_size_check CHECK ((byte_size >= 0)),
    CONSTRAINT videos_content_sha256_check CHECK ((content_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT videos_content_type_video CHECK ((content_type ~ '^video/[a-z0-9][a-z0-9.+-]*$'::text)),
    CONSTRAINT videos_duration_s_check CHECK ((duration_s >= (0)::double precision)),
    CONSTRAINT videos_filename_check CHECK ((char_length(filename) <= 500)),
    CONSTRAINT videos_height_check CHECK ((height > 0)),
    CONSTRAINT videos_object_key_check CHECK (((object_key <> ''::text) AND (char_length(object_key) <= 1024) AND (object_key !~ '(^/|\.\./)'::text))),
    CONSTRAINT videos_object_key_owned CHECK ((starts_with(object_key, (('u/'::text || (owner_id)::text) || '/'::text)) AND (char_length(object_key) > char_length((('u/'::text || (owner_id)::text) || '/'::text))) AND (object_key !~ '(^|/)\.{1,2}(/|$)'::text) AND (object_key !~ '//'::text))),
    CONSTRAINT videos_playback_key_owned CHECK ((starts_with(playback_key, (('u/'::text || (owner_id)::text) || '/'::text)) AND (playback_key !~ '(^|/)\.{1,2}(/|$)'::text) AND (playback_key !~ '//'::text) AND (char_length(playback_key) <= 1024))),
    CONSTRAINT videos_playback_state_check CHECK ((playback_state = ANY (ARRAY['original'::text, 'pending'::text, 'ready'::text, 'failed'::text]))),
    CONSTRAINT videos_progress_check CHECK (((progress >= (0)::double precision) AND (progress <= (1)::double precision))),
    CONSTRAINT videos_state_check CHECK ((state = ANY (ARRAY['uploaded'::text, 'validating'::text, 'processing'::text, 'indexed'::text, 'failed'::text]))),
    CONSTRAINT videos_subtitle_key_check CHECK (((subtitle_key <> ''::text) AND (char_length(subtitle_key) <= 1024) AND (subtitle_key !~ '(^/|\.\./)'::text))),
    CONSTRAINT videos_subtitle_key_owned CHECK ((starts_with(subtitle_key, (('u/'::text || (owner_id)::text) || '/'::text)) AND (char_length(subtitle_key) > char_length((('u/'::text || (owner_id)::text) || '/'::text))) AND (subtitle_key !~ '(^|/)\.{1,2}(/|$)'::text) AND (subtitle_key !~ '//'::text))),
    CONSTRAINT videos_subtitle_sha256_check CHECK ((subtitle_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT videos_title_check CHECK ((char_length(title) <= 500)),
    CONSTRAINT videos_transcript_source_check CHECK ((transcript_source = ANY (ARRAY['subtitles'::text, 'asr'::text, 'none'::text]))),
    CONSTRAINT videos_width_check CHECK ((width > 0))
);

--
-- Name: TABLE videos; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON TABLE app_public.videos IS 'A video uploaded by a user, and where its processing stands.';

--
-- Name: COLUMN videos.owner_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.owner_id IS 'The user (auth.uid()) who owns the video.';

--
-- Name: COLUMN videos.title; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.title IS 'Display title.';

--
-- Name: COLUMN videos.filename; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.filename IS 'Original file name as uploaded.';

--
-- Name: COLUMN videos.object_key; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.object_key IS 'Storage key of the video bytes, under the owner''s prefix u/<owner_id>/.';

--
-- Name: COLUMN videos.subtitle_key; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.subtitle_key IS 'Storage key of an optional sidecar .srt/.vtt uploaded with the video.';

--
-- Name: COLUMN videos.byte_size; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.byte_size IS 'Size of the uploaded object in bytes.';

--
-- Name: COLUMN videos.content_type; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.content_type IS 'MIME type announced at upload; always a video/* type (it becomes the Content-Type of signed URLs).';

--
-- Name: COLUMN videos.state; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.state IS 'uploaded -> validating -> processing -> indexed | failed.';

--
-- Name: COLUMN videos.stage; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.stage IS 'Pipeline stage currently running (fetch, validate, transcribe, scenes, ocr, embed, tags, write).';

--
-- Name: COLUMN videos.progress; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.progress IS 'Overall progress, 0..1.';

--
-- Name: COLUMN videos.error; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.error IS 'Why processing failed, in words a user can act on.';

--
-- Name: COLUMN videos.duration_s; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.duration_s IS 'Duration in seconds (from validation).';

--
-- Name: COLUMN videos.width; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.width IS 'Frame width in pixels.';

--
-- Name: COLUMN videos.height; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.height IS 'Frame height in pixels.';

--
-- Name: COLUMN videos.fps; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.fps IS 'Frames per second.';

--
-- Name: COLUMN videos.video_codec; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.video_codec IS 'Codec of the video stream.';

--
-- Name: COLUMN videos.audio_codec; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.audio_codec IS 'Codec of the first audio stream, if any.';

--
-- Name: COLUMN videos.has_audio; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.has_audio IS 'Whether the video has an audio stream.';

--
-- Name: COLUMN videos.language; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.language IS 'Spoken language detected by speech recognition (or declared by subtitles).';

--
-- Name: COLUMN videos.transcript_source; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.transcript_source IS 'Where the transcript came from: subtitles, asr or none.';

--
-- Name: COLUMN videos.asr_model; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.asr_model IS 'Speech model that produced the transcript.';

--
-- Name: COLUMN videos.text_model; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.text_model IS 'Model that produced scenes.text_vec; search only compares vectors from the same model.';

--
-- Name: COLUMN videos.image_model; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.image_model IS 'Model that produced scenes.image_vec and tags.';

--
-- Name: COLUMN videos.ocr_model; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.ocr_model IS 'Model that read on-screen text.';

--
-- Name: COLUMN videos.missing_stages; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.missing_stages IS 'Stages skipped because their model was absent; heimdex reindex --missing runs them later.';

--
-- Name: COLUMN videos.created_at; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.created_at IS 'When the row was inserted.';

--
-- Name: COLUMN videos.updated_at; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.updated_at IS 'When the row last changed.';

--
-- Name: COLUMN videos.indexed_at; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.indexed_at IS 'When processing last finished successfully.';

--
-- Name: COLUMN videos.face_model; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.face_model IS 'Model that detected and embedded the faces of its scenes; null when no faces stage ran.';

--
-- Name: COLUMN videos.content_sha256; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.content_sha256 IS 'SHA-256 of the video bytes as validated; every later stage refuses other bytes ("changed after upload").';

--
-- Name: COLUMN videos.subtitle_sha256; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.subtitle_sha256 IS 'SHA-256 of the subtitle sidecar as first read; later reads must match.';

--
-- Name: COLUMN videos.notes; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.notes IS 'What processing had to cut to stay within limits (e.g. a transcript cut at SCENE_TEXT_MAX_CHARS), so nothing is dropped silently.';

--
-- Name: COLUMN videos.playback_state; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.playback_state IS 'How the video plays in a browser: original (as uploaded), pending (a playable copy is being made), ready (playback_key holds it), failed (no copy could be made; the reason is in notes). Null until validated.';

--
-- Name: COLUMN videos.playback_key; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.playback_key IS 'Storage key of the browser-playable copy (H.264 and AAC in MP4, at most 720p) when playback_state is ready.';

--
-- Name: COLUMN videos.playback_bytes; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.videos.playback_bytes IS 'Size in bytes of the playable copy under playback_key, as the worker stored it; null without a copy (or for a copy stored before sizes were recorded).';

--
-- Name: videos_transcript(app_public.videos); Type: FUNCTION; Schema: app_public; Owner: -
--

CREATE FUNCTION app_public.videos_transcript(v app_public.videos) RETURNS app_public.transcript_line[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select coalesce(pg_catalog.array_agg(row(l.start_s, greatest(l.end_s, l.start_s), l.text)::app_public.transcript_line
                                       order by l.start_s, l.n), '{}')
    from app_private.video_transcripts t
    join app_public.videos o on o.id = t.video_id and o.owner_id = (select auth.uid())
   cross join lateral pg_catalog.jsonb_array_elements(t.segments) with ordinality x(e, n)
   cross join lateral (select (x.e ->> 'start')::float8 as start_s, (x.e ->> 'end')::float8 as end_s,
                              pg_catalog.btrim(x.e ->> 'text') as text, x.n) l
   where t.video_id = v.id
     and pg_catalog.jsonb_typeof(x.e -> 'start') = 'number'
     and pg_catalog.jsonb_typeof(x.e -> 'end') = 'number'
     and pg_catalog.jsonb_typeof(x.e -> 'text') = 'string'
     and l.text <> ''
$$;

--
-- Name: FUNCTION videos_transcript(v app_public.videos); Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON FUNCTION app_public.videos_transcript(v app_public.videos) IS 'What is said in the video, line by line in time order: the recognised speech, or the subtitle file it was uploaded with. Empty while the video is being transcribed, when it has no speech, or when no speech model ran.';

--
-- Name: jwt(); Type: FUNCTION; Schema: auth; Owner: -
--

CREATE FUNCTION auth.jwt() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $$;

--
-- Name: role(); Type: FUNCTION; Schema: auth; Owner: -
--

CREATE FUNCTION auth.role() RETURNS text
    LANGUAGE sql STABLE
    AS $$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $$;

--
-- Name: catalan_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.catalan_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR asciiword WITH catalan_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR word WITH public.unaccent, catalan_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, catalan_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR hword_asciipart WITH catalan_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR asciihword WITH catalan_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR hword WITH public.unaccent, catalan_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.catalan_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION catalan_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.catalan_folded IS 'pg_catalog.catalan with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: dutch_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.dutch_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR asciiword WITH dutch_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR word WITH public.unaccent, dutch_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, dutch_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR hword_asciipart WITH dutch_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR asciihword WITH dutch_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR hword WITH public.unaccent, dutch_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.dutch_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION dutch_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.dutch_folded IS 'pg_catalog.dutch with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: english_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.english_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR asciiword WITH english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR word WITH public.unaccent, english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR hword_asciipart WITH english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR asciihword WITH english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR hword WITH public.unaccent, english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.english_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION english_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.english_folded IS 'pg_catalog.english with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: french_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.french_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR asciiword WITH french_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR word WITH public.unaccent, french_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, french_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR hword_asciipart WITH french_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR asciihword WITH french_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR hword WITH public.unaccent, french_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.french_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION french_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.french_folded IS 'pg_catalog.french with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: german_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.german_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR asciiword WITH german_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR word WITH public.unaccent, german_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, german_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR hword_asciipart WITH german_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR asciihword WITH german_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR hword WITH public.unaccent, german_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.german_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION german_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.german_folded IS 'pg_catalog.german with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: italian_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.italian_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR asciiword WITH italian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR word WITH public.unaccent, italian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, italian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR hword_asciipart WITH italian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR asciihword WITH italian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR hword WITH public.unaccent, italian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.italian_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION italian_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.italian_folded IS 'pg_catalog.italian with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: portuguese_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR asciiword WITH portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR word WITH public.unaccent, portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR hword_asciipart WITH portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR asciihword WITH portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR hword WITH public.unaccent, portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION portuguese_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.portuguese_folded IS 'pg_catalog.portuguese with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: russian_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.russian_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR asciiword WITH english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR word WITH public.unaccent, russian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, russian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR hword_asciipart WITH english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR asciihword WITH english_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR hword WITH public.unaccent, russian_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.russian_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION russian_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.russian_folded IS 'pg_catalog.russian with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: simple_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.simple_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR asciiword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR word WITH public.unaccent, simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR hword_asciipart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR asciihword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR hword WITH public.unaccent, simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.simple_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION simple_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.simple_folded IS 'The words as written with their accents folded: the "stems" of languages with no stemmer whose letters carry marks (app_hidden.stem_config).';

--
-- Name: spanish_folded; Type: TEXT SEARCH CONFIGURATION; Schema: app_hidden; Owner: -
--

CREATE TEXT SEARCH CONFIGURATION app_hidden.spanish_folded (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR asciiword WITH spanish_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR word WITH public.unaccent, spanish_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR hword_part WITH public.unaccent, spanish_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR hword_asciipart WITH spanish_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR asciihword WITH spanish_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR hword WITH public.unaccent, spanish_stem;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION app_hidden.spanish_folded
    ADD MAPPING FOR uint WITH simple;

--
-- Name: TEXT SEARCH CONFIGURATION spanish_folded; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TEXT SEARCH CONFIGURATION app_hidden.spanish_folded IS 'pg_catalog.spanish with its accents folded before stemming (app_hidden.stem_config).';

--
-- Name: scene_half_vecs; Type: TABLE; Schema: app_hidden; Owner: -
--

CREATE TABLE app_hidden.scene_half_vecs (
    owner_id uuid NOT NULL,
    scene_id uuid NOT NULL,
    video_id uuid NOT NULL,
    space "char" NOT NULL,
    vec public.halfvec NOT NULL,
    CONSTRAINT scene_half_vecs_space_check CHECK ((space = ANY (ARRAY['t'::"char", 'i'::"char"])))
);
ALTER TABLE ONLY app_hidden.scene_half_vecs ALTER COLUMN vec SET STORAGE PLAIN;

--
-- Name: TABLE scene_half_vecs; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TABLE app_hidden.scene_half_vecs IS 'Each scene''s text_vec (space t) and image_vec (space i) in half precision, stored in the row, kept by a trigger on scenes; search_scenes compares them to choose exact vector candidates.';

--
-- Name: scene_terms; Type: TABLE; Schema: app_hidden; Owner: -
--

CREATE TABLE app_hidden.scene_terms (
    owner_id uuid NOT NULL,
    scene_id uuid NOT NULL,
    video_id uuid NOT NULL,
    kind "char" NOT NULL,
    lexeme text NOT NULL COLLATE pg_catalog."C",
    impact real NOT NULL,
    src text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    CONSTRAINT scene_terms_kind_check CHECK ((kind = ANY (ARRAY['w'::"char", 's'::"char", 't'::"char"])))
)
WITH (autovacuum_vacuum_insert_scale_factor='0.01', autovacuum_vacuum_scale_factor='0.01');

--
-- Name: TABLE scene_terms; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TABLE app_hidden.scene_terms IS 'Each word of each scene with its weight there, kept by a trigger on scenes; search_scenes reads it for word frequencies and word/tag candidates.';

--
-- Name: COLUMN scene_terms.src; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON COLUMN app_hidden.scene_terms.src IS 'For a stem (kind s): the longest common prefix of the scene''s written words with this stem, or its one such word followed by a space; '''' otherwise.';

--
-- Name: video_scene_counts; Type: TABLE; Schema: app_hidden; Owner: -
--

CREATE TABLE app_hidden.video_scene_counts (
    video_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    scenes integer NOT NULL,
    CONSTRAINT video_scene_counts_scenes_check CHECK ((scenes > 0))
);

--
-- Name: TABLE video_scene_counts; Type: COMMENT; Schema: app_hidden; Owner: -
--

COMMENT ON TABLE app_hidden.video_scene_counts IS 'Scenes per video, kept by triggers on scenes; search_scenes sums it for the scope of a word search (the N of the IDF).';

--
-- Name: playback_parts; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.playback_parts (
    video_id uuid NOT NULL,
    part integer NOT NULL,
    part_s double precision NOT NULL,
    key text NOT NULL,
    CONSTRAINT playback_parts_part_check CHECK ((part >= 0)),
    CONSTRAINT playback_parts_part_s_check CHECK ((part_s > (0)::double precision))
);

--
-- Name: TABLE playback_parts; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.playback_parts IS 'Worker: parts of a playback copy made so far (videos__playback_part), joined by videos__playback once all are in.';

--
-- Name: refresh_tokens; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.refresh_tokens (
    token_hash text NOT NULL,
    session_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    rotated_at timestamp with time zone,
    CONSTRAINT refresh_tokens_token_hash_check CHECK ((token_hash ~ '^[0-9a-f]{64}$'::text))
);

--
-- Name: sessions; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    refreshed_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    revoked_reason text
);

--
-- Name: scenes; Type: TABLE; Schema: app_public; Owner: -
--

CREATE TABLE app_public.scenes (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    video_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    ordinal integer NOT NULL,
    start_s double precision NOT NULL,
    end_s double precision NOT NULL,
    transcript text DEFAULT ''::text NOT NULL,
    ocr_text text DEFAULT ''::text NOT NULL,
    tags jsonb DEFAULT '[]'::jsonb NOT NULL,
    tsv tsvector,
    text_vec public.vector(1024),
    image_vec public.vector(1152),
    keyframe_key text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    stem_config regconfig DEFAULT 'app_hidden.english_folded'::regconfig NOT NULL,
    tsv_stem tsvector GENERATED ALWAYS AS (
CASE
    WHEN ((stem_config)::oid = ('simple'::regconfig)::oid) THEN ''::tsvector
    ELSE (setweight(to_tsvector(stem_config, transcript), 'A'::"char") || setweight(to_tsvector(stem_config, ocr_text), 'B'::"char"))
END) STORED,
    CONSTRAINT scenes_check CHECK ((end_s > start_s)),
    CONSTRAINT scenes_keyframe_key_owned CHECK ((starts_with(keyframe_key, (('u/'::text || (owner_id)::text) || '/'::text)) AND (keyframe_key !~ '(^|/)\.{1,2}(/|$)'::text) AND (keyframe_key !~ '//'::text))),
    CONSTRAINT scenes_ordinal_check CHECK ((ordinal >= 0)),
    CONSTRAINT scenes_start_s_check CHECK ((start_s >= (0)::double precision)),
    CONSTRAINT scenes_tags_check CHECK ((jsonb_typeof(tags) = 'array'::text))
);

--
-- Name: TABLE scenes; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON TABLE app_public.scenes IS 'A contiguous shot of a video: the unit search returns as a moment.';

--
-- Name: COLUMN scenes.video_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.video_id IS 'The video this scene belongs to.';

--
-- Name: COLUMN scenes.owner_id; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.owner_id IS 'Owner of the video (denormalised for row-level security).';

--
-- Name: COLUMN scenes.ordinal; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.ordinal IS 'Position of the scene in its video, from 0.';

--
-- Name: COLUMN scenes.start_s; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.start_s IS 'Start time in seconds.';

--
-- Name: COLUMN scenes.end_s; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.end_s IS 'End time in seconds.';

--
-- Name: COLUMN scenes.transcript; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.transcript IS 'Speech (or subtitles) during the scene.';

--
-- Name: COLUMN scenes.ocr_text; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.ocr_text IS 'Text read on screen in frames sampled through the scene, not only in its keyframe.';

--
-- Name: COLUMN scenes.tags; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.tags IS 'Zero-shot labels for the keyframe: [{"label": text, "score": 0..1}], best first.';

--
-- Name: COLUMN scenes.tsv; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.tsv IS 'Full-text index over transcript, on-screen text and tags (simple configuration; Chinese and Japanese as character pairs), kept by a trigger.';

--
-- Name: COLUMN scenes.text_vec; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.text_vec IS 'Transcript embedding (1024-d, unit norm); NULL for silent scenes.';

--
-- Name: COLUMN scenes.image_vec; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.image_vec IS 'Keyframe embedding in the SigLIP space (1152-d, unit norm).';

--
-- Name: COLUMN scenes.keyframe_key; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.keyframe_key IS 'Storage key of the keyframe JPEG.';

--
-- Name: COLUMN scenes.created_at; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.created_at IS 'When the pipeline wrote the scene.';

--
-- Name: COLUMN scenes.stem_config; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.stem_config IS 'Stemming configuration of the video''s language (set from videos.language by a trigger).';

--
-- Name: COLUMN scenes.tsv_stem; Type: COMMENT; Schema: app_public; Owner: -
--

COMMENT ON COLUMN app_public.scenes.tsv_stem IS 'Transcript (A) and on-screen text (B) stemmed in stem_config (app_hidden.simple_folded: the words with their accents folded); empty for simple.';

--
-- Name: user_stats; Type: VIEW; Schema: app_private; Owner: -
--

CREATE VIEW app_private.user_stats AS
 SELECT v.owner_id,
    count(*) AS videos,
    count(*) FILTER (WHERE (v.state = 'indexed'::text)) AS indexed,
    count(*) FILTER (WHERE (v.state = ANY (ARRAY['uploaded'::text, 'validating'::text, 'processing'::text]))) AS in_progress,
    count(*) FILTER (WHERE (v.state = 'failed'::text)) AS failed,
    COALESCE(sum(v.byte_size), (0)::numeric) AS bytes,
    COALESCE(sum(v.duration_s), (0)::double precision) AS seconds,
    ( SELECT count(*) AS count
           FROM app_public.scenes s
          WHERE (s.owner_id = v.owner_id)) AS scenes,
    max(v.created_at) AS last_upload_at,
    (array_agg(v.error ORDER BY v.updated_at DESC) FILTER (WHERE (v.state = 'failed'::text)))[1] AS last_error,
    COALESCE(sum(v.playback_bytes), (0)::numeric) AS playback_bytes
   FROM app_public.videos v
  GROUP BY v.owner_id;

--
-- Name: VIEW user_stats; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON VIEW app_private.user_stats IS 'Per-user counts of videos by state, storage (bytes: the uploads; playback_bytes: their browser-playable copies), scenes and the latest failure.';

--
-- Name: video_chunks; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.video_chunks (
    video_id uuid NOT NULL,
    step text NOT NULL,
    chunk integer NOT NULL,
    start_s double precision NOT NULL,
    end_s double precision NOT NULL,
    last boolean NOT NULL,
    product jsonb NOT NULL,
    keys text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT video_chunks_check CHECK ((end_s >= start_s)),
    CONSTRAINT video_chunks_chunk_check CHECK ((chunk >= 0)),
    CONSTRAINT video_chunks_start_s_check CHECK ((start_s >= (0)::double precision)),
    CONSTRAINT video_chunks_step_check CHECK ((step = ANY (ARRAY['transcribe'::text, 'index'::text])))
);

--
-- Name: TABLE video_chunks; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.video_chunks IS 'Per-chunk products of videos__transcribe and videos__index, until the last chunk assembles them.';

--
-- Name: video_transcripts; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.video_transcripts (
    video_id uuid NOT NULL,
    source text NOT NULL,
    language text,
    model text,
    segments jsonb DEFAULT '[]'::jsonb NOT NULL,
    missing boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT video_transcripts_segments_check CHECK ((jsonb_typeof(segments) = 'array'::text)),
    CONSTRAINT video_transcripts_source_check CHECK ((source = ANY (ARRAY['subtitles'::text, 'asr'::text, 'none'::text])))
);

--
-- Name: TABLE video_transcripts; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.video_transcripts IS 'Transcript handed from videos__transcribe to videos__index.';

--
-- Name: worker_heartbeats; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.worker_heartbeats (
    worker_id text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    seen_at timestamp with time zone DEFAULT now() NOT NULL,
    process_scope text,
    process_id integer
);

--
-- Name: TABLE worker_heartbeats; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.worker_heartbeats IS 'Last sign of life of each graphile-worker pool (its locked_by id).';

--
-- Name: COLUMN worker_heartbeats.process_scope; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON COLUMN app_private.worker_heartbeats.process_scope IS 'The pid space of the worker process (boot id and pid namespace); null where the platform does not tell.';

--
-- Name: COLUMN worker_heartbeats.process_id; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON COLUMN app_private.worker_heartbeats.process_id IS 'The worker''s operating-system process id within process_scope.';

--
-- Name: scene_half_vecs scene_half_vecs_pkey; Type: CONSTRAINT; Schema: app_hidden; Owner: -
--

ALTER TABLE ONLY app_hidden.scene_half_vecs
    ADD CONSTRAINT scene_half_vecs_pkey PRIMARY KEY (owner_id, video_id, scene_id, space);

--
-- Name: scene_terms scene_terms_pkey; Type: CONSTRAINT; Schema: app_hidden; Owner: -
--

ALTER TABLE ONLY app_hidden.scene_terms
    ADD CONSTRAINT scene_terms_pkey PRIMARY KEY (owner_id, kind, lexeme, src, scene_id) INCLUDE (video_id, impact);

--
-- Name: video_scene_counts video_scene_counts_pkey; Type: CONSTRAINT; Schema: app_hidden; Owner: -
--

ALTER TABLE ONLY app_hidden.video_scene_counts
    ADD CONSTRAINT video_scene_counts_pkey PRIMARY KEY (video_id);

--
-- Name: playback_parts playback_parts_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.playback_parts
    ADD CONSTRAINT playback_parts_pkey PRIMARY KEY (video_id, part);

--
-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash);

--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: video_chunks video_chunks_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.video_chunks
    ADD CONSTRAINT video_chunks_pkey PRIMARY KEY (video_id, step, chunk);

--
-- Name: video_transcripts video_transcripts_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.video_transcripts
    ADD CONSTRAINT video_transcripts_pkey PRIMARY KEY (video_id);

--
-- Name: worker_heartbeats worker_heartbeats_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.worker_heartbeats
    ADD CONSTRAINT worker_heartbeats_pkey PRIMARY KEY (worker_id);

--
-- Name: faces faces_pkey; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.faces
    ADD CONSTRAINT faces_pkey PRIMARY KEY (id);

--
-- Name: persons persons_id_owner_id_key; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.persons
    ADD CONSTRAINT persons_id_owner_id_key UNIQUE (id, owner_id);

--
-- Name: persons persons_pkey; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.persons
    ADD CONSTRAINT persons_pkey PRIMARY KEY (id);

--
-- Name: scenes scenes_id_owner_id_key; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.scenes
    ADD CONSTRAINT scenes_id_owner_id_key UNIQUE (id, owner_id);

--
-- Name: scenes scenes_pkey; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.scenes
    ADD CONSTRAINT scenes_pkey PRIMARY KEY (id);

--
-- Name: scenes scenes_video_id_ordinal_key; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.scenes
    ADD CONSTRAINT scenes_video_id_ordinal_key UNIQUE (video_id, ordinal);

--
-- Name: videos videos_id_owner_id_key; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.videos
    ADD CONSTRAINT videos_id_owner_id_key UNIQUE (id, owner_id);

--
-- Name: videos videos_pkey; Type: CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.videos
    ADD CONSTRAINT videos_pkey PRIMARY KEY (id);

--
-- Name: scene_half_vecs_scene_id_idx; Type: INDEX; Schema: app_hidden; Owner: -
--

CREATE INDEX scene_half_vecs_scene_id_idx ON app_hidden.scene_half_vecs USING btree (scene_id);

--
-- Name: scene_terms_scene_id_idx; Type: INDEX; Schema: app_hidden; Owner: -
--

CREATE INDEX scene_terms_scene_id_idx ON app_hidden.scene_terms USING btree (scene_id);

--
-- Name: scene_terms_tag_impact_idx; Type: INDEX; Schema: app_hidden; Owner: -
--

CREATE INDEX scene_terms_tag_impact_idx ON app_hidden.scene_terms USING btree (owner_id, lexeme, impact DESC, scene_id) INCLUDE (video_id) WHERE (kind = 't'::"char");

--
-- Name: video_scene_counts_owner_id_idx; Type: INDEX; Schema: app_hidden; Owner: -
--

CREATE INDEX video_scene_counts_owner_id_idx ON app_hidden.video_scene_counts USING btree (owner_id) INCLUDE (scenes);

--
-- Name: refresh_tokens_session_id_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX refresh_tokens_session_id_idx ON app_private.refresh_tokens USING btree (session_id);

--
-- Name: sessions_user_id_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX sessions_user_id_idx ON app_private.sessions USING btree (user_id);

--
-- Name: users_email_key; Type: INDEX; Schema: app_private; Owner: -
--

CREATE UNIQUE INDEX users_email_key ON app_private.users USING btree (lower(email));

--
-- Name: video_chunks_keys_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX video_chunks_keys_idx ON app_private.video_chunks USING gin (keys);

--
-- Name: faces_embedding_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX faces_embedding_idx ON app_public.faces USING hnsw (embedding public.vector_cosine_ops);

--
-- Name: faces_owner_id_created_at_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX faces_owner_id_created_at_idx ON app_public.faces USING btree (owner_id, created_at);

--
-- Name: faces_owner_id_person_id_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX faces_owner_id_person_id_idx ON app_public.faces USING btree (owner_id) WHERE (person_id IS NULL);

--
-- Name: faces_person_id_owner_id_scene_id_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX faces_person_id_owner_id_scene_id_idx ON app_public.faces USING btree (person_id, owner_id, scene_id);

--
-- Name: faces_person_id_owner_id_video_id_scene_id_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX faces_person_id_owner_id_video_id_scene_id_idx ON app_public.faces USING btree (person_id, owner_id, video_id, scene_id);

--
-- Name: faces_scene_id_owner_id_person_id_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX faces_scene_id_owner_id_person_id_idx ON app_public.faces USING btree (scene_id, owner_id, person_id);

--
-- Name: faces_video_id_owner_id_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX faces_video_id_owner_id_idx ON app_public.faces USING btree (video_id, owner_id);

--
-- Name: persons_owner_id_name_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX persons_owner_id_name_idx ON app_public.persons USING btree (owner_id, name);

--
-- Name: scenes_image_vec_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX scenes_image_vec_idx ON app_public.scenes USING hnsw (image_vec public.vector_cosine_ops) WITH (m='16', ef_construction='128');

--
-- Name: scenes_ocr_text_trgm_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX scenes_ocr_text_trgm_idx ON app_public.scenes USING gin (ocr_text public.gin_trgm_ops);

--
-- Name: scenes_owner_id_video_id_start_s_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX scenes_owner_id_video_id_start_s_idx ON app_public.scenes USING btree (owner_id, video_id, start_s);

--
-- Name: scenes_text_vec_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX scenes_text_vec_idx ON app_public.scenes USING hnsw (text_vec public.vector_cosine_ops) WITH (m='16', ef_construction='128');

--
-- Name: scenes_tsv_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX scenes_tsv_idx ON app_public.scenes USING gin (tsv);

--
-- Name: scenes_tsv_words_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX scenes_tsv_words_idx ON app_public.scenes USING gin (((tsv || tsv_stem)));

--
-- Name: scenes_video_id_owner_id_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX scenes_video_id_owner_id_idx ON app_public.scenes USING btree (video_id, owner_id);

--
-- Name: videos_object_key_key; Type: INDEX; Schema: app_public; Owner: -
--

CREATE UNIQUE INDEX videos_object_key_key ON app_public.videos USING btree (object_key);

--
-- Name: videos_owner_id_created_at_id_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX videos_owner_id_created_at_id_idx ON app_public.videos USING btree (owner_id, created_at, id);

--
-- Name: videos_owner_id_language_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX videos_owner_id_language_idx ON app_public.videos USING btree (owner_id, language);

--
-- Name: videos_state_idx; Type: INDEX; Schema: app_public; Owner: -
--

CREATE INDEX videos_state_idx ON app_public.videos USING btree (state) WHERE (state <> 'indexed'::text);

--
-- Name: persons _100_set_updated_at; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app_public.persons FOR EACH ROW EXECUTE FUNCTION app_private.tg__set_updated_at();

--
-- Name: videos _100_set_updated_at; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _100_set_updated_at BEFORE UPDATE ON app_public.videos FOR EACH ROW EXECUTE FUNCTION app_private.tg__set_updated_at();

--
-- Name: scenes _100_tsv; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _100_tsv BEFORE INSERT OR UPDATE OF transcript, ocr_text, tags, tsv ON app_public.scenes FOR EACH ROW EXECUTE FUNCTION app_private.tg_scenes__tsv();

--
-- Name: scenes _200_stem_config; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _200_stem_config BEFORE INSERT OR UPDATE OF video_id, transcript, ocr_text ON app_public.scenes FOR EACH ROW EXECUTE FUNCTION app_private.tg_scenes__stem_config();

--
-- Name: videos _200_stem_config; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _200_stem_config AFTER UPDATE OF language ON app_public.videos FOR EACH ROW WHEN ((old.language IS DISTINCT FROM new.language)) EXECUTE FUNCTION app_private.tg_videos__stem_config();

--
-- Name: scenes _300_terms; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _300_terms AFTER INSERT OR UPDATE OF transcript, ocr_text, tags, stem_config, video_id, owner_id ON app_public.scenes FOR EACH ROW EXECUTE FUNCTION app_private.tg_scenes__terms();

--
-- Name: scenes _310_counts_delete; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _310_counts_delete AFTER DELETE ON app_public.scenes REFERENCING OLD TABLE AS old_scenes FOR EACH STATEMENT EXECUTE FUNCTION app_private.tg_scenes__counts_delete();

--
-- Name: scenes _310_counts_insert; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _310_counts_insert AFTER INSERT ON app_public.scenes REFERENCING NEW TABLE AS new_scenes FOR EACH STATEMENT EXECUTE FUNCTION app_private.tg_scenes__counts_insert();

--
-- Name: scenes _310_counts_move; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _310_counts_move AFTER UPDATE OF video_id ON app_public.scenes FOR EACH ROW WHEN ((old.video_id IS DISTINCT FROM new.video_id)) EXECUTE FUNCTION app_private.tg_scenes__counts_move();

--
-- Name: scenes _310_counts_truncate; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _310_counts_truncate AFTER TRUNCATE ON app_public.scenes FOR EACH STATEMENT EXECUTE FUNCTION app_private.tg_scenes__counts_truncate();

--
-- Name: scenes _310_half_vecs; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _310_half_vecs AFTER INSERT OR UPDATE OF text_vec, image_vec, video_id, owner_id ON app_public.scenes FOR EACH ROW EXECUTE FUNCTION app_private.tg_scenes__half_vecs();

--
-- Name: persons _500_attach_on_naming; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _500_attach_on_naming AFTER UPDATE OF name ON app_public.persons FOR EACH ROW WHEN (((old.name IS NULL) AND (new.name IS NOT NULL))) EXECUTE FUNCTION app_private.tg_persons__attach_on_naming();

--
-- Name: videos _500_enqueue_validate; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _500_enqueue_validate AFTER INSERT ON app_public.videos FOR EACH ROW EXECUTE FUNCTION app_private.tg__add_job('videos__validate');

--
-- Name: persons _500_forget_enrolment; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _500_forget_enrolment BEFORE DELETE ON app_public.persons FOR EACH ROW EXECUTE FUNCTION app_private.tg_persons__forget_enrolment();

--
-- Name: videos _500_forget_objects; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _500_forget_objects BEFORE DELETE ON app_public.videos FOR EACH ROW EXECUTE FUNCTION app_private.tg_videos__forget_objects();

--
-- Name: faces _900_forget_objects; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _900_forget_objects AFTER DELETE ON app_public.faces REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION app_private.tg_faces__forget_objects();

--
-- Name: videos _900_notify_insert; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _900_notify_insert AFTER INSERT ON app_public.videos FOR EACH ROW EXECUTE FUNCTION app_private.tg_videos__notify();

--
-- Name: videos _900_notify_update; Type: TRIGGER; Schema: app_public; Owner: -
--

CREATE TRIGGER _900_notify_update AFTER UPDATE ON app_public.videos FOR EACH ROW WHEN (((old.state IS DISTINCT FROM new.state) OR (old.stage IS DISTINCT FROM new.stage) OR (old.progress IS DISTINCT FROM new.progress) OR (old.error IS DISTINCT FROM new.error) OR (old.playback_state IS DISTINCT FROM new.playback_state))) EXECUTE FUNCTION app_private.tg_videos__notify();

--
-- Name: scene_half_vecs scene_half_vecs_scene_id_owner_id_fkey; Type: FK CONSTRAINT; Schema: app_hidden; Owner: -
--

ALTER TABLE ONLY app_hidden.scene_half_vecs
    ADD CONSTRAINT scene_half_vecs_scene_id_owner_id_fkey FOREIGN KEY (scene_id, owner_id) REFERENCES app_public.scenes(id, owner_id) ON DELETE CASCADE;

--
-- Name: scene_terms scene_terms_scene_id_owner_id_fkey; Type: FK CONSTRAINT; Schema: app_hidden; Owner: -
--

ALTER TABLE ONLY app_hidden.scene_terms
    ADD CONSTRAINT scene_terms_scene_id_owner_id_fkey FOREIGN KEY (scene_id, owner_id) REFERENCES app_public.scenes(id, owner_id) ON DELETE CASCADE;

--
-- Name: video_scene_counts video_scene_counts_video_id_owner_id_fkey; Type: FK CONSTRAINT; Schema: app_hidden; Owner: -
--

ALTER TABLE ONLY app_hidden.video_scene_counts
    ADD CONSTRAINT video_scene_counts_video_id_owner_id_fkey FOREIGN KEY (video_id, owner_id) REFERENCES app_public.videos(id, owner_id) ON DELETE CASCADE;

--
-- Name: playback_parts playback_parts_video_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.playback_parts
    ADD CONSTRAINT playback_parts_video_id_fkey FOREIGN KEY (video_id) REFERENCES app_public.videos(id) ON DELETE CASCADE;

--
-- Name: refresh_tokens refresh_tokens_session_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.refresh_tokens
    ADD CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES app_private.sessions(id) ON DELETE CASCADE;

--
-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES app_private.users(id) ON DELETE CASCADE;

--
-- Name: video_chunks video_chunks_video_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.video_chunks
    ADD CONSTRAINT video_chunks_video_id_fkey FOREIGN KEY (video_id) REFERENCES app_public.videos(id) ON DELETE CASCADE;

--
-- Name: video_transcripts video_transcripts_video_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.video_transcripts
    ADD CONSTRAINT video_transcripts_video_id_fkey FOREIGN KEY (video_id) REFERENCES app_public.videos(id) ON DELETE CASCADE;

--
-- Name: faces faces_person_id_owner_id_fkey; Type: FK CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.faces
    ADD CONSTRAINT faces_person_id_owner_id_fkey FOREIGN KEY (person_id, owner_id) REFERENCES app_public.persons(id, owner_id) ON DELETE SET NULL (person_id);

--
-- Name: faces faces_scene_id_owner_id_fkey; Type: FK CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.faces
    ADD CONSTRAINT faces_scene_id_owner_id_fkey FOREIGN KEY (scene_id, owner_id) REFERENCES app_public.scenes(id, owner_id) ON DELETE CASCADE;

--
-- Name: faces faces_video_id_owner_id_fkey; Type: FK CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.faces
    ADD CONSTRAINT faces_video_id_owner_id_fkey FOREIGN KEY (video_id, owner_id) REFERENCES app_public.videos(id, owner_id) ON DELETE CASCADE;

--
-- Name: scenes scenes_video_id_owner_id_fkey; Type: FK CONSTRAINT; Schema: app_public; Owner: -
--

ALTER TABLE ONLY app_public.scenes
    ADD CONSTRAINT scenes_video_id_owner_id_fkey FOREIGN KEY (video_id, owner_id) REFERENCES app_public.videos(id, owner_id) ON DELETE CASCADE;

--
-- Name: scene_half_vecs; Type: ROW SECURITY; Schema: app_hidden; Owner: -
--

ALTER TABLE app_hidden.scene_half_vecs ENABLE ROW LEVEL SECURITY;

--
-- Name: scene_terms; Type: ROW SECURITY; Schema: app_hidden; Owner: -
--

ALTER TABLE app_hidden.scene_terms ENABLE ROW LEVEL SECURITY;

--
-- Name: scene_half_vecs select_own; Type: POLICY; Schema: app_hidden; Owner: -
--

CREATE POLICY select_own ON app_hidden.scene_half_vecs FOR SELECT TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: scene_terms select_own; Type: POLICY; Schema: app_hidden; Owner: -
--

CREATE POLICY select_own ON app_hidden.scene_terms FOR SELECT TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: video_scene_counts select_own; Type: POLICY; Schema: app_hidden; Owner: -
--

CREATE POLICY select_own ON app_hidden.video_scene_counts FOR SELECT TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: video_scene_counts; Type: ROW SECURITY; Schema: app_hidden; Owner: -
--

ALTER TABLE app_hidden.video_scene_counts ENABLE ROW LEVEL SECURITY;

--
-- Name: playback_parts; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.playback_parts ENABLE ROW LEVEL SECURITY;

--
-- Name: refresh_tokens; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.refresh_tokens ENABLE ROW LEVEL SECURITY;

--
-- Name: sessions; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.sessions ENABLE ROW LEVEL SECURITY;

--
-- Name: users; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.users ENABLE ROW LEVEL SECURITY;

--
-- Name: video_chunks; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.video_chunks ENABLE ROW LEVEL SECURITY;

--
-- Name: video_transcripts; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.video_transcripts ENABLE ROW LEVEL SECURITY;

--
-- Name: worker_heartbeats; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.worker_heartbeats ENABLE ROW LEVEL SECURITY;

--
-- Name: persons delete_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY delete_own ON app_public.persons FOR DELETE TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: videos delete_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY delete_own ON app_public.videos FOR DELETE TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: faces; Type: ROW SECURITY; Schema: app_public; Owner: -
--

ALTER TABLE app_public.faces ENABLE ROW LEVEL SECURITY;

--
-- Name: faces insert_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY insert_own ON app_public.faces FOR INSERT TO authenticated WITH CHECK (((owner_id = ( SELECT auth.uid() AS uid)) AND (scene_id IS NULL) AND (video_id IS NULL) AND (photo_key ~~ (('u/'::text || (owner_id)::text) || '/%'::text))));

--
-- Name: persons insert_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY insert_own ON app_public.persons FOR INSERT TO authenticated WITH CHECK ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: videos insert_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY insert_own ON app_public.videos FOR INSERT TO authenticated WITH CHECK (((owner_id = ( SELECT auth.uid() AS uid)) AND (object_key ~~ (('u/'::text || (owner_id)::text) || '/%'::text)) AND ((subtitle_key IS NULL) OR (subtitle_key ~~ (('u/'::text || (owner_id)::text) || '/%'::text)))));

--
-- Name: persons; Type: ROW SECURITY; Schema: app_public; Owner: -
--

ALTER TABLE app_public.persons ENABLE ROW LEVEL SECURITY;

--
-- Name: scenes; Type: ROW SECURITY; Schema: app_public; Owner: -
--

ALTER TABLE app_public.scenes ENABLE ROW LEVEL SECURITY;

--
-- Name: faces select_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY select_own ON app_public.faces FOR SELECT TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: persons select_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY select_own ON app_public.persons FOR SELECT TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: scenes select_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY select_own ON app_public.scenes FOR SELECT TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: videos select_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY select_own ON app_public.videos FOR SELECT TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: videos select_worker; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY select_worker ON app_public.videos FOR SELECT TO heimdex_worker USING (true);

--
-- Name: faces update_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY update_own ON app_public.faces FOR UPDATE TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: persons update_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY update_own ON app_public.persons FOR UPDATE TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: videos update_own; Type: POLICY; Schema: app_public; Owner: -
--

CREATE POLICY update_own ON app_public.videos FOR UPDATE TO authenticated USING ((owner_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((owner_id = ( SELECT auth.uid() AS uid)));

--
-- Name: videos; Type: ROW SECURITY; Schema: app_public; Owner: -
--

ALTER TABLE app_public.videos ENABLE ROW LEVEL SECURITY;

--
-- Name: SCHEMA app_hidden; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA app_hidden TO anon;
GRANT USAGE ON SCHEMA app_hidden TO authenticated;

--
-- Name: SCHEMA app_private; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA app_private TO heimdex_worker;
GRANT USAGE ON SCHEMA app_private TO heimdex_auth;

--
-- Name: SCHEMA app_public; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA app_public TO anon;
GRANT USAGE ON SCHEMA app_public TO authenticated;
GRANT USAGE ON SCHEMA app_public TO heimdex_worker;

--
-- Name: SCHEMA auth; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA auth TO anon;
GRANT USAGE ON SCHEMA auth TO authenticated;
GRANT USAGE ON SCHEMA auth TO service_role;
GRANT USAGE ON SCHEMA auth TO heimdex_worker;

--
-- Name: FUNCTION box_iou(a real[], b real[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.box_iou(a real[], b real[]) FROM PUBLIC;

--
-- Name: FUNCTION cjk_letters(); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.cjk_letters() FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.cjk_letters() TO authenticated;

--
-- Name: FUNCTION cjk_words(t text, unigrams boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.cjk_words(t text, unigrams boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.cjk_words(t text, unigrams boolean) TO authenticated;

--
-- Name: FUNCTION common_prefix(a text, b text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.common_prefix(a text, b text) FROM PUBLIC;

--
-- Name: FUNCTION drop_empty_groups(owner_id uuid); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.drop_empty_groups(owner_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.drop_empty_groups(owner_id uuid) TO authenticated;

--
-- Name: FUNCTION face_calibration(face_model text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.face_calibration(face_model text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.face_calibration(face_model text) TO authenticated;

--
-- Name: FUNCTION face_crop_key(owner_id uuid, face_id uuid); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.face_crop_key(owner_id uuid, face_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.face_crop_key(owner_id uuid, face_id uuid) TO authenticated;

--
-- Name: FUNCTION index_text(t text, unigrams boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.index_text(t text, unigrams boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.index_text(t text, unigrams boolean) TO authenticated;

--
-- Name: FUNCTION person_attach(person_id uuid); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.person_attach(person_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.person_attach(person_id uuid) TO authenticated;

--
-- Name: FUNCTION scene_terms_of(tsv tsvector, tsv_stem tsvector, stem_config regconfig, tags jsonb); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.scene_terms_of(tsv tsvector, tsv_stem tsvector, stem_config regconfig, tags jsonb) FROM PUBLIC;

--
-- Name: FUNCTION scene_tsv(transcript text, ocr_text text, tags jsonb); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.scene_tsv(transcript text, ocr_text text, tags jsonb) FROM PUBLIC;

--
-- Name: FUNCTION search_bits_weight(weights double precision[], bits bigint); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_bits_weight(weights double precision[], bits bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_bits_weight(weights double precision[], bits bigint) TO authenticated;

--
-- Name: FUNCTION search_compound_parts(lexemes text[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_compound_parts(lexemes text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_compound_parts(lexemes text[]) TO authenticated;

--
-- Name: FUNCTION search_escape_html(t text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_escape_html(t text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_escape_html(t text) TO authenticated;

--
-- Name: FUNCTION search_forms(w text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_forms(w text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_forms(w text) TO authenticated;

--
-- Name: FUNCTION search_highlight(src text, q tsquery); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_highlight(src text, q tsquery) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_highlight(src text, q tsquery) TO authenticated;

--
-- Name: FUNCTION search_label_start(w text, stem text, stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_label_start(w text, stem text, stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_label_start(w text, stem text, stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_label_stem(w text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_label_stem(w text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_label_stem(w text) TO authenticated;

--
-- Name: FUNCTION search_names(lw text, w text, stem text, stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_names(lw text, w text, stem text, stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_names(lw text, w text, stem text, stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_ocr_fuzzy(words text[], fuzzy boolean[], video_ids uuid[], person_many uuid[], exclude uuid[], n integer); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_ocr_fuzzy(words text[], fuzzy boolean[], video_ids uuid[], person_many uuid[], exclude uuid[], n integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_ocr_fuzzy(words text[], fuzzy boolean[], video_ids uuid[], person_many uuid[], exclude uuid[], n integer) TO authenticated;

--
-- Name: FUNCTION search_persons_of(scene_ids uuid[], owner_id uuid); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_persons_of(scene_ids uuid[], owner_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_persons_of(scene_ids uuid[], owner_id uuid) TO authenticated;

--
-- Name: FUNCTION search_postings(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_postings(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_postings(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_prefix(w text, stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_prefix(w text, stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_prefix(w text, stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_query_words(query text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_query_words(query text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_query_words(query text) TO authenticated;

--
-- Name: FUNCTION search_range_rows(uid uuid, row_kind "char", row_kind2 "char", lexeme text, hi text, video_ids uuid[], person_many uuid[], person_scenes uuid[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_range_rows(uid uuid, row_kind "char", row_kind2 "char", lexeme text, hi text, video_ids uuid[], person_many uuid[], person_scenes uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_range_rows(uid uuid, row_kind "char", row_kind2 "char", lexeme text, hi text, video_ids uuid[], person_many uuid[], person_scenes uuid[]) TO authenticated;

--
-- Name: FUNCTION search_rank(tsv tsvector, q tsquery); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_rank(tsv tsvector, q tsquery) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_rank(tsv tsvector, q tsquery) TO authenticated;

--
-- Name: FUNCTION search_scene_matches(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_scene_matches(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_scene_matches(uid uuid, video_ids uuid[], person_many uuid[], person_scenes uuid[], range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[], tag_word integer[], tag_lexeme text[], tag_hi text[], tag_check boolean[], tag_words text[], label_stems text[], stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_similarity(space text, cosine double precision); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_similarity(space text, cosine double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_similarity(space text, cosine double precision) TO authenticated;

--
-- Name: FUNCTION search_snippet(transcript text, ocr_text text, q tsquery, tsv tsvector); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_snippet(transcript text, ocr_text text, q tsquery, tsv tsvector) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_snippet(transcript text, ocr_text text, q tsquery, tsv tsvector) TO authenticated;

--
-- Name: FUNCTION search_snippet_query(q tsquery, tsv tsvector, config regconfig, stems text[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_snippet_query(q tsquery, tsv tsvector, config regconfig, stems text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_snippet_query(q tsquery, tsv tsvector, config regconfig, stems text[]) TO authenticated;

--
-- Name: FUNCTION search_stem_rows(uid uuid, row_kind "char", lexeme text, src_from text, src_before text, video_ids uuid[], person_many uuid[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_stem_rows(uid uuid, row_kind "char", lexeme text, src_from text, src_before text, video_ids uuid[], person_many uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_stem_rows(uid uuid, row_kind "char", lexeme text, src_from text, src_before text, video_ids uuid[], person_many uuid[]) TO authenticated;

--
-- Name: FUNCTION search_stem_start(stem text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_stem_start(stem text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_stem_start(stem text) TO authenticated;

--
-- Name: FUNCTION search_stem_tsquery(words text[], configs regconfig[], weights text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_stem_tsquery(words text[], configs regconfig[], weights text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_stem_tsquery(words text[], configs regconfig[], weights text) TO authenticated;

--
-- Name: FUNCTION search_stemming(configs regconfig[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_stemming(configs regconfig[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_stemming(configs regconfig[]) TO authenticated;

--
-- Name: FUNCTION search_tag_score(tags jsonb, words text[], stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_tag_score(tags jsonb, words text[], stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_tag_score(tags jsonb, words text[], stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_tag_score(tags jsonb, words text[], stems text[], stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_tag_score(tags jsonb, words text[], stems text[], stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_tag_score(tags jsonb, words text[], stems text[], stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_tag_words(word_forms text[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_tag_words(word_forms text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_tag_words(word_forms text[]) TO authenticated;

--
-- Name: FUNCTION search_tsquery(words text[], weights text, stemming boolean); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_tsquery(words text[], weights text, stemming boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_tsquery(words text[], weights text, stemming boolean) TO authenticated;

--
-- Name: FUNCTION search_word_estimate(weights double precision[], idf_total double precision, mask bigint, written bigint, rank real, stem_rank real); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_word_estimate(weights double precision[], idf_total double precision, mask bigint, written bigint, rank real, stem_rank real) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_word_estimate(weights double precision[], idf_total double precision, mask bigint, written bigint, rank real, stem_rank real) TO authenticated;

--
-- Name: FUNCTION search_word_forms(words text[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_word_forms(words text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_word_forms(words text[]) TO authenticated;

--
-- Name: FUNCTION search_word_rows(uid uuid, i integer, word_bit bigint, lead bigint, lead_lexeme text, lead_surface boolean, lead_ranked boolean, range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[]); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.search_word_rows(uid uuid, i integer, word_bit bigint, lead bigint, lead_lexeme text, lead_surface boolean, lead_ranked boolean, range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.search_word_rows(uid uuid, i integer, word_bit bigint, lead bigint, lead_lexeme text, lead_surface boolean, lead_ranked boolean, range_word integer[], range_kind "char"[], range_kind2 "char"[], range_lexeme text[], range_hi text[], range_surface boolean[], range_ranked boolean[], stem_word integer[], stem_kind "char"[], stem_lexeme text[], stem_src_from text[], stem_src_before text[]) TO authenticated;

--
-- Name: FUNCTION stem_config(language text); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.stem_config(language text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.stem_config(language text) TO authenticated;

--
-- Name: FUNCTION tag_text(tags jsonb); Type: ACL; Schema: app_hidden; Owner: -
--

REVOKE ALL ON FUNCTION app_hidden.tag_text(tags jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION app_hidden.tag_text(tags jsonb) TO authenticated;

--
-- Name: FUNCTION add_pipeline_job(task text, payload json, job_key text, queue_name text, job_key_mode text, priority_offset integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.add_pipeline_job(task text, payload json, job_key text, queue_name text, job_key_mode text, priority_offset integer) FROM PUBLIC;

--
-- Name: FUNCTION auth_create_session(user_id uuid, token_hash text, ttl_s integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_create_session(user_id uuid, token_hash text, ttl_s integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_create_session(user_id uuid, token_hash text, ttl_s integer) TO heimdex_auth;

--
-- Name: FUNCTION auth_login(email text, password text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_login(email text, password text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_login(email text, password text) TO heimdex_auth;

--
-- Name: FUNCTION auth_logout_session(session_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_logout_session(session_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_logout_session(session_id uuid) TO heimdex_auth;

--
-- Name: FUNCTION auth_logout_token(token_hash text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_logout_token(token_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_logout_token(token_hash text) TO heimdex_auth;

--
-- Name: FUNCTION auth_logout_user(user_id uuid, keep_session uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_logout_user(user_id uuid, keep_session uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_logout_user(user_id uuid, keep_session uuid) TO heimdex_auth;

--
-- Name: FUNCTION auth_refresh(old_hash text, new_hash text, ttl_s integer, reuse_s integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_refresh(old_hash text, new_hash text, ttl_s integer, reuse_s integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_refresh(old_hash text, new_hash text, ttl_s integer, reuse_s integer) TO heimdex_auth;

--
-- Name: FUNCTION auth_session_active(session_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_session_active(session_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_session_active(session_id uuid) TO heimdex_auth;

--
-- Name: FUNCTION auth_session_user(user_id uuid, session_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_session_user(user_id uuid, session_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_session_user(user_id uuid, session_id uuid) TO heimdex_auth;

--
-- Name: FUNCTION auth_signup(email text, password text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.auth_signup(email text, password text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.auth_signup(email text, password text) TO heimdex_auth;

--
-- Name: FUNCTION enrolment_face_reembedded(face_id uuid, face_model text, box real[], det_score real, embedding jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.enrolment_face_reembedded(face_id uuid, face_model text, box real[], det_score real, embedding jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.enrolment_face_reembedded(face_id uuid, face_model text, box real[], det_score real, embedding jsonb) TO heimdex_worker;

--
-- Name: FUNCTION enrolment_faces_stale(face_model text, max_rows integer, skip uuid[]); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.enrolment_faces_stale(face_model text, max_rows integer, skip uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.enrolment_faces_stale(face_model text, max_rows integer, skip uuid[]) TO heimdex_worker;

--
-- Name: FUNCTION faces_match(face_ids uuid[], deferred boolean); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.faces_match(face_ids uuid[], deferred boolean) FROM PUBLIC;

--
-- Name: FUNCTION faces_recluster(owner_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.faces_recluster(owner_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.faces_recluster(owner_id uuid) TO heimdex_worker;

--
-- Name: FUNCTION faces_write(video_id uuid, face_model text, scenes jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.faces_write(video_id uuid, face_model text, scenes jsonb) FROM PUBLIC;

--
-- Name: FUNCTION fail_crashed_jobs(worker_ids text[]); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.fail_crashed_jobs(worker_ids text[]) FROM PUBLIC;

--
-- Name: FUNCTION job_interrupted(job_id bigint, worker_id text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.job_interrupted(job_id bigint, worker_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.job_interrupted(job_id bigint, worker_id text) TO heimdex_worker;

--
-- Name: FUNCTION job_priority(payload json); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.job_priority(payload json) FROM PUBLIC;

--
-- Name: FUNCTION jsonb_vector(v jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.jsonb_vector(v jsonb) FROM PUBLIC;

--
-- Name: FUNCTION pipeline_chunk_done(video_id uuid, step text, chunk integer, part jsonb, keys text[]); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_chunk_done(video_id uuid, step text, chunk integer, part jsonb, keys text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_chunk_done(video_id uuid, step text, chunk integer, part jsonb, keys text[]) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_chunk_start(video_id uuid, step text, chunk integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_chunk_start(video_id uuid, step text, chunk integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_chunk_start(video_id uuid, step text, chunk integer) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_fail(video_id uuid, error text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_fail(video_id uuid, error text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_fail(video_id uuid, error text) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_indexed(video_id uuid, result jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_indexed(video_id uuid, result jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_indexed(video_id uuid, result jsonb) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_note(video_id uuid, note text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_note(video_id uuid, note text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_note(video_id uuid, note text) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_playback_failed(video_id uuid, reason text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_playback_failed(video_id uuid, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_playback_failed(video_id uuid, reason text) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_playback_part_done(video_id uuid, part integer, parts integer, part_s double precision, key text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_playback_part_done(video_id uuid, part integer, parts integer, part_s double precision, key text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_playback_part_done(video_id uuid, part integer, parts integer, part_s double precision, key text) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_playback_parts(video_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_playback_parts(video_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_playback_parts(video_id uuid) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_playback_planned(video_id uuid, playback jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_playback_planned(video_id uuid, playback jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_playback_planned(video_id uuid, playback jsonb) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_playback_ready(video_id uuid, key text, bytes bigint); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_playback_ready(video_id uuid, key text, bytes bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_playback_ready(video_id uuid, key text, bytes bigint) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_progress(video_id uuid, stage text, done real, lo real, hi real); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_progress(video_id uuid, stage text, done real, lo real, hi real) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_progress(video_id uuid, stage text, done real, lo real, hi real) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_reindex_progress(video_id uuid, stage text, done real); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_reindex_progress(video_id uuid, stage text, done real) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_reindex_progress(video_id uuid, stage text, done real) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_reindexed(video_id uuid, result jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_reindexed(video_id uuid, result jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_reindexed(video_id uuid, result jsonb) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_stage_progress(stage text, done real); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_stage_progress(stage text, done real) FROM PUBLIC;

--
-- Name: FUNCTION pipeline_stored_scenes(video_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_stored_scenes(video_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_stored_scenes(video_id uuid) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_transcribed(video_id uuid, transcript jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_transcribed(video_id uuid, transcript jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_transcribed(video_id uuid, transcript jsonb) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_transcript(video_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_transcript(video_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_transcript(video_id uuid) TO heimdex_worker;

--
-- Name: FUNCTION pipeline_validated(video_id uuid, facts jsonb); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.pipeline_validated(video_id uuid, facts jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.pipeline_validated(video_id uuid, facts jsonb) TO heimdex_worker;

--
-- Name: FUNCTION playback_forget_parts(video_id uuid, owner_id uuid, keep text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.playback_forget_parts(video_id uuid, owner_id uuid, keep text) FROM PUBLIC;

--
-- Name: FUNCTION playback_queue(video_id uuid, plan text, parts integer, part_s double precision); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.playback_queue(video_id uuid, plan text, parts integer, part_s double precision) FROM PUBLIC;

--
-- Name: FUNCTION queue_storage_sweep(every_s integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.queue_storage_sweep(every_s integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.queue_storage_sweep(every_s integer) TO heimdex_worker;

--
-- Name: FUNCTION reindex_missing(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.reindex_missing() FROM PUBLIC;

--
-- Name: FUNCTION reindex_stale(text_model text, image_model text, face_model text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.reindex_stale(text_model text, image_model text, face_model text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.reindex_stale(text_model text, image_model text, face_model text) TO heimdex_worker;

--
-- Name: FUNCTION release_dead_workers(dead_after_s integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.release_dead_workers(dead_after_s integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.release_dead_workers(dead_after_s integer) TO heimdex_worker;

--
-- Name: FUNCTION release_gone_processes(process_scope text, process_ids integer[]); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.release_gone_processes(process_scope text, process_ids integer[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.release_gone_processes(process_scope text, process_ids integer[]) TO heimdex_worker;

--
-- Name: FUNCTION release_workers(worker_ids text[]); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.release_workers(worker_ids text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.release_workers(worker_ids text[]) TO heimdex_worker;

--
-- Name: FUNCTION reprocess_failed(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.reprocess_failed() FROM PUBLIC;

--
-- Name: FUNCTION reprocess_video(video_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.reprocess_video(video_id uuid) FROM PUBLIC;

--
-- Name: FUNCTION tg__add_job(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg__add_job() FROM PUBLIC;

--
-- Name: FUNCTION tg__set_updated_at(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg__set_updated_at() FROM PUBLIC;

--
-- Name: FUNCTION tg_faces__forget_objects(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_faces__forget_objects() FROM PUBLIC;

--
-- Name: FUNCTION tg_persons__attach_on_naming(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_persons__attach_on_naming() FROM PUBLIC;

--
-- Name: FUNCTION tg_persons__forget_enrolment(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_persons__forget_enrolment() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__counts_delete(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__counts_delete() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__counts_insert(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__counts_insert() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__counts_move(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__counts_move() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__counts_truncate(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__counts_truncate() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__half_vecs(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__half_vecs() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__stem_config(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__stem_config() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__terms(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__terms() FROM PUBLIC;

--
-- Name: FUNCTION tg_scenes__tsv(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_scenes__tsv() FROM PUBLIC;

--
-- Name: FUNCTION tg_videos__forget_objects(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_videos__forget_objects() FROM PUBLIC;

--
-- Name: FUNCTION tg_videos__notify(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_videos__notify() FROM PUBLIC;

--
-- Name: FUNCTION tg_videos__stem_config(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_videos__stem_config() FROM PUBLIC;

--
-- Name: FUNCTION unreferenced_keys(keys text[]); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.unreferenced_keys(keys text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.unreferenced_keys(keys text[]) TO heimdex_worker;

--
-- Name: FUNCTION worker_heartbeat(worker_ids text[], host text, process_scope text, process_id integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.worker_heartbeat(worker_ids text[], host text, process_scope text, process_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.worker_heartbeat(worker_ids text[], host text, process_scope text, process_id integer) TO heimdex_worker;

--
-- Name: FUNCTION worker_processes(process_scope text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.worker_processes(process_scope text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_private.worker_processes(process_scope text) TO heimdex_worker;

--
-- Name: TABLE faces; Type: ACL; Schema: app_public; Owner: -
--

GRANT SELECT ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.id; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(id) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.person_id; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(person_id),UPDATE(person_id) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.photo_key; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(photo_key) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.box; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(box) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.det_score; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(det_score) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.embedding; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(embedding) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.face_model; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(face_model) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.assigned_by_user; Type: ACL; Schema: app_public; Owner: -
--

GRANT UPDATE(assigned_by_user) ON TABLE app_public.faces TO authenticated;

--
-- Name: COLUMN faces.photo_sha256; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(photo_sha256) ON TABLE app_public.faces TO authenticated;

--
-- Name: FUNCTION assign_face(face_id uuid, person_id uuid); Type: ACL; Schema: app_public; Owner: -
--

REVOKE ALL ON FUNCTION app_public.assign_face(face_id uuid, person_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_public.assign_face(face_id uuid, person_id uuid) TO authenticated;

--
-- Name: TABLE persons; Type: ACL; Schema: app_public; Owner: -
--

GRANT SELECT,DELETE ON TABLE app_public.persons TO authenticated;

--
-- Name: COLUMN persons.name; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(name),UPDATE(name) ON TABLE app_public.persons TO authenticated;

--
-- Name: FUNCTION merge_persons(source_id uuid, target_id uuid); Type: ACL; Schema: app_public; Owner: -
--

REVOKE ALL ON FUNCTION app_public.merge_persons(source_id uuid, target_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app_public.merge_persons(source_id uuid, target_id uuid) TO authenticated;

--
-- Name: FUNCTION persons_face_count(p app_public.persons); Type: ACL; Schema: app_public; Owner: -
--

REVOKE ALL ON FUNCTION app_public.persons_face_count(p app_public.persons) FROM PUBLIC;
GRANT ALL ON FUNCTION app_public.persons_face_count(p app_public.persons) TO authenticated;

--
-- Name: FUNCTION persons_scene_count(p app_public.persons); Type: ACL; Schema: app_public; Owner: -
--

REVOKE ALL ON FUNCTION app_public.persons_scene_count(p app_public.persons) FROM PUBLIC;
GRANT ALL ON FUNCTION app_public.persons_scene_count(p app_public.persons) TO authenticated;

--
-- Name: FUNCTION persons_thumbnail_key(p app_public.persons); Type: ACL; Schema: app_public; Owner: -
--

REVOKE ALL ON FUNCTION app_public.persons_thumbnail_key(p app_public.persons) FROM PUBLIC;
GRANT ALL ON FUNCTION app_public.persons_thumbnail_key(p app_public.persons) TO authenticated;

--
-- Name: FUNCTION search_scenes(query text, text_embedding real[], image_embedding real[], video_ids uuid[], person_id uuid, w_text real, w_vision real, w_tags real, page_size integer, page_offset integer, text_model text, image_model text); Type: ACL; Schema: app_public; Owner: -
--

REVOKE ALL ON FUNCTION app_public.search_scenes(query text, text_embedding real[], image_embedding real[], video_ids uuid[], person_id uuid, w_text real, w_vision real, w_tags real, page_size integer, page_offset integer, text_model text, image_model text) FROM PUBLIC;
GRANT ALL ON FUNCTION app_public.search_scenes(query text, text_embedding real[], image_embedding real[], video_ids uuid[], person_id uuid, w_text real, w_vision real, w_tags real, page_size integer, page_offset integer, text_model text, image_model text) TO authenticated;

--
-- Name: TABLE videos; Type: ACL; Schema: app_public; Owner: -
--

GRANT SELECT,DELETE ON TABLE app_public.videos TO authenticated;
GRANT SELECT ON TABLE app_public.videos TO heimdex_worker;

--
-- Name: COLUMN videos.title; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(title),UPDATE(title) ON TABLE app_public.videos TO authenticated;

--
-- Name: COLUMN videos.filename; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(filename) ON TABLE app_public.videos TO authenticated;

--
-- Name: COLUMN videos.object_key; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(object_key) ON TABLE app_public.videos TO authenticated;

--
-- Name: COLUMN videos.subtitle_key; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(subtitle_key) ON TABLE app_public.videos TO authenticated;

--
-- Name: COLUMN videos.byte_size; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(byte_size) ON TABLE app_public.videos TO authenticated;

--
-- Name: COLUMN videos.content_type; Type: ACL; Schema: app_public; Owner: -
--

GRANT INSERT(content_type) ON TABLE app_public.videos TO authenticated;

--
-- Name: FUNCTION videos_transcript(v app_public.videos); Type: ACL; Schema: app_public; Owner: -
--

REVOKE ALL ON FUNCTION app_public.videos_transcript(v app_public.videos) FROM PUBLIC;
GRANT ALL ON FUNCTION app_public.videos_transcript(v app_public.videos) TO authenticated;

--
-- Name: TABLE scene_half_vecs; Type: ACL; Schema: app_hidden; Owner: -
--

GRANT SELECT ON TABLE app_hidden.scene_half_vecs TO authenticated;

--
-- Name: TABLE scene_terms; Type: ACL; Schema: app_hidden; Owner: -
--

GRANT SELECT ON TABLE app_hidden.scene_terms TO authenticated;

--
-- Name: TABLE video_scene_counts; Type: ACL; Schema: app_hidden; Owner: -
--

GRANT SELECT ON TABLE app_hidden.video_scene_counts TO authenticated;

--
-- Name: TABLE scenes; Type: ACL; Schema: app_public; Owner: -
--

GRANT SELECT ON TABLE app_public.scenes TO authenticated;

--
-- PostgreSQL database dump complete
--
