/*
 * Content-change analysis on small grey frames (CHANGE_W × CHANGE_H, CHANGE_FPS
 * per second) decoded in the same ffmpeg pass as the scene score. ffmpeg's
 * scene score measures how much the pixels changed, so a new slide on the
 * same background (a few percent of the pixels) or a new document in a
 * window scores like noise. Here each frame becomes an edge map cut into
 * blocks, and a change is the share of blocks whose edges moved or whose
 * brightness changed: new words in the same place have the same brightness
 * but their edges are elsewhere.
 *
 * A cut needs a *step*: the picture is settled, changes within
 * CHANGE_MAX_RUN_S, and settles again on something different that is not the
 * old picture shifted (a pan that pauses). Motion that never settles (a pan,
 * a handheld camera) and a passer-by who leaves again do not cut; ffmpeg's
 * scene score still catches hard cuts and fades in moving footage.
 */

export const CHANGE_W = 256;
export const CHANGE_H = 144;
export const CHANGE_FPS = 5;
const BLOCK = 16;
const BX = CHANGE_W / BLOCK;
const BY = CHANGE_H / BLOCK;
/** Gradient (sum of horizontal and vertical central differences, 0..510) that counts as an edge pixel. */
const EDGE_GRADIENT = 48;
/** A block changed when its mean grey moved this much or this share of its pixels changed edge/no-edge. */
const BLOCK_MEAN_DELTA = 10;
const BLOCK_EDGE_FLIP = 0.06;
/** Below this share of changed blocks between consecutive samples the picture counts as settled (cursor, noise). */
export const SETTLED_SHARE = 0.02;
/** Share of blocks that must differ between the settled pictures either side of a step for it to be a cut. */
export const CUT_SHARE = 0.04;
/** A step longer than this is motion, not a transition. */
export const CHANGE_MAX_RUN_S = 2;
/** Largest shift (analysis pixels, each axis) tried when asking whether a step was only the camera moving. */
const MAX_SHIFT = 12;
/**
 * Gradual transitions (fades, dissolves) change the picture a little per
 * frame, so neither the step rule nor ffmpeg's per-frame score sees them.
 * They do move the grey-level histogram a lot between HIST_SPAN_S before and
 * after, which motion inside one shot rarely does. A stretch where that
 * distance (half the L1 distance, 0..1) stays at or above HIST_CUT, and that
 * is no longer than HIST_MAX_RUN_S, is one transition; its boundary is its
 * darkest frame when it passes through black, else its middle.
 */
const HIST_SPAN_S = 0.6;
export const HIST_CUT = 0.3;
const HIST_MAX_RUN_S = 3.2;
/** Mean grey of a frame that counts as black (limited-range black is 16). */
const BLACK_MEAN = 24;

/** Share of blocks that must differ from the last frame chosen for reading before another is chosen. */
export const TEXT_CHANGE_SHARE = 0.02;
/** A frame with fewer edge pixels than this share is blank (black, one colour): nothing to read. */
const BLANK_EDGE_SHARE = 0.002;

/** A decoded analysis frame: grey values, per-pixel edge flags and per-block means. */
export interface Frame {
  t: number;
  gray: Uint8Array;
  edge: Uint8Array;
  mean: Float32Array;
  /** Number of edge pixels. */
  edges: number;
  /** Grey-level histogram, HIST_BINS bins summing to 1. */
  hist: Float32Array;
}

const HIST_BINS = 32;

