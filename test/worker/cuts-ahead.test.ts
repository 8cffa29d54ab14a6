/*
 * The cut stage done while speech is recognised (worker/pipeline/cuts-ahead.ts):
 * an index chunk that takes a cut prepared ahead produces exactly what it
 * produces cutting itself (real ffmpeg, the real OCR model, the tiny
 * encoders), the transcribe job's side work prepares the chunks in order and
 * stops when told, a cancelled one leaves nothing behind, a stopping worker
 * drops them all with their folder, and a cut made under another OCR model is
 * not taken. The worker-level path (a transcribe job preparing, its index job
 * taking) is in chunks.test.ts.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { mediaLimits, type PipelineContext, type VideoRow } from '../../worker/pipeline/context.ts';
import {
  cutsAlongside,
  forgetAllCuts,
  forgetCuts,
  preparedStarts,
  removeTaken,
  takeCut,
} from '../../worker/pipeline/cuts-ahead.ts';
import { indexVideo, prepareCut, type IndexChunk } from '../../worker/pipeline/stages.ts';
import { sha256File, type Transcript } from '../../worker/pipeline/steps.ts';
import { MediaInputError, probe } from '../../worker/media/index.ts';
import { generateSlideDeck } from '../../worker/media/samples.ts';
import { getModels } from '../../worker/ml/index.ts';
import { TINY_MODELS_DIR, hasTinyModels, makeRig, upload } from './helpers.ts';

if (!hasTinyModels()) {
  const r = spawnSync(process.execPath, ['models/tiny/generate.ts', '--out', TINY_MODELS_DIR], { stdio: 'inherit' });
  assert.equal(r.status, 0, 'tiny model generation');
}

// Two index chunks: the first not the last, so it reads on past its end and leaves its last scene to the next.
const rig = await makeRig({ MODELS_DIR: TINY_MODELS_DIR, INDEX_CHUNK_S: '24', SCENE_MAX_S: '12' });
const ctx: PipelineContext = { config: rig.config, storage: rig.storage, models: getModels(rig.config) };
after(() => forgetAllCuts());
const deck = await generateSlideDeck(path.join(rig.dir, 'deck.mp4'), {
  slides: Array.from({ length: 8 }, (_, i) => ({
    durationS: 6,
    title: `Slide ${i + 1} of the plan`,
    lines: [`Point ${i + 1} alpha`, `Point ${i + 1} beta`],
  })),
  builds: true,
});
const owner = crypto.randomUUID();
const key = await upload(rig, owner, deck.path);
const facts = await probe(deck.path, mediaLimits(ctx));
const sha = await sha256File(deck.path);

const videoRow = (id = crypto.randomUUID()): VideoRow => ({
  id,
  owner_id: owner,
  object_key: key,
  subtitle_key: null,
  state: 'processing',
  has_audio: facts.hasAudio,
  duration_s: facts.durationS,
  transcript_source: null,
  text_model: null,
  image_model: null,
  face_model: null,
  missing_stages: [],
  content_sha256: sha,
  subtitle_sha256: null,
  playback_state: null,
});
const whole = { untilS: facts.durationS };
const silent: Transcript = { source: 'none', language: null, model: null, segments: [], missing: false };
const index = (video: VideoRow, startS: number, ordinal: number, prepared: Parameters<typeof indexVideo>[6] = null) =>
  indexVideo(ctx, video, silent, async () => {}, undefined, { startS, ordinal }, prepared);
const frameFiles = async (dir: string) => fs.readdir(path.join(dir, 'frames')).catch(() => [] as string[]);
/** The chunk folders of this process's prepared cuts. */
const chunkFolders = async () => {
  const folders = (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith(`heimdex-job-${process.pid}-cuts-`));
  const inside = await Promise.all(
    folders.map(async (f) => (await fs.readdir(path.join(os.tmpdir(), f))).map((n) => path.join(f, n))),
  );
  return inside.flat();
};

/** What a chunk stores, with the stretch it decoded; face ids are random and faces are off here. */
const comparable = (c: IndexChunk) => JSON.parse(JSON.stringify(c)) as IndexChunk;

