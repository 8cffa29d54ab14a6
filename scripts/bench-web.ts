/*
 * The web app's weight and first load: JavaScript shipped to the browser
 * (bytes and gzipped, the budget is 150 KB gzipped), and the time from
 * navigation start to interactive for GET / on loopback (budget 300 ms),
 * measured in Debian's chromium with the browser's own performance timings.
 *
 * "Interactive" is the app's `heimdex:interactive` performance mark: set when
 * the first screen a user can act on is rendered (the sign-in form, or the
 * signed-in library shell), i.e. after the bundle ran and that screen was
 * painted. Each run is a fresh browser context: cold (empty HTTP cache),
 * warm (the hashed assets cached), and cold for a returning user (a session
 * in localStorage: one whose access token has most of an hour to live, and
 * one whose token expired, which supabase-js refreshes before the library's
 * first request; the signed-in shell shows before supabase-js loads in both).
 * A new headless window first loads Chromium's own UI (the omnibox popup: a
 * WebUI renderer and ~100 chrome:// resources) for a few hundred ms; a
 * person's browser did that long before they typed the address, so each run
 * waits --settle ms (default 500; 0 measures it too) before navigating.
 *
 * Timings move with the machine's load (the load average is printed), so it
 * also prints what does not: the requests and the bytes on the wire before
 * interactive, and, from Chromium's trace (--trace-runs cold runs), the CPU
 * time the page's main thread and the whole browser spent until then. And
 * the JavaScript each screen really fetches (signed out, signed in, People),
 * since lazily loaded chunks weigh only where they load.
 *
 *   node scripts/bench-web.ts [--runs 20] [--settle 500] [--trace-runs 5]
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
import { chromium, type BrowserContext } from 'playwright-core';
import { loadConfig } from '../core/config.ts';
import { createScratchDatabase } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { startServer } from '../server/index.ts';
import { buildWeb, DIST_DIR } from '../server/web/build.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    settle: { type: 'string', default: '500' },
    'trace-runs': { type: 'string', default: '5' },
  },
});
const runs = Number(values.runs);
const settle = Number(values.settle);
const traceRuns = Number(values['trace-runs']);

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
  // Each run of the "token to refresh" row signs in anew (a refresh token is
  // spent once), more often than the login rate limit allows a real client.
  const config = loadConfig({
    ...process.env,
    HEIMDEX_DATA_DIR: dataDir,
    HEIMDEX_PORT: '0',
    LOG_LEVEL: 'warn',
    AUTH_RATE_LIMIT: '10000',
    AUTH_RATE_LIMIT_IP: '10000',
  });
  const srv = await startServer(config, { db: scratch, models: null });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  try {
    const interactive = () => performance.getEntriesByName('heimdex:interactive').length > 0;
    type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;
    const measure = async (warm: boolean, storageState?: StorageState) => {
      const context = await browser.newContext({ storageState });
      const page = await context.newPage();
      await page.waitForTimeout(settle);
      if (warm) {
        await page.goto(`${srv.url}/`);
        await page.waitForFunction(interactive);
      }
      await page.goto(`${srv.url}/`);
      await page.waitForFunction(interactive);
      const t = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const mark = performance.getEntriesByName('heimdex:interactive')[0]!.startTime;
        const before = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter(
          (r) => r.startTime < mark,
        );
        return {
          interactive: mark,
          domInteractive: nav.domInteractive,
          load: nav.loadEventEnd,
          // The page itself and what it asked for before it was usable; bytes as
          // transferred (compressed; 0 for what came from the cache).
          requests: 1 + before.length,
          bytes: before.reduce((n, r) => n + r.transferSize, nav.transferSize),
        };
      });
      await context.close();
      return t;
    };

    // CPU time until interactive, from Chromium's trace of a cold load: the
    // page's main thread (parse, script, style, layout, paint) and every
    // thread of the browser (its processes share the machine's cores).
    type TraceEvent = {
      name: string;
      ph: string;
      ts: number;
      dur?: number;
      tdur?: number;
      pid: number;
      tid: number;
      args?: { data?: { documentLoaderURL?: string } };
    };
    const traceCpu = async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.waitForTimeout(settle);
      const cdp = await context.newCDPSession(page);
      const events: TraceEvent[] = [];
      cdp.on('Tracing.dataCollected', (d) => events.push(...(d.value as unknown as TraceEvent[])));
      const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
      await cdp.send('Tracing.start', {
        categories: 'toplevel,devtools.timeline,blink.user_timing',
        transferMode: 'ReportEvents',
      });
      await page.goto(`${srv.url}/`);
      await page.waitForFunction(interactive);
      await cdp.send('Tracing.end');
      await complete;
      await context.close();
      const nav = events.find(
        (e) => e.name === 'navigationStart' && String(e.args?.data?.documentLoaderURL).startsWith(srv.url),
      )!;
      const mark = events.find((e) => e.name === 'heimdex:interactive')!;
      // Each thread's outermost tasks between navigation start and the mark.
      const tasks = new Map<string, TraceEvent[]>();
      for (const e of events) {
        if (e.ph !== 'X' || e.name !== 'ThreadControllerImpl::RunTask' || e.ts < nav.ts || e.ts >= mark.ts) continue;
        const k = `${e.pid}:${e.tid}`;
        tasks.set(k, [...(tasks.get(k) ?? []), e]);
      }
      let main = 0;
      let all = 0;
      for (const [thread, xs] of tasks) {
        xs.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
        let end = -Infinity;
        let cpu = 0;
        for (const e of xs)
          if (e.ts >= end) {
            cpu += e.tdur ?? 0;
            end = e.ts + e.dur!;
          }
        all += cpu;
        if (thread === `${nav.pid}:${nav.tid}`) main = cpu;
      }
      return { main: main / 1000, all: all / 1000 };
    };
    await measure(false); // the first start of the browser and the server's first request are not a user's

    // JavaScript each screen actually fetches (lazily loaded chunks only count
    // where they load): signed out at /, then signed up into the library at /,
    // then the People page.
    let signedIn: StorageState | undefined;
    const email = `bench-${Date.now()}@example.test`;
    const password = 'a long passphrase';
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
        await step('`/` signed out (sign-in form, then supabase-js behind it)', async () => {
          await page.goto(`${srv.url}/`);
          await page.waitForFunction(() => performance.getEntriesByName('heimdex:interactive').length > 0);
        }),
        await step('`/` signed in (library), in addition', async () => {
          await page.getByLabel('Email').fill(email);
          await page.getByLabel('Password').fill(password);
          // The library's live progress opens the websocket once graphql-ws is loaded.
          const socket = page.waitForEvent('websocket');
          await page.getByRole('button', { name: 'Sign up' }).click();
          await page.getByRole('heading', { name: 'Library' }).waitFor();
          await socket;
          signedIn = await context.storageState();
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
    // A returning user (a session in localStorage): "interactive" is then
    // the signed-in library shell. One back after their access token expired
    // is a session signed in just now (its refresh token unspent), stored as
    // expired a minute ago, so supabase-js refreshes it before the library's
    // first request.
    const { supabaseAnonKey } = (await (await fetch(`${srv.url}/config.json`)).json()) as { supabaseAnonKey: string };
    const expiredSession = async (): Promise<StorageState> => {
      const r = await fetch(`${srv.url}/auth/v1/token?grant_type=password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: supabaseAnonKey },
        body: JSON.stringify({ email, password }),
      });
      if (!r.ok) throw new Error(`sign-in for the expired-session runs: ${r.status} ${await r.text()}`);
      const session = { ...((await r.json()) as object), expires_at: Math.floor(Date.now() / 1000) - 60 };
      const origin = signedIn!.origins.find((o) => o.localStorage.some((e) => e.name === 'heimdex-auth'))!;
      return {
        cookies: [],
        origins: [{ origin: origin.origin, localStorage: [{ name: 'heimdex-auth', value: JSON.stringify(session) }] }],
      };
    };
    const kinds = [
      { label: 'cold (empty cache)', warm: false },
      { label: 'warm (assets cached)', warm: true },
      { label: 'cold, signed in (a stored session)', warm: false, state: async () => signedIn },
      { label: 'cold, signed in, token expired (refreshed first)', warm: false, state: expiredSession },
    ];
    for (const { label, warm, state } of kinds) {
      const xs: Awaited<ReturnType<typeof measure>>[] = [];
      for (let i = 0; i < runs; i++) xs.push(await measure(warm, await state?.()));
      const col = (k: 'interactive' | 'domInteractive' | 'load') => {
        const v = xs.map((x) => x[k]);
        return `${percentile(v, 50).toFixed(0)} / ${percentile(v, 95).toFixed(0)} ms`;
      };
      const median = (k: 'requests' | 'bytes') =>
        percentile(
          xs.map((x) => x[k]),
          50,
        );
      rows.push(
        `| ${label} | ${col('interactive')} | ${col('domInteractive')} | ${col('load')} | ${median('requests')} | ${(median('bytes') / 1024).toFixed(1)} KB |`,
      );
    }
    const cpu: Awaited<ReturnType<typeof traceCpu>>[] = [];
    for (let i = 0; i < traceRuns; i++) cpu.push(await traceCpu());
    console.log(
      `JavaScript: ${(js / 1024).toFixed(1)} KB, ${(jsGz / 1024).toFixed(1)} KB gzipped (budget 150 KB gzipped)`,
    );
    console.log(`CSS: ${(css / 1024).toFixed(1)} KB, ${(cssGz / 1024).toFixed(1)} KB gzipped\n`);
    console.log('| screen | JS files fetched | gzipped |');
    console.log('|---|---|---|');
    for (const r of perScreen) console.log(r);
    console.log('');
    console.log(
      `First load of / on loopback, ${runs} runs each, p50 / p95 (budget: interactive <= 300 ms); each run waited ${settle} ms after opening its window.`,
    );
    console.log(`Load average while measuring (1 min): ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores\n`);
    console.log(
      '| cache | to interactive (heimdex:interactive) | domInteractive | loadEventEnd | requests before interactive (median) | on the wire before interactive (median) |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    if (cpu.length) {
      const p = (k: 'main' | 'all') =>
        `${percentile(
          cpu.map((c) => c[k]),
          50,
        ).toFixed(0)} ms`;
      console.log(
        `\nCPU time to interactive, cold, median of ${cpu.length} traced runs: page main thread ${p('main')}, all browser threads ${p('all')}`,
      );
    }
  } finally {
    await browser.close();
    await srv.close();
  }
} finally {
  await scratch.drop().catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
}
