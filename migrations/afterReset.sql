/*
 * Runs as the superuser right after graphile-migrate creates a database
 * (reset, and the shadow database used by `commit`). pgvector is not a
 * trusted extension, so the owner role that runs the migrations cannot create
 * it; the embedded setup (core/embedded-pg.ts) does the same for the
 * main database, and hosted services (Supabase) ship it enabled.
 */
create extension if not exists vector;
create extension if not exists pgcrypto;
create extension if not exists pg_trgm;
create extension if not exists unaccent;
