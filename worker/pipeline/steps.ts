/*
 * The side effects of the pipeline, one function per task. Each returns what
 * the task then hands to its SQL step function; none writes to the database
 * except progress reports, so a crash anywhere leaves the last committed
 * state intact and the retried job starts over cleanly.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { keyframeKey } from '../../core/storage/keys.ts';
import { StoragePermanentError } from '../../core/storage/types.ts';
import {
  MediaInputError,
  detectScenes,
  extractAudio16kMono,
  extractKeyframe,
  extractSubtitles,
  looksLikeSubtitles,
  parseSubtitles,
  probe,
  type MediaFacts,
} from '../media/index.ts';
import type { TranscriptSegment } from '../ml/types.ts';
import { mediaLimits, type PipelineContext, type SkippableStage, type VideoRow } from './context.ts';
import { assignTranscript, planScenes, type Span } from './scenes.ts';

export type Progress = (stage: string, progress: number) => Promise<void>;

const TEXT_BATCH = 16;
const IMAGE_BATCH = 8;
const SIDECAR_MAX_BYTES = 16 * 1024 * 1024;
/** Audio handed to the speech model at once: 10 minutes is 38 MB of samples. */
const ASR_WINDOW_S = 600;
/** Decoding must reach this share of the probed duration, or the file is truncated. */
const MIN_DECODED_SHARE = 0.9;

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
  /** Size of the stored object: rows inserted by SQL arrive without one. */
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

export interface SceneOut {
  ordinal: number;
  start_s: number;
  end_s: number;
  transcript: string;
  ocr_text?: string;
  tags?: { label: string; score: number }[];
  text_vec?: number[] | null;
  image_vec?: number[] | null;
  keyframe_key?: string | null;
}

