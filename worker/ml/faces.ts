/*
 * Face detection and embedding with the TensorFlow.js models that ship inside
 * the npm package @vladmandic/face-api (SSD MobileNet v1 detector, 68-point
 * landmarks for alignment, dlib's ResNet-34 recogniser ported to TF.js: 128-d
 * descriptors). Runs on @tensorflow/tfjs with the WebAssembly backend, whose
 * .wasm files are inside @tensorflow/tfjs-backend-wasm, so nothing is
 * downloaded at install or run time. @tensorflow/tfjs-node is deliberately not
 * used: its install script downloads libtensorflow and fails offline.
 *
 * Why this model and its thresholds: models/README.md ("Faces").
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import type * as FaceApi from '@vladmandic/face-api';
import { sharpOf, type ImageInput, type RgbImage } from './image.ts';
import type { DetectedFace, FaceAnalyzer, FaceBox } from './types.ts';

const require = createRequire(import.meta.url);

export interface FaceModelFiles {
  /** Folder with the *-weights_manifest.json and .bin files. */
  modelDir: string;
  /** Folder with tfjs-backend-wasm's .wasm binaries (with a trailing slash). */
  wasmDir: string;
  version: string;
}

export interface FaceAnalyzerOptions {
  /** Folder of the @vladmandic/face-api package. Default: resolved from node_modules; tests point it elsewhere. */
  packageDir?: string | null;
  /** Detections scoring lower are dropped. */
  minScore?: number;
  /** Faces narrower than this many pixels (of the decoded image) are dropped: too small to embed reliably. */
  minSizePx?: number;
}

/** The three networks used (the package also ships age, gender and expression nets, never loaded). */
export const FACE_NETS = ['ssd_mobilenetv1_model', 'face_landmark_68_model', 'face_recognition_model'] as const;
/** Longest side an image is decoded at: the detector sees 512², the recogniser 150² crops. */
export const MAX_SIDE = 1600;
const MAX_FACES = 50;
/** dlib's recogniser: 128-d descriptors. */
export const FACE_DIM = 128;

function defaultPackageDir(): string | null {
  try {
    return path.dirname(require.resolve('@vladmandic/face-api/package.json'));
  } catch {
    return null;
  }
}

/** The model files, or null when the package or any of the three networks is missing. */
export function faceModelFiles(packageDir: string | null | undefined = defaultPackageDir()): FaceModelFiles | null {
  if (!packageDir) return null;
  const modelDir = path.join(packageDir, 'model');
  for (const n of FACE_NETS) {
    if (
      !fs.existsSync(path.join(modelDir, `${n}-weights_manifest.json`)) ||
      !fs.existsSync(path.join(modelDir, `${n}.bin`))
    )
      return null;
  }
  let wasmDir: string;
  try {
    wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  } catch {
    return null;
  }
  const version = (JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string })
    .version;
  return { modelDir, wasmDir, version };
}

/**
 * A photo or frame decoded to RGB, upright (EXIF orientation applied), at
 * most MAX_SIDE wide or high, or maxWidth wide.
 */
export async function decodeImage(
  image: ImageInput,
  maxWidth?: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await sharpOf(image, { limitInputPixels: 100_000_000 })
      .rotate()
      .resize(
        maxWidth
          ? { width: maxWidth, withoutEnlargement: true }
          : { width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true },
      )
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (e) {
    throw new FaceImageError(`not a readable image: ${(e as Error).message}`, { cause: e });
  }
}

/** The input is not a usable image (the caller's fault, never worth a retry). */
export class FaceImageError extends Error {}

