/*
 * server/pg-service.ts opens a GraphQL request's transaction with its
 * settings in one round trip, pipelines the first query behind them, and
 * answers a read-only request before its commit. On real pooled connections
 * of the API's login role, pipelined as the server's are (a pool of one, so
 * every call reuses the same connection): settings hold inside the request
 * and are gone after it, whatever happened; an error rolls the request's
 * writes back; a refused setting keeps the query behind it from running;
 * values are quoted, not interpreted; a statement_timeout ends with its
 * request; a read-only request cannot write, and the request after it gets a
 * transaction of its own; two requests at once each see their own user.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { parse } from 'graphql';
import { loadConfig } from '../../core/config.ts';
import { makePreset, pgSettingsFor } from '../../server/graphile.config.ts';
import { beginWithSettings, makeWithPgClient } from '../../server/pg-service.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';

const db = await createTestDatabase();
const pool = new pg.Pool({ connectionString: db.authUrl, max: 1, pipeline: true });
const pair = new pg.Pool({ connectionString: db.authUrl, max: 2, pipeline: true });
// Only a superuser may end another login's backend.
const su = new pg.Client({ connectionString: db.rootUrl });
await su.connect();
// The database is dropped (with force) by an after hook registered before this file's.
su.on('error', () => {});
after(async () => {
  await pool.end();
  await pair.end();
  await su.end();
});
// As in server/index.ts: a connection that dies emits 'error', which must not end the process.
for (const p of [pool, pair]) {
  p.on('error', () => {});
  p.on('connect', (c) => c.on('error', () => {}));
}
const withPgClient = makeWithPgClient(pool);

const settingsOf = (sub: string) =>
  pgSettingsFor({ sub, role: 'authenticated', aud: 'authenticated', exp: 0, session_id: uuid() }, 5000);

/** What the connection holds outside any request (the pool's one connection). */
async function bare() {
  const { rows } = await pool.query(
    `select current_user::text as role, nullif(current_setting('request.jwt.claims', true), '') as claims,
            current_setting('statement_timeout') as timeout,
            -- Inside a transaction left open, now() is its start, not this statement's.
            now() = statement_timestamp() as own_transaction`,
  );
  return rows[0];
}
const outside = await bare();

test('a request runs as its user with its claims and timeout, and none of it outlives the request', async () => {
  const user = uuid();
  const settings = settingsOf(user);
  const inside = await withPgClient(settings, async (c) => {
    const { rows } = await c.query<{ role: string; claims: string; timeout: string; uid: string; pid: number }>({
      text: `select current_user::text as role, current_setting('request.jwt.claims') as claims,
                    current_setting('statement_timeout') as timeout, (select auth.uid())::text as uid,
                    pg_backend_pid() as pid`,
    });
    return rows[0]!;
  });
  assert.equal(inside.role, 'authenticated');
  assert.equal(inside.claims, settings['request.jwt.claims']);
  assert.equal(inside.timeout, '5s');
  assert.equal(inside.uid, user);
  const now = await bare();
  assert.deepEqual(now, outside);
  assert.notEqual(now.role, 'authenticated');
  // The same connection both times: the pool holds one.
  assert.equal((await pool.query('select pg_backend_pid() as pid')).rows[0].pid, inside.pid);
});

test("an error rolls back the request's writes and its settings", async () => {
  const user = uuid();
  const key = `u/${user}/${uuid()}/a.mp4`;
  await assert.rejects(
    withPgClient(settingsOf(user), async (c) => {
      await c.query({ text: `insert into app_public.videos (title, object_key) values ('kept?', $1)`, values: [key] });
      // A session-level setting made inside the transaction is undone by its rollback too.
      await c.query({ text: `select set_config('heimdex.leak', 'yes', false)` });
      await c.query({ text: 'select 1 / 0' });
    }),
    /division by zero/,
  );
  const { rows } = await db.rootPool.query('select count(*)::int as n from app_public.videos where object_key = $1', [
    key,
  ]);
  assert.equal(rows[0].n, 0);
  assert.deepEqual(await bare(), outside);
  assert.equal((await pool.query(`select current_setting('heimdex.leak', true) as v`)).rows[0].v ?? '', '');
  // A thrown JavaScript error (no SQL failure) rolls back the same way.
  await assert.rejects(
    withPgClient(settingsOf(user), async (c) => {
      await c.query({ text: `insert into app_public.videos (title, object_key) values ('kept?', $1)`, values: [key] });
      throw new Error('plan failed');
    }),
    /plan failed/,
  );
  assert.equal(
    (await db.rootPool.query('select count(*)::int as n from app_public.videos where object_key = $1', [key])).rows[0]
      .n,
    0,
  );
  // And a committed request keeps its write.
  await withPgClient(settingsOf(user), (c) =>
    c.query({ text: `insert into app_public.videos (title, object_key) values ('kept', $1)`, values: [key] }),
  );
  assert.equal(
    (await db.rootPool.query('select owner_id from app_public.videos where object_key = $1', [key])).rows[0].owner_id,
    user,
  );
});

