/*
 * The web app end to end in a real browser: Debian's chromium driven by
 * playwright-core (never a downloaded browser), against a real server, worker
 * (tiny generated models, real ffmpeg) and database. A new user signs up,
 * uploads a generated video with a sidecar subtitle file, watches it reach
 * "indexed" through the videoChanged subscription (no reload), searches a
 * word from the subtitles, opens the first moment and lands on it. Elements
 * are found by their accessible names, the UI's contract. Any console error,
 * page error or failed request fails the test.
 *
 * Screenshots of the library, the results and the player at 360 px and
 * 1280 px go to .test-data/output/screenshots/ for a person to look at.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT_DIR } from '../../core/config.ts';
import { startWorker } from '../../worker/index.ts';
import { generateSampleVideo } from '../../worker/media/samples.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { startTestServer } from '../server/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT_DIR, '.test-data', 'output', 'screenshots');

let browser: Browser | undefined;
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
after(async () => {
  await browser?.close();
  await worker?.stop();
});
const db = await createTestDatabase();
// Access tokens of 95 s are inside supabase-js's 90 s refresh margin after 5 s,
// so the page must refresh during the test — the bug the original product had.
const srv = await startTestServer(db, {
  AUTH_RATE_LIMIT: '1000',
  AUTH_RATE_LIMIT_IP: '1000',
  ACCESS_TOKEN_TTL_S: '95',
});
worker = await startWorker(srv.config, { databaseUrl: db.workerUrl, noHandleSignals: true, pollInterval: 300 });

const videoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-web-'));
after(() => fs.rmSync(videoDir, { recursive: true, force: true }));
const sample = await generateSampleVideo(path.join(videoDir, 'Holiday clip.mp4'), {
  scenes: [
    { durationS: 3, color: 'red', word: 'APPLE', speech: 'an apple on the kitchen table' },
    { durationS: 3, color: 'blue', word: 'OCEAN', speech: 'waves roll across the ocean' },
    { durationS: 3, color: 'green', word: 'FOREST', speech: 'tall trees in a quiet forest' },
  ],
  subtitles: false,
});
// The subtitles travel as a sidecar file with the same base name.
const srtPath = path.join(videoDir, 'Holiday clip.srt');
fs.writeFileSync(srtPath, sample.srt);
// A file that claims to be a video but is not (fails in validation), and one
// the page must refuse before uploading.
const brokenPath = path.join(videoDir, 'Broken.mp4');
fs.writeFileSync(brokenPath, 'This is a plain text file that someone renamed to .mp4\n'.repeat(20));
const notesPath = path.join(videoDir, 'notes.txt');
fs.writeFileSync(notesPath, 'not a video');

/** Everything that would tell a user something went wrong. */
function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A <video> cancels its own range requests when it seeks or has buffered
    // enough; that is the media element at work, not a failure.
    if (r.resourceType() === 'media' && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return problems;
}

