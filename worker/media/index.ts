/*
 * Media operations the pipeline needs, each one ffmpeg/ffprobe run through
 * run.ts. Functions throw MediaInputError when the file itself is the
 * problem (the video then fails with that message) and MediaRunError when
 * the tool misbehaved (timeouts, aborts: the job is retried).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CHANGE_FPS, CHANGE_H, CHANGE_W, ChangeTracker, type ContentChanges } from './changes.ts';
import { hdrOf, packetEnds, rgbFrame, SettledCapture, streamDurationS, type Hdr } from './frames.ts';
export { assembleCopy, partRange, playbackParts, playbackPlan, transcodePart, type PlaybackPlan } from './playback.ts';
import { MediaInputError, runTool, safeInput, stderrSummary, type RunLimits } from './run.ts';

export { MediaInputError, MediaRunError, SAFE_FORMATS, type RunLimits } from './run.ts';
export { decodeSubtitleBytes, guessLanguage, parseSubtitles, looksLikeSubtitles, wholeCues } from './subtitles.ts';
export {
  extractKeyframe,
  extractKeyframes,
  frameImage,
  KEYFRAME_MAX_W,
  keyframeOf,
  type KeyframeBatch,
  type KeyframeRequest,
  type KeyframeTimes,
} from './frames.ts';

export interface SubtitleStream {
  index: number;
  codec: string;
  language: string | null;
}

export interface MediaFacts {
  container: string;
  durationS: number;
  /**
   * Where the picture itself ends, as the video stream announces it: before
   * durationS when a still image is held over longer sound (one frame over a
   * talk), else durationS.
   */
  pictureS: number;
  /** The picture as shown: after the rotation a phone records. */
  width: number;
  height: number;
  fps: number | null;
  videoCodec: string;
  audioCodec: string | null;
  hasAudio: boolean;
  subtitleStreams: SubtitleStream[];
  /** Pixel layout of the picture ("yuv420p"), null if not stated. */
  pixFmt: string | null;
  /** Pixel aspect ratio: 1 for square pixels, 16/15 for 4:3 PAL DVD. */
  sar: number;
  hdr: Hdr | null;
}

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
  tags?: { language?: string; DURATION?: string };
  side_data_list?: { rotation?: number }[];
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  color_transfer?: string;
  color_primaries?: string;
  color_space?: string;
}

function rate(r: string | undefined): number | null {
  if (!r) return null;
  const [n, d] = r.split('/').map(Number);
  if (!n || !d || !Number.isFinite(n / d)) return null;
  return n / d;
}

/** Text subtitle codecs ffmpeg can turn into SRT (bitmap subtitles cannot be). */
const TEXT_SUBTITLE_CODECS = new Set(['subrip', 'srt', 'ass', 'ssa', 'mov_text', 'webvtt', 'text']);

/**
 * Reads container and stream facts. Throws MediaInputError for anything that
 * is not a video with a picture: unreadable, playlist, audio-only (cover art
 * does not count as a picture), zero-length.
 */
