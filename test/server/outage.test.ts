/*
 * The API server through a database outage, simulated by a proxy in front of
 * PostgreSQL that refuses connections while cut: GraphQL and /auth answer
 * 503 with Retry-After, the log has one line for the outage instead of a
 * stack per request, and an open videoChanged subscription stays open and
 * delivers what changed meanwhile, then live events again. A database that
 * is up but out of disk answers 503 saying so. Also the safe
 * defaults: no query plans unless GRAPHQL_EXPLAIN, and "bearer" in any case
 * on the websocket.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { createLogger } from '../../core/log.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { startDbProxy } from '../helpers/proxy.ts';
import { gql, postJson, signup, startTestServer } from './helpers.ts';

const db = await createTestDatabase();
const proxy = await startDbProxy({ host: '127.0.0.1', port: Number(new URL(db.ownerUrl).port) });
after(() => proxy.close());
const lines: { level: string; msg: string }[] = [];
const log = createLogger('info', {}, (l) => lines.push(JSON.parse(l)));
const srv = await startTestServer(
  db,
  { AUTH_RATE_LIMIT: '1000', AUTH_RATE_LIMIT_IP: '1000' },
  { models: null, log, db: { authFunctionsUrl: proxy.url(db.authFunctionsUrl), authUrl: proxy.url(db.authUrl) } },
);
const wsUrl = `${srv.url.replace(/^http/, 'ws')}/graphql`;

function client(authorization: string): Client {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization }, retryAttempts: 0 });
}

async function setProgress(id: string, progress: number) {
  await db.rootPool.query(
    `update app_public.videos set state = 'processing', stage = 'scenes', progress = $2 where id = $1`,
    [id, progress],
  );
}

/** Waits (event-driven) for the subscription's next event that satisfies `want`. */
async function nextMatching(it: AsyncIterableIterator<any>, want: (e: any) => boolean) {
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error('the subscription ended');
    const e = r.value.data?.videoChanged;
    if (r.value.errors) throw new Error(JSON.stringify(r.value.errors));
    if (want(e)) return e;
  }
}

test('during an outage GraphQL and /auth answer 503 with Retry-After, logged once; a subscription resumes', async () => {
  const alice = await signup(srv.url);
  const id = uuid();
  await db.rootPool.query(`insert into app_public.videos (id, owner_id, title, object_key) values ($1, $2, 'v', $3)`, [
    id,
    alice.id,
    `u/${alice.id}/${uuid()}/v.mp4`,
  ]);
  const ws = client(`bearer ${alice.token}`);
  after(() => ws.dispose());
  const it = ws.iterate({
    query: `subscription ($v: UUID) { videoChanged(videoId: $v) { videoId event state progress } }`,
    variables: { v: id },
  }) as AsyncIterableIterator<any>;
  assert.equal((await nextMatching(it, () => true)).event, 'snapshot');

  lines.length = 0;
  await proxy.cut();
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await gql(srv.url, `{ allVideos { totalCount } }`, {}, alice.token);
    statuses.push(r.status);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.equal(r.body.errors[0].extensions.code, 'SERVICE_UNAVAILABLE', JSON.stringify(r.body));
  }
  assert.deepEqual(statuses, [503, 503, 503, 503, 503]);
  const login = await postJson(`${srv.url}/auth/login`, { email: alice.email, password: alice.password });
  assert.equal(login.status, 503);
  assert.equal(login.headers.get('retry-after'), '5');
  // Changed while the server cannot listen: must still reach the subscriber.
  await setProgress(id, 0.5);

  const outageLines = lines.filter((l) => /database unreachable/.test(l.msg));
  assert.equal(outageLines.length, 1, JSON.stringify(lines));
  assert.equal(lines.filter((l) => l.msg === 'graphql error' || l.msg === 'unhandled error').length, 0);

  await proxy.restore();
  const missed = await nextMatching(it, (e) => e.progress === 0.5);
  assert.equal(missed.videoId, id);
  // Live again: a change after the reconnect arrives as it happens.
  await setProgress(id, 0.75);
  assert.equal((await nextMatching(it, (e) => e.progress === 0.75)).state, 'processing');
  const ok = await gql(srv.url, `{ allVideos { totalCount } }`, {}, alice.token);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.data.allVideos.totalCount, 1);
  assert.ok(lines.some((l) => /database reachable again/.test(l.msg)));
  await it.return?.();
});

