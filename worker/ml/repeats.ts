/*
 * Whisper's known failure on music, noise and long pauses: it falls into a
 * loop and writes the same phrase over and over, within a segment ("I'm
 * sorry. I'm sorry. I'm sorry. …") or as segment after identical segment.
 * The reference implementation retries such windows at a higher
 * temperature; here the loop is cut back to what was said, so the words
 * stay findable without one phrase filling a scene's transcript (and its
 * rank) with copies of itself.
 */
import type { TranscriptSegment } from './types.ts';

/** A phrase (4+ characters) said 3 or more times in a row. */
const LOOP = /(\S.{2,}?\S)(?:[\s,.!?…]+\1){2,}/gu;
/** Identical back-to-back segments beyond this many are a loop, not a chorus. */
const MAX_SAME_IN_A_ROW = 2;
/** Back to back: the next begins within this long of the last one's end. A phrase said again later is speech. */
const BACK_TO_BACK_S = 2;

/** A phrase repeated three or more times in a row, said once. */
export function collapseLoops(text: string): string {
  return text.replace(LOOP, '$1');
}

/** Segments with their loops collapsed; a third identical segment back to back, and those after it, dropped. */
export function dropRepeats(segments: TranscriptSegment[]): TranscriptSegment[] {
  const out: TranscriptSegment[] = [];
  let same = 0;
  let lastEnd = -Infinity;
  for (const s of segments) {
    const text = collapseLoops(s.text);
    same = out.length && out.at(-1)!.text === text && s.start - lastEnd <= BACK_TO_BACK_S ? same + 1 : 1;
    lastEnd = s.end;
    if (same <= MAX_SAME_IN_A_ROW) out.push({ ...s, text });
  }
  return out;
}
