/*
 * The long-running commands. `start` is what `npm start` runs on one machine:
 * the embedded database, migrations, then `serve` and `worker` as child
 * processes. Separate processes because model inference and ffmpeg work must
 * not stall API requests, and because the same two commands are how the
 * system scales out (more `heimdex worker` on other machines).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT_DIR } from '../../core/config.ts';
import { resolveDatabase, usesEmbedded } from '../../core/database.ts';
import { isRunning, stopEmbedded } from '../../core/embedded-pg.ts';
import { forWorker, withHugePages } from '../../core/malloc-env.ts';
import { migrateDatabase } from '../../core/migrate.ts';
import { config, importProject, info, out, selfCommand, untilStopped, type Command } from '../command.ts';
import type { ModelsModule, ServerModule, WebBuildModule, WorkerModule } from '../contracts.ts';
import { runningDatabase } from '../database.ts';
import { CliError } from '../errors.ts';

const MAIN = path.join(ROOT_DIR, 'cli', 'main.ts');
/** How long a child gets to finish its current work after SIGTERM. */
const STOP_GRACE_MS = 30_000;
/** Restart backoff: doubles from the first to the last, reset after a child ran this long. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 15_000;
const STABLE_AFTER_MS = 60_000;
/** This many crashes within CRASH_WINDOW_MS is a crash loop: restarting cannot help. */
const CRASH_LOOP = 5;
const CRASH_WINDOW_MS = 120_000;

interface Ready {
  type: 'ready';
  url?: string;
}

/** Rebuilds the web app when its sources changed since the last build (a checkout, a pull). */
async function buildWebApp() {
  const { buildWeb } = await importProject<WebBuildModule>('server/web/build.ts');
  try {
    const r = await buildWeb({ ifStale: true });
    if (r.built) info(`heimdex: built the web app (${Math.round(r.jsBytes / 1024)} KB of JavaScript)`);
  } catch (e) {
    // The API works without the page; say why the page is missing instead of refusing to start.
    info(`heimdex: the web app could not be built (${(e as Error).message.split('\n')[0]}); / will say so`);
  }
}

/** The environment a child starts with: the worker's models take turns in memory, the server's stay (core/malloc-env.ts). */
export function childEnv(name: string): NodeJS.ProcessEnv {
  return name === 'worker' ? forWorker() : withHugePages();
}

function spawnChild(name: string): { child: ChildProcess; ready: Promise<Ready>; exited: Promise<number> } {
  const child = spawn(process.execPath, [MAIN, name], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: childEnv(name),
  });
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
  const ready = new Promise<Ready>((resolve, reject) => {
    child.on('message', (m: Ready) => {
      if (m?.type === 'ready') resolve(m);
    });
    void exited.then((code) =>
      reject(new CliError(`heimdex ${name} exited with code ${code} while starting`, 'its error is printed above')),
    );
  });
  ready.catch(() => {});
  return { child, ready, exited };
}

async function stopChildren(children: { child: ChildProcess; exited: Promise<number> }[]) {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await Promise.all(children.map((c) => c.exited));
  clearTimeout(timer);
}

/**
 * Keeps one child process running: a crash is logged and the child restarted
 * after a growing pause, so a transient fault (the database restarting, an
 * out-of-memory kill) costs seconds rather than the whole product. A crash
 * loop (CRASH_LOOP crashes within CRASH_WINDOW_MS) gives up: `crashLoop`
 * settles with the reason and `start` stops everything.
 */
export class Supervisor {
  readonly name: string;
  current: ReturnType<typeof spawnChild>;
  readonly crashLoop: Promise<string>;
  restarts = 0;
  #stopping = false;
  #crashes: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  #spawn: () => ReturnType<typeof spawnChild>;

  constructor(name: string, spawnFn: () => ReturnType<typeof spawnChild> = () => spawnChild(name)) {
    this.name = name;
    this.#spawn = spawnFn;
    this.current = spawnFn();
    let giveUp!: (why: string) => void;
    this.crashLoop = new Promise((r) => (giveUp = r));
    const watch = (c: ReturnType<typeof spawnChild>) => {
      const startedAt = Date.now();
      void c.exited.then((code) => {
        if (this.#stopping) return;
        const now = Date.now();
        this.#crashes = [...this.#crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
        if (this.#crashes.length >= CRASH_LOOP) {
          giveUp(
            `${name} crashed ${this.#crashes.length} times within ${CRASH_WINDOW_MS / 1000} s (last code ${code})`,
          );
          return;
        }
        const quick = this.#crashes.filter((t) => now - t < STABLE_AFTER_MS).length;
        const wait =
          now - startedAt > STABLE_AFTER_MS
            ? RESTART_FIRST_MS
            : Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (quick - 1));
        info(`heimdex: ${name} exited unexpectedly (code ${code}); restarting it in ${(wait / 1000).toFixed(1)} s`);
        this.#timer = setTimeout(() => {
          this.#timer = null;
          if (this.#stopping) return;
          this.restarts++;
          this.current = this.#spawn();
          this.current.ready.then(
            () => info(`heimdex: ${name} is running again`),
            () => {},
          );
          watch(this.current);
        }, wait);
      });
    };
    watch(this.current);
  }

  async stop() {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    await stopChildren([this.current]);
  }
}

async function describeModels(cfg: ReturnType<typeof config>): Promise<string[]> {
  try {
    const { getModels } = await importProject<ModelsModule>('worker/ml/index.ts');
    const status = await getModels(cfg).status();
    return status.map((s) => `  ${s.present ? 'present' : 'missing'}  ${s.role.padEnd(11)} ${s.id}`);
  } catch (e) {
    return [`  (model status unavailable: ${(e as Error).message})`];
  }
}

