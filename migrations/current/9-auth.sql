/*
 * Why: AUTH_PROVIDER=local keeps users in this database, so a self-hosted
 * install needs no external identity service. Passwords are bcrypt (pgcrypto),
 * refresh tokens are stored only as sha256 hashes and rotate on every use;
 * presenting a rotated token again means it was stolen (or replayed), so the
 * whole session family is revoked. Only the API server's owner connection
 * calls these functions: nothing here is reachable through GraphQL.
 */
drop function if exists app_private.auth_signup(text, text);
drop function if exists app_private.auth_login(text, text);
drop function if exists app_private.auth_create_session(uuid, text, int);
drop function if exists app_private.auth_refresh(text, text, int);
drop function if exists app_private.auth_logout_token(text);
drop function if exists app_private.auth_logout_session(uuid);
drop function if exists app_private.auth_session_active(uuid);
drop table if exists app_private.refresh_tokens;
drop table if exists app_private.sessions;
drop table if exists app_private.users;

create table app_private.users (
  id uuid primary key default gen_random_uuid(),
  email text not null check (email ~ '^[^@\s]+@[^@\s]+$' and char_length(email) <= 320),
  password_hash text not null,
  created_at timestamptz not null default now(),
  last_login_at timestamptz
);
-- Emails are unique regardless of case: Alice@x and alice@x are one account.
create unique index users_email_key on app_private.users (lower(email));

create table app_private.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references app_private.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  refreshed_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_reason text
);
create index sessions_user_id_idx on app_private.sessions (user_id);

create table app_private.refresh_tokens (
  -- sha256 hex of the token: a database dump does not hand out sessions.
  token_hash text primary key check (token_hash ~ '^[0-9a-f]{64}$'),
  session_id uuid not null references app_private.sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  rotated_at timestamptz
);
create index refresh_tokens_session_id_idx on app_private.refresh_tokens (session_id);

alter table app_private.users enable row level security;
alter table app_private.sessions enable row level security;
alter table app_private.refresh_tokens enable row level security;
-- NOTE: no policies and no grants: only the owner (the API server's
-- bookkeeping connection) touches these tables, through the functions below.

-- The functions are security definer with an empty search_path, so a
-- caller's search_path cannot redirect crypt() or the tables. (graphile-migrate
-- 1.4 has no `--! include`, so the bodies live here rather than in fixtures/.)

-- Creates a user; null when the email is already registered.
create function app_private.auth_signup(email text, password text)
returns app_private.users
language plpgsql volatile security definer
set search_path = ''
as $$
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

-- The user when email and password match, else null. An unknown email still
-- pays for one bcrypt comparison, so timing does not reveal which emails exist.
create function app_private.auth_login(email text, password text)
returns app_private.users
language plpgsql volatile security definer
set search_path = ''
as $$
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
$$;

-- Opens a session with its first refresh token (already hashed by the caller).
create function app_private.auth_create_session(user_id uuid, token_hash text, ttl_s int)
returns uuid
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  sid uuid;
begin
  insert into app_private.sessions (user_id) values (auth_create_session.user_id) returning id into sid;
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
    values (auth_create_session.token_hash, sid, now() + make_interval(secs => ttl_s));
  return sid;
end;
$$;

-- Swaps a refresh token for a new one in the same session. Returns no row
-- when the token is unknown, expired or its session revoked. A token that
-- was already rotated is a replay: the whole session is revoked (and that
-- revocation commits, because this function returns instead of raising).
create function app_private.auth_refresh(old_hash text, new_hash text, ttl_s int)
returns table (user_id uuid, email text, session_id uuid)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  t app_private.refresh_tokens;
  s app_private.sessions;
begin
  select * into t from app_private.refresh_tokens where token_hash = old_hash for update;
  if t.token_hash is null then
    return;
  end if;
  select * into s from app_private.sessions where id = t.session_id for update;
  if s.revoked_at is not null then
    return;
  end if;
  if t.rotated_at is not null then
    update app_private.sessions set revoked_at = now(), revoked_reason = 'refresh token reused'
      where id = s.id;
    return;
  end if;
  if t.expires_at <= now() then
    return;
  end if;
  update app_private.refresh_tokens set rotated_at = now() where token_hash = old_hash;
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
    values (new_hash, s.id, now() + make_interval(secs => ttl_s));
  update app_private.sessions set refreshed_at = now() where id = s.id;
  return query select u.id, u.email, s.id from app_private.users u where u.id = s.user_id;
end;
$$;

-- Logout by refresh token: true when a live session was ended.
create function app_private.auth_logout_token(token_hash text)
returns boolean
language sql volatile security definer
set search_path = ''
as $$
  with t as (select session_id from app_private.refresh_tokens r where r.token_hash = auth_logout_token.token_hash)
  update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
    from t where s.id = t.session_id and s.revoked_at is null
  returning true
$$;

-- Logout by access token (its session_id claim).
create function app_private.auth_logout_session(session_id uuid)
returns boolean
language sql volatile security definer
set search_path = ''
as $$
  update app_private.sessions s set revoked_at = now(), revoked_reason = 'logout'
    where s.id = auth_logout_session.session_id and s.revoked_at is null
  returning true
$$;

create function app_private.auth_session_active(session_id uuid)
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (select from app_private.sessions s where s.id = auth_session_active.session_id and s.revoked_at is null)
$$;

revoke all on function app_private.auth_signup(text, text), app_private.auth_login(text, text),
  app_private.auth_create_session(uuid, text, int), app_private.auth_refresh(text, text, int),
  app_private.auth_logout_token(text), app_private.auth_logout_session(uuid),
  app_private.auth_session_active(uuid) from public;
