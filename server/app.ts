/*
 * The express app, assembled in the order requests meet it: request id and
 * logging, CORS, /auth, object routes, GraphQL, health, the web app, errors. Reading this
 * file top to bottom is reading the request path.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { grafserv } from 'postgraphile/grafserv/express/v4';
import { makeGraphQLWSConfig } from 'grafserv';
import { postgraphile, type PostGraphileInstance } from 'postgraphile';
import { useServer } from 'graphql-ws/use/ws';
import type pg from 'pg';
import { WebSocketServer } from 'ws';
import { authenticate, AuthError, connectionToken, installAuth, type AuthProvider } from './auth/index.ts';
import { makePreset } from './graphile.config.ts';
import { installWebApp } from './routes/web.ts';
import { ROOT_DIR, type Config } from '../core/config.ts';
import { outageLog, type Logger } from '../core/log.ts';
import { isConnectionError } from '../core/database.ts';
import { RETRY_AFTER_S } from './graphile.config.ts';
import type { QueryModels } from './plugins/search.ts';
import type { Storage } from '../core/storage/types.ts';

export interface AppDeps {
  config: Config;
  log: Logger;
  /** heimdex_auth: executes the local auth functions, reads the migration list for /healthz. */
  authFunctionsPool: pg.Pool;
  /** One log line per database outage, shared by every part of the server. */
  outage?: ReturnType<typeof outageLog>;
  /** heimdex_authenticator: every GraphQL request. */
  authPool: pg.Pool;
  auth: AuthProvider;
  storage: Storage | null;
  models: (QueryModels & { status?(): Promise<unknown> }) | null;
  /** Extra PostGraphile plugins (the uploads plugin). */
  plugins?: GraphileConfig.Plugin[];
  /** Installs object routes (the fs storage driver's signed URLs). */
  installStorageRoutes?: (app: Express) => void;
}

export interface HeimdexApp {
  app: Express;
  pgl: PostGraphileInstance;
  /** Hooks websockets (GraphQL subscriptions) onto the listening server. */
  attach(server: Server): void;
  close(): Promise<void>;
}

const requestIds = new WeakMap<Request, string>();
export const requestIdOf = (req: Request) => requestIds.get(req);

export function installRequestLogging(app: Express, log: Logger) {
  app.use((req, res, next) => {
    // A caller-supplied id lets a client correlate its logs with ours; it is
    // length- and charset-limited so it cannot forge log structure.
    const given = req.get('x-request-id');
    const id = given && /^[\w.-]{1,100}$/.test(given) ? given : crypto.randomUUID();
    requestIds.set(req, id);
    res.setHeader('x-request-id', id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const fields = {
        reqId: id,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
      };
      if (res.statusCode >= 500) log.error('request', fields);
      else log.info('request', fields);
    });
    next();
  });
}

export function installCors(app: Express, origins: string[]) {
  const any = origins.includes('*');
  app.use((req, res, next) => {
    const origin = req.get('origin');
    if (origin && (any || origins.includes(origin))) {
      res.setHeader('access-control-allow-origin', any ? '*' : origin);
      res.setHeader('vary', 'Origin');
      // apikey, x-client-info and x-supabase-api-version: what supabase-js sends to /auth/v1.
      res.setHeader(
        'access-control-allow-headers',
        'authorization, content-type, x-request-id, range, apikey, x-client-info, x-supabase-api-version',
      );
      res.setHeader('access-control-allow-methods', 'GET, HEAD, POST, PUT, OPTIONS');
      res.setHeader(
        'access-control-expose-headers',
        'x-request-id, content-range, accept-ranges, retry-after, x-supabase-api-version',
      );
      res.setHeader('access-control-max-age', '600');
    }
    if (req.method === 'OPTIONS' && origin) return res.status(204).end();
    next();
  });
}

function installErrorHandler(app: Express, config: Config, log: Logger, outage: ReturnType<typeof outageLog>) {
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', message: 'No such route' });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof AuthError) {
      if (err.retryAfterS) res.setHeader('retry-after', String(err.retryAfterS));
      if (err.status === 401) res.setHeader('www-authenticate', `Bearer error="invalid_token"`);
      return res.status(err.status).json({ error: err.code, message: err.message });
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed')
      return res.status(400).json({ error: 'invalid_json', message: 'Request body is not valid JSON' });
    if (e?.type === 'entity.too.large')
      return res.status(413).json({ error: 'too_large', message: 'Request body is too large' });
    if (e?.status && e.status >= 400 && e.status < 500)
      return res.status(e.status).json({ error: 'bad_request', message: e.message ?? 'Bad request' });
    if (isConnectionError(err)) {
      outage.down(err as Error);
      res.setHeader('retry-after', String(RETRY_AFTER_S));
      return res
        .status(503)
        .json({ error: 'unavailable', message: 'The database is unavailable at the moment; retry shortly' });
    }
    log.error('unhandled error', { reqId: requestIdOf(req), err });
    res.status(500).json({
      error: 'internal',
      message: config.env === 'production' ? 'Internal server error' : String(e?.message ?? err),
    });
  });
}