/** A JPEG of one face with a margin around it, for thumbnails. */
export async function cropFace(image: ImageInput, box: FaceBox, size = 160): Promise<Buffer> {
  const img = sharpOf(image).rotate();
  // The size as rotated (metadata() tells the size as stored).
  const { info } = await img.clone().raw().toBuffer({ resolveWithObject: true });
  const W = info.width,
    H = info.height;
  const cx = (box.x + box.w / 2) * W,
    cy = (box.y + box.h / 2) * H;
  const side = Math.max(box.w * W, box.h * H) * 1.4;
  const left = Math.max(0, Math.round(cx - side / 2)),
    top = Math.max(0, Math.round(cy - side / 2));
  const w = Math.max(1, Math.min(W - left, Math.round(side))),
    h = Math.max(1, Math.min(H - top, Math.round(side)));
  return img
    .extract({ left, top, width: w, height: h })
    .resize(size, size, { fit: 'cover' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

function l2(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error('face embedding is zero or not finite');
  return v.map((x) => x / n);
}

let chain: Promise<unknown> = Promise.resolve();
/** TF.js state is global to its thread: one image at a time keeps memory bounded and results deterministic. */
function serialise<T>(fn: () => Promise<T>): Promise<T> {
  const run = chain.then(fn, fn);
  chain = run.catch(() => {});
  return run;
}

let backend: Promise<void> | null = null;

/** A detection cancelled by its signal before it began. */
export class DetectionSkipped extends Error {
  constructor() {
    super('face detection cancelled');
  }
}

/** Faces in decoded pixels, best first (one call at a time); what a face thread (./face-threads.ts) runs. */
export type DetectPixels = (img: RgbImage) => Promise<DetectedFace[]>;

/**
 * Loads the three networks into this thread's TF.js once; null when the
 * package is not installed (the faces stage is then recorded as missing,
 * like any absent model).
 */
export async function loadFaceNets(modelId: string, opts: FaceAnalyzerOptions = {}): Promise<DetectPixels | null> {
  const files = faceModelFiles(opts.packageDir === undefined ? defaultPackageDir() : opts.packageDir);
  if (!files) return null;
  const minScore = opts.minScore ?? 0.5;
  const minSizePx = opts.minSizePx ?? 24;
  // Loaded here, not at the top: a process that never sees a face (FACES=off,
  // the CLI) never pays for TF.js. face-api's node-wasm build is required by
  // path because the package's main entry is the tfjs-node build.
  const tf = require('@tensorflow/tfjs') as typeof Tf;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;
  const faceapi = require(path.join(path.dirname(files.modelDir), 'dist', 'face-api.node-wasm.js')) as typeof FaceApi;
  backend ??= (async () => {
    wasm.setWasmPaths(files.wasmDir);
    if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js WebAssembly backend could not start');
    await tf.ready();
  })();
  try {
    await backend;
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(files.modelDir);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(files.modelDir);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(files.modelDir);
  } catch (e) {
    backend = null;
    throw new Error(`face model ${modelId} could not be loaded from ${files.modelDir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const detectorOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: MAX_FACES });

  return (img) =>
    serialise(async () => {
      const tensor = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
      try {
        const found = await faceapi
          .detectAllFaces(tensor as never, detectorOptions)
          .withFaceLandmarks()
          .withFaceDescriptors();
        const faces: DetectedFace[] = [];
        for (const f of found) {
          const b = f.detection.box;
          if (Math.min(b.width, b.height) < minSizePx) continue;
          const clamp = (v: number) => Math.min(1, Math.max(0, v));
          const x = clamp(b.x / img.width),
            y = clamp(b.y / img.height);
          faces.push({
            box: {
              x,
              y,
              w: clamp((b.x + b.width) / img.width) - x,
              h: clamp((b.y + b.height) / img.height) - y,
            },
            score: f.detection.score,
            embedding: l2(f.descriptor),
          });
        }
        return faces.sort((a, b) => b.score - a.score);
      } finally {
        tensor.dispose();
      }
    });
}

/**
 * The networks in this thread, where a detection can only progress while
 * nothing else holds it (an encoder's batch would, for seconds). The worker
 * and the API server use face threads instead (./face-threads.ts, each
 * running loadFaceNets); this is their reference in tests and benchmarks.
 */
export async function loadFaceAnalyzer(modelId: string, opts: FaceAnalyzerOptions = {}): Promise<FaceAnalyzer | null> {
  const detectPixels = await loadFaceNets(modelId, opts);
  if (!detectPixels) return null;
  return {
    modelId,
    dim: FACE_DIM,
    async detect(image, detectOpts) {
      const img = await decodeImage(image, detectOpts?.maxWidth);
      if (detectOpts?.signal?.aborted) throw new DetectionSkipped();
      return { width: img.width, height: img.height, faces: await detectPixels(img) };
    },
  };
}
