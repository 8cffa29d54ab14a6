/*
 * `npm test`: lints, checks formatting, type-checks, brings up a test-only embedded PostgreSQL (its own
 * data folder and port, never the `npm start` data), migrates one template
 * database, builds the web app when stale and the tiny models, then runs every *.test.ts with node's test
 * runner. Each test file clones the template into a database of its own.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, ROOT_DIR } from '../core/config.ts';
import { createScratchDatabase, stopEmbedded } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { buildWeb } from '../server/web/build.ts';

const dataDir = path.join(ROOT_DIR, '.test-data');
const testEnv: NodeJS.ProcessEnv = {
  ...process.env,
  HEIMDEX_DATA_DIR: dataDir,
  HEIMDEX_DB_PORT: process.env.HEIMDEX_TEST_DB_PORT ?? '54339',
  NODE_ENV: 'test',
};
delete testEnv.DATABASE_URL;
delete testEnv.AUTH_DATABASE_URL;
const config = loadConfig(testEnv);
const step = (m: string) => console.log(`[test] ${m}`);

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = testEnv) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT_DIR, env });
  return r.status ?? 1;
}

// Several test runs may share the test cluster (e.g. two terminals); the last
// one out stops it.
const runsDir = path.join(dataDir, 'runs');
fs.mkdirSync(runsDir, { recursive: true });
const myRun = path.join(runsDir, String(process.pid));
fs.writeFileSync(myRun, '');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let status: number;
let template: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
try {
  // Cheapest checks first: a lint or format slip fails in seconds, not after the database is up.
  if (!process.argv.includes('--no-lint')) {
    step('linting');
    if (sh(path.join(ROOT_DIR, 'node_modules/.bin/eslint'), ['.']) !== 0) throw new Error('lint errors');
    step('checking formatting');
    if (sh(path.join(ROOT_DIR, 'node_modules/.bin/prettier'), ['--check', '--log-level=warn', '.']) !== 0) {
      throw new Error('unformatted files: run npm run format');
    }
  }
  if (!process.argv.includes('--no-typecheck')) {
    step('type-checking');
    if (sh(path.join(ROOT_DIR, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.']) !== 0) throw new Error('type errors');
    if (sh(path.join(ROOT_DIR, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'server/web']) !== 0) {
      throw new Error('type errors in the web app');
    }
  }
  step('starting test PostgreSQL');
  template = await createScratchDatabase(config, `heimdex_tpl_${process.pid}`, step);
  step(`migrating template ${template.name}`);
  await migrateDatabase(template.ownerUrl, { includeCurrent: true });

  step('building the web app (when stale)');
  await buildWeb({ ifStale: true });

  if (fs.existsSync(path.join(ROOT_DIR, 'models/tiny/generate.ts'))) {
    step('generating tiny models');
    if (sh(process.execPath, ['models/tiny/generate.ts']) !== 0) throw new Error('tiny model generation failed');
  }

  const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const files = filter.length ? filter : ['**/*.test.ts'];
  step(`running ${files.join(' ')}`);
  status = sh(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], {
    ...testEnv,
    HEIMDEX_TEST_ROOT_URL: template.rootDbUrl,
    HEIMDEX_TEST_TEMPLATE: template.name,
  });
} catch (e) {
  console.error(`[test] ${(e as Error).message}`);
  status = 1;
} finally {
  await template?.drop().catch(() => {});
  fs.rmSync(myRun, { force: true });
  const others = fs.readdirSync(runsDir).filter((p) => alive(Number(p)));
  if (others.length === 0) await stopEmbedded(config).catch(() => {});
}
process.exit(status);
