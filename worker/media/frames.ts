/*
 * Representative frames (keyframes, the frames OCR and the face model read)
 * as JPEGs, or as RGB where the cut pass captured them (SettledCapture,
 * frameImage). extractKeyframe takes one span in one ffmpeg process, seeking
 * to it; extractKeyframes takes all the spans a stage needs in one process
 * and picks exactly the same frames: starting ffmpeg costs about as much as
 * decoding a second of 720p, and a stage asks for tens of frames. Told
 * where the coded keyframes are, it moves a long span's frame onto one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { sharpOf, type ImageInput } from '../ml/image.ts';
import { runTool, safeInput, type RunLimits } from './run.ts';

/**
 * A frame counts as black when its average luma is near limited-range black
 * (16) and nothing in it is bright: a dark shot with a white caption (navy
 * behind a title averages about 19) is a keyframe worth keeping and reading.
 */
const BLACK_YAVG = 24;
const BLACK_YMAX = 48;
/** Where in a span the frames tried in turn lie: a third in (past fades and transitions), then later ones. */
const CANDIDATES = [1 / 3, 1 / 2, 2 / 3, 0.1];
/**
 * Downscale and the luma statistics the black test reads, the same in both
 * extractors. Pixels that are not square (DVDs, DV, broadcast: 720x576
 * shown as 4:3 or 16:9) are made square, since a JPEG's aspect field is
 * ignored by browsers and image models alike; square ones scale as before.
 * HDR video (what phones record by default: HLG, or PQ) is tone-mapped to
 * SDR after the downscale; read as SDR its picture is grey and washed out,
 * which is what the thumbnails, the image model, OCR and faces would see.
 * Mobius keeps colours within SDR's range as they are and compresses only
 * highlights: the test sample converted to HLG comes back with 0.77 of the
 * SDR picture's mean saturation (hable: 0.58; read as SDR: 0.38).
 * At most FRAME_MAX_W wide, for OCR; keyframes are made from such frames
 * (keyframeOf).
 * With `print` (a metadata filter that logs, e.g. metadata=print), the
 * frame's luma statistics are measured on a copy of a quarter of its width
 * (2 pixels at least each way), box-filtered (area), and logged there; the
 * frame itself goes on unchanged. signalstats also measures chroma,
 * saturation and hue, which made it most of the cost of writing a captured
 * 1280 px frame (0.57 of 4.2 CPU-s for the fast-cut benchmark clip at full
 * size, 0.27 at half width, BENCHMARKS.md). A box filter keeps the average,
 * and anything bright enough to matter stays so: a white dot of 3x3 pixels
 * (235) on black (16), wherever it lies, puts 2x2 of them into one 4x4 box,
 * which reads 71, above BLACK_YMAX, and so does a caption's stroke 2 pixels
 * wide; a lone white pixel (30) does not, and a frame black but for it
 * counts as black. `id` names the labels of the two branches, which must be
 * unique within one graph. The chain ends where the frame leaves it, so a
 * caller can append a label.
 */
function frameFilter(hdr: Hdr | null, print?: string, id = 'frame'): string {
  const scale = `scale=w='min(${FRAME_MAX_W},iw*sar)':h='if(eq(sar,1),-2,trunc(ow/dar/2)*2)',setsar=1`;
  const frame = `${scale}${hdr ? `,${toSdrFilter(hdr)}` : ''}`;
  if (!print) return frame;
  return (
    `${frame},split[${id}_out][${id}_stats];` +
    `[${id}_stats]scale=w='max(2,trunc(iw/8)*2)':h='max(2,trunc(ow*ih/iw/2)*2)':flags=area,signalstats,${print},nullsink;[${id}_out]null`
  );
}

/** HDR to SDR as above; placed after a downscale, where it costs least. */
export function toSdrFilter(hdr: Hdr): string {
  return (
    `zscale=tin=${hdr.transfer}:pin=${hdr.primaries}:min=${hdr.matrix}:t=linear:npl=100,format=gbrpf32le,` +
    'zscale=p=bt709,tonemap=tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p'
  );
}

/** The colour facts of an HDR stream, as zscale names them. */
export interface Hdr {
  transfer: 'smpte2084' | 'arib-std-b67';
  primaries: string;
  matrix: string;
}

const ZSCALE_PRIMARIES = new Set(['bt709', 'bt2020', 'smpte432', 'smpte431']);
const ZSCALE_MATRICES = new Set(['bt709', 'bt2020nc', 'bt2020c']);

export function hdrOf(
  s: { color_transfer?: string; color_primaries?: string; color_space?: string } | undefined,
): Hdr | null {
  const transfer = s?.color_transfer;
  if (transfer !== 'smpte2084' && transfer !== 'arib-std-b67') return null;
  // HDR is BT.2020 unless the stream says otherwise in a way zscale knows.
  return {
    transfer,
    primaries: ZSCALE_PRIMARIES.has(s?.color_primaries ?? '') ? s!.color_primaries! : 'bt2020',
    matrix: ZSCALE_MATRICES.has(s?.color_space ?? '') ? s!.color_space! : 'bt2020nc',
  };
}

// The codec named: a frame's file name need not end in .jpg (frameImage).
const JPEG_OUTPUT = ['-c:v', 'mjpeg', '-q:v', '3'];

/**
 * The widest frame extracted. Screen recordings are 1080p and up with text
 * of 12-16 px: at 768 wide that is 5-6 px, and PP-OCR read a 1080p frame's
 * 12 px line not at all and its 14-20 px lines garbled ("SELECT N", "git
 * conmit", "npn install"); at 1280 every line right. The OCR of a 720p
 * video takes ~40 % longer, a tenth of its indexing time without models
 * (BENCHMARKS.md). The detector looks at 960 px at most (worker/ml/ocr.ts);
 * recognition reads each line from the frame as extracted.
 */
