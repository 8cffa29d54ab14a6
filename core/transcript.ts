/*
 * A transcript's lines as people keep and read them: SubRip and WebVTT
 * subtitles, text with m:ss times, JSON. Shared by the CLI (heimdex
 * transcript) and the web app (its downloads), so both write the same files.
 */

import { clock } from './clock.ts';

export const TRANSCRIPT_FORMATS = ['text', 'srt', 'vtt', 'json'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

export interface TranscriptLine {
  startS: number;
  endS: number;
  text: string;
}

/** 00:01:02,345 (SubRip) or 00:01:02.345 (WebVTT); hours are never left out, which both allow. */
function cueTime(s: number, sep: ',' | '.'): string {
  const ms = Math.max(0, Math.round(s * 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(ms / 3_600_000))}:${two(Math.floor(ms / 60_000) % 60)}:${two(Math.floor(ms / 1000) % 60)}${sep}${String(ms % 1000).padStart(3, '0')}`;
}

export function formatTranscript(lines: TranscriptLine[], format: TranscriptFormat): string {
  if (format === 'json') return JSON.stringify(lines.map((l) => ({ startS: l.startS, endS: l.endS, text: l.text })));
  if (format === 'text') return lines.map((l) => `${clock(l.startS)}  ${l.text.replace(/\s+/g, ' ')}`).join('\n');
  // A subtitle cue needs a span, and a blank line inside its text would end
  // it early; WebVTT also reads "-->", "<" and "&" in cue text as syntax.
  const cues = lines
    .filter((l) => l.endS > l.startS)
    .map((l, i) => ({ n: i + 1, startS: l.startS, endS: l.endS, text: l.text.replace(/\n\s*\n/g, '\n').trim() }));
  if (format === 'srt')
    return cues.map((c) => `${c.n}\n${cueTime(c.startS, ',')} --> ${cueTime(c.endS, ',')}\n${c.text}\n`).join('\n');
  return [
    'WEBVTT\n',
    ...cues.map(
      (c) =>
        `${cueTime(c.startS, '.')} --> ${cueTime(c.endS, '.')}\n${c.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/-->/g, '--&gt;')}\n`,
    ),
  ].join('\n');
}