async function shoot(page: Page, name: string) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: width === 360 ? 780 : 800 });
    // Let thumbnails that came into view load, and a paused video paint its frame at the new size.
    await page.waitForFunction(() => [...document.images].every((i) => i.complete || i.loading === 'lazy'));
    await page.evaluate(() => new Promise((r) => setTimeout(r, 250)));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${width}.png`), fullPage: width === 360 });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('sign up, upload, watch it index live, search, and land on the moment', { timeout: 420_000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/ensure-system.sh --test installs it`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = watchForProblems(page);
  let loads = 0;
  page.on('load', () => loads++);
  const frames: string[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));

  await page.goto(`${srv.url}/`);
  const email = `web-${uuid()}@example.test`;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long passphrase');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('searchbox', { name: 'Search' }).waitFor();
  await page.getByText('No videos yet').waitFor();

  await page.getByLabel('Upload videos').setInputFiles([sample.path, srtPath]);
  const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Holiday clip' }) });
  await card.waitFor({ timeout: 60_000 });
  await card.getByText('indexed', { exact: true }).waitFor({ timeout: 300_000 });
  assert.equal(loads, 1, 'the page was never reloaded');
  assert.ok(
    frames.some((f) => f.includes('"indexed"')),
    'the indexed state arrived over the subscription websocket',
  );
  // Once indexed, the card shows its first keyframe.
  await card.locator('img').waitFor();
  await shoot(page, 'library');

  // The access token is refreshed before it expires, and requests keep working.
  await page.waitForRequest((r) => r.url().includes('/auth/v1/token?grant_type=refresh_token'), {
    timeout: 60_000,
  });

  // "/" focuses search; Enter searches.
  await page.locator('body').press('/');
  await page.keyboard.type('ocean');
  await page.keyboard.press('Enter');
  const results = page.getByRole('link', { name: /Holiday clip.*\d+:\d\d–\d+:\d\d/ });
  await results.first().waitFor();
  const first = results.first();
  const text = (await first.textContent()) ?? '';
  assert.match(text, /Holiday clip/);
  const range = /(\d+):(\d\d)–(\d+):(\d\d)/.exec(text);
  assert.ok(range, `the result shows its time range as m:ss–m:ss: ${text}`);
  assert.match(text, /ocean/i, 'the snippet shows the matched words');
  const href = (await first.getAttribute('href'))!;
  const start = Number(new URL(href, srv.url).searchParams.get('t'));
  assert.equal(Math.floor(start / 60), Number(range[1]));
  assert.equal(Math.floor(start % 60), Number(range[2]));
  // The ocean scene, not the first scene of the video.
  const oceanCue = sample.subtitles.find((c) => /ocean/.test(c.text))!;
  assert.ok(start <= oceanCue.start + 0.5 && oceanCue.start < start + 3.5, `scene at ${start}s holds the cue`);
  await shoot(page, 'search');

  // Arrow keys move through results; Enter opens one.
  await page.getByRole('searchbox', { name: 'Search' }).focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await first.evaluate((el) => el === document.activeElement), true);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/videos\//);
  const video = page.locator('video');
  await video.waitFor();
  await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 1);
  const at = await video.evaluate(
    (v: HTMLVideoElement, s: number) =>
      new Promise<number>((resolve) => {
        const check = () => (Math.abs(v.currentTime - s) < 0.5 ? resolve(v.currentTime) : setTimeout(check, 20));
        check();
        setTimeout(() => resolve(v.currentTime), 5000);
      }),
    start,
  );
  assert.ok(Math.abs(at - start) < 0.5, `the player starts at the scene (${at}s vs ${start}s)`);
  await video.evaluate((v: HTMLVideoElement) => v.pause());
  const current = page.getByRole('button', { name: /^Scene \d+, / }).and(page.locator('[aria-current="true"]'));
  assert.equal(await current.count(), 1, 'the current scene is highlighted in the timeline');
  await shoot(page, 'player');

  assert.equal(loads, 1, 'every page change happened in the app, without a reload');
  for (const u of urls) {
    const q = new URL(u).search;
    // Signed object URLs carry their own signature; nothing else carries a credential.
    if (!new URL(u).pathname.startsWith('/storage/')) {
      assert.doesNotMatch(q, /(access_token|refresh_token|token|jwt|apikey|authorization)=|eyJ/i, u);
    }
  }
  assert.deepEqual(problems, []);

  // Library chores: a refused file, a failed video with its reason, rename, delete.
  await page.getByRole('link', { name: 'Library' }).click();
  await page.getByLabel('Upload videos').setInputFiles([brokenPath, notesPath]);
  await page.getByText(/notes\.txt\s*was not uploaded: not a video type/).waitFor();
  const broken = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Broken' }) });
  await broken.getByText('failed', { exact: true }).waitFor({ timeout: 120_000 });
  await broken
    .getByRole('alert')
    .filter({ hasText: /not a readable video/ })
    .waitFor();
  await card.getByRole('button', { name: 'Rename Holiday clip' }).click();
  await page.getByLabel('New title for Holiday clip').fill('Beach day');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  await broken.getByRole('button', { name: 'Delete Broken' }).click();
  await broken.getByRole('button', { name: 'Delete for good' }).click();
  await broken.waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);

  // The session survives a reload; log out and log in again.
  await page.reload();
  await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long passphrase');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  assert.deepEqual(problems, []);
});