export const FRAME_MAX_W = 1280;
/** The widest keyframe: what is stored, shown as a thumbnail, embedded and searched for faces. */
export const KEYFRAME_MAX_W = 768;
/**
 * The capture's gates (SettledCapture). Settled: scdet's mean absolute
 * difference from the frame before below this, in percent of full scale (a
 * still picture re-encoded scores 0-0.1, a camera's noise or a slow pan 1
 * and up).
 */
const CAPTURE_MAFD = 0.5;
/**
 * Changed since the last settled frame: select's scene score (0..1) above
 * this. A new slide, window or shot scores 0.02 and up; a moving pointer or
 * the encoder refining a still picture up to 0.002, and writing those would
 * cost more than the seeks it saves.
 */
const CAPTURE_SCENE = 0.005;
/**
 * The disk one cut pass's raw frames may take (SettledCapture): their
 * planes, and the RGB copies of those the tracker uses. 129 frames at
 * 1280x720.
 */
const CAPTURE_RAW_BYTES = 512 * 1024 * 1024;

/**
 * The keyframe made from a frame: the frame itself when it is a JPEG at
 * most KEYFRAME_MAX_W wide, else a JPEG copy at most that wide at `to` (the
 * frame stays as it is for OCR).
 */
export async function keyframeOf(frame: string, to: string): Promise<string> {
  const image = await frameImage(frame);
  if (typeof image !== 'string') {
    await sharpOf(image).resize({ width: KEYFRAME_MAX_W, withoutEnlargement: true }).jpeg({ quality: 90 }).toFile(to);
    return to;
  }
  try {
    const { width } = await sharp(frame).metadata();
    if (!width || width <= KEYFRAME_MAX_W) return frame;
    await sharp(frame).resize({ width: KEYFRAME_MAX_W }).jpeg({ quality: 90 }).toFile(to);
    return to;
  } catch {
    // ffmpeg wrote the frame, so this does not happen; if it did, a larger
    // thumbnail is better than a video that fails for it.
    return frame;
  }
}

/**
 * A frame file as the image models take it: RGB pixels where it is a PPM
 * (a captured frame, rgbFrame), else the path, for the reader to decode (a
 * JPEG) and, if it cannot, to say so.
 */
export async function frameImage(file: string): Promise<ImageInput> {
  const fh = await fs.open(file);
  let head: Buffer;
  try {
    head = Buffer.alloc(32);
    head = head.subarray(0, (await fh.read(head, 0, 32, 0)).bytesRead);
  } finally {
    await fh.close();
  }
  const m = /^P6\n(\d+) (\d+)\n255\n/.exec(head.toString('latin1'));
  if (!m) return file;
  const [w, h, at] = [Number(m[1]), Number(m[2]), m[0].length];
  const buf = await fs.readFile(file);
  return buf.length === at + w * h * 3 ? { data: buf.subarray(at), width: w, height: h } : file;
}

/**
 * A frame the capture wrote raw (ffmpeg's pgmyuv: a PGM header, the Y
 * plane, then U and V side by side, a row of each per line) as a PPM at
 * `to`, converted as a JPEG of the frame would decode: BT.601 at limited
 * range (what ffmpeg's JPEGs assume), each chroma sample over its 2x2
 * block. False where the file is not such a frame.
 */
export async function rgbFrame(pgm: string, to: string): Promise<boolean> {
  const buf = await fs.readFile(pgm);
  const m = /^P5\n(\d+) (\d+)\n255\n/.exec(buf.subarray(0, 32).toString('latin1'));
  if (!m) return false;
  const [w, h, at] = [Number(m[1]), (Number(m[2]) * 2) / 3, m[0].length];
  if (!(w > 0 && w % 2 === 0 && Number.isInteger(h) && h % 2 === 0 && buf.length === at + (w * h * 3) / 2))
    return false;
  const head = Buffer.from(`P6\n${w} ${h}\n255\n`, 'latin1');
  const out = Buffer.allocUnsafeSlow(head.length + w * h * 3);
  head.copy(out);
  yuv420ToRgb(buf, at, w, h, new Uint8ClampedArray(out.buffer, out.byteOffset + head.length, w * h * 3));
  await fs.writeFile(to, out);
  return true;
}

/** Into `out`, which clamps and rounds on store. */
function yuv420ToRgb(buf: Buffer, at: number, w: number, h: number, out: Uint8ClampedArray): void {
  const half = w / 2;
  for (let y = 0; y < h; y++) {
    const luma = at + y * w;
    const chroma = at + w * h + (y >> 1) * w;
    let o = y * w * 3;
    for (let x = 0; x < half; x++) {
      const u = buf[chroma + x]! - 128;
      const v = buf[chroma + half + x]! - 128;
      const r = 1.596027 * v;
      const g = -0.391762 * u - 0.812968 * v;
      const b = 2.017232 * u;
      const l0 = 1.164383 * (buf[luma + 2 * x]! - 16);
      const l1 = 1.164383 * (buf[luma + 2 * x + 1]! - 16);
      out[o] = l0 + r;
      out[o + 1] = l0 + g;
      out[o + 2] = l0 + b;
      out[o + 3] = l1 + r;
      out[o + 4] = l1 + g;
      out[o + 5] = l1 + b;
      o += 6;
    }
  }
}

/** The held last frame is searched for in this much picture before its end (sparse variable-rate video). */
const HELD_SEARCH_S = 5;

/** The time of candidate k of a span, as ffmpeg is given it (milliseconds). */
const candidateAt = (start: number, end: number, k: number) =>
  (start + Math.max(0, end - start) * CANDIDATES[k]!).toFixed(3);

