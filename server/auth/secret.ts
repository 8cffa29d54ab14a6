/*
 * The local signing secret: JWT_SECRET when given, otherwise generated once
 * and kept in the data folder (0600). There is deliberately no built-in
 * default: a default secret would let anyone mint tokens for any install.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function resolveSecret(given: string | undefined, dataDir: string, file: string): string {
  if (given) return given;
  const p = path.join(dataDir, file);
  try {
    const s = fs.readFileSync(p, 'utf8').trim();
    if (s.length >= 32) return s;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const s = crypto.randomBytes(48).toString('base64url');
  // 'wx' fails if another process won the race; then its secret is the one.
  try {
    fs.writeFileSync(p, s + '\n', { mode: 0o600, flag: 'wx' });
    return s;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(p, 'utf8').trim();
    throw e;
  }
}
