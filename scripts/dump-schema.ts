/*
 * Writes sql/schema.sql, the committed dump of our schemas, so that every
 * migration change shows up as a readable diff in review.
 *
 *   node scripts/dump-schema.ts [DATABASE_URL]   dump an already-migrated database
 *   node scripts/dump-schema.ts --fresh           migrate a throwaway database
 *                                                 in the embedded cluster, dump it, drop it
 *
 * The URL comes from argv, else GM_DBURL (set by graphile-migrate when it runs
 * this as a hook), else DATABASE_URL. Only app_public, app_hidden, app_private
 * and auth are dumped: graphile_worker and graphile_migrate belong to their
 * libraries. Owners and version banners are left out so the file is the same
 * on every machine.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, ROOT_DIR } from '../core/config.ts';
import { createScratchDatabase, pgBinary } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';

const run = promisify(execFile);

export const SCHEMA_FILE = path.join(ROOT_DIR, 'sql', 'schema.sql');
export const DUMPED_SCHEMAS = ['app_public', 'app_hidden', 'app_private', 'auth'];

/** Drops what changes between machines or runs without changing the schema. */
export function normaliseDump(sql: string): string {
  const kept = sql
    .split('\n')
    .filter((line) => !/^-- Dumped (from|by) /.test(line))
    // pg_dump >= 15.14 brackets its output with a random \restrict key.
    .filter((line) => !/^\\(un)?restrict\b/.test(line));
  return (
    kept
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

/** Schema-only dump of our schemas, normalised. */
export async function dumpSchema(url: string): Promise<string> {
  const args = ['--schema-only', '--no-owner', '--no-tablespaces'];
  for (const s of DUMPED_SCHEMAS) args.push('--schema', s);
  args.push('--dbname', url);
  try {
    const { stdout } = await run(pgBinary(loadConfig(process.env), 'pg_dump'), args, { maxBuffer: 64 * 1024 * 1024 });
    return normaliseDump(stdout);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`pg_dump failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
}

/** Migrates a throwaway database in the embedded cluster and dumps it. */
async function dumpFresh(): Promise<string> {
  const scratch = await createScratchDatabase(loadConfig(), 'heimdex_dump');
  try {
    await migrateDatabase(scratch.ownerUrl, { includeCurrent: true });
    return await dumpSchema(scratch.ownerUrl);
  } finally {
    await scratch.drop().catch(() => {});
  }
}

async function main() {
  const argUrl = process.argv.slice(2).find((a) => !a.startsWith('--'));
  const fresh = process.argv.includes('--fresh');
  const url = argUrl ?? process.env.GM_DBURL ?? process.env.DATABASE_URL;
  if (!fresh && !url) {
    throw new Error(
      'no database: pass a URL, set GM_DBURL or DATABASE_URL, or use --fresh to migrate a throwaway database',
    );
  }
  const sql = fresh ? await dumpFresh() : await dumpSchema(url!);
  // Written whole to a temp file and renamed, so a failed dump never leaves a half file.
  const tmp = `${SCHEMA_FILE}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  fs.writeFileSync(tmp, sql);
  fs.renameSync(tmp, SCHEMA_FILE);
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)} (${sql.split('\n').length} lines)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  main().catch((e) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
