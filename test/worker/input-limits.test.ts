/*
 * Failures the file causes fail once, with a reason the user can act on;
 * limits cut and say so instead of dropping or retrying. Pinned bytes: a
 * video or subtitle file replaced after validation (an upload URL that is
 * still valid, a second PUT with S3) fails the video with "changed after
 * upload" rather than indexing other bytes under the first file's facts.
 * Real graphile-worker, real ffmpeg, fs storage; the swap happens between two
 * real downloads of the pipeline.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Storage } from '../../core/storage/types.ts';
import { startWorker, type WorkerHandle } from '../../worker/index.ts';
import { MediaInputError } from '../../worker/media/index.ts';
import { validateVideo } from '../../worker/pipeline/steps.ts';
import { generateSampleVideo } from '../fixtures/videos.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { insertVideo, makeRig, scenesOf, settled, upload, type Rig } from './helpers.ts';

const db = await createTestDatabase();
const rig = await makeRig({ SIDECAR_MAX_BYTES: '600', SCENE_TEXT_MAX_CHARS: '80' });
const sample = await generateSampleVideo(path.join(rig.dir, 'sample.mp4'));
const other = await generateSampleVideo(path.join(rig.dir, 'other.mp4'), {
  scenes: [{ durationS: 4, color: 'white', word: 'OTHER' }],
});

const workers: WorkerHandle[] = [];
after(async () => {
  for (const w of workers) await w.stop();
});

type Read = 'stat' | 'download';
/**
 * The rig's store, calling `after(key, op, n)` once the n-th `stat` or
 * `download` of a key has finished. A job asks the object's version (stat)
 * before it downloads the video or links the file its worker kept.
 */
