import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase, uuid, withUserDb } from '../helpers/db.ts';

const db = await createTestDatabase();

test('a user sees only their own videos', async () => {
  const a = uuid(), b = uuid();
  await db.rootPool.query(`insert into app_public.videos (owner_id, title, object_key) values ($1, 'a', $2), ($3, 'b', $4)`, [a, `u/${a}/x.mp4`, b, `u/${b}/y.mp4`]);
  const rows = await withUserDb(db, a, async (c) => (await c.query('select title from app_public.videos')).rows);
  assert.deepEqual(rows.map((r) => r.title), ['a']);
});