const isBlack = (avg: number | undefined, max: number | undefined) =>
  avg !== undefined && max !== undefined && avg < BLACK_YAVG && max < BLACK_YMAX;

/** Whether a frame was written there. */
const nonEmpty = (file: string) =>
  fs.stat(file).then(
    (st) => st.size > 0,
    () => false,
  );

/**
 * One candidate frame: the first frame at or after `at` (seconds, as text),
 * its luma statistics and how far after `at` it lies; null if none.
 */
async function extractOne(
  file: string,
  at: string,
  outPath: string,
  limits: RunLimits,
  hdr: Hdr | null,
): Promise<{ avg?: number; max?: number; afterS?: number } | null> {
  const r = await runTool(
    'ffmpeg',
    [
      '-v',
      'info',
      '-nostats',
      // As in the batch: the tone mapping's chroma differs in its last bit between slice-threaded and not.
      '-filter_threads',
      '1',
      '-ss',
      at,
      ...safeInput(file),
      '-an',
      '-sn',
      '-dn',
      '-frames:v',
      '1',
      '-vf',
      frameFilter(hdr, 'metadata=print'),
      ...JPEG_OUTPUT,
      '-f',
      'image2',
      '-update',
      '1',
      '-y',
      `file:${outPath}`,
    ],
    limits,
    { keepStderr: true },
  );
  if (r.code !== 0) return null;
  const exists = await nonEmpty(outPath);
  if (!exists) return null;
  const avg = r.stderr.match(/lavfi\.signalstats\.YAVG=([\d.]+)/);
  const max = r.stderr.match(/lavfi\.signalstats\.YMAX=([\d.]+)/);
  // Timestamps start at the seek point, so the frame's is its distance from `at`.
  const after = r.stderr.match(/pts_time:(-?[\d.]+)/);
  return {
    avg: avg ? Number(avg[1]) : undefined,
    max: max ? Number(max[1]) : undefined,
    afterS: after ? Number(after[1]) : undefined,
  };
}

/** Whether the first frame at or after `at` lies past the span's end, so the span shows an earlier one. */
const pastSpan = (got: { afterS?: number }, at: string, end: number) =>
  got.afterS !== undefined && Number(at) + got.afterS >= end;

/** How far before a span's candidate the frame shown there is first looked for by decoding (extractShown). */
const SHOWN_SEARCH_S = 5;

/**
 * The frame shown at `at`: the last one at or before it. A variable-rate
 * recording (a screen recorder writes a frame only when something changes)
 * can have no frame in a span at all, and the first frame after it is the
 * next slide's; the span shows the one before, however long ago it came.
 * Decoded from SHOWN_SEARCH_S before `at`, every frame written to the same
 * file so the last stays; where none lies there, the packets say where the
 * last one does (a demux, no decoding) and that frame alone is decoded: a
 * file dense but for one long gap would otherwise be decoded and written
 * frame by frame from its start, for every span in the gap. Null if none.
 */
async function extractShown(
  file: string,
  at: number,
  outPath: string,
  limits: RunLimits,
  hdr: Hdr | null,
): Promise<{ avg?: number; max?: number } | null> {
  // Written beside outPath and moved there when found: outPath may hold an
  // earlier candidate's frame, which stays if none is found here.
  const found = `${outPath}.shown.jpg`;
  await fs.rm(found, { force: true });
  // No -ss near the start, as in extractHeld.
  const from = at - SHOWN_SEARCH_S;
  const span = (at - Math.max(0, from) + 0.001).toFixed(3);
  const r = await runTool(
    'ffmpeg',
    [
      ...['-v', 'info', '-nostats', '-filter_threads', '1'],
      ...(from > 0 ? ['-ss', from.toFixed(3)] : []),
      ...['-t', span, ...safeInput(file), '-an', '-sn', '-dn'],
      // -t still lets through the first frame after the span when it is the
      // first decoded (variable-rate files); trim does not.
      ...['-vf', `trim=end=${span},${frameFilter(hdr, 'metadata=print')}`, ...JPEG_OUTPUT],
      ...['-f', 'image2', '-update', '1', '-y', `file:${found}`],
    ],
    limits,
    { keepStderr: true },
  );
  let stats: { avg?: number; max?: number } | null = null;
  if (r.code === 0 && (await nonEmpty(found))) {
    const last = (k: string) => [...r.stderr.matchAll(new RegExp(`lavfi\\.signalstats\\.${k}=([\\d.]+)`, 'g'))].at(-1);
    const [avg, max] = [last('YAVG'), last('YMAX')];
    stats = { avg: avg ? Number(avg[1]) : undefined, max: max ? Number(max[1]) : undefined };
  } else if (from > 0) {
    const shown = await lastFrameAt(file, at, limits);
    // Down to the millisecond, so the first frame at or after it is that frame.
    const got =
      shown === null ? null : await extractOne(file, (Math.floor(shown * 1000) / 1000).toFixed(3), found, limits, hdr);
    if (got) stats = { avg: got.avg, max: got.max };
  }
  if (!stats) return null;
  await fs.rename(found, outPath);
  return stats;
}

/** Where the picture's last frame at or before `at` starts, on ffmpeg's -ss clock; null if none. */
async function lastFrameAt(file: string, at: number, limits: RunLimits): Promise<number | null> {
  const times = await frameTimes(file, limits);
  let lo = 0,
    hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= at + 0.0005) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? times[lo - 1]! : null;
}

const packetTimes = new Map<string, Promise<number[]>>();

/**
 * Every frame's start on ffmpeg's -ss clock, ascending, from the picture's
 * packets (a demux of the whole file, no decoding; seconds for hours of
 * video). The whole file, not up to a time: packets come in decoding order,
 * and with B-frames a frame can follow one shown long after it. Kept for
 * the last few files, like their timing.
 */
