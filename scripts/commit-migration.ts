/*
 * Commits the migration under development as the next file of
 * migrations/committed/, which is all that production and the compose file
 * apply (`heimdex db migrate --committed-only`):
 *
 *   node scripts/commit-migration.ts "what the migration does"
 *
 * graphile-migrate's own `commit` needs a database at the last committed
 * migration, a shadow database it may drop and recreate, and a superuser;
 * this takes throwaway ones from the embedded cluster of the current
 * configuration (HEIMDEX_DATA_DIR, HEIMDEX_DB_PORT) and drops them after.
 * `commit` also empties migrations/current/, whose files hold the
 * often-edited function bodies every later migration recreates (the
 * `--! include` lines of fixtures/), so they are put back as they were.
 * Its afterAllMigrations hook rewrites sql/schema.sql; commit all three.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, ROOT_DIR } from '../core/config.ts';
import { createScratchDatabase } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';

const run = promisify(execFile);
const message = process.argv[2]?.trim();
if (!message) {
  console.error('usage: node scripts/commit-migration.ts "what the migration does"');
  process.exit(2);
}

const currentDir = path.join(ROOT_DIR, 'migrations', 'current');
const kept = new Map(fs.readdirSync(currentDir).map((f) => [f, fs.readFileSync(path.join(currentDir, f))]));
const config = loadConfig();
const main = await createScratchDatabase(config, 'heimdex_commit');
const shadow = await createScratchDatabase(config, 'heimdex_commit');
try {
  await migrateDatabase(main.ownerUrl, { includeCurrent: false });
  const { stdout, stderr } = await run(
    path.join(ROOT_DIR, 'node_modules', '.bin', 'graphile-migrate'),
    ['commit', '--message', message],
    {
      cwd: ROOT_DIR,
      env: {
        ...process.env,
        DATABASE_URL: main.ownerUrl,
        SHADOW_DATABASE_URL: shadow.ownerUrl,
        ROOT_DATABASE_URL: main.rootDbUrl,
      },
    },
  );
  process.stdout.write(stdout + stderr);
} finally {
  for (const f of fs.readdirSync(currentDir)) if (!kept.has(f)) fs.rmSync(path.join(currentDir, f));
  for (const [f, body] of kept) fs.writeFileSync(path.join(currentDir, f), body);
  await main.drop();
  await shadow.drop();
}
