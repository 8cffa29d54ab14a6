/*
 * Load time, per-item latency and memory of each model through the registry.
 * Timing lives here, not in tests. Without MODELS_DIR it measures the tiny
 * test models (a check of the plumbing's overhead, not of model speed); point
 * MODELS_DIR at a pulled cache to measure the real models on this machine.
 *
 *   node scripts/bench-models.ts [--items N] [--only text,vision,vision-text,asr]
 *
 * With the cost stand-ins (MODELS_DIR=.test-data/cost-models, see
 * models/cost/generate.ts) it measures what the production models would cost;
 * MODEL_ASR picks the Whisper shape, --only asr skips the rest (the tagger's
 * label embedding alone takes minutes at production size). With text and
 * vision-text both measured, it also times a new two-word query through
 * both at once, as searchScenes embeds one.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateTinyModels } from '../models/tiny/generate.ts';
import { loadConfig } from '../core/config.ts';
import { getModels } from '../worker/ml/index.ts';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '32' },
    only: { type: 'string' },
    'asr-seconds': { type: 'string', default: '60' },
  },
});
// Two at least: the first call warms the session, the second is the one timed.
const items = Math.max(2, Number.parseInt(values.items!, 10));
const only = new Set(values.only ? values.only.split(',') : ['text', 'vision', 'vision-text', 'asr']);
/** Peak resident set of this process so far (MB). */
const peakMb = () => {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Math.round(Number(m[1]) / 1024) : 0;
};
const env = { ...process.env };
if (!env.MODELS_DIR) env.MODELS_DIR = generateTinyModels().out;
const config = loadConfig(env);
const models = getModels(config);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-bench-'));
const mb = () => Math.round(process.memoryUsage().rss / 1e6);
const rows: Record<string, string | number>[] = [];

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', ...args], { maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  return r.stdout;
}

try {
  console.log(
    `models: ${config.models.dir}; ORT threads: ${config.models.ortThreads || os.availableParallelism()}; rss at start ${mb()} MB`,
  );
  const texts = Array.from(
    { length: items },
    (_, i) => `scene ${i}: a person walks a dog along the beach at sunset while talking about the weather`,
  );

  const [te, teLoad] = await time(async () => (only.has('text') ? models.textEmbedder() : null));
  if (te) {
    await te.embed([texts[0]!]);
    const [, one] = await time(() => te.embed([texts[1]!]));
    const [, many] = await time(() => te.embed(texts));
    rows.push({
      role: 'text',
      id: te.modelId,
      load_ms: teLoad.toFixed(0),
      single_ms: one.toFixed(1),
      per_item_batched_ms: (many / items).toFixed(2),
      rss_mb: mb(),
    });
  }

  const frames = Array.from({ length: Math.min(items, 16) }, (_, i) => {
    const f = path.join(tmp, `f${i}.jpg`);
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=s=1280x720:d=1`, '-vf', `hue=h=${i * 20}`, '-frames:v', '1', f]);
    return f;
  });
  const [ie, ieLoad] = await time(async () => (only.has('vision') ? models.imageEmbedder() : null));
  if (ie) {
    await ie.embedImages([frames[0]!]);
    const [, one] = await time(() => ie.embedImages([frames[1]!]));
    const [vecs, many] = await time(() => ie.embedImages(frames));
    rows.push({
      role: 'vision',
      id: ie.modelId,
      load_ms: ieLoad.toFixed(0),
      single_ms: one.toFixed(1),
      per_item_batched_ms: (many / frames.length).toFixed(2),
      rss_mb: mb(),
    });
    const [tagger, tagLoad] = await time(() => models.tagger());
    if (tagger) {
      const [, tagOne] = await time(() => tagger.tag(vecs[0]!, 5));
      rows.push({
        role: 'tagger',
        id: tagger.modelId,
        load_ms: tagLoad.toFixed(0),
        single_ms: tagOne.toFixed(2),
        per_item_batched_ms: '',
        rss_mb: mb(),
      });
    }
  }

  const [it, itLoad] = await time(async () => (only.has('vision-text') ? models.imageTextEmbedder() : null));
  if (it) {
    await it.embed(['warm up']);
    const [, one] = await time(() => it.embed(['a dog on a beach']));
    const [, many] = await time(() => it.embed(texts));
    rows.push({
      role: 'vision-text',
      id: it.modelId,
      load_ms: itLoad.toFixed(0),
      single_ms: one.toFixed(1),
      per_item_batched_ms: (many / items).toFixed(2),
      rss_mb: mb(),
    });
  }

  // What a search with a query not seen before waits for: searchScenes embeds
  // it with both encoders at once (server/plugins/search.ts) before any SQL.
  // Two words, as people search; SigLIP's tower reads 64 tokens whatever the
  // query, BGE-M3 only the query's own.
  if (te && it) {
    const query = ['dog beach', 'rocket launch', 'red car', 'ocean waves', 'city night'];
    const waits: number[] = [];
    for (const q of query) waits.push((await time(() => Promise.all([te.embed([q]), it.embed([q])])))[1]);
    waits.sort((a, b) => a - b);
    rows.push({
      role: 'a new query',
      id: 'text + vision-text at once',
      load_ms: '',
      single_ms: waits[Math.floor(waits.length / 2)]!.toFixed(1),
      per_item_batched_ms: `median of ${waits.length} two-word queries (${waits[0]!.toFixed(0)}-${waits.at(-1)!.toFixed(0)})`,
      rss_mb: mb(),
    });
  }

  const [asr, asrLoad] = await time(async () => (only.has('asr') ? models.speechRecognizer() : null));
  if (asr) {
    const wav = path.join(tmp, 'speech.wav');
    spawnSync('espeak-ng', ['-w', wav, 'The quick brown fox jumps over the lazy dog. '.repeat(6)]);
    // Looped: speech throughout, with the pauses between sentences that long
    // audio has (a talk, not one sentence and then silence).
    const raw = ffmpeg([
      '-stream_loop',
      '-1',
      '-i',
      wav,
      '-t',
      values['asr-seconds']!,
      '-ac',
      '1',
      '-ar',
      '16000',
      '-f',
      'f32le',
      '-',
    ]);
    const samples = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const cpu0 = process.cpuUsage();
    const [res, ms] = await time(() => asr.transcribe(samples));
    const cpu = process.cpuUsage(cpu0);
    const seconds = samples.length / 16000;
    rows.push({
      role: 'asr',
      id: asr.modelId,
      load_ms: asrLoad.toFixed(0),
      single_ms: `${ms.toFixed(0)} for ${seconds}s`,
      per_item_batched_ms: `RTF ${(ms / 1000 / seconds).toFixed(3)}; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ${res.segments.length} segments, ${res.language}`,
      rss_mb: mb(),
      peak_rss_mb: peakMb(),
    });
  }
  console.table(rows);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
