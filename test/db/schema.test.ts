/*
 * The schema as a whole: what the migrations create, that they can be
 * re-run, that security holds for every table (not just the ones someone
 * remembered to test), and that the committed dump matches.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { ROOT_DIR } from '../../core/config.ts';
import { dumpSchema, SCHEMA_FILE } from '../../scripts/dump-schema.ts';
import { createTestDatabase } from '../helpers/db.ts';

const db = await createTestDatabase();
const q = async (sql: string, params: unknown[] = []) => (await db.rootPool.query(sql, params)).rows;

test('migrations create the expected tables, policies, functions and roles', async () => {
  const tables = await q(`select table_schema || '.' || table_name as t from information_schema.tables
                          where table_schema = 'app_public' and table_type = 'BASE TABLE' order by 1`);
  for (const t of ['app_public.videos', 'app_public.scenes'])
    assert.ok(
      tables.some((r) => r.t === t),
      `${t} exists`,
    );
  const policies = await q(
    `select tablename || '.' || policyname as p from pg_policies where schemaname = 'app_public'`,
  );
  const names = new Set(policies.map((r) => r.p));
  for (const p of [
    'videos.select_own',
    'videos.insert_own',
    'videos.update_own',
    'videos.delete_own',
    'videos.select_worker',
    'scenes.select_own',
  ]) {
    assert.ok(names.has(p), `policy ${p} exists`);
  }
  for (const fn of [
    'auth.uid()',
    'app_private.reprocess_video(uuid)',
    'app_private.reprocess_failed()',
    'app_public.search_scenes(text, real[], real[], uuid[], uuid, real, real, real, int, int, text, text)',
  ]) {
    assert.ok((await q('select to_regprocedure($1) as oid', [fn]))[0].oid, `${fn} exists`);
  }
  const roles = await q(`select rolname from pg_roles where rolname = any($1)`, [
    ['anon', 'authenticated', 'service_role', 'heimdex_worker', 'heimdex_authenticator', 'heimdex_auth'],
  ]);
  assert.equal(roles.length, 6);
  const vec = await q(`select extversion from pg_extension where extname = 'vector'`);
  assert.ok(vec[0] && vec[0].extversion >= '0.8', 'pgvector >= 0.8 (iterative index scans)');
});

test('row-level security is enabled on every table in app_public, app_private and app_hidden', async () => {
  const all = await q(`select n.nspname || '.' || c.relname as t, c.relrowsecurity as rls
                       from pg_class c join pg_namespace n on n.oid = c.relnamespace
                       where n.nspname in ('app_public', 'app_private', 'app_hidden') and c.relkind in ('r', 'p')`);
  assert.ok(all.length >= 2, 'there are tables to check');
  assert.deepEqual(
    all.filter((r) => !r.rls).map((r) => r.t),
    [],
    'tables without row-level security',
  );
});

test('scene_terms is vacuumed after 1 % new or dead rows, so index-only reads of recent terms skip the heap', async () => {
  const [row] = await q(`select reloptions from pg_class where oid = 'app_hidden.scene_terms'::regclass`);
  assert.deepEqual([...row.reloptions].sort(), [
    'autovacuum_vacuum_insert_scale_factor=0.01',
    'autovacuum_vacuum_scale_factor=0.01',
  ]);
});

test('the scene vector graphs are built with ef_construction 128, whatever pgvector defaults to', async () => {
  const rows = await q(
    `select c.relname, c.reloptions, a.amname from pg_class c join pg_am a on a.oid = c.relam
      where c.oid in ('app_public.scenes_text_vec_idx'::regclass, 'app_public.scenes_image_vec_idx'::regclass)
      order by c.relname`,
  );
  assert.deepEqual(
    rows.map((r) => [r.relname, r.amname, [...r.reloptions].sort()]),
    [
      ['scenes_image_vec_idx', 'hnsw', ['ef_construction=128', 'm=16']],
      ['scenes_text_vec_idx', 'hnsw', ['ef_construction=128', 'm=16']],
    ],
  );
});

test('the API login role owns nothing, bypasses nothing and can only become anon or authenticated', async () => {
  const [role] = await q(
    `select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolinherit from pg_roles where rolname = 'heimdex_authenticator'`,
  );
  assert.deepEqual(role, {
    rolsuper: false,
    rolbypassrls: false,
    rolcreaterole: false,
    rolcreatedb: false,
    rolinherit: false,
  });
  const owned = await q(`select c.oid::regclass::text as t from pg_class c join pg_roles r on r.oid = c.relowner
                         where r.rolname = 'heimdex_authenticator'`);
  assert.deepEqual(owned, []);
  const ownedFns = await q(
    `select p.oid::regprocedure::text from pg_proc p join pg_roles r on r.oid = p.proowner where r.rolname = 'heimdex_authenticator'`,
  );
  assert.deepEqual(ownedFns, []);
  const memberOf = await q(`select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid
                            join pg_roles u on u.oid = m.member where u.rolname = 'heimdex_authenticator' order by 1`);
  assert.deepEqual(
    memberOf.map((r) => r.rolname),
    ['anon', 'authenticated'],
  );
  // The same facts, seen from a live connection of that role.
  const c = new pg.Client({ connectionString: db.authUrl });
  await c.connect();
  try {
    await assert.rejects(c.query(`set role service_role`), { code: '42501' });
    await assert.rejects(c.query(`set role heimdex_worker`), { code: '42501' });
    await assert.rejects(c.query(`select * from app_public.videos`), { code: '42501' });
  } finally {
    await c.end();
  }
});

test('sql/schema.sql matches the migrated schema (regenerate: node scripts/dump-schema.ts --fresh)', async () => {
  const committed = fs.readFileSync(SCHEMA_FILE, 'utf8');
  const actual = await dumpSchema(db.ownerUrl);
  if (actual !== committed) {
    const a = actual.split('\n'),
      b = committed.split('\n');
    const at = a.findIndex((line, i) => line !== b[i]);
    assert.fail(
      `sql/schema.sql is stale; first difference at line ${at + 1}:\n  dump:      ${a[at]}\n  committed: ${b[at]}\n` +
        'Regenerate it with: node scripts/dump-schema.ts --fresh',
    );
  }
});

/**
 * graphile-migrate (>= 2) replaces a line `--!include <file>` with that file,
 * resolved under migrations/fixtures; doing the same here runs what the
 * migrator runs. A path written from migrations/ ("fixtures/x.sql") is
 * accepted too.
 */
