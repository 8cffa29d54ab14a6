#!/bin/sh
# Runs once, when the db volume is first initialised (postgres image's
# /docker-entrypoint-initdb.d). Mirrors what the embedded database does in
# core/embedded-pg.ts: an owner role for migrations and the worker, a
# login for the API that owns nothing and has no BYPASSRLS, and the
# superuser-only vector extension, so migrations can run as the owner.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$HEIMDEX_DB_PASSWORD" -v auth_pw="$AUTHENTICATOR_PASSWORD" <<'SQL'
create role heimdex login createrole password :'owner_pw';
create role heimdex_authenticator login noinherit password :'auth_pw';
create database heimdex owner heimdex;
\connect heimdex
create extension if not exists vector;
create extension if not exists pgcrypto;
create extension if not exists pg_trgm;
SQL
