/*
 * Where the database is: either DATABASE_URL (any PostgreSQL with pgvector)
 * or the embedded cluster in the data folder. Every process resolves its
 * connection strings here so they cannot disagree.
 */
import type { Config } from './config.ts';
import { readEmbeddedCredentials, startEmbedded, urlsFor } from './embedded-pg.ts';

export interface DatabaseUrls {
  /** Owns the schema: migrations and admin commands (db psql, reindex) only. */
  ownerUrl: string;
  /** GraphQL requests: no ownership, no BYPASSRLS. */
  authUrl: string;
  /** Workers (heimdex_worker): step functions and the job queue. */
  workerUrl: string;
  /** The API's local auth functions (heimdex_auth): EXECUTE on app_private.auth_* only. */
  authFunctionsUrl: string;
  /** Superuser, only known for the embedded cluster (creating databases). */
  rootUrl?: string;
  embedded: boolean;
}

/** True when no connection string is configured, so the embedded cluster is the database. */
export function usesEmbedded(config: Config): boolean {
  return !(config.databaseUrl || config.authDatabaseUrl || config.workerDatabaseUrl || config.authFunctionsDatabaseUrl);
}

/**
 * Resolves connection strings. With `start`, brings the embedded cluster up
 * first (idempotent); without, it must already have been initialised.
 */
export async function resolveDatabase(
  config: Config,
  opts: { start?: boolean; log?: (m: string) => void } = {},
): Promise<DatabaseUrls> {
  if (!usesEmbedded(config)) {
    // Each process gets only the logins it uses (docker-compose gives the
    // worker WORKER_DATABASE_URL alone), so a url that is absent fails when
    // it is asked for, naming the option, rather than at start.
    const pick = (url: string | undefined, env: string) => {
      const v = url ?? config.databaseUrl;
      return () => {
        if (!v) throw new Error(`${env} (or DATABASE_URL) is needed for this and is not set`);
        return v;
      };
    };
    const owner = pick(config.databaseUrl, 'DATABASE_URL');
    const auth = pick(config.authDatabaseUrl, 'AUTH_DATABASE_URL');
    const worker = pick(config.workerDatabaseUrl, 'WORKER_DATABASE_URL');
    const authFunctions = pick(config.authFunctionsDatabaseUrl, 'AUTH_FUNCTIONS_DATABASE_URL');
    return {
      get ownerUrl() {
        return owner();
      },
      get authUrl() {
        return auth();
      },
      get workerUrl() {
        return worker();
      },
      get authFunctionsUrl() {
        return authFunctions();
      },
      embedded: false,
    };
  }
  if (opts.start) {
    const urls = await startEmbedded(config, opts.log);
    return { ...urls, embedded: true };
  }
  const creds = readEmbeddedCredentials(config);
  if (!creds) {
    throw new Error(
      `no database: DATABASE_URL is unset and the embedded one in ${config.dataDir} was never started (run: heimdex db start)`,
    );
  }
  return { ...urlsFor(config, creds), embedded: true };
}

/**
 * Only PostgreSQL (or the pg client about its own socket) says these: the
 * database ended or refused the connection, it is restarting or shutting
 * down. Unlike a bare ECONNRESET, which the object store's client raises
 * too, this error cannot have come from elsewhere.
 */
export function isDatabaseGone(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | null;
  return (
    /^(08...|57P0[1-3])$/.test(err?.code ?? '') ||
    /Connection terminated|connection (is )?closed|Client has encountered a connection error|terminating connection/i.test(
      err?.message ?? '',
    )
  );
}

/** Errors that mean "the database is away for now", not a bug. */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code ?? '';
  return (
    isDatabaseGone(e) ||
    code === '53300' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'ENOTFOUND'].includes(code)
  );
}
