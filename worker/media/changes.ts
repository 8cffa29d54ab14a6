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
 *
 * Two things a lecture or meeting recording has that a whole-frame rule
 * gets wrong:
 * - a picture that never stops moving in part of the frame (the speaker's
 *   camera beside shared slides, a video playing inside a slide). Those
 *   blocks are *live* and left out of every comparison while they are, so
 *   the rest of the picture can settle and step; only while live blocks are
 *   at most MAX_LIVE_SHARE of the frame, so a pan or handheld footage stays
 *   one motion.
 * - a slide built up line by line. A step that only adds edges on an
 *   unchanged background (a new bullet, typing into an empty editor) is no
 *   cut: the slide goes on, and it is read again once complete.
 * And a filmed talk has the presenter walking in front of the slides: what
 * moved and stopped is no cut either (MOVE_MIN_BLOCKS).
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
 * A document or page scrolled by a mouse wheel jumps by tens of pixels a
 * frame, well past MAX_SHIFT (60 px of a 720p recording here), and every
 * jump changes most pixels: both detectors cut at each one, a 10 s scroll
 * became up to 27 scenes. A scroll moves the picture, or the page beneath a
 * browser's toolbar and beside its sidebar, along one axis, by up to half of
 * it (what stays in view is then what is compared): onlyMoved finds that
 * shift from the rows' and columns' mean brightness over what changed, and
 * checks it block by block.
 */
const SCROLL_MAX_DY = CHANGE_H >> 1;
const SCROLL_MAX_DX = CHANGE_W >> 1;
/**
 * Share of the blocks a move keeps in the region that moved that may be
 * missing from where it took them (onlyMoved): compression, and small text
 * finer than the analysis frames. The scrolls of the bench recordings lost
 * 9.5 % at most (BENCHMARKS.md).
 */
const MOVED_LOST = 0.1;
/** How much of a block's own variation (summed |grey - its mean|) may differ where it moved to (blockFollows). */
const FOLLOW_RESIDUAL = 0.3;
/**
 * Grey levels a pixel that may differ whatever the block's variation:
 * compression, softened, and text finer than the analysis frames read at
 * another fraction of a pixel (a block of the first words of 1080p lines
 * scrolled by 154 px differed by 1.6 a pixel). No pair of samples across a
 * boundary of the bench videos moved with 4.
 */
const FOLLOW_NOISE = 2;
/**
 * Samples that changed less than this share of blocks are not asked whether
 * they moved (ContentChanges.shifts): a jump ffmpeg scores as a cut changes
 * more (a scrolled page of text 50-90 %), and camera footage changes
 * somewhat in most samples.
 */
const SHIFT_CHANGE = 0.2;
/**
 * Profile offsets tried along each axis (bestOffsets), and along the rows:
 * lines of text repeat down a page, so several offsets a line or two apart
 * follow its rows nearly as well as the right one, and a portrait recording
 * (a phone's, squeezed into the analysis frame) has a line every eight rows:
 * with three, a third of its scroll steps were missed.
 */
const OFFSET_TRIES = 3;
const ROW_OFFSET_TRIES = 8;
/**
 * Offsets past the first OFFSET_TRIES are tried only while their
 * profile differs at most this many times as much as the best one's: a
 * page of text has several nearly as good, moving footage one or none (and
 * each try costs a pass over its blocks).
 */
const OFFSET_CLOSE = 1.5;
/**
 * Rows (columns) either side each profile value is averaged over before
 * offsets are compared: a step of a text line's edge in a profile is a row
 * or two high, and an offset a fraction of a row off then differed as much
 * as a wrong one.
 */
const PROFILE_BLUR = 2;
/**
 * Grey levels at most that one row or column counts against a profile
 * offset (bestOffsets): a band that did not move with the rest (a toolbar,
 * a status bar) or came into view differs by tens of levels, and without a
 * bound outweighed the rows of text that line up.
 */
const PROFILE_CAP = 12;
/**
 * Blocks at least that the region that moved spans along each axis
 * (onlyMoved): a page scrolled in a window, a camera panel panned. A line of
 * a slide whose first word changed for a longer one slides sideways as a
 * whole, and such a slide is a new one.
 */
const MOVED_MIN_SIDE = 3;
/** Pixels apart of the shifts that a block following both shows no move by (onlyMoved). */
const AMBIGUOUS_PX = 3;
/**
 * Something that moved and stopped (a presenter who walks across in front
 * of the slides, a window dragged aside) changes the blocks it left and the
 * blocks it reached, which no shift of the whole picture explains: every
 * stop was a cut. A changed block whose content stands elsewhere in the
 * other picture, under one shift for all of them, moved rather than
 * changed (movedBlocks). Only blocks with something in them count (edges,
 * or a brightness apart from the picture's background): plain background
 * matches plain background under any shift. A move takes MOVE_MIN_BLOCKS,
 * a cut's worth, of such blocks whose brightness it changed. A change over
 * more than MOVE_MAX_SHARE of the picture is a new picture, not something
 * in it that moved.
 */
const MOVE_MIN_BLOCKS = Math.ceil(CUT_SHARE * BX * BY);
const MOVE_MAX_SHARE = 0.5;
/** Shifts found by brightness that are then tried with edges too, each with its neighbours. */
const MOVE_TRIES = 5;
/** Edge pixels that make a block's content worth matching (a 16x16 block of a letter's strokes has 30 and more). */
const CONTENT_EDGES = 8;
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

/**
 * A block whose content differs from LIVE_LAG samples (0.4 s) before in at
 * least LIVE_MIN of the last LIVE_WINDOW samples is live. Against 0.4 s
 * before rather than the sample before, so that slow motion (a speaker
 * leaning, a slow pan) counts; not against longer ago, because a step or a
 * dissolve differs from it for its own length plus the lag: slides that
 * dissolve for 0.8 s every 2.5 s differ from 0.4 s before in 70 % of the
 * samples, a moving picture in nearly all. A block stays left out for
 * LIVE_HOLD_S after it was last live, so a speaker who holds still for a
 * while and moves again is no step.
 */
