/*
 * Browser-playable copies. Browsers play H.264 (8-bit 4:2:0), VP8, VP9 and
 * AV1 with AAC, MP3, Opus or Vorbis, in MP4 or WebM; a file outside that is
 * either refused (MPEG-TS, AVI, WMV, FLV, MPEG-PS) or, worse, played as sound
 * over a black picture (HEVC, MPEG-4 Part 2, ProRes in MP4/MOV: Chromium
 * reports no error then). Such a video gets a copy: H.264 + AAC in MP4, at
 * most 720p, made in parts of INDEX_CHUNK_S so no job runs long and several
 * workers can share one video; the parts are then joined without
 * re-encoding and the sound added. A file whose picture already plays and
 * whose container or sound does not is only repackaged (no re-encode).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { toSdrFilter, type Hdr } from './frames.ts';
import { MediaInputError, runTool, safeInput, stderrSummary, type RunLimits } from './run.ts';

/** What a video needs to play in a browser. */
export type PlaybackPlan = 'original' | 'remux' | 'transcode';

/** The probe facts the plan and the copy depend on. */
export interface PlaybackFacts {
  container: string;
  videoCodec: string;
  pixFmt: string | null;
  audioCodec: string | null;
  /** The picture as shown (after rotation), in stored pixels. */
  width: number;
  height: number;
  /** Pixel aspect ratio (1 for square pixels). */
  sar: number;
  hdr: Hdr | null;
}

const MP4_FAMILY = /(^|,)mp4(,|$)/;
const WEBM = /(^|,)webm(,|$)/;
/** 8-bit 4:2:0, the one H.264 layout every browser and hardware decoder takes. */
const H264_PIXELS = new Set(['yuv420p', 'yuvj420p']);
const MP4_AUDIO = new Set(['aac', 'mp3']);
const WEBM_AUDIO = new Set(['opus', 'vorbis']);

export function playbackPlan(f: PlaybackFacts): PlaybackPlan {
  const h264 = f.videoCodec === 'h264' && H264_PIXELS.has(f.pixFmt ?? '');
  const webmVideo = ['vp8', 'vp9', 'av1'].includes(f.videoCodec);
  // HDR H.264 is rare and shown washed out where it plays at all; HDR in VP9/AV1 browsers tone-map.
  if (!(h264 && !f.hdr) && !webmVideo) return 'transcode';
  const audio = f.audioCodec;
  if (MP4_FAMILY.test(f.container) && (audio === null || MP4_AUDIO.has(audio) || (webmVideo && audio === 'opus')))
    return 'original';
  if (WEBM.test(f.container) && webmVideo && (audio === null || WEBM_AUDIO.has(audio))) return 'original';
  return 'remux';
}

/**
 * How many parts a copy of pictureS seconds of picture is made in: one per
 * partS, the last also taking a remainder under a quarter of partS (a part
 * of a few frames costs a job for nothing).
 */
export function playbackParts(pictureS: number, partS: number): number {
  return Math.max(1, Math.ceil(pictureS / partS - 0.25));
}

/** Where part n of `parts` starts, and how long it is (null: to the end of the picture). */
export function partRange(part: number, parts: number, partS: number): { startS: number; lengthS: number | null } {
  return { startS: part * partS, lengthS: part === parts - 1 ? null : partS };
}

/** Longest side and shortest side of a copy's picture: 720p, never upscaled. */
const BOX = [1280, 720] as const;

/** The copy's picture size: the picture as shown, square pixels, within 1280x720 (or 720x1280), even. */
export function copySize(f: Pick<PlaybackFacts, 'width' | 'height' | 'sar'>): { width: number; height: number } {
  const w = f.width * (f.sar > 0 && Number.isFinite(f.sar) ? f.sar : 1);
  const h = f.height;
  const [maxW, maxH] = w >= h ? BOX : [BOX[1], BOX[0]];
  const k = Math.min(1, maxW / w, maxH / h);
  const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
  return { width: even(w * k), height: even(h * k) };
}

/** A keyframe every 2 s of the copy, so a seek to a moment decodes little. */
const KEYFRAME_EVERY = 'expr:gte(t,n_forced*2)';

