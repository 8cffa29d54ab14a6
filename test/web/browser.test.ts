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
 * A second user then does what the People page is for, on a video of real
 * faces (the sample photos shipped with the face package): add a photo to
 * the unnamed group the video's faces formed and name it, enrol a person
 * from photos (a photo without a face is refused, named on that photo),
 * open a person's moments, search with words and a person and with the
 * person alone, move and unassign faces, merge two people and delete one.
 *
 * Screenshots of the library, the results, the player and the People pages
 * at 360 px and 1280 px go to .test-data/output/screenshots/ for a person to
 * look at.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import sharp from 'sharp';
import { ROOT_DIR } from '../../core/config.ts';
import { startWorker } from '../../worker/index.ts';
import { generateSampleVideo } from '../../worker/media/samples.ts';
import { PEOPLE, photoOf, shot, videoOf } from '../fixtures/faces.ts';
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
// A video Heimdex indexes but no browser plays (MPEG-2 in a program stream,
// as DVD and old camcorder files are): it plays from a copy.
const dvdPath = path.join(videoDir, 'Old tape.mpg');
execFileSync('ffmpeg', [
  '-v',
  'error',
  '-y',
  '-i',
  sample.path,
  '-c:v',
  'mpeg2video',
  '-c:a',
  'mp2',
  '-f',
  'mpeg',
  dvdPath,
]);

// Real faces: Dana in scenes 0, 2 and 6 (an unnamed group forms), the
// nurse once, in scene 4; colour shots between them make the cuts. The
// sidecar puts "picnic" in scenes 2, 4 and 6.
const familyPath = await videoOf(path.join(videoDir, 'Family day.mp4'), [
  shot(PEOPLE.dana),
  shot('gray'),
  shot(PEOPLE.danaClose),
  shot('blue'),
  shot(PEOPLE.nurse),
  shot('green'),
  shot(PEOPLE.dana),
]);
const familySrtPath = path.join(videoDir, 'Family day.srt');
fs.writeFileSync(
  familySrtPath,
  [
    [0, 'Dana waves at the camera'],
    [6, 'a picnic by the lake'],
    [12, 'the nurse spreads the picnic blanket'],
    [18, 'more picnic sandwiches for Dana'],
  ]
    .map(
      ([t, text], i) =>
        `${i + 1}\n00:00:${String(t).padStart(2, '0')},200 --> 00:00:${String(Number(t) + 2).padStart(2, '0')},800\n${text}\n`,
    )
    .join('\n'),
);
const nursePhoto = await photoOf(PEOPLE.nurseClose, path.join(videoDir, 'nurse.jpg'));
const danaPhoto = await photoOf(PEOPLE.danaClose, path.join(videoDir, 'dana.jpg'));
const noFacePhoto = path.join(videoDir, 'no-face.png');
await sharp({ create: { width: 320, height: 240, channels: 3, background: '#4a7' } })
  .png()
  .toFile(noFacePhoto);

/**
 * Everything that would tell a user something went wrong. A page that is
 * left (a URL opened, a reload) drops what it was still fetching: a person's
 * moments after their faces, a token refresh supabase-js had started. No user
 * sees that fail, so a fetch or script aborted because its document is being
 * replaced is not counted; one aborted any other way is. Playwright reports
 * such an abort before the new document's commit (framenavigated), so a
 * navigation that has started and not yet committed counts as leaving the
 * page, and a request the old page starts in that moment is still the old
 * page's (documents only counts commits).
 */
