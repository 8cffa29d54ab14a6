/*
 * The content-change cut detector on generated lecture, screen and camera
 * footage with known boundaries (worker/media/samples.ts): every boundary
 * found within half a second, nothing else found. Every pass also captures
 * the settled frames it decodes (SettledCapture), which must change nothing
 * else and give the frames a seek would.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { detectScenes, extractKeyframe, extractKeyframes, type SceneDetection } from '../../worker/media/index.ts';
import { runTool } from '../../worker/media/run.ts';
import {
  FIVE_SLIDES,
  generatePan,
  generateSampleVideo,
  generateScreenRecording,
  generateScrolledDocument,
  generateSlideDeck,
  generateTransitions,
  type KnownBoundaries,
} from '../../worker/media/samples.ts';
import { planScenes } from '../../worker/pipeline/scenes.ts';
import { psnr, SAME_PICTURE_DB } from '../helpers/pictures.ts';

const limits = { timeoutS: 120, maxMemoryMb: 4096 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cuts-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** pictureS: where the picture's last frame starts, if it stops before the video does. */
async function assertCuts(
  v: KnownBoundaries,
  pictureS = v.durationS - 0.2,
): Promise<SceneDetection & { written: number }> {
  const capture = fs.mkdtempSync(path.join(dir, 'capture-'));
  // The video's length, as the cut stage gives it.
  const window = { startS: 0, endS: v.durationS };
  const d = await detectScenes(v.path, 0.3, limits, window, capture);
  assert.equal(d.cuts.length, v.cuts.length, `${path.basename(v.path)}: found ${d.cuts} for ${v.cuts}`);
  d.cuts.forEach((c, i) => assert.ok(Math.abs(c - v.cuts[i]!) <= 0.5, `cut at ${c}, expected ${v.cuts[i]}`));
  assert.ok(d.decodedS >= pictureS, `decoded ${d.decodedS} of ${v.durationS}`);
  // Without the capture the pass finds the same.
  const plain = await detectScenes(v.path, 0.3, limits, window);
  assert.deepEqual(
    { cuts: plain.cuts, textSamples: plain.textSamples, captured: plain.captured.size },
    { cuts: d.cuts, textSamples: d.textSamples, captured: 0 },
  );
  for (const t of d.captured.keys()) assert.ok(d.textSamples.includes(t), `captured ${t}, not a sample`);
  // The frames the pass wrote; not the RGB copies made of those used (rgbFrame).
  return { ...d, written: fs.readdirSync(capture).filter((f) => !f.endsWith('.ppm')).length };
}

/** Each captured frame against the JPEG a seek to its sample writes: the same picture. */
async function assertCapturedAsSeeks(file: string, d: SceneDetection) {
  const seekDir = fs.mkdtempSync(path.join(dir, 'seeks-'));
  const times = [...d.captured.keys()];
  const reqs = times.map((t, i) => ({ start: t, end: t + 0.2, outPath: path.join(seekDir, `${i}.jpg`) }));
  const { written } = await extractKeyframes(file, reqs, seekDir, limits);
  assert.ok(written.every(Boolean));
  for (const [i, t] of times.entries()) {
    const db = await psnr(d.captured.get(t)!, reqs[i]!.outPath);
    assert.ok(db >= SAME_PICTURE_DB, `the frame captured for ${t} s is ${db} dB from a seek's`);
  }
}

test('every slide of a deck on one background is its own scene', async () => {
  const v = await generateSlideDeck(path.join(dir, 'slides.mp4'));
  const d = await assertCuts(v);
  // ffmpeg's pixel score alone does not see a new slide: these are the content detector's.
  assert.deepEqual(
    d.contentCuts.map((c) => Math.round(c)),
    v.cuts,
  );
  // One frame per slide is chosen for reading, none twice, and each came out of the pass.
  assert.equal(d.textSamples.length, v.cuts.length + 1, `text samples ${d.textSamples}`);
  assert.deepEqual([...d.captured.keys()], d.textSamples);
  await assertCapturedAsSeeks(v.path, d);
  const scenes = planScenes(d.cuts, v.durationS, { minS: 1, maxS: 30 });
  assert.equal(scenes.length, 5);
});