test(
  'an index chunk that takes a prepared cut produces what it produces cutting itself',
  { timeout: 300_000 },
  async () => {
    const video = videoRow();
    const dir = await fs.mkdtemp(path.join(rig.dir, 'prepared-'));
    const cut = await prepareCut(ctx, video, 0, dir);
    assert.equal(cut.range.last, false, 'the first of two chunks');
    assert.ok(cut.reader, 'the OCR model read the frames');
    assert.ok(
      cut.frames.some((f) => f.text),
      `on-screen text read ahead: ${cut.frames.map((f) => f.text).join(' | ')}`,
    );
    assert.ok(!(await fs.readdir(dir)).includes('input'), 'the video itself is not kept with the frames');
    const kept = await frameFiles(dir);
    assert.ok(kept.length >= 3, `the cut's frames are kept (${kept.length})`);

    const itself = await index(video, 0, 0);
    const taken = await index(video, 0, 0, cut);
    assert.deepEqual(comparable(taken), comparable(itself));
    assert.ok(itself.product.scenes.length >= 3, `several scenes (${itself.product.scenes.length})`);
    assert.ok(
      itself.product.scenes.some((s) => /Slide/i.test(s.ocr_text)),
      'the scenes have their on-screen text',
    );
    assert.deepEqual(await frameFiles(dir), [], 'the index job took the frames instead of decoding them again');

    // The next chunk, from where the prepared one ended, as the database hands it on.
    const next = await prepareCut(ctx, video, cut.range.end, await fs.mkdtemp(path.join(rig.dir, 'prepared-')));
    assert.equal(next.range.last, true);
    const ordinal = itself.product.scenes.length;
    assert.deepEqual(
      comparable(await index(video, itself.end_s, ordinal, next)),
      comparable(await index(video, itself.end_s, ordinal)),
    );
  },
);

test('a cut prepared under another OCR model, or for another start, is cut again', { timeout: 300_000 }, async () => {
  const video = videoRow();
  const dir = await fs.mkdtemp(path.join(rig.dir, 'prepared-'));
  const cut = await prepareCut(ctx, video, 0, dir);
  const before = (await frameFiles(dir)).sort();
  const itself = await index(video, 0, 0);
  assert.deepEqual(comparable(await index(video, 0, 0, { ...cut, reader: 'another/ocr-model' })), comparable(itself));
  assert.deepEqual((await frameFiles(dir)).sort(), before, 'not taken: its frames stay where they were');
  const other = await index(video, cut.range.end, 0, cut);
  assert.notEqual(other.start_s, itself.start_s);
  assert.deepEqual((await frameFiles(dir)).sort(), before, 'not taken for a chunk that starts elsewhere');
  await removeTaken(cut);
});

test(
  'beside speech, the chunks that start within it are cut in order until recognition ends, and taken once',
  { timeout: 300_000 },
  async () => {
    const video = videoRow();
    const logged: string[] = [];
    const log = (m: string) => logged.push(m);
    // Speech up to 24 s is recognised (the first transcribe chunk's): the
    // index chunk that starts there is cut, and no other while it goes on.
    const side = cutsAlongside(ctx, video, log)({ untilS: 24 });
    for (let waited = 0; preparedStarts(video.id).length === 0 && waited < 120_000; waited += 50)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(preparedStarts(video.id), [0]);
    await side.finish(true);
    // The next transcribe job's speech, to the end: the chunk from where the first ended.
    await cutsAlongside(ctx, video, log)(whole).finish(true);
    const starts = preparedStarts(video.id);
    assert.equal(starts.length, 2, `the next chunk, from where the first ended: ${starts.join(', ')}`);
    assert.ok(
      starts[1]! >= 24,
      `the second chunk starts where the first transcribe chunk ended or later (${starts[1]})`,
    );
    // Every chunk is cut: nothing more to do.
    await cutsAlongside(ctx, video, log)(whole).finish(true);
    assert.deepEqual(preparedStarts(video.id), starts);
    assert.equal(logged.length, 2, logged.join('\n'));
    assert.match(logged[0]!, /index chunk at 0\.0 s cut beside speech recognition/);

    // Another run of the same bytes is the same video to a cut; other bytes are not.
    assert.equal(takeCut({ ...video, content_sha256: 'f'.repeat(64) }, 0), null);
    const first = takeCut(video, 0);
    assert.ok(first);
    assert.equal(takeCut(video, 0), null, 'taken once');
    assert.deepEqual(preparedStarts(video.id), [starts[1]]);
    // The start as PostgreSQL's jsonb hands it back.
    const second = takeCut(video, Number(JSON.parse(JSON.stringify(starts[1]))));
    assert.ok(second);
    await removeTaken(second);
    await removeTaken(first);
    await fs.access(first.dir).then(
      () => assert.fail('a taken cut is removed by its taker'),
      () => {},
    );

    // A video deleted meanwhile: its cuts go.
    // Recognition that ends at once: the chunk begun is finished, no other is begun.
    const gone = videoRow();
    await cutsAlongside(ctx, gone, () => {})(whole).finish(true);
    assert.deepEqual(preparedStarts(gone.id), [0]);
    const dir = takeCut(gone, 0)!.dir;
    await cutsAlongside(ctx, gone, () => {})(whole).finish(true);
    forgetCuts(gone.id);
    assert.deepEqual(preparedStarts(gone.id), []);
    await fs.rm(dir, { recursive: true, force: true });
  },
);