test('setting values are quoted, not interpreted', async () => {
  const hostile = `x', true); select set_config('role', 'heimdex', false); select ('\\' "'`;
  const read = await withPgClient({ role: 'authenticated', 'request.jwt.claims': hostile }, async (c) => {
    const { rows } = await c.query<{ claims: string; role: string }>({
      text: `select current_setting('request.jwt.claims') as claims, current_user::text as role`,
    });
    return rows[0]!;
  });
  assert.equal(read.claims, hostile);
  assert.equal(read.role, 'authenticated');
  assert.deepEqual(await bare(), outside);
  const c = new pg.Client();
  assert.throws(() => beginWithSettings(c, [['request.jwt.claims', 'a\u0000b']]), /NUL/);
});

test('a setting PostgreSQL refuses fails the request and leaves the connection clean for the next', async () => {
  await assert.rejects(
    withPgClient({ role: 'no_such_role_here', 'request.jwt.claims': '{}' }, async () => 'ran'),
    /no_such_role_here/,
  );
  assert.deepEqual(await bare(), outside);
  // The query pipelined behind the refused setting never ran as the login
  // role: it failed as part of the aborted transaction, and the request
  // reports the setting's error, not the query's.
  let queryError: { code?: string } | null = null;
  await assert.rejects(
    withPgClient({ 'request.jwt.claims': '{}', role: 'no_such_role_here' }, async (c) => {
      try {
        await c.query({ text: `select current_user::text as role` });
      } catch (e) {
        queryError = e as { code?: string };
        throw e;
      }
    }),
    /no_such_role_here/,
  );
  assert.equal(queryError!.code, '25P02');
  assert.deepEqual(await bare(), outside);
  const user = uuid();
  const uid = await withPgClient(settingsOf(user), async (c) => {
    const { rows } = await c.query<{ uid: string }>({ text: `select (select auth.uid())::text as uid` });
    return rows[0]!.uid;
  });
  assert.equal(uid, user);
});

test('a read-only request cannot write, and each request after one gets a transaction of its own', async () => {
  const user = uuid();
  const readOnly = { ...settingsOf(user), transaction_read_only: 'on' };
  const key = `u/${user}/${uuid()}/ro.mp4`;
  await assert.rejects(
    withPgClient(readOnly, (c) =>
      c.query({ text: `insert into app_public.videos (title, object_key) values ('ro', $1)`, values: [key] }),
    ),
    (e: { code?: string }) => e.code === '25006',
  );
  assert.equal(
    (await db.rootPool.query('select count(*)::int as n from app_public.videos where object_key = $1', [key])).rows[0]
      .n,
    0,
  );
  // Requests back to back on the pool's one connection: each is answered
  // before its commit, and the next must still get a transaction of its own
  // (its own start time) with none of the last one's settings.
  const starts = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const u = uuid();
    const seen = await withPgClient({ ...settingsOf(u), transaction_read_only: 'on' }, async (c) => {
      const { rows } = await c.query<{ uid: string; ro: string; started: string }>({
        text: `select (select auth.uid())::text as uid, current_setting('transaction_read_only') as ro,
                      now()::text as started`,
      });
      return rows[0]!;
    });
    assert.equal(seen.uid, u);
    assert.equal(seen.ro, 'on');
    starts.add(seen.started);
  }
  assert.equal(starts.size, 20);
  assert.deepEqual(await bare(), outside);
  // A request without the setting still writes.
  await withPgClient(settingsOf(user), (c) =>
    c.query({ text: `insert into app_public.videos (title, object_key) values ('rw', $1)`, values: [key] }),
  );
  assert.equal(
    (await db.rootPool.query('select count(*)::int as n from app_public.videos where object_key = $1', [key])).rows[0]
      .n,
    1,
  );
});

test('every GraphQL operation but a mutation runs read-only', async () => {
  const built = makePreset({ config: loadConfig(), authPool: pool, storage: null, models: null });
  try {
    const context = built.preset.grafast!.context as (
      ctx: object,
      args: { document: ReturnType<typeof parse>; operationName?: string },
    ) => Promise<{ pgSettings: Record<string, string> }>;
    const readOnly = async (source: string, operationName?: string) =>
      (await context({}, { document: parse(source), operationName })).pgSettings.transaction_read_only === 'on';
    assert.equal(await readOnly('{ __typename }'), true);
    assert.equal(await readOnly('query Q { __typename }'), true);
    assert.equal(await readOnly('subscription S { __typename }'), true);
    assert.equal(await readOnly('mutation M { __typename }'), false);
    const both = 'query Q { __typename } mutation M { __typename }';
    assert.equal(await readOnly(both, 'Q'), true);
    assert.equal(await readOnly(both, 'M'), false);
  } finally {
    built.release();
  }
});

