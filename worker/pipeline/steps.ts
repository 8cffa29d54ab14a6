/*
 * The side effects of the validate and transcribe jobs, and the pieces the
 * stage table (stages.ts) shares with them: a work folder, the download and
 * the transcript. Each returns what the task hands to its SQL step function;
 * none writes to the database except progress reports, so a crash anywhere
 * leaves the last committed state intact and the retried job starts over.
 */
import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { StoragePermanentError } from '../../core/storage/types.ts';
import {
  MediaInputError,
  extractAudio16kMono,
  extractSubtitles,
  decodeSubtitleBytes,
  guessLanguage,
  looksLikeSubtitles,
  wholeCues,
  parseSubtitles,
  playbackParts,
  playbackPlan,
  probe,
  type MediaFacts,
  type PlaybackPlan,
} from '../media/index.ts';
import type { TranscriptSegment } from '../ml/types.ts';
import { mediaLimits, type PipelineContext, type VideoRow } from './context.ts';
import { keepVerified, linkKept } from './kept-videos.ts';
import type { Progress } from './stages.ts';
import { withWorkDir } from './workdir.ts';

/**
 * Audio handed to the speech model at once: 5 minutes is 19 MB of samples.
 * The default INDEX_CHUNK_S is one window, so a chunked long video is cut
 * for speech exactly where one job over the whole video would cut it.
 */
const ASR_WINDOW_S = 300;

/** Left over after a chunk, this little of the video is done by that chunk rather than a job of its own. */
const CHUNK_TAIL_S = 1;

/**
 * Work a transcribe job does beside speech recognition, which runs in a
 * process of its own: begun when recognition of the speech up to `untilS`
 * begins, finished when it ends (ok: whether it succeeded; a failed one
 * cancels it), and awaited before the job returns.
 */
export type Alongside = (speech: { untilS: number }) => { finish(ok: boolean): Promise<void> };

export { withWorkDir };

export const CHANGED_AFTER_UPLOAD =
  'The file changed after upload: its bytes differ from those validated. Upload it again as a new video.';

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface FetchedVideo {
  /** In the job's work folder. */
  file: string;
  /** SHA-256 of its bytes: what validation records, and every later job checks. */
  sha256: string;
  /** The object's version these bytes were read at, where the store tells one. */
  version: string | undefined;
}

/**
 * Streams the video to the work folder, capped at MAX_UPLOAD_BYTES. Once
 * validation has recorded the digest, other bytes under the same key are
 * refused: every stage works on exactly what was validated. Bytes this
 * process verified before are linked from where it kept them instead, while
 * the store says the object was not written since (kept-videos.ts).
 */
export async function fetchVideo(
  ctx: PipelineContext,
  video: VideoRow,
  dir: string,
  signal?: AbortSignal,
): Promise<FetchedVideo> {
  const file = path.join(dir, 'input');
  const pinned = video.content_sha256;
  // Read before the bytes: an object written again in between then fails
  // the digest rather than being kept under the old version.
  const version = (await ctx.storage.stat(video.object_key))?.version;
  if (pinned && version && (await linkKept(video.object_key, pinned, version, file)))
    return { file, sha256: pinned, version };
  try {
    await ctx.storage.download(video.object_key, file, { maxBytes: ctx.config.storage.maxUploadBytes, signal });
  } catch (e) {
    if (e instanceof StoragePermanentError) {
      throw new MediaInputError(
        /not found/i.test(e.message)
          ? 'The uploaded file is missing from storage.'
          : `The uploaded file could not be used: ${e.message}`,
      );
    }
    throw e;
  }
  const sha256 = await sha256File(file);
  if (!pinned) return { file, sha256, version };
  if (sha256 !== pinned) throw new MediaInputError(CHANGED_AFTER_UPLOAD);
  if (version) await keepVerified(video.object_key, sha256, version, file);
  return { file, sha256, version };
}

export interface ValidatedFacts {
  /** Size of the stored object; replaces whatever size the inserting client announced. */
  byte_size: number;
  duration_s: number;
  width: number;
  height: number;
  fps: number | null;
  video_codec: string;
  audio_codec: string | null;
  has_audio: boolean;
  /** How it will play in a browser; a copy is made in `parts` jobs of `part_s` seconds of picture. */
  playback: { plan: PlaybackPlan; parts: number; part_s: number };
}

const MAX_DIMENSION = 16384;

