/*
 * The local-auth SQL functions on their own: case-insensitive emails,
 * rotation, the reuse grace, and replay revoking the session family.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { createTestDatabase } from '../helpers/db.ts';

const db = await createTestDatabase();
const h = () => crypto.createHash('sha256').update(crypto.randomBytes(32)).digest('hex');
const q = async (sql: string, args: unknown[] = []) => (await db.rootPool.query(sql, args)).rows;

test('signup is case-insensitive on email and refuses short passwords', async () => {
  const [u] = await q('select (app_private.auth_signup($1, $2)).*', ['Case@Example.test', 'password-1']);
  assert.ok(u.id);
  const [dup] = await q('select (app_private.auth_signup($1, $2)).*', ['case@example.TEST', 'password-2']);
  assert.equal(dup.id, null);
  await assert.rejects(q('select app_private.auth_signup($1, $2)', ['short@example.test', 'short']), /at least 8/);
  const [ok] = await q('select (app_private.auth_login($1, $2)).id', ['CASE@example.test', 'password-1']);
  assert.equal(ok.id, u.id);
  const [bad] = await q('select (app_private.auth_login($1, $2)).id', ['case@example.test', 'password-2']);
  assert.equal(bad.id, null);
  const [none] = await q('select (app_private.auth_login($1, $2)).id', ['nobody@example.test', 'password-1']);
  assert.equal(none.id, null);
});

test('refresh rotates; replaying a rotated token after the reuse grace revokes the session', async () => {
  const [u] = await q('select (app_private.auth_signup($1, $2)).*', ['rot@example.test', 'password-1']);
  const t1 = h(),
    t2 = h(),
    t3 = h(),
    t4 = h();
  const [{ sid }] = await q('select app_private.auth_create_session($1, $2, 60) as sid', [u.id, t1]);
  const r1 = await q('select * from app_private.auth_refresh($1, $2, 60, 0)', [t1, t2]);
  assert.deepEqual(r1, [{ user_id: u.id, email: 'rot@example.test', session_id: sid, error: null }]);
  assert.deepEqual(await q('select * from app_private.auth_refresh($1, $2, 60, 0)', [t1, t3]), [
    { user_id: null, email: null, session_id: null, error: 'refresh_token_already_used' },
  ]);
  const [{ active }] = await q('select app_private.auth_session_active($1) as active', [sid]);
  assert.equal(active, false);
  assert.deepEqual(await q('select * from app_private.auth_refresh($1, $2, 60, 0)', [t2, t4]), [
    { user_id: null, email: null, session_id: null, error: 'refresh_token_not_found' },
  ]);
});

test('within the reuse grace a rotated token is swapped again, and the grace runs from its first rotation', async () => {
  const [u] = await q('select (app_private.auth_signup($1, $2)).*', ['grace@example.test', 'password-1']);
  const t1 = h(),
    t2 = h(),
    t3 = h(),
    t4 = h();
  const [{ sid }] = await q('select app_private.auth_create_session($1, $2, 60) as sid', [u.id, t1]);
  await q('select * from app_private.auth_refresh($1, $2, 60, 10)', [t1, t2]);
  const [again] = await q('select * from app_private.auth_refresh($1, $2, 60, 10)', [t1, t3]);
  assert.equal(again.session_id, sid);
  assert.equal(again.error, null);
  // Both successors are live tokens of the one session.
  const live = await q(
    'select token_hash from app_private.refresh_tokens where session_id = $1 and rotated_at is null',
    [sid],
  );
  assert.deepEqual(live.map((r) => r.token_hash).sort(), [t2, t3].sort());
  // Pretend the first rotation was 11 s ago: a replay now is theft, and ends the session.
  await q(
    "update app_private.refresh_tokens set rotated_at = rotated_at - interval '11 seconds' where token_hash = $1",
    [t1],
  );
  const [late] = await q('select * from app_private.auth_refresh($1, $2, 60, 10)', [t1, t4]);
  assert.equal(late.error, 'refresh_token_already_used');
  const [{ active }] = await q('select app_private.auth_session_active($1) as active', [sid]);
  assert.equal(active, false);
});

test('expired refresh tokens are refused', async () => {
  const [u] = await q('select (app_private.auth_signup($1, $2)).*', ['exp@example.test', 'password-1']);
  const t1 = h();
  await q('select app_private.auth_create_session($1, $2, 0)', [u.id, t1]);
  assert.deepEqual(await q('select * from app_private.auth_refresh($1, $2, 60, 10)', [t1, h()]), [
    { user_id: null, email: null, session_id: null, error: 'refresh_token_not_found' },
  ]);
});

test('auth tables are not reachable by API roles', async () => {
  const c = await db.authPool.connect();
  try {
    await c.query('begin; set local role authenticated');
    await assert.rejects(c.query('select * from app_private.users'), /permission denied/);
  } finally {
    await c.query('rollback');
    c.release();
  }
});
