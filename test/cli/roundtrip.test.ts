/*
 * The CLI end to end: a real server and a real worker (tiny generated models,
 * real ffmpeg, fs storage) on a test database, and the real `heimdex` binary
 * as a child process doing what a user does — ingest a video with a sidecar
 * subtitle file, wait for it, search it — asserting the JSON contracts of
 * `ingest --wait --json` and `search --json`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig, ROOT_DIR } from '../../core/config.ts';
import { startServer } from '../../server/index.ts';
import { startWorker } from '../../worker/index.ts';
import { generateSampleVideo } from '../../worker/media/samples.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { runCli } from './run-cli.ts';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

// Registered before the database's own cleanup so that the worker and server
// stop before their database is dropped (after hooks run in order).
let server: Awaited<ReturnType<typeof startServer>> | undefined;
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
after(async () => {
  await worker?.stop();
  await server?.close();
});
const db = await createTestDatabase();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cli-rt-'));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
// The CLI reaches the server through these, exactly as a user's shell would.
const env = {
  HEIMDEX_DATA_DIR: dataDir,
  HEIMDEX_HOST: '127.0.0.1',
  HEIMDEX_PORT: String(await freePort()),
  MODELS_DIR: path.join(ROOT_DIR, '.test-data', 'models'),
  STORAGE_SIGNING_SECRET: 'cli-roundtrip-signing-secret-0123456789',
  JWT_SECRET: 'cli-roundtrip-jwt-secret-0123456789abcdef',
  LOG_LEVEL: 'silent',
  NODE_ENV: 'test',
  DATABASE_URL: db.ownerUrl,
  AUTH_DATABASE_URL: db.authUrl,
  WORKER_DATABASE_URL: db.workerUrl,
  AUTH_FUNCTIONS_DATABASE_URL: db.authFunctionsUrl,
};
const config = loadConfig({ ...process.env, ...env });
server = await startServer(config, { db: { authFunctionsUrl: db.authFunctionsUrl, authUrl: db.authUrl } });
worker = await startWorker(config, { databaseUrl: db.workerUrl, noHandleSignals: true, pollInterval: 500 });

const OCEAN = { durationS: 3, color: 'blue', word: 'OCEAN', speech: 'waves roll across the ocean' };
const scenes = [
  { durationS: 3, color: 'red', word: 'APPLE', speech: 'an apple on the kitchen table' },
  OCEAN,
  { durationS: 3, color: 'green', word: 'FOREST', speech: 'tall trees in a quiet forest' },
];
const videoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cli-videos-'));
after(() => fs.rmSync(videoDir, { recursive: true, force: true }));
const sample = await generateSampleVideo(path.join(videoDir, 'clip.mp4'), { scenes, subtitles: false });
// The subtitles travel as a sidecar file, which ingest must find and attach.
fs.writeFileSync(path.join(videoDir, 'clip.srt'), sample.srt);

let videoId = '';
/** The exact contract of one `ingest --wait --json` line. */
const WAIT_KEYS = ['durationS', 'error', 'missingStages', 'scenes', 'state', 'title', 'updates', 'videoId'];