test('past its bound on raw frames the capture writes JPEGs, of the same pictures', async () => {
  const v = await generateSlideDeck(path.join(dir, 'slides-bound.mp4'));
  const capture = fs.mkdtempSync(path.join(dir, 'capture-'));
  // Room for two frames of the deck's 640x360, planes and RGB.
  const d = await detectScenes(v.path, 0.3, limits, { startS: 0, endS: v.durationS }, capture, 2.5 * 640 * 360 * 4.5);
  assert.equal(d.captured.size, v.cuts.length + 1);
  assert.deepEqual(
    [...d.captured.values()].map((f) => path.extname(f)),
    ['.ppm', '.ppm', ...v.cuts.slice(1).map(() => '.jpg')],
  );
  await assertCapturedAsSeeks(v.path, d);
});

test("slides shared beside the speaker's camera cut at each slide; the camera never cuts", async () => {
  for (const camera of ['corner', 'side'] as const) {
    const v = await generateSlideDeck(path.join(dir, `slides-camera-${camera}.mp4`), { camera });
    const d = await assertCuts(v);
    assert.deepEqual(
      d.contentCuts.map((c) => Math.round(c)),
      v.cuts,
    );
    // Every slide is read soon after it appears.
    for (const c of [0, ...v.cuts])
      assert.ok(
        d.textSamples.some((t) => t >= c && t <= c + 0.6),
        `${d.textSamples}`,
      );
    // Once the camera in the corner is known (its flat parts take longest:
    // the first seconds read a few more frames), each slide exactly once,
    // however it moves. (The side panel's flat parts are learnt later still.)
    if (camera === 'corner')
      assert.deepEqual(
        d.textSamples.filter((t) => t >= v.cuts[2]!).map((t) => Math.round(t)),
        v.cuts.slice(2),
      );
  }
});

test('a slide built up line by line is one scene, read once it is complete', async () => {
  const v = await generateSlideDeck(path.join(dir, 'slides-builds.mp4'), { builds: true });
  const d = await assertCuts(v);
  // Each slide's second line appears four seconds in: that frame shows all
  // of the slide's text, and replaces the frames before it.
  const complete = [0, ...v.cuts].map((c) => c + 4);
  assert.equal(d.textSamples.length, complete.length, `${d.textSamples}`);
  complete.forEach((s, i) => assert.ok(d.textSamples[i]! >= s && d.textSamples[i]! <= s + 0.6, `${d.textSamples}`));
});

test('slides changed every 2.5 s from the first second on, dissolving or built up, are each a scene', async () => {
  // A block that changes at every slide must not pass for a moving picture.
  const slides = [1.2, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 6].map((durationS, i) => ({
    ...FIVE_SLIDES[i % 5]!,
    title: `${FIVE_SLIDES[i % 5]!.title} ${i}`,
    durationS,
  }));
  for (const [name, o] of [
    ['quick', {}],
    ['quick-dissolve', { dissolveS: 0.8 }],
    ['quick-builds', { builds: true }],
    ['quick-camera', { camera: 'corner' }],
  ] as const)
    await assertCuts(await generateSlideDeck(path.join(dir, `${name}.mp4`), { slides, ...o }));
});

test('slides that dissolve into each other, beside a camera and built up, cut once per slide', async () => {
  await assertCuts(await generateSlideDeck(path.join(dir, 'slides-dissolve.mp4'), { dissolveS: 1 }));
  await assertCuts(
    await generateSlideDeck(path.join(dir, 'slides-all.mp4'), { dissolveS: 0.8, camera: 'corner', builds: true }),
  );
});

test('slides pushed or wiped in cut once per slide', async () => {
  for (const transition of ['slideleft', 'wipeleft']) {
    const v = await generateSlideDeck(path.join(dir, `${transition}.mp4`), { dissolveS: 0.6, transition });
    const d = await assertCuts(v);
    assert.equal(d.textSamples.length, v.cuts.length + 1, `${transition}: text samples ${d.textSamples}`);
  }
});

