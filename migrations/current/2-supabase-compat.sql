/*
 * Why: policies call auth.uid() exactly as on Supabase. On Supabase these
 * functions already exist (and belong to supabase_auth_admin), so they are
 * created only when absent and never replaced. The bodies are Supabase's:
 * they read the request.jwt.claims setting that the API server sets per
 * request (and the older request.jwt.claim.* form).
 */
create schema if not exists auth;

do $$
begin
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid language sql stable as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text language sql stable as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $f$;
  end if;
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb language sql stable as $f$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $f$;
  end if;
  -- On Supabase the auth schema is not ours to grant on, and is already usable.
  begin
    grant usage on schema auth to anon, authenticated, service_role, heimdex_worker;
  exception when insufficient_privilege then
    null;
  end;
end
$$;
