#!/usr/bin/env node
/*
 * First step of `npm start` and `npm test` on a fresh clone: installs the npm
 * dependencies when they are missing or older than the lockfile, and the
 * Debian packages (PostgreSQL, pgvector, ffmpeg, espeak-ng; for the tests
 * also chromium) when missing.
 * Plain JavaScript on purpose: it runs before node_modules (and the pinned
 * Node 22) exist, on whatever Node launched npm. It then runs the given
 * script with node_modules/.bin/node explicitly: the shell that npm started
 * has already resolved `node` to the system one before the install.
 *
 *   node scripts/bootstrap.mjs <script.ts|js> [args...]
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const lock = path.join(root, 'package-lock.json');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const stale = !fs.existsSync(marker) || fs.statSync(marker).mtimeMs < fs.statSync(lock).mtimeMs;

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (stale) {
  console.log('[heimdex] installing npm dependencies (npm ci)');
  // onnxruntime-node's install script fetches optional GPU binaries from a
  // host offline machines cannot reach; its CPU binaries are in the package.
  run('npm', ['ci', '--no-audit', '--no-fund'], { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' });
}
const [script, ...args] = process.argv.slice(2);
run('bash', [path.join(root, 'scripts', 'ensure-system.sh'), ...(script === 'scripts/test.ts' ? ['--test'] : [])]);

if (script) {
  const node22 = path.join(root, 'node_modules', '.bin', 'node');
  const child = spawn(node22, [path.join(root, script), ...args], {
    stdio: 'inherit',
    cwd: root,
    env: {
      ...process.env,
      PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    },
  });
  // The child does its own orderly shutdown (stopping Postgres, workers): pass
  // signals on and wait for it instead of dying first and orphaning it.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
}
