/*
 * The worker's crash and outage mechanisms, each on its own: jobs of a silent
 * worker go back to the queue (heartbeats + force_unlock_workers), a worker
 * rides out its database going away mid-job (a proxy that refuses
 * connections while cut), temp folders of dead processes are removed, one
 * user's backlog does not starve another's first video, and objects nothing
 * refers to are swept after the grace period. Real graphile-worker, real
 * PostgreSQL, real ffmpeg; waits are on database state and log lines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Logger, type JobHelpers, type LogFunctionFactory, type Task, type WorkerEvents } from 'graphile-worker';
import { startWorker, type WorkerHandle } from '../../worker/index.ts';
import { guarded } from '../../worker/pipeline/jobs.ts';
import { removeDeadWorkDirs } from '../../worker/pipeline/workdir.ts';
import { sweepOrphans } from '../../worker/tasks/storage__sweep.ts';
import { createTestDatabase, uuid, type TestDatabase } from '../helpers/db.ts';
import { startDbProxy } from '../helpers/proxy.ts';
import { generateSampleVideo } from '../fixtures/videos.ts';
import { insertVideo, makeRig, runJobsOnce, scenesOf, settled, upload } from './helpers.ts';

const workers: WorkerHandle[] = [];
after(async () => {
  for (const w of workers) await w.stop();
});
const db: TestDatabase = await createTestDatabase();
const rig = await makeRig({ WORKER_DEAD_AFTER_S: '3' });
const sample = await generateSampleVideo(path.join(rig.dir, 'sample.mp4'));

/** Log lines of one worker, and a way to wait for one that matches. */
function recorder() {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const factory: LogFunctionFactory = () => (_level, message) => {
    lines.push(message);
    for (const w of waiters.filter((x) => x.re.test(message))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const seen = (re: RegExp) =>
    lines.some((l) => re.test(l)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ re, resolve }));
  return { lines, factory, seen };
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function jobOf(id: string) {
  const { rows } = await db.rootPool.query<{ id: string; locked_by: string | null }>(
    `select id, locked_by from graphile_worker._private_jobs where payload->>'id' = $1 order by id desc limit 1`,
    [id],
  );
  return rows[0];
}

test('release_dead_workers frees the locks of a silent worker and leaves a beating one alone', async () => {
  const owner = uuid();
  const a = await insertVideo(db, owner, `u/${owner}/x/a.mp4`);
  const b = await insertVideo(db, owner, `u/${owner}/x/b.mp4`);
  const lock = (id: string, by: string) =>
    db.rootPool.query(
      `update graphile_worker._private_jobs set locked_by = $2, locked_at = now() - interval '1 hour' where payload->>'id' = $1`,
      [id, by],
    );
  await lock(a, 'sql-dead');
  await lock(b, 'sql-live');
  await db.rootPool.query(`select app_private.worker_heartbeat(array['sql-live'], 'test')`);
  const { rows } = await db.rootPool.query<{ ids: string[] }>('select app_private.release_dead_workers(30) as ids');
  assert.deepEqual(rows[0]!.ids, ['sql-dead']);
  assert.equal((await jobOf(a))!.locked_by, null);
  assert.equal((await jobOf(b))!.locked_by, 'sql-live');
  await db.rootPool.query(`select graphile_worker.force_unlock_workers(array['sql-live'])`);
  await db.rootPool.query(`delete from app_public.videos where id = any($1)`, [[a, b]]);
});

test('a job released after its last attempt fails its video with a reason instead of leaving it processing', async () => {
  const owner = uuid();
  const id = await insertVideo(db, owner, `u/${owner}/x/last.mp4`);
  await db.rootPool.query(
    `update graphile_worker._private_jobs set locked_by = 'sql-dead-last', locked_at = now() - interval '1 hour',
            attempts = max_attempts where payload->>'id' = $1`,
    [id],
  );
  await db.rootPool.query(`update app_public.videos set state = 'validating' where id = $1`, [id]);
  const { rows } = await db.rootPool.query<{ ids: string[] }>('select app_private.release_dead_workers(30) as ids');
  assert.deepEqual(rows[0]!.ids, ['sql-dead-last']);
  const v = await db.rootPool.query<{ state: string; error: string }>(
    'select state, error from app_public.videos where id = $1',
    [id],
  );
  assert.equal(v.rows[0]!.state, 'failed');
  assert.match(v.rows[0]!.error, /interrupted on its last attempt \(8 of 8/);
  await db.rootPool.query(`delete from app_public.videos where id = $1`, [id]);
});

test('a job its worker gives back after a database outage gets one more attempt, up to 24', async () => {
  const owner = uuid();
  const id = await insertVideo(db, owner, `u/${owner}/x/outage.mp4`);
  await db.rootPool.query(`update app_public.videos set state = 'validating' where id = $1`, [id]);
  const holdOnLast = (attempts: number) =>
    db.rootPool.query(
      `update graphile_worker._private_jobs set locked_by = 'sql-outage', locked_at = now(),
              attempts = $2, max_attempts = $2 where payload->>'id' = $1`,
      [id, attempts],
    );
  const state = async () =>
    (
      await db.rootPool.query<{ state: string; error: string | null }>(
        'select state, error from app_public.videos where id = $1',
        [id],
      )
    ).rows[0]!;
  const job = async () =>
    (
      await db.rootPool.query<{ locked_by: string | null; max_attempts: number }>(
        `select locked_by, max_attempts from graphile_worker._private_jobs where payload->>'id' = $1`,
        [id],
      )
    ).rows[0]!;

  // On its last attempt (8 of 8) when the database went away: not failed,
  // back in the queue with a ninth.
  await holdOnLast(8);
  await db.rootPool.query(`select app_private.release_workers(array['sql-outage'])`);
  assert.deepEqual(await job(), { locked_by: null, max_attempts: 9 });
  assert.equal((await state()).state, 'validating');

  // A killed worker's job is not given more: release_dead_workers fails it.
  await holdOnLast(9);
  await db.rootPool.query(
    `update graphile_worker._private_jobs set locked_at = now() - interval '1 hour' where payload->>'id' = $1`,
    [id],
  );
  await db.rootPool.query('select app_private.release_dead_workers(30)');
  assert.equal((await state()).state, 'failed');

  // Outages add up to 24 attempts in all, then the job fails as any other.
  await db.rootPool.query(`update app_public.videos set state = 'validating', error = null where id = $1`, [id]);
  await holdOnLast(24);
  await db.rootPool.query(`select app_private.release_workers(array['sql-outage'])`);
  assert.equal((await job()).max_attempts, 24);
  const last = await state();
  assert.equal(last.state, 'failed');
  assert.match(last.error!, /interrupted on its last attempt \(24 of 24/);
  await db.rootPool.query(`delete from app_public.videos where id = $1`, [id]);
});

test("an attempt a database restart ends through the job's own query is given back, up to 24", async () => {
  // The job's connection is terminated under it (what a restart does to a
  // query in flight) while the database stays up, so graphile-worker records
  // the failure: the path release_workers never sees. A real 57P01 from
  // PostgreSQL, through the worker login (job_interrupted's grant).
  const fresh = await createTestDatabase();
  const owner = uuid();
  const id = await insertVideo(fresh, owner, `u/${owner}/x/terminated.mp4`);
  const terminated = (helpers: JobHelpers) => () =>
    helpers.query('select pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid())').then(() => {});
  const job = async () =>
    (
      await fresh.rootPool.query<{ attempts: number; max_attempts: number; last_error: string | null }>(
        `select attempts, max_attempts, last_error from graphile_worker._private_jobs where payload->>'id' = $1`,
        [id],
      )
    ).rows[0]!;
  const video = async () =>
    (
      await fresh.rootPool.query<{ state: string; error: string | null }>(
        'select state, error from app_public.videos where id = $1',
        [id],
      )
    ).rows[0]!;
  const nextAttempt = (attempts: number, max: number) =>
    fresh.rootPool.query(
      `update graphile_worker._private_jobs set attempts = $2, max_attempts = $3, run_at = now(), last_error = null
        where payload->>'id' = $1`,
      [id, attempts, max],
    );
  const { state: queued } = await video();
  const log = recorder();
  const run = async (make: (helpers: JobHelpers) => () => Promise<void>) => {
    await runJobsOnce(fresh.workerUrl, {
      concurrency: 1,
      taskList: {
        videos__validate: (_payload, helpers) => guarded(helpers, id, make(helpers)),
      },
      logger: new Logger(log.factory),
    });
  };

  // The first attempt: recorded as failed (backoff), and given back.
  await run(terminated);
  let j = await job();
  assert.equal(j.attempts, 1);
  assert.equal(j.max_attempts, 9);
  assert.match(j.last_error ?? '', /terminating connection/);
  assert.deepEqual(await video(), { state: queued, error: null });
  assert.ok(log.lines.some((l) => l.includes(`video ${id}: the database went away`) && /does not count/.test(l)));

  // What was the last attempt (8 of 8): the video is not failed, the job has a ninth.
  await nextAttempt(7, 8);
  await run(terminated);
  j = await job();
  assert.deepEqual([j.attempts, j.max_attempts], [8, 9]);
  assert.deepEqual(await video(), { state: queued, error: null });

  // Outages add up to 24 attempts in all, then the job fails as any other.
  await nextAttempt(23, 24);
  await run(terminated);
  assert.equal((await job()).max_attempts, 24);
  let v = await video();
  assert.equal(v.state, 'failed');
  assert.match(v.error ?? '', /kept failing after 24 attempts \(.*terminating connection/);

  // A failure of the job itself is not given back.
  await fresh.rootPool.query(`update app_public.videos set state = $2, error = null where id = $1`, [id, queued]);
  await nextAttempt(7, 8);
  await run(() => () => Promise.reject(new Error('a bug in the stage')));
  assert.equal((await job()).max_attempts, 8);
  v = await video();
  assert.equal(v.state, 'failed');
  assert.match(v.error ?? '', /kept failing after 8 attempts \(a bug in the stage\)/);
});

test("graphile-worker's cron loop starts cleanly as the worker login (no crontab, no error)", async () => {
  // run() always starts cron, even with the empty crontab list the worker
  // passes, and cron first reads graphile_worker._private_known_crontabs;
  // without that grant it logged "Cron hit an error" and retried for ever.
  // Either cron:started is emitted or that line is logged: no waiting window.
  const log = recorder();
  const events = new EventEmitter() as WorkerEvents;
  const started = once(events, 'cron:started').then(() => 'started');
  const w = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    noHandleSignals: true,
    logFactory: log.factory,
    reembedStale: false,
    events,
  });
  try {
    const first = await Promise.race([started, log.seen(/Cron hit an error/).then(() => 'error')]);
    assert.equal(first, 'started', log.lines.join('\n'));
    assert.deepEqual(
      log.lines.filter((l) => /cron/i.test(l)),
      [],
    );
  } finally {
    await w.stop();
  }
});

test("a live worker returns a dead worker's job to the queue and the video is indexed", async () => {
  const owner = uuid();
  const id = await insertVideo(db, owner, await upload(rig, owner, sample.path));
  // The state a SIGKILL leaves: the job locked by a worker that no longer beats.
  await db.rootPool.query(
    `update graphile_worker._private_jobs set locked_by = 'killed-worker', locked_at = now() where payload->>'id' = $1`,
    [id],
  );
  const log = recorder();
  const w = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: log.factory,
    reembedStale: false,
  });
  workers.push(w);
  await log.seen(/returned the jobs of 1 silent worker\(s\) to the queue: killed-worker/);
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  await w.stop();
});