function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  let documents = 0;
  let navigating = false;
  const documentOf = new WeakMap<Request, number>();
  page.on('request', (r) => {
    documentOf.set(r, documents);
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigating = true;
  });
  // The app's own history navigations fire framenavigated too, without a navigation request.
  page.on('framenavigated', (f) => {
    if (f !== page.mainFrame() || !navigating) return;
    navigating = false;
    documents++;
  });
  const left = (r: Request) => {
    const d = documentOf.get(r);
    return d !== undefined && (d < documents || navigating);
  };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const aborted = r.failure()?.errorText === 'net::ERR_ABORTED';
    // A <video> cancels its own range requests when it seeks or has buffered
    // enough; that is the media element at work, not a failure.
    if (r.resourceType() === 'media' && aborted) return;
    // Likewise an <img> that leaves the page (a page change, a list
    // re-rendered) before its thumbnail arrived: nothing a user sees fails.
    if (r.resourceType() === 'image' && aborted) return;
    if ((r.resourceType() === 'fetch' || r.resourceType() === 'script') && aborted && left(r)) return;
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
  // Watched from the start: the refresh may come while the video indexes.
  const refreshed = page.waitForRequest((r) => r.url().includes('/auth/v1/token?grant_type=refresh_token'), {
    timeout: 0,
  });
  refreshed.catch(() => {}); // awaited below; a page closed by an earlier failure must not add an unhandled rejection

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
  await refreshed;

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
  // The player starts at the scene: waited for on the page, however long a
  // loaded machine takes to seek (2 min), not for a fixed 5 s.
  await page
    .waitForFunction((s: number) => Math.abs(document.querySelector('video')!.currentTime - s) < 0.5, start, {
      polling: 20,
      timeout: 120_000,
    })
    .catch(async () => {
      const t = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
      assert.fail(`the player did not start at the scene (${t}s vs ${start}s)`);
    });
  await video.evaluate((v: HTMLVideoElement) => v.pause());
  const current = page.getByRole('button', { name: /^Scene \d+, / }).and(page.locator('[aria-current="true"]'));
  assert.equal(await current.count(), 1, 'the current scene is highlighted in the timeline');
  // What is said, from the subtitle file: one line per cue, the one being
  // played highlighted, and the same lines as the <video>'s captions track.
  const lines = page.getByRole('list', { name: 'Transcript' }).getByRole('link');
  assert.deepEqual(
    (await lines.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()),
    // m:ss of a cue in the first minute.
    sample.subtitles.map((c) => `0:${String(Math.floor(c.start)).padStart(2, '0')} ${c.text}`),
  );
  assert.match(await lines.and(page.locator('[aria-current="true"]')).innerText(), /waves roll across the ocean/);
  // The words of the search that led here are marked in what is said.
  assert.deepEqual(await page.getByRole('list', { name: 'Transcript' }).locator('mark').allInnerTexts(), ['ocean']);
  // The transcript downloads as subtitles: the cues the video came with.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: /as SubRip subtitles/ }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'Holiday clip.srt');
  assert.equal(fs.readFileSync(await download.path(), 'utf8').trim(), sample.srt.trim());
  const track = await video.evaluate((v: HTMLVideoElement) =>
    [...v.textTracks].map((t) => ({
      kind: t.kind,
      label: t.label,
      cues: [...(t.cues ?? [])].map((c) => (c as VTTCue).text),
    })),
  );
  assert.deepEqual(track, [{ kind: 'captions', label: 'Transcript', cues: sample.subtitles.map((c) => c.text) }]);
  await shoot(page, 'player');
  // A line is a link to its moment, and a click on it seeks the video to where it is said.
  const forestCue = sample.subtitles.find((c) => /forest/.test(c.text))!;
  assert.match(
    (await lines.filter({ hasText: 'forest' }).getAttribute('href'))!,
    /^\/videos\/[0-9a-f-]{36}\?t=6\.2&q=ocean$/,
  );
  // Where it landed is read when the seek completes: the video plays on from
  // there, and a loaded machine may not look again before it has moved on.
  await video.evaluate((v: HTMLVideoElement) => {
    Object.assign(window, {
      seeked: new Promise<number>((resolve) =>
        v.addEventListener('seeked', () => resolve(v.currentTime), { once: true }),
      ),
    });
  });
  await lines.filter({ hasText: 'forest' }).click();
  const landed = await page.evaluate(() => (window as unknown as { seeked: Promise<number> }).seeked);
  assert.ok(Math.abs(landed - forestCue.start) < 0.5, `the line seeks to ${forestCue.start} s (landed at ${landed} s)`);
  await video.evaluate((v: HTMLVideoElement) => v.pause());
  assert.match(await lines.and(page.locator('[aria-current="true"]')).innerText(), /forest/);

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
  await page.getByLabel('Upload videos').setInputFiles([brokenPath, notesPath, dvdPath]);
  await page.getByText(/notes\.txt\s*was not uploaded: not a video type/).waitFor();
  const broken = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Broken' }) });
  await broken.getByText('failed', { exact: true }).waitFor({ timeout: 120_000 });
  await broken
    .getByRole('alert')
    .filter({ hasText: /not a readable video/ })
    .waitFor();
  const tape = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Old tape' }) });
  await tape.getByText('indexed', { exact: true }).waitFor({ timeout: 300_000 });
  await tape.getByRole('link', { name: 'Old tape' }).click();
  // Its browser-playable copy is made after indexing: while it is on its way
  // the player says so and the keyframe stands in for the picture, and once
  // it is ready the player switches to it by itself, without a reload.
  const notice = page
    .getByRole('alert')
    .filter({ hasText: 'This browser cannot play this video (mpeg2video, video/mpeg)' });
  const playing = () =>
    page.evaluate(() => {
      const v = document.querySelector('video');
      return !!v && v.videoWidth > 0 && v.currentSrc.includes('/playback.mp4');
    });
  if (!(await playing())) {
    await notice.or(page.locator('video')).first().waitFor();
    if (await notice.isVisible()) {
      assert.match((await notice.textContent()) ?? '', /A copy it can play is being made/);
      assert.equal(await page.getByRole('link', { name: 'Download it' }).count(), 1);
      assert.equal(await page.locator('video').count(), 0, 'no dead player: the keyframe stands in');
      await shoot(page, 'player-copy-pending');
    }
  }
  await page
    .waitForFunction(
      () => {
        const v = document.querySelector('video');
        return !!v && v.videoWidth > 0 && v.currentSrc.includes('/playback.mp4');
      },
      null,
      { timeout: 300_000 },
    )
    .catch(async (e: Error) => {
      const { rows } = await db.rootPool.query(
        `select v.playback_state, v.playback_key, v.notes,
                (select json_agg(json_build_object('task', t.identifier, 'attempts', j.attempts, 'error', j.last_error))
                   from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
                  where j.payload ->> 'id' = v.id::text) as jobs
           from app_public.videos v where v.title = 'Old tape'`,
      );
      const src = await page.evaluate(() => document.querySelector('video')?.currentSrc ?? null);
      throw new Error(`${e.message}; the player's video: ${src}; the tape: ${JSON.stringify(rows)}`);
    });
  assert.equal(await notice.count(), 0);
  // The timeline seeks in the copy as in any video.
  await page.getByRole('button', { name: /^Scene 2, / }).click();
  await page
    .getByRole('button', { name: /^Scene 2, / })
    .and(page.locator('[aria-current="true"]'))
    .waitFor();
  const at = await page.evaluate(() => document.querySelector('video')!.currentTime);
  assert.ok(at >= 2.9 && at < 6, `the copy seeks to scene 2 (at ${at} s)`);
  await shoot(page, 'player-copy');
  // A copy that could not be made (as the worker records it): the player goes
  // back to the upload, which this browser cannot play, and says why.
  await db.rootPool.query(
    `update app_public.videos set playback_state = 'pending', playback_key = null where title = 'Old tape'`,
  );
  await db.rootPool.query(
    `select app_private.pipeline_playback_failed(id, 'No browser-playable copy could be made: the encoder ran out of disk')
       from app_public.videos where title = 'Old tape'`,
  );
  await page
    .getByRole('alert')
    .filter({ hasText: 'This browser cannot play this video (mpeg2video, video/mpeg)' })
    .filter({ hasText: 'No browser-playable copy could be made: the encoder ran out of disk' })
    .waitFor({ timeout: 30_000 });
  assert.equal(await page.getByRole('link', { name: 'Download it' }).count(), 1);
  // Still at the scene the user had moved to, its keyframe standing in.
  await page
    .getByRole('button', { name: /^Scene 2, / })
    .and(page.locator('[aria-current="true"]'))
    .waitFor();
  await shoot(page, 'player-copy-failed');
  await page.getByRole('link', { name: 'Library' }).click();
  await card.getByRole('button', { name: 'Rename Holiday clip' }).click();
  await page.getByLabel('New title for Holiday clip').fill('Beach day');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  await broken.getByRole('button', { name: 'Delete Broken' }).click();
  await broken.getByRole('button', { name: 'Delete for good' }).click();
  await broken.waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);

  // The session survives a reload, and a returning user's page starts from it.
  await page.reload();
  await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  await returningUser(page, problems);
  // Signed out by then (the session was ended elsewhere): log in, out, and in again.
  const logIn = async () => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('a long passphrase');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  };
  await logIn();
  await page.getByRole('button', { name: 'Log out' }).click();
  await logIn();
  assert.deepEqual(problems, []);
});

