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

--!include search_scenes.sql
