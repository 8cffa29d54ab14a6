/*
 * What a CLI command is. Commands load configuration and heavy modules only
 * inside run(), so `--help` stays instant and works with a broken environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, ROOT_DIR, type Config } from '../core/config.ts';
import type { Flags, Parsed } from './args.ts';
import { CliError } from './errors.ts';

export interface Command {
  /** Words after `heimdex`, e.g. "db migrate". */
  name: string;
  summary: string;
  /** Positional part of the usage line, e.g. "<file|dir>...". */
  args?: string;
  /** Longer help: what it does and why one would run it. */
  description?: string;
  flags: Flags;
  run(p: Parsed): Promise<number | void>;
}

export function config(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError)
      throw new CliError(e.message.replace(/\n/g, ' '), 'see the configuration table in README.md');
    throw e;
  }
}

/**
 * Imports a module another part of the project provides (server, worker,
 * models). Loaded lazily so one missing piece does not take the whole CLI
 * down, and reported as a one-line error instead of a stack trace.
 */
export async function importProject<T>(rel: string): Promise<T> {
  const file = path.join(ROOT_DIR, rel);
  try {
    return (await import(pathToFileURL(file).href)) as T;
  } catch (e) {
    const err = e as { code?: string; url?: string; message: string };
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(file)) {
      throw new CliError(`${rel} is missing from this checkout`, 'update the checkout (git pull) and run npm install');
    }
    throw e;
  }
}

export const out = (s = '') => process.stdout.write(s + '\n');
export const info = (s = '') => process.stderr.write(s + '\n');

let stopping: Promise<string> | undefined;

/**
 * Resolves when the process is asked to stop: Ctrl-C, SIGTERM, or its parent
 * (heimdex start) going away. The handlers stay installed: a terminal's Ctrl-C
 * reaches every process in the group and wrappers (npm start's bootstrap, the
 * Node 22 shim) forward it too, so a second signal arrives mid-shutdown and
 * must not kill the process with its default action before it has stopped
 * its children and the database.
 */
export function untilStopped(): Promise<string> {
  stopping ??= new Promise((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => resolve(sig));
    // A child of `heimdex start` has an IPC channel; it closes when the
    // parent dies however it dies (even SIGKILL), so no orphan keeps running.
    if (process.send) process.once('disconnect', () => resolve('parent exited'));
  });
  return stopping;
}

/**
 * How the user can type this CLI: "heimdex" when it is on the PATH (docker
 * image, npm link), else the path that works from a checkout, so printed
 * hints can be pasted as they are.
 */
export function selfCommand(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      if (fs.realpathSync(path.join(dir, 'heimdex')) === path.join(ROOT_DIR, 'cli', 'heimdex.js')) return 'heimdex';
    } catch {
      // Not in this PATH entry.
    }
  }
  return path.relative(process.cwd(), ROOT_DIR) === ''
    ? 'node cli/heimdex.js'
    : `node ${path.join(ROOT_DIR, 'cli', 'heimdex.js')}`;
}

/** A fixed-width text progress bar, `[#####.....]`, for fractions 0..1. */
export function progressBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
