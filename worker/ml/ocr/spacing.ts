/*
 * Word spaces for the recogniser's output. The only PP-OCRv4 recogniser that
 * ships offline is the Chinese+English one, and it was trained mostly on text
 * without spaces: it reads "Welcome to the show" as "Welcometotheshow", which
 * ruins full-text search. The gaps are plain to see in the pixels, though, so
 * where two Latin-script characters sit either side of a run of empty columns
 * wider than an inter-letter gap, a space goes back in.
 *
 * It fails safe: over a busy background no column is empty, and the text stays
 * as the model read it.
 */
import type { RgbImage } from './image.ts';

/** No spaces between these: Chinese, Japanese and Korean text does not use them. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;
/** A gap counts as a space when it is this wide relative to the ink height... */
const MIN_GAP_OF_HEIGHT = 0.3;
/** ...and this much wider than the line's typical gap between characters. */
const MIN_GAP_OF_MEDIAN = 2.5;

function quantile(hist: Uint32Array, q: number): number {
  let total = 0;
  for (const n of hist) total += n;
  const target = q * total;
  let seen = 0;
  for (let v = 0; v < hist.length; v++) {
    seen += hist[v]!;
    if (seen > target) return v;
  }
  return hist.length - 1;
}

/** Per column, whether it holds no ink; plus the height of the inked rows. Null when ink cannot be told from background. */
export function emptyColumns(img: RgbImage): { empty: Uint8Array; inkHeight: number } | null {
  const { width: w, height: h, data } = img;
  if (w < 3 || h < 3) return null;
  // Integer grey levels so medians and percentiles come from histograms, not sorts.
  const gray = new Uint8Array(w * h);
  const hist = new Uint32Array(256);
  for (let i = 0; i < w * h; i++) {
    const g = Math.round(0.299 * data[i * 3]! + 0.587 * data[i * 3 + 1]! + 0.114 * data[i * 3 + 2]!);
    gray[i] = g;
    hist[g]!++;
  }
  // Ink is the minority of a text box's pixels, so the median is background
  // (the border is not: a caption box's edge often runs along it).
  const bg = quantile(hist, 0.5);
  const diff = new Uint8Array(w * h);
  hist.fill(0);
  for (let i = 0; i < w * h; i++) {
    diff[i] = Math.abs(gray[i]! - bg);
    hist[diff[i]!]!++;
  }
  const contrast = quantile(hist, 0.95);
  if (contrast < 40) return null;
  const cut = contrast / 2;
  const rowInk = new Int32Array(h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (diff[y * w + x]! > cut) rowInk[y]!++;
  let top = -1,
    bottom = -1;
  // A row inked nearly edge to edge is a box edge or a rule, not letters.
  const textRow = (y: number) => rowInk[y]! >= 2 && rowInk[y]! <= 0.7 * w;
  for (let y = 0; y < h; y++)
    if (textRow(y)) {
      if (top < 0) top = y;
      bottom = y;
    }
  if (top < 0 || bottom - top + 1 < 4) return null;
  const empty = new Uint8Array(w).fill(1);
  for (let y = top; y <= bottom; y++) {
    if (!textRow(y)) continue;
    for (let x = 0; x < w; x++) if (diff[y * w + x]! > cut) empty[x] = 0;
  }
  return { empty, inkHeight: bottom - top + 1 };
}

/**
 * `tokens` are the decoded characters and `xs` their positions in the crop's
 * pixels (from the CTC time steps); returns the text with spaces added where
 * the image shows a word gap.
 */
export function addWordSpaces(tokens: string[], xs: number[], img: RgbImage): string {
  const cols = tokens.length > 1 ? emptyColumns(img) : null;
  if (!cols) return tokens.join('');
  const gaps: number[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    let best = 0,
      run = 0;
    const from = Math.max(0, Math.round(xs[i]!)),
      to = Math.min(img.width - 1, Math.round(xs[i + 1]!));
    for (let x = from; x <= to; x++) {
      run = cols.empty[x] ? run + 1 : 0;
      if (run > best) best = run;
    }
    gaps.push(best);
  }
  const median = [...gaps].sort((a, b) => a - b)[gaps.length >> 1]!;
  const min = Math.max(MIN_GAP_OF_HEIGHT * cols.inkHeight, MIN_GAP_OF_MEDIAN * median, 2);
  let out = tokens[0]!;
  for (let i = 0; i + 1 < tokens.length; i++) {
    const a = tokens[i]!,
      b = tokens[i + 1]!;
    if (gaps[i]! >= min && a !== ' ' && b !== ' ' && !CJK.test(a) && !CJK.test(b)) out += ' ';
    out += b;
  }
  return out;
}
