/*
 * Browser-playable copies against the real ffmpeg: which files need one,
 * and that a copy made in parts and joined keeps the video's clock, so a
 * scene's times point at the same picture in the copy as in the upload.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  assembleCopy,
  partRange,
  playbackParts,
  playbackPlan,
  probe,
  transcodePart,
} from '../../worker/media/index.ts';
import { copySize, type PlaybackFacts } from '../../worker/media/playback.ts';
import { generateSampleVideo, type SampleVideo } from '../fixtures/videos.ts';

const limits = { timeoutS: 120, maxMemoryMb: 4096 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-playback-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let sample: SampleVideo;
before(async () => {
  sample = await generateSampleVideo(path.join(dir, 'sample.mp4'));
});

const mp4 = 'mov,mp4,m4a,3gp,3g2,mj2';
const facts = (o: Partial<PlaybackFacts>): PlaybackFacts => ({
  container: mp4,
  videoCodec: 'h264',
  pixFmt: 'yuv420p',
  audioCodec: 'aac',
  width: 1920,
  height: 1080,
  sar: 1,
  hdr: null,
  ...o,
});

test('what plays as uploaded, what is repackaged and what is encoded again', () => {
  const hlg = { transfer: 'arib-std-b67', primaries: 'bt2020', matrix: 'bt2020nc' } as const;
  const cases: [Partial<PlaybackFacts>, string][] = [
    [{}, 'original'],
    [{ audioCodec: null }, 'original'],
    [{ audioCodec: 'mp3' }, 'original'],
    [{ container: 'matroska,webm', videoCodec: 'vp9', pixFmt: 'yuv420p', audioCodec: 'opus' }, 'original'],
    [{ container: mp4, videoCodec: 'av1', audioCodec: 'opus' }, 'original'],
    // The picture plays; the container or the sound does not.
    [{ container: 'matroska,webm' }, 'remux'],
    [{ container: 'mpegts' }, 'remux'],
    [{ container: 'flv' }, 'remux'],
    [{ audioCodec: 'ac3' }, 'remux'],
    [{ audioCodec: 'pcm_s16le' }, 'remux'],
    // The picture itself does not play everywhere (Chromium shows HEVC, MPEG-4 Part 2 and ProRes as sound over black).
    [{ videoCodec: 'hevc' }, 'transcode'],
    [{ videoCodec: 'mpeg4' }, 'transcode'],
    [{ videoCodec: 'prores', pixFmt: 'yuv422p10le' }, 'transcode'],
    [{ container: 'mpeg', videoCodec: 'mpeg2video', audioCodec: 'mp2' }, 'transcode'],
    [{ container: 'asf', videoCodec: 'wmv2', audioCodec: 'wmav2' }, 'transcode'],
    [{ pixFmt: 'yuv420p10le' }, 'transcode'],
    [{ pixFmt: 'yuv444p' }, 'transcode'],
    [{ hdr: hlg }, 'transcode'],
  ];
  for (const [o, plan] of cases) assert.equal(playbackPlan(facts(o)), plan, JSON.stringify(o));
});

test('a copy is at most 720p the way the picture is shown, never larger than it, in even sizes', () => {
  assert.deepEqual(copySize({ width: 3840, height: 2160, sar: 1 }), { width: 1280, height: 720 });
  assert.deepEqual(copySize({ width: 1080, height: 1920, sar: 1 }), { width: 720, height: 1280 });
  assert.deepEqual(copySize({ width: 640, height: 360, sar: 1 }), { width: 640, height: 360 });
  // PAL DVD, 720x576 pixels shown 16:9: 1024x576 square.
  assert.deepEqual(copySize({ width: 720, height: 576, sar: 64 / 45 }), { width: 1024, height: 576 });
  assert.deepEqual(copySize({ width: 321, height: 241, sar: 1 }), { width: 322, height: 242 });
});

test('parts: one per part length, the last taking a short remainder, and where each starts', () => {
  assert.equal(playbackParts(15, 300), 1);
  assert.equal(playbackParts(600, 300), 2);
  assert.equal(playbackParts(650, 300), 2, '50 s left over is under a quarter');
  assert.equal(playbackParts(700, 300), 3);
  assert.deepEqual(partRange(0, 3, 300), { startS: 0, lengthS: 300 });
  assert.deepEqual(partRange(2, 3, 300), { startS: 600, lengthS: null });
});

/** The mean colour of the frame shown at t, as RGB. */
function colourAt(file: string, t: number): number[] {
  const raw = execFileSync('ffmpeg', [
    ...['-v', 'error', '-ss', t.toFixed(3), '-i', file, '-frames:v', '1'],
    ...['-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
  ]);
  return [...raw.subarray(0, 3)];
}

function streams(file: string): { codec_name: string; codec_type: string; pix_fmt?: string }[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
  return (JSON.parse(out) as { streams: { codec_name: string; codec_type: string; pix_fmt?: string }[] }).streams;
}

async function copyOf(input: string, partS: number): Promise<string> {
  const f = await probe(input, limits);
  const plan = playbackPlan(f);
  assert.notEqual(plan, 'original');
  const parts = [];
  if (plan === 'transcode') {
    const n = playbackParts(f.pictureS, partS);
    for (let i = 0; i < n; i++) {
      const file = path.join(dir, `${path.basename(input)}-part-${i}.mp4`);
      await transcodePart(input, f, partRange(i, n, partS), file, limits);
      parts.push({ file, lengthS: i === n - 1 ? null : partS });
    }
  }
  const out = path.join(dir, `${path.basename(input)}-copy.mp4`);
  await assembleCopy(input, f, plan === 'transcode' ? 'transcode' : 'remux', parts, out, dir, limits);
  return out;
}

test('an MPEG-2 tape copied in three parts plays as H.264 with AAC, with every cut where it was', async () => {
  const tape = path.join(dir, 'tape.mpg');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    sample.path,
    '-c:v',
    'mpeg2video',
    '-q:v',
    '3',
    '-c:a',
    'mp2',
    tape,
  ]);
  const copy = await copyOf(tape, 5);
  const s = streams(copy);
  assert.deepEqual(
    s.map((x) => [x.codec_type, x.codec_name, x.pix_fmt ?? null]),
    [
      ['video', 'h264', 'yuv420p'],
      ['audio', 'aac', null],
    ],
  );
  const [src, out] = [await probe(tape, limits), await probe(copy, limits)];
  assert.ok(Math.abs(out.durationS - src.durationS) < 0.15, `${out.durationS} vs ${src.durationS}`);
  // Each side of each cut shows the same scene in the copy as in the MP4 the
  // tape was made from (seeking in MPEG-PS itself is not frame-exact); cuts
  // at 6 and 12 lie inside parts 1 and 2 (5-10, 10-end).
  for (const cut of sample.cuts)
    for (const t of [cut - 0.2, cut + 0.2]) {
      const [a, b] = [colourAt(sample.path, t), colourAt(copy, t)];
      assert.ok(
        a.every((v, i) => Math.abs(v - b[i]!) < 40),
        `at ${t} s: the copy shows ${b.join(',')}, the original ${a.join(',')}`,
      );
    }
});

