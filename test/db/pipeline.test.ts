/*
 * The database side of processing: inserting a video queues exactly one
 * validate job, state changes are announced on the owner's channel, and the
 * SQL admin functions re-queue work. No worker runs here; the assertions are
 * on graphile-worker's own tables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, userClaims, uuid } from '../helpers/db.ts';

const db = await createTestDatabase();

interface Job {
  task: string;
  payload: unknown;
  key: string | null;
}
async function jobsFor(videoId: string): Promise<Job[]> {
  const { rows } = await db.rootPool.query(
    `select t.identifier as task, j.payload, j.key
     from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
     where j.payload ->> 'id' = $1 order by j.id`,
    [videoId],
  );
  return rows;
}

/** Inserts as the user would (through the API role, under RLS) and commits. */
async function insertAsUser(owner: string, title = 'clip') {
  const c = await db.authPool.connect();
  try {
    await c.query('begin');
    await c.query(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [
      JSON.stringify(userClaims(owner)),
    ]);
    const {
      rows: [v],
    } = await c.query(`insert into app_public.videos (title, object_key) values ($1, $2) returning id`, [
      title,
      `u/${owner}/${uuid()}/clip.mp4`,
    ]);
    await c.query('commit');
    return v.id as string;
  } finally {
    c.release();
  }
}

test('one insert queues exactly one videos__validate job with payload {id}', async () => {
  const id = await insertAsUser(uuid());
  assert.deepEqual(await jobsFor(id), [{ task: 'videos__validate', payload: { id }, key: `videos__validate:${id}` }]);
});

test('adding the same job again, or updating the row, does not queue a second one', async () => {
  const owner = uuid();
  const id = await insertAsUser(owner);
  await db.rootPool.query(
    `select graphile_worker.add_job('videos__validate', json_build_object('id', $1::uuid), job_key := 'videos__validate:' || $1)`,
    [id],
  );
  await db.rootPool.query(`update app_public.videos set title = 'renamed' where id = $1`, [id]);
  await db.rootPool.query(`update app_public.videos set state = 'validating', stage = 'fetch' where id = $1`, [id]);
  assert.deepEqual(
    (await jobsFor(id)).map((j) => j.task),
    ['videos__validate'],
  );
  // A second video gets its own job: the key is per row, not per task.
  const other = await insertAsUser(owner);
  assert.equal((await jobsFor(other)).length, 1);
});

test("state changes are announced on the owner's channel, with the row's progress", async () => {
  const a = uuid(),
    b = uuid();
  const videoA = await insertAsUser(a);
  const videoB = await insertAsUser(b);
  const listener = new pg.Client({ connectionString: db.ownerUrl });
  await listener.connect();
  try {
    const received: { channel: string; payload: unknown }[] = [];
    let wake: () => void = () => {};
    listener.on('notification', (n) => {
      received.push({ channel: n.channel, payload: JSON.parse(n.payload!) });
      wake();
    });
    const next = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`only ${received.length} notification(s) arrived`)), 60_000);
        wake = () => {
          if (received.length >= count) {
            clearTimeout(guard);
            resolve();
          }
        };
        wake();
      });
    await listener.query(`listen "heimdex:videos:${a}"`);

    // Neither a rename nor B's progress reaches A's channel, so the first
    // notification A sees must be its own state change.
    await db.rootPool.query(`update app_public.videos set title = 'renamed' where id = $1`, [videoA]);
    await db.rootPool.query(`update app_public.videos set state = 'processing' where id = $1`, [videoB]);
    await db.rootPool.query(
      `update app_public.videos set state = 'validating', stage = 'fetch', progress = 0.25 where id = $1`,
      [videoA],
    );
    await next(1);
    assert.deepEqual(received[0], {
      channel: `heimdex:videos:${a}`,
      payload: { id: videoA, state: 'validating', stage: 'fetch', progress: 0.25, error: null, event: 'update' },
    });

    await db.rootPool.query(`update app_public.videos set state = 'failed', error = 'not a video' where id = $1`, [
      videoA,
    ]);
    await next(2);
    assert.deepEqual(received[1].payload, {
      id: videoA,
      state: 'failed',
      stage: 'fetch',
      progress: 0.25,
      error: 'not a video',
      event: 'update',
    });
    // A new upload is announced too, so a list can show it immediately.
    const videoA2 = await insertAsUser(a);
    await next(3);
    assert.deepEqual(received[2].payload, {
      id: videoA2,
      state: 'uploaded',
      stage: null,
      progress: 0,
      error: null,
      event: 'insert',
    });
  } finally {
    await listener.end();
  }
});

