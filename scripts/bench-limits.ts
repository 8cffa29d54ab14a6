/*
 * The hostile requests of RELIABILITY.md ("Least privilege and bounded
 * cost"), timed against a real server on a throwaway database in the
 * embedded cluster: a 2,000-alias searchScenes document, a query of 32
 * two-letter prefix words, 7,000 (and 6,000) videoIds. Prints each one's
 * HTTP status, error and wall time.
 *
 *   node scripts/bench-limits.ts
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { createScratchDatabase } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { startServer } from '../server/index.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-limits-'));
const base = loadConfig();
const scratch = await createScratchDatabase(base, 'heimdex_limits');
try {
  await migrateDatabase(scratch.ownerUrl, { includeCurrent: true });
  const config = loadConfig({
    ...process.env,
    HEIMDEX_DATA_DIR: dataDir,
    HEIMDEX_PORT: '0',
    LOG_LEVEL: 'silent',
    AUTH_RATE_LIMIT: '1000',
    AUTH_RATE_LIMIT_IP: '1000',
  });
  const srv = await startServer(config, {
    db: { authUrl: scratch.authUrl, authFunctionsUrl: scratch.authFunctionsUrl },
    models: null,
  });
  try {
    const post = async (p: string, body: unknown, token?: string) => {
      const t0 = performance.now();
      const res = await fetch(`${srv.url}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { errors?: { message: string }[]; access_token?: string };
      return { status: res.status, ms: performance.now() - t0, json };
    };
    const { json: user } = await post('/auth/signup', { email: 'limits@example.test', password: 'correct horse' });
    const token = user.access_token!;
    const SEARCH = `query ($q: String!, $ids: [UUID!]) { searchScenes(query: $q, videoIds: $ids) { hasNextPage } }`;
    const aliases = `{ ${Array.from({ length: 2000 }, (_, i) => `s${i}: searchScenes(query: "car") { hasNextPage }`).join(' ')} }`;
    const words = Array.from({ length: 32 }, (_, i) => `a${String.fromCharCode(97 + (i % 26))}`).join(' ');
    const ids = Array.from({ length: 7000 }, () => crypto.randomUUID());
    const cases: [string, string, unknown][] = [
      [`2,000 aliased searchScenes (${(aliases.length / 1024).toFixed(0)} KiB)`, aliases, undefined],
      ['32 two-letter prefix words', SEARCH, { q: words }],
      ['7,000 videoIds', SEARCH, { q: 'car', ids }],
      ['6,000 videoIds', SEARCH, { q: 'car', ids: ids.slice(0, 6000) }],
    ];
    const RUNS = 9;
    for (const [name, query, variables] of cases) {
      const ms: number[] = [];
      let last: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < RUNS; i++) {
        // A distinct document each time: grafserv caches the verdict per
        // document, and an attacker would not resend the same one.
        last = await post('/graphql', { query: query + ' '.repeat(i), variables }, token);
        ms.push(last.ms);
      }
      ms.sort((a, b) => a - b);
      console.log(
        `${name}: HTTP ${last!.status}, median ${ms[RUNS >> 1].toFixed(0)} ms, max ${ms[RUNS - 1].toFixed(0)} ms ` +
          `(${RUNS} distinct documents), ${last!.json.errors?.[0]?.message ?? 'no error'}`,
      );
    }
  } finally {
    await srv.close();
  }
} finally {
  await scratch.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
