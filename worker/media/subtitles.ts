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

/** Parses SRT, VTT or ASS/SSA text into time-ordered segments (empty cues dropped). */
export function parseSubtitles(input: string): TranscriptSegment[] {
  const text = input.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (ASS_DIALOGUE.test(text)) return parseAss(text);
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

/**
 * The most frequent characters of running text in each language a legacy
 * encoding below serves: real text is full of them, the same bytes read in
 * another encoding almost never (they scatter over thousands of rare
 * characters). Hiragana and lower-case Cyrillic are tested as blocks.
 */
const COMMON_HANGUL = new Set(
  '이다는가에의고하을를지서로한기도게어요니아나습있리사그대자들수것시으해라면만우내말거네죠했할합입됩안제일정주전보러인상까데와과같저더된동님오여실점',
);
const COMMON_HANZI_SIMPLIFIED = new Set(
  '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日',
);
const COMMON_HANZI_TRADITIONAL = new Set(
  '的一是不了在人有我他這個們中來上大為和國地到以說時要就出會可也你對生能而子那得於著下自之年過發後作裡用道行所然家種事成方多經麼去法學如都同現當沒動面起看定天分還進好小部其些主樣理心她本前開但因只從想實日',
);

/**
 * Legacy encodings subtitle files still come in (older Korean, Japanese and
 * Chinese releases, Windows tools), each with how plausible a decoding is:
 * the share of its non-ASCII characters that running text in that language
 * is made of. Western and Cyrillic text share the byte range, so the Western
 * reading counts only short runs of non-ASCII letters and the Cyrillic one
 * only runs that are whole words of Cyrillic letters: Cyrillic words are runs
 * of them, accented Western words carry one or two.
 */
const LEGACY: { encoding: string; plausible: (c: string, run: string) => boolean }[] = [
  { encoding: 'euc-kr', plausible: (c) => COMMON_HANGUL.has(c) },
  { encoding: 'shift_jis', plausible: (c) => c >= '\u3041' && c <= '\u309f' },
  { encoding: 'gb18030', plausible: (c) => COMMON_HANZI_SIMPLIFIED.has(c) },
  { encoding: 'big5', plausible: (c) => COMMON_HANZI_TRADITIONAL.has(c) },
  {
    encoding: 'windows-1252',
    plausible: (c, run) =>
      run.length < 3 && ((c >= '\u00df' && c <= '\u00ff' && c !== '\u00f7') || '’‘“”–—…«»'.includes(c)),
  },
  {
    encoding: 'windows-1251',
    plausible: (c, run) => run.length > 1 && /^[а-яё]+$/i.test(run) && c >= '\u0430' && c <= '\u044f',
  },
];

function plausibility(text: string, plausible: (c: string, run: string) => boolean): number {
  let total = 0;
  let good = 0;
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i]! < '\u0080') continue;
    // The run of non-ASCII characters this one starts.
    let b = i;
    while (b + 1 < chars.length && chars[b + 1]! >= '\u0080') b++;
    const run = chars.slice(i, b + 1).join('');
    for (let j = i; j <= b; j++) {
      total++;
      if (plausible(chars[j]!, run)) good++;
    }
    i = b;
  }
  return total ? good / total : 0;
}

/**
 * Subtitle bytes as text, whatever they were saved in: a byte-order mark
 * (UTF-8, UTF-16), UTF-16 without one, valid UTF-8, else the legacy encoding
 * whose reading looks most like text (EUC-KR/CP949, Shift_JIS, GBK, Big5,
 * Windows-1251, Windows-1252). Read as UTF-8 alone, a Korean or French file
 * from an older tool became replacement characters and was unsearchable.
 * `cut`: the bytes are the first part of a longer file, so a character may
 * be split at the end.
 */