/** Migrations in migrations/committed that the database has applied. */
// Read from the catalog, which needs no privilege: the login this runs as
// (heimdex_auth) has no usage on app_public, so to_regclass would fail.
async function migrationState(pool: pg.Pool) {
  const dir = path.join(ROOT_DIR, 'migrations', 'committed');
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.sql'))
        .sort()
    : [];
  const { rows } = await pool
    .query<{ applied: number; schema: boolean; latest: string | null }>(
      `
    select (select count(*)::int from graphile_migrate.migrations) as applied,
           (select max(filename) from graphile_migrate.migrations) as latest,
           (select count(*) = 2 from pg_catalog.pg_tables
             where schemaname = 'app_public' and tablename in ('videos', 'scenes')) as schema
  `,
    )
    .catch(async () =>
      pool.query<{ applied: number; schema: boolean; latest: string | null }>(`
    select 0 as applied, null as latest,
           (select count(*) = 2 from pg_catalog.pg_tables
             where schemaname = 'app_public' and tablename in ('videos', 'scenes')) as schema
  `),
    );
  const r = rows[0];
  return {
    committed: files.length,
    applied: r.applied,
    latest: r.latest,
    schema: r.schema,
    current: r.schema && r.applied >= files.length,
  };
}

export async function buildApp(deps: AppDeps): Promise<HeimdexApp> {
  const { config, log } = deps;
  const outage =
    deps.outage ??
    outageLog(
      (m) => log.warn(m),
      (m) => log.info(m),
    );
  const app = express();
  app.disable('x-powered-by');
  // Only named proxies may speak for the client's address: otherwise anyone
  // could dodge the per-IP rate limit with a forged X-Forwarded-For.
  app.set('trust proxy', config.trustProxy.length ? config.trustProxy : false);

  installRequestLogging(app, log);
  installCors(app, config.corsOrigins);
  installAuth(app, { provider: deps.auth, config, log });
  deps.installStorageRoutes?.(app);

  // GraphQL. A presented bearer token is verified before grafserv sees the
  // request; a bad one ends here with 401.
  const built = makePreset({
    config,
    authPool: deps.authPool,
    storage: deps.storage,
    models: deps.models,
    log,
    outage,
  });
  built.setVerifier((t) => deps.auth.verify(t));
  built.preset.plugins = [...(built.preset.plugins ?? []), ...(deps.plugins ?? [])];
  const pgl = postgraphile(built.preset);
  const serv = pgl.createServ(grafserv);
  app.use('/graphql', authenticate(deps.auth));
  await serv.addTo(app, null, false);

  app.get('/healthz', async (_req, res) => {
    try {
      await deps.authFunctionsPool.query('select 1');
      const migrations = await migrationState(deps.authFunctionsPool);
      res
        .status(migrations.current ? 200 : 503)
        .json({ status: migrations.current ? 'ok' : 'migrations_pending', db: 'ok', migrations });
    } catch (e) {
      res.status(503).json({ status: 'error', db: 'unreachable', message: (e as Error).message });
    }
  });

  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    const missing: string[] = [];
    let ok = true;
    try {
      await deps.authPool.query('select 1');
      checks.db = 'ok';
    } catch (e) {
      ok = false;
      checks.db = (e as Error).message;
    }
    if (deps.storage) {
      try {
        await deps.storage.ping();
        checks.storage = 'ok';
      } catch (e) {
        ok = false;
        checks.storage = (e as Error).message;
      }
    } else {
      ok = false;
      checks.storage = 'not configured';
    }
    // The query encoders load when the server starts (QUERY_MODELS_PRELOAD)
    // or else on the first search; asking here surfaces a broken model
    // folder before traffic (and loads them where the preload is off).
    // An absent model is not an error: search runs without that modality.
    const encoders: [string, () => Promise<{ modelId: string } | null>][] = [
      ['text', async () => (deps.models ? deps.models.textEmbedder() : null)],
      ['vision', async () => (deps.models ? deps.models.imageTextEmbedder() : null)],
    ];
    for (const [name, get] of encoders) {
      try {
        const m = await get();
        checks[`model_${name}`] = m ? m.modelId : 'absent';
        if (!m) missing.push(name);
      } catch (e) {
        ok = false;
        checks[`model_${name}`] = (e as Error).message;
      }
    }
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks, missing });
  });

  installWebApp(app, { config, localAnonKey: deps.auth.local?.anonKey });
  installErrorHandler(app, config, log, outage);

  let wss: WebSocketServer | null = null;
  let disposeWs: (() => Promise<void> | void) | null = null;

  return {
    app,
    pgl,
    attach(server: Server) {
      wss = new WebSocketServer({ noServer: true });
      const wsConfig = makeGraphQLWSConfig(serv);
      const handle = useServer(
        {
          ...wsConfig,
          isProd: config.env === 'production',
          // A token is checked when the connection opens (connection_init), so
          // a bad one is refused up front rather than per subscription.
          async onConnect(ctx) {
            const raw = (ctx.connectionParams ?? {}) as Record<string, unknown>;
            const auth = raw.authorization ?? raw.Authorization;
            if (auth === undefined || auth === null || auth === '') return true;
            try {
              await deps.auth.verify(connectionToken(auth)!);
              return true;
            } catch (e) {
              const msg = e instanceof AuthError ? e.message : 'Unauthorized';
              ctx.extra.socket.close(4401, msg.slice(0, 120));
              return false;
            }
          },
        },
        wss,
      );
      disposeWs = () => handle.dispose();
      server.on('upgrade', (req, socket, head) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname !== '/graphql') return socket.destroy();
        wss!.handleUpgrade(req, socket, head, (ws) => wss!.emit('connection', ws, req));
      });
    },
    async close() {
      await disposeWs?.();
      // A client that does not answer the close handshake must not hold the process open.
      for (const socket of wss?.clients ?? []) socket.terminate();
      wss?.close();
      built.release();
      await pgl.release();
    },
  };
}