test('a variable-rate recording, a frame only when a slide changes, cuts at every slide and reads the last', async () => {
  const v = await generateSlideDeck(path.join(dir, 'vfr.mp4'), { variableRate: true });
  // One frame per slide: what the generator is to test.
  const frames = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_frames',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      v.path,
    ],
    limits,
  );
  assert.equal(Number(frames.stdout.toString().trim()), FIVE_SLIDES.length);
  const d = await assertCuts(v, v.cuts.at(-1)!);
  assert.equal(d.textSamples.length, v.cuts.length + 1, `text samples ${d.textSamples}`);
  const last = d.textSamples.at(-1)!;
  assert.ok(last >= v.cuts.at(-1)!, `the last slide is not read: ${d.textSamples}`);
  // The last frame has no settled successor for the capture's gate: a seek
  // reads it, and finds the frame held from the last slide's start.
  for (const t of d.textSamples.slice(0, -1)) assert.ok(d.captured.has(t), `${t} s not captured`);
  await assertCapturedAsSeeks(v.path, d);
  const seekDir = fs.mkdtempSync(path.join(dir, 'seeks-'));
  const reqs = [last, v.cuts.at(-1)!].map((t, i) => ({
    start: t,
    end: t + 0.2,
    outPath: path.join(seekDir, `${i}.jpg`),
  }));
  const { written } = await extractKeyframes(v.path, reqs, seekDir, limits);
  assert.deepEqual(written.map(Boolean), [true, true]);
  assert.ok((await psnr(reqs[0]!.outPath, reqs[1]!.outPath)) >= SAME_PICTURE_DB);
  // Each scene's keyframe is its own slide, although no frame lies a third
  // into it (the first frame after that is the next slide's), in a batch and alone.
  const read = [...d.textSamples.slice(0, -1).map((t) => d.captured.get(t)!), reqs[0]!.outPath];
  const scenes = planScenes(d.cuts, v.durationS, { minS: 1, maxS: 30 });
  assert.equal(scenes.length, FIVE_SLIDES.length);
  const keys = scenes.map((sc, i) => ({ start: sc.start, end: sc.end, outPath: path.join(seekDir, `k${i}.jpg`) }));
  await extractKeyframes(v.path, keys, seekDir, limits);
  for (const [i, k] of keys.entries()) {
    const db = await psnr(k.outPath, read[i]!);
    assert.ok(db >= SAME_PICTURE_DB, `scene ${i}'s keyframe is ${db} dB from its slide`);
  }
  const alone = path.join(seekDir, 'alone.jpg');
  assert.ok(await extractKeyframe(v.path, scenes[1]!.start, scenes[1]!.end, alone, limits));
  assert.ok((await psnr(alone, read[1]!)) >= SAME_PICTURE_DB);
});

test('a span minutes after the frame it shows takes that frame, found by its packets', async () => {
  // Three slides of 70 s, a frame each: inside a slide, the frame shown is
  // a minute or more back, the next frame is the next slide's.
  const slides = FIVE_SLIDES.slice(0, 3).map((sl) => ({ ...sl, durationS: 70 }));
  const v = await generateSlideDeck(path.join(dir, 'vfr-70s.mp4'), { slides, variableRate: true });
  const seekDir = fs.mkdtempSync(path.join(dir, 'seeks-'));
  const reqs = [
    [0, 0.2],
    [60, 66],
    [70, 70.2],
    [130, 136],
  ].map(([start, end], i) => ({ start: start!, end: end!, outPath: path.join(seekDir, `${i}.jpg`) }));
  const { written } = await extractKeyframes(v.path, reqs, seekDir, limits);
  assert.deepEqual(written, [true, true, true, true]);
  assert.ok((await psnr(reqs[1]!.outPath, reqs[0]!.outPath)) >= SAME_PICTURE_DB, 'slide 1, 60 s after its frame');
  assert.ok((await psnr(reqs[3]!.outPath, reqs[2]!.outPath)) >= SAME_PICTURE_DB, 'slide 2, 60 s after its frame');
  assert.ok((await psnr(reqs[1]!.outPath, reqs[2]!.outPath)) < SAME_PICTURE_DB, 'the slides differ');
  const alone = path.join(seekDir, 'alone.jpg');
  assert.ok(await extractKeyframe(v.path, 130, 136, alone, limits));
  assert.ok((await psnr(alone, reqs[2]!.outPath)) >= SAME_PICTURE_DB);
});

test("a window of a variable-rate recording, as a long video's chunk is analysed, keeps the video's clock", async () => {
  const v = await generateSlideDeck(path.join(dir, 'vfr-window.mp4'), { variableRate: true });
  // From 8 s the first frame is the third slide's, at 12 s: the seek drops the one before.
  for (const window of [
    { startS: 8, durationS: 15 },
    { startS: 8, endS: v.durationS },
  ]) {
    // With the capture, as the pipeline runs it, and without.
    const d = await detectScenes(v.path, 0.3, limits, window, fs.mkdtempSync(path.join(dir, 'capture-')));
    const plain = await detectScenes(v.path, 0.3, limits, window);
    assert.deepEqual([plain.cuts, plain.textSamples], [d.cuts, d.textSamples]);
    assert.deepEqual(d.cuts, [18, 24], JSON.stringify(window));
    assert.deepEqual(d.textSamples.slice(0, 2), [12, 18.2], `${JSON.stringify(window)}: ${d.textSamples}`);
    assert.equal(d.curve[0]!.t, 12);
  }
});

