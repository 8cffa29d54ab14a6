/*
 * Model files are read once per load (worker/ml/local-files.ts):
 * transformers.js' answer for a local file started a second, unread copy of
 * every file it was asked about.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { loadConfig } from '../../core/config.ts';
import { generateTinyModels } from '../../models/tiny/generate.ts';
import { getModels } from '../../worker/ml/index.ts';
import { withoutModelFileStreams } from '../../worker/ml/local-files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-local-files-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every fs.createReadStream this process makes while `fn` runs, by path. */
async function streamsOpened(fn: () => Promise<void>): Promise<string[]> {
  const opened: string[] = [];
  const real = fs.createReadStream;
  fs.createReadStream = ((p: fs.PathLike, ...rest: unknown[]) => {
    opened.push(String(p));
    return (real as (...a: unknown[]) => fs.ReadStream)(p, ...rest);
  }) as typeof fs.createReadStream;
  try {
    await fn();
  } finally {
    fs.createReadStream = real;
  }
  return opened;
}

test('a model loads without a stream of any of its files, and works', async () => {
  const dir = generateTinyModels({ out: path.join(tmp, 'models') }).out;
  const streamed = await streamsOpened(async () => {
    const models = getModels(loadConfig({ ...process.env, MODELS_DIR: dir, ORT_THREADS: '1' }));
    const [vec] = await (await models.textEmbedder())!.embed(['a dog on the beach']);
    assert.equal(vec!.length, 1024);
  });
  // Streams refused inside the load never reach the real createReadStream this test wraps.
  assert.deepEqual(
    streamed.filter((p) => p.startsWith(dir)),
    [],
  );
});

test('while a load runs, a stream of a model file fails on read without opening it; other files stream', async () => {
  const models = path.join(tmp, 'refused');
  fs.mkdirSync(models);
  const inside = path.join(models, 'model.onnx');
  const outside = path.join(tmp, 'video.mp4');
  fs.writeFileSync(inside, 'weights');
  fs.writeFileSync(outside, 'frames');
  const read = async (s: fs.ReadStream) => {
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  await withoutModelFileStreams(models, async () => {
    for (const p of [inside, pathToFileURL(inside)])
      await assert.rejects(
        read(fs.createReadStream(p)),
        /model\.onnx: model files are not streamed while a model loads/,
      );
    assert.equal(await read(fs.createReadStream(outside)), 'frames');
    // A sibling folder whose name starts like the models folder is not inside it.
    fs.writeFileSync(`${models}-other`, 'other');
    assert.equal(await read(fs.createReadStream(`${models}-other`)), 'other');
  });
  assert.equal(await read(fs.createReadStream(inside)), 'weights', 'after the load, streams work again');
  // And after a load that failed.
  await assert.rejects(
    withoutModelFileStreams(models, async () => {
      throw new Error('broken model');
    }),
    /broken model/,
  );
  assert.equal(await read(fs.createReadStream(inside)), 'weights');
});
