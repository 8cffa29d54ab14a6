/*
 * Lecture- and screen-style videos through the real worker, ffmpeg and the
 * PP-OCR model that ships in npm (no other model: offline), then searched
 * as their owner: slides become scenes with their own on-screen text, words
 * match in other forms and misread, and a query with no matching word finds
 * nothing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startWorker, type WorkerHandle } from '../../worker/index.ts';
import fs from 'node:fs/promises';
import os from 'node:os';
import sharp from 'sharp';
import { KEYFRAME_MAX_W } from '../../worker/media/index.ts';
import { FIVE_SLIDES, generateScreenRecording, generateSlideDeck } from '../../worker/media/samples.ts';
import { createTestDatabase, uuid, withUserDb, type TestDatabase } from '../helpers/db.ts';
import { generateFilmedCaptions, generateSampleVideo } from '../fixtures/videos.ts';
import { insertVideo, makeRig, scenesOf, settled, upload, type Rig } from './helpers.ts';

let worker: WorkerHandle | undefined;
after(async () => {
  await worker?.stop();
});
const db: TestDatabase = await createTestDatabase();
const rig: Rig = await makeRig();

before(async () => {
  worker = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage: rig.storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: () => () => {},
  });
});

async function index(owner: string, file: string) {
  const id = await insertVideo(db, owner, await upload(rig, owner, file));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  return id;
}

async function search(owner: string, query: string) {
  return withUserDb(db, owner, async (c) => {
    const { rows } = await c.query<{ start_s: number; text_score: number; snippet: string | null }>(
      'select start_s, text_score, snippet from app_public.search_scenes(query => $1)',
      [query],
    );
    return rows;
  });
}

test('each slide of a five-slide recording is its own scene with its own on-screen text', async () => {
  // At a constant frame rate, and at a variable one as screen recorders
  // write it: a frame only when the picture changes, so one per slide.
  for (const variableRate of [false, true]) {
    const owner = uuid();
    const deck = await generateSlideDeck(path.join(rig.dir, `deck-${variableRate}.mp4`), { variableRate });
    const id = await index(owner, deck.path);
    const scenes = await scenesOf(db, id);
    assert.equal(scenes.length, FIVE_SLIDES.length, scenes.map((s) => `${s.start_s}-${s.end_s}`).join(' '));
    const bounds = [0, ...deck.cuts, deck.durationS];
    scenes.forEach((s, i) => {
      assert.ok(Math.abs(s.start_s - bounds[i]!) <= 0.5 && Math.abs(s.end_s - bounds[i + 1]!) <= 0.5);
      // Its own title, and no other slide's.
      FIVE_SLIDES.forEach((slide, j) => {
        const has = new RegExp(slide.title.split(' ')[1]!, 'i').test(s.ocr_text);
        assert.equal(has, i === j, `variable rate ${variableRate}, scene ${i} and "${slide.title}": "${s.ocr_text}"`);
      });
    });
    const hits = await search(owner, 'customer retention');
    assert.equal(hits[0]?.start_s, scenes[1]!.start_s);
  }
});

test("a deck shared beside the speaker's camera, built up line by line: one scene per slide, every line read", async () => {
  const owner = uuid();
  const deck = await generateSlideDeck(path.join(rig.dir, 'deck-camera.mp4'), { camera: 'corner', builds: true });
  const id = await index(owner, deck.path);
  const scenes = await scenesOf(db, id);
  assert.equal(scenes.length, FIVE_SLIDES.length, scenes.map((s) => `${s.start_s}-${s.end_s}`).join(' '));
  scenes.forEach((s, i) => {
    // The line that appeared last is read too, and no other slide's title.
    assert.match(s.ocr_text, new RegExp(FIVE_SLIDES[i]!.lines.at(-1)!.split(' ')[0]!, 'i'), s.ocr_text);
    FIVE_SLIDES.forEach((slide, j) => {
      if (j !== i) assert.doesNotMatch(s.ocr_text, new RegExp(slide.title.split(' ')[1]!, 'i'), s.ocr_text);
    });
  });
  const hits = await search(owner, 'loyalty program');
  assert.equal(hits[0]?.start_s, scenes[1]!.start_s);
});

test("a 1080p screen recording's editor text, 16 px, is read; keyframes are stored at thumbnail size", async () => {
  const owner = uuid();
  const rec = await generateScreenRecording(path.join(rig.dir, 'screen-1080p.mp4'), {
    width: 1920,
    height: 1080,
    textPx: 16,
  });
  const id = await index(owner, rec.path);
  const scenes = await scenesOf(db, id);
  assert.equal(scenes.length, rec.cuts.length + 1, scenes.map((s) => `${s.start_s}-${s.end_s}`).join(' '));
  // Each document's lines as drawn (punctuation left out; at 768 wide such lines came out as "SELECT N").
  for (const [i, want] of [
    [0, 'const app express'],
    [1, 'SELECT name FROM users'],
    [2, 'launch moved to May'],
  ] as const)
    assert.ok(scenes[i]!.ocr_text.includes(want), `scene ${i}: "${scenes[i]!.ocr_text}"`);
  const hits = await search(owner, 'select users');
  assert.equal(hits[0]?.start_s, scenes[1]!.start_s);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'heimdex-keyframe-'));
  try {
    for (const s of scenes) {
      const jpg = path.join(tmp, `${s.ordinal}.jpg`);
      await rig.storage.download(s.keyframe_key!, jpg, { maxBytes: 32 * 1024 * 1024 });
      assert.equal((await sharp(jpg).metadata()).width, KEYFRAME_MAX_W);
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});

test('a small caption over filmed 1080p footage, whose picture never settles, is read at full width', async () => {
  // Filmed-like: every frame moves and carries sensor noise, so the cut pass
  // captures no settled frame and OCR reads the frame each scene's keyframe
  // comes from. A 14 px caption is 9 px there; in the thumbnail-wide (768)
  // keyframe it is 5.6 px, which read the second as "MARKETHALL" and, in
  // most frames of the first, nothing.
  const owner = uuid();
  const v = await generateFilmedCaptions(path.join(rig.dir, 'filmed-1080p.mp4'));
  const scenes = await scenesOf(db, await index(owner, v.path));
  assert.equal(scenes.length, 2, scenes.map((s) => `${s.start_s}-${s.end_s}`).join(' '));
  assert.match(scenes[0]!.ocr_text, /HARBOUR/, `scene 0: "${scenes[0]!.ocr_text}"`);
  assert.match(scenes[1]!.ocr_text, /MARKET HALL/, `scene 1: "${scenes[1]!.ocr_text}"`);
});

test('"roasted tomato" finds the scene whose subtitle says "roasting the tomatoes"; no matching word finds nothing', async () => {
  const owner = uuid();
  const v = await generateSampleVideo(path.join(rig.dir, 'kitchen.mp4'), {
    scenes: [
      { durationS: 3, color: 'red', word: 'OVEN', speech: 'now we are roasting the tomatoes' },
      { durationS: 3, color: 'blue', word: 'SINK', speech: 'then wash the pan' },
    ],
  });
  const id = await index(owner, v.path);
  const scenes = await scenesOf(db, id);
  assert.equal(scenes.length, 2);
  const hits = await search(owner, 'roasted tomato');
  assert.deepEqual(
    hits.map((h) => h.start_s),
    [scenes[0]!.start_s],
  );
  assert.match(hits[0]!.snippet!, /<b>roasting<\/b>/);
  // Offline there is no vector model: nothing for nothing.
  assert.deepEqual(await search(owner, 'giraffe elephant'), []);
});

test('an on-screen word with one wrong letter still matches, below the word as written', async () => {
  const owner = uuid();
  const v = await generateSampleVideo(path.join(rig.dir, 'shop.mp4'), {
    scenes: [
      { durationS: 3, color: 'navy', word: 'LAPTOP' },
      { durationS: 3, color: 'maroon', word: 'LAOTOP' },
      { durationS: 3, color: 'darkgreen', word: 'PRINTER' },
    ],
    audio: false,
    subtitles: false,
  });
  const id = await index(owner, v.path);
  const scenes = await scenesOf(db, id);
  assert.equal(scenes.length, 3);
  assert.match(scenes[1]!.ocr_text, /LAOTOP/i, 'the misspelling is read as written');
  const hits = await search(owner, 'laptop');
  assert.deepEqual(
    hits.map((h) => h.start_s),
    [scenes[0]!.start_s, scenes[1]!.start_s],
  );
  assert.ok(hits[0]!.text_score > hits[1]!.text_score && hits[1]!.text_score > 0);
});
