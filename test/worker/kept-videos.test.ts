/*
 * The files a worker keeps between the jobs of a video: handed out only for
 * the same object, bytes and version; the last two kept; a job's own link
 * unharmed when its file is evicted; nothing left once the worker stops.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forgetKept, forgetKeys, keepVerified, keptCount, linkKept } from '../../worker/pipeline/kept-videos.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-kept-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A file standing for a fetched video, in a folder of its own like a job's. */
function fetched(content: string): string {
  const job = fs.mkdtempSync(path.join(dir, 'job-'));
  const file = path.join(job, 'input');
  fs.writeFileSync(file, content);
  return file;
}
const dest = () => path.join(fs.mkdtempSync(path.join(dir, 'job-')), `input-${n++}`);
const keptFolders = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`heimdex-job-${process.pid}-videos-`));

test('a kept file is linked only for the same object, bytes and version', async () => {
  const a = fetched('video a');
  await keepVerified('u/1/a/v.mp4', 'sha-a', 'v1', a);
  fs.rmSync(path.dirname(a), { recursive: true }); // the job that fetched it ends
  assert.equal(await linkKept('u/1/a/v.mp4', 'sha-a', 'v2', dest()), false, 'written again since');
  assert.equal(await linkKept('u/1/a/v.mp4', 'sha-b', 'v1', dest()), false, 'other bytes pinned');
  assert.equal(await linkKept('u/1/b/v.mp4', 'sha-a', 'v1', dest()), false, 'another object');
  const to = dest();
  assert.equal(await linkKept('u/1/a/v.mp4', 'sha-a', 'v1', to), true);
  assert.equal(fs.readFileSync(to, 'utf8'), 'video a');
  await forgetKept();
});

test('the two last used are kept; a job keeps its file when it is evicted', async () => {
  for (const k of ['a', 'b']) await keepVerified(`u/1/${k}/v.mp4`, `sha-${k}`, 'v1', fetched(`video ${k}`));
  const inUse = dest();
  assert.equal(await linkKept('u/1/a/v.mp4', 'sha-a', 'v1', inUse), true); // a is now the last used
  await keepVerified('u/1/c/v.mp4', 'sha-c', 'v1', fetched('video c'));
  assert.equal(keptCount(), 2);
  assert.equal(await linkKept('u/1/b/v.mp4', 'sha-b', 'v1', dest()), false, 'b, the least recently used, went');
  assert.equal(await linkKept('u/1/a/v.mp4', 'sha-a', 'v1', dest()), true);
  await keepVerified('u/1/d/v.mp4', 'sha-d', 'v1', fetched('video d'));
  await keepVerified('u/1/e/v.mp4', 'sha-e', 'v1', fetched('video e'));
  assert.equal(await linkKept('u/1/a/v.mp4', 'sha-a', 'v1', dest()), false, 'a evicted in turn');
  assert.equal(fs.readFileSync(inUse, 'utf8'), 'video a', 'the running job still reads its link');
  // Kept again for new bytes of the same object: the old ones are not handed out.
  await keepVerified('u/1/e/v.mp4', 'sha-e2', 'v2', fetched('video e2'));
  assert.equal(await linkKept('u/1/e/v.mp4', 'sha-e', 'v1', dest()), false);
  assert.equal(await linkKept('u/1/e/v.mp4', 'sha-e2', 'v2', dest()), true);
  assert.equal(keptCount(), 2);
  const folder = path.join(os.tmpdir(), keptFolders()[0]!);
  // Evicted files are deleted (in the background).
  for (let i = 0; i < 100 && fs.readdirSync(folder).length > 2; i++) await sleep(10);
  assert.equal(fs.readdirSync(folder).length, 2, 'evicted files are deleted');
  await forgetKept();
  assert.equal(keptCount(), 0);
  assert.deepEqual(keptFolders(), []);
});

test("a deleted video's kept file goes with it", async () => {
  await keepVerified('u/1/f/v.mp4', 'sha-f', 'v1', fetched('video f'));
  await keepVerified('u/1/g/v.mp4', 'sha-g', 'v1', fetched('video g'));
  forgetKeys(['u/1/f/v.mp4', 'u/1/gone/v.mp4']);
  assert.equal(await linkKept('u/1/f/v.mp4', 'sha-f', 'v1', dest()), false);
  assert.equal(await linkKept('u/1/g/v.mp4', 'sha-g', 'v1', dest()), true);
  await forgetKept();
});

test('a file that cannot be linked is not kept, and nothing fails', async () => {
  await keepVerified('u/1/x/v.mp4', 'sha-x', 'v1', path.join(dir, 'gone', 'input'));
  assert.equal(keptCount(), 0);
  assert.equal(await linkKept('u/1/x/v.mp4', 'sha-x', 'v1', dest()), false);
  await forgetKept();
});