export function analyseFrame(gray: Uint8Array, t: number): Frame {
  const g = Uint8Array.from(gray.subarray(0, CHANGE_W * CHANGE_H));
  const edge = new Uint8Array(CHANGE_W * CHANGE_H);
  const mean = new Float32Array(BX * BY);
  let edges = 0;
  for (let y = 0; y < CHANGE_H; y++) {
    const row = y * CHANGE_W;
    const up = (y > 0 ? y - 1 : y) * CHANGE_W;
    const down = (y < CHANGE_H - 1 ? y + 1 : y) * CHANGE_W;
    const b = Math.floor(y / BLOCK) * BX;
    for (let x = 0; x < CHANGE_W; x++) {
      const grad =
        Math.abs(g[row + (x < CHANGE_W - 1 ? x + 1 : x)]! - g[row + (x > 0 ? x - 1 : x)]!) +
        Math.abs(g[down + x]! - g[up + x]!);
      if (grad >= EDGE_GRADIENT) {
        edge[row + x] = 1;
        edges++;
      }
      mean[b + Math.floor(x / BLOCK)]! += g[row + x]!;
    }
  }
  for (let k = 0; k < mean.length; k++) mean[k]! /= BLOCK * BLOCK;
  const hist = new Float32Array(HIST_BINS);
  for (let i = 0; i < g.length; i++) hist[g[i]! >> 3]! += 1 / g.length;
  return { t, gray: g, edge, mean, edges, hist };
}

/** Share (0..1) of blocks whose content differs between two frames, b taken shifted by (dx, dy). */
export function frameDifference(a: Frame, b: Frame, dx = 0, dy = 0): number {
  if (dx === 0 && dy === 0) {
    let changed = 0;
    for (let by = 0; by < BY; by++) {
      for (let bx = 0; bx < BX; bx++) {
        const k = by * BX + bx;
        if (Math.abs(a.mean[k]! - b.mean[k]!) >= BLOCK_MEAN_DELTA) {
          changed++;
          continue;
        }
        let flips = 0;
        for (let y = by * BLOCK; y < (by + 1) * BLOCK; y++) {
          const row = y * CHANGE_W;
          for (let x = bx * BLOCK; x < (bx + 1) * BLOCK; x++) flips += a.edge[row + x]! ^ b.edge[row + x]!;
        }
        if (flips >= BLOCK_EDGE_FLIP * BLOCK * BLOCK) changed++;
      }
    }
    return changed / (BX * BY);
  }
  // Shifted: compare only where both frames have pixels; blocks mostly outside are skipped.
  let changed = 0;
  let blocks = 0;
  for (let by = 0; by < BY; by++) {
    for (let bx = 0; bx < BX; bx++) {
      let n = 0;
      let sa = 0;
      let sb = 0;
      let flips = 0;
      for (let y = by * BLOCK; y < (by + 1) * BLOCK; y++) {
        const yb = y + dy;
        if (yb < 0 || yb >= CHANGE_H) continue;
        for (let x = bx * BLOCK; x < (bx + 1) * BLOCK; x++) {
          const xb = x + dx;
          if (xb < 0 || xb >= CHANGE_W) continue;
          const ia = y * CHANGE_W + x;
          const ib = yb * CHANGE_W + xb;
          n++;
          sa += a.gray[ia]!;
          sb += b.gray[ib]!;
          flips += a.edge[ia]! ^ b.edge[ib]!;
        }
      }
      if (n < (BLOCK * BLOCK) / 2) continue;
      blocks++;
      if (Math.abs(sa - sb) / n >= BLOCK_MEAN_DELTA || flips >= BLOCK_EDGE_FLIP * n) changed++;
    }
  }
  return blocks ? changed / blocks : 0;
}

/**
 * The difference left after the best global shift of b, i.e. what camera
 * movement cannot explain. Coarse-to-fine: every second shift first, then
 * the neighbours of the best.
 */
export function differenceBeyondMotion(a: Frame, b: Frame): number {
  let best = frameDifference(a, b);
  let bx = 0;
  let by = 0;
  for (let dy = -MAX_SHIFT; dy <= MAX_SHIFT && best > 0; dy += 2) {
    for (let dx = -MAX_SHIFT; dx <= MAX_SHIFT && best > 0; dx += 2) {
      if (dx === 0 && dy === 0) continue;
      const d = frameDifference(a, b, dx, dy);
      if (d < best) [best, bx, by] = [d, dx, dy];
    }
  }
  for (let dy = by - 1; dy <= by + 1; dy++) {
    for (let dx = bx - 1; dx <= bx + 1; dx++) best = Math.min(best, frameDifference(a, b, dx, dy));
  }
  return best;
}

