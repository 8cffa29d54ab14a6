/*
 * The web app's weight and first load: JavaScript shipped to the browser
 * (bytes and gzipped, the budget is 150 KB gzipped), and the time from
 * navigation start to interactive for GET / on loopback (budget 300 ms),
 * measured in Debian's chromium with the browser's own performance timings.
 *
 * "Interactive" is the app's `heimdex:interactive` performance mark: set when
 * the first screen a user can act on is rendered (the sign-in form, or the
 * signed-in library shell), i.e. after the bundle ran, /config.json was read
 * and supabase-js restored any stored session. Each run is a fresh browser
 * context: cold (empty HTTP cache) and warm (the hashed assets cached).
 * Also prints the JavaScript each screen really fetches (signed out, signed
 * in, People), since lazily loaded chunks weigh only where they load.
 *
 *   node scripts/bench-web.ts [--runs 20]
 *
 * Creates, migrates and finally drops a database in the embedded cluster of
 * the current configuration (HEIMDEX_DATA_DIR, HEIMDEX_DB_PORT) and starts the
 * API server on an ephemeral port. Prints a markdown table for BENCHMARKS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { loadConfig } from '../core/config.ts';
import { createScratchDatabase } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { startServer } from '../server/index.ts';
import { buildWeb, DIST_DIR } from '../server/web/build.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);

await buildWeb({ ifStale: true });
const assets = path.join(DIST_DIR, 'assets');
let js = 0;
let jsGz = 0;
let css = 0;
let cssGz = 0;
for (const f of fs.readdirSync(assets)) {
  const bytes = fs.readFileSync(path.join(assets, f));
  const gz = zlib.gzipSync(bytes, { level: 9 }).length;
  if (f.endsWith('.js')) {
    js += bytes.length;
    jsGz += gz;
  } else if (f.endsWith('.css')) {
    css += bytes.length;
    cssGz += gz;
  }
}

const base = loadConfig();
const scratch = await createScratchDatabase(base, 'heimdex_bench_web');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-bench-web-'));
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
try {
  await migrateDatabase(scratch.ownerUrl, { includeCurrent: true });
  const config = loadConfig({ ...process.env, HEIMDEX_DATA_DIR: dataDir, HEIMDEX_PORT: '0', LOG_LEVEL: 'warn' });
  const srv = await startServer(config, { db: scratch, models: null });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  try {
    const measure = async (warm: boolean) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      if (warm) {
        await page.goto(`${srv.url}/`);
        await page.waitForFunction(() => performance.getEntriesByName('heimdex:interactive').length > 0);
      }
      await page.goto(`${srv.url}/`);
      await page.waitForFunction(() => performance.getEntriesByName('heimdex:interactive').length > 0);
      const t = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return {
          interactive: performance.getEntriesByName('heimdex:interactive')[0]!.startTime,
          domInteractive: nav.domInteractive,
          load: nav.loadEventEnd,
        };
      });
      await context.close();
      return t;
    };
    await measure(false); // the first start of the browser and the server's first request are not a user's

    // JavaScript each screen actually fetches (lazily loaded chunks only count
    // where they load): signed out at /, then signed up into the library at /,
    // then the People page.
    const fetched = async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const seen = new Set<string>();
      page.on('response', (r) => {
        const u = new URL(r.url());
        if (u.pathname.startsWith('/assets/') && u.pathname.endsWith('.js')) seen.add(path.basename(u.pathname));
      });
      const step = async (label: string, go: () => Promise<unknown>) => {
        const before = new Set(seen);
        await go();
        await page.waitForLoadState('networkidle');
        const files = [...seen].filter((f) => !before.has(f)).sort();
        const gz = files.reduce(
          (n, f) => n + zlib.gzipSync(fs.readFileSync(path.join(assets, f)), { level: 9 }).length,
          0,
        );
        return `| ${label} | ${files.length} | ${(gz / 1024).toFixed(1)} KB |`;
      };
      const rows = [
        await step('`/` signed out (sign-in form)', async () => {
          await page.goto(`${srv.url}/`);
          await page.waitForFunction(() => performance.getEntriesByName('heimdex:interactive').length > 0);
        }),
        await step('`/` signed in (library), in addition', async () => {
          await page.getByLabel('Email').fill(`bench-${Date.now()}@example.test`);
          await page.getByLabel('Password').fill('a long passphrase');
          // The library's live progress opens the websocket once graphql-ws is loaded.
          const socket = page.waitForEvent('websocket');
          await page.getByRole('button', { name: 'Sign up' }).click();
          await page.getByRole('heading', { name: 'Library' }).waitFor();
          await socket;
        }),
        await step('People page, in addition', async () => {
          await page.getByRole('link', { name: 'People' }).click();
          await page.getByRole('heading', { name: 'People' }).waitFor();
        }),
      ];
      await context.close();
      return rows;
    };
    const perScreen = await fetched();
    const rows: string[] = [];
    for (const warm of [false, true]) {
      const xs: Awaited<ReturnType<typeof measure>>[] = [];
      for (let i = 0; i < runs; i++) xs.push(await measure(warm));
      const col = (k: 'interactive' | 'domInteractive' | 'load') => {
        const v = xs.map((x) => x[k]);
        return `${percentile(v, 50).toFixed(0)} / ${percentile(v, 95).toFixed(0)} ms`;
      };
      rows.push(
        `| ${warm ? 'warm (assets cached)' : 'cold (empty cache)'} | ${col('interactive')} | ${col('domInteractive')} | ${col('load')} |`,
      );
    }
    console.log(
      `JavaScript: ${(js / 1024).toFixed(1)} KB, ${(jsGz / 1024).toFixed(1)} KB gzipped (budget 150 KB gzipped)`,
    );
    console.log(`CSS: ${(css / 1024).toFixed(1)} KB, ${(cssGz / 1024).toFixed(1)} KB gzipped\n`);
    console.log('| screen | JS files fetched | gzipped |');
    console.log('|---|---|---|');
    for (const r of perScreen) console.log(r);
    console.log('');
    console.log(`First load of / on loopback, ${runs} runs each, p50 / p95 (budget: interactive <= 300 ms).`);
    console.log(`Load average while measuring (1 min): ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores\n`);
    console.log('| cache | to interactive (heimdex:interactive) | domInteractive | loadEventEnd |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    await browser.close();
    await srv.close();
  }
} finally {
  await scratch.drop().catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
}
