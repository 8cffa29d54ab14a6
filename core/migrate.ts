/*
 * Brings a database to the current schema: graphile-worker's own tables
 * first (the insert trigger calls graphile_worker.add_job, so they must exist
 * before any video can be inserted), then our graphile-migrate migrations.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Logger, runMigrations } from 'graphile-worker';
import { ROOT_DIR } from './config.ts';

const run = promisify(execFile);
const quietLogger = new Logger(() => () => {});

export async function migrateDatabase(
  ownerUrl: string,
  opts: { includeCurrent?: boolean; shadowUrl?: string; rootUrl?: string } = {},
) {
  await runMigrations({ connectionString: ownerUrl, logger: quietLogger });
  const bin = path.join(ROOT_DIR, 'node_modules', '.bin', 'graphile-migrate');
  const env = {
    ...process.env,
    DATABASE_URL: ownerUrl,
    ...(opts.shadowUrl ? { SHADOW_DATABASE_URL: opts.shadowUrl } : {}),
    ...(opts.rootUrl ? { ROOT_DATABASE_URL: opts.rootUrl } : {}),
  };
  try {
    await run(bin, ['migrate'], { cwd: ROOT_DIR, env });
    // The uncommitted migration (migrations/current) is applied in development
    // and tests, exactly as `graphile-migrate watch --once` would.
    if (opts.includeCurrent) await run(bin, ['watch', '--once'], { cwd: ROOT_DIR, env });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`migration failed: ${(err.stderr || err.stdout || err.message).trim()}`, { cause: e });
  }
}
