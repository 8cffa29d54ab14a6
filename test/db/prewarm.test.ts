/*
 * prewarmSearch (core/embedded-pg.ts): what the embedded cluster reads into
 * shared_buffers after it starts. It reads search's relations, HNSW indexes
 * first, up to its budget, and leaves nothing behind in the schema.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { prewarmSearch } from '../../core/embedded-pg.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';

const db = await createTestDatabase();
const owner = uuid();

// 300 scenes with a text vector: the text HNSW index is then ~2.4 MB (one
// 4 KB element per page), the scenes' TOAST ~1.2 MB, everything else small.
const { rows } = await db.rootPool.query(
  `insert into app_public.videos (owner_id, title, object_key) values ($1, 'v', $2) returning id`,
  [owner, `u/${owner}/${uuid()}/v.mp4`],
);
await db.rootPool.query(
  `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, text_vec)
   select $1, $2, g, g * 5, g * 5 + 5, 'scene ' || g,
          (select array_agg(sin(g * 1000 + k))::vector(1024) from generate_series(1, 1024) k)
     from generate_series(0, 299) g`,
  [rows[0].id, owner],
);

/** Pages of a set of relations, counted independently of prewarmSearch's query. */
async function pages(where: string): Promise<number> {
  const { rows: r } = await db.rootPool.query(
    `select coalesce(sum(pg_relation_size(c.oid)), 0) / 8192 as n from pg_class c where ${where}`,
  );
  return Number(r[0].n);
}
const schema = `c.relnamespace in ('app_public'::regnamespace, 'app_hidden'::regnamespace) and c.relkind in ('r', 'i')`;
const toast = `(select reltoastrelid from pg_class where oid = 'app_public.scenes'::regclass)`;
const everything = await pages(
  `(${schema}) or c.oid = ${toast} or c.oid in (select indexrelid from pg_index where indrelid = ${toast})`,
);
const hnsw = await pages(`${schema} and c.relam = (select oid from pg_am where amname = 'hnsw')`);

test("with room for all of it, every table and index of the schema and the scenes' vectors are read", async () => {
  assert.ok(hnsw >= 256, `the text HNSW index should span pages (${hnsw})`);
  assert.equal(await prewarmSearch(db.rootUrl, { budgetMb: 1024 }), everything);
  // Without a budget: three quarters of the server's shared_buffers (at least 96 MB), room for all of it too.
  assert.equal(await prewarmSearch(db.rootUrl), everything);
});

test('a smaller budget reads the HNSW indexes first, then what fits of the next relation, and stops', async () => {
  // 3 MB: all of the HNSW indexes, then the start of what comes next, up to the budget's last page.
  assert.ok(hnsw < 384 && everything > 384, `HNSW ${hnsw}, all ${everything} pages`);
  assert.equal(await prewarmSearch(db.rootUrl, { budgetMb: 3 }), 384);
  // Smaller than the largest index: the start of that index.
  assert.ok(hnsw > 128);
  assert.equal(await prewarmSearch(db.rootUrl, { budgetMb: 1 }), 128);
});

test('nothing is left behind: no function, no extension; a database without the schema reads nothing', async () => {
  const c = new pg.Client({ connectionString: db.rootUrl });
  await c.connect();
  try {
    const left = await c.query(
      `select (select count(*) from pg_proc where proname = 'prewarm')::int as fns,
              (select count(*) from pg_extension where extname = 'pg_prewarm')::int as exts`,
    );
    assert.deepEqual(left.rows[0], { fns: 0, exts: 0 });
  } finally {
    await c.end();
  }
  assert.equal(await prewarmSearch(db.rootUrl.replace(/\/[^/]+$/, '/postgres'), { budgetMb: 1024 }), 0);
});

test('without the superuser it fails with the reason', async () => {
  // The C function cannot be declared by the owner role: the embedded
  // cluster's caller logs this and carries on (an external database is never read ahead).
  await assert.rejects(prewarmSearch(db.ownerUrl, { budgetMb: 1024 }), /permission denied for language c/);
});