test('a picture that starts 2 s after the sound keeps the file clock', async () => {
  const v = await generateSlideDeck(path.join(dir, 'deck-for-late.mp4'));
  const late = path.join(dir, 'late-picture.mp4');
  const r = await runTool(
    'ffmpeg',
    [
      ...['-v', 'error', '-itsoffset', '2', '-i', v.path, '-f', 'lavfi', '-t', String(v.durationS + 2)],
      ...['-i', 'anullsrc=r=48000:cl=mono', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-y', late],
    ],
    limits,
  );
  assert.equal(r.code, 0);
  // As the pipeline runs it: with the capture (its frames were numbered from the first, so every time came 2 s early).
  const d = await detectScenes(
    late,
    0.3,
    limits,
    { startS: 0, endS: v.durationS + 2 },
    fs.mkdtempSync(path.join(dir, 'capture-')),
  );
  assert.deepEqual(
    d.cuts,
    v.cuts.map((c) => c + 2),
  );
  assert.deepEqual(d.textSamples, [2, ...v.cuts.map((c) => c + 2.2)]);
});

test("a screen recording cuts where the window's document changes or a window opens, not where the pointer moves", async () => {
  const v = await generateScreenRecording(path.join(dir, 'screen.mp4'));
  const d = await assertCuts(v);
  // The tracker also reads the frames the pointer's travel changed; the
  // pass writes the first settled frame of each new document or window.
  for (const c of [0, ...v.cuts])
    assert.ok(
      [...d.captured.keys()].some((t) => t >= c && t <= c + 0.6),
      `nothing captured after ${c} s: ${[...d.captured.keys()]}`,
    );
  await assertCapturedAsSeeks(v.path, d);
});

test('typing a document into a window is no cut; the typed text is read as it grows', async () => {
  const v = await generateScreenRecording(path.join(dir, 'screen-typing.mp4'), { typing: true });
  const d = await assertCuts(v);
  // The second document is typed from 5.2 s to about 8.3 s, beside the moving pointer.
  const typed = d.textSamples.filter((t) => t > v.cuts[0]! && t < v.cuts[1]!);
  assert.ok(typed.length >= 1 && typed.at(-1)! >= 8, `${d.textSamples}`);
});

test('a capture that cannot be written costs a second pass, not the video', async () => {
  const v = await generateSlideDeck(path.join(dir, 'slides-lost.mp4'));
  const d = await detectScenes(v.path, 0.3, limits, undefined, path.join(dir, 'no-such-folder'));
  assert.equal(d.captured.size, 0);
  assert.deepEqual(
    d.cuts.map((c) => Math.round(c)),
    v.cuts,
  );
});

test('a picture a few pixels high has its settled frames captured too', async () => {
  // The luma statistics' copy is a quarter of the width: its height, scaled
  // alike, would round to nothing, and the capture's failure costs a second pass.
  const file = path.join(dir, 'strip.mkv');
  const card = (c: string) => `color=${c}:s=16x2:r=25:d=2,format=yuv444p`;
  const made = await runTool(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `${card('red')}[a];${card('blue')}[b];[a][b]concat=n=2:v=1`,
      '-c:v',
      'ffv1',
      file,
    ],
    limits,
  );
  assert.equal(made.code, 0);
  const capture = fs.mkdtempSync(path.join(dir, 'capture-'));
  const d = await detectScenes(file, 0.3, limits, undefined, capture);
  assert.deepEqual(d.cuts, [2]);
  // One frame per card (nothing on them to read, so none is named a sample).
  assert.equal(fs.readdirSync(capture).length, 2);
});

test('a presenter who walks in front of the slides, or out of the picture, and stops there is no cut', async () => {
  // Filmed: the figure walks a quarter into each slide, across or (odd
  // slides) out of the picture, and back at six tenths; the picture settles
  // for two seconds each time.
  for (const [name, opts] of [
    ['presenter.mp4', { presenter: true }],
    ['presenter-builds.mp4', { presenter: true, builds: true, dissolveS: 0.8 }],
  ] as const) {
    const v = await generateSlideDeck(path.join(dir, name), opts);
    const d = await assertCuts(v);
    assert.equal(d.contentCuts.length, v.cuts.length, `${name}: content cuts ${d.contentCuts}`);
  }
});

