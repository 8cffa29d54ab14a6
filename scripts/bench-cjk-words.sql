-- What indexing Chinese and Japanese as character pairs costs a scene write:
-- the tsv expression with and without app_hidden.cjk_words, over 10,000
-- generated transcripts of each kind. Temporary tables only; run against any
-- migrated database:
--   node cli/heimdex.js db psql -- -f scripts/bench-cjk-words.sql
\timing on
\set n 10000
-- English: 15 words of 32 letters, about 500 characters.
create temp table en as
  select string_agg(md5(g::text || i::text), ' ') t from generate_series(1, :n) i, generate_series(1, 15) g group by i;
-- Chinese, 300 characters: one unbroken run, and clauses of 15 between commas.
create temp table zh as
  select string_agg(chr(19968 + ((i * 7919 + g * 104729) % 20000)), '') t
    from generate_series(1, :n) i, generate_series(1, 300) g group by i;
create temp table zh_clauses as
  select string_agg(chr(19968 + ((i * 7919 + g * 104729) % 20000)) || case when g % 15 = 0 then '，' else '' end, '') t
    from generate_series(1, :n) i, generate_series(1, 300) g group by i;
\echo english, as written / through cjk_words
select sum(length(to_tsvector('simple', t))) from en;
select sum(length(to_tsvector('simple', app_hidden.cjk_words(t, true)))) from en;
\echo chinese, one run: as written / through cjk_words
select sum(length(to_tsvector('simple', t))) from zh;
select sum(length(to_tsvector('simple', app_hidden.cjk_words(t, true)))) from zh;
\echo chinese, 20 clauses: through cjk_words / cjk_words alone
select sum(length(to_tsvector('simple', app_hidden.cjk_words(t, true)))) from zh_clauses;
select sum(length(app_hidden.cjk_words(t, true))) from zh_clauses;
