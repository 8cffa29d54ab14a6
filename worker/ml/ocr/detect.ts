/*
 * DB (differentiable binarisation) post-processing for the PP-OCR detector,
 * following PaddleOCR's DBPostProcess defaults. PaddleOCR traces contours and
 * fits rotated rectangles with OpenCV; we label 8-connected components and use
 * axis-aligned boxes instead, which keeps OpenCV out of the dependency tree and
 * is enough for captions, titles and signs in video frames (mostly horizontal).
 */

export interface DetOptions {
  /** Probability above which a pixel counts as text. */
  thresh: number;
  /** Mean probability a candidate box needs to be kept. */
  boxThresh: number;
  /** How far the shrunk text kernel is grown back (DB's unclip ratio). */
  unclipRatio: number;
  /** Upper bound on candidates, so a noisy frame cannot stall the worker. */
  maxCandidates: number;
  /** Shortest box side, in probability-map pixels. */
  minSize: number;
}

export const DET_DEFAULTS: DetOptions = {
  thresh: 0.3,
  boxThresh: 0.6,
  unclipRatio: 1.5,
  maxCandidates: 1000,
  minSize: 3,
};

/** [x0, y0, x1, y1] in source-image pixels, x1/y1 exclusive. */
export type Box = [number, number, number, number];

export interface ScoredBox {
  box: Box;
  score: number;
}

/**
 * Detector input size: the longer side capped at `limit` (never upscaled),
 * both sides rounded to multiples of 32 as the network's strides require.
 */
export function detInputSize(width: number, height: number, limit = 960): { width: number; height: number } {
  const ratio = Math.max(width, height) > limit ? limit / Math.max(width, height) : 1;
  return {
    width: Math.max(32, Math.round((width * ratio) / 32) * 32),
    height: Math.max(32, Math.round((height * ratio) / 32) * 32),
  };
}

/**
 * Boxes from a probability map of size mapW × mapH, scaled to a source image
 * of srcW × srcH. Returned in no particular order.
 */
export function boxesFromProbMap(
  prob: Float32Array,
  mapW: number,
  mapH: number,
  srcW: number,
  srcH: number,
  opts: Partial<DetOptions> = {},
): ScoredBox[] {
  const o = { ...DET_DEFAULTS, ...opts };
  if (prob.length < mapW * mapH)
    throw new RangeError(`probability map has ${prob.length} values, expected ${mapW * mapH}`);
  const labels = new Int32Array(mapW * mapH);
  const stack = new Int32Array(mapW * mapH);
  const out: ScoredBox[] = [];
  let next = 0;
  for (let start = 0; start < mapW * mapH && next < o.maxCandidates; start++) {
    if (labels[start] !== 0 || !(prob[start]! > o.thresh)) continue;
    next++;
    let minX = mapW,
      minY = mapH,
      maxX = -1,
      maxY = -1;
    let sp = 0;
    stack[sp++] = start;
    labels[start] = next;
    while (sp > 0) {
      const p = stack[--sp]!;
      const x = p % mapW,
        y = (p - x) / mapW;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= mapH) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= mapW) continue;
          const q = ny * mapW + nx;
          if (labels[q] === 0 && prob[q]! > o.thresh) {
            labels[q] = next;
            stack[sp++] = q;
          }
        }
      }
    }
    const w = maxX - minX + 1,
      h = maxY - minY + 1;
    if (Math.min(w, h) < o.minSize) continue;
    // PaddleOCR's "fast" score: mean probability over the whole box, so a
    // thin spur of noise with a big bounding box scores low.
    let sum = 0;
    for (let y = minY; y <= maxY; y++) for (let x = minX; x <= maxX; x++) sum += prob[y * mapW + x]!;
    const score = sum / (w * h);
    if (score < o.boxThresh) continue;
    // The detector is trained on text regions shrunk by this same offset
    // (Vatti clipping); growing the box by area·ratio/perimeter restores them.
    const d = (w * h * o.unclipRatio) / (2 * (w + h));
    if (Math.min(w, h) + 2 * d < o.minSize + 2) continue;
    const sx = srcW / mapW,
      sy = srcH / mapH;
    const clampX = (v: number) => Math.min(srcW, Math.max(0, Math.round(v * sx)));
    const clampY = (v: number) => Math.min(srcH, Math.max(0, Math.round(v * sy)));
    const box: Box = [clampX(minX - d), clampY(minY - d), clampX(maxX + 1 + d), clampY(maxY + 1 + d)];
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) continue;
    out.push({ box, score });
  }
  return out;
}

/**
 * Reading order: boxes whose vertical centres fall inside each other's span
 * share a row; rows go top to bottom, boxes in a row left to right.
 */
export function groupRows<T extends { box: Box }>(items: T[]): T[][] {
  const sorted = [...items].sort((a, b) => a.box[1] + a.box[3] - (b.box[1] + b.box[3]));
  const rows: { top: number; bottom: number; items: T[] }[] = [];
  for (const it of sorted) {
    const cy = (it.box[1] + it.box[3]) / 2;
    const row = rows.find(
      (r) =>
        cy >= r.top &&
        cy <= r.bottom &&
        (r.items[0]!.box[1] + r.items[0]!.box[3]) / 2 >= it.box[1] &&
        (r.items[0]!.box[1] + r.items[0]!.box[3]) / 2 <= it.box[3],
    );
    if (row) {
      row.items.push(it);
    } else {
      rows.push({ top: it.box[1], bottom: it.box[3], items: [it] });
    }
  }
  rows.sort((a, b) => a.top + a.bottom - (b.top + b.bottom));
  return rows.map((r) => r.items.sort((a, b) => a.box[0] - b.box[0]));
}

/**
 * The rows' texts as lines. A word a line break split with a hyphen ("cus-"
 * above "tomer") is put back together with its hyphen: a compound broken at
 * its own hyphen ("long-" above "term") needs it, and search finds a word
 * written with a hyphen by the word without one (sql/README.md), where the
 * two halves alone find nothing. Only a hyphen right after a letter, before
 * a lower-case letter: "Q3 -" above "results" and "2024-" above "25" stay
 * two lines.
 */
export function rowsText(rows: string[]): string {
  let text = '';
  rows.forEach((row, i) => {
    if (i > 0) text += /\p{L}-$/u.test(text) && /^\p{Ll}/u.test(row) ? '' : '\n';
    text += row;
  });
  return text;
}