test('reprocess_video resets a video and re-queues it without duplicating its job', async () => {
  const id = await insertAsUser(uuid());
  await db.rootPool.query(
    `update app_public.videos set state = 'failed', stage = 'transcribe', progress = 0.6, error = 'model crashed' where id = $1`,
    [id],
  );
  const {
    rows: [r],
  } = await db.rootPool.query(`select app_private.reprocess_video($1) as ok`, [id]);
  assert.equal(r.ok, true);
  const {
    rows: [v],
  } = await db.rootPool.query(`select state, stage, progress, error from app_public.videos where id = $1`, [id]);
  assert.deepEqual(v, { state: 'uploaded', stage: null, progress: 0, error: null });
  assert.deepEqual(
    (await jobsFor(id)).map((j) => j.key),
    [`videos__validate:${id}`],
  );
  const {
    rows: [missing],
  } = await db.rootPool.query(`select app_private.reprocess_video($1) as ok`, [uuid()]);
  assert.equal(missing.ok, false);
});

test('reprocess_failed re-queues exactly the failed videos', async () => {
  const owner = uuid();
  const failed1 = await insertAsUser(owner),
    failed2 = await insertAsUser(owner),
    indexed = await insertAsUser(owner);
  // Other tests in this file leave failed videos behind; count only what changes.
  await db.rootPool.query(`update app_public.videos set state = 'indexed' where state = 'failed'`);
  await db.rootPool.query(`update app_public.videos set state = 'failed', error = 'x' where id = any($1)`, [
    [failed1, failed2],
  ]);
  await db.rootPool.query(`update app_public.videos set state = 'indexed', progress = 1 where id = $1`, [indexed]);
  const {
    rows: [r],
  } = await db.rootPool.query(`select app_private.reprocess_failed() as n`);
  assert.equal(r.n, 2);
  const { rows } = await db.rootPool.query(
    `select id, state from app_public.videos where owner_id = $1 order by state`,
    [owner],
  );
  assert.deepEqual(
    new Map(rows.map((x) => [x.id, x.state])),
    new Map([
      [failed1, 'uploaded'],
      [failed2, 'uploaded'],
      [indexed, 'indexed'],
    ]),
  );
});

test('user_stats summarises each user', async () => {
  const owner = uuid();
  const [v1, v2] = [await insertAsUser(owner), await insertAsUser(owner)];
  await insertAsUser(owner); // stays 'uploaded': in progress
  await db.rootPool.query(
    `update app_public.videos set state = 'indexed', byte_size = 1000, duration_s = 60, playback_bytes = 700 where id = $1`,
    [v1],
  );
  await db.rootPool.query(
    `update app_public.videos set state = 'failed', error = 'unreadable', byte_size = 500 where id = $1`,
    [v2],
  );
  await db.rootPool.query(
    `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s) values ($1, $2, 0, 0, 30), ($1, $2, 1, 30, 60)`,
    [v1, owner],
  );
  const {
    rows: [s],
  } = await db.rootPool.query(
    `select videos::int, indexed::int, in_progress::int, failed::int, bytes::int, seconds::float8, scenes::int, last_error,
            playback_bytes::int
     from app_private.user_stats where owner_id = $1`,
    [owner],
  );
  assert.deepEqual(s, {
    videos: 3,
    indexed: 1,
    in_progress: 1,
    failed: 1,
    bytes: 1500,
    seconds: 60,
    scenes: 2,
    last_error: 'unreadable',
    // The copies apart from the uploads: one video has one.
    playback_bytes: 700,
  });
});