/** ffprobe plus the limits a video must meet. Throws MediaInputError with the reason. */
export async function validateVideo(ctx: PipelineContext, file: string, signal?: AbortSignal): Promise<ValidatedFacts> {
  const f: MediaFacts = await probe(file, mediaLimits(ctx, signal));
  if (!(f.durationS > 0))
    throw new MediaInputError('The video has no duration (it may be truncated or a single image).');
  const max = ctx.config.worker.maxDurationS;
  if (f.durationS > max) {
    throw new MediaInputError(`The video is ${Math.round(f.durationS)} s long; the limit is ${max} s.`);
  }
  // ffprobe reports 0x0 when it refuses the declared size (e.g. 100000x100000).
  if (!(f.width > 0 && f.height > 0)) {
    throw new MediaInputError(
      `The picture size could not be read: the file declares a frame size that cannot be decoded (the limit is ${MAX_DIMENSION} pixels per side), or its video stream is damaged.`,
    );
  }
  if (!(f.width >= 16 && f.height >= 16 && f.width <= MAX_DIMENSION && f.height <= MAX_DIMENSION)) {
    throw new MediaInputError(
      `The picture size ${f.width}x${f.height} is not supported (16 to ${MAX_DIMENSION} pixels per side).`,
    );
  }
  return {
    byte_size: (await fs.stat(file)).size,
    duration_s: f.durationS,
    width: f.width,
    height: f.height,
    fps: f.fps,
    video_codec: f.videoCodec,
    audio_codec: f.audioCodec,
    has_audio: f.hasAudio,
    playback: playbackFacts(ctx, f),
  };
}

/** How a probed video will play in a browser, and in how many parts of how long its copy is made. */
export function playbackFacts(ctx: PipelineContext, f: MediaFacts): ValidatedFacts['playback'] {
  const partS = ctx.config.worker.chunkS;
  return { plan: playbackPlan(f), parts: playbackParts(f.pictureS, partS), part_s: partS };
}

export interface Transcript {
  source: 'subtitles' | 'asr' | 'none';
  language: string | null;
  model: string | null;
  segments: TranscriptSegment[];
  missing: boolean;
  /** What had to be cut to stay within limits (recorded on the video, never dropped silently). */
  notes?: string[];
}

/**
 * The sidecar's first SIDECAR_MAX_BYTES and the digest of all of it. Read as
 * a stream so a huge file costs no disk and no memory beyond the cap.
 */
export async function readSidecar(
  ctx: PipelineContext,
  key: string,
): Promise<{ text: string; total: number; sha256: string } | null> {
  const cap = ctx.config.worker.sidecarMaxBytes;
  let stream;
  try {
    stream = await ctx.storage.getStream(key);
  } catch (e) {
    if (e instanceof StoragePermanentError) return null;
    throw e;
  }
  const h = crypto.createHash('sha256');
  const kept: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    h.update(b);
    if (total < cap) kept.push(b.subarray(0, cap - total));
    total += b.length;
  }
  const { text } = decodeSubtitleBytes(Buffer.concat(kept), total > cap);
  return { text: total > cap ? wholeCues(text) : text, total, sha256: h.digest('hex') };
}

async function sidecarSubtitles(
  ctx: PipelineContext,
  video: VideoRow,
  notes: string[],
): Promise<TranscriptSegment[] | null> {
  if (!video.subtitle_key) return null;
  // A missing sidecar should not sink the video: speech or embedded
  // subtitles still give a transcript.
  const read = await readSidecar(ctx, video.subtitle_key);
  if (!read) return null;
  if (video.subtitle_sha256 && read.sha256 !== video.subtitle_sha256)
    throw new MediaInputError(
      'The subtitle file changed after upload: its bytes differ from those validated. Upload the video again.',
    );
  const cap = ctx.config.worker.sidecarMaxBytes;
  if (read.total > cap)
    notes.push(`The subtitle file is ${read.total} bytes; only its first ${cap} bytes were read (SIDECAR_MAX_BYTES).`);
  if (!looksLikeSubtitles(read.text)) return null;
  const segs = parseSubtitles(read.text);
  return segs.length ? segs : null;
}

/**
 * Subtitles (sidecar, then embedded) before speech recognition: they are
 * exact and free. Speech is recognised over [window.startS, + lengthS) only
 * when a window is given (one chunk job of a long video); `endS` says how far
 * the transcript reaches: subtitles, and a video without speech to
 * recognise, are done whole at once.
 */
