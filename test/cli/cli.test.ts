/*
 * The heimdex CLI, run for real as a child process: help everywhere, one-line
 * errors with hints, and the database commands against the shared test
 * cluster (the cheapest running embedded database: the test runner's own
 * HEIMDEX_DATA_DIR and HEIMDEX_DB_PORT point at it). Nothing here stops or
 * resets that cluster; the destructive commands are exercised only on empty
 * temp data folders where they must refuse or find nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { OPTIONS } from '../../core/config.ts';
import { COMMANDS } from '../../cli/commands/index.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { runCli } from './run-cli.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cli-'));

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

test('--help works for the CLI, every command and every command group', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.ok(top.stdout.includes(`  ${c.name}`), `heimdex --help does not list ${c.name}`);
  for (const c of COMMANDS) {
    const r = await runCli([...c.name.split(' '), '--help']);
    assert.equal(r.code, 0, `heimdex ${c.name} --help: ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`Usage: heimdex ${c.name}`), r.stdout);
    assert.ok(r.stdout.includes('--help'), `heimdex ${c.name} --help lists no options`);
    for (const flag of Object.keys(c.flags))
      assert.ok(r.stdout.includes(`--${flag}`), `${c.name} help omits --${flag}`);
  }
  for (const group of ['db', 'models']) {
    const r = await runCli([group, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`${group} \\w+`));
  }
});

test('an unknown command or option fails with one line and a hint', async () => {
  const r = await runCli(['serch', 'cats']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^heimdex: unknown command "serch"\n  did you mean "heimdex search"\?/);
  const sub = await runCli(['db', 'drop']);
  assert.notEqual(sub.code, 0);
  assert.match(sub.stderr, /unknown command "heimdex db drop"\n  see: heimdex db --help/);
  const flag = await runCli(['search', 'cats', '--limt', '3']);
  assert.notEqual(flag.code, 0);
  assert.match(flag.stderr, /unknown option --limt for "search"\n  see: heimdex search --help/);
  const bad = await runCli(['search', 'cats', '--limit', 'many']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--limit must be a whole number/);
});

test('search with the server down says so in one line and exits non-zero', async () => {
  const port = await closedPort();
  const r = await runCli(['search', 'a red apple'], { HEIMDEX_PORT: String(port), HEIMDEX_DATA_DIR: tmp() });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `heimdex: the server at http://127.0.0.1:${port} is not running — start it with: npm start\n`);
  assert.equal(r.stdout, '');
});

test('ingest refuses missing files, non-videos and empty folders before contacting anything', async () => {
  const dir = tmp();
  const env = { HEIMDEX_PORT: String(await closedPort()), HEIMDEX_DATA_DIR: dir };
  const missing = await runCli(['ingest', path.join(dir, 'nope.mp4')], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^heimdex: file not found: .*nope\.mp4\n$/);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
  const notVideo = await runCli(['ingest', path.join(dir, 'notes.txt')], env);
  assert.equal(notVideo.code, 1);
  assert.match(notVideo.stderr, /^heimdex: not a video: .*notes\.txt\n  expected one of \.mp4/);
  const empty = await runCli(['ingest', dir], env);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no videos in/);
  assert.equal(fs.existsSync(path.join(dir, 'cli-credentials.json')), false, 'nothing should have been written');
});

test('ids that are not ids are refused before contacting anything', async () => {
  const env = { HEIMDEX_PORT: String(await closedPort()), HEIMDEX_DATA_DIR: tmp() };
  const cases: [string[], RegExp][] = [
    [
      ['search', 'cats', '--video', 'holiday.mp4'],
      /^heimdex: --video must be a video id \(UUID\), got "holiday\.mp4"\n/,
    ],
    [['transcript', 'holiday.mp4'], /^heimdex: one video id is needed\n  usage: heimdex transcript <videoId>/],
    [['person', 'name', 'grandma', 'Grandma'], /^heimdex: a person id and a name are needed\n/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, env);
    assert.equal(r.code, 1, args.join(' '));
    // A request would have met the closed port and said the server is not running.
    assert.match(r.stderr, message);
  }
  // The same check lets a real id through to the request.
  const id = '5b1c2c6e-8a3f-4d61-9e2a-0c1d2e3f4a5b';
  const through = await runCli(['transcript', id], env);
  assert.match(through.stderr, /is not running/);
});

test('db url prints the owner connection string of the running embedded database, and it connects', async () => {
  const r = await runCli(['db', 'url']);
  assert.equal(r.code, 0, r.stderr);
  const url = r.stdout.trim();
  assert.match(url, /^postgres:\/\/heimdex:[^@]+@127\.0\.0\.1:\d+\/heimdex$/);
  assert.ok(url.includes(`:${process.env.HEIMDEX_DB_PORT}/`), 'must use HEIMDEX_DB_PORT');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    assert.equal((await c.query('select current_user as u')).rows[0].u, 'heimdex');
  } finally {
    await c.end();
  }
  const auth = await runCli(['db', 'url', '--auth']);
  assert.match(auth.stdout.trim(), /^postgres:\/\/heimdex_authenticator:/);
});

test('db start on a running database is fine, and reports where it runs', async () => {
  const r = await runCli(['db', 'start'], {}, { timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`running on 127\\.0\\.0\\.1:${process.env.HEIMDEX_DB_PORT}`));
});

test('database commands on a data folder without a database fail clearly, and reset asks for --yes', async () => {
  const env = { HEIMDEX_DATA_DIR: tmp(), HEIMDEX_DB_PORT: String(await closedPort()) };
  const url = await runCli(['db', 'url'], env);
  assert.equal(url.code, 1);
  assert.match(
    url.stderr,
    /^heimdex: the embedded database in .* is not running\n  start it with: heimdex db start\n$/,
  );
  const stop = await runCli(['db', 'stop'], env);
  assert.equal(stop.code, 0);
  assert.match(stop.stdout, /was not running/);
  const reset = await runCli(['db', 'reset'], env);
  assert.equal(reset.code, 1);
  assert.match(reset.stderr, /run again with --yes to confirm/);
  const serve = await runCli(['worker'], env);
  assert.equal(serve.code, 1);
  assert.match(serve.stderr, /not running\n  start everything with: npm start/);
  const ext = await runCli(['db', 'start'], { ...env, DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
  assert.equal(ext.code, 1);
  assert.match(
    ext.stderr,
    /a database URL is set \(DATABASE_URL or another \*_DATABASE_URL\), so there is no embedded database to start/,
  );
});

test('db migrate, db psql and reindex work against DATABASE_URL, as docker compose runs them', async () => {
  const db = await createTestDatabase();
  const env = { DATABASE_URL: db.ownerUrl, HEIMDEX_DATA_DIR: tmp() };
  const m = await runCli(['db', 'migrate'], env, { timeoutMs: 180000 });
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /database migrated \(committed \+ current\)/);
  const tables = await db.rootPool.query(
    `select count(*)::int as n from pg_tables where schemaname = 'app_public' and tablename in ('videos', 'scenes')`,
  );
  assert.equal(tables.rows[0].n, 2);
  const psql = await runCli(['db', 'psql', '--', '-tAc', "select current_user || '@' || current_database()"], env);
  assert.equal(psql.code, 0, psql.stderr);
  assert.equal(psql.stdout.trim(), `heimdex@${db.name}`);
  const reindex = await runCli(['reindex', '--missing'], env, { timeoutMs: 120000 });
  assert.equal(reindex.code, 0, reindex.stderr);
  assert.match(
    reindex.stdout,
    /^queued 0 videos for re-processing \(0 with skipped stages, 0 embedded with other models\)/,
  );
});

test('config table lists every option with its default', async () => {
  const r = await runCli(['config', 'table']);
  assert.equal(r.code, 0);
  for (const o of OPTIONS) {
    const row = r.stdout.split('\n').find((l) => l.startsWith(`| \`${o.env}\` |`));
    assert.ok(row, `${o.env} missing from the table`);
    if ('default' in o && o.default) assert.ok(row.includes(`\`${o.default}\``), `${o.env}'s default is not shown`);
  }
});

test('models status --json lists every model role with exactly the contract keys', async () => {
  const r = await runCli(['models', 'status', '--json'], { HEIMDEX_DATA_DIR: tmp(), MODELS_DIR: tmp() });
  assert.equal(r.code, 0, r.stderr);
  const status = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.deepEqual(status.map((s) => s.role).sort(), ['asr', 'face', 'ocr', 'text', 'vision', 'vision-text']);
  for (const s of status) {
    // Embedding models state their output width; the others have none.
    const keys = ['bytes', 'id', 'path', 'present', 'role'];
    if (['text', 'vision', 'vision-text', 'face'].includes(s.role as string)) keys.splice(1, 0, 'dim');
    assert.deepEqual(Object.keys(s).sort(), keys, String(s.role));
    assert.equal(typeof s.present, 'boolean');
    assert.equal(typeof s.bytes, 'number');
  }
  // With an empty MODELS_DIR nothing is downloaded, so the embedding models are absent.
  assert.deepEqual(
    status.filter((s) => s.role === 'text' || s.role === 'vision').map((s) => s.present),
    [false, false],
  );
});
