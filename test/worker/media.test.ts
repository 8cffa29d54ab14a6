import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertFullyDecoded,
  detectScenes,
  extractAudio16kMono,
  extractKeyframe,
  extractKeyframes,
  extractSubtitles,
  frameImage,
  keyframeOf,
  MediaInputError,
  MediaRunError,
  parseSubtitles,
  probe,
} from '../../worker/media/index.ts';
import { loadConfig } from '../../core/config.ts';
import { rgbFrame } from '../../worker/media/frames.ts';
import { runTool } from '../../worker/media/run.ts';
import { decodeThreads } from '../../worker/pipeline/context.ts';
import { generateTransitions } from '../../worker/media/samples.ts';
import { generateSampleVideo, writeBrokenInputs, type SampleVideo } from '../fixtures/videos.ts';
import { pixels, psnr, SAME_PICTURE_DB } from '../helpers/pictures.ts';

const limits = { timeoutS: 60, maxMemoryMb: 4096 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-media-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let sample: SampleVideo;
before(async () => {
  sample = await generateSampleVideo(path.join(dir, 'sample.mp4'));
});

/**
 * Runs fn with an ffmpeg first on PATH that notes the arguments of each
 * start and runs the real one: sees what the code asked ffmpeg for without
 * changing it.
 */
async function ffmpegStarts<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  const log = path.join(dir, 'ffmpeg-starts.log');
  const shim = path.join(dir, 'shim');
  fs.mkdirSync(shim, { recursive: true });
  const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(path.join(shim, 'ffmpeg'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`, {
    mode: 0o755,
  });
  fs.writeFileSync(log, '');
  const PATH = process.env.PATH;
  process.env.PATH = `${shim}:${PATH}`;
  try {
    const r = await fn();
    return [r, fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)];
  } finally {
    process.env.PATH = PATH;
  }
}

test('probe reports the facts of the generated sample', async () => {
  const f = await probe(sample.path, limits);
  assert.equal(f.width, 320);
  assert.equal(f.height, 240);
  assert.equal(f.fps, 25);
  assert.equal(f.videoCodec, 'h264');
  assert.equal(f.hasAudio, true);
  assert.ok(Math.abs(f.durationS - sample.durationS) < 0.1, `duration ${f.durationS}`);
  assert.deepEqual(
    f.subtitleStreams.map((s) => [s.codec, s.language]),
    [['mov_text', 'eng']],
  );
});

test('scene detection finds the generated cuts within half a second and decodes to the end', async () => {
  const d = await detectScenes(sample.path, 0.3, limits);
  assert.equal(d.cuts.length, sample.cuts.length, `cuts ${d.cuts} vs ${sample.cuts}`);
  d.cuts.forEach((c, i) => assert.ok(Math.abs(c - sample.cuts[i]!) <= 0.5, `cut ${c} vs ${sample.cuts[i]}`));
  assert.ok(d.decodedS >= sample.durationS - 0.1, `decoded ${d.decodedS}`);
});

test('the cut pass decodes with the threads it is given, and one thread finds what three find', async () => {
  const [[one, three], starts] = await ffmpegStarts(async () => [
    await detectScenes(sample.path, 0.3, limits),
    await detectScenes(sample.path, 0.3, { ...limits, threads: 3 }),
  ]);
  assert.equal(starts.length, 2);
  assert.match(starts[0]!, /-threads 1 (?!.*-threads).*-i file:/, 'absent: one decoder thread');
  assert.match(starts[1]!, /-threads 3 (?!.*-threads).*-i file:/);
  assert.deepEqual(three.cuts, one.cuts);
  assert.deepEqual(three.textSamples, one.textSamples);
  assert.equal(three.decodedS, one.decodedS);
});

test('FFMPEG_THREADS: a share of the cores up to 16 by default, a number as given, negative refused', () => {
  const config = (env: Record<string, string>) => loadConfig({ HEIMDEX_DATA_DIR: os.tmpdir(), ...env });
  assert.equal(decodeThreads(config({}), 2), 1, 'this machine: one');
  assert.equal(decodeThreads(config({}), 12), 6);
  assert.equal(decodeThreads(config({ WORKER_CONCURRENCY: '3' }), 12), 2, 'a share per job');
  assert.equal(decodeThreads(config({ WORKER_CONCURRENCY: '8' }), 4), 1, 'never none');
  assert.equal(decodeThreads(config({}), 96), 16, "libavcodec's cap");
  assert.equal(decodeThreads(config({ FFMPEG_THREADS: '24' }), 2), 24, 'as given');
  assert.throws(() => config({ FFMPEG_THREADS: '-1' }), /FFMPEG_THREADS must be 0 \(automatic\) or more/);
});

test('a cut between shots of equal brightness but different colour is found', async () => {
  // Red and teal have nearly the same luma; only the colour changes.
  const v = await generateSampleVideo(path.join(dir, 'iso-luma.mp4'), {
    scenes: [
      { durationS: 3, color: 'red', word: 'APPLE' },
      { durationS: 3, color: '0x008080', word: 'PEAR' },
    ],
    audio: false,
    subtitles: false,
  });
  const d = await detectScenes(v.path, 0.3, limits);
  assert.equal(d.cuts.length, 1, `cuts ${d.cuts}`);
  assert.ok(Math.abs(d.cuts[0]! - 3) <= 0.5, `cut at ${d.cuts[0]}`);
});

test('the embedded subtitle track round-trips to the generated cues', async () => {
  const f = await probe(sample.path, limits);
  const segs = parseSubtitles((await extractSubtitles(sample.path, f.subtitleStreams[0]!, limits))!);
  assert.deepEqual(
    segs.map((s) => s.text),
    sample.subtitles.map((s) => s.text),
  );
  segs.forEach((s, i) => assert.ok(Math.abs(s.start - sample.subtitles[i]!.start) < 0.05));
});

test('audio comes out as 16 kHz mono float samples with speech in it', async () => {
  const a = await extractAudio16kMono(sample.path, dir, limits);
  assert.ok(Math.abs(a.length / 16000 - sample.durationS) < 0.2, `${a.length} samples`);
  const peak = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.ok(peak > 0.05 && peak <= 1.5, `peak ${peak}`);
  // A window is the same samples as that slice of the whole (within resampler warm-up).
  const w = await extractAudio16kMono(sample.path, dir, limits, { startS: 3, durationS: 3 });
  assert.ok(Math.abs(w.length - 48000) <= 160, `${w.length} samples in a 3 s window`);
  const energy = (x: Float32Array) => x.reduce((s, v) => s + v * v, 0) / x.length;
  const slice = a.subarray(48000, 96000);
  assert.ok(
    Math.abs(energy(w) - energy(slice)) / energy(slice) < 0.1,
    `window energy ${energy(w)} vs ${energy(slice)}`,
  );
  const silent = await extractAudio16kMono(sample.path, dir, limits, { startS: 9.2, durationS: 2.6 });
  assert.ok(energy(silent) < 1e-6, 'the fourth shot has no speech');
  // Sound that starts 2 s after the picture stays on the picture's clock:
  // the first 2 s are silence, then the same speech as the sample's start.
  const late = path.join(dir, 'late-audio.mp4');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-i', sample.path, '-itsoffset', '2', '-i', sample.path],
    ...['-map', '0:v', '-map', '1:a', '-c', 'copy', late],
  ]);
  const shifted = await extractAudio16kMono(late, dir, limits);
  assert.ok(energy(shifted.subarray(0, 31000)) < 1e-6, 'nothing before the sound starts');
  const onset = (x: Float32Array) => x.findIndex((v) => Math.abs(v) > 0.02);
  assert.ok(Math.abs(onset(shifted) - onset(a) - 32000) < 400, `speech at ${onset(shifted)} vs ${onset(a)} + 2 s`);
});

test('a keyframe is a JPEG of the scene, skipping black frames', async () => {
  const out = path.join(dir, 'k.jpg');
  assert.equal(await extractKeyframe(sample.path, 3, 6, out, limits), true);
  const jpg = fs.readFileSync(out);
  assert.equal(jpg.subarray(0, 2).toString('hex'), 'ffd8');
  // A video black for its first half: the frame at one third is black, a later one is not.
  const fade = await generateSampleVideo(path.join(dir, 'black.mp4'), {
    scenes: [
      { durationS: 2, color: 'black', word: ' ' },
      { durationS: 2, color: 'white', word: 'LIGHT' },
    ],
    audio: false,
    subtitles: false,
  });
  const out2 = path.join(dir, 'k2.jpg');
  assert.equal(await extractKeyframe(fade.path, 0, 4, out2, limits), true);
  const r = await runTool(
    'ffmpeg',
    ['-v', 'info', '-i', out2, '-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YAVG', '-f', 'null', '-'],
    limits,
  );
  const yavg = Number(r.stderr.match(/YAVG=([\d.]+)/)![1]);
  assert.ok(yavg > 100, `keyframe luma ${yavg} should be the white half`);
});

test('a phone video recorded in portrait, and pixels that are not square, come out as they are shown', async () => {
  const size = async (jpg: string) => {
    const r = await runTool(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', jpg],
      limits,
    );
    return r.stdout.toString().trim();
  };
  // The same 320x240 pixels with the display matrix a phone held upright writes.
  const portrait = path.join(dir, 'portrait.mp4');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    sample.path,
    '-c',
    'copy',
    '-metadata:s:v:0',
    'rotate=90',
    portrait,
  ]);
  const f = await probe(portrait, limits);
  assert.deepEqual([f.width, f.height], [240, 320]);
  const single = path.join(dir, 'portrait-1.jpg');
  assert.equal(await extractKeyframe(portrait, 3, 6, single, limits), true);
  assert.equal(await size(single), '240,320');
  // 320x240 pixels each 2:1 wide, i.e. a 640x240 picture (as a 16:9 DVD stores it).
  const wide = path.join(dir, 'anamorphic.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', sample.path, '-c:v', 'libx264', '-vf', 'setsar=2', '-an', wide]);
  const batch = await extractKeyframes(
    wide,
    [{ start: 3, end: 6, outPath: path.join(dir, 'wide-b.jpg') }],
    dir,
    limits,
  );
  assert.deepEqual(batch.written, [true]);
  assert.equal(await size(path.join(dir, 'wide-b.jpg')), '640,240');
  assert.equal(await extractKeyframe(wide, 3, 6, path.join(dir, 'wide-1.jpg'), limits), true);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'wide-1.jpg')), fs.readFileSync(path.join(dir, 'wide-b.jpg')));
});

test('a still picture over longer sound ends where its stream says, in MP4 and in Matroska (a DURATION tag)', async () => {
  const still = path.join(dir, 'still.png');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '4', '-i', sample.path, '-frames:v', '1', still]);
  for (const ext of ['mp4', 'mkv']) {
    const file = path.join(dir, `still-over-sound.${ext}`);
    execFileSync('ffmpeg', [
      ...['-v', 'error', '-y', '-i', still, '-i', sample.path, '-map', '0:v', '-map', '1:a'],
      ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', file],
    ]);
    const f = await probe(file, limits);
    assert.ok(f.pictureS < 0.2 && f.durationS > 14, `${ext}: picture ${f.pictureS} s of ${f.durationS} s`);
    const window = { startS: 0, endS: f.durationS, totalS: f.durationS };
    await assertFullyDecoded(file, await detectScenes(file, 0.3, limits), window, limits);
    // Every span shows the held picture; one extraction serves them all.
    const reqs = [0, 5, 10].map((t) => ({ start: t, end: t + 5, outPath: path.join(dir, `held-${ext}-${t}.jpg`) }));
    const batch = await extractKeyframes(file, reqs, dir, limits);
    assert.deepEqual(batch.written, [true, true, true], ext);
    const one = path.join(dir, `held-${ext}-single.jpg`);
    assert.equal(await extractKeyframe(file, 10, 15, one, limits), true);
    assert.deepEqual(fs.readFileSync(one), fs.readFileSync(reqs[2]!.outPath), `${ext}: the same JPEG either way`);
  }
});

test('a picture whose stream states no length ends where its packets do, unless the file is cut short', async () => {
  const still = path.join(dir, 'still-nolength.png');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '4', '-i', sample.path, '-frames:v', '1', still]);
  // A still over a talk written live (a browser's MediaRecorder: no duration
  // anywhere in the header), and in Matroska whose DURATION tags are renamed
  // (as files from tools that write none): neither stream states its length.
  const live = path.join(dir, 'still-live.webm');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-i', still, '-i', sample.path, '-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libvpx-vp9', '-c:a', 'libopus', '-live', '1', '-f', 'webm', live],
  ]);
  const untagged = (from: string, to: string, keep = 1) => {
    const b = fs.readFileSync(from);
    const renamed = Buffer.from(b.toString('latin1').replaceAll('DURATION', 'DURATIOX'), 'latin1');
    fs.writeFileSync(to, renamed.subarray(0, Math.floor(renamed.length * keep)));
  };
  const tagged = path.join(dir, 'still-tagged.mkv');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-i', still, '-i', sample.path, '-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', tagged],
  ]);
  const mkv = path.join(dir, 'still-untagged.mkv');
  untagged(tagged, mkv);
  for (const file of [live, mkv]) {
    const f = await probe(file, limits);
    assert.ok(f.pictureS < 0.2 && f.durationS > 14, `${file}: picture ${f.pictureS} s of ${f.durationS} s`);
    const window = { startS: 0, endS: f.durationS, totalS: f.durationS };
    await assertFullyDecoded(file, await detectScenes(file, 0.3, limits), window, limits);
    const reqs = [0, 5, 10].map((t) => ({ start: t, end: t + 5, outPath: `${file}-${t}.jpg` }));
    assert.deepEqual((await extractKeyframes(file, reqs, dir, limits)).written, [true, true, true], file);
  }
  // A moving picture in untagged Matroska, cut in half: every stream stops
  // at 6 s of the 15 s the header states, so it is truncated, not a still.
  const moving = path.join(dir, 'moving.mkv');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', sample.path, '-map', '0:v', '-map', '0:a', '-c', 'copy', moving]);
  const half = path.join(dir, 'moving-half-untagged.mkv');
  untagged(moving, half, 0.5);
  const f = await probe(half, limits);
  assert.equal(f.pictureS, f.durationS);
  await assert.rejects(
    assertFullyDecoded(
      half,
      await detectScenes(half, 0.3, limits),
      { startS: 0, endS: f.durationS, totalS: f.durationS },
      limits,
    ),
    /truncated/,
  );
});

test('HDR video, as phones record it (HLG), becomes SDR keyframes with the colours of the scene', async () => {
  // The mean chroma (max - min of R, G, B) of a frame as the models receive it.
  const saturation = async (file: string) => {
    const { data } = await pixels(file);
    let sum = 0;
    for (let i = 0; i < data.length; i += 3) {
      const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
      sum += Math.max(r, g, b) - Math.min(r, g, b);
    }
    return sum / (data.length / 3);
  };
  // The sample's SDR picture converted to 10-bit BT.2020 HLG, tagged as such.
  const hlg = path.join(dir, 'hlg.mp4');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-i', sample.path, '-an', '-vf'],
    'setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv,zscale=t=linear:npl=100,' +
      'format=gbrpf32le,zscale=p=bt2020,zscale=t=arib-std-b67:m=bt2020nc:r=tv:npl=100,format=yuv420p10le',
    ...['-c:v', 'libx265', '-x265-params', 'log-level=error', '-color_primaries', 'bt2020'],
    ...['-color_trc', 'arib-std-b67', '-colorspace', 'bt2020nc', hlg],
  ]);
  const sdr = path.join(dir, 'sdr-red.jpg');
  const single = path.join(dir, 'hlg-red.jpg');
  const asIs = path.join(dir, 'hlg-as-is.jpg');
  assert.equal(await extractKeyframe(sample.path, 0, 3, sdr, limits), true);
  assert.equal(await extractKeyframe(hlg, 0, 3, single, limits), true);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '1', '-i', hlg, '-frames:v', '1', asIs]);
  const [want, got, grey] = [await saturation(sdr), await saturation(single), await saturation(asIs)];
  assert.ok(
    Math.abs(got - want) < Math.abs(grey - want) / 2,
    `saturation ${got} (SDR ${want}, HLG read as SDR ${grey})`,
  );
  const batch = await extractKeyframes(hlg, [{ start: 0, end: 3, outPath: path.join(dir, 'hlg-b.jpg') }], dir, limits);
  assert.deepEqual(batch.written, [true]);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'hlg-b.jpg')), fs.readFileSync(single));
  // The frames the cut pass writes as it decodes are tone-mapped too.
  const d = await detectScenes(hlg, 0.3, limits, undefined, fs.mkdtempSync(path.join(dir, 'hlg-capture-')));
  const captured = d.captured.get(d.textSamples[0]!);
  assert.ok(captured, `no frame written for the sample at ${d.textSamples[0]} s`);
  const passed = await saturation(captured);
  assert.ok(Math.abs(passed - want) < Math.abs(grey - want) / 2, `saturation ${passed} (SDR ${want}, as SDR ${grey})`);
});

test('keyframes for many spans come from one ffmpeg run per round and are the JPEGs extractKeyframe writes', async () => {
  // Moving pictures (no two frames alike) at 30 fps, fading through black at 11 s; the same
  // stream in Matroska, whose millisecond timestamps round every frame time.
  const mp4 = (await generateTransitions(path.join(dir, 'moving.mp4'), { fps: 30, width: 320, height: 180 })).path;
  const mkv = path.join(dir, 'moving.mkv');
  assert.equal((await runTool('ffmpeg', ['-v', 'error', '-i', mp4, '-c', 'copy', '-y', mkv], limits)).code, 0);
  const counted = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const [r, starts] = await ffmpegStarts(fn);
    return [r, starts.length];
  };
  const spans = [
    [0, 5],
    [5, 8], // a third in is 6.000 s, exactly a frame's time
    [5.5, 5.7],
    [6, 6.2],
    [8, 10],
    [10.8, 11.4], // black at a third and a half in, not at two thirds
    [10.95, 11.05], // black throughout: the last candidate is kept
    [12, 16.5],
    [0.1, 0.3],
    [0.11, 0.31], // a third in falls between the same two frames as the span above: one frame for both
    [19.9, 20.1],
  ] as const;
  const hash = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f).toString('base64') : null);
  for (const file of [mp4, mkv]) {
    const reqs = spans.map(([start, end], i) => ({ start, end, outPath: path.join(dir, `batch-${i}.jpg`) }));
    const [batch, runs] = await counted(() => extractKeyframes(file, reqs, dir, limits));
    let singleRuns = 0;
    let rounds = 0;
    for (const [i, q] of reqs.entries()) {
      const one = path.join(dir, `one-${i}.jpg`);
      fs.rmSync(one, { force: true });
      const [ok, n] = await counted(() => extractKeyframe(file, q.start, q.end, one, limits));
      singleRuns += n;
      rounds = Math.max(rounds, n);
      assert.equal(batch.written[i], ok, `${file} span ${q.start}-${q.end}`);
      assert.ok(hash(one) !== null && hash(one) === hash(q.outPath), `${file} span ${q.start}-${q.end}: same JPEG`);
    }
    // extractKeyframe starts one ffmpeg per candidate it tries; the batch one per round of candidates.
    assert.equal(rounds, 4, 'the all-black span tries every candidate');
    assert.equal(runs, rounds);
    assert.equal(batch.ffmpegRuns, runs);
    assert.ok(singleRuns >= spans.length + 5, `${singleRuns} single runs`);
  }
  // A dense batch (more frames than one select expression may name) is still one process.
  const dense = Array.from({ length: 130 }, (_, i) => ({
    start: 12 + i * 0.05,
    end: 12.1 + i * 0.05,
    outPath: path.join(dir, `dense-${i}.jpg`),
  }));
  const [many, manyRuns] = await counted(() => extractKeyframes(mp4, dense, dir, limits));
  assert.equal(manyRuns, 1);
  assert.ok(many.written.every(Boolean));
  for (const i of [0, 77, 129]) {
    const one = path.join(dir, `dense-one-${i}.jpg`);
    await extractKeyframe(mp4, dense[i]!.start, dense[i]!.end, one, limits);
    assert.equal(hash(one), hash(dense[i]!.outPath), `dense span ${i}: same JPEG`);
  }
  assert.deepEqual(await extractKeyframes(mp4, [], dir, limits), { written: [], at: [], ffmpegRuns: 0 });
});

test('frames in one GOP come from one sequential decode, not a seek each (a recorder with rare keyframes)', async () => {
  // 60 s with a single keyframe, as some screen recorders write.
  const rare = path.join(dir, 'one-gop.mp4');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=60', '-c:v', 'libx264'],
    ...['-preset', 'ultrafast', '-g', '100000', '-x264-params', 'scenecut=0', '-pix_fmt', 'yuv420p', rare],
  ]);
  const detected = await detectScenes(rare, 0.3, limits);
  assert.deepEqual(detected.keyframes, [0], 'the cut pass reports where seeks can start');
  const keyframes = { times: detected.keyframes, from: 0, to: detected.decodedS };
  const reqs = (tag: string) =>
    [5, 15, 25, 35, 45, 55].map((t) => ({ start: t, end: t + 3, outPath: path.join(dir, `gop-${tag}-${t}.jpg`) }));
  const inputs = (starts: string[]) => starts.join(' ').split(' -i ').length - 1;
  const [apart, apartStarts] = await ffmpegStarts(() => extractKeyframes(rare, reqs('apart'), dir, limits));
  const [joined, joinedStarts] = await ffmpegStarts(() =>
    extractKeyframes(rare, reqs('joined'), dir, limits, keyframes),
  );
  assert.deepEqual([apart.written, joined.written], [Array(6).fill(true), Array(6).fill(true)]);
  assert.equal(inputs(apartStarts), 6, 'without the keyframes: a seek (and a decode from 0) per frame');
  assert.equal(inputs(joinedStarts), 1, 'with them: one decode through the GOP');
  for (const t of [5, 35, 55])
    assert.deepEqual(
      fs.readFileSync(path.join(dir, `gop-joined-${t}.jpg`)),
      fs.readFileSync(path.join(dir, `gop-apart-${t}.jpg`)),
      `the same JPEG at ${t} s`,
    );
});

test("a long span's keyframe is the coded keyframe nearest a third in, where the cut pass met one", async () => {
  // Moving pictures with a coded keyframe every 2 s, as filmed footage is encoded.
  const gop = path.join(dir, 'gop-2s.mp4');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=20', '-c:v', 'libx264'],
    ...['-preset', 'ultrafast', '-g', '50', '-x264-params', 'scenecut=0', '-pix_fmt', 'yuv420p', gop],
  ]);
  const detected = await detectScenes(gop, 0.3, limits);
  assert.deepEqual(detected.keyframes, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  const keyframes = { times: detected.keyframes, from: 0, to: detected.decodedS };
  const req = (start: number, end: number, tag: string) => ({ start, end, outPath: path.join(dir, `snap-${tag}.jpg`) });
  const spans = [
    req(1.5, 13.5, 'long'), // a third in is 5.5; keyframes at 6 lie between a quarter (4.5) and half (7.5) in
    req(6.1, 7.9, 'none'), // no keyframe between 6.55 and 7.0: a third in
    req(8.5, 8.9, 'short'), // a text sample's span keeps its time
    req(0, 18, 'third'), // a third in is itself the keyframe at 6
  ];
  const batch = await extractKeyframes(gop, spans, dir, limits, keyframes);
  assert.deepEqual(batch.written, [true, true, true, true]);
  assert.deepEqual(batch.at, [6, 6.7, 8.633, 6]);
  assert.deepEqual(fs.readFileSync(spans[0]!.outPath), fs.readFileSync(spans[3]!.outPath), 'the frame at 6 s');
  // Without the keyframes, a third in as before.
  const plain = await extractKeyframes(gop, [req(1.5, 13.5, 'plain')], dir, limits);
  assert.deepEqual(plain.at, [5.5]);
  assert.notDeepEqual(fs.readFileSync(path.join(dir, 'snap-plain.jpg')), fs.readFileSync(spans[0]!.outPath));
});

test('broken and hostile inputs are refused with a readable reason', async () => {
  const broken = await writeBrokenInputs(dir, sample.path);
  for (const b of broken) {
    // The validate and cut stages' own checks, in their order: probing can
    // succeed on a half file whose index comes first, and decoding must then
    // stop short.
    const err = await probe(b.file, limits)
      .then(async (f) => {
        const window = { startS: 0, endS: f.durationS, totalS: f.durationS };
        await assertFullyDecoded(b.file, await detectScenes(b.file, 0.3, limits), window, limits);
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof MediaInputError, `${b.name}: expected a MediaInputError, got ${err}`);
    assert.match((err as Error).message, b.error, b.name);
  }
});

test('ffmpeg runs are killed at the timeout and on abort', async () => {
  const slow = ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=d=600:r=1000', '-f', 'null', '-'];
  await assert.rejects(
    runTool('ffmpeg', slow, { timeoutS: 0.5, maxMemoryMb: 0 }),
    (e: unknown) => e instanceof MediaRunError && /timed out/.test((e as Error).message),
  );
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  await assert.rejects(runTool('ffmpeg', slow, { timeoutS: 60, maxMemoryMb: 0, signal: ac.signal }), /aborted/);
});

test('a caller that has read enough ends a run as done, not as a failure', async () => {
  const slow = ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=d=600:r=1000', '-f', 'null', '-'];
  // As detectScenes does: stop once frames arrive (ffmpeg then handles SIGINT; a signal
  // sent while it is still starting kills it outright).
  const frames = ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=d=600:r=1000:s=64x36', '-f', 'rawvideo', '-'];
  const enough = new AbortController();
  const t0 = performance.now();
  const r = await runTool(
    'ffmpeg',
    frames,
    { timeoutS: 60, maxMemoryMb: 0 },
    { enough: enough.signal, onStdout: () => enough.abort() },
  );
  assert.equal(r.ended, true);
  // detectScenes counts on this: ffmpeg stops on SIGINT by closing its outputs and exiting 255.
  assert.equal(r.code, 255, r.stderr);
  assert.ok(performance.now() - t0 < 30_000);
  // A signal aborted before the run starts ends it too, still without a rejection.
  const early = new AbortController();
  early.abort();
  const r2 = await runTool('ffmpeg', slow, { timeoutS: 60, maxMemoryMb: 0 }, { enough: early.signal });
  assert.equal(r2.ended, true);
  // Without the signal a run is not ended.
  assert.equal((await runTool('ffmpeg', ['-v', 'error', '-version'], limits)).ended, false);
});

test('the memory cap makes a greedy run fail instead of growing', async () => {
  // 64 MB of address space is not enough for ffmpeg to even start decoding.
  const r = await runTool('ffmpeg', ['-v', 'error', '-i', sample.path, '-f', 'null', '-'], {
    timeoutS: 30,
    maxMemoryMb: 64,
  });
  assert.notEqual(r.code, 0);
  const ok = await runTool('ffmpeg', ['-v', 'error', '-i', sample.path, '-f', 'null', '-'], {
    timeoutS: 30,
    maxMemoryMb: 4096,
  });
  assert.equal(ok.code, 0);
});

test('ffmpeg and ffprobe run with huge pages asked of malloc, unless the operator chose otherwise', async () => {
  // A stand-in ffprobe first on the PATH prints the tunables it was started with.
  const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
  fs.writeFileSync(path.join(bin, 'ffprobe'), '#!/bin/sh\necho "tunables=$GLIBC_TUNABLES"\n', { mode: 0o755 });
  const saved = { PATH: process.env.PATH, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES };
  const seen = async () => (await runTool('ffprobe', [], limits)).stdout.toString().trim();
  try {
    process.env.PATH = `${bin}:${process.env.PATH}`;
    delete process.env.GLIBC_TUNABLES;
    assert.equal(await seen(), 'tunables=glibc.malloc.hugetlb=1');
    process.env.GLIBC_TUNABLES = 'glibc.malloc.arena_max=2';
    assert.equal(await seen(), 'tunables=glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    process.env.GLIBC_TUNABLES = 'glibc.malloc.hugetlb=0';
    assert.equal(await seen(), 'tunables=glibc.malloc.hugetlb=0');
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('Matroska with a SubRip track passes the demuxer allow-list and keeps its cuts and cues', async () => {
  const mkv = await generateSampleVideo(path.join(dir, 'sample.mkv'));
  const f = await probe(mkv.path, limits);
  assert.match(f.container, /matroska/);
  assert.deepEqual(
    f.subtitleStreams.map((s) => s.codec),
    ['subrip'],
  );
  const d = await detectScenes(mkv.path, 0.3, limits);
  assert.equal(d.cuts.length, mkv.cuts.length);
  d.cuts.forEach((c, i) => assert.ok(Math.abs(c - mkv.cuts[i]!) <= 0.5));
  assert.equal(
    parseSubtitles((await extractSubtitles(mkv.path, f.subtitleStreams[0]!, limits))!).length,
    mkv.subtitles.length,
  );
});

test('a keyframe is the frame when it is a JPEG at most 768 wide, else a JPEG copy at most 768 wide; an unreadable frame stays as it is', async () => {
  const wide = path.join(dir, 'wide.jpg');
  const narrow = path.join(dir, 'narrow.jpg');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=1280x720', '-frames:v', '1', '-y', wide]);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x360', '-frames:v', '1', '-y', narrow]);
  const copy = path.join(dir, 'wide-key.jpg');
  assert.equal(await keyframeOf(wide, copy), copy);
  const size = await runTool(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', copy],
    {
      timeoutS: 30,
      maxMemoryMb: 0,
    },
  );
  assert.equal(size.stdout.toString().trim(), '768,432');
  assert.equal(await keyframeOf(narrow, path.join(dir, 'narrow-key.jpg')), narrow);
  const broken = path.join(dir, 'broken.jpg');
  fs.writeFileSync(broken, 'not a picture');
  assert.equal(await keyframeOf(broken, path.join(dir, 'broken-key.jpg')), broken);
  // A captured frame (RGB) is stored as a JPEG whatever its width, of the same picture.
  for (const size of ['640x360', '1280x720']) {
    const frame = ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=s=${size}`, '-frames:v', '1'];
    const rgb = path.join(dir, `rgb-${size}.frame`);
    const jpg = path.join(dir, `rgb-${size}-as-jpeg.jpg`);
    execFileSync('ffmpeg', [...frame, '-c:v', 'ppm', '-f', 'image2', '-y', rgb]);
    execFileSync('ffmpeg', [...frame, '-vf', "scale=w='min(768,iw)':h=-2", '-q:v', '2', '-y', jpg]);
    const key = path.join(dir, `rgb-${size}-key.jpg`);
    assert.equal(await keyframeOf(rgb, key), key);
    assert.equal(fs.readFileSync(key).subarray(0, 2).toString('hex'), 'ffd8', 'a JPEG');
    const db = await psnr(key, jpg);
    assert.ok(db >= SAME_PICTURE_DB, `${size}: ${db} dB from ffmpeg's own JPEG`);
  }
});

