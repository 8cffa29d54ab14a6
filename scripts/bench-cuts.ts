/*
 * Scene-boundary precision and recall on generated videos with known
 * boundaries (worker/media/samples.ts), before and after the content-change
 * detector:
 *   node scripts/bench-cuts.ts [--json] [--keep DIR]
 * "before" is ffmpeg's scene score alone (what detectScenes reported until
 * the content detector joined it), "after" is everything detectScenes
 * reports. A found cut counts as right when it lies within ±0.5 s of a true
 * boundary that no other found cut has claimed. --keep DIR leaves the
 * videos there, plus a one-minute slide deck (10 slides) for
 * scripts/bench-pipeline.ts --video.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { detectScenes } from '../worker/media/index.ts';
import {
  FIVE_SLIDES,
  generatePan,
  generateSampleVideo,
  generateScreenRecording,
  generateScrolledDocument,
  generateSlideDeck,
  generateTransitions,
  type KnownBoundaries,
} from '../worker/media/samples.ts';

const TOLERANCE_S = 0.5;
const json = process.argv.includes('--json');
const keepAt = process.argv.indexOf('--keep');
const keep = keepAt > 0 ? path.resolve(process.argv[keepAt + 1] ?? '.') : null;
const threshold = loadConfig().worker.sceneThreshold;
const limits = { timeoutS: 300, maxMemoryMb: 0 };

function match(found: number[], truth: number[]) {
  const free = [...truth];
  let right = 0;
  for (const f of found) {
    const i = free.findIndex((t) => Math.abs(t - f) <= TOLERANCE_S);
    if (i >= 0) {
      free.splice(i, 1);
      right++;
    }
  }
  return { right, found: found.length, truth: truth.length };
}

const dir = keep ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'heimdex-bench-cuts-')));
if (keep) {
  await fs.mkdir(keep, { recursive: true });
  await generateSlideDeck(path.join(keep, 'slides-60s.mp4'), { slides: [...FIVE_SLIDES, ...FIVE_SLIDES] });
}
try {
  const colour = await generateSampleVideo(path.join(dir, 'cards.mp4'), { audio: false, subtitles: false });
  const videos: [string, KnownBoundaries][] = [
    ['colour cards, hard cuts', { path: colour.path, durationS: colour.durationS, cuts: colour.cuts, texts: [] }],
    ['slides (5 on one background)', await generateSlideDeck(path.join(dir, 'slides.mp4'))],
    [
      "slides, the speaker's camera in a corner",
      await generateSlideDeck(path.join(dir, 'camera.mp4'), { camera: 'corner' }),
    ],
    [
      "slides beside the speaker's camera (40 %)",
      await generateSlideDeck(path.join(dir, 'side.mp4'), { camera: 'side' }),
    ],
    [
      'slides filmed, a presenter walking in front',
      await generateSlideDeck(path.join(dir, 'presenter.mp4'), { presenter: true }),
    ],
    [
      'slides filmed with a presenter, built up, dissolves',
      await generateSlideDeck(path.join(dir, 'presenter-all.mp4'), { presenter: true, builds: true, dissolveS: 0.8 }),
    ],
    ['slides built up line by line', await generateSlideDeck(path.join(dir, 'builds.mp4'), { builds: true })],
    ['slides joined by 1 s dissolves', await generateSlideDeck(path.join(dir, 'dissolve.mp4'), { dissolveS: 1 })],
    [
      'slides: camera, builds, dissolves',
      await generateSlideDeck(path.join(dir, 'all.mp4'), { camera: 'corner', builds: true, dissolveS: 0.8 }),
    ],
    [
      'slides pushed in (0.6 s)',
      await generateSlideDeck(path.join(dir, 'push.mp4'), { dissolveS: 0.6, transition: 'slideleft' }),
    ],
    [
      'slides at a variable frame rate (a frame per slide)',
      await generateSlideDeck(path.join(dir, 'vfr.mp4'), { variableRate: true }),
    ],
    ['screen recording', await generateScreenRecording(path.join(dir, 'screen.mp4'))],
    [
      'document scrolled (wheel, then smoothly), another window',
      await generateScrolledDocument(path.join(dir, 'scrolled.mp4')),
    ],
    [
      'page scrolled in a browser (still toolbar, sidebar), a link followed',
      await generateScrolledDocument(path.join(dir, 'browser.mp4'), { chrome: true }),
    ],
    [
      'document scrolled on a phone (portrait 360x640), another window',
      await generateScrolledDocument(path.join(dir, 'phone.mp4'), { width: 360, height: 640 }),
    ],
    [
      'document scrolled at 1920x1080 in 24 px lines, another window',
      await generateScrolledDocument(path.join(dir, 'fine.mp4'), { width: 1920, height: 1080, linePx: 24 }),
    ],
    ['slow pan', await generatePan(path.join(dir, 'pan.mp4'))],
    ['cut, fade, dissolve', await generateTransitions(path.join(dir, 'transitions.mp4'))],
  ];
  const rows = [];
  const total = { before: { right: 0, found: 0, truth: 0 }, after: { right: 0, found: 0, truth: 0 } };
  for (const [name, v] of videos) {
    const t0 = performance.now();
    // The video's length, as the cut stage gives it.
    const d = await detectScenes(v.path, threshold, limits, { startS: 0, endS: v.durationS });
    const ms = performance.now() - t0;
    const shots = d.cuts.filter((c) => !d.contentCuts.includes(c));
    const before = match(shots, v.cuts);
    const after = match(d.cuts, v.cuts);
    for (const k of ['right', 'found', 'truth'] as const) {
      total.before[k] += before[k];
      total.after[k] += after[k];
    }
    rows.push({ name, durationS: v.durationS, truth: v.cuts, before: shots, after: d.cuts, detectMs: Math.round(ms) });
  }
  const pr = (m: { right: number; found: number; truth: number }) => ({
    precision: m.found ? m.right / m.found : 1,
    recall: m.truth ? m.right / m.truth : 1,
  });
  const summary = { before: pr(total.before), after: pr(total.after), counts: total };
  if (json) {
    console.log(JSON.stringify({ rows, summary }, null, 2));
  } else {
    const f = (c: number[]) => c.map((x) => x.toFixed(1)).join(' ') || '–';
    console.log('| video | true boundaries | before (ffmpeg score) | after | detect time |');
    console.log('|---|---|---|---|---|');
    for (const r of rows)
      console.log(
        `| ${r.name} (${r.durationS} s) | ${f(r.truth)} | ${f(r.before)} | ${f(r.after)} | ${r.detectMs} ms |`,
      );
    const p = (x: number) => x.toFixed(2);
    console.log(
      `\nbefore: precision ${p(summary.before.precision)}, recall ${p(summary.before.recall)}; ` +
        `after: precision ${p(summary.after.precision)}, recall ${p(summary.after.recall)} ` +
        `(${total.after.truth} true boundaries, ±${TOLERANCE_S} s)`,
    );
  }
} finally {
  if (!keep) await fs.rm(dir, { recursive: true, force: true });
}