const frameTimes = (file: string, limits: RunLimits) =>
  perFile(packetTimes, 4, file, () => readFrameTimes(file, limits));

async function readFrameTimes(file: string, limits: RunLimits): Promise<number[]> {
  const timing = await timingOf(file, limits);
  if (!timing) return [];
  const start = Number(timing.startUs) / 1e6;
  const times: number[] = [];
  const r = await probeLines(
    [
      ...['-v', 'error', '-select_streams', String(timing.stream), ...safeInput(file)],
      ...['-show_entries', 'packet=pts_time', '-of', 'csv=p=0'],
    ],
    limits,
    (l) => {
      const t = Number(l) - start;
      if (l && Number.isFinite(t)) times.push(t);
    },
  );
  // A file ffprobe cannot read to the end has no frame to offer here; the
  // span is then handled as one without a frame (held frame, later candidates).
  return r.code === 0 ? times.sort((a, b) => a - b) : [];
}

/**
 * Most frames OCR reads are the first settled analysis frame after a change
 * (changes.ts), and the cut pass decodes every one of them: a seek to each
 * decodes its GOP a second time, which for a densely cut video is most of a
 * second decode. This branch of the cut pass's graph, fed the analysis-rate
 * frames numbered by setpts=N, writes such frames as keyframe JPEGs (the
 * same downscale, tone mapping and quality as a seek). Two gates on the
 * full-size frames pick them: scdet's mean absolute difference from the
 * frame before below CAPTURE_MAFD (settled: filmed footage, its sensor noise
 * and motion, almost never passes), then select's scene score against the
 * last frame that passed, above CAPTURE_SCENE (something changed since the
 * picture last settled). A still picture is written once per change. The
 * frames the tracker names are used and the rest dropped; a sample with no
 * frame here is a seek as before.
 * The frames are written raw (pgmyuv), up to CAPTURE_RAW_BYTES a pass, and
 * as JPEGs past that; those the tracker uses are converted to RGB once
 * (rgbFrame), which every reader then takes as it is (frameImage). A JPEG's
 * range conversion and encoding cost the pass 4 ms a 1280 px frame more
 * than writing the planes, and each reader ~10 ms to decode it again
 * (OCR, faces, the keyframe copy), where the conversion costs 5 ms once
 * (BENCHMARKS.md); the stored keyframe is also one JPEG generation from the
 * picture instead of two. The bound keeps the scratch folder small where
 * the picture settles on something new every second.
 */
export class SettledCapture {
  private readonly frames: { n: number; avg?: number; max?: number }[] = [];
  private readonly dir: string;
  private readonly hdr: Hdr | null;
  private readonly raw: number;

  /** raw: how many frames to write raw before switching to JPEGs. */
  constructor(dir: string, hdr: Hdr | null, raw: number) {
    this.dir = dir;
    this.hdr = hdr;
    this.raw = raw;
  }

  /** For a file: its HDR facts, and as many raw frames as rawBytes holds at its size. */
  static async of(file: string, dir: string, limits: RunLimits, rawBytes = CAPTURE_RAW_BYTES): Promise<SettledCapture> {
    const t = await timingOf(file, limits);
    // The frame's size as frameFilter makes it, but for pixels that are not square (a bound needs no more).
    const w = Math.min(FRAME_MAX_W, t?.width || FRAME_MAX_W);
    const h = t?.width && t.height ? (t.height * w) / t.width : w;
    return new SettledCapture(dir, t?.hdr ?? null, Math.floor(rawBytes / (w * h * (1.5 + 3))));
  }

  /** The chain from numbered analysis frames to [label_raw] and [label_jpg]. */
  filter(label: string): string {
    return (
      `scdet=threshold=100,metadata=mode=select:key=lavfi.scd.mafd:value=${CAPTURE_MAFD}:function=less,` +
      `select='isnan(prev_selected_t)+gt(scene,${CAPTURE_SCENE})',` +
      `${frameFilter(this.hdr, 'metadata@capture=mode=print', label)},split[${label}_r][${label}_j];` +
      // Planar 8-bit 4:2:0 whatever the source (pgmyuv would keep 10 bits as 16).
      `[${label}_r]select='lt(n,${this.raw})',format=yuv420p[${label}_raw];` +
      `[${label}_j]select='gte(n,${this.raw})'[${label}_jpg]`
    );
  }

  /** The output options for those labels' frames. */
  output(label: string): string[] {
    const to = (name: string) => `file:${path.join(this.dir, name).replace(/%/g, '%%')}%d`;
    return [
      ...['-map', `[${label}_raw]`, '-fps_mode', 'passthrough', '-c:v', 'pgmyuv', '-f', 'image2', to('c') + '.pgm'],
      ...['-map', `[${label}_jpg]`, '-fps_mode', 'passthrough', ...JPEG_OUTPUT, '-f', 'image2', to('j') + '.jpg'],
    ];
  }

  /** Reads metadata@capture's lines of ffmpeg's log. */
  onLine(l: string): void {
    const m = /^\[metadata@capture @ [^\]]*\] (.*)$/.exec(l);
    if (!m) return;
    const f = /^frame:\d+\s+pts:(\d+)/.exec(m[1]!);
    if (f) this.frames.push({ n: Number(f[1]) });
    const s = /^lavfi\.signalstats\.(YAVG|YMAX)=([\d.]+)/.exec(m[1]!);
    const cur = this.frames.at(-1);
    if (s && cur) cur[s[1] === 'YAVG' ? 'avg' : 'max'] = Number(s[2]);
  }

  /**
   * The frames written, by analysis frame number (as the tracker counts them
   * from the pass's start), and whether each is black by the keyframe test
   * (a seek then tries the span's later candidates).
   */
  written(): Map<number, { file: string; black: boolean }> {
    const file = (i: number) => path.join(this.dir, i < this.raw ? `c${i + 1}.pgm` : `j${i - this.raw + 1}.jpg`);
    return new Map(this.frames.map((f, i) => [f.n, { file: file(i), black: isBlack(f.avg, f.max) }]));
  }
}

