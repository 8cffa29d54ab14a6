/*
 * The face model on the photos that ship inside its own npm package
 * (@vladmandic/face-api demo/sample1..6.jpg: group photos, 22 faces of 22
 * different people, counted by eye):
 *   - faces detected vs present, at the manifest's min_score and lower;
 *   - cosine distances of different people (pairs within one photo, which
 *     are certainly different people; pairs across photos, whose identities
 *     are not known), and of the same face rendered as the pipeline sees it
 *     (the photo letterboxed into 1280x720, scaled to the 768-wide keyframe,
 *     JPEG) and as a second framing (a crop), against the thresholds in
 *     app_hidden.face_calibration;
 *   - time per 768x432 keyframe with 0, 1 and 3 faces.
 *
 *   node scripts/bench-faces.ts [--runs 20]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadFaceAnalyzer } from '../worker/ml/faces.ts';
import { readManifest } from '../worker/ml/manifest.ts';
import type { DetectedFace, FaceAnalyzer } from '../worker/ml/types.ts';
import { PEOPLE, samplePhoto } from '../test/fixtures/faces.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
/** Faces in sample1..6.jpg, counted by eye. */
const PRESENT = [3, 3, 3, 4, 5, 4];
/** app_hidden.face_calibration('@vladmandic/face-api'); keep in step with migrations/committed/000004-…sql (section 090-persons-faces.sql). */
const MATCH = 0.06;
const CLUSTER = 0.045;

const m = readManifest().face;
const dist = (a: Float32Array, b: Float32Array) => 1 - a.reduce((s, x, i) => s + x * b[i]!, 0);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `n=${s.length} min ${s[0]!.toFixed(3)} p5 ${q(0.05).toFixed(3)} median ${q(0.5).toFixed(3)} max ${s.at(-1)!.toFixed(3)}`;
};
const below = (xs: number[], t: number) => xs.filter((x) => x <= t).length;

/** The photo as the pipeline's keyframe would show it. */
async function asKeyframe(file: string, crop?: { x: number; y: number; w: number; h: number }): Promise<Buffer> {
  let img = sharp(file);
  if (crop) {
    const md = await sharp(file).metadata();
    img = img.extract({
      left: Math.round(crop.x * md.width!),
      top: Math.round(crop.y * md.height!),
      width: Math.round(crop.w * md.width!),
      height: Math.round(crop.h * md.height!),
    });
  }
  const frame = await img.resize(1280, 720, { fit: 'contain', background: '#000' }).jpeg({ quality: 90 }).toBuffer();
  return sharp(frame).resize(768).jpeg({ quality: 80 }).toBuffer();
}

const centre = (f: DetectedFace) => [f.box.x + f.box.w / 2, f.box.y + f.box.h / 2] as const;

async function main() {
  const t0 = performance.now();
  const face = (await loadFaceAnalyzer(m.id, { minScore: m.min_score, minSizePx: m.min_size_px })) as FaceAnalyzer;
  const low = (await loadFaceAnalyzer(m.id, { minScore: 0.1, minSizePx: m.min_size_px })) as FaceAnalyzer;
  console.log(
    `${m.id} ${m.revision}, TF.js WebAssembly backend, ${os.cpus().length} cores (${os.cpus()[0]?.model}); load ${(performance.now() - t0).toFixed(0)} ms`,
  );

  console.log(
    '\n| photo | present | detected (min_score %s) | detected (0.1) | lowest score |'.replace(
      '%s',
      String(m.min_score),
    ),
  );
  console.log('|---|---|---|---|---|');
  const perPhoto: DetectedFace[][] = [];
  for (let i = 1; i <= 6; i++) {
    const r = await face.detect(samplePhoto(i));
    const r2 = await low.detect(samplePhoto(i));
    perPhoto.push(r.faces);
    console.log(
      `| sample${i}.jpg | ${PRESENT[i - 1]} | ${r.faces.length} | ${r2.faces.length} | ${Math.min(...r.faces.map((f) => f.score)).toFixed(2)} |`,
    );
  }

  const within: number[] = [];
  const across: number[] = [];
  for (let a = 0; a < perPhoto.length; a++)
    for (let b = a; b < perPhoto.length; b++)
      for (const [i, fa] of perPhoto[a]!.entries())
        for (const [j, fb] of perPhoto[b]!.entries()) {
          if (a === b && j <= i) continue;
          (a === b ? within : across).push(dist(fa.embedding, fb.embedding));
        }

  // The same faces as keyframes: matched to the original by position.
  const same: number[] = [];
  for (let i = 1; i <= 6; i++) {
    const r = await face.detect(await asKeyframe(samplePhoto(i)));
    for (const f of r.faces) {
      const photo = perPhoto[i - 1]!;
      // Letterboxing shifts x: pair faces by their left-to-right rank instead.
      const byX = [...photo].sort((p, q) => centre(p)[0] - centre(q)[0]);
      const rank = [...r.faces].sort((p, q) => centre(p)[0] - centre(q)[0]).indexOf(f);
      if (r.faces.length === photo.length && byX[rank]) same.push(dist(byX[rank]!.embedding, f.embedding));
    }
  }
  const framings: number[] = [];
  for (const [a, b] of [
    [PEOPLE.nurse, PEOPLE.nurseClose],
    [PEOPLE.dana, PEOPLE.danaClose],
  ] as const) {
    const fa = (await face.detect(await asKeyframe(samplePhoto(a.photo), a.crop))).faces[0];
    const fb = (await face.detect(await asKeyframe(samplePhoto(b.photo), b.crop))).faces[0];
    if (fa && fb) framings.push(dist(fa.embedding, fb.embedding));
  }

  console.log(`\ncosine distance (thresholds: match ${MATCH}, cluster ${CLUSTER})`);
  console.log('| pairs | distribution | <= cluster | <= match |');
  console.log('|---|---|---|---|');
  const row = (label: string, xs: number[]) =>
    console.log(`| ${label} | ${stats(xs)} | ${below(xs, CLUSTER)} | ${below(xs, MATCH)} |`);
  row('different people (same photo)', within);
  row('across photos (identity unknown)', across);
  row('same face: photo vs its keyframe', same);
  row('same face: two framings as keyframes', framings);

  const frames: [string, Buffer][] = [
    [
      'no face',
      await sharp({ create: { width: 768, height: 432, channels: 3, background: '#234' } })
        .jpeg()
        .toBuffer(),
    ],
    ['1 face', await asKeyframe(samplePhoto(PEOPLE.nurse.photo), PEOPLE.nurse.crop)],
    ['3 faces', await asKeyframe(samplePhoto(3))],
  ];
  console.log(`\n| 768x432 keyframe | faces found | mean ms | p95 ms |\n|---|---|---|---|`);
  for (const [label, buf] of frames) {
    const times: number[] = [];
    let n = 0;
    for (let i = 0; i < runs + 2; i++) {
      const t = performance.now();
      n = (await face.detect(buf)).faces.length;
      if (i >= 2) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((s, x) => s + x, 0) / times.length;
    console.log(
      `| ${label} | ${n} | ${mean.toFixed(0)} | ${times[Math.floor(0.95 * (times.length - 1))]!.toFixed(0)} |`,
    );
  }
}

await main();
