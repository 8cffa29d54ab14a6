/*
 * The chaos suite (npm run test:chaos): a whole Heimdex (embedded PostgreSQL,
 * `heimdex serve`, two `heimdex worker` processes) in a throw-away data folder
 * on loopback, attacked four ways with generated inputs only:
 *   kill     SIGKILL workers at random points while videos are processed;
 *   restart  restart PostgreSQL under load with a live subscription;
 *   hostile  a generated corpus of hostile media through the real upload path,
 *            with a canary listener and a canary file;
 *   tokens   malformed and forged tokens on HTTP and the websocket.
 * Every loop is bounded. Sizes (defaults = the issue's minimums):
 *   CHAOS_VIDEOS=10 CHAOS_KILLS=50 CHAOS_RESTARTS=5 CHAOS_HOSTILE=60 CHAOS_TOKENS=60
 *   CHAOS_ONLY=kill,restart,hostile,tokens   run some groups only
 * Prints one JSON line of figures per group and exits non-zero if anything
 * did not hold. The figures go to RELIABILITY.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { loadConfig, ROOT_DIR } from '../core/config.ts';
import { resolveDatabase } from '../core/database.ts';
import { startEmbedded, stopEmbedded } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { createStorage } from '../core/storage/index.ts';
import { generateSampleVideo } from '../test/fixtures/videos.ts';
import { sweepOrphans } from '../worker/tasks/storage__sweep.ts';

const N = (k: string, d: number) => Number(process.env[k] ?? d);
const SIZE = {
  videos: N('CHAOS_VIDEOS', 10),
  kills: N('CHAOS_KILLS', 50),
  restarts: N('CHAOS_RESTARTS', 5),
  hostile: N('CHAOS_HOSTILE', 60),
  tokens: N('CHAOS_TOKENS', 60),
};
const ONLY = (process.env.CHAOS_ONLY ?? 'kill,restart,hostile,tokens').split(',');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  return ok;
};

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-chaos-'));
const tmp = path.join(dir, 'tmp');
const inputs = path.join(dir, 'inputs');
fs.mkdirSync(tmp);
fs.mkdirSync(inputs);
const emptyModels = path.join(dir, 'models');
fs.mkdirSync(emptyModels);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  HEIMDEX_DATA_DIR: path.join(dir, 'data'),
  HEIMDEX_DB_PORT: String(await freePort()),
  HEIMDEX_PORT: String(await freePort()),
  HEIMDEX_HOST: '127.0.0.1',
  MODELS_DIR: emptyModels,
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  AUTH_RATE_LIMIT: '100000',
  AUTH_RATE_LIMIT_IP: '100000',
  SIDECAR_MAX_BYTES: String(256 * 1024),
  MAX_VIDEO_DURATION_S: '600',
  FFMPEG_TIMEOUT_S: '120',
  TMPDIR: tmp,
};
delete env.DATABASE_URL;
delete env.AUTH_DATABASE_URL;
const config = loadConfig(env);
const base = `http://127.0.0.1:${env.HEIMDEX_PORT}`;
const MAIN = path.join(ROOT_DIR, 'cli', 'main.ts');

await resolveDatabase(config, { start: true });
const urls = await resolveDatabase(config);
await migrateDatabase(urls.ownerUrl, { includeCurrent: true });
const db = new pg.Pool({ connectionString: urls.ownerUrl, max: 3 });
db.on('error', () => {});

interface Proc {
  name: string;
  child: ChildProcess;
  /** graphile-worker pool ids (locked_by) this worker announced. */
  pools: Set<string>;
  exits: number;
  /** Resolves once the process says it is serving or working. */
  ready: Promise<void>;
  stopped?: boolean;
}
const procs = new Map<string, Proc>();
function spawnProc(name: string, cmd: 'serve' | 'worker'): Proc {
  // Workers log at info so that each announces its pool ids ("job runner
  // pool-… started"): that is how a stranded job is traced to its process.
  const child = spawn(process.execPath, [MAIN, cmd], {
    env: cmd === 'worker' ? { ...env, LOG_LEVEL: 'info' } : env,
    stdio: ['ignore', cmd === 'worker' ? 'pipe' : 'ignore', 'pipe'],
  });
  const pools = new Set<string>();
  child.stdout?.on('data', (d) => {
    for (const m of String(d).matchAll(/job runner (pool-[0-9a-f]+) started/g)) pools.add(m[1]!);
  });
  let err = '';
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-2000);
    if (/worker running|listening on/.test(err)) markReady();
  });
  const p: Proc = { name, child, pools, exits: 0, ready };
  child.on('exit', (code, signal) => {
    markReady();
    if (signal !== 'SIGKILL' && !stopping && !p.stopped) {
      p.exits++;
      console.error(`[chaos] ${name} exited on its own (code ${code}): ${err}`);
    }
  });
  procs.set(name, p);
  return p;
}
let stopping = false;
async function stopProc(p: Proc) {
  p.stopped = true;
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const done = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await done;
}