/**
 * A returning user's page shows the signed-in shell without waiting for
 * supabase-js. Its requests use the stored access token when it has long to
 * live, and wait for supabase-js to refresh it otherwise; a session ended
 * elsewhere ends in the sign-in form. The supabase-js chunk is held back at
 * the network to tell the cases apart. The stored expiry is moved to make
 * each case; the token is the one the server issued, and the server checks it.
 * Each case is a new load of `/`, as a user coming back would make.
 */
async function returningUser(page: Page, problems: string[]) {
  // What reached the server, in order: GraphQL requests (with their
  // credentials) and the answers to token refreshes.
  const seen: string[] = [];
  const bearers: string[] = [];
  page.on('request', (r) => {
    if (!r.url().endsWith('/graphql')) return;
    seen.push('graphql');
    bearers.push(r.headers()['authorization'] ?? '');
  });
  page.on('response', (r) => void (r.url().includes('grant_type=refresh_token') && seen.push('refreshed')));
  let held = 0;
  let release = () => {};
  await page.route(/\/assets\/chunk-[A-Z0-9]+\.js$/, async (route) => {
    const response = await route.fetch();
    const body = await response.text();
    if (body.includes('grant_type=refresh_token')) {
      held++;
      await new Promise<void>((r) => (release = r));
    }
    await route.fulfill({ response, body });
  });
  // The session is rewritten, or ended, away from the app (on the same
  // origin's /config.json), so no supabase-js is running there meanwhile:
  // with the short-lived test tokens a live page refreshes every few seconds,
  // and its refresh could land between the rewrite and the next load.
  const away = () => page.goto(`${srv.url}/config.json`);
  const comeBack = async (expiresInS: number) => {
    await page.evaluate((inS) => {
      const s = JSON.parse(localStorage.getItem('heimdex-auth')!);
      s.expires_at = Math.floor(Date.now() / 1000) + inS;
      localStorage.setItem('heimdex-auth', JSON.stringify(s));
    }, expiresInS);
    await page.goto(`${srv.url}/`);
  };
  const heldBack = async (n: number) => {
    for (const end = Date.now() + 30_000; held < n; await page.waitForTimeout(20))
      assert.ok(Date.now() < end, `supabase-js was asked for ${held} times, not ${n}`);
  };

  // 30 s left, inside supabase-js's refresh margin: the shell shows, and
  // nothing is asked of the API before supabase-js has refreshed the token.
  await away();
  seen.length = 0;
  await comeBack(30);
  await heldBack(1);
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Beach day' }).count(), 0);
  release();
  await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  assert.equal(seen[0], 'refreshed', `the refresh came before any request (${seen.join(', ')})`);

  // An hour left: the library shows while supabase-js is still held back.
  await away();
  await comeBack(3600);
  await page.getByRole('heading', { name: 'Beach day' }).waitFor();
  await heldBack(2);
  assert.equal(held, 2, 'supabase-js was asked for once per load');
  release();
  await page.unrouteAll({ behavior: 'wait' });

  // Ended on another device while this one was away: the refresh is refused
  // and the sign-in form replaces the shell. That refusal (HTTP 400, which
  // Chromium also logs to the console) is the one failure expected here.
  const before = problems.length;
  await away();
  const ended = await page.evaluate(() => JSON.parse(localStorage.getItem('heimdex-auth')!).access_token as string);
  const { supabaseAnonKey } = (await (await fetch(`${srv.url}/config.json`)).json()) as { supabaseAnonKey: string };
  const logout = await fetch(`${srv.url}/auth/v1/logout?scope=global`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ended}`, apikey: supabaseAnonKey },
  });
  assert.equal(logout.status, 204, 'logged out everywhere');
  bearers.length = 0;
  await comeBack(-60);
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  assert.ok(!bearers.includes(`Bearer ${ended}`), "no request with the ended session's token");
  assert.deepEqual(problems.splice(before).sort(), [
    `HTTP 400: POST ${srv.url}/auth/v1/token?grant_type=refresh_token`,
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ]);
}

/** The start of a result's m:ss–m:ss range, in seconds. */
function startOf(text: string): number {
  const m = /(\d+):(\d\d)–\d+:\d\d/.exec(text);
  assert.ok(m, `a time range in ${text}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

test(
  'people: name a group, enrol from photos, moments, search by person, move faces, merge, delete',
  { timeout: 420_000 },
  async () => {
    assert.ok(browser, 'the first test launched the browser');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems = watchForProblems(page);
    try {
      await people(page, problems);
    } catch (e) {
      // What the page showed when it failed, for the person reading the failure.
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'people-failure.png'), fullPage: true }).catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  },
);