test('ingest --wait --json uploads through the API and prints one JSON result per video', async () => {
  const r = await runCli(
    ['ingest', path.join(videoDir, 'clip.mp4'), '--title', 'Round trip', '--wait', '--json', '--timeout', '300'],
    env,
    { timeoutMs: 330_000 },
  );
  assert.equal(r.code, 0, `stderr: ${r.stderr}\nstdout: ${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  const result = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(result).sort(), WAIT_KEYS);
  assert.match(result.videoId, /^[0-9a-f-]{36}$/);
  assert.equal(result.title, 'Round trip');
  assert.equal(result.state, 'indexed', `error: ${result.error}`);
  assert.equal(result.error, null);
  assert.ok(result.scenes >= 2, `expected the cuts to give scenes, got ${result.scenes}`);
  assert.ok(
    Math.abs(result.durationS - sample.durationS) < 0.5,
    `durationS ${result.durationS} vs ${sample.durationS}`,
  );
  videoId = result.videoId;
  assert.equal(result.updates, 'subscription', 'progress should arrive over the videoChanged websocket subscription');

  const row = await db.rootPool.query('select owner_id, subtitle_key, state from app_public.videos where id = $1', [
    videoId,
  ]);
  assert.equal(row.rows[0].state, 'indexed');
  assert.match(
    row.rows[0].subtitle_key ?? '',
    new RegExp(`^u/${row.rows[0].owner_id}/.*clip\\.srt$`),
    'the sidecar .srt should be attached',
  );

  const credFile = path.join(dataDir, 'cli-credentials.json');
  assert.equal(fs.statSync(credFile).mode & 0o777, 0o600, 'credentials must be readable by the user only');
  const creds = JSON.parse(fs.readFileSync(credFile, 'utf8'));
  assert.equal(creds.server, `http://127.0.0.1:${env.HEIMDEX_PORT}`);
  assert.equal(creds.userId, row.rows[0].owner_id, 'the video belongs to the CLI user');
});

test('search --json returns the contract fields, with the spoken scene first', async () => {
  assert.ok(videoId, 'needs the ingested video');
  const before = JSON.parse(fs.readFileSync(path.join(dataDir, 'cli-credentials.json'), 'utf8'));
  const r = await runCli(['search', 'waves roll across the ocean', '--limit', '5', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const hits = JSON.parse(r.stdout);
  assert.ok(Array.isArray(hits) && hits.length > 0, r.stdout);
  const top = hits[0];
  assert.equal(top.videoId, videoId);
  assert.equal(top.title, 'Round trip');
  for (const k of ['text', 'vision', 'tags']) assert.equal(typeof top.components[k], 'number', `components.${k}`);
  assert.equal(typeof top.score, 'number');
  const ocean = sample.scenes.find((s) => s.word === 'OCEAN')!;
  assert.ok(
    top.startS < ocean.end && top.endS > ocean.start,
    `top hit ${top.startS}-${top.endS} should overlap the ocean scene ${ocean.start}-${ocean.end}`,
  );
  assert.match(top.snippet ?? '', /ocean/i);
  assert.match(top.previewUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/.+#t=[\d.]+,[\d.]+$/);
  const after = JSON.parse(fs.readFileSync(path.join(dataDir, 'cli-credentials.json'), 'utf8'));
  assert.equal(after.email, before.email, 'the stored CLI user is reused, not signed up again');

  const table = await runCli(['search', 'waves roll across the ocean', '--limit', '3'], env);
  assert.equal(table.code, 0, table.stderr);
  const [head, first] = table.stdout.split('\n');
  assert.match(head!, /^#\s+video\s+time\s+score\s+text\s+vision\s+tags\s+snippet\s+preview/);
  assert.match(first!, /^1\s+Round trip\s+0:0\d–0:0\d\s+\d\.\d{3}/);
  assert.doesNotMatch(table.stdout, /<\/?b>/, 'highlight tags are stripped in the table');
});

test('videos lists the ingested video with its state, scenes and id', async () => {
  assert.ok(videoId, 'needs the ingested video');
  const r = await runCli(['videos', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  const mine = rows.find((v: { videoId: string }) => v.videoId === videoId);
  assert.deepEqual(Object.keys(mine), ['videoId', 'title', 'state', 'durationS', 'scenes', 'createdAt', 'error']);
  assert.equal(mine.title, 'Round trip');
  assert.equal(mine.state, 'indexed');
  const { rows: counted } = await db.rootPool.query(
    'select count(*)::int as n from app_public.scenes where video_id = $1',
    [videoId],
  );
  assert.ok(counted[0].n > 0);
  assert.equal(mine.scenes, counted[0].n);
  const table = await runCli(['videos'], env);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^title\s+state\s+length\s+scenes\s+id\n/);
  assert.match(table.stdout, new RegExp(`Round trip\\s+indexed\\s+0:0\\d\\s+${counted[0].n}\\s+${videoId}`));
});

test('transcript prints what is said, with its times, as JSON, SubRip, WebVTT and text', async () => {
  assert.ok(videoId, 'needs the ingested video');
  const json = await runCli(['transcript', videoId, '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  const lines = JSON.parse(json.stdout);
  assert.deepEqual(
    lines.map((l: { startS: number; endS: number; text: string }) => [l.startS, l.endS, l.text]),
    sample.subtitles.map((c) => [c.start, c.end, c.text]),
    'the sidecar cues, in order, with their times',
  );
  for (const l of lines) assert.deepEqual(Object.keys(l), ['startS', 'endS', 'text']);

  // The SubRip it prints is the file it was given, cue for cue.
  const srt = await runCli(['transcript', videoId, '--format', 'srt'], env);
  assert.equal(srt.code, 0, srt.stderr);
  assert.equal(srt.stdout.trim(), sample.srt.trim());
  const vtt = await runCli(['transcript', videoId, '--format', 'vtt'], env);
  assert.equal(vtt.code, 0, vtt.stderr);
  assert.match(vtt.stdout, /^WEBVTT\n\n00:00:00\.200 --> 00:00:02\.800\nan apple on the kitchen table\n/);
  const text = await runCli(['transcript', videoId], env);
  assert.equal(text.stdout.split('\n')[1], '0:03  waves roll across the ocean');

  // A video nobody speaks in prints nothing, says why, and is no error.
  const { rows: kept } = await db.rootPool.query(
    'select segments from app_private.video_transcripts where video_id = $1',
    [videoId],
  );
  await db.rootPool.query(`update app_private.video_transcripts set segments = '[]' where video_id = $1`, [videoId]);
  await db.rootPool.query(`update app_public.videos set transcript_source = 'none' where id = $1`, [videoId]);
  try {
    const silent = await runCli(['transcript', videoId, '--format', 'srt'], env);
    assert.equal(silent.code, 0, silent.stderr);
    assert.equal(silent.stdout, '');
    assert.match(silent.stderr, /no transcript \(no speech was recognised, or no speech model is installed\)/);
    assert.deepEqual(JSON.parse((await runCli(['transcript', videoId, '--json'], env)).stdout), []);
  } finally {
    await db.rootPool.query(`update app_private.video_transcripts set segments = $2 where video_id = $1`, [
      videoId,
      JSON.stringify(kept[0].segments),
    ]);
    await db.rootPool.query(`update app_public.videos set transcript_source = 'subtitles' where id = $1`, [videoId]);
  }

  const unknown = await runCli(['transcript', '00000000-0000-4000-8000-000000000000'], env);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no video 00000000-0000-4000-8000-000000000000/);
  const bad = await runCli(['transcript', videoId, '--format', 'docx'], env);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown format "docx"/);
});

test('ingest --json without --wait prints one line per video of a folder, with exactly its contract keys', async () => {
  // Not videos at all: the worker fails them fast, and the upload does not care.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cli-folder-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'first.mp4'), 'not a video at all');
  fs.writeFileSync(path.join(dir, 'second.webm'), 'not a video either');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored: not a video extension');
  const r = await runCli(['ingest', dir, '--json'], env, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 2, r.stdout);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l).sort(), ['error', 'file', 'state', 'title', 'videoId']);
    assert.match(l.videoId, /^[0-9a-f-]{36}$/);
    // The state when the upload was done: the worker may already have picked the video up, or
    // failed it, and then the line carries the reason.
    assert.ok(['uploaded', 'validating', 'failed'].includes(l.state), l.state);
    if (l.state === 'failed') assert.match(l.error, /\S/);
    else assert.equal(l.error, null);
  }
  assert.deepEqual(lines.map((l) => path.basename(l.file)).sort(), ['first.mp4', 'second.webm']);
  assert.deepEqual(lines.map((l) => l.title).sort(), ['first', 'second']);
});

test('ingest --wait --json of a broken video prints its failure with the same keys and exits 1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cli-broken-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'broken.mp4'), Buffer.alloc(4096, 7));
  const r = await runCli(['ingest', path.join(dir, 'broken.mp4'), '--wait', '--json', '--timeout', '300'], env, {
    timeoutMs: 330_000,
  });
  assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  const result = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(result).sort(), WAIT_KEYS);
  assert.equal(result.state, 'failed');
  assert.equal(typeof result.error, 'string');
  assert.ok(result.error.length > 0);
  assert.equal(result.scenes, 0);
});