test('responses carry no query plan or SQL unless GRAPHQL_EXPLAIN is on', async () => {
  const alice = await signup(srv.url);
  const r = await postJson(
    `${srv.url}/graphql`,
    { query: '{ allVideos { nodes { id } } }' },
    { authorization: `Bearer ${alice.token}`, 'x-graphql-explain': 'plan,sql' },
  );
  assert.equal(r.status, 200);
  assert.equal(r.body.extensions?.explain, undefined, JSON.stringify(r.body));
  assert.doesNotMatch(JSON.stringify(r.body), /select|app_public/i);

  const debug = await startTestServer(
    db,
    { GRAPHQL_EXPLAIN: 'true', NODE_ENV: 'development', HEIMDEX_DATA_DIR: srv.dataDir },
    { models: null },
  );
  const d = await postJson(
    `${debug.url}/graphql`,
    { query: '{ allVideos { nodes { id } } }' },
    { authorization: `Bearer ${alice.token}`, 'x-graphql-explain': 'plan,sql' },
  );
  assert.ok(d.body.extensions?.explain, `an operator can still turn plans on: ${JSON.stringify(d.body)}`);
  await debug.close();
});

test('the websocket takes "bearer" in any case, and refuses a forged token', async () => {
  const alice = await signup(srv.url);
  for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
    const ws = client(`${scheme} ${alice.token}`);
    const r = await ws.iterate({ query: `subscription { videoChanged { videoId } }` }).return?.();
    assert.ok(r, scheme);
    // A query over the socket proves the connection was accepted as alice.
    const it = ws.iterate({ query: `{ allVideos { totalCount } }` });
    const first = (await it.next()).value as any;
    assert.equal(first.data.allVideos.totalCount, 0, scheme);
    await ws.dispose();
  }
  const forged = client(`bearer ${alice.token.slice(0, -4)}AAAA`);
  const closed = await new Promise<number>((resolve) => {
    forged.on('closed', (e) => resolve((e as { code: number }).code));
    void forged
      .iterate({ query: `{ allVideos { totalCount } }` })
      .next()
      .catch(() => {});
  });
  assert.equal(closed, 4401);
  await forged.dispose();
});

test('a request whose database connection is killed mid-query fails alone; the server keeps serving', async () => {
  const alice = await signup(srv.url);
  const holder = await db.rootPool.connect();
  // Only a superuser sees (and may end) another login's backends.
  const su = new pg.Client({ connectionString: db.rootUrl });
  await su.connect();
  after(() => su.end());
  try {
    // The request blocks on a lock, holding its pooled connection; then that
    // connection is terminated as a database restart would.
    await holder.query('begin; lock table app_public.videos in access exclusive mode');
    const pending = gql(srv.url, `{ allVideos { totalCount } }`, {}, alice.token);
    let pid: number | undefined;
    // Until the request reaches the lock, however slow the machine (2 min guard against a hang).
    for (const deadline = Date.now() + 120_000; !pid && Date.now() < deadline;) {
      const { rows } = await su.query<{ pid: number }>(
        `select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'
            and usename = 'heimdex_authenticator'`,
      );
      pid = rows[0]?.pid;
      if (!pid) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(pid, 'the request waits on the lock');
    await su.query('select pg_terminate_backend($1)', [pid]);
    const r = await pending;
    assert.ok(r.status === 503 || (r.body as { errors?: unknown[] }).errors, JSON.stringify(r.body));
  } finally {
    await holder.query('rollback');
    holder.release();
  }
  const later = await gql(srv.url, `{ allVideos { totalCount } }`, {}, alice.token);
  assert.equal(later.status, 200);
  assert.deepEqual((later.body as { data: unknown }).data, { allVideos: { totalCount: 0 } });
});

test('a database out of disk answers 503 with Retry-After and says so; other requests go on', async () => {
  const alice = await signup(srv.url);
  const id = uuid();
  await db.rootPool.query(
    `insert into app_public.videos (id, owner_id, title, object_key) values ($1, $2, 'clip', $3)`,
    [id, alice.id, `u/${alice.id}/${uuid()}/clip.mp4`],
  );
  // PostgreSQL's own disk_full (53100) for this row's writes, raised where a
  // full disk would refuse them (filling a real disk needs root).
  const trigger = `disk_full_${id.replace(/-/g, '')}`;
  await db.rootPool.query(`
    create function public.${trigger}() returns trigger language plpgsql as $$
    begin raise exception 'could not extend file "base/1/2": No space left on device' using errcode = '53100'; end $$;
    create trigger ${trigger} before update on app_public.videos for each row
      when (old.id = '${id}') execute function public.${trigger}()`);
  try {
    const r = await gql(
      srv.url,
      `mutation($id: UUID!) { updateVideoById(input: { id: $id, videoPatch: { title: "renamed" } }) { video { title } } }`,
      { id },
      alice.token,
    );
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '5');
    const errors = (r.body as { errors: { message: string; extensions: { code: string } }[] }).errors;
    assert.equal(errors[0]!.extensions.code, 'SERVICE_UNAVAILABLE');
    assert.match(errors[0]!.message, /no room to write .*disk is full/);
    assert.ok(lines.some((l) => l.level === 'error' && /short of resources \(53100\)/.test(l.msg)));
  } finally {
    await db.rootPool.query(`drop trigger ${trigger} on app_public.videos; drop function public.${trigger}()`);
  }
  const later = await gql(srv.url, `{ allVideos { totalCount } }`, {}, alice.token);
  assert.equal(later.status, 200);
});