/**
 * The picture's last frame, which players keep showing until the file ends:
 * the keyframe of a span that reaches past the end of the picture. Every
 * frame of the last HELD_SEARCH_S is written to the same file, so the last
 * one stays. False if there is none.
 */
async function extractHeld(
  file: string,
  pictureEndS: number,
  outPath: string,
  limits: RunLimits,
  hdr: Hdr | null,
): Promise<boolean> {
  // No -ss near the start: Matroska's seek to 0 can land past a lone first
  // frame stamped a little after it.
  const from = pictureEndS - HELD_SEARCH_S;
  const r = await runTool(
    'ffmpeg',
    [
      ...['-v', 'error', '-nostats', '-filter_threads', '1'],
      ...(from > 0 ? ['-ss', from.toFixed(3)] : []),
      ...[...safeInput(file), '-an', '-sn', '-dn'],
      ...['-vf', frameFilter(hdr), ...JPEG_OUTPUT, '-f', 'image2', '-update', '1', '-y', `file:${outPath}`],
    ],
    limits,
  );
  return r.code === 0 && (await nonEmpty(outPath));
}

/** The earliest of CANDIDATES. */
const EARLIEST = CANDIDATES.indexOf(Math.min(...CANDIDATES));
/** A span all of whose candidates lie after the picture has ended: only the held frame shows there. */
const afterPicture = (t: Timing | null, start: number, end: number) =>
  t?.pictureEndS != null && Number(candidateAt(start, end, EARLIEST)) >= t.pictureEndS;
/** A span without a frame of its own that reaches the end of the picture shows the held frame. */
const reachesPictureEnd = (t: Timing | null, end: number) => t?.pictureEndS != null && end >= t.pictureEndS;

/**
 * A representative JPEG for the span [start, end): the frame a third of the
 * way in (past fades and transitions), or later ones if that frame is black;
 * past the end of a still picture, that picture. Returns false when no frame
 * could be decoded at all.
 */
export async function extractKeyframe(
  file: string,
  start: number,
  end: number,
  outPath: string,
  limits: RunLimits,
): Promise<boolean> {
  const timing = await timingOf(file, limits);
  const hdr = timing?.hdr ?? null;
  if (afterPicture(timing, start, end)) return extractHeld(file, timing!.pictureEndS!, outPath, limits, hdr);
  let fallback = false;
  for (let k = 0; k < CANDIDATES.length; k++) {
    const at = candidateAt(start, end, k);
    let got = await extractOne(file, at, outPath, limits, hdr);
    if (got && pastSpan(got, at, end)) got = await extractShown(file, Number(at), outPath, limits, hdr);
    if (!got) continue;
    fallback = true;
    if (!isBlack(got.avg, got.max)) return true;
  }
  if (!fallback && reachesPictureEnd(timing, end)) return extractHeld(file, timing!.pictureEndS!, outPath, limits, hdr);
  // Every candidate was black: keep the last one rather than no keyframe.
  return fallback;
}

export interface KeyframeRequest {
  start: number;
  end: number;
  outPath: string;
}

/** What one batch did, for tests and benchmarks: ffmpeg processes started, frames written. */
export interface KeyframeBatch {
  written: boolean[];
  /** Per request, the time asked for the frame kept (the first frame at or after it); null if none, or the held last frame. */
  at: (number | null)[];
  ffmpegRuns: number;
}

/** Spans at least this long (seconds) may take a coded keyframe for their first candidate (candidateFor). */
const SNAP_MIN_SPAN_S = 1;

/**
 * Candidate k of a span in a batch. The first is a third in, or, where the
 * cut pass met a coded keyframe (an I-frame) between a quarter and half
 * way in, the one nearest a third: a seek decodes from the keyframe at or
 * before the frame it wants, so a frame that is one costs a single frame's
 * decoding instead of up to a GOP's, which in filmed footage is most of a
 * keyframe's cost (BENCHMARKS.md); encoders also give those frames the
 * most bits. Short spans (a text sample's) keep their time.
 */
function candidateFor(q: KeyframeRequest, k: number, keyframes: KeyframeTimes | undefined): string {
  const third = candidateAt(q.start, q.end, k);
  const len = q.end - q.start;
  if (k !== 0 || !keyframes || len < SNAP_MIN_SPAN_S || q.start < keyframes.from || q.end > keyframes.to) {
    return third;
  }
  const want = q.start + len / 3;
  let best: number | null = null;
  for (const t of keyframes.times) {
    if (t < q.start + len / 4 || t > q.start + len / 2) continue;
    if (best === null || Math.abs(t - want) < Math.abs(best - want)) best = t;
  }
  // Down to the millisecond, so the first frame at or after it is the keyframe itself.
  return best === null ? third : (Math.floor(best * 1000) / 1000).toFixed(3);
}

/**
 * Requests closer than this (seconds) share one sequential decode: opening
 * another input and decoding from its keyframe costs about as much as
 * decoding a few seconds of 720p.
 */
const MERGE_GAP_S = 5;
/** ffmpeg's expression parser refuses a sum of about 100 terms (its recursion limit); a longer run is split. */
const MAX_WANTS_PER_RUN = 40;
/** A run decodes this far past its last request: the frame sought is normally within one frame interval. */
const RUN_TAIL_S = 1;
/** Decoded-picture memory one pass may hold across its inputs (each holds its reference frames). */
const PASS_PIXEL_BUDGET = 16 * 1280 * 720;
const MAX_INPUTS = 16;

