/*
 * Structured logs: one JSON object per line on stdout, so `heimdex logs`,
 * docker and any log shipper can parse them without a format guess.
 */
import type { Config } from './config.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, 'silent'>;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: Config['logLevel'],
  base: Record<string, unknown> = {},
  write: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Logger {
  const threshold = LEVELS[level];
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < threshold) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields }, errorReplacer));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

// Errors stringify to {} by default, which hides exactly what a log is for.
function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/**
 * One line when a dependency (the database) goes away and one when it is
 * back, however many requests or jobs meet the outage in between: a stack
 * trace per request would bury the one fact that matters.
 */
export function outageLog(warn: (msg: string) => void, info: (msg: string) => void, what = 'database') {
  let since: number | null = null;
  return {
    get isDown() {
      return since !== null;
    },
    down(e: Error) {
      if (since !== null) return;
      since = Date.now();
      warn(`${what} unreachable (${e.message || (e as { code?: string }).code}); retrying until it is back`);
    },
    up() {
      if (since === null) return;
      info(`${what} reachable again after ${((Date.now() - since) / 1000).toFixed(1)} s`);
      since = null;
    },
  };
}