async function people(page: Page, problems: string[]) {
  await page.goto(`${srv.url}/`);
  const email = `people-${uuid()}@example.test`;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long passphrase');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText('No videos yet').waitFor();

  await page.getByLabel('Upload videos').setInputFiles([familyPath, familySrtPath]);
  const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Family day' }) });
  await card.getByText('indexed', { exact: true }).waitFor({ timeout: 300_000 });
  // The upload line follows the video: it no longer says "processing" once indexed.
  await page.getByText('uploaded and indexed').waitFor();
  assert.equal(await page.getByText('uploaded, processing below').count(), 0);

  // The faces of scenes 0, 2 and 6 formed one unnamed group.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
  await page.getByRole('heading', { name: 'People', level: 1 }).waitFor();
  const group = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'Unnamed person' }) });
  await group.waitFor();
  assert.equal(await group.count(), 1, 'one unnamed group');
  await group.getByText('3 faces · 3 scenes').waitFor();
  await group.locator('img').waitFor();
  await shoot(page, 'people');

  // An unnamed group takes photos too (addPersonPhotos), before it has a name.
  await group.getByRole('link', { name: 'Unnamed person' }).click();
  await page.getByRole('heading', { name: 'Unnamed person', level: 1 }).waitFor();
  await page.getByLabel('Add photos').setInputFiles([danaPhoto]);
  await page.getByRole('button', { name: 'Add 1 photo' }).click();
  await page.getByRole('status').filter({ hasText: 'Unnamed person now has 4 faces' }).waitFor();
  await page.getByRole('link', { name: '← People' }).click();
  await group.getByText('4 faces · 3 scenes').waitFor();

  // Enrol from photos: a photo with no face is refused, and the error sits on that photo.
  await page.getByText('Add a person from photos').click();
  await page.getByLabel('Person’s name').fill('Nurse');
  await page.getByLabel('Photos of the person').setInputFiles([nursePhoto, noFacePhoto]);
  await page.getByRole('button', { name: 'Add person' }).click();
  const chosen = page.getByRole('list', { name: 'Chosen photos' });
  const bad = chosen.getByRole('listitem').filter({ hasText: 'no-face.png' });
  await bad.getByRole('alert').filter({ hasText: 'No face was found in photo "no-face.png"' }).waitFor();
  assert.equal(await chosen.getByRole('listitem').filter({ hasText: 'nurse.jpg' }).getByRole('alert').count(), 0);
  // The form's own message points at the marked photo where the page shows it: above the message.
  const summary = page.getByRole('alert').filter({ hasText: 'Nothing was saved' });
  assert.match(await summary.innerText(), /one photo cannot be used \(marked above\)/);
  const summaryEl = await summary.elementHandle();
  assert.ok(
    await bad.evaluate(
      (item, msg) => Boolean(item.compareDocumentPosition(msg!) & Node.DOCUMENT_POSITION_FOLLOWING),
      summaryEl,
    ),
    'the marked photo comes before the message',
  );
  await shoot(page, 'people-enrol');
  await page.getByRole('button', { name: 'Remove no-face.png' }).click();
  await page.getByRole('button', { name: 'Add person' }).click();
  // The new person's page: the photo, and the face of scene 4 found before the enrolment.
  await page.getByRole('heading', { name: 'Nurse', level: 1 }).waitFor();
  await page.getByText('2 faces · 1 scene').waitFor();
  const nurseUrl = page.url();
  const moments = page.getByRole('link', { name: /^Family day \d+:\d\d–\d+:\d\d$/ });
  await moments.first().waitFor();
  assert.deepEqual((await moments.allTextContents()).map(startOf), [12], 'the nurse appears in scene 4 only');

  // Name the group from its card on the People page.
  await page.getByRole('link', { name: '← People' }).click();
  await group.getByLabel('Name this person').fill('Dana');
  await group.getByRole('button', { name: 'Save name' }).click();
  const dana = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'Dana' }) });
  await dana.getByText('4 faces · 3 scenes').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Unnamed person' }).count(), 0);

  // A person's moments: every scene they appear in, in time order.
  await dana.getByRole('link', { name: 'Dana' }).click();
  await page.getByRole('heading', { name: 'Dana', level: 1 }).waitFor();
  const danaUrl = page.url();
  await moments.first().waitFor();
  assert.deepEqual((await moments.allTextContents()).map(startOf), [0, 6, 18]);
  await shoot(page, 'person');

  // Search with words and a person, then the person alone.
  await page.getByRole('searchbox', { name: 'Search' }).fill('picnic');
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
  const results = page.getByRole('link', { name: /Family day.*\d+:\d\d–\d+:\d\d/ });
  await results.first().waitFor();
  const anyone = (await results.allTextContents()).map(startOf);
  assert.ok(anyone.includes(12), `without a person, the nurse's picnic scene is found: ${anyone}`);
  await page.getByLabel('Person', { exact: true }).selectOption({ label: 'Dana' });
  await page.getByRole('heading', { name: 'Moments for “picnic” with Dana' }).waitFor();
  await results.first().waitFor();
  const withDana = await results.allTextContents();
  assert.deepEqual(
    withDana
      .map(startOf)
      .sort((a, b) => a - b)
      .slice(0, 2),
    [6, 18],
    withDana.join(' | '),
  );
  for (const t of withDana) assert.match(t, /Dana/, 'every moment shows Dana');
  assert.ok(!withDana.map(startOf).includes(12));
  await shoot(page, 'search-person');
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
  await page.getByRole('heading', { name: 'Moments with Dana' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-result]').length === 3);
  assert.deepEqual((await results.allTextContents()).map(startOf), [0, 6, 18]);

  // Move a face to the nurse; then merge the nurse into Dana (the same
  // person after all, as far as this test is concerned); unassign a face;
  // delete Dana.
  await page.goto(danaUrl);
  await page.getByRole('heading', { name: 'Dana', level: 1 }).waitFor();
  const faceItems = page.getByRole('list').filter({ has: page.getByRole('img', { name: 'Face 1' }) });
  assert.equal(await faceItems.getByRole('listitem').count(), 4);
  await page.getByLabel('Who is face 2?').selectOption({ label: 'Nurse' });
  await page.getByRole('button', { name: 'Move face 2' }).click();
  await page.getByRole('status').filter({ hasText: 'Face 2 moved to Nurse.' }).waitFor();
  await page.getByText('3 faces · 2 scenes').waitFor();

  await page.goto(nurseUrl);
  await page.getByText('3 faces · 2 scenes').waitFor();
  await page.getByLabel('Merge into').selectOption({ label: 'Dana' });
  await page.getByRole('button', { name: 'Merge' }).click();
  await page.waitForURL(danaUrl);
  await page.getByRole('heading', { name: 'Dana', level: 1 }).waitFor();
  await page.getByText('6 faces · 4 scenes').waitFor();

  await page.getByLabel('Who is face 2?').selectOption({ label: 'Nobody (not a known person)' });
  await page.getByRole('button', { name: 'Move face 2' }).click();
  await page.getByRole('status').filter({ hasText: 'Face 2 moved to nobody.' }).waitFor();
  await page.getByText('5 faces · 3 scenes').waitFor();

  await page.getByRole('button', { name: 'Delete person' }).click();
  await page.getByRole('button', { name: 'Delete for good' }).click();
  await page.getByRole('heading', { name: 'People', level: 1 }).waitFor();
  await page.getByText(/^Nobody yet/).waitFor();

  // What the database holds now: no person; the video's faces stay, unassigned; no enrolment photo face.
  const { rows } = await db.rootPool.query(
    `select count(*) filter (where f.person_id is null and f.scene_id is not null)::int as unassigned,
          count(*)::int as total,
          (select count(*)::int from app_public.persons p where p.owner_id = u.id) as persons
     from app_private.users u left join app_public.faces f on f.owner_id = u.id
    where u.email = $1 group by u.id`,
    [email],
  );
  assert.deepEqual(rows[0], { unassigned: 4, total: 4, persons: 0 });
  assert.deepEqual(problems, []);
}
