/*
 * The README's configuration table, generated from OPTIONS so the two cannot
 * drift: `heimdex config table --write` rewrites the part between the
 * markers and test/readme.test.ts fails when it is stale.
 */
import path from 'node:path';
import { OPTIONS, ROOT_DIR, type Option } from '../core/config.ts';

export const START = '<!-- config:start -->';
export const END = '<!-- config:end -->';
export const README = path.join(ROOT_DIR, 'README.md');

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigTable(options: readonly Option[] = OPTIONS): string {
  const rows = options.map((o) => {
    const def = o.default === undefined ? '—' : o.default === '' ? '(empty)' : `\`${o.default}\``;
    const choices = o.choices ? ` One of: ${o.choices.map((c) => `\`${c}\``).join(', ')}.` : '';
    return `| \`${o.env}\` | ${def} | ${cell(o.doc)}${choices} |`;
  });
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The README with its table replaced; throws when the markers are missing. */
export function withConfigTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a === -1 || b === -1 || b < a) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${renderConfigTable()}\n${readme.slice(b)}`;
}
