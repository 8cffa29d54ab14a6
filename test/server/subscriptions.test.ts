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
async function advance(id: string, progress: number, stage = 'scenes') {
  await db.rootPool.query(
    `update app_public.videos set state = 'processing', stage = $3, progress = $2 where id = $1`,
    [id, progress, stage],
  );
}

/**
 * Moves a video to another owner (test-only, as root; the product never does
 * this). The key moves with it, since keys must lie under the owner's prefix.
 * With a stage it is also a change, notified on the new owner's channel.
 */
async function handTo(id: string, owner: string, change?: { stage: string; progress: number }) {
  await db.rootPool.query(
    `update app_public.videos
        set owner_id = $2::uuid, object_key = 'u/' || $2::text || '/' || id || '/v.mp4',
            state = 'processing', stage = coalesce($3, stage), progress = coalesce($4::float8, progress)
      where id = $1`,
    [id, owner, change?.stage ?? null, change?.progress ?? null],
  );
}

/** A progress value for poke round i: never 1 (the end marker), never the same twice in a row. */
const roundProgress = (i: number) => ((i % 99) + 1) / 100;

/**
 * The first event an iterator yields while `poke` keeps changing rows. The
 * LISTEN starts asynchronously after subscribe, so one update could be missed;
 * poking until something arrives avoids guessing a delay. The 100 ms only
 * paces the pokes; nothing is concluded from it.
 */
async function firstEvent(it: AsyncIterableIterator<any>, poke: (i: number) => Promise<void>) {
  let done = false;
  const next = it.next().finally(() => {
    done = true;
  });
  for (let i = 1; !done && i < 1000; i++) {
    await poke(i);
    await Promise.race([next, new Promise((r) => setTimeout(r, 100))]);
  }
  return (await next).value;
}

/**
 * Absence proven by order, not by waiting: once a stream has delivered an
 * event its LISTEN is live, PostgreSQL delivers notifications to a listener
 * in commit order and the server forwards them in order. `round` makes the
 * change that must not arrive and then the one that must (with progress 1,
 * the end marker); every event the stream holds up to that marker is
 * returned, so a leaked event, whenever it came, is among them.
 */
async function eventsThroughEnd(it: AsyncIterableIterator<any>, round: () => Promise<void>) {
  await round();
  const seen: any[] = [];
  for (;;) {
    const r = await it.next();
    assert.ok(!r.done, 'the stream ended before the marked change arrived');
    assert.equal(r.value.errors, undefined, JSON.stringify(r.value.errors));
    seen.push(r.value.data.videoChanged);
    if (r.value.data.videoChanged.progress === 1) return seen;
  }
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
    const ev = await firstEvent(it, (i) => advance(id, roundProgress(i)));
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
    const round = async (p: number) => {
      await advance(aliceVideo, p);
      await advance(bobVideo, p);
    };
    const ev = await firstEvent(it, (i) => round(roundProgress(i)));
    assert.equal(ev.data.videoChanged.videoId, bobVideo);
    // The LISTEN is live now: one more round, and nothing of Alice's may
    // come before (or among) Bob's events up to its end.
    const seen = await eventsThroughEnd(it, () => round(1));
    assert.deepEqual(new Set(seen.map((e) => e.videoId)), new Set([bobVideo]));
    await it.return?.();
  } finally {
    await c.dispose();
  }
});

test("following someone else's video yields no snapshot and none of its changes", async () => {
  const alice = await signup(srv.url);
  const bob = await signup(srv.url);
  const aliceVideo = await insertVideo(alice.id, 'Alice private');
  const c = client(bob.token);
  try {
    const spy = c.iterate({ query: SUB, variables: { videoId: aliceVideo } });
    // Nothing of Alice's may reach the spying stream; something that must is
    // the same video once it is Bob's. Each round changes it as Alice's
    // (stage 'scenes'), then hands it to Bob with a change (stage 'faces'),
    // then hands it back. A snapshot would come first of all, a leaked
    // change before the handover of its round.
    const round = async (p: number) => {
      await advance(aliceVideo, p, 'scenes');
      await handTo(aliceVideo, bob.id, { stage: 'faces', progress: p });
    };
    const first = await firstEvent(spy, async (i) => {
      await round(roundProgress(i));
      await handTo(aliceVideo, alice.id);
    });
    assert.equal(first.errors, undefined, JSON.stringify(first.errors));
    // A snapshot is right too when the subscription started while the video
    // was Bob's (between a handover and the hand back): it then shows Bob's
    // stage. What must never come is anything from Alice's time.
    assert.ok(['update', 'snapshot'].includes(first.data.videoChanged.event), first.data.videoChanged.event);
    assert.equal(first.data.videoChanged.stage, 'faces');
    // The spy's LISTEN is live now; a last round, left with Bob.
    const seen = await eventsThroughEnd(spy, () => round(1));
    assert.deepEqual(
      new Set(seen.map((e) => `${e.videoId} ${e.event} ${e.stage}`)),
      new Set([`${aliceVideo} update faces`]),
    );
    assert.deepEqual(seen.at(-1).video, { id: aliceVideo, title: 'Alice private', state: 'processing' });
    await spy.return?.();
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
    const round = async (p: number) => {
      await advance(other, p);
      await advance(followed, p);
    };
    const ev = await firstEvent(it, (i) => round(roundProgress(i)));
    assert.equal(ev.data.videoChanged.videoId, followed);
    assert.equal(ev.data.videoChanged.event, 'update');
    const seen = await eventsThroughEnd(it, () => round(1));
    assert.deepEqual(new Set(seen.map((e) => e.videoId)), new Set([followed]));
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
