/*
 * Face analysis on worker threads (worker/ml/face-threads.ts) against the
 * same networks in the test's own thread (loadFaceAnalyzer): equal results,
 * up to the configured number of threads working at once, work handed over
 * and cancelled, a bad image failing as before, a missing or broken package,
 * threads ended and started again, and a thread that ends mid-detection
 * failing that detection.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { faceThreads, loadFaceThreads, FaceThread, type FaceThreads } from '../../worker/ml/face-threads.ts';
import {
  decodeImage,
  DetectionSkipped,
  faceModelFiles,
  FaceImageError,
  loadFaceAnalyzer,
} from '../../worker/ml/faces.ts';
import type { FaceAnalyzer } from '../../worker/ml/types.ts';
import { samplePhoto } from '../fixtures/faces.ts';

const photos = [1, 2, 3, 4, 5, 6].map(samplePhoto);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hx-face-threads-'));
const pools: FaceThreads[] = [];
after(async () => {
  await Promise.all(pools.map((p) => p.release()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function pool(threads: number, packageDir?: string | null): Promise<FaceThreads | null> {
  const p = await loadFaceThreads('face-api', { threads, ...(packageDir !== undefined ? { packageDir } : {}) });
  if (p) pools.push(p);
  return p;
}

/** A result with its vectors as plain arrays, for deepEqual. */
const plain = (r: Awaited<ReturnType<FaceAnalyzer['detect']>>) => ({
  ...r,
  faces: r.faces.map((f) => ({ ...f, embedding: Array.from(f.embedding) })),
});

describe('face threads', () => {
  test('give what the same networks give in this thread, bit for bit, one detection per thread at most', async () => {
    const here = (await loadFaceAnalyzer('face-api'))!;
    const expected = [];
    for (const p of photos) expected.push(plain(await here.detect(p)));
    expected.push(plain(await here.detect(photos[2]!, { maxWidth: 768 })));
    assert.ok(expected.reduce((n, r) => n + r.faces.length, 0) > 10, 'the sample photos show faces');

    const two = (await pool(2))!;
    assert.equal(two.threads, 1, 'the first thread is started by the load');
    const got = await Promise.all([
      ...photos.map((p) => two.detect(p)),
      two.detect(fs.readFileSync(photos[2]!), { maxWidth: 768 }),
    ]);
    assert.deepEqual(got.map(plain), expected);
    assert.equal(two.threads, 2, 'seven detections at once start a second thread, and no third');

    const one = (await pool(1))!;
    const again = await Promise.all(photos.slice(0, 3).map((p) => one.detect(p)));
    assert.deepEqual(again.map(plain), expected.slice(0, 3));
    assert.equal(one.threads, 1);
  });

  test('decoded pixels are analysed as the file is', async () => {
    const p = (await pool(1))!;
    const pixels = await decodeImage(photos[0]!);
    assert.deepEqual(plain(await p.detect(pixels)), plain(await p.detect(photos[0]!)));
  });

  test('work handed over waits in the thread; cancelled, what has not begun is dropped', async () => {
    const p = (await pool(1))!;
    const pixels = await Promise.all(photos.slice(0, 4).map((f) => decodeImage(f)));
    const expected = await Promise.all(pixels.map((px) => p.detect(px)));
    const ac = new AbortController();
    const sent = pixels.map((px) => p.detect(px, { signal: ac.signal }));
    assert.deepEqual(plain(await sent[0]!), plain(expected[0]!));
    ac.abort();
    const settled = await Promise.allSettled(sent);
    // The second may have begun before the cancellation reached the thread; the last had not.
    for (const [i, r] of settled.entries()) {
      if (r.status === 'fulfilled') assert.deepEqual(plain(r.value), plain(expected[i]!));
      else assert.ok(r.reason instanceof DetectionSkipped, String(r.reason));
    }
    assert.equal(settled[3]!.status, 'rejected');
    await assert.rejects(p.detect(pixels[0]!, { signal: ac.signal }), DetectionSkipped);
    assert.deepEqual(plain(await p.detect(pixels[1]!)), plain(expected[1]!), 'the thread carries on');
  });

  test('a file that is not an image fails as before, and the threads carry on', async () => {
    const p = (await pool(1))!;
    await assert.rejects(p.detect(Buffer.from('not a picture at all')), FaceImageError);
    assert.equal((await p.detect(photos[1]!)).faces.length > 0, true);
  });

  test('released threads end, and the next detection starts one again', async () => {
    const p = (await pool(2))!;
    await Promise.all([p.detect(photos[0]!), p.detect(photos[1]!)]);
    assert.equal(p.threads, 2);
    await p.release();
    assert.equal(p.threads, 0);
    const r = await p.detect(photos[3]!);
    assert.ok(r.faces.length > 0);
    assert.equal(p.threads, 1);
  });

  test('a thread that ends mid-detection fails that detection, naming why', async () => {
    const t = new FaceThread('face-api', {}, () => {});
    await t.ready;
    const running = t.run(await decodeImage(photos[4]!));
    await t.stop();
    await assert.rejects(running, /a face thread ended/);
    assert.equal(t.alive, false);
    await assert.rejects(t.run(await decodeImage(photos[4]!)), /a face thread ended/);
  });

  test('without the package there is no analyzer; broken weights fail the load, naming the model', async () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    assert.equal(await pool(2, empty), null);

    const real = path.dirname(faceModelFiles()!.modelDir);
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    fs.symlinkSync(path.join(real, 'dist'), path.join(broken, 'dist'));
    fs.copyFileSync(path.join(real, 'package.json'), path.join(broken, 'package.json'));
    fs.cpSync(path.join(real, 'model'), path.join(broken, 'model'), { recursive: true });
    fs.truncateSync(path.join(broken, 'model', 'face_recognition_model.bin'), 1000);
    await assert.rejects(pool(2, broken), /face model face-api could not be loaded from .*broken/);
  });

  test('FACE_THREADS, or one per two cores up to 4', () => {
    const cfg = (n: number) => ({ models: { faceThreads: n } }) as Parameters<typeof faceThreads>[0];
    assert.equal(faceThreads(cfg(3)), 3);
    const cores = os.availableParallelism();
    assert.equal(faceThreads(cfg(0)), cores < 4 ? 1 : Math.min(Math.floor(cores / 2), 4));
  });
});
