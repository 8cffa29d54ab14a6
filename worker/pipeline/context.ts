/*
 * What every task needs, built once per worker process: configuration, the
 * object store and the model registry. Tests inject their own storage (a
 * temp folder) and registry; production gets createStorage/getModels.
 */
import os from 'node:os';
import type { Config } from '../../core/config.ts';
import type { Storage } from '../../core/storage/types.ts';
import type {
  FaceAnalyzer,
  ImageEmbedder,
  ModelStatus,
  SpeechRecognizer,
  Tagger,
  TextEmbedder,
  TextReader,
} from '../ml/types.ts';
import type { RunLimits } from '../media/index.ts';
import type { SkippableStage } from './stages.ts';

/** The part of getModels(config) the pipeline uses. */
export interface ModelRegistry {
  textEmbedder(): Promise<TextEmbedder | null>;
  imageEmbedder(): Promise<ImageEmbedder | null>;
  tagger(): Promise<Tagger | null>;
  speechRecognizer(): Promise<SpeechRecognizer | null>;
  textReader(): Promise<TextReader | null>;
  faceAnalyzer(): Promise<FaceAnalyzer | null>;
  checkDimensions(): Promise<void>;
  /** Which models are configured and present, without loading them. */
  status?(): Promise<ModelStatus[]>;
}

export interface PipelineContext {
  config: Config;
  storage: Storage;
  models: ModelRegistry;
}

export function mediaLimits(ctx: PipelineContext, signal?: AbortSignal): RunLimits {
  const w = ctx.config.worker;
  return { timeoutS: w.ffmpegTimeoutS, maxMemoryMb: w.ffmpegMaxMemoryMb, threads: decodeThreads(ctx.config), signal };
}

/**
 * FFMPEG_THREADS, or half the cores a job gets: while a video is decoded
 * for its cuts, speech runs in its own process and OCR reads frames, so a
 * decoder that took every core would only make them take turns, and
 * ffmpeg's frame threads pay for their hand-offs (BENCHMARKS.md). At most
 * 16, libavcodec's own cap for an automatic count (it warns above that):
 * each frame thread adds a frame of delay and pictures of its own.
 */
export function decodeThreads(config: Config, cores = os.availableParallelism()): number {
  const w = config.worker;
  if (w.ffmpegThreads > 0) return w.ffmpegThreads;
  return Math.max(1, Math.min(16, Math.floor(cores / (2 * Math.max(1, w.concurrency)))));
}

/** The columns of app_public.videos the pipeline reads. */
export interface VideoRow {
  id: string;
  owner_id: string;
  object_key: string;
  subtitle_key: string | null;
  state: string;
  has_audio: boolean | null;
  duration_s: number | null;
  transcript_source: string | null;
  text_model: string | null;
  image_model: string | null;
  face_model: string | null;
  missing_stages: SkippableStage[];
  /** What validation saw; every later read must match (pinned bytes). */
  content_sha256: string | null;
  subtitle_sha256: string | null;
  playback_state: 'original' | 'pending' | 'ready' | 'failed' | null;
}

export const VIDEO_COLUMNS =
  'id, owner_id, object_key, subtitle_key, state, has_audio, duration_s, transcript_source, text_model, image_model, face_model, missing_stages, content_sha256, subtitle_sha256, playback_state';
