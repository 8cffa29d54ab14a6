/*
 * The cost stand-ins (models/cost/generate.ts) on the real loading path:
 * production widths, vocabularies of the test size and one layer per stack
 * (the production run differs only in layer count and vocabulary rows), so
 * the graph structure, the quantised operator pattern, the Whisper KV cache
 * and the stand-in label are all exercised in a few seconds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { generateCostModels, STAND_IN_MARKER, WHISPER_SHAPES } from '../../models/cost/generate.ts';
import { loadConfig } from '../../core/config.ts';
import {
  decodeCachedStepsWith,
  skipPassedThroughOutputs,
  type DecoderSession,
} from '../../worker/ml/cross-attention.ts';
import { getModels, inProcessSpeechRecognizer } from '../../worker/ml/index.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-cost-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const out = path.join(tmp, 'models');
const written = generateCostModels({ out, layers: 1, vocab: 4096 });
const config = loadConfig({ ...process.env, MODELS_DIR: out, ORT_THREADS: '1' });
const models = getModels(config);

const onnx = (id: string, f: string) => fs.readFileSync(path.join(out, id, f)).toString('latin1');
const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));

function jpeg(): Buffer {
  const r = spawnSync(
    'ffmpeg',
    ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=640x360', '-frames:v', '1', '-f', 'mjpeg', '-'],
    { maxBuffer: 1 << 26 },
  );
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

/** A 300 Hz tone, 16 kHz mono samples. */
function tone(seconds: number): Float32Array {
  const output = '-ac 1 -ar 16000 -f f32le -'.split(' ');
  const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `sine=f=300:d=${seconds}`, ...output], {
    maxBuffer: 1 << 26,
  });
  assert.equal(r.status, 0, String(r.stderr));
  return new Float32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.length));
}