test("a frame the cut pass wrote raw becomes the RGB ffmpeg's own conversion makes; anything else is no such frame", async () => {
  const raw = path.join(dir, 'planes.pgm');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=322x180', '-frames:v', '1'],
    ...['-c:v', 'pgmyuv', '-y', raw],
  ]);
  const rgb = path.join(dir, 'planes.ppm');
  assert.equal(await rgbFrame(raw, rgb), true);
  const want = execFileSync('ffmpeg', [
    ...['-v', 'error', '-c:v', 'pgmyuv', '-i', raw, '-sws_flags', 'neighbor+accurate_rnd+full_chroma_int'],
    ...['-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'],
  ]);
  const got = await frameImage(rgb);
  assert.ok(typeof got !== 'string' && !Buffer.isBuffer(got));
  assert.deepEqual([got.width, got.height], [322, 180]);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - got.data[i]!));
  assert.ok(worst <= 2, `a channel ${worst} away from ffmpeg's`);
  // A truncated frame, or not a frame at all, is refused; a JPEG is left to its reader.
  const cut = path.join(dir, 'planes-cut.pgm');
  fs.writeFileSync(cut, fs.readFileSync(raw).subarray(0, 1000));
  assert.equal(await rgbFrame(cut, path.join(dir, 'cut.ppm')), false);
  const jpg = path.join(dir, 'planes.jpg');
  execFileSync('ffmpeg', ['-v', 'error', '-c:v', 'pgmyuv', '-i', raw, '-y', jpg]);
  assert.equal(await rgbFrame(jpg, path.join(dir, 'x.ppm')), false);
  assert.equal(await frameImage(jpg), jpg);
});