interface Timing {
  /** Index of the video stream ffmpeg picks by itself for `-frames:v 1` (see pickVideoStream). */
  stream: number;
  width: number;
  height: number;
  /** Stream time base, as a fraction. */
  tbNum: bigint;
  tbDen: bigint;
  /** The container's start time in microseconds (ffmpeg measures -ss from there). */
  startUs: bigint;
  hdr: Hdr | null;
  /**
   * Where the picture ends on ffmpeg's -ss clock: the video stream's own end
   * (before the file's when a still image is held over a talk), else the
   * file's; null if neither is known.
   */
  pictureEndS: number | null;
}

/**
 * A stream's own duration in seconds: Matroska keeps it in a DURATION tag
 * ("00:00:00.063000000"; ffprobe's duration there is the file's, so without
 * the tag a Matroska stream states none), other containers in the stream
 * header. NaN if neither says.
 */
export function streamDurationS(
  s: { duration?: string; tags?: { DURATION?: string } },
  container: string | undefined,
): number {
  const tag = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(s.tags?.DURATION ?? '');
  if (tag) return Number(tag[1]) * 3600 + Number(tag[2]) * 60 + Number(tag[3]);
  if (/(^|,)matroska(,|$)/.test(container ?? '')) return NaN;
  return s.duration ? Number(s.duration) : NaN;
}

/** ffprobe with its output handed over line by line as it comes: packet listings of hours of video. */
async function probeLines(args: string[], limits: RunLimits, line: (l: string) => void) {
  let partial = '';
  const r = await runTool('ffprobe', args, limits, {
    onStdout: (chunk) => {
      const lines = (partial + chunk.toString('latin1')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(line);
    },
  });
  line(partial);
  return r;
}

/** How far before the stated end packetEnds starts reading. */
const TAIL_S = 30;

/**
 * Where each stream's last packet starts, in seconds on the file's clock,
 * for a file stated to end at statedS (NaN: not stated, read it all). It
 * reads from the keyframe at or before TAIL_S before that end: for a moving
 * picture the last GOP and what follows, for a still picture everything
 * after its one frame. The keyframe a seek lands on is never after the
 * picture's last frame, so what is read holds that frame. `any` is the
 * latest of them. Null if ffprobe fails.
 */
export async function packetEnds(
  file: string,
  statedS: number,
  limits: RunLimits,
): Promise<{ byStream: Map<number, number>; any: number } | null> {
  const fromS = Number.isFinite(statedS) ? Math.max(0, statedS - TAIL_S) : 0;
  const byStream = new Map<number, number>();
  let start = 0;
  const line = (l: string) => {
    const f = l.split(',');
    if (f.length === 1 && f[0]) start = Number(f[0]) || 0;
    // Where the last packet starts, not ends: decoding reaches the last
    // frame's time, and a still's one frame may be stored as long as it is shown.
    const end = Number(f[1]);
    if (f.length !== 2 || !Number.isFinite(end)) return;
    const i = Number(f[0]);
    byStream.set(i, Math.max(byStream.get(i) ?? -Infinity, end));
  };
  // Streamed: a still picture's file is read whole, hours of packets.
  const r = await probeLines(
    [
      ...['-v', 'error', '-read_intervals', `${fromS.toFixed(3)}%`, ...safeInput(file)],
      ...['-show_entries', 'packet=stream_index,pts_time:format=start_time', '-of', 'csv=p=0'],
    ],
    limits,
    line,
  );
  if (r.code !== 0) return null;
  for (const [i, end] of byStream) byStream.set(i, end - start);
  return { byStream, any: Math.max(0, ...byStream.values()) };
}

interface ProbeStream {
  index: number;
  codec_type?: string;
  width?: number;
  height?: number;
  time_base?: string;
  start_time?: string;
  duration?: string;
  color_transfer?: string;
  color_primaries?: string;
  color_space?: string;
  disposition?: { default?: number; attached_pic?: number };
  tags?: { DURATION?: string };
}

/**
 * The stream ffmpeg maps by itself for a video output: the largest picture,
 * default-flagged ones first, cover art last (fftools' automatic selection).
 * The batch maps it by hand (several inputs would otherwise all give their
 * best stream to every output), so it must be the same one.
 */
function pickVideoStream(streams: ProbeStream[]): ProbeStream | undefined {
  let best: ProbeStream | undefined;
  let bestScore = -1;
  for (const s of streams) {
    if (s.codec_type !== 'video') continue;
    let score = (s.width ?? 0) * (s.height ?? 0) + 5_000_000 * (s.disposition?.default ? 1 : 0);
    if (s.disposition?.attached_pic) score = 1;
    if (score > bestScore) [best, bestScore] = [s, score];
  }
  return best;
}

/**
 * The timing of the last few files read, by path, size and modification
 * time: a job asks for frames of one file several times, and a file whose
 * picture states no length costs a read of its packets each time (a whole
 * read for a recording written live, ~1 s per 10 minutes).
 */
const timings = new Map<string, Promise<Timing | null>>();

const timingOf = (file: string, limits: RunLimits) => perFile(timings, 8, file, () => probeTiming(file, limits));

/**
 * What `read` says of a file, kept in `cache` by path, size and modification
 * time for the last `keep` files (a file that cannot be stat'ed is read
 * every time).
 */
async function perFile<T>(cache: Map<string, Promise<T>>, keep: number, file: string, read: () => Promise<T>) {
  const st = await fs.stat(file).catch(() => null);
  if (!st) return read();
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let t = cache.get(key);
  if (!t) {
    t = read();
    cache.set(key, t);
    // A run that was stopped (timeout, abort) is not the file's answer.
    t.catch(() => cache.delete(key));
    if (cache.size > keep) cache.delete(cache.keys().next().value!);
  }
  return t;
}

async function probeTiming(file: string, limits: RunLimits): Promise<Timing | null> {
  const r = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      ...safeInput(file),
      '-show_entries',
      'stream=index,codec_type,width,height,time_base,start_time,duration,color_transfer,color_primaries,color_space:stream_disposition=default,attached_pic:stream_tags=DURATION:format=format_name,start_time,duration',
      '-of',
      'json',
    ],
    limits,
  );
  if (r.code !== 0) return null;
  let info: { streams?: ProbeStream[]; format?: { format_name?: string; start_time?: string; duration?: string } };
  try {
    info = JSON.parse(r.stdout.toString('utf8'));
  } catch {
    return null;
  }
  const s = pickVideoStream(info.streams ?? []);
  const tb = /^(\d+)\/(\d+)$/.exec(s?.time_base ?? '');
  if (!s || !tb || tb[1] === '0' || tb[2] === '0') return null;
  const start = /^(-?)(\d+)\.(\d{6})$/.exec(info.format?.start_time ?? '');
  const startUs = start ? BigInt(start[1] + start[2] + start[3]) : 0n;
  const fileStart = Number(info.format?.start_time ?? 0);
  const own = streamDurationS(s, info.format?.format_name);
  const stated = Number(info.format?.duration ?? NaN);
  // A stream stating no length of its own (see probe): its packets' end.
  const pictureEnd = Number.isFinite(own)
    ? Number(s.start_time ?? fileStart) + own - fileStart
    : ((await packetEnds(file, stated, limits))?.byStream.get(s.index) ?? stated);
  return {
    stream: s.index,
    width: s.width ?? 0,
    height: s.height ?? 0,
    tbNum: BigInt(tb[1]!),
    tbDen: BigInt(tb[2]!),
    startUs,
    hdr: hdrOf(s),
    pictureEndS: Number.isFinite(pictureEnd) ? pictureEnd : null,
  };
}

