/*
 * Why: app_public is the API (PostGraphile exposes exactly this schema),
 * app_hidden holds helpers callers may use but GraphQL does not show, and
 * app_private holds secrets, pipeline state and security definer steps.
 */
create extension if not exists vector;
create extension if not exists pgcrypto;

create schema if not exists app_public;
create schema if not exists app_hidden;
create schema if not exists app_private;

grant usage on schema app_public, app_hidden to anon, authenticated, heimdex_worker;
-- NOTE: no usage on app_private for anon/authenticated: nothing in it is theirs.
grant usage on schema app_private to heimdex_worker;

alter default privileges in schema app_public, app_hidden revoke execute on functions from public;

create or replace function app_private.tg__set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
