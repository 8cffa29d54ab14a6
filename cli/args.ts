/*
 * A deliberately small argument parser: every command declares its flags, so
 * `--help` can list them and a mistyped flag is an error instead of being
 * silently ignored.
 */
import { CliError } from './errors.ts';

export interface FlagSpec {
  type: 'boolean' | 'string';
  description: string;
  /** Shown in help as the value name, e.g. N for --limit N. */
  value?: string;
  short?: string;
  /** May be given more than once (collected into an array). */
  multiple?: boolean;
}

export type Flags = Record<string, FlagSpec>;

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Everything after a bare `--`, passed through untouched (e.g. to psql). */
  rest: string[];
}

export function parseArgs(argv: string[], spec: Flags, command: string): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(spec)
      .filter(([, s]) => s.short)
      .map(([k, s]) => [s.short!, k]),
  );
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      inline = eq === -1 ? undefined : a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length === 2 && a !== '-') {
      name = byShort.get(a.slice(1));
      if (!name) throw new CliError(`unknown option ${a} for "${command}"`, `see: heimdex ${command} --help`);
    } else {
      positionals.push(a);
      continue;
    }
    const s = spec[name];
    if (!s) throw new CliError(`unknown option --${name} for "${command}"`, `see: heimdex ${command} --help`);
    let value: string | boolean;
    if (s.type === 'boolean') {
      if (inline !== undefined && !['true', 'false'].includes(inline)) {
        throw new CliError(`--${name} takes no value`, `see: heimdex ${command} --help`);
      }
      value = inline !== 'false';
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new CliError(`--${name} needs a value (${s.value ?? 'VALUE'})`, `see: heimdex ${command} --help`);
      }
      value = next;
      i++;
    }
    if (s.multiple) {
      const prev = (flags[name] as string[] | undefined) ?? [];
      flags[name] = [...prev, String(value)];
    } else {
      flags[name] = value;
    }
  }
  return { flags, positionals, rest };
}

/** An id as the API writes them (uuid), checked before a request is spent on it. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function intFlag(p: Parsed, name: string, def: number, min = 1, max = 1000): number {
  const v = p.flags[name];
  if (v === undefined) return def;
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got "${s}"`);
  }
  return Number(s);
}

export function formatFlags(spec: Flags): string {
  const rows = Object.entries(spec).map(([k, s]) => {
    const left = `${s.short ? `-${s.short}, ` : '    '}--${k}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
    return [left, s.description] as const;
  });
  const w = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `  ${l.padEnd(w)}  ${d}`).join('\n');
}