test('H.264 in Matroska with AC-3 sound is repackaged: the same picture packets, the sound made AAC', async () => {
  const mkv = path.join(dir, 'obs.mkv');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', sample.path, '-c:v', 'copy', '-c:a', 'ac3', mkv]);
  const copy = await copyOf(mkv, 5);
  assert.deepEqual(
    streams(copy).map((x) => [x.codec_type, x.codec_name]),
    [
      ['video', 'h264'],
      ['audio', 'aac'],
    ],
  );
  const packets = (file: string) =>
    execFileSync(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', file],
      {
        encoding: 'utf8',
      },
    );
  assert.equal(packets(copy), packets(sample.path), 'not encoded again');
});

test('an HDR phone video (10-bit HEVC, HLG) becomes an SDR 8-bit copy with its colours', async () => {
  // The sample converted to 10-bit BT.2020 HLG and tagged as such, as phones record.
  const hlg = path.join(dir, 'hlg.mov');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-i', sample.path, '-vf'],
    'setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv,zscale=t=linear:npl=100,' +
      'format=gbrpf32le,zscale=p=bt2020,zscale=t=arib-std-b67:m=bt2020nc:r=tv:npl=100,format=yuv420p10le',
    ...['-c:v', 'libx265', '-x265-params', 'log-level=error', '-color_primaries', 'bt2020'],
    ...['-color_trc', 'arib-std-b67', '-colorspace', 'bt2020nc', '-tag:v', 'hvc1', '-c:a', 'copy', hlg],
  ]);
  const copy = await copyOf(hlg, 300);
  assert.deepEqual(
    streams(copy).map((x) => [x.codec_type, x.codec_name, x.pix_fmt ?? null]),
    [
      ['video', 'h264', 'yuv420p'],
      ['audio', 'aac', null],
    ],
  );
  // Red, then blue, as in the SDR original: tone-mapped, red comes out
  // 190,11,18; read as SDR it is 138,60,38, washed out.
  const [red, blue] = [colourAt(copy, 1), colourAt(copy, 4)];
  assert.ok(red[0]! > 4 * red[1]! && red[0]! > 4 * red[2]!, `red scene: ${red.join(',')}`);
  assert.ok(blue[2]! > 4 * blue[0]! && blue[2]! > 4 * blue[1]!, `blue scene: ${blue.join(',')}`);
});