const LIVE_LAG = 2;
const LIVE_WINDOW = 4 * CHANGE_FPS;
const LIVE_MIN = 16;
const LIVE_MIN_START = 11;
const LIVE_HOLD_S = 30;
/** Above this share of live blocks the whole picture moves: nothing is left out. */
const MAX_LIVE_SHARE = 0.7;
const BLOCKS = BX * BY;
/** A rectangle of blocks: first column, first row, last column, last row. */
type Box = [number, number, number, number];

/** Grows box to hold block k. */
function grow(box: Box, k: number): void {
  const x = k % BX;
  const y = (k - x) / BX;
  box[0] = Math.min(box[0], x);
  box[1] = Math.min(box[1], y);
  box[2] = Math.max(box[2], x);
  box[3] = Math.max(box[3], y);
}

/**
 * Edge flags are kept as bits, ROW_WORDS 32-bit words per row with a word
 * of zeros either side, so sixteen pixels of a block row starting anywhere
 * in [-32, CHANGE_W) are one shift of two words: comparing two blocks'
 * edges is sixteen XORs and popcounts instead of 256 pixel reads, and a
 * shifted comparison (differenceBeyondMotion, up to 178 per cut) costs
 * about as much as an unshifted one.
 */
const PAD_BITS = 32;
const ROW_WORDS = (CHANGE_W + 2 * PAD_BITS) / 32;
/** Set bits of every 16-bit value. */
const POPCOUNT16 = (() => {
  const t = new Uint8Array(1 << 16);
  for (let i = 1; i < t.length; i++) t[i] = (i & 1) + t[i >> 1]!;
  return t;
})();

/** A decoded analysis frame: edge bits, grey sums and per-block means. */
export interface Frame {
  t: number;
  /** Edge flags, bit x % 32 of word (x + PAD_BITS) / 32 of each row (see PAD_BITS). */
  edgeBits: Uint32Array;
  /** Summed-area table of the grey values, (CHANGE_W + 1) × (CHANGE_H + 1): any rectangle's sum in four reads. */
  sums: Int32Array;
  mean: Float32Array;
  /** Per block, the mean grey of its pixels that are no edge: the background behind text and lines. */
  flatMean: Float32Array;
  /** Number of edge pixels. */
  edges: number;
  /** Edge pixels per block. */
  blockEdges: Int32Array;
  /** Grey-level histogram, HIST_BINS bins summing to 1. */
  hist: Float32Array;
  /**
   * The grey values averaged over 3x3 pixels, for comparing blocks between
   * pixels (blockFollows): text in a 1080p recording is finer than these
   * frames' pixels, and read between them it matches nothing until the
   * detail above their resolution is gone. Made when first asked for
   * (softened), from the summed-area table.
   */
  soft?: Float32Array;
  /** Mean softened grey of each row and each column of the box last asked for (profiles). */
  profile?: { key: string; rows: Float64Array; cols: Float64Array };
}

const HIST_BINS = 32;
/** Edge pixels a block may lose to compression noise and still count as kept (keepsEdges). */
const ADDED_NOISE_PX = 4;
/** Fewest non-edge pixels in a block for their mean to be its background. */
const FLAT_MIN_PIXELS = 32;
const SUMS_W = CHANGE_W + 1;
/**
 * A histogram bin's share for each pixel count: the float32 sum of that many
 * 1 / (CHANGE_W × CHANGE_H), as the bins were once accumulated pixel by
 * pixel, so counting first gives the very same values.
 */
const HIST_SHARE = (() => {
  const t = new Float32Array(CHANGE_W * CHANGE_H + 1);
  const step = Math.fround(1 / (CHANGE_W * CHANGE_H));
  for (let k = 1; k < t.length; k++) t[k] = t[k - 1]! + step;
  return t;
})();

export function analyseFrame(g: Uint8Array, t: number): Frame {
  const edgeBits = new Uint32Array(ROW_WORDS * CHANGE_H);
  const sums = new Int32Array(SUMS_W * (CHANGE_H + 1));
  const mean = new Float32Array(BX * BY);
  // Edge pixels are few on slides and screens: their grey is summed per block,
  // and the background's mean is the rest of the block.
  const edgeSum = new Int32Array(BX * BY);
  const edgeN = new Int32Array(BX * BY);
  const counts = new Int32Array(HIST_BINS);
  let edges = 0;
  for (let y = 0; y < CHANGE_H; y++) {
    const row = y * CHANGE_W;
    const up = (y > 0 ? y - 1 : y) * CHANGE_W;
    const down = (y < CHANGE_H - 1 ? y + 1 : y) * CHANGE_W;
    const bits = y * ROW_WORDS + PAD_BITS / 32;
    const s = (y + 1) * SUMS_W;
    let rowSum = 0;
    for (let x = 0; x < CHANGE_W; x++) {
      const v = g[row + x]!;
      // Central differences, one-sided at the frame's edges.
      const left = x > 0 ? g[row + x - 1]! : v;
      const right = x < CHANGE_W - 1 ? g[row + x + 1]! : v;
      const grad = Math.abs(right - left) + Math.abs(g[down + x]! - g[up + x]!);
      if (grad >= EDGE_GRADIENT) {
        edgeBits[bits + (x >> 5)]! |= 1 << (x & 31);
        edges++;
        const k = (y >> 4) * BX + (x >> 4);
        edgeSum[k]! += v;
        edgeN[k]!++;
      }
      counts[v >> 3]!++;
      rowSum += v;
      sums[s + x + 1] = sums[s - SUMS_W + x + 1]! + rowSum;
    }
  }
  const flatMean = new Float32Array(BX * BY);
  for (let by = 0; by < BY; by++)
    for (let bx = 0; bx < BX; bx++) {
      const x0 = bx * BLOCK;
      const y0 = by * BLOCK;
      const k = by * BX + bx;
      const sum =
        sums[(y0 + BLOCK) * SUMS_W + x0 + BLOCK]! -
        sums[y0 * SUMS_W + x0 + BLOCK]! -
        sums[(y0 + BLOCK) * SUMS_W + x0]! +
        sums[y0 * SUMS_W + x0]!;
      mean[k] = sum / (BLOCK * BLOCK);
      // A block (nearly) all edges has no background to speak of: its mean stands in.
      const flat = BLOCK * BLOCK - edgeN[k]!;
      flatMean[k] = flat >= FLAT_MIN_PIXELS ? (sum - edgeSum[k]!) / flat : mean[k]!;
    }
  const hist = new Float32Array(HIST_BINS);
  for (let k = 0; k < HIST_BINS; k++) hist[k] = HIST_SHARE[counts[k]!]!;
  return { t, edgeBits, sums, mean, flatMean, edges, blockEdges: edgeN, hist };
}

