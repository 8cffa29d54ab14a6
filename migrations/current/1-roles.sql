/*
 * Why: every later file grants to these roles. Names follow Supabase (anon,
 * authenticated, service_role) so the same policies run unchanged on a
 * Supabase database; they are created only when absent. heimdex_worker is what
 * the pipeline drops to when it writes scenes, and heimdex_authenticator is the
 * login the API server uses: it owns nothing, has no BYPASSRLS, and can only
 * become anon or authenticated.
 */
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role', 'heimdex_worker', 'heimdex_authenticator'] loop
    if not exists (select from pg_catalog.pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin noinherit', r);
      exception when duplicate_object or unique_violation then
        -- Another session created it concurrently (roles are cluster-wide).
        null;
      end;
    end if;
  end loop;
end
$$;

grant anon, authenticated to heimdex_authenticator;
-- The owner connection (migrations, worker) may drop to the worker role so
-- that scene writes go through the same policies tests exercise.
grant heimdex_worker to current_user;
