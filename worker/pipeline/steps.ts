/*
 * The side effects of the validate and transcribe jobs, and the pieces the
 * stage table (stages.ts) shares with them: a work folder, the download and
 * the transcript. Each returns what the task hands to its SQL step function;
 * none writes to the database except progress reports, so a crash anywhere
 * leaves the last committed state intact and the retried job starts over.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StoragePermanentError } from '../../core/storage/types.ts';
import {
  MediaInputError,
  extractAudio16kMono,
  extractSubtitles,
  looksLikeSubtitles,
  parseSubtitles,
  probe,
  type MediaFacts,
} from '../media/index.ts';
import type { TranscriptSegment } from '../ml/types.ts';
import { mediaLimits, type PipelineContext, type VideoRow } from './context.ts';
import type { Progress } from './stages.ts';

const SIDECAR_MAX_BYTES = 16 * 1024 * 1024;
/** Audio handed to the speech model at once: 10 minutes is 38 MB of samples. */
const ASR_WINDOW_S = 600;
/** A temp folder for one job, removed whatever happens. */
export async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'heimdex-job-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Streams the video to the work folder, capped at MAX_UPLOAD_BYTES. */
export async function fetchVideo(
  ctx: PipelineContext,
  video: VideoRow,
  dir: string,
  signal?: AbortSignal,
): Promise<string> {
  const file = path.join(dir, 'input');
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
  return file;
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
  };
}

export interface Transcript {
  source: 'subtitles' | 'asr' | 'none';
  language: string | null;
  model: string | null;
  segments: TranscriptSegment[];
  missing: boolean;
}

async function sidecarSubtitles(
  ctx: PipelineContext,
  video: VideoRow,
  dir: string,
  signal?: AbortSignal,
): Promise<TranscriptSegment[] | null> {
  if (!video.subtitle_key) return null;
  const file = path.join(dir, 'sidecar.txt');
  try {
    await ctx.storage.download(video.subtitle_key, file, { maxBytes: SIDECAR_MAX_BYTES, signal });
  } catch (e) {
    // A missing or oversized sidecar should not sink the video: speech or
    // embedded subtitles still give a transcript.
    if (e instanceof StoragePermanentError) return null;
    throw e;
  }
  const text = await fs.readFile(file, 'utf8');
  if (!looksLikeSubtitles(text)) return null;
  const segs = parseSubtitles(text);
  return segs.length ? segs : null;
}

/** Subtitles (sidecar, then embedded) before speech recognition: they are exact and free. */
export async function transcribe(
  ctx: PipelineContext,
  video: VideoRow,
  file: string,
  dir: string,
  signal?: AbortSignal,
  onWindow?: (done: number) => Promise<void>,
): Promise<Transcript> {
  const limits = mediaLimits(ctx, signal);
  const sidecar = await sidecarSubtitles(ctx, video, dir, signal);
  if (sidecar) return { source: 'subtitles', language: null, model: null, segments: sidecar, missing: false };
  const facts = await probe(file, limits);
  for (const stream of facts.subtitleStreams) {
    const srt = await extractSubtitles(file, stream, limits);
    const segs = srt ? parseSubtitles(srt) : [];
    if (segs.length)
      return { source: 'subtitles', language: stream.language, model: null, segments: segs, missing: false };
  }
  if (!facts.hasAudio) return { source: 'none', language: null, model: null, segments: [], missing: false };
  const asr = await ctx.models.speechRecognizer();
  if (!asr) return { source: 'none', language: null, model: null, segments: [], missing: true };
  // Windows bound memory (samples of one window at a time) and let progress
  // move during long recognitions. A word cut by a window edge may be lost.
  const segments: TranscriptSegment[] = [];
  let language: string | null = null;
  const total = facts.durationS;
  for (let start = 0; start < total; start += ASR_WINDOW_S) {
    const samples = await extractAudio16kMono(file, dir, limits, {
      startS: start,
      durationS: Math.min(ASR_WINDOW_S, total - start),
    });
    if (samples.length === 0) break;
    const r = await asr.transcribe(samples);
    language ??= r.language;
    for (const s of r.segments) segments.push({ start: s.start + start, end: s.end + start, text: s.text });
    await onWindow?.(Math.min(1, (start + ASR_WINDOW_S) / total));
  }
  return { source: 'asr', language, model: asr.modelId, segments, missing: false };
}

/** The transcript job: subtitles if any, else speech recognition (possibly long). */
export async function transcribeVideo(
  ctx: PipelineContext,
  video: VideoRow,
  progress: Progress,
  signal?: AbortSignal,
): Promise<Transcript> {
  return withWorkDir(async (dir) => {
    await progress('transcribe', 0);
    const file = await fetchVideo(ctx, video, dir, signal);
    return transcribe(ctx, video, file, dir, signal, (done) => progress('transcribe', done));
  });
}
