/*
 * What the rest of the code may ask of the models. worker/ml/ is the only
 * place that loads model sessions; the server imports the same encoders for
 * query embeddings so query and scene vectors always come from one code path.
 * Every getter resolves to null when its model is absent (an offline machine):
 * callers then skip that stage or modality instead of failing.
 */
import type { ImageInput } from './image.ts';

export type ModelRole = 'asr' | 'text' | 'vision' | 'vision-text' | 'ocr' | 'face';

export interface ModelStatus {
  role: ModelRole;
  id: string;
  present: boolean;
  bytes: number;
  dim?: number;
  path: string;
  /**
   * Set when the folder holds a generated stand-in rather than the real model
   * ('cost': production-shaped, random weights, models/cost/generate.ts;
   * 'tiny': the test models): its vectors and transcripts mean nothing.
   */
  standIn?: 'cost' | 'tiny';
}

export interface TextEmbedder {
  modelId: string;
  dim: 1024;
  /** Unit-norm vectors, one per input, batched internally. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

export interface ImageEmbedder {
  modelId: string;
  dim: 1152;
  /** Unit-norm vectors for JPEG/PNG files or buffers. */
  embedImages(images: (string | Buffer)[]): Promise<Float32Array[]>;
}

/** SigLIP's text tower: queries in the image space. */
export interface ImageTextEmbedder {
  modelId: string;
  dim: 1152;
  embed(texts: string[]): Promise<Float32Array[]>;
}

export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
}

export interface SpeechRecognizer {
  modelId: string;
  /** 16 kHz mono float samples. */
  transcribe(samples: Float32Array): Promise<{ language: string | null; segments: TranscriptSegment[] }>;
}

export interface OcrLine {
  text: string;
  score: number;
  box: [number, number, number, number];
}

export interface TextReader {
  modelId: string;
  read(image: ImageInput): Promise<{ text: string; lines: OcrLine[] }>;
}

export interface Tagger {
  modelId: string;
  /** Best labels for an image embedding, scores 0..1, best first. */
  tag(imageVec: Float32Array, topK?: number): Promise<{ label: string; score: number }[]>;
}

/** Where a face is, as fractions of the image: x, y of the top-left corner, width, height. */
export interface FaceBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DetectedFace {
  box: FaceBox;
  /** Detector confidence, 0..1. */
  score: number;
  /** Unit-norm identity embedding; compare by cosine distance. */
  embedding: Float32Array;
}

export interface FaceAnalyzer {
  modelId: string;
  dim: number;
  /** Every face above the detection threshold, best first; maxWidth: the image is looked at no wider. */
  detect(
    image: ImageInput,
    /** signal: cancels the detection if it has not begun (it then rejects). */
    opts?: { maxWidth?: number; signal?: AbortSignal },
  ): Promise<{ width: number; height: number; faces: DetectedFace[] }>;
}
