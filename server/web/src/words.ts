/*
 * The search's words found again in a transcript line, for the player only
 * (kept out of the shared formatting module, which the first screen loads).
 * Pure, so the node tests check it directly.
 */

// Too common to point at anything when a query holds them.
const COMMON_WORDS = new Set(
  'the and for with that this from are was were you your our not but have has had its into onto than then they them what when where who how'.split(
    ' ',
  ),
);
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+/gu;
// Roughly the forms search matched ("roasted" finds "roasting", "tomato" finds "tomatoes").
const stem = (w: string) => {
  const s = w.replace(/(ing|ed|es|s)$/, '');
  return s.length >= 3 ? s : w;
};

/**
 * A transcript line as text runs, the words of a search marked: a word whose
 * stem starts with a query word's stem, ignoring case (words under three
 * letters and the most common ones are not marked); Chinese and Japanese,
 * written without spaces, wherever the query's characters occur.
 */
export function queryParts(text: string, query: string): { text: string; hit: boolean }[] {
  const q = query.toLowerCase();
  const words = (q.replace(CJK, ' ').match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((w) => w.length >= 3 && !COMMON_WORDS.has(w))
    .map(stem);
  const cjk = q.match(CJK) ?? [];
  const spans: [number, number][] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = m[0].toLowerCase();
    if (words.some((qw) => stem(w).startsWith(qw))) spans.push([m.index, m.index + m[0].length]);
  }
  for (const run of cjk)
    for (let i = text.indexOf(run); i >= 0; i = text.indexOf(run, i + run.length)) spans.push([i, i + run.length]);
  spans.sort((a, b) => a[0] - b[0]);
  const parts: { text: string; hit: boolean }[] = [];
  let last = 0;
  for (const [from, to] of spans) {
    if (to <= last) continue;
    const start = Math.max(from, last);
    if (start > last) parts.push({ text: text.slice(last, start), hit: false });
    parts.push({ text: text.slice(start, to), hit: true });
    last = to;
  }
  if (last < text.length) parts.push({ text: text.slice(last), hit: false });
  return parts;
}
