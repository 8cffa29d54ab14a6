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
import { migrateDatabase } from '../../core/migrate.ts';
import { config, importProject, info, out, selfCommand, untilStopped, type Command } from '../command.ts';
import type { ModelsModule, ServerModule, WebBuildModule, WorkerModule } from '../contracts.ts';
import { runningDatabase } from '../database.ts';
import { CliError } from '../errors.ts';

const MAIN = path.join(ROOT_DIR, 'cli', 'main.ts');
/** How long a child gets to finish its current work after SIGTERM. */
const STOP_GRACE_MS = 30_000;

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

function spawnChild(name: string): { child: ChildProcess; ready: Promise<Ready>; exited: Promise<number> } {
  const child = spawn(process.execPath, [MAIN, name], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: process.env,
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

async function describeModels(cfg: ReturnType<typeof config>): Promise<string[]> {
  try {
    const { getModels } = await importProject<ModelsModule>('worker/ml/index.ts');
    const status = await getModels(cfg).status();
    return status.map((s) => `  ${s.present ? 'present' : 'missing'}  ${s.role.padEnd(11)} ${s.id}`);
  } catch (e) {
    return [`  (model status unavailable: ${(e as Error).message})`];
  }
}

export const start: Command = {
  name: 'start',
  summary: 'Run everything on this machine: database, migrations, API server and worker',
  description:
    'Starts the embedded PostgreSQL (unless DATABASE_URL is set), applies the migrations, then runs\n' +
    '`heimdex serve` and `heimdex worker` as child processes. Ctrl-C or SIGTERM stops all of it,\n' +
    'including the embedded database if this command started it.',
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
    let children: ReturnType<typeof spawnChild>[] = [];
    const shutdown = async () => {
      await stopChildren(children);
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
      children = [spawnChild('serve'), spawnChild('worker')];
      const [server] = await Promise.race([
        Promise.all(children.map((c) => c.ready)),
        stopped.then(() => {
          throw new CliError('interrupted while starting');
        }),
      ]);
      const url = server!.url ?? cfg.publicUrl;
      out('');
      out(`Heimdex is running.`);
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
      const crashed = Promise.race(children.map((c, i) => c.exited.then((code) => ({ i, code }))));
      const first = await Promise.race([stopped.then(() => null), crashed]);
      if (first) {
        info(
          `heimdex: ${first.i === 0 ? 'serve' : 'worker'} exited unexpectedly (code ${first.code}); stopping everything`,
        );
      }
      await shutdown();
      return first ? 1 : 0;
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
