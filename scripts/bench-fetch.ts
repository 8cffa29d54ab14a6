/*
 * What a job pays to have the video in its work folder (`fetchVideo` in
 * worker/pipeline/steps.ts): the first job of a video on a worker downloads
 * it and hashes every byte against the digest validation pinned; later jobs
 * on that worker link the file it kept (worker/pipeline/kept-videos.ts). A
 * long video is some 75 such jobs (a transcription, an index and a copy part
 * per INDEX_CHUNK_S), so the second figure is what each of them now pays.
 *
 *   node scripts/bench-fetch.ts [--gb 2] [--jobs 4] [--driver fs|s3]
 *
 * The video is random bytes (nothing here decodes it); s3 is s3rver on
 * loopback, as in the storage tests, so it measures the client and the
 * hashing, not a network. s3rver has no multipart upload, which the client
 * uses above 64 MB: keep --gb at 0.06 or less with --driver s3.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { createStorage } from '../core/storage/index.ts';
import type { Storage } from '../core/storage/types.ts';
import type { PipelineContext, VideoRow } from '../worker/pipeline/context.ts';
import { forgetKept } from '../worker/pipeline/kept-videos.ts';
import { fetchVideo, sha256File, withWorkDir } from '../worker/pipeline/steps.ts';

const { values } = parseArgs({
  options: {
    gb: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '4' },
    driver: { type: 'string', default: 'fs' },
  },
});
const bytes = Math.round(Number(values.gb) * 2 ** 30);
const jobs = Number(values.jobs);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-bench-fetch-'));
const config = loadConfig({ ...process.env, HEIMDEX_DATA_DIR: dir, MAX_UPLOAD_BYTES: String(bytes * 2) });
let storage: Storage;
let close = async () => {};
if (values.driver === 's3') {
  const { startS3Harness } = await import('../test/storage/harness.ts');
  const h = await startS3Harness();
  storage = h.storage;
  close = h.close;
} else {
  storage = createStorage(config);
  await storage.ensureReady();
}

const source = path.join(dir, 'source.bin');
{
  const out = fs.createWriteStream(source);
  for (let left = bytes; left > 0; left -= 2 ** 24) {
    if (!out.write(crypto.randomBytes(Math.min(left, 2 ** 24))))
      await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
}
const owner = crypto.randomUUID();
const key = `u/${owner}/${crypto.randomUUID()}/video.mp4`;
await storage.put(key, fs.createReadStream(source), 'video/mp4');
const video = { object_key: key, content_sha256: await sha256File(source) } as VideoRow;
fs.rmSync(source);
const ctx = { config, storage, models: {} } as unknown as PipelineContext;

console.log(`${values.driver}, ${values.gb} GB, ${jobs} jobs of one video on one worker`);
console.log('| job | wall ms | CPU ms |');
console.log('| --- | --- | --- |');
for (let i = 1; i <= jobs; i++) {
  const t = performance.now();
  const c = process.cpuUsage();
  await withWorkDir(async (work) => {
    const got = await fetchVideo(ctx, video, work);
    if (fs.statSync(got.file).size !== bytes) throw new Error('short file');
  });
  const cpu = process.cpuUsage(c);
  console.log(`| ${i} | ${(performance.now() - t).toFixed(0)} | ${((cpu.user + cpu.system) / 1000).toFixed(0)} |`);
}
await forgetKept();
await close();
fs.rmSync(dir, { recursive: true, force: true });
