/*
 * SRT and WebVTT parsing. Sidecar files are user uploads and embedded streams
 * are converted to SRT by ffmpeg, so one tolerant parser serves both: cue
 * settings, styling tags, BOMs and CRLF line ends are all accepted; cues that
 * cannot be read are skipped rather than failing the whole transcript.
 */
import type { TranscriptSegment } from '../ml/types.ts';

const TIME = /(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})/;

function seconds(m: RegExpMatchArray): number {
  const [, h, mi, s, frac] = m;
  return Number(h ?? 0) * 3600 + Number(mi) * 60 + Number(s) + Number(frac!.padEnd(3, '0')) / 1000;
}

/** Drops <i>, <c.x>, <00:01.000>, {\an8} and similar markup, keeping the words. */
function plain(text: string): string {
  return text
    .replace(/<[^>]*>/g, '')
    .replace(/\{\\[^}]*\}/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Parses SRT or VTT text into time-ordered segments (empty cues dropped). */
export function parseSubtitles(input: string): TranscriptSegment[] {
  const text = input.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const blocks = text.split(/\n{2,}/);
  const out: TranscriptSegment[] = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const ti = lines.findIndex((l) => l.includes('-->'));
    if (ti < 0) continue;
    const [a, b] = lines[ti]!.split('-->');
    const ma = a?.match(TIME);
    const mb = b?.match(TIME);
    if (!ma || !mb) continue;
    const start = seconds(ma);
    const end = seconds(mb);
    const body = plain(lines.slice(ti + 1).join(' '));
    if (!body || !(end > start)) continue;
    out.push({ start, end, text: body });
  }
  return out.sort((x, y) => x.start - y.start);
}

export function looksLikeSubtitles(input: string): boolean {
  return /-->/.test(input) && TIME.test(input);
}
