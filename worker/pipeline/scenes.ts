/*
 * Pure scene arithmetic: cut times into scene spans, transcript segments into
 * scenes. Kept free of I/O so the rules are tested exhaustively and cheaply.
 */
import type { TranscriptSegment } from '../ml/types.ts';

export interface Span {
  start: number;
  end: number;
}

/**
 * Where an index chunk that starts at `from` ends (INDEX_CHUNK_S = chunkS
 * later), and whether it is the last. A chunk that would leave less than a
 * quarter of chunkS after it takes the rest of the video too: a job of its
 * own would decode the previous chunk's last scene again, start its own
 * ffmpeg processes and commit, for a few seconds of video (a 600 s talk in
 * 300 s chunks ended in a third job for its last 35 s: 1.7 of the 27
 * CPU-seconds of ffmpeg the whole video took, BENCHMARKS.md).
 */
export function chunkEnd(from: number, chunkS: number, durationS: number): { to: number; last: boolean } {
  const last = from + chunkS >= durationS - Math.max(1, chunkS / 4);
  return { to: last ? durationS : from + chunkS, last };
}

/**
 * Scenes from detected cuts: cuts closer than minS to the previous kept cut
 * (or to either end) are dropped, which merges a too-short scene into the one
 * before it. A scene longer than maxS is split, so a search hit still points
 * at a precise moment: at its strongest internal change in `changes` (how
 * much the picture changed at each sampled time; a topic change inside a long
 * take is likelier there than at a fixed fraction), keeping both parts at
 * least minS and a quarter of maxS, and repeatedly until every part fits. Without change data, or
 * in a picture that never changes, it splits into equal parts.
 */
export function planScenes(
  cuts: number[],
  durationS: number,
  opts: { minS: number; maxS: number },
  changes: { t: number; change: number }[] = [],
): Span[] {
  if (!(durationS > 0)) throw new Error('planScenes needs a positive duration');
  const kept: number[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c - prev < opts.minS || durationS - c < opts.minS) continue;
    kept.push(c);
    prev = c;
  }
  const bounds = [0, ...kept, durationS];
  const out: Span[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) splitLong(bounds[i]!, bounds[i + 1]!, opts, changes, out);
  return out;
}

/** Below this change nothing really changed: equal parts beat an arbitrary flicker. */
const MIN_SPLIT_CHANGE = 0.01;

function splitLong(
  start: number,
  end: number,
  opts: { minS: number; maxS: number },
  changes: { t: number; change: number }[],
  out: Span[],
): void {
  if (!(opts.maxS > 0) || end - start <= opts.maxS + 1e-9) {
    out.push({ start, end });
    return;
  }
  // Parts of at least a quarter of maxS: a flicker near one end would
  // otherwise peel off a sliver and leave the rest as long as before.
  const margin = Math.max(opts.minS, opts.maxS / 4);
  const lo = start + margin;
  const hi = end - margin;
  let best: { t: number; change: number } | null = null;
  for (const c of changes) {
    if (c.t <= lo || c.t >= hi || c.change < MIN_SPLIT_CHANGE) continue;
    const mid = (start + end) / 2;
    if (!best || c.change > best.change || (c.change === best.change && Math.abs(c.t - mid) < Math.abs(best.t - mid)))
      best = c;
  }
  if (!best) {
    const parts = Math.ceil((end - start) / opts.maxS - 1e-9);
    for (let p = 0; p < parts; p++) {
      out.push({
        start: start + ((end - start) * p) / parts,
        end: p === parts - 1 ? end : start + ((end - start) * (p + 1)) / parts,
      });
    }
    return;
  }
  splitLong(start, best.t, opts, changes, out);
  splitLong(best.t, end, opts, changes, out);
}

/**
 * Transcript text per scene. A segment belongs to every scene it overlaps by
 * at least half its own length or by 0.5 s, whichever is less, and always
 * whole: cutting a sentence in proportion to time would split words at
 * arbitrary places, and a sentence spoken across a cut is a fair match for
 * both shots. The rule ignores slivers, so a cue that ends a few frames after
 * a cut (subtitle timing is rarely frame-exact) stays with its own scene.
 */
export function assignTranscript(segments: TranscriptSegment[], scenes: Span[]): string[] {
  const texts: string[][] = scenes.map(() => []);
  for (const seg of segments) {
    const len = Math.max(0, seg.end - seg.start);
    const need = Math.min(0.5, len / 2);
    let best = -1;
    let bestOverlap = 0;
    let placed = false;
    scenes.forEach((sc, i) => {
      const overlap = Math.min(seg.end, sc.end) - Math.max(seg.start, sc.start);
      if (overlap > bestOverlap) {
        best = i;
        bestOverlap = overlap;
      }
      if (overlap > 0 && overlap >= need) {
        texts[i]!.push(seg.text);
        placed = true;
      }
    });
    // A very short segment may overlap nothing by the threshold: keep it where most of it is.
    if (!placed && best >= 0) texts[best]!.push(seg.text);
  }
  return texts.map((t) => t.join(' ').replace(/\s+/g, ' ').trim());
}

/**
 * Which of the detector's text samples (settled, mutually different frames)
 * OCR reads, per scene, within a budget: each scene's first sample always
 * (so every scene has its own text), and at most extraPerMinute more per
 * minute of video, spread evenly over the video when there are more. A scene
 * with no sample (moving footage never settles) gets [] and is read at its
 * keyframe instead.
 */
export function chooseTextSamples(
  samples: number[],
  spans: Span[],
  durationS: number,
  extraPerMinute: number,
): number[][] {
  const per = spans.map((s) => samples.filter((t) => t >= s.start && t < s.end).sort((a, b) => a - b));
  const extras = per.flatMap((list, i) => list.slice(1).map((t) => ({ i, t })));
  const budget = Math.max(0, Math.floor((durationS / 60) * extraPerMinute));
  const keep = new Set<number>();
  if (extras.length <= budget) extras.forEach((_, k) => keep.add(k));
  else for (let j = 0; j < budget; j++) keep.add(Math.floor(((j + 0.5) * extras.length) / budget));
  const out = per.map((list) => list.slice(0, 1));
  extras.forEach((e, k) => keep.has(k) && out[e.i]!.push(e.t));
  return out;
}

function wordSet(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w.length >= 2),
  );
}

/**
 * Times inside a scene where the on-screen text read at consecutive samples
 * changed substantially: both readings have at least three words and they
 * share less than a third of them (a new slide built up line by line, a new
 * document typed into a window, which change too few pixels at once to cut
 * on). Cuts closer than minS to a scene edge are left out.
 */
export function textChangeCuts(reads: { t: number; text: string }[], spans: Span[], minS: number): number[] {
  const cuts: number[] = [];
  const sorted = [...reads].sort((a, b) => a.t - b.t);
  for (const s of spans) {
    let prev: Set<string> | null = null;
    for (const r of sorted) {
      if (r.t < s.start || r.t >= s.end) continue;
      const words = wordSet(r.text);
      if (prev && prev.size >= 3 && words.size >= 3) {
        const shared = [...words].filter((w) => prev!.has(w)).length;
        const union = prev.size + words.size - shared;
        if (shared / union < 1 / 3 && r.t - s.start >= minS && s.end - r.t >= minS) cuts.push(r.t);
      }
      if (words.size) prev = words;
    }
  }
  return cuts;
}