/**
 * The smallest frame timestamp (in stream time base) that `-ss at` keeps:
 * ffmpeg shifts every timestamp by the seek point, rescaled to the time base
 * rounding half away from zero, and drops the frames that end up below 0.
 */
function firstKeptPts(at: string, t: Timing): bigint {
  const [whole, frac = ''] = at.split('.');
  const us = BigInt(whole!) * 1_000_000n + BigInt((frac + '000000').slice(0, 6)) + t.startUs;
  const n = (us < 0n ? -us : us) * t.tbDen;
  const d = 1_000_000n * t.tbNum;
  const q = (n + d / 2n) / d;
  return us < 0n ? -q : q;
}

/** The keyframes a sequential decode of [from, to] met (detectScenes), so every one in that stretch. */
export interface KeyframeTimes {
  times: number[];
  from: number;
  to: number;
}

/**
 * Whether a and b (a <= b) lie in one GOP: no keyframe in (a, b]. A seek to
 * b would then decode from the same keyframe as a seek to a, so carrying on
 * from a costs less. This is what keeps a file with rare keyframes (a screen
 * recorder's minutes-long GOPs) from decoding its GOP again for every frame.
 */
function sameGop(k: KeyframeTimes | undefined, a: number, b: number): boolean {
  if (!k || a < k.from || b > k.to) return false;
  return !k.times.some((t) => t > a && t <= b);
}

interface Want {
  /** Index into the requests. */
  req: number;
  at: string;
  pts: bigint;
  /** The first pts past the request's span: a frame there is not the span's (extractShown). */
  endPts: bigint;
}

/** One candidate round: the frame for each want, decoded in one ffmpeg process per MAX_INPUTS runs. */
async function extractRound(
  file: string,
  wants: Want[],
  t: Timing,
  scratch: string,
  limits: RunLimits,
  round: number,
  keyframes: KeyframeTimes | undefined,
): Promise<{ got: Map<number, { file: string; avg?: number; max?: number }>; beyond: Set<number>; runs: number }> {
  const sorted = [...wants].sort((a, b) => Number(a.at) - Number(b.at));
  const runs: Want[][] = [];
  for (const w of sorted) {
    const last = runs.at(-1);
    const prev = last && Number(last.at(-1)!.at);
    if (
      last &&
      last.length < MAX_WANTS_PER_RUN &&
      (Number(w.at) - prev! <= MERGE_GAP_S || sameGop(keyframes, prev!, Number(w.at)))
    )
      last.push(w);
    else runs.push([w]);
  }
  const perPass = Math.max(1, Math.min(MAX_INPUTS, Math.floor(PASS_PIXEL_BUDGET / Math.max(1, t.width * t.height))));
  const got = new Map<number, { file: string; avg?: number; max?: number }>();
  const beyond = new Set<number>();
  let passes = 0;
  for (let p = 0; p < runs.length; p += perPass) {
    const batch = runs.slice(p, p + perPass);
    const inputs: string[] = [];
    const outputs: string[] = [];
    const prefix = (k: number) => path.join(scratch, `c${round}-p${p}-r${k}-`);
    batch.forEach((run, k) => {
      const from = run[0]!.at;
      const span = (Number(run.at(-1)!.at) - Number(from) + RUN_TAIL_S).toFixed(3);
      // Timestamps stay the file's own (-copyts), so each want is compared with the very pts its own seek would keep.
      inputs.push('-threads', '1', '-ss', from, '-t', span, ...safeInput(file));
      const pts = [...new Set(run.map((w) => w.pts))];
      const select = pts.map((v) => `gte(pts,${v})*not(gte(prev_pts,${v}))`).join('+');
      outputs.push(
        '-map',
        `${k}:${t.stream}`,
        '-fps_mode',
        'passthrough',
        // The run ends with its last wanted frame, not RUN_TAIL_S of decoding later.
        '-frames:v',
        String(pts.length),
        '-threads',
        '1',
        '-vf',
        `select='${select}',${frameFilter(t.hdr, `metadata@r${k}=mode=print`)}`,
        ...JPEG_OUTPUT,
        '-f',
        'image2',
        `file:${prefix(k).replace(/%/g, '%%')}%d.jpg`,
      );
    });
    // Per run, the frames it wrote, in order: pts and luma statistics.
    const frames: { pts: bigint | null; avg?: number; max?: number }[][] = batch.map(() => []);
    const r = await runTool(
      'ffmpeg',
      ['-v', 'info', '-nostats', '-copyts', '-filter_threads', '1', ...inputs, ...outputs],
      limits,
      {
        onStderrLine: (l) => {
          const m = /^\[metadata@r(\d+) @ [^\]]*\] (.*)$/.exec(l);
          if (!m) return;
          const list = frames[Number(m[1])];
          if (!list) return;
          const f = /^frame:\d+\s+pts:(\S+)/.exec(m[2]!);
          if (f) list.push({ pts: /^-?\d+$/.test(f[1]!) ? BigInt(f[1]!) : null });
          const s = /^lavfi\.signalstats\.(YAVG|YMAX)=([\d.]+)/.exec(m[2]!);
          const cur = list.at(-1);
          if (s && cur) cur[s[1] === 'YAVG' ? 'avg' : 'max'] = Number(s[2]);
        },
      },
    );
    passes++;
    if (r.code !== 0) continue;
    batch.forEach((run, k) => {
      for (const w of run) {
        // The first frame written at or after the want's pts: select wrote every such first frame.
        const i = frames[k]!.findIndex((f) => f.pts !== null && f.pts >= w.pts);
        if (i < 0) continue;
        if (frames[k]![i]!.pts! >= w.endPts) beyond.add(w.req);
        else got.set(w.req, { file: `${prefix(k)}${i + 1}.jpg`, ...frames[k]![i] });
      }
    });
  }
  return { got, beyond, runs: passes };
}