test('a pool without pipelining opens requests the same way', async () => {
  const plain = new pg.Pool({ connectionString: db.authUrl, max: 1 });
  try {
    const user = uuid();
    const uid = await makeWithPgClient(plain)({ ...settingsOf(user), transaction_read_only: 'on' }, async (c) => {
      const { rows } = await c.query<{ uid: string }>({ text: `select (select auth.uid())::text as uid` });
      return rows[0]!.uid;
    });
    assert.equal(uid, user);
    await assert.rejects(
      makeWithPgClient(plain)({ role: 'no_such_role_here' }, async () => 'ran'),
      /no_such_role_here/,
    );
    assert.equal((await plain.query(`select current_user::text as u`)).rows[0].u, outside.role);
  } finally {
    await plain.end();
  }
});

test("a request's statement_timeout cancels it and does not apply to the next request", async () => {
  const user = uuid();
  await assert.rejects(
    withPgClient({ ...settingsOf(user), statement_timeout: '50ms' }, (c) => c.query({ text: 'select pg_sleep(1)' })),
    (e: { code?: string }) => e.code === '57014',
  );
  assert.deepEqual(await bare(), outside);
  await withPgClient(settingsOf(user), (c) => c.query({ text: 'select pg_sleep(0.2)' }));
});

test('nested transactions are savepoints inside the request', async () => {
  const user = uuid();
  const kept = `u/${user}/${uuid()}/kept.mp4`;
  const undone = `u/${user}/${uuid()}/undone.mp4`;
  await withPgClient(settingsOf(user), async (c) => {
    await c.query({ text: `insert into app_public.videos (title, object_key) values ('k', $1)`, values: [kept] });
    await assert.rejects(
      c.withTransaction(async (t) => {
        await t.query({ text: `insert into app_public.videos (title, object_key) values ('u', $1)`, values: [undone] });
        throw new Error('inner');
      }),
      /inner/,
    );
  });
  const { rows } = await db.rootPool.query(
    'select object_key from app_public.videos where object_key = any($1) order by object_key',
    [[kept, undone]],
  );
  assert.deepEqual(
    rows.map((r) => r.object_key),
    [kept],
  );
});

test('requests at once on two connections each see their own user', async () => {
  const both = makeWithPgClient(pair);
  const users = Array.from({ length: 8 }, () => uuid());
  const seen = await Promise.all(
    users.map((u) =>
      both(settingsOf(u), async (c) => {
        const { rows } = await c.query<{ uid: string }>({
          text: `select pg_sleep(0.02), (select auth.uid())::text as uid`,
        });
        return rows[0]!.uid;
      }),
    ),
  );
  assert.deepEqual(seen, users);
});

/** The backend a request ran on and the user it ran as. */
async function backendAndUser(c: Parameters<Parameters<typeof withPgClient>[1]>[0]) {
  const { rows } = await c.query<{ pid: number; uid: string }>({
    text: `select pg_backend_pid() as pid, (select auth.uid())::text as uid`,
  });
  return rows[0]!;
}

test('a request whose connection dies is not given back to the pool', async () => {
  const user = uuid();
  const pid = (await pool.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  await assert.rejects(
    withPgClient(settingsOf(user), async (c) => {
      await su.query('select pg_terminate_backend($1)', [pid]);
      await c.query({ text: 'select pg_sleep(0.5)' });
    }),
  );
  // The next request gets a new connection, clean.
  const next = await withPgClient(settingsOf(user), backendAndUser);
  assert.notEqual(next.pid, pid);
  assert.equal(next.uid, user);
  assert.deepEqual(await bare(), outside);
});

test(
  'a read-only request whose connection dies before its commit keeps its answer, and the connection is not reused',
  // A connection never handed back would leave the next request waiting for the pool's one.
  { timeout: 30_000 },
  async () => {
    const user = uuid();
    // The answer was read in full; only the commit, sent after it, meets the dead connection.
    const answered = await withPgClient({ ...settingsOf(user), transaction_read_only: 'on' }, async (c) => {
      const seen = await backendAndUser(c);
      await su.query('select pg_terminate_backend($1, 5000)', [seen.pid]);
      return seen;
    });
    assert.equal(answered.uid, user);
    const next = await withPgClient(settingsOf(user), backendAndUser);
    assert.notEqual(next.pid, answered.pid);
    assert.equal(next.uid, user);
    assert.deepEqual(await bare(), outside);
  },
);