test('a worker rides out its database going away mid-job, and the job is retried to the end', async () => {
  const proxy = await startDbProxy({ host: '127.0.0.1', port: Number(new URL(db.ownerUrl).port) });
  after(() => proxy.close());
  const log = recorder();
  const w = await startWorker(rig.config, {
    databaseUrl: proxy.url(db.workerUrl),
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: log.factory,
    reembedStale: false,
  });
  workers.push(w);
  let ended = false;
  void w.done.then(() => (ended = true));
  const owner = uuid();
  const id = await insertVideo(db, owner, await upload(rig, owner, sample.path));
  await waitFor('a locked job', async () => (await jobOf(id))?.locked_by);
  await proxy.cut();
  await log.seen(/database unreachable/);
  await proxy.restore();
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  const scenes = await scenesOf(db, id);
  assert.deepEqual(
    scenes.map((s) => s.ordinal),
    scenes.map((_, i) => i),
    'one set of scenes',
  );
  assert.equal(ended, false, 'the worker did not stop');
  assert.equal(log.lines.filter((l) => /database unreachable/.test(l)).length >= 1, true);
  await w.stop();
});

test('temp folders of dead worker processes are removed, those of live ones kept', async () => {
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-tmp-test-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dead = path.join(tmp, `heimdex-job-${gone}-abc`);
  const mine = path.join(tmp, `heimdex-job-${process.pid}-def`);
  const other = path.join(tmp, 'unrelated');
  for (const d of [dead, mine, other]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(dead, 'input'), 'a copy of a video');
  assert.deepEqual(await removeDeadWorkDirs(tmp), [dead]);
  assert.equal(fs.existsSync(dead), false);
  assert.equal(fs.existsSync(mine), true);
  assert.equal(fs.existsSync(other), true);
});