/** Sixteen edge flags of row y from pixel x on (x may reach PAD_BITS outside the frame: zeros there). */
function edgeRun(f: Frame, y: number, x: number): number {
  const p = x + PAD_BITS;
  const w = y * ROW_WORDS + (p >> 5);
  const o = p & 31;
  const bits = o === 0 ? f.edgeBits[w]! : (f.edgeBits[w]! >>> o) | (f.edgeBits[w + 1]! << (32 - o));
  return bits & 0xffff;
}

/** Sum of the grey values of the rectangle [x0, x1) × [y0, y1). */
function graySum(f: Frame, x0: number, y0: number, x1: number, y1: number): number {
  const s = f.sums;
  return s[y1 * SUMS_W + x1]! - s[y0 * SUMS_W + x1]! - s[y1 * SUMS_W + x0]! + s[y0 * SUMS_W + x0]!;
}

/**
 * Whether block k of b holds all of a's edges there, give or take noise: at
 * most an eighth of a's edge pixels (or ADDED_NOISE_PX) are gone. The bar
 * is low because text replaced by other text at the same place keeps many
 * edge pixels where strokes line up: a fifth to a third of them were gone
 * at the slide changes of the generated decks.
 */
function keepsEdges(a: Frame, b: Frame, k: number): boolean {
  const x = (k % BX) * BLOCK;
  let had = 0;
  let gone = 0;
  for (let y = Math.floor(k / BX) * BLOCK, y1 = y + BLOCK; y < y1; y++) {
    const e = edgeRun(a, y, x);
    had += POPCOUNT16[e]!;
    gone += POPCOUNT16[e & ~edgeRun(b, y, x)]!;
  }
  return gone <= Math.max(ADDED_NOISE_PX, had / 8);
}

/**
 * Which blocks' content differs between two frames (1 = changed), by
 * brightness or by edges. With `addedOnly`, a block that only gained edges
 * on the same background (a new line of text on a slide, typing into an
 * empty editor) counts as unchanged; a window opening over the desktop
 * changes the background and still counts.
 */
export function changedBlocks(a: Frame, b: Frame, addedOnly = false): Uint8Array {
  const out = new Uint8Array(BLOCKS);
  const flipped = BLOCK_EDGE_FLIP * BLOCK * BLOCK;
  for (let by = 0; by < BY; by++) {
    for (let bx = 0; bx < BX; bx++) {
      const k = by * BX + bx;
      let flips = 0;
      if (Math.abs(a.mean[k]! - b.mean[k]!) < BLOCK_MEAN_DELTA) {
        for (let y = by * BLOCK; y < (by + 1) * BLOCK; y++)
          flips += POPCOUNT16[edgeRun(a, y, bx * BLOCK) ^ edgeRun(b, y, bx * BLOCK)]!;
        if (flips < flipped) continue;
      }
      out[k] = addedOnly && Math.abs(a.flatMean[k]! - b.flatMean[k]!) < BLOCK_MEAN_DELTA && keepsEdges(a, b, k) ? 0 : 1;
    }
  }
  return out;
}

/** Share (0..1) of the blocks flagged in `changed` that `ignore` does not leave out. */
function shareOf(changed: Uint8Array, ignore: Uint8Array | null): number {
  let n = 0;
  for (let k = 0; k < BLOCKS; k++) if (changed[k] && !ignore?.[k]) n++;
  return n / BLOCKS;
}

