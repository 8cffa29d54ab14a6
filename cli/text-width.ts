/*
 * Columns in a terminal. Chinese, Japanese and Korean characters (and most
 * emoji) take two cells, combining marks none, so padding a table by string
 * length tilts every row that holds a Korean title. The ranges are Unicode's
 * East Asian Wide and Fullwidth blocks, as terminals draw them.
 */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
const ZERO = /[\p{M}\u200b-\u200f\u2060\ufeff]/u;

function cells(ch: string): number {
  if (ZERO.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

/** How many terminal cells `s` takes. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += cells(ch);
  return w;
}

/** `s` padded with spaces to `width` cells. */
export function padDisplay(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

/** `s` cut to at most `max` cells, ending with "…" when cut. */
export function truncateDisplay(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const c = cells(ch);
    if (w + c > max - 1) break;
    out += ch;
    w += c;
  }
  return `${out}…`;
}