export function decodeSubtitleBytes(bytes: Uint8Array, cut = false): { text: string; encoding: string } {
  const decode = (encoding: string, b: Uint8Array = bytes, fatal = false) =>
    new TextDecoder(encoding, { fatal, ignoreBOM: false }).decode(b);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { text: decode('utf-8'), encoding: 'utf-8' };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: decode('utf-16le'), encoding: 'utf-16le' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: decode('utf-16be'), encoding: 'utf-16be' };
  // UTF-16 without a mark: ASCII-heavy text has a zero in every other byte.
  const head = bytes.subarray(0, 4096);
  let zeroEven = 0;
  let zeroOdd = 0;
  head.forEach((b, i) => b === 0 && (i % 2 ? zeroOdd++ : zeroEven++));
  if (zeroOdd > head.length / 6 && zeroEven === 0) return { text: decode('utf-16le'), encoding: 'utf-16le' };
  if (zeroEven > head.length / 6 && zeroOdd === 0) return { text: decode('utf-16be'), encoding: 'utf-16be' };
  // A cut file may end inside a UTF-8 character: up to 3 bytes of it.
  for (let drop = 0; drop <= (cut ? 3 : 0); drop++) {
    try {
      return { text: decode('utf-8', bytes.subarray(0, bytes.length - drop), true), encoding: 'utf-8' };
    } catch {
      // not (this much of) UTF-8
    }
  }
  // Judged on the first LEGACY_SAMPLE bytes (which may end inside a
  // character of up to 4 bytes); the winner decodes all of them.
  const sample = bytes.subarray(0, LEGACY_SAMPLE);
  const partial = cut || sample.length < bytes.length ? 3 : 0;
  // Below MIN_PLAUSIBLE no reading looks like text (a UTF-8 file with one
  // stray byte): UTF-8, with that byte replaced, is the best guess.
  let best = { encoding: 'utf-8', score: MIN_PLAUSIBLE };
  for (const { encoding, plausible } of LEGACY) {
    for (let drop = 0; drop <= partial; drop++) {
      try {
        const score = plausibility(decode(encoding, sample.subarray(0, sample.length - drop), true), plausible);
        if (score > best.score) best = { encoding, score };
        break;
      } catch {
        // not (this much of) this encoding
      }
    }
  }
  return { text: decode(best.encoding), encoding: best.encoding };
}

const LEGACY_SAMPLE = 64 * 1024;
/** Real text in these encodings scores 0.5-1 (the tests' samples); misreadings near 0. */
const MIN_PLAUSIBLE = 0.25;

/**
 * The first part of a subtitle file cut at a size limit, up to its last
 * whole cue, so no half cue is indexed: an SRT/VTT cue ends at a blank line,
 * an ASS Dialogue at its line's end (a blank line there ends the header).
 * Line ends become \n first: Windows tools write \r\n, where a search for
 * "\n\n" finds no boundary at all.
 */
export function wholeCues(text: string): string {
  const lf = text.replace(/\r\n?/g, '\n');
  const end = ASS_DIALOGUE.test(lf) ? lf.lastIndexOf('\n') : lf.lastIndexOf('\n\n');
  return end > 0 ? lf.slice(0, end + 1) : lf;
}

export function looksLikeSubtitles(input: string): boolean {
  return (/-->/.test(input) && TIME.test(input)) || ASS_DIALOGUE.test(input);
}

const ASS_DIALOGUE = /^Dialogue:\s*[^,\n]*,\s*\d+:\d{2}:\d{2}[.:]\d{1,3}\s*,/m;
/** H:MM:SS.cc, the only time format of ASS/SSA. */
const ASS_TIME = /^\s*(\d+):(\d{2}):(\d{2})[.:](\d{1,3})\s*$/;

/**
 * ASS/SSA (fansubs, Aegisub): the Dialogue lines of [Events], fields as its
 * Format line names them (Text last, commas and all). Override blocks
 * ({\i1}, {\k20}) and vector drawings ({\p1}…{\p0}) are markup, not words;
 * \N and \h are line breaks and hard spaces. The same line drawn in several
 * layers at once (outline, glow) counts once.
 */