export async function probe(file: string, limits: RunLimits): Promise<MediaFacts> {
  const stat = await fs.stat(file);
  if (stat.size === 0) throw new MediaInputError('The file is empty (0 bytes).');
  const r = await runTool(
    'ffprobe',
    ['-v', 'error', ...safeInput(file), '-show_format', '-show_streams', '-of', 'json'],
    limits,
  );
  if (r.code !== 0) {
    // FFmpeg refuses a declared frame size it cannot allocate before anything
    // else; say which size, not the generic "Invalid argument" that follows.
    const size = /Picture size (\d+)x(\d+) is invalid/.exec(r.stderr);
    if (size)
      throw new MediaInputError(
        `The video declares a picture size of ${size[1]}x${size[2]}, which cannot be decoded (at most 16384 pixels per side).`,
      );
    throw new MediaInputError(
      `The file is not a readable video (${stderrSummary(r.stderr, 1).replace(/file:\S+: /, '') || 'unrecognised format'}).`,
    );
  }
  let info: { format?: { format_name?: string; duration?: string }; streams?: ProbeStream[] };
  try {
    info = JSON.parse(r.stdout.toString('utf8'));
  } catch {
    throw new MediaInputError('The file is not a readable video (ffprobe returned no information).');
  }
  const streams = info.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!video) {
    throw new MediaInputError(
      audio
        ? 'The file has sound but no video picture (audio-only files are not supported).'
        : 'The file contains no video stream.',
    );
  }
  let duration = Number(info.format?.duration ?? video.duration ?? NaN);
  // A recording written as it was made (a browser's MediaRecorder, OBS to
  // Matroska, a live stream) has no duration in its header: read it off the
  // packets (a demux without decoding, ~0.2 s for 10 minutes).
  if (!Number.isFinite(duration)) duration = await demuxedDurationS(file, limits);
  // Phones store a portrait video as landscape pixels plus a rotation that
  // every player (and ffmpeg, for the frames we take) applies: the picture
  // people see, and its keyframes, are the other way round.
  const rotation = video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? 0;
  const turned = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const [width, height] = [video.width ?? 0, video.height ?? 0];
  const durationS = Number.isFinite(duration) ? duration : 0;
  const streamS = streamDurationS(video, info.format?.format_name);
  let pictureS = streamS > 0 && streamS < durationS ? streamS : durationS;
  // A video stream that states no length of its own (a recording written
  // live, Matroska without DURATION tags) may still hold a picture shorter
  // than the sound (a still over a talk): its packets say where it ends. It
  // counts only where the file's packets reach the stated duration; in a
  // truncated file every stream stops early, and the decode check must
  // still call it truncated.
  if (!Number.isFinite(streamS) && durationS > 0) {
    const ends = await packetEnds(file, durationS, limits);
    const videoEnd = ends?.byStream.get(video.index);
    if (ends && videoEnd !== undefined && videoEnd < durationS && ends.any >= durationS * MIN_DECODED_SHARE)
      pictureS = Math.max(0, videoEnd);
  }
  return {
    container: info.format?.format_name ?? 'unknown',
    durationS,
    pictureS,
    width: turned ? height : width,
    height: turned ? width : height,
    fps: rate(video.avg_frame_rate) ?? rate(video.r_frame_rate),
    videoCodec: video.codec_name ?? 'unknown',
    audioCodec: audio?.codec_name ?? null,
    hasAudio: !!audio,
    pixFmt: video.pix_fmt ?? null,
    sar: rate(video.sample_aspect_ratio?.replace(':', '/')) ?? 1,
    hdr: hdrOf(video),
    subtitleStreams: streams
      .filter((s) => s.codec_type === 'subtitle' && TEXT_SUBTITLE_CODECS.has(s.codec_name ?? ''))
      .map((s) => ({
        index: s.index,
        codec: s.codec_name!,
        language: s.tags?.language && s.tags.language !== 'und' ? s.tags.language : null,
      })),
  };
}

/** How far the file's packets reach, from copying every stream to nowhere; NaN if that fails. */
async function demuxedDurationS(file: string, limits: RunLimits): Promise<number> {
  // Only the end of the progress report matters: its last block is the total.
  let tail = '';
  const r = await runTool(
    'ffmpeg',
    [
      ...['-v', 'error', '-nostats', ...safeInput(file)],
      ...['-map', '0', '-c', 'copy', '-f', 'null', '-', '-progress', 'pipe:1'],
    ],
    limits,
    { onStdout: (chunk) => void (tail = (tail + chunk.toString('latin1')).slice(-4096)) },
  );
  const us = [...tail.matchAll(/out_time_us=(\d+)\n/g)].at(-1)?.[1];
  return r.code === 0 && us && Number(us) > 0 ? Number(us) / 1e6 : NaN;
}

/**
 * 16 kHz mono float32 samples, what speech models expect; optionally only
 * the window [startS, startS + durationS), so hours of audio can be handled
 * a window at a time (an hour is 230 MB of samples).
 */
