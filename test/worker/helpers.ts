/*
 * Worker test rig: a private data folder (fs storage), a config pointing at
 * it, and helpers to upload a file and insert its video row as an
 * administrator would, then wait for the pipeline to settle.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { runOnce, type RunnerOptions } from 'graphile-worker';
import pg from 'pg';
import { loadConfig, ROOT_DIR, type Config } from '../../core/config.ts';
import { createStorage } from '../../core/storage/index.ts';
import type { Storage } from '../../core/storage/types.ts';
import type { TestDatabase } from '../helpers/db.ts';

export const TINY_MODELS_DIR = path.join(ROOT_DIR, '.test-data', 'models');
export const hasTinyModels = () => fs.existsSync(path.join(TINY_MODELS_DIR, 'Xenova', 'bge-m3', 'config.json'));

export interface Rig {
  dir: string;
  config: Config;
  storage: Storage;
}

/**
 * A temp data folder with fs storage; modelsDir defaults to an empty folder
 * (no models). FACES defaults to off: the faces stage costs a model load and
 * ~0.3 s per sampled frame, which on a 2-core machine running test files in
 * parallel pushes the other stages' tests past their deadlines. Its own
 * tests (test/worker/faces.test.ts, test/cli/people.test.ts) switch it on.
 */
export async function makeRig(env: Record<string, string> = {}): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-worker-test-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const emptyModels = path.join(dir, 'no-models');
  fs.mkdirSync(emptyModels);
  const config = loadConfig({
    ...process.env,
    HEIMDEX_DATA_DIR: dir,
    MODELS_DIR: emptyModels,
    STORAGE_SIGNING_SECRET: 'test-signing-secret-test-signing-secret',
    FFMPEG_TIMEOUT_S: '120',
    LOG_LEVEL: 'warn',
    FACES: 'off',
    ...env,
  });
  const storage = createStorage(config);
  await storage.ensureReady();
  return { dir, config, storage };
}

export async function upload(
  rig: Rig,
  ownerId: string,
  file: string,
  name = path.basename(file),
  contentType = 'video/mp4',
): Promise<string> {
  const key = `u/${ownerId}/${crypto.randomUUID()}/${name}`;
  await rig.storage.put(key, fs.readFileSync(file), contentType);
  return key;
}

/** Inserts the row as root (plain SQL, no API): the insert trigger queues the pipeline. */
export async function insertVideo(
  db: TestDatabase,
  ownerId: string,
  objectKey: string,
  extra: { subtitleKey?: string; title?: string } = {},
): Promise<string> {
  const { rows } = await db.rootPool.query<{ id: string }>(
    'insert into app_public.videos (owner_id, title, object_key, subtitle_key) values ($1, $2, $3, $4) returning id',
    [ownerId, extra.title ?? 'test video', objectKey, extra.subtitleKey ?? null],
  );
  return rows[0]!.id;
}

/**
 * graphile-worker's runOnce on a pool the test owns and ends. Given only a
 * connection string, runOnce ends its own pool without waiting and removes
 * the pool's error handler, so a connection still closing when the test's
 * database is dropped (with force) raised 57P01 on a client nobody listened
 * to: an uncaught exception in whichever test ran then.
 */
export async function runJobsOnce(
  connectionString: string,
  options: Omit<RunnerOptions, 'connectionString' | 'pgPool'>,
): Promise<void> {
  const pool = new pg.Pool({ connectionString });
  // A connection's death also fails the query on it, which is what the
  // tests look at; these listeners only keep it from being uncaught.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    await runOnce({ ...options, pgPool: pool });
  } finally {
    await pool.end();
  }
}

export interface VideoState {
  state: string;
  stage: string | null;
  progress: number;
  error: string | null;
  missing_stages: string[];
  transcript_source: string | null;
  text_model: string | null;
  image_model: string | null;
  ocr_model: string | null;
  asr_model: string | null;
  language: string | null;
  duration_s: number | null;
  byte_size: string | null;
  width: number | null;
  height: number | null;
  has_audio: boolean | null;
  indexed_at: Date | null;
  playback_state: 'original' | 'pending' | 'ready' | 'failed' | null;
  playback_key: string | null;
  /** bigint, as node-postgres returns it: a string. */
  playback_bytes: string | null;
  notes: string[];
}

export async function videoState(db: TestDatabase, id: string): Promise<VideoState> {
  const { rows } = await db.rootPool.query<VideoState>('select * from app_public.videos where id = $1', [id]);
  if (!rows[0]) throw new Error(`video ${id} is gone`);
  return rows[0];
}

/**
 * Polls until the video is indexed or failed and no job for it is pending.
 * The timeout only guards against a hang: a loaded CI machine may take
 * minutes, and how fast indexing is belongs in scripts/bench-pipeline.ts.
 */
export async function settled(db: TestDatabase, id: string, timeoutMs = 300_000): Promise<VideoState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await videoState(db, id);
    const jobs = (await pendingJobs(db, [id])).filter((j) => j.task !== 'videos__delete_objects');
    if ((v.state === 'indexed' || v.state === 'failed') && jobs.length === 0) return v;
    if (Date.now() > deadline) throw new Error(`video ${id} did not settle: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface PendingJob {
  task: string;
  attempts: number;
  last_error: string | null;
}

/** Jobs not yet completed for these video ids (the public jobs view hides payloads). */
export async function pendingJobs(db: TestDatabase, ids: string[]): Promise<PendingJob[]> {
  const { rows } = await db.rootPool.query<PendingJob>(
    `select t.identifier as task, j.attempts, j.last_error
       from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where j.payload->>'id' = any($1::text[])`,
    [ids],
  );
  return rows;
}

export interface SceneRow {
  ordinal: number;
  start_s: number;
  end_s: number;
  transcript: string;
  ocr_text: string;
  tags: { label: string; score: number }[];
  text_vec: string | null;
  image_vec: string | null;
  keyframe_key: string | null;
}

export async function scenesOf(db: TestDatabase, id: string): Promise<SceneRow[]> {
  const { rows } = await db.rootPool.query<SceneRow>(
    'select ordinal, start_s, end_s, transcript, ocr_text, tags, text_vec::text, image_vec::text, keyframe_key from app_public.scenes where video_id = $1 order by ordinal',
    [id],
  );
  return rows;
}

export const parseVec = (v: string) => JSON.parse(v) as number[];
export const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