export interface IndexResult {
  transcript_source: 'subtitles' | 'asr' | 'none';
  language: string | null;
  asr_model: string | null;
  text_model: string | null;
  image_model: string | null;
  ocr_model: string | null;
  missing_stages: SkippableStage[];
  scenes: SceneOut[];
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
async function transcribe(
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

async function inBatches<T, R>(items: T[], size: number, fn: (batch: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    const r = await fn(items.slice(i, i + size));
    if (r.length !== Math.min(size, items.length - i))
      throw new Error(`model returned ${r.length} results for ${Math.min(size, items.length - i)} inputs`);
    out.push(...r);
  }
  return out;
}

const vec = (v: Float32Array) => Array.from(v, (x) => Math.fround(x));

/** Text vectors for non-empty transcripts; silent scenes stay null (never zero vectors). */
async function embedTexts(
  ctx: PipelineContext,
  transcripts: string[],
): Promise<{ model: string; vecs: (number[] | null)[] } | null> {
  const emb = await ctx.models.textEmbedder();
  if (!emb) return null;
  const idx = transcripts.map((t, i) => (t.trim() ? i : -1)).filter((i) => i >= 0);
  const vecs: (number[] | null)[] = transcripts.map(() => null);
  const got = await inBatches(
    idx.map((i) => transcripts[i]!),
    TEXT_BATCH,
    (b) => emb.embed(b),
  );
  idx.forEach((i, k) => (vecs[i] = vec(got[k]!)));
  return { model: emb.modelId, vecs };
}

/** Image vectors (and tags from them) for the keyframe files; scenes without a keyframe stay null. */
async function embedImages(ctx: PipelineContext, files: (string | null)[]) {
  const emb = await ctx.models.imageEmbedder();
  if (!emb) return null;
  const idx = files.map((f, i) => (f ? i : -1)).filter((i) => i >= 0);
  const raw: (Float32Array | null)[] = files.map(() => null);
  const got = await inBatches(
    idx.map((i) => files[i]!),
    IMAGE_BATCH,
    (b) => emb.embedImages(b),
  );
  idx.forEach((i, k) => (raw[i] = got[k]!));
  return { model: emb.modelId, raw };
}

async function tagImages(ctx: PipelineContext, raw: (Float32Array | null)[]) {
  const tagger = await ctx.models.tagger();
  if (!tagger) return null;
  const tags: { label: string; score: number }[][] = [];
  for (const v of raw) tags.push(v ? await tagger.tag(v, 5) : []);
  return { model: tagger.modelId, tags };
}

async function readTexts(ctx: PipelineContext, files: (string | null)[]) {
  const read = await readSceneTexts(
    ctx,
    files.map((f) => (f ? [f] : [])),
  );
  return read && { model: read.model, texts: read.texts };
}

/** OCR of every frame of every scene; a scene's text is each distinct frame text once, in frame order. */
async function readSceneTexts(ctx: PipelineContext, perScene: string[][]) {
  const reader = await ctx.models.textReader();
  if (!reader) return null;
  const texts: string[] = [];
  for (const files of perScene) {
    const seen = new Set<string>();
    for (const f of files) {
      const t = (await reader.read(f)).text.replace(/\s+/g, ' ').trim();
      if (t && ![...seen].some((s) => s.includes(t))) seen.add(t);
    }
    texts.push([...seen].join(' '));
  }
  return { model: reader.modelId, texts };
}

/**
 * On-screen text may show for a few seconds anywhere in a long shot, not just
 * at its keyframe, so scenes of at least 2 × OCR_SAMPLE_S are also read at one
 * frame per OCR_SAMPLE_S window (each the window's first non-black frame a
 * third of the way in). Only the keyframe is stored.
 */
const OCR_SAMPLE_S = 8;

async function ocrFrames(
  file: string,
  dir: string,
  spans: Span[],
  keyframes: (string | null)[],
  limits: ReturnType<typeof mediaLimits>,
) {
  const out: string[][] = [];
  for (const [i, s] of spans.entries()) {
    const files = keyframes[i] ? [keyframes[i]!] : [];
    const windows = Math.floor((s.end - s.start) / OCR_SAMPLE_S);
    const w = (s.end - s.start) / windows;
    for (let j = 0; windows >= 2 && j < windows; j++) {
      const jpg = path.join(dir, 'keyframes', `${i}-ocr-${j}.jpg`);
      if (await extractKeyframe(file, s.start + j * w, s.start + (j + 1) * w, jpg, limits)) files.push(jpg);
    }
    out.push(files);
  }
  return out;
}

/** The transcript job: subtitles if any, else speech recognition (possibly long). */
export async function transcribeVideo(
  ctx: PipelineContext,
  video: VideoRow,
  progress: Progress,
  signal?: AbortSignal,
): Promise<Transcript> {
  return withWorkDir(async (dir) => {
    await progress('transcribe', 0.12);
    const file = await fetchVideo(ctx, video, dir, signal);
    return transcribe(ctx, video, file, dir, signal, (done) => progress('transcribe', 0.12 + 0.22 * done));
  });
}

/**
 * Everything after the transcript: scenes, keyframes (stored), embeddings,
 * tags, OCR. Stages whose model is absent are skipped and listed in
 * missing_stages. Returns the complete replacement set of scenes. Without a
 * stored transcript (an index job queued by hand) it transcribes inline.
 */
export async function indexVideo(
  ctx: PipelineContext,
  video: VideoRow,
  stored: Transcript | null,
  progress: Progress,
  signal?: AbortSignal,
): Promise<IndexResult> {
  return withWorkDir(async (dir) => {
    const limits = mediaLimits(ctx, signal);
    await progress('fetch', 0.36);
    const file = await fetchVideo(ctx, video, dir, signal);
    const duration = video.duration_s ?? (await probe(file, limits)).durationS;
    const missing: SkippableStage[] = [];

    const transcript = stored ?? (await transcribe(ctx, video, file, dir, signal));
    if (transcript.missing) missing.push('transcribe');

    await progress('scenes', 0.4);
    const detected = await detectScenes(file, ctx.config.worker.sceneThreshold, limits);
    if (detected.decodedS < duration * MIN_DECODED_SHARE) {
      throw new MediaInputError(
        `The video stops after ${detected.decodedS.toFixed(1)} s of the ${duration.toFixed(1)} s it announces (the file is truncated or damaged).`,
      );
    }
    const spans = planScenes(detected.cuts, duration, {
      minS: ctx.config.worker.sceneMinS,
      maxS: ctx.config.worker.sceneMaxS,
    });
    const texts = assignTranscript(transcript.segments, spans);

    await progress('keyframes', 0.5);
    const frames = await keyframes(ctx, video, file, dir, spans, limits);

    await progress('embed', 0.6);
    const text = await embedTexts(ctx, texts);
    if (!text && texts.some((t) => t)) missing.push('embed_text');
    await progress('embed', 0.7);
    const image = await embedImages(
      ctx,
      frames.map((f) => f.file),
    );
    if (!image) missing.push('embed_image');
    await progress('tags', 0.8);
    const tags = image ? await tagImages(ctx, image.raw) : null;
    if (!tags) missing.push('tags');
    await progress('ocr', 0.85);
    const ocr = (await ctx.models.textReader())
      ? await readSceneTexts(
          ctx,
          await ocrFrames(
            file,
            dir,
            spans,
            frames.map((f) => f.file),
            limits,
          ),
        )
      : null;
    if (!ocr) missing.push('ocr');
    await progress('write', 0.95);

    return {
      transcript_source: transcript.source,
      language: transcript.language,
      asr_model: transcript.model,
      text_model: text?.model ?? null,
      image_model: image?.model ?? null,
      ocr_model: ocr?.model ?? null,
      missing_stages: missing,
      scenes: spans.map((s, i) => ({
        ordinal: i,
        start_s: s.start,
        end_s: s.end,
        transcript: texts[i]!,
        ocr_text: ocr?.texts[i] ?? '',
        tags: tags?.tags[i] ?? [],
        text_vec: text?.vecs[i] ?? null,
        image_vec: image?.raw[i] ? vec(image.raw[i]!) : null,
        keyframe_key: frames[i]!.key,
      })),
    };
  });
}

async function keyframes(
  ctx: PipelineContext,
  video: VideoRow,
  file: string,
  dir: string,
  spans: Span[],
  limits: ReturnType<typeof mediaLimits>,
) {
  await fs.mkdir(path.join(dir, 'keyframes'), { recursive: true });
  const out: { file: string | null; key: string | null }[] = [];
  for (const [i, s] of spans.entries()) {
    const jpg = path.join(dir, 'keyframes', `${i}.jpg`);
    if (!(await extractKeyframe(file, s.start, s.end, jpg, limits))) {
      out.push({ file: null, key: null });
      continue;
    }
    const key = keyframeKey(video.owner_id, video.id, i);
    await ctx.storage.put(key, await fs.readFile(jpg), 'image/jpeg');
    out.push({ file: jpg, key });
  }
  return out;
}

export interface StoredScene {
  ordinal: number;
  start_s: number;
  end_s: number;
  transcript: string;
  keyframe_key: string | null;
  image_vec: string | null;
}

export type ReindexMode = 'missing' | 'stale';

/** What videos__reindex hands to app_private.pipeline_reindexed. */
export type ReindexResult = Partial<Omit<IndexResult, 'scenes'>> & { scenes: Partial<SceneOut>[] };

/**
 * Re-runs only some stages on the stored scenes: for mode "missing" the
 * stages in missing_stages whose model is present now; for "stale" the
 * embeddings whose recorded model differs from the configured one. Returns
 * null when nothing could be done (the models are still absent).
 */
export async function reindexVideo(
  ctx: PipelineContext,
  video: VideoRow,
  scenes: StoredScene[],
  mode: ReindexMode,
  progress: Progress,
  signal?: AbortSignal,
): Promise<ReindexResult | null> {
  const [textEmb, imageEmb, asr, tagger, reader] = await Promise.all([
    ctx.models.textEmbedder(),
    ctx.models.imageEmbedder(),
    ctx.models.speechRecognizer(),
    ctx.models.tagger(),
    ctx.models.textReader(),
  ]);
  const missing = new Set(video.missing_stages as SkippableStage[]);
  const todo = new Set<SkippableStage>();
  if (mode === 'missing') {
    if (missing.has('transcribe') && asr) todo.add('transcribe').add('embed_text');
    if (missing.has('embed_text') && textEmb) todo.add('embed_text');
    if (missing.has('embed_image') && imageEmb) todo.add('embed_image');
    if (missing.has('tags') && tagger && (imageEmb || !missing.has('embed_image'))) todo.add('tags');
    if (missing.has('ocr') && reader) todo.add('ocr');
  } else {
    if (textEmb && video.text_model !== textEmb.modelId && video.transcript_source !== 'none') todo.add('embed_text');
    if (imageEmb && video.image_model !== imageEmb.modelId) todo.add('embed_image').add('tags');
  }
  if (!textEmb) todo.delete('embed_text');
  if (!tagger) todo.delete('tags');
  if (todo.size === 0) return null;

  return withWorkDir(async (dir) => {
    const result: ReindexResult = { scenes: scenes.map((s) => ({ ordinal: s.ordinal })) };
    const patch = (i: number, p: Partial<SceneOut>) => Object.assign(result.scenes[i]!, p);
    let transcripts = scenes.map((s) => s.transcript);

    if (todo.has('transcribe')) {
      await progress('transcribe', 0.2);
      const file = await fetchVideo(ctx, video, dir, signal);
      const t = await transcribe(ctx, video, file, dir, signal);
      transcripts = assignTranscript(
        t.segments,
        scenes.map((s) => ({ start: s.start_s, end: s.end_s })),
      );
      transcripts.forEach((t, i) => patch(i, { transcript: t }));
      Object.assign(result, { transcript_source: t.source, language: t.language, asr_model: t.model });
      missing.delete('transcribe');
      // New words with no text model yet: that embedding is now the missing stage.
      if (!textEmb && transcripts.some((x) => x)) missing.add('embed_text');
    }
    if (todo.has('embed_text')) {
      await progress('embed', 0.4);
      const t = (await embedTexts(ctx, transcripts))!;
      t.vecs.forEach((v, i) => patch(i, { text_vec: v }));
      result.text_model = t.model;
      missing.delete('embed_text');
    }
    let files: (string | null)[] = [];
    if (todo.has('embed_image') || todo.has('tags') || todo.has('ocr')) {
      await progress('keyframes', 0.5);
      files = await Promise.all(
        scenes.map(async (s) => {
          if (!s.keyframe_key) return null;
          const f = path.join(dir, `${s.ordinal}.jpg`);
          try {
            await ctx.storage.download(s.keyframe_key, f, { maxBytes: 32 * 1024 * 1024, signal });
            return f;
          } catch (e) {
            if (e instanceof StoragePermanentError) return null;
            throw e;
          }
        }),
      );
    }
    let raw: (Float32Array | null)[] | null = null;
    if (todo.has('embed_image')) {
      await progress('embed', 0.6);
      const im = (await embedImages(ctx, files))!;
      raw = im.raw;
      raw.forEach((v, i) => patch(i, { image_vec: v ? vec(v) : null }));
      result.image_model = im.model;
      missing.delete('embed_image');
    }
    if (todo.has('tags')) {
      await progress('tags', 0.8);
      raw ??= scenes.map((s) => (s.image_vec ? Float32Array.from(JSON.parse(s.image_vec) as number[]) : null));
      const t = (await tagImages(ctx, raw))!;
      t.tags.forEach((tg, i) => patch(i, { tags: tg }));
      missing.delete('tags');
    }
    if (todo.has('ocr')) {
      await progress('ocr', 0.9);
      const o = (await readTexts(ctx, files))!;
      o.texts.forEach((t, i) => patch(i, { ocr_text: t }));
      result.ocr_model = o.model;
      missing.delete('ocr');
    }
    result.missing_stages = [...missing];
    return result;
  });
}
