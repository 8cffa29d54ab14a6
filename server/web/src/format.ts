/*
 * Formatting shared by every page. Pure functions (no DOM), so the node tests
 * check them directly.
 */

import { clock } from '../../../core/clock.ts';

export { clock };

/** A scene's time range as the UI contract writes it: "m:ss–m:ss" (an en dash). */
export function timeRange(start: number, end: number): string {
  return `${clock(start)}–${clock(end)}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/**
 * A search snippet as text runs: the server marks matched words with <b>…</b>
 * and HTML-escapes everything else. Parsed rather than injected as HTML, so a
 * transcript can never add markup to the page.
 */
export function snippetParts(snippet: string): { text: string; hit: boolean }[] {
  const unescape = (s: string) =>
    s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
  const parts: { text: string; hit: boolean }[] = [];
  const re = /<b>([\s\S]*?)<\/b>/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) parts.push({ text: unescape(snippet.slice(last, m.index)), hit: false });
    parts.push({ text: unescape(m[1]!), hit: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) parts.push({ text: unescape(snippet.slice(last)), hit: false });
  return parts;
}

/** What a switched-off search modality means, in a sentence for the notice. */
export function missingNotice(modality: string): string {
  switch (modality) {
    case 'vision':
      return 'visual search is off: the vision model is not installed';
    case 'text':
      return 'semantic text search is off: the text model is not installed, so only exact words match';
    case 'tags':
      return 'tag search is off: the tagging model is not installed';
    default:
      return `${modality} search is off: its model is not installed`;
  }
}

/** A pipeline stage as a user reads it. */
export function stageLabel(state: string, stage: string | null): string {
  if (state === 'indexed' || state === 'failed' || !stage) return state;
  return `${state}: ${stage}`;
}

/** "1 face", "4 faces". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export interface PersonLike {
  id: string;
  name: string | null;
  faceCount: number | null;
  sceneCount?: number | null;
}

/** How a person is called on screen: the name, or a plain "Unnamed person" for a group nobody named yet. */
export function personName(p: { name: string | null }): string {
  return p.name ?? 'Unnamed person';
}

/** A person in a menu (person filter, merge target): unnamed groups are told apart by their size. */
export function personOption(p: PersonLike): string {
  return p.name ?? `Unnamed person (${plural(p.faceCount ?? 0, 'face')})`;
}

/** Named people by name, then unnamed groups, largest first: the ones most worth naming. */
export function sortPersons<P extends PersonLike>(list: P[]): P[] {
  return [...list].sort((a, b) => {
    if ((a.name === null) !== (b.name === null)) return a.name === null ? 1 : -1;
    if (a.name !== null && b.name !== null)
      return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id.localeCompare(b.id);
    return (b.faceCount ?? 0) - (a.faceCount ?? 0) || a.id.localeCompare(b.id);
  });
}

/**
 * Which of the photos an API error is about: the server names a photo by the
 * last part of its object key ("No face was found in photo \"x.jpg\"").
 */
export function photoNamedIn(message: string, keys: string[]): string | undefined {
  return keys.find((k) => message.includes(`"${k.slice(k.lastIndexOf('/') + 1)}"`) || message.includes(`"${k}"`));
}
