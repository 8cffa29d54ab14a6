/*
 * `heimdex start` (what npm start runs) on a fresh data folder: it creates
 * and starts its own embedded PostgreSQL, migrates, runs serve + worker as
 * children and prints where everything is and the mode it runs in; a worker
 * killed with SIGKILL is restarted by start's supervisor while the server
 * keeps answering; Ctrl-C then stops all of it, leaving no server, worker or
 * PostgreSQL process behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig, ROOT_DIR } from '../../core/config.ts';
import pg from 'pg';
import {
  hugePageShortfall,
  isRunning,
  readEmbeddedCredentials,
  sharedBuffersMb,
  stopEmbedded,
  urlsFor,
} from '../../core/embedded-pg.ts';
import { forWorker, withHugePages, WORKER_MMAP_THRESHOLD } from '../../core/malloc-env.ts';
import { childEnv } from '../../cli/commands/processes.ts';
import { CLI } from './run-cli.ts';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Processes whose environment names this data folder: our children, wherever they were reparented. */
function processesUsing(dataDir: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`HEIMDEX_DATA_DIR=${dataDir}`))
        found.push(Number(pid));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found.filter((p) => p !== process.pid);
}

test(
  'start brings everything up, prints the URLs, and Ctrl-C (even twice) stops all of it',
  { timeout: 240_000 },
  async () => {
    // mkdtemp makes it 0700: as root, start must still let the postgres user
    // (which the embedded cluster runs as) pass through it.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-start-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HEIMDEX_DATA_DIR: dataDir,
      HEIMDEX_DB_PORT: String(await freePort()),
      HEIMDEX_PORT: String(await freePort()),
      MODELS_DIR: path.join(ROOT_DIR, '.test-data', 'models'),
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      // Not the automatic size, so the check below sees the option arrive.
      HEIMDEX_DB_SHARED_BUFFERS_MB: '160',
    };
    delete env.DATABASE_URL;
    delete env.AUTH_DATABASE_URL;
    const config = loadConfig(env);
    after(async () => {
      await stopEmbedded(config).catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    // The kernel's huge pages as the cluster will find them when it starts.
    const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
    const child = spawn(process.execPath, [CLI, 'start'], { cwd: ROOT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const deadline = Date.now() + 180_000;
    while (!stdout.includes('Stop with Ctrl-C.')) {
      if (Date.now() > deadline || child.exitCode !== null)
        assert.fail(`start did not come up\nstdout: ${stdout}\nstderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const base = `http://127.0.0.1:${env.HEIMDEX_PORT}`;
    assert.ok(stdout.includes(`GraphQL:  ${base}/graphql`), stdout);
    assert.ok(stdout.includes(`Ruru:     ${base}/graphiql`), 'development prints the Ruru URL');
    assert.ok(stdout.includes(`Data:     ${dataDir}`));
    assert.match(stdout, /present\s+text\s+Xenova\/bge-m3/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal(await isRunning(config), true);
    const db = new pg.Client({ connectionString: urlsFor(config, readEmbeddedCredentials(config)!).rootUrl });
    await db.connect();
    try {
      assert.equal((await db.query('show shared_buffers')).rows[0].shared_buffers, '160MB');
      // Told how to give PostgreSQL huge pages exactly when the kernel had too few free for what
      // the running server says it needs (the arithmetic has its own test below).
      const needed = Number(
        (await db.query('show shared_memory_size_in_huge_pages')).rows[0].shared_memory_size_in_huge_pages,
      );
      assert.ok(needed > 0);
      const advice = hugePageShortfall(needed, meminfo);
      if (advice) assert.ok(stderr.includes(`heimdex: ${advice}`), stderr);
      else assert.doesNotMatch(stderr, /vm\.nr_hugepages/);
    } finally {
      await db.end();
    }
    assert.ok(processesUsing(dataDir).length >= 3, 'start, serve and worker should be running');
    assert.ok(stdout.includes('mode: development; Ruru on, introspection on; no query plans to clients'), stdout);

    // A crash is not the end: the supervisor restarts the worker with backoff.
    const isWorker = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('worker');
      } catch {
        return false;
      }
    };
    const [workerPid] = processesUsing(dataDir).filter(isWorker);
    assert.ok(workerPid, 'a worker process runs');
    process.kill(workerPid, 'SIGKILL');
    const restartDeadline = Date.now() + 120_000;
    while (!(stdout + stderr).includes('heimdex: worker is running again')) {
      if (Date.now() > restartDeadline || child.exitCode !== null)
        assert.fail(`the worker was not restarted\nstdout: ${stdout}\nstderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(stdout + stderr, /heimdex: worker exited unexpectedly \(code 1\); restarting it in 0\.5 s/);
    assert.equal(child.exitCode, null, 'start keeps running');
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the server was never touched');
    const newWorker = processesUsing(dataDir).filter(isWorker);
    assert.equal(newWorker.length, 1);
    assert.notEqual(newWorker[0], workerPid);

    // Ctrl-C arrives twice when a wrapper (npm start's bootstrap) forwards the
    // terminal's signal: the second must not cut the shutdown short.
    // The second is sent once shutdown is under way (a child reports it is
    // stopping), not after a guessed delay that a slow machine could turn
    // into "before the first was handled" or "after start had exited".
    child.kill('SIGINT');
    await new Promise<void>((resolve) => {
      const check = () => /heimdex: (API server|worker) stopping/.test(stderr) && resolve();
      child.stderr.on('data', check);
      check();
    });
    assert.equal(child.exitCode, null, 'start is still shutting down');
    assert.ok(child.kill('SIGINT'), 'the second Ctrl-C reached start mid-shutdown');
    assert.equal(await exited, 0, stderr);
    assert.equal(await isRunning(config), false, 'the embedded PostgreSQL that start started must be stopped');
    await assert.rejects(fetch(`${base}/healthz`), 'the API server must be gone');
    assert.deepEqual(processesUsing(dataDir), [], 'no serve or worker process may outlive start');
  },
);

test("glibc tunables: start's children get ours added to the operator's, whose own value of one wins", () => {
  const threshold = `glibc.malloc.mmap_threshold=${WORKER_MMAP_THRESHOLD}`;
  assert.equal(withHugePages({}).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
  assert.equal(forWorker({}).GLIBC_TUNABLES, `glibc.malloc.hugetlb=1:${threshold}`);
  assert.equal(
    forWorker({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES,
    `glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1:${threshold}`,
  );
  assert.equal(
    forWorker({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=1048576' }).GLIBC_TUNABLES,
    'glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=1048576',
  );
  // What start gives its children. (Not read back from /proc/PID/environ: glibc 2.36 cuts the
  // original string there after its first tunable, while the process's own copy keeps them all.)
  assert.equal(childEnv('worker').GLIBC_TUNABLES, forWorker().GLIBC_TUNABLES);
  assert.equal(childEnv('serve').GLIBC_TUNABLES, withHugePages().GLIBC_TUNABLES);
  // Each call returns a copy; the environment it was given is left as it was.
  const env = { A: '1' };
  assert.equal(forWorker(env).A, '1');
  assert.deepEqual(env, { A: '1' });
});

test("the embedded cluster's shared_buffers: the option, else a quarter of memory between 128 MB and 8 GB", () => {
  const GiB = 2 ** 30;
  assert.equal(sharedBuffersMb({ dbSharedBuffersMb: 0 }, 24 * GiB), 6144);
  assert.equal(sharedBuffersMb({ dbSharedBuffersMb: 0 }, 0.25 * GiB), 128);
  assert.equal(sharedBuffersMb({ dbSharedBuffersMb: 0 }, 64 * GiB), 8192);
  assert.equal(sharedBuffersMb({ dbSharedBuffersMb: 300 }, 64 * GiB), 300);
  const env = (v: string) => ({ HEIMDEX_DATA_DIR: os.tmpdir(), HEIMDEX_DB_SHARED_BUFFERS_MB: v });
  assert.equal(loadConfig(env('0')).dbSharedBuffersMb, 0);
  for (const bad of ['-1', '8'])
    assert.throws(() => loadConfig(env(bad)), /HEIMDEX_DB_SHARED_BUFFERS_MB must be 0 \(automatic\) or at least 16/);
});

test('the embedded cluster says how many huge pages to reserve when the kernel has too few free', () => {
  const meminfo = (total: number, free: number, rsvd = 0) =>
    `MemTotal:       24683520 kB\nHugePages_Total:    ${total}\nHugePages_Free:     ${free}\nHugePages_Rsvd:    ${rsvd}\nHugepagesize:       2048 kB\n`;
  // None reserved: all of them, named with the size they take.
  const none = hugePageShortfall(3094, meminfo(0, 0));
  assert.match(
    none!,
    /shared memory \(6188 MB\) goes on 4 kB pages: the kernel has 0 free huge pages of 2 MB, it needs 3094/,
  );
  assert.match(none!, /sudo sysctl -w vm\.nr_hugepages=3094, then heimdex db stop and start again/);
  // Some taken by something else: the total grows by what is missing.
  assert.match(hugePageShortfall(3094, meminfo(1000, 600))!, /vm\.nr_hugepages=3494\b/);
  // Free but reserved by another PostgreSQL (pages it has not touched yet) is not free for this one.
  assert.match(
    hugePageShortfall(120, meminfo(3200, 1615, 1509))!,
    /the kernel has 106 free huge pages of 2 MB, it needs 120\b/,
  );
  assert.match(hugePageShortfall(200, meminfo(3200, 1615, 1509))!, /vm\.nr_hugepages=3294\b/);
  assert.equal(hugePageShortfall(90, meminfo(3200, 1700, 1509)), null);
  // Enough free (PostgreSQL takes them by itself), or no huge page support to speak of: nothing to say.
  assert.equal(hugePageShortfall(3094, meminfo(3200, 3200)), null);
  assert.equal(hugePageShortfall(72, meminfo(3200, 72)), null);
  assert.equal(hugePageShortfall(3094, 'MemTotal: 1 kB\n'), null);
  assert.equal(hugePageShortfall(NaN, meminfo(0, 0)), null);
});
