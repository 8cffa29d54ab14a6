/*
 * The pipeline with the tiny generated models on the real loading path:
 * vectors of the right width and unit norm, tags, the Whisper path when a
 * video has no subtitles, re-indexing of missing stages and of stale models,
 * and the dimension check that keeps a wrong model from starting.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getModels } from '../../worker/ml/index.ts';
import { runTool } from '../../worker/media/run.ts';
import { startWorker, type WorkerHandle } from '../../worker/index.ts';
import { reindex } from '../../worker/reindex.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { generateFilmedCaptions, generateSampleVideo } from '../fixtures/videos.ts';
import {
  TINY_MODELS_DIR,
  hasTinyModels,
  insertVideo,
  makeRig,
  norm,
  parseVec,
  pendingJobs,
  scenesOf,
  settled,
  upload,
} from './helpers.ts';

if (!hasTinyModels()) {
  const r = spawnSync(process.execPath, ['models/tiny/generate.ts', '--out', TINY_MODELS_DIR], { stdio: 'inherit' });
  assert.equal(r.status, 0, 'tiny model generation');
}

// Registered before the databases' own after() hooks, which run in order:
// the worker must let go of its connections before the database is dropped.
let worker: WorkerHandle | undefined;
after(async () => {
  await worker?.stop();
});
const db = await createTestDatabase();
const rig = await makeRig({ MODELS_DIR: TINY_MODELS_DIR });
const bare = await makeRig();
const sample = await generateSampleVideo(path.join(rig.dir, 'sample.mp4'));
const speechOnly = await generateSampleVideo(path.join(rig.dir, 'speech.mp4'), { subtitles: false });
const owner = uuid();
const quiet = () => () => {};

before(async () => {
  worker = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: quiet,
  });
});

test('with models every scene gets unit-norm vectors of the schema widths, tags and OCR text', async () => {
  const id = await insertVideo(db, owner, await upload(rig, owner, sample.path));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.deepEqual(v.missing_stages, []);
  assert.equal(v.text_model, 'Xenova/bge-m3');
  assert.equal(v.image_model, 'onnx-community/siglip2-so400m-patch16-256-ONNX');
  assert.ok(v.ocr_model);
  const scenes = await scenesOf(db, id);
  assert.equal(scenes.length, sample.scenes.length);
  for (const [i, s] of scenes.entries()) {
    const img = parseVec(s.image_vec!);
    assert.equal(img.length, 1152);
    assert.ok(Math.abs(norm(img) - 1) < 1e-3, `image norm ${norm(img)}`);
    assert.ok(
      s.tags.length > 0 && s.tags.every((t) => typeof t.label === 'string' && t.score >= 0 && t.score <= 1),
      `scene ${i} tags`,
    );
    assert.match(s.ocr_text, new RegExp(sample.scenes[i]!.word, 'i'));
    if (sample.scenes[i]!.speech) {
      const txt = parseVec(s.text_vec!);
      assert.equal(txt.length, 1024);
      assert.ok(Math.abs(norm(txt) - 1) < 1e-3, `text norm ${norm(txt)}`);
    } else {
      assert.equal(s.text_vec, null, 'a silent scene has no text vector');
    }
  }
  // Distinct colours give distinct image vectors (the tiny vision model projects colours).
  assert.notEqual(scenes[0]!.image_vec, scenes[1]!.image_vec);
});

test('without subtitles the speech model transcribes and its segments land in scenes', async () => {
  const id = await insertVideo(db, owner, await upload(rig, owner, speechOnly.path));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.equal(v.transcript_source, 'asr');
  assert.equal(v.asr_model, 'onnx-community/whisper-base');
  assert.deepEqual(v.missing_stages, []);
  const scenes = await scenesOf(db, id);
  const spoken = scenes.filter((s) => s.transcript !== '');
  assert.ok(spoken.length >= 1, 'the tiny Whisper yields at least one timestamped segment');
  for (const s of spoken) assert.equal(parseVec(s.text_vec!).length, 1024);
});

test('a model whose output cannot be stored fails the video once, naming the model, without retries', async () => {
  // The tiny text model maps words outside its vocabulary to zero rows, so a
  // line of only such words embeds to a zero vector: what a damaged model does.
  const subKey = `u/${owner}/${crypto.randomUUID()}/subs.srt`;
  await rig.storage.put(subKey, Buffer.from('1\n00:00:00,500 --> 00:00:02,500\nzzqx vvkrp\n'), 'application/x-subrip');
  const id = await insertVideo(db, owner, await upload(rig, owner, sample.path), { subtitleKey: subKey });
  const v = await settled(db, id);
  assert.equal(v.state, 'failed');
  assert.match(v.error ?? '', /Xenova\/bge-m3 .*zero or non-finite vector.*not retried/);
  assert.equal((await scenesOf(db, id)).length, 0, 'nothing half-written');
  assert.deepEqual(await pendingJobs(db, [id]), [], 'the job completed instead of waiting for a retry');
});

test('stages skipped for want of models are filled in by reindex --missing once they exist', async () => {
  // Index with no models: a worker over an empty MODELS_DIR.
  await worker!.stop();
  const noModels = await startWorker(bare.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: quiet,
  });
  const id = await insertVideo(db, owner, await upload(rig, owner, speechOnly.path));
  let v = await settled(db, id);
  await noModels.stop();
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.deepEqual(v.missing_stages, ['transcribe', 'embed_image', 'tags']);
  assert.equal(v.transcript_source, 'none');
  const before = await scenesOf(db, id);
  assert.ok(before.every((s) => s.image_vec === null && s.transcript === ''));

  worker = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: quiet,
  });
  const summary = await reindex(rig.config, {
    missingOnly: true,
    ownerUrl: db.ownerUrl,
    models: getModels(rig.config),
  });
  assert.ok(summary.missing >= 1);
  assert.equal(summary.stale, 0);
  v = await settled(db, id);
  assert.deepEqual(v.missing_stages, []);
  assert.equal(v.transcript_source, 'asr');
  assert.equal(v.image_model, 'onnx-community/siglip2-so400m-patch16-256-ONNX');
  const afterScenes = await scenesOf(db, id);
  assert.deepEqual(
    afterScenes.map((s) => [s.ordinal, s.start_s, s.end_s, s.keyframe_key]),
    before.map((s) => [s.ordinal, s.start_s, s.end_s, s.keyframe_key]),
    'boundaries untouched',
  );
  assert.ok(afterScenes.every((s) => s.image_vec !== null && s.tags.length > 0));
  assert.ok(afterScenes.some((s) => s.transcript !== '' && s.text_vec !== null));
});

test('a stage filled in by reindex --missing writes exactly what a fresh index with its model writes', async () => {
  // The caption shows only late in one long shot, far from the keyframe: a
  // re-index that read just the stored keyframe would miss it.
  const late = path.join(rig.dir, 'late-caption-reindex.mp4');
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
      late,
    ],
    { timeoutS: 60, maxMemoryMb: 4096 },
  );
  assert.equal(r.code, 0);
  // Filmed 1080p with a 14 px caption: no picture settles, so each scene is
  // read at its keyframe's frame, which a re-index (keyframes loaded, a
  // thumbnail-sized copy) must extract again rather than read the copy.
  const filmed = await generateFilmedCaptions(path.join(rig.dir, 'filmed-caption-reindex.mp4'));
  const files = [late, speechOnly.path, filmed.path];

  // Speech, image and OCR models absent: those stages (and tags, which read image vectors) are skipped.
  await worker!.stop();
  const full = getModels(rig.config);
  const partial = {
    ...full,
    speechRecognizer: async () => null,
    imageEmbedder: async () => null,
    textReader: async () => null,
  };
  const opts = {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: quiet,
  };
  const without = await startWorker(rig.config, { ...opts, models: partial, reembedStale: false });
  const filled: string[] = [];
  for (const f of files) filled.push(await insertVideo(db, owner, await upload(rig, owner, f)));
  const skipped = await Promise.all(filled.map((id) => settled(db, id)));
  await without.stop();
  assert.deepEqual(
    skipped.map((v) => [v.state, v.missing_stages]),
    [
      ['indexed', ['embed_image', 'tags', 'ocr']],
      ['indexed', ['transcribe', 'embed_image', 'tags', 'ocr']],
      ['indexed', ['embed_image', 'tags', 'ocr']],
    ],
  );

  worker = await startWorker(rig.config, opts);
  await reindex(rig.config, { missingOnly: true, ownerUrl: db.ownerUrl, models: full });
  const fresh: string[] = [];
  for (const f of files) fresh.push(await insertVideo(db, owner, await upload(rig, owner, f)));
  for (const id of [...filled, ...fresh]) await settled(db, id);
  const deadline = Date.now() + 300_000;
  while ((await pendingJobs(db, filled)).length > 0) {
    assert.ok(Date.now() < deadline, 'the re-index jobs should finish');
    await new Promise((res) => setTimeout(res, 200));
  }

  const comparable = async (id: string) => {
    const { rows } = await db.rootPool.query(
      `select transcript_source, language, asr_model, text_model, image_model, ocr_model, missing_stages
         from app_public.videos where id = $1`,
      [id],
    );
    const scenes = (await scenesOf(db, id)).map((s) => ({ ...s, keyframe_key: s.keyframe_key?.split('/').pop() }));
    return { video: rows[0], scenes };
  };
  for (const [i, id] of filled.entries()) {
    const a = await comparable(id);
    const b = await comparable(fresh[i]!);
    assert.deepEqual(a, b, `${path.basename(files[i]!)}: re-indexed rows equal fresh rows`);
  }
  // The caption appearing may start a scene of its own (a content change): the scene covering it has read it.
  const captioned = (await scenesOf(db, filled[0]!)).find((s) => s.start_s <= 13 && s.end_s > 13)!;
  assert.match(captioned.ocr_text, /GIRAFFE/i, 'the late caption was read on re-index');
  assert.ok(
    (await scenesOf(db, filled[1]!)).some((s) => s.transcript !== ''),
    'speech was transcribed on re-index',
  );
  assert.deepEqual(
    (await scenesOf(db, filled[2]!)).map((s) => /HARBOUR|MARKET HALL/.exec(s.ocr_text)?.[0]),
    ['HARBOUR', 'MARKET HALL'],
    'the small captions of filmed footage were read on re-index',
  );
});

test('vectors from another model are re-embedded by reindex, leaving everything else', async () => {
  const id = await insertVideo(db, owner, await upload(rig, owner, sample.path));
  await settled(db, id);
  const fresh = await scenesOf(db, id);
  // Pretend an older text model made these vectors.
  await db.rootPool.query(`update app_public.videos set text_model = 'old/text-model' where id = $1`, [id]);
  await db.rootPool.query(`update app_public.scenes set text_vec = null where video_id = $1`, [id]);
  const summary = await reindex(rig.config, { ownerUrl: db.ownerUrl, models: getModels(rig.config) });
  assert.ok(summary.stale >= 1);
  assert.equal(summary.textModel, 'Xenova/bge-m3');
  const deadline = Date.now() + 300_000;
  while ((await pendingJobs(db, [id])).length > 0) {
    assert.ok(Date.now() < deadline, 'reindex job should finish');
    await new Promise((r) => setTimeout(r, 200));
  }
  const v = await settled(db, id);
  assert.equal(v.text_model, 'Xenova/bge-m3');
  const again = await scenesOf(db, id);
  assert.deepEqual(
    again.map((s) => s.text_vec),
    fresh.map((s) => s.text_vec),
    'same model, same text: same vectors',
  );
  assert.deepEqual(
    again.map((s) => s.image_vec),
    fresh.map((s) => s.image_vec),
  );
});

test('a worker starting with a different configured model re-embeds the stale videos by itself', async () => {
  const id = await insertVideo(db, owner, await upload(rig, owner, sample.path));
  await settled(db, id);
  const fresh = await scenesOf(db, id);
  await db.rootPool.query(`update app_public.videos set text_model = 'old/text-model' where id = $1`, [id]);
  await db.rootPool.query(`update app_public.scenes set text_vec = null where video_id = $1`, [id]);
  // No reindex command: restarting the worker (as after changing MODEL_TEXT) is enough.
  await worker!.stop();
  worker = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: quiet,
  });
  const deadline = Date.now() + 300_000;
  while (
    (await db.rootPool.query(`select text_model from app_public.videos where id = $1`, [id])).rows[0].text_model !==
      'Xenova/bge-m3' ||
    (await pendingJobs(db, [id])).length > 0
  ) {
    assert.ok(Date.now() < deadline, 're-embedding should be queued at start and finish');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(
    (await scenesOf(db, id)).map((s) => s.text_vec),
    fresh.map((s) => s.text_vec),
  );
});

test('a text model whose width does not fit the column stops the worker naming both', async () => {
  const wrong = await makeRig({ MODELS_DIR: path.join(bare.dir, 'tiny512') });
  const r = spawnSync(
    process.execPath,
    ['models/tiny/generate.ts', '--out', wrong.config.models.dir, '--text-dim', '512'],
    { stdio: 'ignore' },
  );
  assert.equal(r.status, 0);
  await assert.rejects(
    startWorker(wrong.config, {
      databaseUrl: db.workerUrl,
      storage: rig.storage,
      noHandleSignals: true,
      logFactory: quiet,
    }),
    (e: Error) => /bge-m3/.test(e.message) && /text_vec/.test(e.message) && /512/.test(e.message),
  );
});
