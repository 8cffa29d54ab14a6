/*
 * The content-change cut detector on generated lecture, screen and camera
 * footage with known boundaries (worker/media/samples.ts): every boundary
 * found within half a second, nothing else found.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { detectScenes } from '../../worker/media/index.ts';
import {
  generatePan,
  generateSampleVideo,
  generateScreenRecording,
  generateSlideDeck,
  generateTransitions,
  type KnownBoundaries,
} from '../../worker/media/samples.ts';
import { planScenes } from '../../worker/pipeline/scenes.ts';

const limits = { timeoutS: 120, maxMemoryMb: 4096 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cuts-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function assertCuts(v: KnownBoundaries) {
  const d = await detectScenes(v.path, 0.3, limits);
  assert.equal(d.cuts.length, v.cuts.length, `${path.basename(v.path)}: found ${d.cuts} for ${v.cuts}`);
  d.cuts.forEach((c, i) => assert.ok(Math.abs(c - v.cuts[i]!) <= 0.5, `cut at ${c}, expected ${v.cuts[i]}`));
  assert.ok(d.decodedS >= v.durationS - 0.2, `decoded ${d.decodedS} of ${v.durationS}`);
  return d;
}

test('every slide of a deck on one background is its own scene', async () => {
  const v = await generateSlideDeck(path.join(dir, 'slides.mp4'));
  const d = await assertCuts(v);
  // ffmpeg's pixel score alone does not see a new slide: these are the content detector's.
  assert.deepEqual(
    d.contentCuts.map((c) => Math.round(c)),
    v.cuts,
  );
  // One frame per slide is chosen for reading, none twice.
  assert.equal(d.textSamples.length, v.cuts.length + 1, `text samples ${d.textSamples}`);
  const scenes = planScenes(d.cuts, v.durationS, { minS: 1, maxS: 30 });
  assert.equal(scenes.length, 5);
});

test("a screen recording cuts where the window's document changes or a window opens, not where the pointer moves", async () => {
  await assertCuts(await generateScreenRecording(path.join(dir, 'screen.mp4')));
});

test('a slow pan across one picture is one scene', async () => {
  const v = await generatePan(path.join(dir, 'pan.mp4'));
  const d = await assertCuts(v);
  assert.deepEqual(d.cuts, []);
});

test('filmed-like scenes (a panning, noisy picture under a caption) cut where the shots change, and nowhere else', async () => {
  const specs = ['0x1f3b73', '0x7a2e2e', '0x2e6b3a'].map((color, i) => ({ durationS: 4, color, word: `SHOT ${i}` }));
  const v = await generateSampleVideo(path.join(dir, 'camera.mp4'), {
    scenes: specs,
    width: 320,
    height: 180,
    audio: false,
    motion: true,
  });
  const d = await assertCuts({ ...v, texts: [] });
  // Unlike the flat pictures of the other samples, no two analysis frames are alike.
  assert.ok(
    d.curve.slice(1).every((c) => c.change > 0),
    'every analysis frame differs from the one before',
  );
});

test('a hard cut, a fade through black and a cross-dissolve between moving shots are each found once', async () => {
  await assertCuts(await generateTransitions(path.join(dir, 'transitions.mp4')));
});