test('a document scrolled by the wheel or smoothly is no cut; another window taking the screen is', async () => {
  const v = await generateScrolledDocument(path.join(dir, 'scrolled.mp4'));
  // Before onlyMoved: 2.4, 2.8, 4.0, 4.4, 5.6, 6.0, 7.2, 7.6 and 10.
  const d = await assertCuts(v);
  // What the scrolls bring into view is read as it comes: more than the two windows' first frames.
  assert.ok(d.textSamples.length > 4, `${d.textSamples}`);
});

test("a chunk's pass reads on to the first cut past its end and stops just past it; a scroll's jump does not stop it", async () => {
  const v = await generateScrolledDocument(path.join(dir, 'scrolled-to-cut.mp4'));
  const whole = await detectScenes(v.path, 0.3, limits, { startS: 0, endS: v.durationS });
  // From 1 s on: the wheel's jumps from 2 s score as hard cuts to ffmpeg, the other window comes at 10 s.
  const endAtCut = { afterS: 1, holdS: 1.4 };
  const d = await detectScenes(v.path, 0.3, limits, { startS: 0, durationS: v.durationS, endAtCut });
  const cut = whole.cuts[0]!;
  assert.ok(Math.abs(cut - 10) <= 0.5, `${whole.cuts}`);
  assert.ok(
    d.endedS !== undefined && d.endedS >= cut + 1.4 && d.endedS <= cut + 1.6 + 1e-9,
    `ended at ${d.endedS}, the cut at ${cut}`,
  );
  assert.deepEqual(d.cuts, [cut]);
  const upTo = (ts: number[]) => ts.filter((t) => t <= cut);
  assert.deepEqual(upTo(d.textSamples), upTo(whole.textSamples));
  // No cut past afterS: the window is read to its end, as without endAtCut.
  const past = await detectScenes(v.path, 0.3, limits, {
    startS: 0,
    durationS: v.durationS,
    endAtCut: { afterS: cut + 1, holdS: 1.4 },
  });
  assert.equal(past.endedS, undefined);
  assert.deepEqual([past.cuts, past.textSamples], [whole.cuts, whole.textSamples]);
});

test('a page scrolled beneath a still toolbar and beside a still sidebar is no cut; a link followed is', async () => {
  const v = await generateScrolledDocument(path.join(dir, 'browser.mp4'), { chrome: true });
  // Before the scroll was looked for beneath what stayed: 2.8, 4.0, 4.4 …
  // 7.6 (every jump from 4 s) and 10.
  const d = await assertCuts(v);
  // The link followed is a new picture of the same window: the content
  // detector's cut, not ffmpeg's.
  assert.deepEqual(d.contentCuts, [10]);
});

test('a 1080p document of small text scrolled by the wheel is no cut', async () => {
  // 24 px lines, 3.2 analysis pixels: the jumps of 154 px (20.5 analysis
  // pixels) left the first words of the lines 1.6 grey levels a pixel off,
  // and 2.4 and 4.0 were cuts too.
  const v = await generateScrolledDocument(path.join(dir, 'fine.mp4'), { width: 1920, height: 1080, linePx: 24 });
  await assertCuts(v);
});

test('slides that differ by a word, a line sliding sideways for it, are each a scene', async () => {
  // "Golf details here" → "Hotel details here": the line's words after the
  // first move right as a whole. Taken for a move, 24 (and at a variable
  // frame rate 12 and 24) were lost.
  const names = ['Foxtrot', 'Golf', 'Hotel', 'India', 'Juliett'];
  const slides = names.map((n) => ({ durationS: 6, title: `Topic ${n}`, lines: [`${n} details here`] }));
  for (const variableRate of [false, true]) {
    const v = await generateSlideDeck(path.join(dir, `names-${variableRate}.mp4`), { slides, variableRate });
    const d = await assertCuts(v);
    assert.deepEqual(d.contentCuts.map(Math.round), v.cuts);
  }
});

test("a phone's screen recording (portrait), scrolled, is no cut", async () => {
  const v = await generateScrolledDocument(path.join(dir, 'phone.mp4'), { width: 360, height: 640 });
  // Squeezed into the analysis frames, a line of text every eight rows: with
  // three offsets tried, 2.4, 2.8, 4.0, 4.4, 5.6, 7.2, 7.6, 12.3, 13.8 and
  // 14.6 were cuts too.
  await assertCuts(v);
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
  // Nothing settles, so the capture writes (next to) nothing.
  assert.ok(d.written <= 1, `${d.written} frames written`);
});

test('a hard cut, a fade through black and a cross-dissolve between moving shots are each found once', async () => {
  await assertCuts(await generateTransitions(path.join(dir, 'transitions.mp4')));
});
