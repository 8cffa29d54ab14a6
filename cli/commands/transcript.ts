/*
 * `heimdex transcript <videoId>`: what is said in a video, line by line with
 * its times (the recognised speech, or the subtitle file it came with), as
 * text to read beside a search hit, as SubRip or WebVTT subtitles to keep
 * with the file, or as JSON.
 */
import { Api } from '../api.ts';
import { config, out, type Command } from '../command.ts';
import { CliError } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FORMATS = ['text', 'srt', 'vtt', 'json'] as const;
type Format = (typeof FORMATS)[number];

export interface TranscriptLine {
  startS: number;
  endS: number;
  text: string;
}

const QUERY = `query ($id: UUID!) { videoById(id: $id) { id state transcriptSource transcript { startS endS text } } }`;

/** 00:01:02,345 (SubRip) or 00:01:02.345 (WebVTT); hours are never left out, which both allow. */
function cueTime(s: number, sep: ',' | '.'): string {
  const ms = Math.max(0, Math.round(s * 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(ms / 3_600_000))}:${two(Math.floor(ms / 60_000) % 60)}:${two(Math.floor(ms / 1000) % 60)}${sep}${String(ms % 1000).padStart(3, '0')}`;
}

/** m:ss, or h:mm:ss past the hour, as the rest of the CLI and the web app write times. */
function clock(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const mmss = `${Math.floor(t / 60) % 60}:${String(t % 60).padStart(2, '0')}`;
  return t >= 3600 ? `${Math.floor(t / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}

export function formatTranscript(lines: TranscriptLine[], format: Format): string {
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

export const transcript: Command = {
  name: 'transcript',
  summary: 'Print what is said in a video, line by line with its times (text, SRT, WebVTT or JSON)',
  args: '<videoId>',
  description:
    'The recognised speech, or the subtitle file the video was uploaded with. --format srt or vtt writes subtitles to keep with the file.',
  flags: {
    format: { type: 'string', value: FORMATS.join('|'), description: 'Output format (default text)' },
    json: { type: 'boolean', description: 'Same as --format json: [{"startS", "endS", "text"}]' },
  },
  async run(p) {
    const [id, ...rest] = p.positionals;
    if (!id || !UUID.test(id) || rest.length)
      throw new CliError('one video id is needed', 'usage: heimdex transcript <videoId> [--format text|srt|vtt|json]');
    const format = (p.flags.json ? 'json' : (p.flags.format ?? 'text')) as Format;
    if (!FORMATS.includes(format))
      throw new CliError(`unknown format "${String(p.flags.format)}"`, `use one of: ${FORMATS.join(', ')}`);
    const r = await new Api(config()).graphql<{
      videoById: { id: string; state: string; transcriptSource: string | null; transcript: TranscriptLine[] } | null;
    }>(QUERY, { id });
    const v = r.videoById;
    if (!v) throw new CliError(`no video ${id}`, 'the ids are in the output of heimdex ingest');
    if (v.transcript.length === 0 && format !== 'json') {
      // Nothing to print is not an error, but it should say why.
      process.stderr.write(
        v.state !== 'indexed'
          ? `heimdex: no transcript yet (the video is ${v.state})\n`
          : `heimdex: no transcript (${v.transcriptSource === 'none' ? 'no speech was recognised, or no speech model is installed' : 'nothing was said'})\n`,
      );
      return 0;
    }
    out(formatTranscript(v.transcript, format));
    return 0;
  },
};
