/*
 * Subscription.videoChanged over a real graphql-ws websocket: a state change
 * written by the worker role reaches the owner, never another user, and a
 * bad token is refused at connection_init.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { signup, startTestServer } from './helpers.ts';

const db = await createTestDatabase();
const srv = await startTestServer(db, { AUTH_RATE_LIMIT: '1000', AUTH_RATE_LIMIT_IP: '1000' }, { models: null });
const wsUrl = `${srv.url.replace(/^http/, 'ws')}/graphql`;

const SUB = `subscription ($videoId: UUID) {
  videoChanged(videoId: $videoId) { videoId event state stage progress error video { id title state } }
}`;

function client(token?: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
}

async function insertVideo(owner: string, title: string) {
  const id = uuid();
  await db.rootPool.query(`insert into app_public.videos (id, owner_id, title, object_key) values ($1, $2, $3, $4)`, [
    id,
    owner,
    title,
    `u/${owner}/${uuid()}/v.mp4`,
  ]);
  return id;
}

/** Advances a video as the pipeline's step functions do (they run as the owner), committed. */
async function advance(id: string, progress: number) {
  await db.rootPool.query(
    `update app_public.videos set state = 'processing', stage = 'scenes', progress = $2 where id = $1`,
    [id, progress],
  );
}

/**
 * The first event an iterator yields while `poke` keeps changing rows. The
 * LISTEN starts asynchronously after subscribe, so one update could be missed;
 * poking until something arrives avoids guessing a delay.
 */
async function firstEvent(it: AsyncIterableIterator<any>, poke: (i: number) => Promise<void>) {
  let done = false;
  const next = it.next().finally(() => {
    done = true;
  });
  for (let i = 1; !done && i < 100; i++) {
    await poke(i);
    await Promise.race([next, new Promise((r) => setTimeout(r, 100))]);
  }
  return (await next).value;
}

test('following a video opens with its current state, then delivers changes with the video loaded under RLS', async () => {
  const alice = await signup(srv.url);
  const id = await insertVideo(alice.id, 'Followed');
  const c = client(alice.token);
  try {
    const it = c.iterate({ query: SUB, variables: { videoId: id } });
    const snap = (await it.next()).value;
    assert.equal(snap.errors, undefined, JSON.stringify(snap.errors));
    assert.deepEqual(
      { ...snap.data.videoChanged, video: undefined },
      { videoId: id, event: 'snapshot', state: 'uploaded', stage: null, progress: 0, error: null, video: undefined },
    );
    assert.equal(snap.data.videoChanged.video.title, 'Followed');
    const ev = await firstEvent(it, (i) => advance(id, i / 100));
    assert.equal(ev.errors, undefined, JSON.stringify(ev.errors));
    const v = ev.data.videoChanged;
    assert.equal(v.videoId, id);
    assert.equal(v.event, 'update');
    assert.equal(v.state, 'processing');
    assert.equal(v.stage, 'scenes');
    assert.ok(v.progress > 0 && v.progress < 1);
    assert.deepEqual(v.video, { id, title: 'Followed', state: 'processing' });
    await it.return?.();
  } finally {
    await c.dispose();
  }
});

test("another user's changes never reach a subscriber, even unfiltered", async () => {
  const alice = await signup(srv.url);
  const bob = await signup(srv.url);
  const aliceVideo = await insertVideo(alice.id, 'Alice private');
  const bobVideo = await insertVideo(bob.id, 'Bob own');
  const c = client(bob.token);
  try {
    const it = c.iterate({ query: SUB, variables: {} });
    // Each round changes Alice's video first, then Bob's: if Alice's events
    // leaked, Bob's first event would be hers.
    const ev = await firstEvent(it, async (i) => {
      await advance(aliceVideo, i / 100);
      await advance(bobVideo, i / 100);
    });
    assert.equal(ev.data.videoChanged.videoId, bobVideo);
    await it.return?.();
  } finally {
    await c.dispose();
  }
});

test("following someone else's video yields no snapshot and none of its changes", async () => {
  const alice = await signup(srv.url);
  const bob = await signup(srv.url);
  const aliceVideo = await insertVideo(alice.id, 'Alice private');
  const bobVideo = await insertVideo(bob.id, 'Bob own');
  const c = client(bob.token);
  try {
    const spy = c.iterate({ query: SUB, variables: { videoId: aliceVideo } });
    const own = c.iterate({ query: SUB, variables: {} });
    // Bob's unfiltered stream sees his own change; by then Alice's changes
    // (made first in every round) would have reached the spying stream.
    const ev = await firstEvent(own, async (i) => {
      await advance(aliceVideo, i / 100);
      await advance(bobVideo, i / 100);
    });
    assert.equal(ev.data.videoChanged.videoId, bobVideo);
    const leaked = await Promise.race([spy.next(), new Promise((r) => setTimeout(() => r('nothing'), 300))]);
    assert.equal(leaked, 'nothing');
    await spy.return?.();
    await own.return?.();
  } finally {
    await c.dispose();
  }
});

test("a filtered subscription skips the user's other videos", async () => {
  const alice = await signup(srv.url);
  const other = await insertVideo(alice.id, 'Other');
  const followed = await insertVideo(alice.id, 'Followed');
  const c = client(alice.token);
  try {
    const it = c.iterate({ query: SUB, variables: { videoId: followed } });
    assert.equal((await it.next()).value.data.videoChanged.event, 'snapshot');
    const ev = await firstEvent(it, async (i) => {
      await advance(other, i / 100);
      await advance(followed, i / 100);
    });
    assert.equal(ev.data.videoChanged.videoId, followed);
    assert.equal(ev.data.videoChanged.event, 'update');
    await it.return?.();
  } finally {
    await c.dispose();
  }
});

test('anonymous subscriptions are refused, and a bad token is refused at connection_init', async () => {
  const anon = client();
  try {
    const it = anon.iterate({ query: SUB, variables: {} });
    await assert.rejects(async () => {
      const r = await it.next();
      if (r.value?.errors) throw new Error(r.value.errors[0].message);
    }, /Sign in/);
  } finally {
    await anon.dispose();
  }

  const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
    ws.on('open', () =>
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer not-a-token' } })),
    );
    ws.on('message', (m) => reject(new Error(`unexpected message ${m}`)));
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });
  assert.equal(closed.code, 4401);
  assert.match(closed.reason, /token/i);
});
