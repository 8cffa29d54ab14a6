/*
 * The model registry on its real loading path (transformers.js → tokenizer /
 * image processor / Whisper feature extractor → onnxruntime) with the tiny
 * models from models/tiny/generate.ts, which keep the production ids, file
 * names, input/output names and vector widths. Assertions are about shapes,
 * norms and the deterministic behaviour the tiny graphs are built to have.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateTinyModels } from '../../models/tiny/generate.ts';
import { loadConfig } from '../../core/config.ts';
import { SpeechProcess } from '../../worker/ml/speech-process.ts';
import {
  getModels,
  inProcessSpeechRecognizer,
  languageWindow,
  speechWindows,
  tokenBatches,
  type ModelRegistry,
} from '../../worker/ml/index.ts';
import { labelVectorsInChild } from '../../worker/ml/label-vectors.ts';
import { readLabels, resolveModel } from '../../worker/ml/manifest.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-ml-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const modelsDir = generateTinyModels({ out: path.join(tmp, 'models') }).out;
const config = loadConfig({ ...process.env, MODELS_DIR: modelsDir, ORT_THREADS: '1' });

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', ...args], { maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `ffmpeg failed: ${r.stderr}`);
  return r.stdout;
}

function jpeg(name: string, colour: string): string {
  const out = path.join(tmp, `${name}.jpg`);
  ffmpeg(['-f', 'lavfi', '-i', `color=c=${colour}:s=640x360`, '-frames:v', '1', out]);
  return out;
}

/** 16 kHz mono float samples, as worker/media hands them to the recogniser. */
function pcm(input: string[]): Float32Array {
  const raw = ffmpeg([...input, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-']);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

let models: ModelRegistry;
const db: TestDatabase = await createTestDatabase();
let fetches = 0;
const realFetch = globalThis.fetch;
before(() => {
  // Loading never reaches for the network: only `heimdex models pull` downloads.
  globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
    fetches++;
    return realFetch(...args);
  }) as typeof fetch;
  models = getModels(config);
});
after(() => {
  globalThis.fetch = realFetch;
});

describe('text embedder (BGE-M3 contract)', () => {
  test('returns 1024-d unit vectors; equal texts are equal, shared words are closer', async () => {
    const te = await models.textEmbedder();
    assert.ok(te);
    assert.equal(te.modelId, 'Xenova/bge-m3');
    assert.equal(te.dim, 1024);
    const [a, b, c, d] = await te.embed([
      'a brown dog runs on the beach',
      'A brown dog runs on the beach',
      'a dog on the beach',
      'red car in a tunnel',
    ]);
    for (const v of [a!, b!, c!, d!]) {
      assert.equal(v.length, 1024);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    }
    assert.deepEqual(a, b);
    assert.ok(dot(a!, c!) > dot(a!, d!) + 0.2, `overlap ${dot(a!, c!)} vs disjoint ${dot(a!, d!)}`);
  });

  test('batching (more inputs than one batch, mixed lengths) matches single calls', async () => {
    const te = (await models.textEmbedder())!;
    const texts = Array.from(
      { length: 21 },
      (_, i) => `scene ${'red green blue dog cat '.repeat(1 + (i % 4))} number ${i}`,
    );
    const batched = await te.embed(texts);
    assert.equal(batched.length, texts.length);
    for (const i of [0, 7, 16, 20]) {
      const [single] = await te.embed([texts[i]!]);
      for (let k = 0; k < 1024; k++) assert.ok(Math.abs(single![k]! - batched[i]![k]!) < 1e-5, `text ${i} dim ${k}`);
    }
  });

  test('text batches hold similar lengths within a token budget, every text once', () => {
    const lengths = [512, 12, 300, 40, 512, 7, 90, 512, 33, 250, 61, 480];
    const batches = tokenBatches(lengths, 1024, 4);
    assert.deepEqual(
      batches.flat().sort((a, b) => a - b),
      lengths.map((_, i) => i),
    );
    for (const b of batches) {
      assert.ok(b.length <= 4, JSON.stringify(batches));
      const longest = Math.max(...b.map((i) => lengths[i]!));
      assert.ok(b.length * longest <= 1024, JSON.stringify(batches));
    }
    // Short texts share batches instead of each being padded to a long neighbour.
    assert.deepEqual(batches[0], [5, 1, 8, 3]);
    assert.deepEqual(tokenBatches([2000, 3], 1024, 4), [[1], [0]]);
    assert.deepEqual(tokenBatches([], 1024, 4), []);
  });

  test('long texts are cut at 512 tokens instead of growing memory with the square of their length', async () => {
    const te = (await models.textEmbedder())!;
    const head = Array.from({ length: 510 }, (_, i) => ['dog', 'cat', 'beach', 'tree', 'lake'][i % 5]).join(' ');
    const tail = ' car'.repeat(2500);
    const [long, first, cars] = await te.embed([head + tail, head, tail.trim()]);
    // <s> + 510 words + </s> = 512 tokens: everything after is dropped.
    assert.ok(dot(long!, first!) > 0.99999, String(dot(long!, first!)));
    assert.ok(dot(long!, cars!) < 0.5, String(dot(long!, cars!)));
  });

  test('an empty text is refused with a message naming it', async () => {
    const te = (await models.textEmbedder())!;
    await assert.rejects(te.embed(['fine', '  ']), /input #1 is empty/);
  });

  test('vectors fit scenes.text_vec and pgvector agrees on their cosine', async () => {
    const te = (await models.textEmbedder())!;
    const [a, c] = await te.embed(['a brown dog', 'a brown cat']);
    const { rows } = await db.rootPool.query<{ d: number }>(
      'select ($1::real[])::vector(1024) <=> ($2::real[])::vector(1024) as d',
      [Array.from(a!), Array.from(c!)],
    );
    assert.ok(Math.abs(rows[0]!.d - (1 - dot(a!, c!))) < 1e-4);
  });
});

describe('SigLIP towers', () => {
  test('image vectors are 1152-d unit norm; colours differ; path and buffer agree', async () => {
    const ie = await models.imageEmbedder();
    assert.ok(ie);
    assert.equal(ie.dim, 1152);
    const red = jpeg('red', 'red');
    const blue = jpeg('blue', 'blue');
    const [r, b, r2] = await ie.embedImages([red, blue, fs.readFileSync(red)]);
    for (const v of [r!, b!, r2!]) {
      assert.equal(v.length, 1152);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5);
    }
    assert.ok(dot(r!, b!) < 0.95, `red·blue = ${dot(r!, b!)}`);
    assert.ok(dot(r!, r2!) > 0.9999);
  });

  test('more keyframes than one batch keep their order', async () => {
    const ie = (await models.imageEmbedder())!;
    const colours = ['red', 'green', 'blue', 'yellow', 'white', 'black', 'orange', 'purple', 'gray', 'cyan'];
    const files = colours.map((c) => jpeg(`batch-${c}`, c));
    const all = await ie.embedImages(files);
    const [last] = await ie.embedImages([files.at(-1)!]);
    assert.equal(all.length, colours.length);
    assert.ok(dot(all.at(-1)!, last!) > 0.9999);
  });

  test('a picture already in the call is not embedded again; a pointer moved onto it is a new picture', async () => {
    const ie = (await models.imageEmbedder())!;
    const still = (name: string, quality: number, filter = 'null') => {
      const out = path.join(tmp, `${name}.jpg`);
      ffmpeg([
        '-f',
        'lavfi',
        '-i',
        'testsrc=s=1280x720',
        '-vf',
        filter,
        '-frames:v',
        '1',
        '-q:v',
        String(quality),
        out,
      ]);
      return out;
    };
    const slide = still('slide', 2);
    // The same picture through another encoding: what two moments of a held slide differ by.
    const again = still('slide-again', 4);
    const pointer = still('slide-pointer', 2, 'drawbox=x=600:y=300:w=12:h=18:color=black:t=fill');
    const [s, other, a, p] = await ie.embedImages([slide, jpeg('other', 'navy'), again, pointer]);
    assert.deepEqual(a, s, 'the held slide takes the first one’s vector');
    a![0] = 2;
    assert.notEqual(s![0], 2, 'each scene gets a vector of its own');
    const [alone] = await ie.embedImages([again]);
    assert.notDeepEqual(
      alone,
      s,
      'on its own the re-encoded slide gives a vector of its own (so the one above was reused)',
    );
    assert.ok(dot(alone!, s!) > 0.999, `a re-encoding moves the vector by ${1 - dot(alone!, s!)}`);
    assert.notDeepEqual(p, s, 'the pointer makes it another picture');
    const [pointerAlone] = await ie.embedImages([pointer]);
    assert.ok(dot(p!, pointerAlone!) > 0.99999);
    assert.ok(dot(other!, s!) < 0.99);
  });

  test('an unreadable image fails with a message naming it', async () => {
    const ie = (await models.imageEmbedder())!;
    await assert.rejects(ie.embedImages([Buffer.from('not an image')]), /cannot read image buffer #0/);
    await assert.rejects(ie.embedImages([path.join(tmp, 'missing.jpg')]), /cannot read image .*missing\.jpg/);
  });

  test('text tower gives 1152-d unit vectors in the image space', async () => {
    const it = await models.imageTextEmbedder();
    assert.ok(it);
    assert.equal(it.dim, 1152);
    const [a, b] = await it.embed(['A photo of a DOG', 'a photo of a dog']);
    assert.equal(a!.length, 1152);
    assert.ok(Math.abs(norm(a!) - 1) < 1e-5);
    // SigLIP was trained on lower-cased text.
    assert.deepEqual(a, b);
  });

  test('tagger returns vocabulary labels with 0..1 scores, best first', async () => {
    const tagger = await models.tagger();
    assert.ok(tagger);
    const vocabulary = new Set(readLabels());
    const [img] = await (await models.imageEmbedder())!.embedImages([jpeg('tag', 'green')]);
    const tags = await tagger.tag(img!, 7);
    assert.equal(tags.length, 7);
    for (const t of tags) {
      assert.ok(vocabulary.has(t.label), t.label);
      assert.ok(t.score >= 0 && t.score <= 1, String(t.score));
    }
    for (let i = 1; i < tags.length; i++) assert.ok(tags[i - 1]!.score >= tags[i]!.score);
    // A vector equal to a label's prompt embedding must rank that label first.
    const [dog] = await (await models.imageTextEmbedder())!.embed(['a photo of a dog']);
    const top = await tagger.tag(dog!, 3);
    assert.equal(top[0]!.label, 'dog');
    assert.ok(top[0]!.score > top[1]!.score);
    await assert.rejects(tagger.tag(new Float32Array(10)), /10 dims/);
  });
});

test("the tagger's label vectors are cached beside the models and recomputed when the cache does not fit", async () => {
  await models.tagger();
  const cacheDir = path.join(modelsDir, '.cache');
  const [file] = fs.readdirSync(cacheDir).filter((f) => /^tag-labels-[0-9a-f]{32}\.f32$/.test(f));
  assert.ok(file, fs.readdirSync(cacheDir).join(', '));
  const labels = readLabels();
  const cache = path.join(cacheDir, file);
  assert.equal(fs.statSync(cache).size, labels.length * 1152 * 4);
  // A registry for the same folder (through another path, so not the same
  // instance) reads the file instead of running the text tower: give "dog"
  // a vector no prompt embedding has, and see it win.
  const planted = new Float32Array(labels.length * 1152);
  const dogAt = labels.indexOf('dog');
  planted[dogAt * 1152] = 1;
  fs.writeFileSync(cache, new Uint8Array(planted.buffer));
  const again = (dir: string) => getModels(loadConfig({ ...process.env, MODELS_DIR: dir, ORT_THREADS: '1' }));
  fs.symlinkSync(modelsDir, path.join(tmp, 'models-again'));
  const axis = new Float32Array(1152);
  axis[0] = 1;
  const fromCache = await (await again(path.join(tmp, 'models-again')).tagger())!.tag(axis, 2);
  assert.equal(fromCache[0]!.label, 'dog');
  assert.ok(fromCache[0]!.score > fromCache[1]!.score);
  // With the cache present the text tower is never loaded: in a copy of the
  // folder that has its cache, replace the text tower's weights by garbage of
  // the same size and mtime (so the cache key is unchanged); a new registry
  // still tags, and fails as soon as the tower itself is needed.
  const garbled = path.join(tmp, 'models-garbled');
  fs.cpSync(modelsDir, garbled, { recursive: true });
  const tower = resolveModel(loadConfig({ ...process.env, MODELS_DIR: garbled }), 'vision-text');
  const onnx = tower.files.filter((f) => f.endsWith('.onnx')).map((f) => path.join(tower.dir, f));
  assert.ok(onnx.length > 0 && onnx.every((f) => fs.existsSync(f)), onnx.join(', '));
  const whole = 1_700_000_000; // whole seconds: restored exactly after the rewrite
  for (const f of onnx) fs.utimesSync(f, whole, whole);
  await again(garbled).tagger();
  for (const f of onnx) {
    fs.writeFileSync(f, Buffer.alloc(fs.statSync(f).size, 7));
    fs.utimesSync(f, whole, whole);
  }
  fs.symlinkSync(garbled, path.join(tmp, 'models-garbled-again'));
  const garbledModels = again(path.join(tmp, 'models-garbled-again'));
  const tags = await (await garbledModels.tagger())!.tag(axis, 1);
  assert.equal(tags.length, 1);
  await assert.rejects(garbledModels.imageTextEmbedder(), /could not be loaded/);
  // Without the cache the tagger needs that tower, and says so, naming the model.
  fs.rmSync(path.join(garbled, '.cache'), { recursive: true });
  fs.symlinkSync(garbled, path.join(tmp, 'models-garbled-uncached'));
  await assert.rejects(
    again(path.join(tmp, 'models-garbled-uncached')).tagger(),
    new RegExp(`tagger: the label vectors of ${tower.id} could not be computed: .*could not be loaded`),
  );
  // A file of the wrong size (cut short by a crash) is recomputed and replaced.
  fs.truncateSync(cache, 100);
  fs.symlinkSync(modelsDir, path.join(tmp, 'models-third'));
  const recomputed = await again(path.join(tmp, 'models-third')).tagger();
  assert.equal(fs.statSync(cache).size, labels.length * 1152 * 4);
  // Computed in a process of its own: the registry that tags never holds the text tower.
  assert.deepEqual(
    again(path.join(tmp, 'models-third'))
      .loaded()
      .filter((r) => r === 'vision-text'),
    [],
  );
  const [dog] = await (await models.imageTextEmbedder())!.embed(['a photo of a dog']);
  assert.equal((await recomputed!.tag(dog!, 1))[0]!.label, 'dog');
  assert.notEqual((await recomputed!.tag(axis, 1))[0]!.score, fromCache[0]!.score);
});

test('a label process that dies before it answers fails the call, saying how it ended', async () => {
  const pending = labelVectorsInChild(config, ['a photo of a dog']);
  // Its child: forked from this process, running label-vectors.ts. Killed
  // while it still loads its modules, long before it could answer.
  const child = async () => {
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const ppid = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (ppid === process.pid && cmd.includes('label-vectors')) return Number(pid);
      } catch {
        // gone meanwhile
      }
    }
    return null;
  };
  let pid: number | null = null;
  for (let i = 0; i < 500 && pid === null; i++) {
    pid = await child();
    if (pid === null) await new Promise((r) => setTimeout(r, 2));
  }
  assert.ok(pid, 'the label process was started');
  process.kill(pid, 'SIGKILL');
  await assert.rejects(pending, /its process exited \(SIGKILL\)/);
});