async function waitHttp() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).status === 200) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error('server did not come up');
}

async function gql(query: string, variables: Record<string, unknown>, token?: string) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

async function signup() {
  const res = await fetch(`${base}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `chaos${crypto.randomUUID()}@example.test`, password: 'a long chaos passphrase' }),
  });
  const b = (await res.json()) as any;
  return { token: b.access_token as string, id: b.user.id as string };
}

/** createUpload → PUT → createVideo, retried through 503s (a database restart). */
async function uploadVideo(
  token: string,
  file: string,
  name: string,
  type = 'video/mp4',
  sidecar?: { file: string; name: string },
): Promise<{ id: string | null; refused: string | null }> {
  const put = async (f: string, n: string, t: string) => {
    const bytes = fs.readFileSync(f);
    for (let i = 0; i < 100; i++) {
      const r = await gql(
        `mutation($n:String!,$s:BigInt!,$t:String!){createUpload(filename:$n,byteSize:$s,contentType:$t){objectKey url headers}}`,
        { n, s: String(bytes.length), t },
        token,
      );
      if (r.status === 503) {
        await sleep(500);
        continue;
      }
      if (r.body?.errors) return { key: null, refused: r.body.errors[0].message as string };
      const tk = r.body.data.createUpload;
      const up = await fetch(tk.url, { method: 'PUT', headers: tk.headers, body: bytes });
      if (up.status !== 200) return { key: null, refused: `PUT ${up.status}` };
      return { key: tk.objectKey as string, refused: null };
    }
    throw new Error('upload kept getting 503');
  };
  const v = await put(file, name, type);
  if (!v.key) return { id: null, refused: v.refused };
  const s = sidecar ? await put(sidecar.file, sidecar.name, 'application/x-subrip') : null;
  for (let i = 0; i < 100; i++) {
    const r = await gql(
      `mutation($k:String!,$s:String){createVideo(objectKey:$k,subtitleKey:$s){id}}`,
      { k: v.key, s: s?.key ?? null },
      token,
    );
    if (r.status === 503) {
      await sleep(500);
      continue;
    }
    if (r.body?.errors) return { id: null, refused: r.body.errors[0].message as string };
    return { id: r.body.data.createVideo.id as string, refused: null };
  }
  throw new Error('createVideo kept getting 503');
}

async function states(ids: string[]) {
  const { rows } = await db.query<{ id: string; state: string; error: string | null }>(
    'select id, state, error from app_public.videos where id = any($1)',
    [ids],
  );
  return rows;
}

async function untilSettled(ids: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await states(ids).catch(() => null);
    if (rows && rows.every((r) => r.state === 'indexed' || r.state === 'failed')) return rows;
    if (Date.now() > deadline) return rows ?? [];
    await sleep(500);
  }
}

/**
 * What happens to the jobs a killed worker held: when each is unlocked
 * (released: the process was seen gone, or its heartbeat went stale) and when
 * another worker locks it again (resumed), and whether its run_at was pushed
 * into the future (a retry backoff) on the way.
 */
function recoveryTracker() {
  interface Stranded {
    job: string;
    by: string;
    killAt: number;
    releasedAt?: number;
    resumedAt?: number;
    delayed?: boolean;
  }
  const all: Stranded[] = [];
  let busy = false;
  const timer = setInterval(async () => {
    const open = all.filter((s) => s.resumedAt === undefined);
    if (busy || !open.length) return;
    busy = true;
    try {
      const { rows } = await db.query<{ id: string; locked_by: string | null; delayed: boolean }>(
        `select id::text, locked_by, run_at > now() as delayed from graphile_worker._private_jobs where id = any($1)`,
        [open.map((s) => s.job)],
      );
      const now = Date.now();
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const s of open) {
        const r = byId.get(s.job);
        if (!r || (r.locked_by && r.locked_by !== s.by)) {
          s.releasedAt ??= now;
          s.resumedAt = now;
        } else if (!r.locked_by) {
          s.releasedAt ??= now;
          if (r.delayed) s.delayed = true;
        }
      }
    } catch {
      // the database is being restarted; poll again
    } finally {
      busy = false;
    }
  }, 100);
  const stat = (xs: number[]) => {
    const v = xs.sort((a, b) => a - b);
    const r = (x: number) => Math.round(x / 100) / 10;
    return v.length ? { median: r(v[Math.floor(v.length / 2)]!), max: r(v.at(-1)!) } : null;
  };
  return {
    async strand(pools: Set<string>, killAt: number) {
      const { rows } = await db.query<{ id: string; locked_by: string }>(
        `select id::text, locked_by from graphile_worker._private_jobs where locked_by = any($1)`,
        [[...pools]],
      );
      for (const r of rows) all.push({ job: r.id, by: r.locked_by, killAt });
      return rows.length;
    },
    summary(since = 0) {
      const xs = all.filter((s) => s.killAt >= since);
      return {
        strandedJobs: xs.length,
        notResumed: xs.filter((s) => s.resumedAt === undefined).length,
        delayedByBackoff: xs.filter((s) => s.delayed).length,
        releasedAfterS: stat(xs.filter((s) => s.releasedAt).map((s) => s.releasedAt! - s.killAt)),
        resumedAfterS: stat(xs.filter((s) => s.resumedAt).map((s) => s.resumedAt! - s.killAt)),
      };
    },
    stop: () => clearInterval(timer),
  };
}

async function integrity() {
  const { rows: dup } = await db.query<{ n: number }>(
    `select count(*)::int as n from (select video_id, ordinal from app_public.scenes group by 1, 2 having count(*) > 1) d`,
  );
  const { rows: gaps } = await db.query<{ n: number }>(
    `select count(*)::int as n from (select video_id from app_public.scenes group by 1
       having max(ordinal) + 1 <> count(*)) g`,
  );
  const { rows: orphanScenes } = await db.query<{ n: number }>(
    `select count(*)::int as n from app_public.scenes s where not exists (select 1 from app_public.videos v where v.id = s.video_id)`,
  );
  const storage = createStorage(config);
  const orphans = async () => {
    const keys: string[] = [];
    for await (const o of storage.list('u/')) keys.push(o.key);
    const { rows } = await db.query<{ keys: string[] }>('select app_private.unreferenced_keys($1) as keys', [keys]);
    return { objects: keys.length, orphans: rows[0]!.keys.length };
  };
  // A killed attempt cannot clean up after itself; the sweep (storage__sweep)
  // does, once objects are ORPHAN_GRACE_S old. Every worker is stopped here,
  // so no job is between storing and recording, and the sweep runs with no
  // grace: what is left after it is a real leak.
  const before = await orphans();
  await sweepOrphans(storage, (t, v) => db.query(t, v), 0);
  const after = await orphans();
  const temp = fs.readdirSync(tmp).filter((n) => n.startsWith('heimdex-job-'));
  return {
    duplicateScenes: dup[0]!.n,
    sceneGaps: gaps[0]!.n,
    orphanScenes: orphanScenes[0]!.n,
    objects: after.objects,
    orphanObjectsBeforeSweep: before.orphans,
    orphanObjects: after.orphans,
    leftoverTempFolders: temp.length,
  };
}

const report: Record<string, unknown> = { size: SIZE };
const sample = await generateSampleVideo(path.join(inputs, 'sample.mp4'));
spawnProc('server', 'serve');
await waitHttp();
const workers = [spawnProc('worker-a', 'worker'), spawnProc('worker-b', 'worker')];
await Promise.all(workers.map((w) => w.ready));
const user = await signup();

try {
  if (ONLY.includes('kill')) {
    const t0 = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < SIZE.videos; i++) {
      const r = await uploadVideo(user.token, sample.path, `kill-${i}.mp4`);
      ids.push(r.id!);
    }
    let kills = 0;
    let midJob = 0;
    let lastKill = Date.now();
    let openAtLastKill = 0;
    const tracker = recoveryTracker();
    while (kills < SIZE.kills) {
      await sleep(200 + Math.random() * 1200);
      // Aim at a worker with a job in flight when there is one (bounded wait).
      // Not at a job's last attempt: every kill counts as one, and a job
      // killed on all of them fails its video by design ("interrupted on its
      // last attempt", test/worker/reliability.test.ts), which is not what
      // this group measures.
      let holders: Proc[] = [];
      let spared: Proc[] = [];
      for (let t = 0; t < 30 && !holders.length; t++) {
        const { rows } = await db.query<{ by: string; last: boolean }>(
          `select locked_by as by, attempts >= max_attempts as last from graphile_worker._private_jobs
            where locked_by is not null`,
        );
        const holds = (w: Proc, last: boolean) => rows.some((r) => r.last === last && w.pools.has(r.by));
        spared = workers.filter((w) => holds(w, true));
        holders = workers.filter((w) => holds(w, false) && !spared.includes(w));
        if (!holders.length) await sleep(100);
      }
      const pool = holders.length ? holders : workers.filter((w) => !spared.includes(w));
      if (!pool.length) continue;
      const w = pool[Math.floor(Math.random() * pool.length)]!;
      const name = w.name;
      w.child.kill('SIGKILL');
      await new Promise((r) =>
        w.child.exitCode !== null || w.child.signalCode !== null ? r(null) : w.child.once('exit', r),
      );
      lastKill = Date.now();
      kills++;
      if ((await tracker.strand(w.pools, lastKill)) > 0) midJob++;
      openAtLastKill = (await states(ids)).filter((r) => r.state !== 'indexed' && r.state !== 'failed').length;
      workers[workers.indexOf(w)] = spawnProc(name, 'worker');
      // Keep work flowing: once everything is settled, add another video.
      const open = (await states(ids)).filter((r) => r.state !== 'indexed' && r.state !== 'failed').length;
      if (open === 0 && kills < SIZE.kills)
        ids.push((await uploadVideo(user.token, sample.path, `kill-extra.mp4`)).id!);
    }
    const settled = await untilSettled(ids, 600_000);
    const recoveredS = (Date.now() - lastKill) / 1000;
    await sleep(300);
    tracker.stop();
    // Graceful stop lets the survivors finish; then the folders are counted.
    for (const w of workers) await stopProc(w);
    const integ = await integrity();
    const indexed = settled.filter((r) => r.state === 'indexed').length;
    const r: Record<string, unknown> & { recovery: ReturnType<ReturnType<typeof recoveryTracker>['summary']> } = {
      videos: ids.length,
      kills,
      killsWithJobsInFlight: midJob,
      indexed,
      notIndexed: settled.filter((r) => r.state !== 'indexed').map((r) => `${r.state}: ${r.error}`),
      recovery: tracker.summary(),
      lastKill: { openVideos: openAtLastKill, ...tracker.summary(lastKill) },
      lastKillToAllIndexedS: Math.round(recoveredS * 10) / 10,
      totalS: Math.round((Date.now() - t0) / 100) / 10,
      ...integ,
    };
    report.kill = r;
    check(indexed === ids.length, 'kill: every video indexed');
    check(integ.duplicateScenes === 0 && integ.sceneGaps === 0 && integ.orphanScenes === 0, 'kill: scenes intact');
    check(integ.orphanObjects === 0, 'kill: no orphan objects');
    check(integ.leftoverTempFolders === 0, 'kill: no leftover temp folders');
    check(r.recovery.notResumed === 0 && r.recovery.delayedByBackoff === 0, 'kill: every stranded job resumed at once');
    workers[0] = spawnProc('worker-a', 'worker');
    workers[1] = spawnProc('worker-b', 'worker');
    await Promise.all(workers.map((w) => w.ready));

    // After the storm, the recovery bound itself: one crash while the other
    // worker is idle, in the longest job (videos__index, which then runs
    // again from its start), against the same video indexed without a crash.
    const t1 = Date.now();
    const calm = await uploadVideo(user.token, sample.path, 'kill-calm.mp4');
    await untilSettled([calm.id!], 300_000);
    const calmS = (Date.now() - t1) / 1000;
    const victim = await uploadVideo(user.token, sample.path, 'kill-once.mp4');
    let holder: Proc | undefined;
    for (const deadline = Date.now() + 300_000; !holder && Date.now() < deadline; await sleep(50)) {
      const { rows } = await db.query<{ by: string }>(
        `select j.locked_by as by from graphile_worker._private_jobs j
           join graphile_worker._private_tasks t on t.id = j.task_id
          where t.identifier = 'videos__index' and j.payload->>'id' = $1 and j.locked_by is not null`,
        [victim.id],
      );
      holder = workers.find((w) => rows.some((row) => w.pools.has(row.by)));
    }
    const once = recoveryTracker();
    if (check(!!holder, 'kill: the single crash found its job')) {
      holder!.child.kill('SIGKILL');
      await new Promise((res) => (holder!.child.signalCode ? res(null) : holder!.child.once('exit', res)));
      const killAt = Date.now();
      await once.strand(holder!.pools, killAt);
      workers[workers.indexOf(holder!)] = spawnProc(holder!.name, 'worker');
      const [v] = await untilSettled([victim.id!], 300_000);
      await sleep(300);
      r.singleCrash = {
        indexWithoutCrashS: Math.round(calmS * 10) / 10,
        ...once.summary(),
        killToIndexedS: Math.round((Date.now() - killAt) / 100) / 10,
        state: v?.state,
      };
      check(v?.state === 'indexed', 'kill: the video of the single crash indexed');
    }
    once.stop();
    await Promise.all(workers.map((w) => w.ready));
    console.log(JSON.stringify({ kill: r }));
  }

  if (ONLY.includes('restart')) {
    const t0 = Date.now();
    const exitsBefore = [...procs.values()].reduce((s, p) => s + p.exits, 0);
    const ws = createClient({
      url: `${base.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${user.token}` },
      retryAttempts: 0,
    });
    const events: { at: number; id: string }[] = [];
    let subscriptionEnded = false;
    void (async () => {
      try {
        for await (const e of ws.iterate({ query: `subscription { videoChanged { videoId state } }` })) {
          const v = (e as any).data?.videoChanged;
          if (v) events.push({ at: Date.now(), id: v.videoId });
        }
      } catch {
        // ended with an error
      }
      subscriptionEnded = true;
    })();
    await sleep(500);
    const ids: string[] = [];
    let load = true;
    let queries = 0;
    let unavailable = 0;
    const loader = (async () => {
      while (load) {
        const r = await gql(`{ allVideos { totalCount } }`, {}, user.token).catch(() => ({ status: 0 }));
        queries++;
        if (r.status === 503) unavailable++;
        await sleep(50);
      }
    })();
    const deliveredAfter: boolean[] = [];
    for (let i = 0; i < SIZE.restarts; i++) {
      ids.push((await uploadVideo(user.token, sample.path, `restart-${i}.mp4`)).id!);
      await sleep(1500);
      await stopEmbedded(config);
      await sleep(2000);
      await startEmbedded(config);
      const restartedAt = Date.now();
      // The subscription must deliver something that happened after this restart.
      const id = (await uploadVideo(user.token, sample.path, `after-restart-${i}.mp4`)).id!;
      ids.push(id);
      let got = false;
      for (let w = 0; w < 600 && !got; w++) {
        got = events.some((e) => e.at >= restartedAt && e.id === id);
        if (!got) await sleep(100);
      }
      deliveredAfter.push(got);
    }
    load = false;
    await loader;
    const settled = await untilSettled(ids, 600_000);
    const exits = [...procs.values()].reduce((s, p) => s + p.exits, 0) - exitsBefore;
    const r = {
      restarts: SIZE.restarts,
      uploads: ids.length,
      queries,
      queriesAnswered503: unavailable,
      processExits: exits,
      subscriptionEnded,
      subscriptionDeliveredAfterEachRestart: deliveredAfter,
      indexed: settled.filter((x) => x.state === 'indexed').length,
      notIndexed: settled.filter((x) => x.state !== 'indexed').map((x) => `${x.state}: ${x.error}`),
      totalS: Math.round((Date.now() - t0) / 100) / 10,
    };
    await ws.dispose();
    report.restart = r;
    check(exits === 0, 'restart: no process exited');
    check(!subscriptionEnded && deliveredAfter.every(Boolean), 'restart: subscription delivered after every restart');
    check(r.indexed === ids.length, 'restart: every video indexed');
    console.log(JSON.stringify({ restart: r }));
  }

  if (ONLY.includes('hostile')) {
    const t0 = Date.now();
    let canaryConnections = 0;
    const canary = net.createServer((s) => {
      canaryConnections++;
      s.destroy();
    });
    await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
    const cport = (canary.address() as net.AddressInfo).port;
    const token = `CANARY${crypto.randomBytes(8).toString('hex')}`;
    const canaryFile = path.join(inputs, 'canary-secret.txt');
    fs.writeFileSync(canaryFile, `${token}\n`.repeat(100));
    const canarySrt = path.join(inputs, 'canary.srt');
    fs.writeFileSync(canarySrt, `1\n00:00:00,000 --> 00:00:05,000\n${token}\n\n`);
    const good = fs.readFileSync(sample.path);
    const templates: ((i: number) => { name: string; data: Buffer | string; type?: string; sidecar?: string })[] = [
      (i) => ({ name: `hls-file-${i}.mp4`, data: `#EXTM3U\n#EXTINF:10,\nfile://${canaryFile}\n#EXT-X-ENDLIST\n` }),
      (i) => ({
        name: `hls-http-${i}.m3u8.mp4`,
        data: `#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:${cport}/s${i}.ts\n#EXT-X-ENDLIST\n`,
      }),
      (i) => ({
        name: `hls-key-${i}.mp4`,
        data: `#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="http://127.0.0.1:${cport}/k${i}"\n#EXTINF:10,\nx.ts\n#EXT-X-ENDLIST\n`,
      }),
      (i) => ({
        name: `concat-${i}.mp4`,
        data: `ffconcat version 1.0\nfile '${canaryFile}'\nfile 'http://127.0.0.1:${cport}/c${i}'\n`,
      }),
      (i) => ({ name: `subfile-${i}.mp4`, data: `#EXTM3U\n#EXTINF:10,\nsubfile,,start,0,end,0,,:${canaryFile}\n` }),
      (i) => ({ name: `truncated-${i}.mp4`, data: good.subarray(0, Math.floor(good.length * (0.1 + 0.15 * (i % 5)))) }),
      (i) => ({ name: `random-${i}.mp4`, data: crypto.randomBytes(2048 + i * 512) }),
      (i) => ({
        name: `polyglot-${i}.mp4`,
        data: Buffer.concat([
          good.subarray(0, 64),
          Buffer.from(`<html><script>fetch('http://127.0.0.1:${cport}/p')</script>PK\u0003\u0004`),
          crypto.randomBytes(512),
        ]),
      }),
      (i) => ({ name: `../../../etc/passwd-${i}.mp4`, data: good }),
      (i) => ({ name: `${'ä'.repeat(200)}\u202e${i}.mp4`, data: good }),
      (i) => ({ name: `huge-sidecar-${i}.mp4`, data: good, sidecar: 'huge' }),
      (i) => ({ name: `canary-sidecar-${i}.mp4`, data: good, sidecar: 'canary' }),
      (i) => ({
        name: `empty-frames-${i}.mp4`,
        data: Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(64 + i)]),
      }),
    ];
    const hugeSrt = path.join(inputs, 'huge.srt');
    {
      const lines: string[] = [];
      for (let k = 1; Buffer.byteLength(lines.join('')) < Number(env.SIDECAR_MAX_BYTES) * 3; k++) {
        lines.push(`${k}\n00:00:0${k % 8},000 --> 00:00:0${(k % 8) + 1},000\n${'words '.repeat(50)}\n\n`);
      }
      fs.writeFileSync(hugeSrt, lines.join(''));
    }
    const ids: string[] = [];
    const refused: string[] = [];
    // Canary sidecars uploaded: each is the user's own object holding the token.
    let canarySidecars = 0;
    for (let i = 0; i < SIZE.hostile; i++) {
      const t = templates[i % templates.length]!(i);
      const f = path.join(inputs, `h${i}.bin`);
      fs.writeFileSync(f, t.data);
      const sidecar = t.sidecar === 'huge' ? hugeSrt : t.sidecar === 'canary' ? canarySrt : undefined;
      const r = await uploadVideo(
        user.token,
        f,
        t.name,
        t.type,
        sidecar ? { file: sidecar, name: 'subs.srt' } : undefined,
      );
      if (t.sidecar === 'canary') canarySidecars++;
      if (r.id) ids.push(r.id);
      else refused.push(r.refused ?? 'refused');
    }
    const settled = await untilSettled(ids, 900_000);
    const { rows: leaked } = await db.query<{ n: number }>(
      `select (select count(*) from app_public.scenes where strpos(transcript, $1) > 0 or strpos(ocr_text, $1) > 0)
            + (select count(*) from app_public.videos where strpos(coalesce(error, ''), $1) > 0 or strpos(title, $1) > 0)
            + (select count(*) from app_private.video_transcripts where strpos(segments::text, $1) > 0) as n`,
      [token],
    );
    // The canary sidecar is the user's own upload: its token is expected in
    // that video's own transcript, and nowhere else; count it apart.
    const { rows: own } = await db.query<{ n: number }>(
      `select (select count(*) from app_public.scenes s join app_public.videos v on v.id = s.video_id
                where v.title like 'canary-sidecar-%' and strpos(s.transcript, $1) > 0)
            + (select count(*) from app_private.video_transcripts t join app_public.videos v on v.id = t.video_id
                where v.title like 'canary-sidecar-%' and strpos(t.segments::text, $1) > 0) as n`,
      [token],
    );
    let storeHits = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (fs.readFileSync(p).includes(token)) storeHits++;
      }
    };
    walk(path.join(config.dataDir, 'objects'));
    await new Promise((r) => canary.close(r));
    const noted = (
      await db.query<{ n: number }>(`select count(*)::int as n from app_public.videos where cardinality(notes) > 0`)
    ).rows[0]!.n;
    const r = {
      files: SIZE.hostile,
      refusedAtUpload: refused.length,
      registered: ids.length,
      indexed: settled.filter((x) => x.state === 'indexed').length,
      failedWithReason: settled.filter((x) => x.state === 'failed' && x.error).length,
      stuck: settled.filter((x) => x.state !== 'indexed' && x.state !== 'failed').length,
      videosWithCutNotes: noted,
      canaryConnections,
      canaryBytesInDatabase: leaked[0]!.n - own[0]!.n,
      canaryFileBytesInStore: storeHits - canarySidecars,
      totalS: Math.round((Date.now() - t0) / 100) / 10,
    };
    report.hostile = r;
    check(
      r.stuck === 0 && r.indexed + r.failedWithReason === ids.length,
      'hostile: every file indexed or failed with a reason',
    );
    check(canaryConnections === 0, 'hostile: no outbound connection');
    check(r.canaryBytesInDatabase === 0 && r.canaryFileBytesInStore === 0, 'hostile: no canary bytes leaked');
    console.log(JSON.stringify({ hostile: r }));
  }

  if (ONLY.includes('tokens')) {
    const wrong = new TextEncoder().encode('w'.repeat(48));
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: user.id, role: 'authenticated', aud: 'authenticated' };
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const [h, p, s] = user.token.split('.');
    const makers: ((i: number) => Promise<string> | string)[] = [
      (i) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: now + 600 + i })}.`,
      (i) =>
        new SignJWT({ ...claims, n: i })
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime(now + 600)
          .sign(wrong),
      (i) =>
        new SignJWT({ ...claims, role: 'service_role', n: i })
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime(now + 600)
          .sign(wrong),
      (i) => `${h}.${b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'service_role', n: i })}.${s}`,
      (i) =>
        `${h}.${b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: crypto.randomUUID(), n: i })}.${s}`,
      (i) => `${h}.${p}.${s!.slice(0, -2 - (i % 5))}`,
      (i) => `${b64({ alg: 'RS256', typ: 'JWT', n: i })}.${p}.${s}`,
      (i) => crypto.randomBytes(10 + i).toString('base64url'),
      (i) => `${h}.${p}`.repeat(1 + (i % 3)),
      (i) => `${'a'.repeat(i)}..${'b'.repeat(i)}`,
      (i) => `${h}.${b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), exp: now - 60 - i })}.${s}`,
      (i) => `${h}.${b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), aud: `other-${i}` })}.${s}`,
    ];
    let http401 = 0;
    let ws4401 = 0;
    let tried = 0;
    for (let i = 0; i < SIZE.tokens; i++) {
      const t = await makers[i % makers.length]!(i);
      tried++;
      const r = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `${i % 2 ? 'bearer' : 'Bearer'} ${t}` },
        body: JSON.stringify({ query: '{ allVideos { totalCount } }' }),
      });
      if (r.status === 401) http401++;
      const code = await new Promise<number>((resolve) => {
        const c = createClient({
          url: `${base.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${t}` },
          retryAttempts: 0,
          lazy: false,
          // The refusal is the expected outcome, read from the close event;
          // graphql-ws would otherwise print each one (60 CloseEvent dumps).
          onNonLazyError: () => {},
          on: { closed: (e) => resolve((e as { code: number }).code) },
        });
        setTimeout(() => resolve(0), 10_000);
        void c;
      });
      if (code === 4401) ws4401++;
    }
    const r = { tokens: tried, http401, websocket4401: ws4401 };
    report.tokens = r;
    check(http401 === tried && ws4401 === tried, 'tokens: all refused on both surfaces');
    console.log(JSON.stringify({ tokens: r }));
  }
} finally {
  stopping = true;
  for (const p of procs.values()) await stopProc(p);
  await db.end();
  await stopEmbedded(config).catch(() => {});
  if (!process.env.CHAOS_KEEP) fs.rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ failures }));
process.exit(failures.length ? 1 : 0);