test("a user's backlog does not starve another user's first video", async () => {
  const fresh = await createTestDatabase();
  const [a, b] = [uuid(), uuid()];
  for (let i = 0; i < 20; i++) await insertVideo(fresh, a, `u/${a}/${uuid()}/v${i}.mp4`);
  const bVideo = await insertVideo(fresh, b, `u/${b}/${uuid()}/first.mp4`);
  const order: string[] = [];
  const record: Task = async (payload) => {
    order.push((payload as { id: string }).id);
  };
  await runJobsOnce(fresh.ownerUrl, {
    concurrency: 1,
    taskList: { videos__validate: record },
    logger: new Logger(() => () => {}),
  });
  assert.equal(order.length, 21);
  // A's oldest video was queued first at the same priority; B's is next.
  assert.ok(order.indexOf(bVideo) <= 1, `B's video ran at position ${order.indexOf(bVideo)}`);
});

test('the sweep deletes only old objects that no row refers to', async () => {
  const owner = uuid();
  const used = await upload(rig, owner, sample.path);
  await db.rootPool.query(
    `insert into app_public.videos (owner_id, title, object_key, state) values ($1, 'kept', $2, 'failed')`,
    [owner, used],
  );
  const orphan = `u/${owner}/${uuid()}/never-registered.mp4`;
  const recent = `u/${owner}/${uuid()}/still-uploading.mp4`;
  const staleKeyframe = `u/${owner}/${uuid()}/keyframes/7.jpg`;
  for (const k of [orphan, recent, staleKeyframe]) await rig.storage.put(k, Buffer.from('x'), 'video/mp4');
  const old = new Date(Date.now() - 2 * 86400_000);
  for (const k of [used, orphan, staleKeyframe]) {
    fs.utimesSync(path.join(rig.config.dataDir, 'objects', k), old, old);
  }
  const deleted = await sweepOrphans(rig.storage, (t, v) => db.rootPool.query(t, v), 86400);
  assert.deepEqual(deleted.sort(), [orphan, staleKeyframe].sort());
  assert.ok(await rig.storage.stat(used));
  assert.ok(await rig.storage.stat(recent));
  assert.equal(await rig.storage.stat(orphan), null);
});
