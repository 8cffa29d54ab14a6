#!/bin/sh
# Runs once, when the db volume is first initialised (postgres image's
# /docker-entrypoint-initdb.d). Mirrors core/embedded-pg.ts: the superuser
# creates every role, so the owner needs no CREATEROLE (README, "Database
# roles"):
#   heimdex                owns the schema; only `heimdex db migrate` uses it
#   heimdex_authenticator  GraphQL login: owns nothing, becomes anon/authenticated
#   heimdex_worker         workers: reads videos, step functions, the job queue
#   heimdex_auth           the API's local auth functions, nothing else
# The owner holds ADMIN OPTION on exactly the roles the first migration
# grants. The superuser-only vector extension is created here so migrations
# can run as the owner.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$HEIMDEX_DB_PASSWORD" -v auth_pw="$AUTHENTICATOR_PASSWORD" \
  -v worker_pw="$WORKER_DB_PASSWORD" -v authfn_pw="$AUTH_FUNCTIONS_DB_PASSWORD" <<'SQL'
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit;
create role heimdex login nocreaterole password :'owner_pw';
create role heimdex_authenticator login noinherit password :'auth_pw';
create role heimdex_worker login noinherit password :'worker_pw';
create role heimdex_auth login noinherit password :'authfn_pw';
grant anon, authenticated to heimdex_authenticator;
grant anon, authenticated, heimdex_worker to heimdex with admin option;
create database heimdex owner heimdex;
\connect heimdex
create extension if not exists vector;
create extension if not exists pgcrypto;
create extension if not exists pg_trgm;
create extension if not exists unaccent;
SQL
