/*
 * `heimdex transcript <videoId>`: what is said in a video, line by line with
 * its times (the recognised speech, or the subtitle file it came with), as
 * text to read beside a search hit, as SubRip or WebVTT subtitles to keep
 * with the file, or as JSON.
 */
import {
  formatTranscript,
  TRANSCRIPT_FORMATS,
  type TranscriptFormat,
  type TranscriptLine,
} from '../../core/transcript.ts';
import { Api } from '../api.ts';
import { UUID } from '../args.ts';
import { config, out, type Command } from '../command.ts';
import { CliError } from '../errors.ts';

const QUERY = `query ($id: UUID!) { videoById(id: $id) { state transcriptSource transcript { startS endS text } } }`;

export const transcript: Command = {
  name: 'transcript',
  summary: 'Print what is said in a video, line by line with its times (text, SRT, WebVTT or JSON)',
  args: '<videoId>',
  description:
    'The recognised speech, or the subtitle file the video was uploaded with. --format srt or vtt writes subtitles to keep with the file.',
  flags: {
    format: { type: 'string', value: TRANSCRIPT_FORMATS.join('|'), description: 'Output format (default text)' },
    json: { type: 'boolean', description: 'Same as --format json: [{"startS", "endS", "text"}]' },
  },
  async run(p) {
    const [id, ...rest] = p.positionals;
    if (!id || !UUID.test(id) || rest.length)
      throw new CliError('one video id is needed', 'usage: heimdex transcript <videoId> [--format text|srt|vtt|json]');
    const format = (p.flags.json ? 'json' : (p.flags.format ?? 'text')) as TranscriptFormat;
    if (!TRANSCRIPT_FORMATS.includes(format))
      throw new CliError(`unknown format "${String(p.flags.format)}"`, `use one of: ${TRANSCRIPT_FORMATS.join(', ')}`);
    const r = await new Api(config()).graphql<{
      videoById: { state: string; transcriptSource: string | null; transcript: TranscriptLine[] } | null;
    }>(QUERY, { id });
    const v = r.videoById;
    if (!v) throw new CliError(`no video ${id}`, 'see: heimdex videos');
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