/** The mode line `start` prints: what a reader must know about what is exposed. */
export function describeMode(cfg: ReturnType<typeof config>): string {
  const parts = [`mode: ${cfg.env}`];
  if (cfg.env === 'development') parts.push('Ruru on, introspection on');
  else if (cfg.env === 'production') parts.push('Ruru off, introspection off');
  parts.push(
    cfg.graphqlExplain ? 'GRAPHQL_EXPLAIN on: query plans and SQL go to clients' : 'no query plans to clients',
  );
  return parts.join('; ');
}

export const start: Command = {
  name: 'start',
  summary: 'Run everything on this machine: database, migrations, API server and worker',
  description:
    'Starts the embedded PostgreSQL (unless DATABASE_URL is set), applies the migrations, then runs\n' +
    '`heimdex serve` and `heimdex worker` as child processes. A child that crashes is restarted\n' +
    'with backoff; a crash loop, Ctrl-C or SIGTERM stops all of it, including the embedded\n' +
    'database if this command started it.',
  flags: {},
  async run() {
    const cfg = config();
    const stopped = untilStopped();
    let stopRequested = false;
    void stopped.then(() => {
      stopRequested = true;
    });
    const embedded = usesEmbedded(cfg);
    const wasRunning = embedded && (await isRunning(cfg));
    const db = await resolveDatabase(cfg, { start: true, log: (m) => info(`heimdex: ${m}`) }).catch((e: Error) => {
      const why = e.message
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      throw new CliError(
        `the database could not be started: ${why.find((l) => /error|denied|fatal/i.test(l)) ?? why[0]}`,
        `the PostgreSQL log is in ${cfg.dataDir}/logs/postgres.log`,
      );
    });
    let children: Supervisor[] = [];
    const shutdown = async () => {
      await Promise.all(children.map((c) => c.stop()));
      if (embedded && !wasRunning) {
        info('heimdex: stopping the embedded database');
        await stopEmbedded(cfg);
      }
    };
    try {
      info('heimdex: applying migrations');
      await migrateDatabase(db.ownerUrl, { includeCurrent: cfg.env !== 'production' });
      if (stopRequested) throw new CliError('interrupted while starting');
      await buildWebApp();
      children = [new Supervisor('serve'), new Supervisor('worker')];
      const [server] = await Promise.race([
        Promise.all(children.map((c) => c.current.ready)),
        stopped.then(() => {
          throw new CliError('interrupted while starting');
        }),
      ]);
      const url = server!.url ?? cfg.publicUrl;
      out('');
      out(`Heimdex is running (${describeMode(cfg)}).`);
      out(`  Web app:  ${url}/`);
      out(`  GraphQL:  ${url}/graphql`);
      if (cfg.env === 'development') out(`  Ruru:     ${url}/graphiql`);
      out(`  Data:     ${cfg.dataDir}`);
      out(`  Database: ${embedded ? `embedded, 127.0.0.1:${cfg.dbPort} (heimdex db url)` : 'DATABASE_URL'}`);
      out(`  Models (${cfg.models.dir}):`);
      for (const line of await describeModels(cfg)) out(line);
      out('');
      const me = selfCommand();
      out(`Try: ${me} demo   — or: ${me} ingest <video> --wait && ${me} search "<words>"`);
      out('Stop with Ctrl-C.');
      // A crashed child is restarted by its supervisor; only a crash loop or
      // Ctrl-C/SIGTERM ends `start`.
      const loop = Promise.race(children.map((c) => c.crashLoop));
      const why = await Promise.race([stopped.then(() => null), loop]);
      if (why) info(`heimdex: ${why}; stopping everything`);
      await shutdown();
      return why ? 1 : 0;
    } catch (e) {
      await shutdown();
      throw e;
    }
  },
};

export const serve: Command = {
  name: 'serve',
  summary: 'Run the API server (GraphQL, /auth, uploads) against an existing database',
  description: 'Expects the database to be up and migrated (heimdex db start && heimdex db migrate, or DATABASE_URL).',
  flags: {},
  async run() {
    const cfg = config();
    await runningDatabase(cfg);
    // Grafast's extra checks and readable errors belong to development only.
    process.env.GRAPHILE_ENV ??= cfg.env === 'production' ? 'production' : 'development';
    const { startServer } = await importProject<ServerModule>('server/index.ts');
    const server = await startServer(cfg);
    info(`heimdex: API server listening on ${server.url}`);
    process.send?.({ type: 'ready', url: server.url } satisfies Ready);
    const why = await untilStopped();
    info(`heimdex: API server stopping (${why})`);
    await server.close();
    return 0;
  },
};

export const worker: Command = {
  name: 'worker',
  summary: 'Run a pipeline worker; start more on other machines to scale out',
  description:
    'Processes the job queue (graphile-worker) in the database. Any number may run at once, on\n' +
    'any machine that reaches the database (DATABASE_URL) and the object store (S3_* settings).',
  flags: {},
  async run() {
    const cfg = config();
    await runningDatabase(cfg);
    const { startWorker } = await importProject<WorkerModule>('worker/index.ts');
    const w = await startWorker(cfg, { noHandleSignals: true });
    info('heimdex: worker running');
    process.send?.({ type: 'ready' } satisfies Ready);
    // The runner may also end by itself (the database went away for good).
    const ended = w.done.then(
      () => null,
      (e: Error) => e,
    );
    const why = await Promise.race([untilStopped(), ended]);
    if (why === null || why instanceof Error) {
      throw new CliError(
        `the worker stopped on its own${why ? `: ${why.message}` : ''}`,
        'a supervisor (docker, systemd) should restart it',
      );
    }
    info(`heimdex: worker stopping (${why}); finishing the current job`);
    await w.stop();
    return 0;
  },
};