describe('speech recogniser (Whisper contract)', () => {
  test('transcribes a few seconds of speech into timestamped segments with a language', async () => {
    const wav = path.join(tmp, 'speech.wav');
    const r = spawnSync('espeak-ng', ['-w', wav, 'hello world, this is a test of the speech path']);
    assert.equal(r.status, 0);
    const samples = pcm(['-i', wav]);
    assert.ok(samples.length > 16000);
    const asr = await models.speechRecognizer();
    assert.ok(asr);
    assert.equal(asr.modelId, 'onnx-community/whisper-base');
    const { language, segments } = await asr.transcribe(samples);
    // The tiny decoder answers <|en|> to the detection step.
    assert.equal(language, 'en');
    assert.ok(segments.length >= 1);
    const duration = samples.length / 16000;
    for (const s of segments) {
      assert.equal(typeof s.start, 'number');
      assert.equal(typeof s.end, 'number');
      assert.ok(s.start >= 0 && s.start <= s.end && s.end <= duration + 1e-6, JSON.stringify(s));
      assert.ok(s.text.length > 0);
    }
    assert.equal(segments[0]!.text, 'hello world');
  });

  test('long audio is heard in windows of at most 30 s cut in its pauses, with timestamps of the whole', async () => {
    const asr = (await models.speechRecognizer())!;
    // Speech-level tone with pauses at 22.0-22.6 s and 47.0-47.4 s: the
    // windows must end in them, not at 30 s through the "speech".
    const rate = 16000;
    const samples = new Float32Array(65 * rate);
    for (let i = 0; i < samples.length; i++) {
      const t = i / rate;
      if (!((t >= 22 && t < 22.6) || (t >= 47 && t < 47.4))) samples[i] = Math.sin(i / 8) * 0.1;
    }
    const windows = speechWindows(samples, rate);
    assert.equal(windows.length, 3, JSON.stringify(windows));
    assert.ok(windows[0]![1] > 22 * rate && windows[0]![1] < 22.6 * rate, JSON.stringify(windows));
    assert.ok(windows[1]![1] > 47 * rate && windows[1]![1] < 47.4 * rate, JSON.stringify(windows));
    const { segments } = await asr.transcribe(samples);
    // The tiny decoder claims "hello world" from 0 to 1 s of every window it hears.
    assert.deepEqual(
      segments.map((s) => [Math.round(s.start * 10) / 10, s.text]),
      windows.map(([a]) => [Math.round((a / rate) * 10) / 10, 'hello world']),
    );
    for (const s of segments) assert.ok(s.start <= s.end && s.end <= 65 + 1e-6, JSON.stringify(segments));
  });

  test('speech windows cover the audio once, each at most 30 s, full length where there is no pause', () => {
    const rate = 1000;
    const tone = new Float32Array(95 * rate).map((_, i) => Math.sin(i / 5) * 0.2);
    const windows = speechWindows(tone, rate);
    assert.equal(windows[0]![0], 0);
    assert.equal(windows.at(-1)![1], tone.length);
    for (let k = 0; k < windows.length; k++) {
      const [a, b] = windows[k]!;
      assert.ok(b > a && b - a <= 30 * rate, JSON.stringify(windows));
      if (k > 0) assert.equal(a, windows[k - 1]![1]);
    }
    // A steady tone has no pause: every window but the last is (nearly) the whole 30 s.
    for (const [a, b] of windows.slice(0, -1)) assert.ok(b - a >= 29.9 * rate, JSON.stringify(windows));
    assert.deepEqual(speechWindows(new Float32Array(10 * rate), rate), [[0, 10 * rate]]);
    assert.deepEqual(speechWindows(new Float32Array(0), rate), []);
  });

  test('language is detected on the loudest of the opening 30 s windows, not on a silent intro', () => {
    const rate = 100;
    const samples = new Float32Array(100 * rate);
    // 0-30 s silence, 30-60 s speech-level signal, 60-90 s quieter, 90-100 s in between.
    for (let i = 30 * rate; i < 60 * rate; i++) samples[i] = Math.sin(i) * 0.5;
    for (let i = 60 * rate; i < 90 * rate; i++) samples[i] = Math.sin(i) * 0.1;
    for (let i = 90 * rate; i < 100 * rate; i++) samples[i] = Math.sin(i) * 0.3;
    const w = languageWindow(samples, rate);
    assert.equal(w.length, 30 * rate);
    assert.equal(w.byteOffset, 30 * rate * 4);
    assert.equal(languageWindow(new Float32Array(5 * rate), rate).length, 5 * rate);
  });

  test('segments over digital silence are dropped (Whisper invents text there)', async () => {
    const asr = (await models.speechRecognizer())!;
    // The tiny decoder always claims "hello world" from 0 to 1 s.
    const silent = await asr.transcribe(new Float32Array(16000 * 4));
    assert.deepEqual(silent.segments, []);
    const quietStart = new Float32Array(16000 * 4);
    for (let i = 8000; i < 16000; i++) quietStart[i] = Math.sin(i / 5) * 0.02;
    assert.equal((await asr.transcribe(quietStart)).segments.length, 1);
  });

  test('Whisper runs in a process of its own that ends when idle and is started again when needed', async () => {
    const samples = pcm(['-f', 'lavfi', '-i', 'sine=frequency=300:duration=3']);
    const inProcess = (await inProcessSpeechRecognizer(config))!;
    const expected = await inProcess.transcribe(samples);
    assert.ok(expected.segments.length > 0);

    const asr = new SpeechProcess(config, 300);
    await asr.start();
    const first = asr.pid!;
    assert.ok(first > 0 && first !== process.pid);
    assert.equal(asr.modelId, 'onnx-community/whisper-base');
    // Samples cross the process boundary whole: the same result as in this process.
    assert.deepEqual(await asr.transcribe(samples), expected);
    assert.equal(asr.pid, first);
    // Ended by its idle timer (nothing else here stops it).
    while (asr.pid !== null) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await asr.transcribe(samples), expected);
    assert.ok(asr.pid && asr.pid !== first);
    asr.stop();
  });

  test('a speech process killed mid-recognition fails that call with the reason; the next call works', async () => {
    const asr = new SpeechProcess(config);
    await asr.start();
    const samples = pcm(['-f', 'lavfi', '-i', 'sine=frequency=300:duration=40']);
    const pending = asr.transcribe(samples);
    process.kill(asr.pid!, 'SIGKILL');
    await assert.rejects(pending, { message: 'speech recognition process exited (SIGKILL)' });
    assert.equal((await asr.transcribe(samples.subarray(0, 16000 * 3))).language, 'en');
    asr.stop();
  });

  test('empty audio gives no segments; wrong input type is refused', async () => {
    const asr = (await models.speechRecognizer())!;
    assert.deepEqual(await asr.transcribe(new Float32Array(0)), { language: null, segments: [] });
    await assert.rejects(asr.transcribe([0.1, 0.2] as unknown as Float32Array), /Float32Array/);
  });
});