export async function extractAudio16kMono(
  file: string,
  workDir: string,
  limits: RunLimits,
  window?: { startS: number; durationS: number },
): Promise<Float32Array> {
  const out = path.join(workDir, 'audio-16k.f32');
  const seek = window ? ['-ss', window.startS.toFixed(3), '-t', window.durationS.toFixed(3)] : [];
  const r = await runTool(
    'ffmpeg',
    [
      '-v',
      'error',
      ...seek,
      ...safeInput(file),
      '-vn',
      '-sn',
      '-dn',
      // Sound that starts after the picture (camcorders, screen recorders),
      // or has gaps, is padded with silence from the start of the video or
      // window, so sample n is at n/16000 s on the video's clock: without
      // it a track starting 2 s late put every word 2 s early.
      '-af',
      'aresample=async=1:first_pts=0',
      '-ac',
      '1',
      '-ar',
      '16000',
      '-f',
      'f32le',
      '-y',
      `file:${out}`,
    ],
    limits,
  );
  if (r.code !== 0) throw new MediaInputError(`The audio track could not be decoded (${stderrSummary(r.stderr, 1)}).`);
  const buf = await fs.readFile(out);
  await fs.rm(out, { force: true });
  return new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 4));
}

/** The first embedded text subtitle stream as SRT text, or null if none converts. */
export async function extractSubtitles(
  file: string,
  stream: SubtitleStream,
  limits: RunLimits,
): Promise<string | null> {
  const r = await runTool(
    'ffmpeg',
    ['-v', 'error', ...safeInput(file), '-map', `0:${stream.index}`, '-f', 'srt', 'pipe:1'],
    limits,
    { stdoutLimit: 32 * 1024 * 1024 },
  );
  if (r.code !== 0) return null;
  const text = r.stdout.toString('utf8');
  return text.trim() ? text : null;
}

export interface SceneDetection {
  /** Times (s) where a new shot or a new picture content starts, ascending, excluding 0. */
  cuts: number[];
  /** Of those, the ones only the content-change detector found (slides, windows). */
  contentCuts: number[];
  /** Change between consecutive analysis frames, for splitting long scenes at their strongest change. */
  curve: ContentChanges['curve'];
  /** Settled, mutually different frames worth reading for on-screen text. */
  textSamples: number[];
  /** How far decoding got; much less than the probed duration means a truncated file. */
  decodedS: number;
  /** Where the analysis ended (the video's clock) when the window's endAtCut ended the pass early. */
  endedS?: number;
  /** Times of the keyframes decoded (the video's clock): where a seek can start decoding. */
  keyframes: number[];
  /** With a capture folder: the text samples' frames the pass wrote there, by sample time (SettledCapture). */
  captured: Map<number, string>;
}

/**
 * Part of a video to analyse: from startS (seconds) for durationS, or to the
 * end without it. Times in the result are the video's, not the window's;
 * decodedS is how far into the window decoding got.
 */
export interface DetectWindow {
  startS: number;
  durationS?: number;
  /**
   * Where the video ends as a player shows it (its duration), when the
   * window reaches it: a picture that stops before (a recording's last
   * frame, written once) is shown held until there, as it is until the end
   * of a window of durationS.
   */
  endS?: number;
  /**
   * End the pass early, at the first cut at or after afterS (the video's
   * clock) once holdS of picture after it has been analysed: an index chunk
   * reads on to the next cut, so that the chunk after it starts there
   * instead of decoding the scene it stopped in again.
   */
  endAtCut?: { afterS: number; holdS: number };
}

/** Decoding must reach this share of the probed duration, or the file is truncated. */
const MIN_DECODED_SHARE = 0.9;

/**
 * Refuses a file whose picture stops well before the duration its container
 * announces: a truncated upload whose index comes first probes fine, and
 * only decoding shows that most of it is missing. A file missing only its
 * last few percent is indexed as far as it goes. A picture that ends early
 * by design passes too: a still image held over a talk is one frame in a
 * video stream whose own duration says so, checked only when decoding fell
 * short. The window is [startS, endS) of a video totalS long.
 */
export async function assertFullyDecoded(
  file: string,
  detected: Pick<SceneDetection, 'decodedS'>,
  window: { startS: number; endS: number; totalS: number },
  limits: RunLimits,
): Promise<void> {
  const enough = (endS: number) => detected.decodedS >= (endS - window.startS) * MIN_DECODED_SHARE;
  if (enough(window.endS) || enough(Math.min(window.endS, (await probe(file, limits)).pictureS))) return;
  throw new MediaInputError(
    `The video stops after ${(window.startS + detected.decodedS).toFixed(1)} s of the ${window.totalS.toFixed(1)} s it announces (the file is truncated or damaged).`,
  );
}

/** How many analysis frames from a sample its captured frame may lie, with no change between (detectScenes). */
const CAPTURE_REACH = 2;