test(
  'recognition that fails cancels the cut begun beside it and leaves nothing behind',
  { timeout: 300_000 },
  async () => {
    const video = videoRow();
    const logged: string[] = [];
    const before = await chunkFolders();
    const side = cutsAlongside(ctx, video, (m) => logged.push(m))(whole);
    await new Promise((r) => setTimeout(r, 300));
    await side.finish(false);
    assert.deepEqual(preparedStarts(video.id), []);
    assert.deepEqual(logged, [], 'a cancelled cut is not reported as a failure');
    const leftover = (await chunkFolders()).filter((f) => !before.includes(f));
    assert.deepEqual(leftover, [], 'no chunk folder left');

    // A video validation did not pin (no digest) is never cut ahead: nothing could match it.
    await cutsAlongside(ctx, { ...video, content_sha256: null }, () => {})(whole).finish(true);
    assert.deepEqual(preparedStarts(video.id), []);
  },
);

test(
  'a file that cannot be cut ahead fails nothing there: it is left to its index job',
  { timeout: 300_000 },
  async () => {
    // The first third of the deck's bytes, as validated (pinned) with the whole deck's duration.
    const bytes = await fs.readFile(deck.path);
    const cutShort = path.join(rig.dir, 'short.mp4');
    await fs.writeFile(cutShort, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const video = {
      ...videoRow(),
      object_key: await upload(rig, owner, cutShort),
      content_sha256: await sha256File(cutShort),
    };
    const logged: string[] = [];
    const before = await chunkFolders();
    await cutsAlongside(ctx, video, (m) => logged.push(m))(whole).finish(true);
    assert.deepEqual(preparedStarts(video.id), []);
    assert.equal(logged.length, 1, logged.join('\n'));
    assert.match(logged[0]!, /cutting ahead stopped \(.+\); its index job cuts it/);
    assert.deepEqual(
      (await chunkFolders()).filter((f) => !before.includes(f)),
      [],
      'no chunk folder left',
    );
    await assert.rejects(index(video, 0, 0), MediaInputError, 'the index job fails it');
  },
);

test('a worker stopping drops every prepared cut, and its folder with them', { timeout: 300_000 }, async () => {
  const video = videoRow();
  await cutsAlongside(ctx, video, () => {})(whole).finish(true);
  assert.deepEqual(preparedStarts(video.id), [0]);
  const held = await chunkFolders();
  assert.ok(held.length >= 1, 'the cut is held in a chunk folder of this process');

  await forgetAllCuts();
  assert.deepEqual(preparedStarts(video.id), []);
  assert.equal(takeCut(video, 0), null, 'nothing left to take');
  const left = (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith(`heimdex-job-${process.pid}-cuts-`));
  assert.deepEqual(left, [], 'the process folder is gone, not only its entries');

  // A transcribe job after that (a worker restarted in-process) cuts ahead again in a new folder.
  await cutsAlongside(ctx, video, () => {})(whole).finish(true);
  assert.deepEqual(preparedStarts(video.id), [0]);
  assert.equal((await chunkFolders()).length, 1);
  forgetCuts(video.id);
});