function parseAss(text: string): TranscriptSegment[] {
  let fields = ['layer', 'start', 'end', 'style', 'name', 'marginl', 'marginr', 'marginv', 'effect', 'text'];
  const seen = new Set<string>();
  const out: TranscriptSegment[] = [];
  for (const line of text.split('\n')) {
    const format = /^Format:\s*(.*)$/i.exec(line);
    if (format && /\btext\s*$/i.test(format[1]!)) {
      fields = format[1]!.split(',').map((f) => f.trim().toLowerCase());
      continue;
    }
    const dialogue = /^Dialogue:\s*(.*)$/.exec(line);
    if (!dialogue) continue;
    const parts = dialogue[1]!.split(',');
    const at = (name: string) => fields.indexOf(name);
    if (at('start') < 0 || at('end') < 0 || parts.length < fields.length) continue;
    const [start, end] = [parts[at('start')]!, parts[at('end')]!].map((t) => {
      const m = ASS_TIME.exec(t);
      return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(`0.${m[4]}`) : NaN;
    }) as [number, number];
    const body = plain(
      parts
        .slice(fields.length - 1)
        .join(',')
        .replace(/\{[^}]*\\p[1-9][^}]*\}.*?(\{[^}]*\\p0[^}]*\}|$)/g, ' ')
        .replace(/\\[Nnh]/g, ' '),
    );
    const key = `${start}|${end}|${body}`;
    if (!body || !(end > start) || seen.has(key)) continue;
    seen.add(key);
    out.push({ start, end, text: body });
  }
  return out.sort((x, y) => x.start - y.start);
}

/**
 * The most frequent words of each language PostgreSQL stems (app_hidden.
 * stem_config): any stretch of subtitles is full of them, and few are shared.
 */
const FUNCTION_WORDS: Record<string, string> = {
  en: 'the and is you that it of to in this was what have with for are not be we on',
  fr: 'le la les et est que je vous pas une des du il ce qui nous dans pour sur mais',
  de: 'der die das und ist ich nicht du sie es ein eine zu den mit wir auf dass ja',
  es: 'el la que de y es en los no un una por con para lo las pero se muy como',
  it: 'il che di e la è non un per una sono mi ma ho lo gli della questo ci',
  pt: 'o a que de e não um uma é para com os você eu se do da mas está em',
  nl: 'de het een en is van ik je niet dat die te op we zijn maar wat met er',
  sv: 'och att det är jag som en på inte du för med har vi den till av så',
  da: 'og er det at jeg en på ikke du til med har vi den som af for så hvad mig dig meget',
  no: 'og er det at jeg en på ikke du til med har vi som av for så hva meg deg bra sa',
  fi: 'ja on ei se että mutta hän minä sinä ole oli kun niin mitä tämä',
  hu: 'a az és hogy nem egy is van ez de meg csak már mit mi',
  ro: 'și de că nu este la în un o cu pe să ce mai sunt',
  tr: 've bir bu da de ne için ben sen çok var değil mi ama',
  ru: 'и в не на я что он с это как а то вы мы но да',
};
const FUNCTION_SETS = Object.entries(FUNCTION_WORDS).map(([lang, words]) => [lang, new Set(words.split(' '))] as const);

/**
 * The language of subtitle text (ISO 639-1), for a video whose transcript
 * comes from subtitles rather than speech recognition (which names the
 * language itself): the script for Korean, Japanese and Chinese, else the
 * language whose function words make up the most of the text, if they make
 * up enough of it to be sure (1 word in 10 at least; running text has 3-5).
 * Null when unsure; search then stems as English, as before.
 */
export function guessLanguage(segments: { text: string }[]): string | null {
  const text = segments
    .map((s) => s.text)
    .join(' ')
    .slice(0, 20_000)
    .toLowerCase();
  const count = (re: RegExp) => text.match(re)?.length ?? 0;
  const letters = count(/\p{L}/gu);
  if (!letters) return null;
  if (count(/\p{Script=Hangul}/gu) > letters / 2) return 'ko';
  if (count(/[\p{Script=Hiragana}\p{Script=Katakana}]/gu) > letters / 5) return 'ja';
  if (count(/\p{Script=Han}/gu) > letters / 2) return 'zh';
  const words = text.match(/\p{L}+/gu) ?? [];
  let best: string | null = null;
  let bestHits = 0;
  for (const [lang, set] of FUNCTION_SETS) {
    const hits = words.reduce((n, w) => n + (set.has(w) ? 1 : 0), 0);
    if (hits > bestHits) [best, bestHits] = [lang, hits];
  }
  return bestHits >= words.length / 10 ? best : null;
}