/** Analysis frames of a held last frame given to the tracker: its settling and HIST_SPAN_S after it. */
const HELD_FRAMES = 2 * CHANGE_FPS;

/** A content cut this close to a shot cut is the same boundary (a fade ffmpeg scored somewhere inside). */
const SAME_CUT_S = 1;

/**
 * One decode pass, two detectors. (1) ffmpeg's scene score on a downscaled
 * picture, frames above the threshold printed by showinfo: hard cuts and
 * fades on camera footage. The score is taken on planar RGB: on YUV input
 * ffmpeg scores the luma plane alone, so a cut between two shots of equal
 * brightness but different colour (red to teal) scores 0.12 instead of 1 and
 * is missed. (2) Small grey frames at CHANGE_FPS streamed to changes.ts,
 * which finds where the picture's content changes while most pixels stay (a
 * new slide, a new window). Neither cuts where the picture only moved, as a
 * whole or beneath a toolbar that stayed: a document scrolled by a mouse
 * wheel jumps tens of pixels a frame, which scores as a hard cut (onlyMoved
 * in changes.ts). Downscaling first makes the pass several times faster and
 * does not change which cuts are found. The scene score's downscale of every
 * frame is an area average (half the time of the default bicubic, the same
 * cuts on scripts/bench-cuts.ts) of every fourth line, the top field's top
 * field, read in place, since swscale's cost is mostly its horizontal pass
 * over each line it reads: on the 720p fast-cut clip, whose decode alone
 * took 3.1 CPU-s in the same runs, the full-height average cost 0.9, every
 * other line 0.5-0.75 and every fourth 0.26. 2 of the 8 lines behind each of
 * the 90 rows score every frame of the bench videos within 0.01 of the 4 of
 * 8 before (the same frames above the threshold; BENCHMARKS.md). The
 * analysis frames keep the default bicubic: changes.ts' thresholds were set
 * on it, and an area or bilinear copy splits slides built up line by line.
 * With captureDir, the settled frames are written there (SettledCapture),
 * raw up to captureRawBytes (its default bound unless a test sets one).
 */
