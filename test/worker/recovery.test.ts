/*
 * A worker process killed with SIGKILL mid-job, with real `heimdex worker`
 * processes, real graphile-worker and real ffmpeg. The job it held must be
 * handed back by the other worker on the same machine at its next heartbeat
 * (it sees the process is gone; no waiting for the heartbeat to go stale),
 * keep its run_at (no retry backoff for a crash), be taken by that worker and
 * finish the video. The two ways of releasing a job log different lines
 * ("exited worker process(es) <pid>" and "silent worker(s)"), so which one
 * acted is read from B's log, not inferred from how long it took (how fast
 * is measured by the chaos suite); WORKER_DEAD_AFTER_S is long so the
 * stale-heartbeat path normally has no chance to act first.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import { ROOT_DIR } from '../../core/config.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { generateSampleVideo } from '../fixtures/videos.ts';
import { insertVideo, makeRig, scenesOf, settled, upload } from './helpers.ts';

const DEAD_AFTER_S = 30;
const db = await createTestDatabase();
const rig = await makeRig({ WORKER_DEAD_AFTER_S: String(DEAD_AFTER_S) });
const sample = await generateSampleVideo(path.join(rig.dir, 'sample.mp4'));

interface WorkerProc {
  child: ChildProcess;
  pools: Set<string>;
  lines: string[];
  /** Resolves once the worker said it runs and named its job runner (two pipes, either order). */
  running: Promise<void>;
  /** Resolves when a log line containing `text` has come (or already came). */
  seen(text: string): Promise<void>;
}
const procs: WorkerProc[] = [];
after(() => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

function startWorkerProcess(): WorkerProc {
  const child = spawn(process.execPath, [path.join(ROOT_DIR, 'cli', 'heimdex.js'), 'worker'], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      DATABASE_URL: db.ownerUrl,
      WORKER_DATABASE_URL: db.workerUrl,
      HEIMDEX_DATA_DIR: rig.dir,
      MODELS_DIR: rig.config.models.dir,
      STORAGE_SIGNING_SECRET: 'test-signing-secret-test-signing-secret',
      FACES: 'off',
      WORKER_DEAD_AFTER_S: String(DEAD_AFTER_S),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const waiters: { text: string; resolve: () => void }[] = [];
  const p: WorkerProc = {
    child,
    pools: new Set(),
    lines: [],
    running: Promise.resolve(),
    seen: (text) =>
      p.lines.some((l) => l.includes(text))
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ text, resolve })),
  };
  let err = '';
  const said = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('worker running')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}): ${err}`)));
  });
  p.running = Promise.all([said, p.seen('job runner pool-')]).then(() => {});
  p.running.catch(() => {});
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const msg = (JSON.parse(l) as { msg: string }).msg;
      const m = /job runner (pool-[0-9a-f]+) started/.exec(msg);
      if (m) p.pools.add(m[1]!);
      p.lines.push(msg);
      for (const w of waiters.filter((x) => msg.includes(x.text))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  procs.push(p);
  return p;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface JobRow {
  id: string;
  locked_by: string | null;
  attempts: number;
  last_error: string | null;
  run_at_passed: boolean;
}
const jobRow = async (id: string) =>
  (
    await db.rootPool.query<JobRow>(
      `select id::text, locked_by, attempts, last_error, run_at <= now() as run_at_passed
         from graphile_worker._private_jobs where id = $1`,
      [id],
    )
  ).rows[0];

test(
  "a SIGKILLed worker's job is released by the other worker as an exited process's and the video is indexed",
  { timeout: 300_000 },
  async () => {
    const a = startWorkerProcess();
    await a.running;
    const owner = uuid();
    // Hold the video row so that A's first progress update waits: A is then
    // certainly in the middle of its job when it is killed.
    const holder = await db.rootPool.connect();
    const id = await insertVideo(db, owner, await upload(rig, owner, sample.path));
    await holder.query('begin');
    await holder.query('select 1 from app_public.videos where id = $1 for update', [id]);
    const locked = await waitFor('A to take the job', async () => {
      const { rows } = await db.rootPool.query<{ id: string; locked_by: string }>(
        `select id::text, locked_by from graphile_worker._private_jobs where payload->>'id' = $1 and locked_by is not null`,
        [id],
      );
      return rows[0];
    });
    assert.ok(a.pools.has(locked.locked_by), `locked by A (${[...a.pools].join(', ')})`);
    const before = (await jobRow(locked.id))!;

    const b = startWorkerProcess();
    await b.running;
    a.child.kill('SIGKILL');
    await new Promise((r) => (a.child.signalCode ? r(null) : a.child.once('exit', r)));
    await holder.query('rollback');
    holder.release();

    // Released: unlocked (or already taken again by B) without a failure
    // recorded and without its run_at moved into the future.
    const released = await waitFor('the job to be released', async () => {
      const j = await jobRow(locked.id);
      return j && j.locked_by !== locked.locked_by ? j : null;
    });
    assert.equal(released.last_error, null, 'the crash was not recorded as a failure of the job');
    assert.equal(released.run_at_passed, true, 'no retry backoff: run_at is not in the future');
    // By the exited-process path: B logs which path released it (after the
    // commit, so the line may come through the pipe after the row changed).
    const how = await Promise.race([
      b
        .seen(`returned the jobs of 1 exited worker process(es) ${a.child.pid} on this machine to the queue`)
        .then(() => 'exited process'),
      b.seen('silent worker(s)').then(() => 'stale heartbeat'),
    ]);
    assert.equal(how, 'exited process', `B said:\n${b.lines.join('\n')}`);

    // Taken again by B, as one more attempt (the killed one counted).
    const retaken = await waitFor('B to take the job', async () => {
      const j = await jobRow(locked.id);
      return j?.locked_by ? j : null;
    });
    assert.ok(b.pools.has(retaken.locked_by!), `taken by B (${[...b.pools].join(', ')})`);
    assert.equal(retaken.attempts, before.attempts + 1);

    const v = await settled(db, id);
    assert.equal(v.state, 'indexed', v.error ?? '');
    const scenes = await scenesOf(db, id);
    assert.ok(scenes.length > 0);
    assert.deepEqual(
      scenes.map((s) => s.ordinal),
      scenes.map((_, i) => i),
      'one set of scenes',
    );
    b.child.kill('SIGTERM');
    await new Promise((r) => b.child.once('exit', r));
  },
);
