/*
 * PP-OCR recogniser input and output: height-48 strips normalised to [-1, 1],
 * and greedy CTC decoding over PaddleOCR's character list
 * (index 0 = CTC blank, then the dictionary file, then a space).
 */
import fs from 'node:fs';
import { resizeToTensor, type RgbImage } from './image.ts';

export const REC_HEIGHT = 48;
/** PaddleOCR's rec_image_shape width: strips are padded to at least this. */
export const REC_MIN_WIDTH = 320;
const HALF: readonly [number, number, number] = [0.5, 0.5, 0.5];

/** The character list, blank first and space last, as PaddleOCR builds it with use_space_char. */
export function loadCharacters(dictPath: string): string[] {
  const chars = fs
    .readFileSync(dictPath, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
  // The file may or may not end with a newline; an empty last entry is not a character.
  if (chars.at(-1) === '') chars.pop();
  return ['', ...chars, ' '];
}

/**
 * One batch tensor [n, 3, 48, W]: each crop resized to height 48 keeping its
 * aspect ratio, W the widest in the batch (at least 320), the rest zero-padded.
 */
export function recBatchTensor(crops: RgbImage[]): { data: Float32Array; width: number } {
  let maxRatio = REC_MIN_WIDTH / REC_HEIGHT;
  for (const c of crops) maxRatio = Math.max(maxRatio, c.width / c.height);
  const width = Math.ceil(REC_HEIGHT * maxRatio);
  const per = 3 * REC_HEIGHT * width;
  const data = new Float32Array(crops.length * per);
  crops.forEach((c, i) => {
    const w = Math.max(1, Math.min(width, Math.ceil(REC_HEIGHT * (c.width / c.height))));
    resizeToTensor(c, w, REC_HEIGHT, HALF, HALF, data.subarray(i * per, (i + 1) * per), width);
  });
  return { data, width };
}

/**
 * Greedy CTC: best class per time step, repeats collapsed, blanks dropped.
 * The score is the mean probability of the kept characters (0 when none),
 * as PaddleOCR reports it. `steps` holds the time step each character was
 * emitted at, which locates it in the image.
 */
export interface CtcResult {
  text: string;
  score: number;
  tokens: string[];
  steps: number[];
}

export function ctcGreedyDecode(
  probs: Float32Array,
  batch: number,
  steps: number,
  classes: number,
  characters: string[],
): CtcResult[] {
  if (probs.length < batch * steps * classes) {
    throw new RangeError(`recogniser output has ${probs.length} values, expected ${batch * steps * classes}`);
  }
  if (classes !== characters.length) {
    throw new Error(`recogniser has ${classes} classes but the dictionary gives ${characters.length} characters`);
  }
  const out: CtcResult[] = [];
  for (let b = 0; b < batch; b++) {
    const tokens: string[] = [],
      at: number[] = [];
    let sum = 0,
      kept = 0,
      prev = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * classes;
      let best = 0,
        bestP = probs[base]!;
      for (let k = 1; k < classes; k++) {
        const p = probs[base + k]!;
        if (p > bestP) {
          bestP = p;
          best = k;
        }
      }
      if (best !== 0 && best !== prev) {
        tokens.push(characters[best]!);
        at.push(t);
        sum += bestP;
        kept++;
      }
      prev = best;
    }
    out.push({ text: tokens.join(''), score: kept ? sum / kept : 0, tokens, steps: at });
  }
  return out;
}