describe('cost stand-ins', () => {
  test('are written under the production ids, with a stand-in marker, and skipped when up to date', () => {
    assert.deepEqual(
      written.map((w) => w.id),
      ['Xenova/bge-m3', 'onnx-community/siglip2-so400m-patch16-256-ONNX', 'onnx-community/whisper-base'],
    );
    for (const w of written) {
      assert.equal(w.written, true);
      const marker = JSON.parse(fs.readFileSync(path.join(w.dir, STAND_IN_MARKER), 'utf8'));
      assert.equal(marker.stand_in, 'cost');
      assert.ok(marker.parameters > 1e6, `${w.id}: ${marker.parameters} parameters`);
    }
    const again = generateCostModels({ out, layers: 1, vocab: 4096 });
    assert.deepEqual(
      again.map((w) => w.written),
      [false, false, false],
    );
  });

  test('q8 graphs use the dynamic int8 pattern; the fp32 Whisper encoder does not', () => {
    for (const [id, f] of [
      ['Xenova/bge-m3', 'onnx/model_quantized.onnx'],
      ['onnx-community/siglip2-so400m-patch16-256-ONNX', 'onnx/vision_model_quantized.onnx'],
      ['onnx-community/whisper-base', 'onnx/decoder_model_merged_quantized.onnx'],
    ]) {
      const g = onnx(id!, f!);
      assert.ok(g.includes('DynamicQuantizeLinear') && g.includes('MatMulInteger'), `${id}/${f} is not q8`);
    }
    const enc = onnx('onnx-community/whisper-base', 'onnx/encoder_model.onnx');
    assert.ok(!enc.includes('MatMulInteger') && enc.includes('MatMul'));
  });

  test('graph outputs are the outputs of the nodes that compute them, as in exported files', () => {
    // A copy per output per call would be time the real model never spends:
    // Whisper's decoder made 24 of them per token (3 MB each for the
    // cross-attention keys and values), a fifth of a decoder step. The only
    // copies an Optimum export makes are the cached branch handing the
    // cross-attention keys and values it was given back as outputs.
    // A node's op_type is its field 4 (tag 0x22), here 8 bytes long; node names contain the word too.
    const copies = (id: string, f: string) => onnx(id, f).split('\x22\x08Identity').length - 1;
    assert.equal(copies('Xenova/bge-m3', 'onnx/model_quantized.onnx'), 0);
    assert.equal(copies('onnx-community/siglip2-so400m-patch16-256-ONNX', 'onnx/vision_model_quantized.onnx'), 0);
    assert.equal(copies('onnx-community/siglip2-so400m-patch16-256-ONNX', 'onnx/text_model_quantized.onnx'), 0);
    assert.equal(copies('onnx-community/whisper-base', 'onnx/encoder_model.onnx'), 0);
    assert.equal(
      copies('onnx-community/whisper-base', 'onnx/decoder_model_merged_quantized.onnx'),
      2,
      'one layer: its key and value',
    );
    // Optimum's decoder for the cached steps takes the cross-attention tensors as inputs only: no copies.
    assert.equal(copies('onnx-community/whisper-base', 'onnx/decoder_with_past_model_quantized.onnx'), 0);
  });

  test('load through worker/ml and give unit vectors of the schema widths', async () => {
    const text = (await models.textEmbedder())!;
    const [a, b] = await text.embed(['a talk about search engines', 'a talk about search engines']);
    assert.equal(a!.length, 1024);
    assert.ok(Math.abs(norm(a!) - 1) < 1e-4);
    assert.deepEqual(a, b, 'equal texts give equal vectors (deterministic graph)');

    const image = (await models.imageEmbedder())!;
    const [iv] = await image.embedImages([jpeg()]);
    assert.equal(iv!.length, 1152);
    assert.ok(Math.abs(norm(iv!) - 1) < 1e-4);

    const tower = (await models.imageTextEmbedder())!;
    const [tv] = await tower.embed(['a photo of a dog']);
    assert.equal(tv!.length, 1152);
    assert.ok(iv!.every(Number.isFinite) && tv!.every(Number.isFinite));
  });

  test('Whisper-shaped decoding runs with its key/value cache and stops', async () => {
    const asr = (await models.speechRecognizer())!;
    const res = await asr.transcribe(tone(8));
    // Random weights pick some language and random timestamps (segments may all
    // fall past the audio's end and be dropped); what must hold is that
    // generation ran through the cached decoder and came back well-formed.
    assert.match(res.language ?? '', /^[a-z]{2,3}$/);
    assert.ok(Array.isArray(res.segments));
    for (const s of res.segments) assert.ok(s.start >= 0 && s.end <= 8 && s.text.length > 0);
  });

  test('the recogniser decodes the later steps on the decoder with past where the folder has it, the same as without', async () => {
    const id = 'onnx-community/whisper-base';
    const pastFile = 'onnx/decoder_with_past_model_quantized.onnx';
    // More model folders: one without the optional file, one where it is a graph of another
    // layout (the encoder), one where it is not an ONNX graph.
    const copy = (name: string) => {
      const dir = path.join(tmp, name);
      fs.cpSync(path.join(out, id), path.join(dir, id), { recursive: true });
      return { dir, file: path.join(dir, id, pastFile) };
    };
    const without = copy('without-past');
    fs.rmSync(without.file);
    const other = copy('other-past');
    fs.copyFileSync(path.join(other.dir, id, 'onnx/encoder_model.onnx'), other.file);
    const broken = copy('broken-past');
    fs.writeFileSync(broken.file, 'not a model');
    const recogniser = (dir: string) =>
      inProcessSpeechRecognizer(loadConfig({ ...process.env, MODELS_DIR: dir, ORT_THREADS: '1' }));

    // Which files onnxruntime opens, and how often each session runs.
    const runs = new Map<string, number>();
    const create = ort.InferenceSession.create;
    (ort.InferenceSession as any).create = async (...args: Parameters<typeof create>) => {
      const session = await (create as any)(...args);
      const name = typeof args[0] === 'string' ? path.basename(args[0]) : '(bytes)';
      const run = session.run.bind(session);
      session.run = (...a: unknown[]) => (runs.set(name, (runs.get(name) ?? 0) + 1), run(...a));
      return session;
    };
    try {
      const samples = tone(8);
      const withPast = await (await recogniser(out))!.transcribe(samples);
      const cachedSteps = runs.get(path.basename(pastFile)) ?? 0;
      assert.ok(cachedSteps > 10, `the decoder with past ran ${cachedSteps} steps`);
      runs.clear();
      const merged = await (await recogniser(without.dir))!.transcribe(samples);
      assert.equal(runs.get(path.basename(pastFile)), undefined);
      assert.deepEqual(withPast, merged, 'the same language and segments either way');
      // A with-past file that does not fit is opened, found not to fit and never run.
      runs.clear();
      assert.deepEqual(await (await recogniser(other.dir))!.transcribe(samples), merged);
      assert.equal(runs.get(path.basename(pastFile)), undefined);
    } finally {
      (ort.InferenceSession as any).create = create;
    }
    await assert.rejects(recogniser(broken.dir), (e: Error) => {
      assert.match(
        e.message,
        /model onnx-community\/whisper-base \(asr\): cannot load onnx\/decoder_with_past_model_quantized\.onnx/,
      );
      return true;
    });
  });

  test("Whisper's decoder is not asked again for the cross-attention keys and values it was given", async () => {
    const { d, heads } = WHISPER_SHAPES.base;
    const file = path.join(out, 'onnx-community/whisper-base/onnx/decoder_model_merged_quantized.onnx');
    const open = () => ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
    const [plain, skipping] = await Promise.all([open(), open()]);
    skipPassedThroughOutputs(skipping as unknown as DecoderSession);
    const layers = plain.outputNames.filter((n) => /^present\.\d+\.decoder\.key$/.test(n)).length;
    const kv = (len: number) =>
      new ort.Tensor('float32', new Float32Array(heads * len * (d / heads)), [1, heads, len, d / heads]);
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const first: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n]), [1, 3]),
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: 1500 * d }, random), [1, 1500, d]),
      use_cache_branch: new ort.Tensor('bool', Uint8Array.from([0]), [1]),
    };
    for (let i = 0; i < layers; i++)
      for (const k of ['key', 'value'])
        for (const part of ['decoder', 'encoder']) first[`past_key_values.${i}.${part}.${k}`] = kv(0);

    // The first step computes them: both sessions return every output, alike.
    const a1 = await plain.run(first);
    const b1 = await skipping.run(first);
    assert.deepEqual(Object.keys(b1).sort(), [...plain.outputNames].sort());
    for (const n of plain.outputNames) assert.deepEqual(b1[n]!.data, a1[n]!.data, n);

    // A later step: the plain session returns the cross-attention tensors unchanged (the premise);
    // the skipping one leaves exactly those out and returns everything else the same.
    const next: Record<string, ort.Tensor> = {
      ...first,
      input_ids: new ort.Tensor('int64', BigInt64Array.from([4n]), [1, 1]),
      use_cache_branch: new ort.Tensor('bool', Uint8Array.from([1]), [1]),
    };
    for (const n of plain.outputNames.filter((x) => x.startsWith('present.')))
      next[n.replace('present', 'past_key_values')] = a1[n]!;
    const a2 = await plain.run(next);
    const b2 = await skipping.run(next);
    const passed = plain.outputNames.filter((n) => /^present\.\d+\.encoder\./.test(n));
    assert.equal(passed.length, 2 * layers);
    for (const n of passed) assert.deepEqual(a2[n]!.data, a1[n]!.data, `${n} is the tensor it was given`);
    assert.deepEqual(Object.keys(b2).sort(), plain.outputNames.filter((n) => !passed.includes(n)).sort());
    for (const n of Object.keys(b2)) assert.deepEqual(b2[n]!.data, a2[n]!.data, n);
    // Named fetches are the caller's own.
    assert.deepEqual(
      Object.keys(await skipping.run(next, ['logits', passed[0]!])).sort(),
      [passed[0], 'logits'].sort(),
    );

    // Optimum's decoder for the cached steps, written beside the merged one.
    const pastFile = file.replace('decoder_model_merged', 'decoder_with_past_model');
    const [withPast, routed] = await Promise.all([
      ort.InferenceSession.create(pastFile, { intraOpNumThreads: 1 }),
      open(),
    ]);
    assert.ok(
      !withPast.inputNames.includes('encoder_hidden_states') && !withPast.inputNames.includes('use_cache_branch'),
    );
    assert.equal(
      decodeCachedStepsWith(routed as unknown as DecoderSession, withPast as unknown as DecoderSession),
      true,
    );
    const calls: string[] = [];
    const pastRun = withPast.run.bind(withPast);
    (withPast as any).run = (...a: Parameters<typeof pastRun>) => (calls.push('with past'), pastRun(...a));
    // The first step stays with the merged decoder and returns everything, the same.
    const c1 = await routed.run(first);
    assert.deepEqual(calls, []);
    for (const n of plain.outputNames) assert.deepEqual(c1[n]!.data, a1[n]!.data, n);
    // A cached step goes to the decoder with past and gives the merged decoder's changing outputs exactly.
    const c2 = await routed.run(next);
    assert.deepEqual(calls, ['with past']);
    assert.deepEqual(Object.keys(c2).sort(), Object.keys(b2).sort());
    for (const n of Object.keys(c2)) assert.deepEqual(c2[n]!.data, a2[n]!.data, n);
    // Named fetches stay with the merged decoder.
    assert.deepEqual(Object.keys(await routed.run(next, ['logits', passed[0]!])).sort(), [passed[0], 'logits'].sort());
    assert.equal(calls.length, 1);
    // A decoder of another layout (here the merged one, which returns more) is not used.
    assert.equal(
      decodeCachedStepsWith(plain as unknown as DecoderSession, skipping as unknown as DecoderSession),
      false,
    );
    await Promise.all([plain.release(), skipping.release(), withPast.release(), routed.release()]);
  });

  test('models status labels them as stand-ins', async () => {
    const status = await models.status();
    for (const role of ['text', 'vision', 'vision-text', 'asr'] as const) {
      const s = status.find((x) => x.role === role)!;
      assert.equal(s.present, true, role);
      assert.equal(s.standIn, 'cost', role);
    }
    assert.equal(status.find((x) => x.role === 'ocr')!.standIn, undefined, 'OCR is the real PP-OCRv4');
  });
});