function hooked(r: Rig, after: (key: string, op: Read, n: number) => Promise<void>): Storage {
  const counts = new Map<string, number>();
  return new Proxy(r.storage, {
    get(target, prop) {
      if (prop === 'download' || prop === 'stat')
        return async (key: string, ...rest: unknown[]) => {
          const out = await (target[prop] as (...a: unknown[]) => Promise<unknown>)(key, ...rest);
          const n = (counts.get(`${prop} ${key}`) ?? 0) + 1;
          counts.set(`${prop} ${key}`, n);
          await after(key, prop, n);
          return out;
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Storage;
}

async function work(storage: Storage) {
  for (const w of workers.splice(0)) await w.stop();
  workers.push(
    await startWorker(rig.config, {
      databaseUrl: db.workerUrl,
      storage,
      pollInterval: 200,
      noHandleSignals: true,
      logFactory: () => () => {},
      reembedStale: false,
    }),
  );
}

/**
 * Failed at once: settled() waits until no job is pending, so a retried
 * (transient) failure would still be queued with its backoff, and the video
 * would be failed only after the last attempt, saying so.
 */
function failedOnce(v: { state: string; error: string | null }) {
  assert.equal(v.state, 'failed');
  assert.doesNotMatch(v.error ?? '', /kept failing/);
}

test('a video whose bytes are replaced after validation fails once with "changed after upload"', async () => {
  const owner = uuid();
  const key = await upload(rig, owner, sample.path);
  await work(
    hooked(rig, async (k, op, n) => {
      // Validation has read (and recorded the digest of) the first bytes, and
      // its worker keeps them: the next job must still see the new ones.
      if (k === key && op === 'download' && n === 1)
        await rig.storage.put(key, fs.readFileSync(other.path), 'video/mp4');
    }),
  );
  const id = await insertVideo(db, owner, key);
  const v = await settled(db, id);
  failedOnce(v);
  assert.match(v.error ?? '', /changed after upload/);
  assert.deepEqual(await scenesOf(db, id), []);
  const { rows } = await db.rootPool.query<{ sha: string }>(
    'select content_sha256 as sha from app_public.videos where id = $1',
    [id],
  );
  assert.match(rows[0]!.sha, /^[0-9a-f]{64}$/);
});

test('a subtitle file replaced after validation fails the video the same way', async () => {
  const owner = uuid();
  const key = await upload(rig, owner, sample.path);
  const subKey = `u/${owner}/${uuid()}/subs.srt`;
  await rig.storage.put(
    subKey,
    Buffer.from('1\n00:00:00,000 --> 00:00:02,000\nfirst words\n\n'),
    'application/x-subrip',
  );
  await work(
    hooked(rig, async (k, op, n) => {
      // The second look at the video is the transcribe step's, which reads the sidecar next.
      if (k === key && op === 'stat' && n === 2)
        await rig.storage.put(
          subKey,
          Buffer.from('1\n00:00:00,000 --> 00:00:02,000\nswapped words\n\n'),
          'application/x-subrip',
        );
    }),
  );
  const id = await insertVideo(db, owner, key, { subtitleKey: subKey });
  const v = await settled(db, id);
  failedOnce(v);
  assert.match(v.error ?? '', /subtitle file changed after upload/);
});

test('a worker downloads and hashes a video once: its later jobs link the bytes it verified', async () => {
  const owner = uuid();
  const key = await upload(rig, owner, sample.path);
  const reads: string[] = [];
  await work(
    hooked(rig, async (k, op) => {
      if (k === key) reads.push(op);
    }),
  );
  const id = await insertVideo(db, owner, key);
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.ok(reads.filter((r) => r === 'stat').length >= 3, `validate, transcribe and index each look: ${reads}`);
  assert.equal(reads.filter((r) => r === 'download').length, 1, `one download: ${reads}`);
  assert.equal((await scenesOf(db, id)).length > 0, true);
  // What the worker keeps goes with it.
  const kept = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`heimdex-job-${process.pid}-videos-`));
  assert.equal(kept().length, 1);
  for (const w of workers.splice(0)) await w.stop();
  assert.deepEqual(kept(), []);
});

test('a sidecar over SIDECAR_MAX_BYTES and scene text over SCENE_TEXT_MAX_CHARS are cut once and recorded', async () => {
  const owner = uuid();
  const key = await upload(rig, owner, sample.path);
  const cues: string[] = [];
  for (let k = 0; k < 30; k++) {
    const t = (s: number) => `00:00:${String(Math.floor(s)).padStart(2, '0')},${s % 1 ? '500' : '000'}`;
    cues.push(`${k + 1}\n${t(k * 0.5)} --> ${t(k * 0.5 + 0.5)}\ncue${k} words words words words words\n`);
  }
  const srt = cues.join('\n');
  assert.ok(Buffer.byteLength(srt) > 1500);
  const subKey = `u/${owner}/${uuid()}/long.srt`;
  await rig.storage.put(subKey, Buffer.from(srt), 'application/x-subrip');
  await work(rig.storage);
  const id = await insertVideo(db, owner, key, { subtitleKey: subKey });
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  const { rows } = await db.rootPool.query<{ notes: string[] }>('select notes from app_public.videos where id = $1', [
    id,
  ]);
  const notes = rows[0]!.notes;
  assert.equal(notes.length, 2, JSON.stringify(notes));
  assert.match(notes.join('\n'), new RegExp(`subtitle file is ${Buffer.byteLength(srt)} bytes; only its first 600`));
  assert.match(notes.join('\n'), /cut to 80 characters \(SCENE_TEXT_MAX_CHARS\)/);
  const scenes = await scenesOf(db, id);
  const text = scenes.map((s) => s.transcript).join(' ');
  assert.ok(scenes.every((s) => s.transcript.length <= 80));
  assert.match(text, /cue0 /, 'the first part is kept');
  assert.doesNotMatch(text, /cue29/, 'what is past the cap is not');
});

test('a declared 100000x100000 picture fails with its size, not "0x0"', async () => {
  // A PNG header declaring the size, as a file uploaded as a video.
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100000, 0);
  ihdr.writeUInt32BE(100000, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const file = path.join(rig.dir, 'huge.mp4');
  fs.writeFileSync(
    file,
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
  await assert.rejects(
    validateVideo({ config: rig.config, storage: rig.storage, models: {} as never }, file),
    (e: Error) => e instanceof MediaInputError && /picture size of 100000x100000/.test(e.message),
  );
});

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
