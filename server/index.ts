/*
 * startServer: the API process. Resolves the database, opens the two pools
 * (heimdex_auth for the local auth functions and /healthz,
 * heimdex_authenticator for GraphQL), builds
 * the app and listens. close() ends everything it opened, in reverse.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createAuthProvider } from './auth/index.ts';
import { buildApp, type AppDeps } from './app.ts';
import type { Config } from '../core/config.ts';
import { resolveDatabase, type DatabaseUrls } from '../core/database.ts';
import { createLogger, outageLog, type Logger } from '../core/log.ts';
import { warmQueryEncoders } from './plugins/search.ts';
import { makeUploadsPlugin } from './plugins/uploads.ts';
import { createStorage } from '../core/storage/index.ts';
import { installStorageRoutes } from './routes/storage.ts';
import type { Storage } from '../core/storage/types.ts';

export interface StartServerOptions {
  /** Database urls (tests inject their own database); default: resolveDatabase. */
  db?: Pick<DatabaseUrls, 'authFunctionsUrl' | 'authUrl'>;
  /** Start the embedded PostgreSQL when needed (the CLI's `start`). */
  startDb?: boolean;
  storage?: Storage;
  /** Query encoders; default: worker/ml getModels(config). null: full-text search only. */
  models?: AppDeps['models'];
  log?: Logger;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

// The one import of another process's code, on purpose: queries must be
// embedded by the very encoders the worker embeds scenes with, or the two
// vector spaces could drift apart. Imported on demand: the registry pulls in
// onnxruntime and transformers.js, which tests that inject their own encoders
// (or none) need not load.
async function defaultModels(config: Config): Promise<AppDeps['models']> {
  const { getModels } = await import('../worker/ml/index.ts');
  return getModels(config);
}

export async function startServer(config: Config, opts: StartServerOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config.logLevel, { svc: 'server' });
  const urls = opts.db ?? (await resolveDatabase(config, { start: opts.startDb, log: (m) => log.info(m) }));
  // Idle connections are kept (node-postgres closes them after 10 s by
  // default): a new connection costs its login plus a cold backend, whose
  // first search compiles and plans search_scenes and faults in the buffers
  // it reads, several times a warm search (BENCHMARKS.md, "after a pause").
  // A user who reads results for more than 10 s would pay that on every
  // search. A dropped connection is still replaced on demand.
  const authFunctionsPool = new pg.Pool({ connectionString: urls.authFunctionsUrl, max: 4, idleTimeoutMillis: 0 });
  // Pipelined: a request's first query follows its settings without waiting
  // for their answer (pg-service.ts says why that is safe).
  const authPool = new pg.Pool({ connectionString: urls.authUrl, max: 10, idleTimeoutMillis: 0, pipeline: true });
  // An idle client's connection dying (database restart) must not crash the
  // process; the outage is logged once, and a new connection ends it.
  const outage = outageLog(
    (m) => log.warn(m),
    (m) => log.info(m),
  );
  for (const pool of [authFunctionsPool, authPool]) {
    pool.on('error', (err) => outage.down(err));
    // A client checked out for a request (or LISTEN) whose connection dies
    // emits 'error' on itself, not on the pool; unhandled, that would end the
    // process on a database restart instead of failing one request.
    pool.on('connect', (client) => {
      outage.up();
      client.on('error', (err) => outage.down(err));
    });
  }

  const opened: (() => Promise<void>)[] = [() => authPool.end(), () => authFunctionsPool.end()];
  // The listener closes first (no new requests), then what serves them.
  let closeServer: (() => Promise<void>) | null = null;
  const closeAll = async () => {
    const stop = closeServer;
    closeServer = null;
    // Stop accepting at once, but wait for the listener only after the app
    // has closed: an open websocket (a browser tab following its videos) is
    // no longer an HTTP connection, and only the app's close ends it.
    const stopped = stop?.().catch((err) => log.warn('close failed', { err }));
    for (const fn of opened.splice(0).reverse()) await fn().catch((err) => log.warn('close failed', { err }));
    await stopped;
  };
  try {
    // Listen first: with port 0 (tests, side-by-side instances) the real port
    // is only known now, and signed fs URLs must point at it.
    let handler: http.RequestListener = (_req, res) => {
      res.statusCode = 503;
      res.end();
    };
    const server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    closeServer = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    const port = (server.address() as AddressInfo).port;
    const publicUrl = new URL(config.publicUrl);
    if (publicUrl.port === '0') {
      publicUrl.port = String(port);
      config = { ...config, publicUrl: publicUrl.toString().replace(/\/$/, '') };
    }

    const storage = opts.storage ?? createStorage(config);
    if (config.graphqlExplain) log.warn('GRAPHQL_EXPLAIN is on: responses carry query plans and SQL (debugging only)');
    await storage.ensureReady();
    const auth = await createAuthProvider(config, authFunctionsPool);
    opened.push(() => auth.close());
    const models = opts.models !== undefined ? opts.models : await defaultModels(config);
    const built = await buildApp({
      config,
      log,
      authFunctionsPool,
      outage,
      authPool,
      auth,
      storage,
      models,
      plugins: [makeUploadsPlugin({ storage, config })],
      installStorageRoutes: (app) => installStorageRoutes(app, storage, config),
    });
    opened.push(() => built.close());
    built.attach(server);
    handler = built.app;
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    log.info('listening', { url, env: config.env, auth: config.auth.provider, storage: storage.driver });
    // Only the encoders this server made itself: injected ones are their owner's to load.
    if (opts.models === undefined && models && config.models.preloadQuery)
      void warmQueryEncoders(models, {
        loaded: (fields) => log.info('query encoders loaded', fields),
        failed: (encoder, err) =>
          log.warn('query encoder failed to load; the next search that needs it loads it again', { encoder, err }),
      });
    return { url, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