export interface ContentChanges {
  /** Times where the settled picture changed to a different settled picture. */
  cuts: number[];
  /** Change between consecutive samples (0..1) at each sample time, for splitting long scenes at their strongest change. */
  curve: { t: number; change: number }[];
  /**
   * Times of settled frames worth reading for on-screen text: the first
   * settled frame, then each settled frame that differs from the last one
   * chosen. An unchanged picture is never chosen twice, a blank one never.
   */
  textSamples: number[];
}

/**
 * Streaming analysis: push() each frame in time order, finish() once. Keeps
 * only a handful of frames, so an hour of video costs the memory of a minute.
 */
export class ChangeTracker {
  private prev: Frame | null = null;
  /** Last settled frame before the current run of change. */
  private anchor: Frame | null = null;
  private run: { t: number; change: number }[] = [];
  private lastRead: Frame | null = null;
  private readonly out: ContentChanges = { cuts: [], curve: [], textSamples: [] };
  private readonly hists: Float32Array[] = [];
  private readonly brightness: number[] = [];
  /** Time of the first frame: a window of a long video starts later than 0. */
  private t0: number | null = null;

  push(gray: Uint8Array, t: number): void {
    this.t0 ??= t;
    const f = analyseFrame(gray, t);
    this.hists.push(f.hist);
    this.brightness.push(f.mean.reduce((a, b) => a + b, 0) / f.mean.length);
    const change = this.prev ? frameDifference(this.prev, f) : 0;
    this.out.curve.push({ t, change });
    if (!this.prev || change < SETTLED_SHARE) {
      this.settle(f);
    } else {
      this.run.push({ t, change });
      // Motion, not a transition: forget where it started, so no cut when it ends.
      if (this.run.length / CHANGE_FPS > CHANGE_MAX_RUN_S) this.anchor = null;
    }
    this.prev = f;
  }

  private settle(f: Frame): void {
    if (
      this.run.length &&
      this.anchor &&
      frameDifference(this.anchor, f) >= CUT_SHARE &&
      differenceBeyondMotion(this.anchor, f) >= CUT_SHARE
    ) {
      // The step's strongest sample: for a hard change the first new frame,
      // for a dissolve the middle of it.
      const peak = this.run.reduce((a, b) => (b.change > a.change ? b : a));
      this.out.cuts.push(peak.t);
    }
    this.run = [];
    this.anchor = f;
    const blank = f.edges < BLANK_EDGE_SHARE * CHANGE_W * CHANGE_H;
    if (!blank && (!this.lastRead || frameDifference(this.lastRead, f) >= TEXT_CHANGE_SHARE)) {
      this.out.textSamples.push(f.t);
      this.lastRead = f;
    }
  }

  finish(): ContentChanges {
    const k = Math.round(HIST_SPAN_S * CHANGE_FPS);
    const n = this.hists.length;
    const far = (i: number) => {
      if (i < k || i + k >= n) return 0;
      let d = 0;
      for (let b = 0; b < HIST_BINS; b++) d += Math.abs(this.hists[i - k]![b]! - this.hists[i + k]![b]!);
      return d / 2;
    };
    const gradual: number[] = [];
    for (let i = 0; i < n;) {
      if (far(i) < HIST_CUT) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && far(j + 1) >= HIST_CUT) j++;
      if ((j - i + 1) / CHANGE_FPS <= HIST_MAX_RUN_S) {
        let dark = i;
        for (let m = i; m <= j; m++) if (this.brightness[m]! < this.brightness[dark]!) dark = m;
        const at = this.brightness[dark]! < BLACK_MEAN ? dark : Math.round((i + j) / 2);
        gradual.push((this.t0 ?? 0) + at / CHANGE_FPS);
      }
      i = j + 1;
    }
    const cuts = [...this.out.cuts];
    for (const g of gradual) if (!cuts.some((c) => Math.abs(c - g) < 1)) cuts.push(g);
    this.out.cuts = cuts.sort((a, b) => a - b);
    return this.out;
  }
}