export async function transcribe(
  ctx: PipelineContext,
  video: VideoRow,
  file: string,
  dir: string,
  signal?: AbortSignal,
  onWindow?: (done: number) => Promise<void>,
  window?: { startS: number; lengthS: number },
  alongside?: Alongside,
): Promise<Transcript & { endS: number }> {
  const limits = mediaLimits(ctx, signal);
  const notes: string[] = [];
  const whole = video.duration_s ?? 0;
  const sidecar = await sidecarSubtitles(ctx, video, notes);
  // Subtitles do not say their language (an embedded track may): the text
  // does, and search stems the video's words in it.
  if (sidecar)
    return {
      source: 'subtitles',
      language: guessLanguage(sidecar),
      model: null,
      segments: sidecar,
      missing: false,
      notes,
      endS: whole,
    };
  const facts = await probe(file, limits);
  const cap = ctx.config.worker.sidecarMaxBytes;
  for (const stream of facts.subtitleStreams) {
    let srt = await extractSubtitles(file, stream, limits);
    if (srt && Buffer.byteLength(srt) > cap) {
      notes.push(`An embedded subtitle track is ${Buffer.byteLength(srt)} bytes; only its first ${cap} were read.`);
      srt = wholeCues(decodeSubtitleBytes(Buffer.from(srt).subarray(0, cap), true).text);
    }
    const segs = srt ? parseSubtitles(srt) : [];
    if (segs.length)
      return {
        source: 'subtitles',
        language: stream.language ?? guessLanguage(segs),
        model: null,
        segments: segs,
        missing: false,
        notes,
        endS: facts.durationS,
      };
  }
  const total = facts.durationS;
  if (!facts.hasAudio)
    return { source: 'none', language: null, model: null, segments: [], missing: false, endS: total };
  const asr = await ctx.models.speechRecognizer();
  if (!asr) return { source: 'none', language: null, model: null, segments: [], missing: true, endS: total };
  // Windows bound memory (samples of one window at a time) and let progress
  // move during long recognitions. A word cut by a window edge may be lost;
  // a chunk's edges are window edges (the chunk starts a window), so chunks
  // of a multiple of ASR_WINDOW_S cut exactly where a single job would.
  const segments: TranscriptSegment[] = [];
  let language: string | null = null;
  const from = window?.startS ?? 0;
  // A tail under a second (audio a few ms longer than the picture) is no chunk of its own.
  const until = window && from + window.lengthS < total - CHUNK_TAIL_S ? from + window.lengthS : total;
  const beside = alongside?.({ untilS: until });
  let ok = false;
  try {
    for (let start = from; start < until; start += ASR_WINDOW_S) {
      const samples = await extractAudio16kMono(file, dir, limits, {
        startS: start,
        durationS: Math.min(ASR_WINDOW_S, until - start),
      });
      if (samples.length === 0) break;
      const r = await asr.transcribe(samples);
      language ??= r.language;
      for (const s of r.segments) segments.push({ start: s.start + start, end: s.end + start, text: s.text });
      await onWindow?.(Math.min(1, (start + ASR_WINDOW_S - from) / (until - from)));
    }
    ok = true;
  } finally {
    await beside?.finish(ok);
  }
  return { source: 'asr', language, model: asr.modelId, segments, missing: false, endS: until };
}

/** One transcribe chunk's product for app_private.pipeline_chunk_done. */
export interface TranscriptChunk {
  start_s: number;
  end_s: number;
  /** Whether it reached the end of the video (then the chunks are assembled). */
  last: boolean;
  product: Transcript;
  notes: string[];
}

/**
 * One transcribe job: a chunk covers INDEX_CHUNK_S of the video's speech
 * from startS (where the previous chunk ended); subtitles, or no speech to
 * recognise, cover it all at once.
 */
export async function transcribeVideo(
  ctx: PipelineContext,
  video: VideoRow,
  progress: Progress,
  signal?: AbortSignal,
  startS = 0,
  alongside?: Alongside,
): Promise<TranscriptChunk> {
  return withWorkDir(async (dir) => {
    await progress('transcribe', 0);
    const { file } = await fetchVideo(ctx, video, dir, signal);
    const lengthS = ctx.config.worker.chunkS;
    const { notes, endS, ...t } = await transcribe(
      ctx,
      video,
      file,
      dir,
      signal,
      (done) => progress('transcribe', done),
      { startS, lengthS },
      alongside,
    );
    // Only speech recognition goes a chunk at a time.
    const last = t.source !== 'asr' || endS >= (video.duration_s ?? endS) - 1e-6;
    return { start_s: t.source === 'asr' ? startS : 0, end_s: endS, last, product: t, notes: notes ?? [] };
  });
}

/**
 * Caps each scene's transcript and on-screen text at SCENE_TEXT_MAX_CHARS,
 * keeping the first part, and says what was cut. Without it one scene under
 * a huge subtitle track exceeds PostgreSQL's 1 MB full-text entry and the job
 * fails on every retry.
 */
export function capSceneTexts(scenes: { transcript?: string; ocr_text?: string }[], maxChars: number): string[] {
  let cut = 0;
  for (const s of scenes) {
    for (const k of ['transcript', 'ocr_text'] as const) {
      const t = s[k];
      if (typeof t === 'string' && t.length > maxChars) {
        s[k] = t.slice(0, maxChars);
        cut++;
      }
    }
  }
  return cut ? [`The text of ${cut} scene field(s) was cut to ${maxChars} characters (SCENE_TEXT_MAX_CHARS).`] : [];
}