/** Share (0..1) of blocks whose content differs between two frames, b taken shifted by (dx, dy). */
export function frameDifference(a: Frame, b: Frame, dx = 0, dy = 0): number {
  if (dx === 0 && dy === 0) return shareOf(changedBlocks(a, b), null);
  // Shifted: compare only where both frames have pixels; blocks mostly outside are skipped.
  let changed = 0;
  let blocks = 0;
  for (let by = 0; by < BY; by++) {
    const y0 = Math.max(by * BLOCK, -dy);
    const y1 = Math.min((by + 1) * BLOCK, CHANGE_H - dy);
    if (y1 <= y0) continue;
    for (let bx = 0; bx < BX; bx++) {
      const x0 = Math.max(bx * BLOCK, -dx);
      const x1 = Math.min((bx + 1) * BLOCK, CHANGE_W - dx);
      const n = x1 > x0 ? (x1 - x0) * (y1 - y0) : 0;
      if (n < (BLOCK * BLOCK) / 2) continue;
      blocks++;
      const sa = graySum(a, x0, y0, x1, y1);
      const sb = graySum(b, x0 + dx, y0 + dy, x1 + dx, y1 + dy);
      if (Math.abs(sa - sb) / n >= BLOCK_MEAN_DELTA) {
        changed++;
        continue;
      }
      // Only the columns of the block that have a partner in b count.
      const mask = ((1 << (x1 - x0)) - 1) << (x0 - bx * BLOCK);
      let flips = 0;
      for (let y = y0; y < y1; y++)
        flips += POPCOUNT16[(edgeRun(a, y, bx * BLOCK) ^ edgeRun(b, y + dy, bx * BLOCK + dx)) & mask]!;
      if (flips >= BLOCK_EDGE_FLIP * n) changed++;
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

/**
 * Whether block k of a stands in b shifted by (dx, dy) and a fraction of a
 * pixel more along the axes it moves: a scroll by any number of the video's
 * pixels is a fraction of an analysis pixel, which scrambles edges as small
 * as text's. Compared by softened grey (Frame.soft), b read between its
 * pixels (bilinear) at quarter steps along one axis or halves along both:
 * what differs must be under FOLLOW_RESIDUAL of how much a's block varies,
 * or under FOLLOW_NOISE a pixel. Text under other text differs by about as
 * much as it varies.
 */
function blockFollows(a: Frame, k: number, b: Frame, dx: number, dy: number, textures: Float64Array): boolean {
  const x0 = (k % BX) * BLOCK;
  const y0 = Math.floor(k / BX) * BLOCK;
  const sa = softened(a);
  // How much a's block varies, once per block whatever the shift (textures[k] < 0: not yet).
  if (textures[k]! < 0) {
    const mean = a.mean[k]!;
    let texture = 0;
    for (let y = y0; y < y0 + BLOCK; y++)
      for (let x = x0; x < x0 + BLOCK; x++) texture += Math.abs(sa[y * CHANGE_W + x]! - mean);
    textures[k] = texture;
  }
  const limit = Math.max(FOLLOW_RESIDUAL * textures[k]!, FOLLOW_NOISE * BLOCK * BLOCK);
  const steps = dx !== 0 && dy !== 0 ? [0, 0.5] : [0, 0.25, 0.5, 0.75];
  const gb = softened(b);
  for (const fy of dy !== 0 ? steps : [0]) {
    for (const fx of dx !== 0 ? steps : [0]) {
      let residual = 0;
      for (let y = y0; y < y0 + BLOCK && residual < limit; y++) {
        const by = y + dy;
        const r0 = by * CHANGE_W;
        const r1 = Math.min(by + 1, CHANGE_H - 1) * CHANGE_W;
        for (let x = x0; x < x0 + BLOCK; x++) {
          const bx = x + dx;
          const bx1 = Math.min(bx + 1, CHANGE_W - 1);
          const top = gb[r0 + bx]! + fx * (gb[r0 + bx1]! - gb[r0 + bx]!);
          const bottom = gb[r1 + bx]! + fx * (gb[r1 + bx1]! - gb[r1 + bx]!);
          residual += Math.abs(sa[y * CHANGE_W + x]! - (top + fy * (bottom - top)));
        }
      }
      if (residual < limit) return true;
    }
  }
  return false;
}

/** f.soft, made now if it was not yet. */
function softened(f: Frame): Float32Array {
  if (f.soft) return f.soft;
  const soft = new Float32Array(CHANGE_W * CHANGE_H);
  const s = f.sums;
  for (let y = 0; y < CHANGE_H; y++) {
    const y0 = Math.max(0, y - 1) * SUMS_W;
    const y1 = Math.min(CHANGE_H, y + 2) * SUMS_W;
    const h = (y1 - y0) / SUMS_W;
    for (let x = 0; x < CHANGE_W; x++) {
      const x0 = x > 0 ? x - 1 : 0;
      const x1 = x < CHANGE_W - 1 ? x + 2 : CHANGE_W;
      soft[y * CHANGE_W + x] = (s[y1 + x1]! - s[y0 + x1]! - s[y1 + x0]! + s[y0 + x0]!) / ((x1 - x0) * h);
    }
  }
  f.soft = soft;
  return soft;
}

/** Whether block k shifted by (dx, dy), and a pixel further where it reads between pixels, stays in the frame. */
function inView(k: number, dx: number, dy: number): boolean {
  const x0 = (k % BX) * BLOCK + dx;
  const y0 = Math.floor(k / BX) * BLOCK + dy;
  return x0 >= 0 && y0 >= 0 && x0 + BLOCK < CHANGE_W && y0 + BLOCK < CHANGE_H;
}

/** Each value of v averaged with up to r values either side. */
function boxBlur(v: Float64Array, r: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const lo = Math.max(0, i - r);
    const hi = Math.min(v.length - 1, i + r);
    let sum = 0;
    for (let j = lo; j <= hi; j++) sum += v[j]!;
    out[i] = sum / (hi + 1 - lo);
  }
  return out;
}

/**
 * Mean brightness of each row and each column of the blocks in box, from the
 * softened grey (Frame.soft).
 */
function profiles(f: Frame, [x0, y0, x1, y1]: Box): { rows: Float64Array; cols: Float64Array } {
  // Kept: the tracker asks about each sample as the later of one pair and
  // the earlier of the next, mostly for the same box.
  const key = `${x0},${y0},${x1},${y1}`;
  if (f.profile?.key === key) return f.profile;
  const soft = softened(f);
  const [px0, py0] = [x0 * BLOCK, y0 * BLOCK];
  const rows = new Float64Array((y1 + 1 - y0) * BLOCK);
  const cols = new Float64Array((x1 + 1 - x0) * BLOCK);
  for (let y = 0; y < rows.length; y++)
    for (let x = 0, i = (py0 + y) * CHANGE_W + px0; x < cols.length; x++, i++) {
      rows[y]! += soft[i]!;
      cols[x]! += soft[i]!;
    }
  for (let y = 0; y < rows.length; y++) rows[y]! /= cols.length;
  for (let x = 0; x < cols.length; x++) cols[x]! /= rows.length;
  f.profile = { key, rows, cols };
  return f.profile;
}

/**
 * Up to `tries` offsets d (|d| <= max, best first) at which q[i + d], or
 * q a fraction of a step further (read between its values, quarter steps),
 * follows p[i] most closely by the mean absolute difference, each value's at
 * most PROFILE_CAP, both profiles blurred (PROFILE_BLUR). The rows of a page
 * of text repeat with its lines, so another offset may follow nearly as well
 * as the right one: blockFollows decides.
 */
function bestOffsets(p0: Float64Array, q0: Float64Array, max: number, tries: number): number[] {
  const p = boxBlur(p0, PROFILE_BLUR);
  const q = boxBlur(q0, PROFILE_BLUR);
  const error = (d: number, f: number) => {
    const i0 = Math.max(0, -d);
    const i1 = Math.min(p.length, q.length - d - 1);
    let sum = 0;
    for (let i = i0; i < i1; i++)
      sum += Math.min(PROFILE_CAP, Math.abs(p[i]! - (q[i + d]! + f * (q[i + d + 1]! - q[i + d]!))));
    return i1 > i0 ? sum / (i1 - i0) : Infinity;
  };
  // Whole and half steps first (text a few analysis pixels tall lines up
  // with nothing half a step off); the quarters only for the best few.
  const whole: { d: number; e: number }[] = [];
  for (let d = -max; d <= max; d++) whole.push({ d, e: Math.min(error(d, 0), error(d, 0.5)) });
  whole.sort((x, y) => x.e - y.e);
  const near = new Set<number>();
  for (const w of whole.slice(0, 2 * tries)) near.add(w.d).add(w.d - 1);
  return [...near]
    .filter((d) => d >= -max && d <= max)
    .map((d) => ({ d, e: Math.min(...[0, 0.25, 0.5, 0.75].map((f) => error(d, f))) }))
    .sort((x, y) => x.e - y.e)
    .filter((x, i, all) => i < OFFSET_TRIES || x.e <= OFFSET_CLOSE * all[0]!.e)
    .slice(0, tries)
    .map((x) => x.d);
}

/**
 * Whether b is a, or a part of it, moved by more than two pixels: a page
 * scrolled (up to SCROLL_MAX_DY / SCROLL_MAX_DX), full-screen or beneath a
 * toolbar and beside a sidebar that stay still, or a picture panned. Only
 * a's blocks with content that changed (changedBlocks) take part; the
 * shifts that their rows' and columns' profiles follow best (alone, and the
 * best two together) are checked block by block (blockFollows). A block
 * that follows shifts AMBIGUOUS_PX apart as well shows no move (a line of
 * small text slid sideways over another line). The blocks that follow a
 * shift, joined side by side through each other and through blocks with
 * nothing in them, make the region that moved, the largest such group,
 * which must hold a cut's worth of blocks and span MOVED_MIN_SIDE each way.
 * Inside it and a block around it (blocks half in it), fewer than MOVED_LOST
 * of the blocks the shift keeps in it may be missing from where it takes
 * them; beyond it, a changed block whose content the shift took out of view
 * or beneath something that stayed (a toolbar) is gone, and the others
 * changed on their own: they must be less than a cut's worth (CUT_SHARE) of
 * the blocks beyond, as a change is a cut when it is a cut's worth of what
 * does not move (ChangeTracker leaves out a camera inset that keeps
 * moving). Calibrated on every pair of analysis frames 1-3 samples apart
 * that changed SHIFT_CHANGE of their blocks (CUT_SHARE across boundaries),
 * in the bench videos, the cut fixtures and scroll recordings
 * (BENCHMARKS.md): scrolls lost at most 9.5 % of their blocks and changed
 * nothing beyond; no pair across a boundary of new slides, windows, shots
 * or dissolves moved but where slides are pushed in.
 */
export function onlyMoved(a: Frame, b: Frame, changed = changedBlocks(a, b)): boolean {
  const texture = new Float64Array(BLOCKS).fill(-1);
  // Of the blocks that changed, under the shift being tried: 1 followed it,
  // 2 followed it and shifts beside it, 0 neither.
  const state = new Uint8Array(BLOCKS);
  const moving: number[] = [];
  const box: Box = [BX, BY, -1, -1];
  for (let k = 0; k < BLOCKS; k++)
    if (a.blockEdges[k]! >= CONTENT_EDGES && changed[k]) {
      moving.push(k);
      grow(box, k);
    }
  if (moving.length < MOVE_MIN_BLOCKS) return false;
  const pa = profiles(a, box);
  const pb = profiles(b, box);
  const dys = bestOffsets(pa.rows, pb.rows, Math.min(SCROLL_MAX_DY, pa.rows.length >> 1), ROW_OFFSET_TRIES);
  const dxs = bestOffsets(pa.cols, pb.cols, Math.min(SCROLL_MAX_DX, pa.cols.length >> 1), OFFSET_TRIES);
  // Each axis's best first: a pan along one axis need not wait for the
  // other axis's tries.
  const shifts = [
    [0, dys[0] ?? 0],
    [dxs[0] ?? 0, 0],
    [dxs[0] ?? 0, dys[0] ?? 0],
    ...dys.slice(1).map((dy) => [0, dy]),
    ...dxs.slice(1).map((dx) => [dx, 0]),
  ];
  const tried = new Set<string>();
  // A third of what changed at least follows, as in a scroll by half the picture.
  const needed = Math.max(MOVE_MIN_BLOCKS, Math.ceil(moving.length / 3));
  for (const [x, y] of shifts as [number, number][]) {
    // Two pixels and a fraction from no shift at all is a picture that
    // stood still, which matches itself, or a camera's drift, under which
    // softened text beside it matched too.
    if ((Math.abs(x) <= 2 && Math.abs(y) <= 2) || tried.has(`${x},${y}`)) continue;
    tried.add(`${x},${y}`);
    const follows = (k: number, dx: number, dy: number) => inView(k, dx, dy) && blockFollows(a, k, b, dx, dy, texture);
    let followed = 0;
    let i = 0;
    for (const k of moving) {
      // Most shifts tried fail: stop once too few blocks are left to follow.
      if (followed + moving.length - i++ < needed) break;
      state[k] = follows(k, x, y) ? 1 : 0;
      if (!state[k]) continue;
      if (
        (x !== 0 && (follows(k, x - AMBIGUOUS_PX, y) || follows(k, x + AMBIGUOUS_PX, y))) ||
        (y !== 0 && (follows(k, x, y - AMBIGUOUS_PX) || follows(k, x, y + AMBIGUOUS_PX)))
      )
        state[k] = 2;
      else followed++;
    }
    if (followed < needed) continue;
    const region = largestGroup(a, state);
    const [x0, y0, x1, y1] = region.box;
    if (region.count < MOVE_MIN_BLOCKS || x1 + 1 - x0 < MOVED_MIN_SIDE || y1 + 1 - y0 < MOVED_MIN_SIDE) continue;
    // The region and a block around it (blocks half in it).
    const [gx0, gy0, gx1, gy1] = [
      Math.max(0, x0 - 1),
      Math.max(0, y0 - 1),
      Math.min(BX - 1, x1 + 1),
      Math.min(BY - 1, y1 + 1),
    ];
    let lost = 0;
    let elsewhere = 0;
    for (const k of moving) {
      if (region.of[k]) continue;
      const bx = k % BX;
      const by = (k - bx) / BX;
      // Where the shift takes the block's content, and the block there.
      const px = bx * BLOCK + x;
      const py = by * BLOCK + y;
      if (bx >= gx0 && bx <= gx1 && by >= gy0 && by <= gy1) {
        // Missing from where the shift takes it, inside the region.
        if (
          state[k] === 0 &&
          px >= x0 * BLOCK &&
          py >= y0 * BLOCK &&
          px + BLOCK <= (x1 + 1) * BLOCK &&
          py + BLOCK <= (y1 + 1) * BLOCK
        )
          lost++;
        continue;
      }
      // Beyond it, content the shift took out of view or beneath something
      // that stayed (a toolbar) is gone; anything else changed on its own.
      if (inView(k, x, y) && changed[Math.floor((py + BLOCK / 2) / BLOCK) * BX + Math.floor((px + BLOCK / 2) / BLOCK)])
        elsewhere++;
    }
    const around = BLOCKS - (gx1 + 1 - gx0) * (gy1 + 1 - gy0);
    if (lost < MOVED_LOST * (region.count + lost) && elsewhere < Math.max(1, CUT_SHARE * around)) return true;
  }
  return false;
}

/**
 * The largest group of blocks with state 1, joined side by side through each
 * other and through blocks with no content: its blocks (of), how many, and
 * their box.
 */
function largestGroup(a: Frame, state: Uint8Array): { of: Uint8Array; count: number; box: Box } {
  const group = new Int16Array(BLOCKS).fill(-1);
  const joins = (k: number) => a.blockEdges[k]! < CONTENT_EDGES || state[k] === 1;
  let best = -1;
  let bestCount = 0;
  for (let k0 = 0; k0 < BLOCKS; k0++) {
    if (state[k0] !== 1 || group[k0]! >= 0) continue;
    let count = 0;
    const stack = [k0];
    group[k0] = k0;
    while (stack.length) {
      const k = stack.pop()!;
      if (state[k] === 1) count++;
      const bx = k % BX;
      for (const n of [bx > 0 ? k - 1 : -1, bx < BX - 1 ? k + 1 : -1, k - BX, k + BX])
        if (n >= 0 && n < BLOCKS && group[n]! < 0 && joins(n)) {
          group[n] = k0;
          stack.push(n);
        }
    }
    if (count > bestCount) [best, bestCount] = [k0, count];
  }
  const of = new Uint8Array(BLOCKS);
  const box: Box = [BX, BY, -1, -1];
  for (let k = 0; k < BLOCKS; k++)
    if (state[k] === 1 && group[k] === best) {
      of[k] = 1;
      grow(box, k);
    }
  return { of, count: bestCount, box };
}

/**
 * Whether b's pixels at block k's place shifted by (dx, dy) hold block k of
 * a: its brightness, and its edges in every `step`-th row: few flips, and
 * most of a's edges found (sparse strokes, a few letters, differ from an
 * empty patch by fewer flips than the bar). And a's pixels there must be
 * something else: the content moved to where it was not (a large flat
 * window matches itself shifted, which is no move).
 */
function blockFoundAt(a: Frame, k: number, b: Frame, dx: number, dy: number, step: number): boolean {
  const x0 = (k % BX) * BLOCK;
  const y0 = Math.floor(k / BX) * BLOCK;
  const x = x0 + dx;
  const y = y0 + dy;
  if (x < 0 || y < 0 || x + BLOCK > CHANGE_W || y + BLOCK > CHANGE_H) return false;
  const sum = graySum(b, x, y, x + BLOCK, y + BLOCK);
  if (Math.abs(sum / (BLOCK * BLOCK) - a.mean[k]!) >= BLOCK_MEAN_DELTA) return false;
  let flips = 0;
  let had = 0;
  let shared = 0;
  for (let r = 0; r < BLOCK; r += step) {
    const ea = edgeRun(a, y0 + r, x0);
    const eb = edgeRun(b, y + r, x);
    flips += POPCOUNT16[ea ^ eb]!;
    had += POPCOUNT16[ea]!;
    shared += POPCOUNT16[ea & eb]!;
  }
  if (flips >= (BLOCK_EDGE_FLIP * BLOCK * BLOCK) / step || 2 * shared < had) return false;
  if (Math.abs(graySum(a, x, y, x + BLOCK, y + BLOCK) - sum) / (BLOCK * BLOCK) >= BLOCK_MEAN_DELTA) return true;
  let differ = 0;
  for (let r = 0; r < BLOCK; r += step) differ += POPCOUNT16[edgeRun(a, y + r, x) ^ edgeRun(b, y + r, x)]!;
  return differ >= (BLOCK_EDGE_FLIP * BLOCK * BLOCK) / step;
}

/** Per block, whether it has something in it: edges, or a brightness apart from the picture's background (its median block). */
function withContent(f: Frame): Uint8Array {
  const background = [...f.mean].sort((x, y) => x - y)[BLOCKS >> 1]!;
  return Uint8Array.from(f.mean, (m, k) =>
    f.blockEdges[k]! >= CONTENT_EDGES || Math.abs(m - background) >= BLOCK_MEAN_DELTA ? 1 : 0,
  );
}

/**
 * Of the blocks flagged in `changed` (between a and b), those explained by
 * something that moved under one shift (see MOVE_MIN_BLOCKS): a block of b
 * whose content stood at the shifted-back place in a (where it went), or a
 * block of a whose content stands at the shifted place in b (where it came
 * from). The shift is searched every second pixel with a quarter of each
 * block's rows, then the MOVE_TRIES best and their neighbours with all of
 * them. With `way` 'out' only a's blocks are looked for in b, with 'in' only
 * b's in a (one of them then a frame on the way: beyondMoves), and the
 * brightness rule below compares `before` with `after`. Null when nothing
 * moved.
 */
function movedBlocks(
  a: Frame,
  b: Frame,
  changed: Uint8Array,
  way: 'both' | 'out' | 'in' = 'both',
  [before, after]: [Frame, Frame] = [a, b],
): Uint8Array | null {
  const blocks: number[] = [];
  for (let k = 0; k < BLOCKS; k++) if (changed[k]) blocks.push(k);
  if (blocks.length < MOVE_MIN_BLOCKS || blocks.length > MOVE_MAX_SHARE * BLOCKS) return null;
  // The brightness rule below, before searching: text replaced by text (most
  // slide changes) has too few blocks that could pass it.
  const brighter = (k: number) => Math.abs(before.mean[k]! - after.mean[k]!) >= BLOCK_MEAN_DELTA;
  if (blocks.filter(brighter).length < MOVE_MIN_BLOCKS) return null;
  const inA = way === 'in' ? new Uint8Array(BLOCKS) : withContent(a);
  const inB = way === 'out' ? new Uint8Array(BLOCKS) : withContent(b);
  const explained = (dx: number, dy: number, step: number, out?: Uint8Array) => {
    let n = 0;
    for (const k of blocks) {
      if ((inB[k] && blockFoundAt(b, k, a, -dx, -dy, step)) || (inA[k] && blockFoundAt(a, k, b, dx, dy, step))) {
        n++;
        if (out) out[k] = 1;
      }
    }
    return n;
  };
  const best: { dx: number; dy: number; n: number }[] = [];
  for (let dy = -(CHANGE_H >> 1); dy <= CHANGE_H >> 1; dy += 2) {
    for (let dx = -(CHANGE_W - BLOCK); dx <= CHANGE_W - BLOCK; dx += 2) {
      // One way only, b is a frame on the way to or from the settled one: the
      // very content, barely moved, would explain anything.
      if (way === 'both' ? dx === 0 && dy === 0 : Math.abs(dx) <= MAX_SHIFT && Math.abs(dy) <= MAX_SHIFT) continue;
      const n = explained(dx, dy, 4);
      if (n === 0 || (best.length === MOVE_TRIES && n <= best[MOVE_TRIES - 1]!.n)) continue;
      best.push({ dx, dy, n });
      best.sort((x, y) => y.n - x.n);
      if (best.length > MOVE_TRIES) best.pop();
    }
  }
  let moved: Uint8Array | null = null;
  let most = MOVE_MIN_BLOCKS - 1;
  for (const c of best) {
    for (let dy = c.dy - 1; dy <= c.dy + 1; dy++) {
      for (let dx = c.dx - 1; dx <= c.dx + 1; dx++) {
        const out = new Uint8Array(BLOCKS);
        const n = explained(dx, dy, 1, out);
        if (n > most) [most, moved] = [n, out];
      }
    }
  }
  // A cut's worth of what moved must be something whose coming or going
  // changed the brightness where it stood: blocks of text that happen to
  // match other text (small type, dx a word's width) are no move, since text
  // replaced by text keeps its block's brightness (0 or 1 such blocks at
  // the generated decks' slide changes, 19-26 for a walking presenter).
  let solid = 0;
  if (moved) for (const k of blocks) if (moved[k] && brighter(k)) solid++;
  if (!moved || solid < MOVE_MIN_BLOCKS) return null;
  // The object's outline cuts through blocks whose other part is whatever
  // stood behind it, here and there different: changed blocks next to moved
  // ones moved too.
  const grown = moved.slice();
  for (const k of blocks) {
    const bx = k % BX;
    const by = (k - bx) / BX;
    for (let y = Math.max(0, by - 1); y <= Math.min(BY - 1, by + 1); y++)
      for (let x = Math.max(0, bx - 1); x <= Math.min(BX - 1, bx + 1); x++) if (moved[y * BX + x]) grown[k] = 1;
  }
  return grown;
}

export interface ContentChanges {
  /** Times where the settled picture changed to a different settled picture. */
  cuts: number[];
  /** Change between consecutive samples (0..1) at each sample time, for splitting long scenes at their strongest change. */
  curve: { t: number; change: number }[];
  /**
   * Times of settled frames worth reading for on-screen text: the first
   * settled frame, then each settled frame that differs from the last one
   * chosen. An unchanged picture is never chosen twice, a blank one never,
   * and a frame whose text a later one shows in full (a slide before its
   * next line appears) is replaced by that one.
   */
  textSamples: number[];
  /**
   * Times of samples that show the one before them only moved (a scroll, a
   * pan: onlyMoved), among those that changed SHIFT_CHANGE of their blocks:
   * ffmpeg's score of every frame sees a scroll's jump as a cut.
   */
  shifts: number[];
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
  /** The frames of the current run while it may still end in a cut (see beyondMoves). */
  private runFrames: Frame[] = [];
  private lastRead: Frame | null = null;
  private readonly out: ContentChanges = { cuts: [], curve: [], textSamples: [], shifts: [] };
  private readonly hists: Float32Array[] = [];
  private readonly brightness: number[] = [];
  /** Time of the first frame: a window of a long video starts later than 0. */
  private t0: number | null = null;
  /** The last LIVE_LAG frames, oldest first. */
  private readonly lagged: Frame[] = [];
  /** The last LIVE_WINDOW samples' blocks changed since LIVE_LAG samples before, oldest first, and how often each block was. */
  private readonly recent: Uint8Array[] = [];
  private readonly activity = new Uint8Array(BLOCKS);
  private readonly liveUntil = new Float64Array(BLOCKS).fill(-Infinity);
  /** Blocks left out of comparisons now (live ones), or null for none. */
  private ignore: Uint8Array | null = null;

  push(gray: Uint8Array, t: number): void {
    this.t0 ??= t;
    const f = analyseFrame(gray, t);
    this.hists.push(f.hist);
    this.brightness.push(f.mean.reduce((a, b) => a + b, 0) / f.mean.length);
    this.track(f);
    const changed = this.prev ? changedBlocks(this.prev, f) : null;
    const change = changed ? shareOf(changed, this.ignore) : 0;
    this.out.curve.push({ t, change });
    if (this.prev && changed && change >= SHIFT_CHANGE && onlyMoved(this.prev, f, changed)) this.out.shifts.push(t);
    if (!this.prev || change < SETTLED_SHARE) {
      this.settle(f);
    } else {
      this.run.push({ t, change });
      this.runFrames.push(f);
      // Motion, not a transition: forget where it started, so no cut when it ends.
      if (this.run.length / CHANGE_FPS > CHANGE_MAX_RUN_S) [this.anchor, this.runFrames] = [null, []];
    }
    this.prev = f;
  }

  /** Counts how often each block differed from LIVE_LAG samples before, and decides which blocks are live (see LIVE_MIN). */
  private track(f: Frame): void {
    const t = f.t;
    this.lagged.push(f);
    if (this.lagged.length <= LIVE_LAG) return;
    const changed = changedBlocks(this.lagged.shift()!, f);
    this.recent.push(changed);
    for (let k = 0; k < BLOCKS; k++) this.activity[k]! += changed[k]!;
    if (this.recent.length > LIVE_WINDOW) {
      const old = this.recent.shift()!;
      for (let k = 0; k < BLOCKS; k++) this.activity[k]! -= old[k]!;
    }
    // In a video's first seconds, the same share of the samples seen so far.
    const min = Math.max(LIVE_MIN_START, Math.ceil((LIVE_MIN * this.recent.length) / LIVE_WINDOW));
    // A live block and its neighbours: a moving picture's edge cuts through
    // blocks that change less often than the blocks inside it. Then each
    // connected group's bounding box: a camera inset or a video is a
    // rectangle, and its flat parts change less often than its detailed ones.
    const near = new Uint8Array(BLOCKS);
    for (let k = 0; k < BLOCKS; k++) {
      if (this.activity[k]! >= min) this.liveUntil[k] = t + LIVE_HOLD_S;
      if (this.liveUntil[k]! < t) continue;
      const bx = k % BX;
      const by = (k - bx) / BX;
      for (let y = Math.max(0, by - 1); y <= Math.min(BY - 1, by + 1); y++)
        for (let x = Math.max(0, bx - 1); x <= Math.min(BX - 1, bx + 1); x++) near[y * BX + x] = 1;
    }
    const ignore = new Uint8Array(BLOCKS);
    const seen = new Uint8Array(BLOCKS);
    const stack: number[] = [];
    for (let k0 = 0; k0 < BLOCKS; k0++) {
      if (!near[k0] || seen[k0]) continue;
      let [x0, y0, x1, y1] = [BX, BY, -1, -1];
      seen[k0] = 1;
      stack.push(k0);
      while (stack.length) {
        const k = stack.pop()!;
        const x = k % BX;
        const y = (k - x) / BX;
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
        for (const n of [x > 0 ? k - 1 : -1, x < BX - 1 ? k + 1 : -1, k - BX, k + BX])
          if (n >= 0 && n < BLOCKS && near[n] && !seen[n]) {
            seen[n] = 1;
            stack.push(n);
          }
      }
      for (let y = y0; y <= y1; y++) ignore.fill(1, y * BX + x0, y * BX + x1 + 1);
    }
    let live = 0;
    for (let k = 0; k < BLOCKS; k++) live += ignore[k]!;
    this.ignore = live > 0 && live <= MAX_LIVE_SHARE * BLOCKS ? ignore : null;
  }

  private settle(f: Frame): void {
    if (
      this.run.length &&
      this.anchor &&
      shareOf(changedBlocks(this.anchor, f, true), this.ignore) >= CUT_SHARE &&
      differenceBeyondMotion(this.anchor, f) >= CUT_SHARE &&
      !onlyMoved(this.anchor, f) &&
      this.beyondMoves(this.anchor, f) >= CUT_SHARE
    ) {
      // The step's strongest sample: for a hard change the first new frame,
      // for a dissolve the middle of it.
      const peak = this.run.reduce((a, b) => (b.change > a.change ? b : a));
      this.out.cuts.push(peak.t);
    }
    this.run = [];
    this.runFrames = [];
    this.anchor = f;
    const blank = f.edges < BLANK_EDGE_SHARE * CHANGE_W * CHANGE_H;
    if (!blank && (!this.lastRead || shareOf(changedBlocks(this.lastRead, f), this.ignore) >= TEXT_CHANGE_SHARE)) {
      // A frame that only adds to the last one chosen (a slide's next line)
      // shows all of its text: it is read instead, not as well.
      if (this.lastRead && shareOf(changedBlocks(this.lastRead, f, true), this.ignore) === 0)
        this.out.textSamples.pop();
      this.out.textSamples.push(f.t);
      this.lastRead = f;
    }
  }

  /**
   * The share of blocks changed between a and b (new lines on a slide aside)
   * that nothing moving explains. Something that left the picture (a
   * presenter walking out) is not in b to be found, nor something that came
   * in in a: the frames between show it on its way, so what stood in a is
   * looked for in them, and what stands in b too.
   */
  private beyondMoves(a: Frame, b: Frame): number {
    const changed = changedBlocks(a, b, true);
    if (this.ignore) for (let k = 0; k < BLOCKS; k++) if (this.ignore[k]) changed[k] = 0;
    const explain = (moved: Uint8Array | null) => {
      if (moved) for (let k = 0; k < BLOCKS; k++) if (moved[k]) changed[k] = 0;
    };
    explain(movedBlocks(a, b, changed));
    const between = this.runFrames;
    for (const m of new Set([between[between.length >> 1], between.at(-1)])) {
      if (!m || shareOf(changed, null) < CUT_SHARE) break;
      explain(movedBlocks(a, m, changed, 'out', [a, b]));
      explain(movedBlocks(m, b, changed, 'in', [a, b]));
    }
    return shareOf(changed, null);
  }

  /** What has been found so far, as pushed: the cuts without the gradual ones finish() adds. */
  get found(): Readonly<ContentChanges> {
    return this.out;
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