const includes: string[] = [];
function expandIncludes(sql: string, seen: string[] = []): string {
  const migrations = path.join(ROOT_DIR, 'migrations');
  const fixtures = path.join(migrations, 'fixtures');
  return sql.replace(/^--!\s*include\s+(\S+\.sql)\s*$/gm, (_line, rel: string) => {
    const file = [path.resolve(fixtures, rel), path.resolve(migrations, rel)].find(
      (f) => f.startsWith(fixtures + path.sep) && fs.existsSync(f),
    );
    assert.ok(file, `include ${rel}: no such file under migrations/fixtures`);
    assert.ok(!seen.includes(file), `circular include of ${rel}`);
    includes.push(rel);
    return expandIncludes(fs.readFileSync(file, 'utf8'), [...seen, file]);
  });
}

/**
 * The migration under development (migrations/current) must survive being
 * run again, as `graphile-migrate watch` does on every save. Right after a
 * `graphile-migrate commit` the current folder is empty; then the newest
 * committed migration, written the same way, is re-run instead.
 */
function migrationUnderDevelopment(): { name: string; sql: string }[] {
  const dir = path.join(ROOT_DIR, 'migrations', 'current');
  const current = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b))
    .map((f) => ({ name: `current/${f}`, sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
  const hasStatements = (sql: string) =>
    sql
      .replace(/--.*$/gm, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .trim() !== '';
  if (current.some((m) => hasStatements(m.sql))) return current;
  const committedDir = path.join(ROOT_DIR, 'migrations', 'committed');
  const latest = fs
    .readdirSync(committedDir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .at(-1);
  assert.ok(latest, 'no committed migration and an empty current one');
  return [{ name: `committed/${latest}`, sql: fs.readFileSync(path.join(committedDir, latest), 'utf8') }];
}

test('the current migration is idempotent: running it again succeeds and changes nothing', async () => {
  const files = migrationUnderDevelopment();
  const before = await dumpSchema(db.ownerUrl);
  const c = new pg.Client({ connectionString: db.ownerUrl });
  await c.connect();
  try {
    await c.query('begin');
    for (const f of files) {
      await c.query(expandIncludes(f.sql)).catch((e: Error) => {
        throw new Error(`re-running ${f.name} failed: ${e.message}`);
      });
    }
    await c.query('commit');
  } finally {
    await c.end();
  }
  const after = await dumpSchema(db.ownerUrl);
  if (after !== before) {
    const a = after.split('\n'),
      b = before.split('\n');
    const at = a.findIndex((line, i) => line !== b[i]);
    assert.fail(
      `the schema changed when the migration ran again; first difference at line ${at + 1}:\n` +
        `  second run: ${a[at]}\n  first run:  ${b[at]}\n` +
        (includes.length
          ? `Included fixtures (${includes.join(', ')}) may not have run the first time: ` +
            'graphile-migrate 1.x does not expand --! include lines, it treats them as comments.'
          : ''),
    );
  }
});