describe('registry', () => {
  test('loads each model once per process', async () => {
    assert.equal(getModels(config), models);
    assert.equal(getModels(loadConfig({ ...process.env, MODELS_DIR: modelsDir, ORT_THREADS: '1' })), models);
    const [a, b] = await Promise.all([models.textEmbedder(), models.textEmbedder()]);
    assert.equal(a, b);
    assert.equal(await models.imageEmbedder(), await models.imageEmbedder());
    assert.equal(await models.tagger(), await models.tagger());
    assert.equal(await models.speechRecognizer(), await models.speechRecognizer());
    assert.notEqual(getModels(loadConfig({ ...process.env, MODELS_DIR: tmp })), models);
  });

  test('status reports every role, with sizes and widths of the present ones', async () => {
    const st = await models.status();
    assert.deepEqual(
      st.map((s) => s.role),
      ['text', 'vision', 'vision-text', 'asr', 'ocr', 'face'],
    );
    const byRole = Object.fromEntries(st.map((s) => [s.role, s]));
    assert.equal(byRole.text!.present, true);
    assert.equal(byRole.text!.dim, 1024);
    assert.equal(byRole.vision!.dim, 1152);
    assert.equal(byRole['vision-text']!.dim, 1152);
    assert.equal(byRole.asr!.present, true);
    assert.equal(byRole.text!.path, path.join(modelsDir, 'Xenova/bge-m3'));
    assert.ok(byRole.text!.bytes > 1_000_000);
    assert.equal(byRole.ocr!.present, true);
    // Shipped in npm like OCR: present whatever MODELS_DIR holds.
    assert.equal(byRole.face!.present, true);
    assert.equal(byRole.face!.dim, 128);
    await models.checkDimensions();
  });

  test('nothing above touched the network', () => {
    assert.equal(fetches, 0);
  });
});