export async function detectScenes(
  file: string,
  threshold: number,
  limits: RunLimits,
  window?: DetectWindow,
  captureDir?: string,
  captureRawBytes?: number,
): Promise<SceneDetection> {
  // Decoding starts exactly there (ffmpeg discards the frames before it) and
  // every time below is shifted back onto the video's clock.
  const from = window ? Number(window.startS.toFixed(3)) : 0;
  const seek = [
    ...(from > 0 ? ['-ss', from.toFixed(3)] : []),
    ...(window?.durationS !== undefined ? ['-t', window.durationS.toFixed(3)] : []),
  ];
  const shotCuts: number[] = [];
  const keyframes: number[] = [];
  let decodedS = 0;
  const tracker = new ChangeTracker();
  const frameBytes = CHANGE_W * CHANGE_H;
  let pending: Buffer = Buffer.alloc(0);
  let frame = 0;
  let lastFrame: Buffer | null = null;
  // Where the first analysis frame lies after the window's start (below).
  let firstS: number | null = null;
  const capture = captureDir ? await SettledCapture.of(file, captureDir, limits, captureRawBytes) : null;
  const endAt = window?.endAtCut;
  const enough = endAt ? new AbortController() : null;
  // Cuts at or after endAt.afterS that may end the pass, the video's clock;
  // shot: ffmpeg's, which may be a scroll's jump (the tracker's never are).
  const pendingCuts: { t: number; shot: boolean }[] = [];
  let trackerCutsSeen = 0;
  const offsetNow = () => (firstS === null ? 0 : Math.round(firstS * CHANGE_FPS) / CHANGE_FPS);
  // Whether a cut at or after endAt.afterS has endAt.holdS of analysed
  // picture after it (the tracker's clock at `now`); checked per frame, and
  // cheap while no cut is pending.
  const cutHeld = (now: number): boolean => {
    if (!endAt) return false;
    const found = tracker.found;
    const off = offsetNow();
    for (; trackerCutsSeen < found.cuts.length; trackerCutsSeen++) {
      const c = found.cuts[trackerCutsSeen]! + off;
      if (c >= endAt.afterS && c > from) pendingCuts.push({ t: c, shot: false });
    }
    while (pendingCuts.length) {
      pendingCuts.sort((a, b) => a.t - b.t);
      const { t: c, shot } = pendingCuts[0]!;
      if (now + off < c + endAt.holdS) return false;
      pendingCuts.shift();
      // A shot cut that is a scroll's or a pan's jump is no cut (below).
      if (shot && movedAt(found.curve, new Set(found.shifts), c - off)) continue;
      return true;
    }
    return false;
  };
  const r = await runTool(
    'ffmpeg',
    [
      '-v',
      'info',
      '-nostats',
      '-threads',
      String(limits.threads ?? 1),
      ...seek,
      ...safeInput(file),
      '-an',
      '-sn',
      '-dn',
      // One downscale per frame, then small frames: slice threads for the
      // filters cost more in hand-offs than they save (BENCHMARKS.md).
      '-filter_complex_threads',
      '1',
      // The null branch passes every frame to the null output so that
      // -progress reports how far decoding really got.
      '-filter_complex',
      `[0:v:0]split[a][c];[a]field=top,field=top,scale=160:'max(2,2*trunc(320*ih/iw))':flags=area,split=3[s][p][k];[s]format=gbrp,select='gt(scene,${threshold})',showinfo,nullsink;` +
        `[k]select='eq(key,1)',showinfo@key,nullsink;` +
        `[p]null[out];[c]fps=${CHANGE_FPS}:eof_action=pass,split[c0][cf];[cf]select='eq(n,0)',showinfo@first,nullsink;[c0]` +
        (capture ? `setpts=N,split[c1][c2];[c2]${capture.filter('cap')};[c1]` : '') +
        `scale=${CHANGE_W}:${CHANGE_H},format=gray[chg]`,
      '-map',
      '[out]',
      '-fps_mode',
      'passthrough',
      '-f',
      'null',
      '-',
      '-map',
      '[chg]',
      // Never padded to the window's start: its first frame is the first
      // analysis frame, wherever that lies (see firstS).
      '-fps_mode',
      'passthrough',
      '-f',
      'rawvideo',
      'pipe:1',
      '-progress',
      'pipe:2',
      ...(capture?.output('cap') ?? []),
    ],
    limits,
    {
      onStderrLine: (l) => {
        capture?.onLine(l);
        const p = l.match(/^out_time_us=(\d+)/);
        if (p) decodedS = Math.max(decodedS, Number(p[1]) / 1e6);
        if (!l.includes('showinfo')) return;
        const m = l.match(/pts_time:\s*([\d.]+)/);
        if (!m) return;
        if (l.startsWith('[showinfo@first ')) firstS ??= Number(m[1]);
        else if (l.startsWith('[showinfo@key ')) keyframes.push(Number(m[1]));
        else {
          shotCuts.push(Number(m[1]));
          if (endAt && from + Number(m[1]) >= endAt.afterS) pendingCuts.push({ t: from + Number(m[1]), shot: true });
        }
      },
      onStdout: (chunk) => {
        if (enough?.signal.aborted) return;
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let off = 0;
        while (pending.length - off >= frameBytes) {
          lastFrame = pending.subarray(off, off + frameBytes);
          tracker.push(lastFrame, from + frame / CHANGE_FPS);
          off += frameBytes;
          frame++;
          if (cutHeld(from + frame / CHANGE_FPS)) {
            enough!.abort();
            break;
          }
        }
        pending = Buffer.from(pending.subarray(off));
      },
      enough: enough?.signal,
    },
  );
  const ended = r.ended && (r.code === 0 || r.code === 255);
  if (r.code !== 0 && !ended) {
    // The capture is only a saving: a file its branch cannot handle (or a
    // folder it cannot write) is analysed again without it, and only a
    // failure of the pass itself says the video cannot be decoded.
    if (capture) return detectScenes(file, threshold, limits, window);
    throw new MediaInputError(`The video could not be decoded (${stderrSummary(r.stderr, 1)}).`);
  }
  // The first analysis frame is the first frame at or after the window's
  // start (a seek drops those before it; the fps filter starts where its
  // input does): seconds later in a variable-rate file, or where a picture
  // starts after its sound. The tracker counts its frames from the window's
  // start; its times are moved by that much once it is done.
  const offset = offsetNow();
  // ffmpeg 5's fps filter ends at the last frame's start, not where it stops
  // showing: in a variable-rate recording (a screen recorder writes a frame
  // only when something changes) the last slide can be one frame held for
  // minutes, and the tracker never saw it settle, so it was neither a cut nor
  // read. The frame is shown until decoding's end or the window's (the
  // video's), so the tracker sees it held, as long as its settling and the
  // gradual-change window need.
  const windowS = window?.endS !== undefined ? window.endS - from : (window?.durationS ?? 0);
  const heldS = Math.max(decodedS, windowS) - offset - frame / CHANGE_FPS;
  // Two frames at least: a window's end rounded past its last frame is no
  // hold. A pass ended at a cut saw its last frame in the middle of the video.
  if (lastFrame && heldS >= 2 / CHANGE_FPS && !ended)
    for (let k = 0; k < Math.min(Math.floor(heldS * CHANGE_FPS), HELD_FRAMES); k++, frame++)
      tracker.push(lastFrame, from + frame / CHANGE_FPS);
  const counted = tracker.finish();
  // A sample's frame is the one written at its analysis frame n (the
  // tracker's times are from + n / CHANGE_FPS) or, where the gate and the
  // tracker drew the line between change and settled one frame apart, one
  // written CAPTURE_REACH frames away that the tracker saw no change to.
  const written = capture?.written() ?? new Map<number, { file: string; black: boolean }>();
  const captured = new Map<number, string>();
  const unchanged = (a: number, b: number) => {
    for (let k = Math.min(a, b) + 1; k <= Math.max(a, b); k++) if (counted.curve[k]?.change !== 0) return false;
    return true;
  };
  const near = [0];
  for (let d = 1; d <= CAPTURE_REACH; d++) near.push(d, -d);
  const at = (t: number) => t + offset;
  // A raw frame used is converted to RGB once here, for every reader; one
  // that cannot be is left to a seek.
  const usable = async (file: string) => {
    if (!file.endsWith('.pgm')) return file;
    const to = file.replace(/\.pgm$/, '.ppm');
    return (await rgbFrame(file, to)) ? to : null;
  };
  for (const t of counted.textSamples) {
    const n = Math.round((t - from) * CHANGE_FPS);
    for (const m of near.map((d) => n + d)) {
      const c = written.get(m);
      if (c && !c.black && unchanged(n, m)) {
        const file = await usable(c.file);
        if (file) captured.set(at(t), file);
        break;
      }
    }
  }
  const changes =
    offset === 0
      ? counted
      : {
          cuts: counted.cuts.map(at),
          textSamples: counted.textSamples.map(at),
          curve: counted.curve.map((c) => ({ t: at(c.t), change: c.change })),
          shifts: counted.shifts.map(at),
        };
  // The window's first frame has no predecessor: it is no cut. Nor is a
  // scroll's or a pan's jump (movedAt).
  const shifted = new Set(changes.shifts);
  const shots = [...new Set(shotCuts)]
    .filter((t) => t > 0)
    .map((t) => from + t)
    .filter((s) => !movedAt(changes.curve, shifted, s))
    .sort((a, b) => a - b);
  const contentCuts = changes.cuts.filter((t) => t > from && !shots.some((s) => Math.abs(s - t) < SAME_CUT_S));
  return {
    cuts: [...shots, ...contentCuts].sort((a, b) => a - b),
    contentCuts,
    curve: changes.curve,
    textSamples: changes.textSamples,
    decodedS,
    ...(ended ? { endedS: at(from + frame / CHANGE_FPS) } : {}),
    keyframes: keyframes.map((t) => from + t),
    captured,
  };
}

/**
 * Whether a cut at s is a scroll's or a pan's jump: the picture moved as a
 * whole between the pair of analysis frames that ends at the first sample at
 * or after s, or at the one before where the fps filter rounded the cut's
 * frame onto it; of the two, the one that changed more. (The other one may
 * well be a move: a pan just before a hard cut, or just after it.)
 */
function movedAt(curve: ContentChanges['curve'], shifted: Set<number>, s: number): boolean {
  const n = curve.findIndex((c) => c.t >= s - 1e-6);
  const pair = [curve[n - 1], curve[n]]
    .filter((c) => c !== undefined)
    .reduce<{ t: number; change: number } | null>((a, c) => (!a || c.change > a.change ? c : a), null);
  return pair !== null && shifted.has(pair.t);
}
