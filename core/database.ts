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

/**
 * Resolves connection strings. With `start`, brings the embedded cluster up
 * first (idempotent); without, it must already have been initialised.
 */
export async function resolveDatabase(
  config: Config,
  opts: { start?: boolean; log?: (m: string) => void } = {},
): Promise<DatabaseUrls> {
  if (config.databaseUrl) {
    return {
      ownerUrl: config.databaseUrl,
      authUrl: config.authDatabaseUrl ?? config.databaseUrl,
      workerUrl: config.workerDatabaseUrl ?? config.databaseUrl,
      authFunctionsUrl: config.authFunctionsDatabaseUrl ?? config.databaseUrl,
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