/**
 * The picture of [startS, startS + lengthS) as H.264 in MP4, without sound.
 * Input seeking decodes from the keyframe before startS and keeps the frames
 * from startS on, so the part's clock starts at 0 at startS and parts laid
 * end to end give the video's own clock back.
 */
export async function transcodePart(
  file: string,
  f: PlaybackFacts,
  /** lengthS null: to the end of the picture (the last part). */
  range: { startS: number; lengthS: number | null },
  out: string,
  limits: RunLimits,
): Promise<void> {
  const { width, height } = copySize(f);
  const filter = `scale=${width}:${height},setsar=1${f.hdr ? `,${toSdrFilter(f.hdr)}` : ''},format=yuv420p`;
  const where =
    range.lengthS === null
      ? `from ${range.startS.toFixed(0)} s on`
      : `of ${range.startS.toFixed(0)}-${(range.startS + range.lengthS).toFixed(0)} s`;
  // The encoder takes every core: a copy job runs on its own, and x264's
  // threads scale where a decoder's do not.
  const r = await runTool(
    'ffmpeg',
    [
      ...['-v', 'error', '-ss', range.startS.toFixed(3)],
      ...safeInput(file),
      ...(range.lengthS === null ? [] : ['-t', range.lengthS.toFixed(3)]),
      ...['-an', '-sn', '-dn', '-vf', filter],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-profile:v', 'high', '-pix_fmt', 'yuv420p'],
      ...['-force_key_frames', KEYFRAME_EVERY, '-f', 'mp4', '-y', `file:${out}`],
    ],
    limits,
  );
  if (r.code !== 0)
    throw new MediaInputError(`A browser-playable copy could not be made ${where} (${stderrSummary(r.stderr, 1)}).`);
  if (!(await hasVideoPackets(out, limits)))
    throw new MediaInputError(`The browser-playable copy ${where} came out without a picture.`);
}

async function hasVideoPackets(file: string, limits: RunLimits): Promise<boolean> {
  const r = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      `file:${file}`,
    ],
    limits,
  );
  return r.code === 0 && Number(r.stdout.toString('utf8').trim()) > 0;
}

/** Sound as browsers take it in MP4: AAC and MP3 as they are, anything else as stereo AAC. */
function audioArgs(audioCodec: string | null): string[] {
  if (audioCodec === null) return ['-an'];
  return MP4_AUDIO.has(audioCodec) ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '160k', '-ac', '2'];
}

/**
 * The finished copy, as MP4 with its index at the front (a browser starts
 * playing, and seeks, before it has the whole file): the parts joined
 * without re-encoding and the sound of the original added, or, for a
 * remux, the original's picture as it is. Each part's length is stated to
 * the joiner, so the clock of part n starts exactly at n × partS whatever
 * length its last frame gives it.
 */
export async function assembleCopy(
  file: string,
  f: PlaybackFacts,
  plan: Exclude<PlaybackPlan, 'original'>,
  /** lengthS: where the next part starts on the copy's clock; null for the last part. */
  parts: { file: string; lengthS: number | null }[],
  out: string,
  workDir: string,
  limits: RunLimits,
): Promise<void> {
  let args: string[];
  if (plan === 'remux') {
    // One input: ffmpeg picks its picture and sound as every other stage does.
    args = [...safeInput(file), '-sn', '-dn', '-c:v', 'copy', ...audioArgs(f.audioCodec)];
  } else {
    const list = path.join(workDir, 'parts.txt');
    const quote = (p: string) => `'${p.replaceAll("'", "'\\''")}'`;
    await fs.writeFile(
      list,
      parts
        .map((p) => `file ${quote(p.file)}\n${p.lengthS === null ? '' : `duration ${p.lengthS.toFixed(6)}\n`}`)
        .join(''),
    );
    args = [
      ...['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file', '-i', `file:${list}`],
      ...safeInput(file),
      ...['-map', '0:v:0', ...(f.audioCodec === null ? [] : ['-map', '1:a:0']), '-c:v', 'copy'],
      ...audioArgs(f.audioCodec),
    ];
  }
  const r = await runTool(
    'ffmpeg',
    ['-v', 'error', ...args, '-movflags', '+faststart', '-f', 'mp4', '-y', `file:${out}`],
    limits,
  );
  if (r.code !== 0)
    throw new MediaInputError(`The browser-playable copy could not be put together (${stderrSummary(r.stderr, 1)}).`);
}