/**
 * extractKeyframe for many spans: the same frame for each span (same
 * candidates, same black test, byte for byte the same JPEG), in one ffmpeg
 * process per candidate round instead of up to four per span. Spans close
 * together share one sequential decode; distant ones get their own seek
 * within the same process. Anything the batch could not place (a failed
 * run, a frame beyond a run's end in variable-rate video) is extracted on
 * its own, so the result never depends on the batching. Given the
 * keyframes the cut pass met, a long span's first candidate may be a coded
 * keyframe near a third in instead (candidateFor).
 */
export async function extractKeyframes(
  file: string,
  requests: KeyframeRequest[],
  workDir: string,
  limits: RunLimits,
  keyframes?: KeyframeTimes,
): Promise<KeyframeBatch> {
  const written = requests.map(() => false);
  const at: (number | null)[] = requests.map(() => null);
  if (!requests.length) return { written, at, ffmpegRuns: 0 };
  const timing = await timingOf(file, limits);
  let ffmpegRuns = 0;
  const shown = async (i: number, k: number) => {
    const q = requests[i]!;
    ffmpegRuns++;
    return extractShown(file, Number(candidateFor(q, k, keyframes)), q.outPath, limits, timing?.hdr ?? null);
  };
  const single = async (i: number, k: number) => {
    const q = requests[i]!;
    ffmpegRuns++;
    const at = candidateFor(q, k, keyframes);
    const got = await extractOne(file, at, q.outPath, limits, timing?.hdr ?? null);
    return got && pastSpan(got, at, q.end) ? shown(i, k) : got;
  };
  const scratch = await fs.mkdtemp(path.join(workDir, 'frames-'));
  try {
    let pending = requests.flatMap((q, i) => (afterPicture(timing, q.start, q.end) ? [] : [i]));
    for (let k = 0; k < CANDIDATES.length && pending.length; k++) {
      const asked = new Map(pending.map((i) => [i, candidateFor(requests[i]!, k, keyframes)]));
      const wants = pending.map((i) => ({
        req: i,
        at: asked.get(i)!,
        pts: timing ? firstKeptPts(asked.get(i)!, timing) : 0n,
        endPts: timing ? firstKeptPts(requests[i]!.end.toFixed(3), timing) : 0n,
      }));
      const round = timing
        ? await extractRound(file, wants, timing, scratch, limits, k, keyframes)
        : { got: new Map(), beyond: new Set<number>(), runs: 0 };
      ffmpegRuns += round.runs;
      const next: number[] = [];
      for (const i of pending) {
        const from = round.got.get(i);
        let stats: { avg?: number; max?: number } | null = null;
        if (from) {
          await fs.copyFile(from.file, requests[i]!.outPath);
          stats = from;
        } else {
          stats = await (round.beyond.has(i) ? shown(i, k) : single(i, k));
        }
        if (!stats) {
          next.push(i);
          continue;
        }
        written[i] = true;
        at[i] = Number(asked.get(i));
        if (isBlack(stats.avg, stats.max)) next.push(i);
      }
      pending = next;
    }
    // The still picture's last frame, decoded once for every span that shows it.
    const held = requests.flatMap((q, i) => (!written[i] && reachesPictureEnd(timing, q.end) ? [i] : []));
    if (held.length) {
      const last = path.join(scratch, 'held.jpg');
      ffmpegRuns++;
      if (await extractHeld(file, timing!.pictureEndS!, last, limits, timing!.hdr)) {
        for (const i of held) {
          await fs.copyFile(last, requests[i]!.outPath);
          written[i] = true;
        }
      }
    }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  return { written, at, ffmpegRuns };
}
