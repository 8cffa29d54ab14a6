#!/usr/bin/env node
/*
 * The `heimdex` command. Plain JavaScript on purpose: it may be launched by
 * whatever Node is first on PATH (Debian's is 20), and the CLI itself is
 * TypeScript that only Node >= 22.18 runs without a build step. On an older
 * Node it re-executes itself with the Node 22 that package.json installs as a
 * dev dependency, so `heimdex` works the same from npm scripts and a shell.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const [major, minor] = process.versions.node.split('.').map(Number);

if (major > 22 || (major === 22 && minor >= 18)) {
  await import('./main.ts');
} else {
  const node22 = path.join(root, 'node_modules', '.bin', 'node');
  if (!fs.existsSync(node22)) {
    console.error(`heimdex: Node ${process.versions.node} is too old and ${node22} is missing — run: npm install`);
    process.exit(1);
  }
  const child = spawn(node22, [path.join(root, 'cli', 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal's process group; SIGTERM
  // from a supervisor reaches only us, so pass it on and wait for the child's
  // own clean shutdown instead of dying first and orphaning it.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGHUP', () => child.kill('SIGHUP'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
}
