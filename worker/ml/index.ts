/*
 * The one place that loads model sessions. getModels(config) returns a
 * process-wide registry; each getter loads its model on first use and hands
 * every later caller the same instance, so a worker never holds two copies of
 * a 1 GB session and the server's query encoder is the worker's encoder.
 * Under a memory budget (the worker's WORKER_MODEL_MEMORY_MB) the large
 * sessions take turns behind that same instance (Resident, below).
 *
 * Absence is normal (an offline install without `heimdex models pull`): the
 * getter resolves null and the pipeline skips that modality. A folder that is
 * there but broken is an operator error and throws, naming the model.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import {
  AutoModel,
  AutoProcessor,
  AutoTokenizer,
  RawImage,
  SiglipTextModel,
  SiglipVisionModel,
  Tensor,
  cat,
  env,
  pipeline,
  type AutomaticSpeechRecognitionPipeline,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import type { Config } from '../../core/config.ts';
import { faceThreads, loadFaceThreads, type FaceThreads } from './face-threads.ts';
import { FACE_NETS, faceModelFiles, type FaceAnalyzerOptions } from './faces.ts';
import { loadTextReader, ocrModelFiles } from './ocr.ts';
import { readLabels, readManifest, resolveModel, ROLES, type ResolvedModel } from './manifest.ts';
import { labelVectorsInChild } from './label-vectors.ts';
import { SpeechProcess } from './speech-process.ts';
import { decodeCachedStepsWith, skipPassedThroughOutputs, type DecoderSession } from './cross-attention.ts';
import { useFastTimestampRule } from './timestamp-rule.ts';
import type {
  FaceAnalyzer,
  ImageEmbedder,
  ImageTextEmbedder,
  ModelRole,
  ModelStatus,
  SpeechRecognizer,
  Tagger,
  TextEmbedder,
  TextReader,
  TranscriptSegment,
} from './types.ts';
import { dropRepeats } from './repeats.ts';
import { ortThreadOptions } from './ort-options.ts';
import { withoutModelFileStreams } from './local-files.ts';
import { samePicture, sketch, type PictureSketch } from './same-picture.ts';

export { pullModels, type PullProgress, type PullOptions } from './pull.ts';
export type * from './types.ts';

type ModelsConfig = Pick<Config, 'models'>;

export interface ModelRegistry {
  textEmbedder(): Promise<TextEmbedder | null>;
  imageEmbedder(): Promise<ImageEmbedder | null>;
  imageTextEmbedder(): Promise<ImageTextEmbedder | null>;
  tagger(): Promise<Tagger | null>;
  speechRecognizer(): Promise<SpeechRecognizer | null>;
  textReader(): Promise<TextReader | null>;
  faceAnalyzer(): Promise<FaceAnalyzer | null>;
  status(): Promise<ModelStatus[]>;
  checkDimensions(): Promise<void>;
  /** Roles whose large sessions are loaded in this process now (released ones load again on use). */
  loaded(): ModelRole[];
}

/** Vector widths of the schema's columns (app_public.scenes, see sql/schema.sql). */
export const SCHEMA_DIMS = {
  text: { column: 'scenes.text_vec', dim: 1024 },
  image: { column: 'scenes.image_vec', dim: 1152 },
  face: { column: 'faces.embedding', dim: 128 },
} as const;

// Batches bound peak memory. The so400m tower's arena, grown to its largest
// batch, held ~400 MB after batches of 8 images at 256² and ~200 MB after
// batches of 4, at the same CPU time per image (BENCHMARKS.md).
const TEXT_BATCH = 16;
const IMAGE_BATCH = 4;
// A text batch's activations grow with sequences x padded length (and its
// attention with the square of the length): 16 transcripts padded to 512
// tokens hold over 1 GB per attention layer in BGE-M3. Texts go in batches
// of similar length (less padding, too) within this many tokens.
const TEXT_BATCH_TOKENS = 4096;
const TEXT_BATCH_MAX = 32;

/**
 * Indexes of the items, in batches of similar length: each batch at most
 * TEXT_BATCH_MAX items and, padded to its longest, at most TEXT_BATCH_TOKENS
 * tokens (a single longer item goes alone).
 */
export function tokenBatches(lengths: number[], maxTokens = TEXT_BATCH_TOKENS, maxItems = TEXT_BATCH_MAX): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  for (const i of order) {
    // Sorted ascending, so the item being added is the batch's longest.
    if (cur.length && (cur.length >= maxItems || (cur.length + 1) * lengths[i]! > maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length) batches.push(cur);
  return batches;
}

function tokenCount(tokenizer: PreTrainedTokenizer, text: string, maxLength: number): number {
  return Math.min(maxLength, tokenizer.encode(text).length);
}

const registries = new Map<string, ModelRegistry>();

/**
 * The tagger's label vectors, from a file beside the models when one was
 * written for exactly this text tower, vocabulary and prompt. Computing them
 * is ~400 prompts through the text tower: for SigLIP so400m's 27-layer tower
 * about 22 TFLOP, minutes of CPU that every worker start would otherwise
 * spend before indexing its first video. The key covers the model's files
 * (name, size, modification time), its config and the prompts, so a changed
 * model or vocabulary is never served stale vectors. A models folder that
 * cannot be written (a read-only volume) only costs the recomputation.
 * They are computed in a child process (label-vectors.ts), so the worker
 * never holds the text tower.
 */
async function cachedLabelVectors(
  config: ModelsConfig,
  m: ResolvedModel,
  dim: number,
  labels: string[],
  prompt: string,
): Promise<Float32Array[]> {
  const prompts = labels.map((l) => prompt.replace('{label}', l));
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ id: m.id, dtype: m.dtype, dim, prompts }));
  for (const f of ['config.json', ...m.files]) {
    const st = fs.statSync(path.join(m.dir, f));
    h.update(`\0${f}\0${st.size}\0${st.mtimeMs}`);
  }
  h.update(fs.readFileSync(path.join(m.dir, 'config.json')));
  const file = path.join(config.models.dir, '.cache', `tag-labels-${h.digest('hex').slice(0, 32)}.f32`);
  const bytes = prompts.length * dim * 4;
  try {
    const raw = fs.readFileSync(file);
    if (raw.length === bytes) {
      const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      return prompts.map((_, i) => all.subarray(i * dim, (i + 1) * dim));
    }
  } catch {
    // No cache yet.
  }
  let vecs: Float32Array[];
  try {
    vecs = await labelVectorsInChild(config, prompts);
  } catch (e) {
    throw new Error(`tagger: the label vectors of ${m.id} could not be computed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (vecs.length !== prompts.length || vecs.some((v) => v.length !== dim)) {
    throw new Error(
      `tagger: ${m.id} gave ${vecs.length} label vectors of ${vecs[0]?.length} dims, not ${prompts.length} of ${dim}`,
    );
  }
  try {
    const all = new Float32Array(prompts.length * dim);
    vecs.forEach((v, i) => all.set(v, i * dim));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Written whole then renamed, so a concurrent worker never reads half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, new Uint8Array(all.buffer));
    fs.renameSync(tmp, file);
  } catch {
    // Read-only models folder: recompute next time.
  }
  return vecs;
}

/**
 * The process-wide registry for this configuration (same models dir and overrides → same instance).
 * memoryMb: what its large models may hold at once (WORKER_MODEL_MEMORY_MB; 0 or absent: no limit).
 */
export function getModels(
  config: ModelsConfig,
  opts: { face?: FaceAnalyzerOptions; memoryMb?: number } = {},
): ModelRegistry {
  // A registry with explicit face options (tests, benchmarks) is never shared.
  if (opts.face) return createRegistry(config, opts);
  const m = config.models;
  const key = JSON.stringify([m.dir, m.overrides, m.ortThreads, m.ortSpinning, m.faceThreads, opts.memoryMb ?? 0]);
  let r = registries.get(key);
  if (!r) {
    r = createRegistry(config, { memoryMb: opts.memoryMb });
    registries.set(key, r);
  }
  return r;
}

class ModelLoadError extends Error {}

/**
 * A model's output cannot be stored (a zero or non-finite vector). A model
 * gives the same output for the same input every time, so retrying only
 * repeats the failure; the video fails once, naming the model.
 */
export class ModelOutputError extends Error {}

function l2normalize(v: Float32Array, what: string): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (!(n > 0) || !Number.isFinite(n))
    throw new ModelOutputError(
      `${what} produced a zero or non-finite vector. A model gives the same output every time, so this is not retried: check the model files (heimdex models status), then re-index the video`,
    );
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n;
  return out;
}

function rows(t: Tensor, what: string): Float32Array[] {
  const [n, d] = t.dims as [number, number];
  if (t.dims.length !== 2) throw new Error(`${what}: expected a [batch, dim] output, got [${t.dims.join(', ')}]`);
  const data = t.data as Float32Array;
  return Array.from({ length: n }, (_, i) => l2normalize(data.subarray(i * d, (i + 1) * d), what));
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}

/**
 * 'absent' when the model was never installed (no folder, or no config.json,
 * which `models pull` writes last); throws, naming what is missing, when the
 * folder is there but incomplete.
 */
function presence(m: ResolvedModel): 'absent' | 'present' {
  if (!fs.existsSync(path.join(m.dir, 'config.json'))) return 'absent';
  const missing = m.files.filter((f) => !fs.existsSync(path.join(m.dir, f)));
  if (missing.length) {
    throw new ModelLoadError(
      `model ${m.id} (${m.role}) in ${m.dir} is incomplete: missing ${missing.join(', ')}; run "heimdex models pull"`,
    );
  }
  return 'present';
}

/**
 * Generated stand-ins carry a marker (models/cost/generate.ts writes
 * heimdex-stand-in.json; the tiny test models flag their config.json), so a
 * folder of random weights under a production id is never reported as the
 * real model.
 */
function standInKind(m: ResolvedModel): ModelStatus['standIn'] {
  if (fs.existsSync(path.join(m.dir, 'heimdex-stand-in.json'))) return 'cost';
  try {
    if (readModelConfig(m).heimdex_tiny) return 'tiny';
  } catch {
    /* no readable config: not a stand-in we know of */
  }
  return undefined;
}

function readModelConfig(m: ResolvedModel): Record<string, any> {
  const file = path.join(m.dir, 'config.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, any>;
  } catch (e) {
    throw new ModelLoadError(`model ${m.id} (${m.role}): cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Output width as the model's config declares it. */
function configuredDim(m: ResolvedModel, cfg: Record<string, any>): number | undefined {
  switch (m.role) {
    case 'text':
      return cfg.hidden_size;
    case 'vision':
      return cfg.vision_config?.hidden_size ?? cfg.hidden_size;
    case 'vision-text':
      return cfg.text_config?.projection_size ?? cfg.text_config?.hidden_size ?? cfg.hidden_size;
    default:
      return undefined;
  }
}

/**
 * The speech recogniser loaded in this process: what the speech process
 * (speech-process.ts) runs. Everyone else gets it through getModels, which
 * keeps Whisper out of the worker's memory.
 */
export function inProcessSpeechRecognizer(config: ModelsConfig): Promise<SpeechRecognizer | null> {
  return createRegistry(config, { speechInProcess: true }).speechRecognizer();
}

interface RegistryOptions {
  face?: FaceAnalyzerOptions;
  speechInProcess?: boolean;
  memoryMb?: number;
}

/**
 * A large model session that may be released while nobody uses it and loaded
 * again on the next use. Callers run inference inside use(), which keeps the
 * session from being released under them; between calls the registry may
 * release it to make room for another model (makeRoom).
 */
class Resident<T> {
  readonly role: ModelRole;
  busy = 0;
  /** Order of last use (a counter shared by the registry's residents). */
  lastUsed = 0;
  /** Estimated memory once loaded and run. */
  readonly bytes: number;
  #value: Promise<T> | null = null;
  #load: () => Promise<T>;
  #unload: (t: T) => Promise<unknown>;
  #makeRoom: (r: Resident<any>) => Promise<void>;
  #tick: () => number;

  constructor(
    role: ModelRole,
    bytes: number,
    load: () => Promise<T>,
    unload: (t: T) => Promise<unknown>,
    makeRoom: (r: Resident<any>) => Promise<void>,
    tick: () => number,
  ) {
    this.role = role;
    this.bytes = bytes;
    this.#load = load;
    this.#unload = unload;
    this.#makeRoom = makeRoom;
    this.#tick = tick;
  }

  get loaded(): boolean {
    return this.#value !== null;
  }

  async use<R>(fn: (t: T) => Promise<R>): Promise<R> {
    // Counted as busy before it loads, so a concurrent makeRoom never releases a session being loaded.
    this.busy++;
    try {
      if (!this.#value) {
        const p = this.#makeRoom(this).then(() => this.#load());
        this.#value = p;
        p.catch(() => {
          if (this.#value === p) this.#value = null;
        });
      }
      return await fn(await this.#value);
    } finally {
      this.busy--;
      this.lastUsed = this.#tick();
    }
  }

  /** Only called while busy is 0; the next use() loads it again. */
  async release(): Promise<void> {
    const v = this.#value;
    this.#value = null;
    // A session that fails to release is garbage either way; the caller is loading another model and must not fail for it.
    if (v) await v.then(this.#unload).catch(() => {});
  }
}

/** Twice the ONNX files: BGE-M3 and so400m measured 1.9x once loaded and run (weights, prepacked copies, arenas). */
function residentBytes(m: ResolvedModel): number {
  let n = 0;
  for (const f of m.files) {
    if (!/\.onnx(_data)?$/.test(f)) continue;
    try {
      n += fs.statSync(path.join(m.dir, f)).size;
    } catch {
      /* absent files fail the load itself, naming the model */
    }
  }
  return 2 * n;
}

/**
 * Whisper's decoder for the cached steps (cross-attention.ts), opened when the
 * model folder has it and wired into the merged decoder; null, and nothing
 * opened, when the folder lacks it or its layout does not fit.
 */
async function decoderWithPast(
  m: ResolvedModel,
  merged: DecoderSession | undefined,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession | null> {
  const file = m.optional_files?.find((f) => f.startsWith('onnx/decoder_with_past_model'));
  if (!merged || !file || !fs.existsSync(path.join(m.dir, file))) return null;
  const session = await ort.InferenceSession.create(path.join(m.dir, file), options).catch((e: Error) => {
    throw new ModelLoadError(`model ${m.id} (asr): cannot load ${file}: ${e.message}`, { cause: e });
  });
  if (decodeCachedStepsWith(merged, session as unknown as DecoderSession)) return session;
  await session.release();
  return null;
}

function createRegistry(config: ModelsConfig, opts: RegistryOptions = {}): ModelRegistry {
  const session_options = ortThreadOptions(config);
  // For inputs whose shape changes from call to call (texts of any length,
  // Whisper's decoder one token longer each step) onnxruntime's memory
  // pattern, a plan cached per input shape, only adds allocations: without it
  // BGE-M3 embedding texts of mixed lengths held ~200 MB less at the same CPU
  // time (BENCHMARKS.md). Turning the whole arena off cost 3x the CPU.
  const varying_session_options = { ...session_options, enableMemPattern: false };
  const cache = new Map<string, Promise<unknown>>();
  const budget = (opts.memoryMb ?? 0) * 1024 * 1024;
  const residents: Resident<any>[] = [];
  let clock = 0;
  /** The speech process once started (not in the speech process itself). */
  let speechHost: SpeechProcess | null = null;
  /** The face threads once loaded. */
  let faces: FaceThreads | null = null;

  /*
   * Releasing a session inside the process does not hand its memory back to
   * the system (glibc keeps the freed heap), but the next model loads into
   * that heap: BGE-M3 run then released, so400m loaded and run after it, held
   * 1.3 GB at the peak against 2.0 GB with both kept (BENCHMARKS.md). So a
   * worker's peak is its largest model rather than the sum of them.
   */
  async function makeRoom(r: Resident<any>): Promise<void> {
    if (!budget) return;
    let total = r.bytes;
    for (const x of residents) if (x !== r && x.loaded) total += x.bytes;
    const idle = residents.filter((x) => x !== r && x.loaded && x.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const x of idle) {
      if (total <= budget) break;
      total -= x.bytes;
      await x.release();
    }
  }

  /** Under a budget only: without one every model stays loaded, as the operator asked. */
  async function releaseIdle(): Promise<void> {
    if (!budget) return;
    for (const r of residents) if (r.loaded && r.busy === 0) await r.release();
    await faces?.release();
  }

  /** A session under the memory budget, loaded now so that a broken model fails here, naming it. */
  async function resident<T>(m: ResolvedModel, load: () => Promise<T>, unload: (t: T) => Promise<unknown>) {
    const r = new Resident(m.role, residentBytes(m), load, unload, makeRoom, () => ++clock);
    residents.push(r);
    try {
      await r.use(async () => {});
    } catch (e) {
      residents.splice(residents.indexOf(r), 1);
      throw e;
    }
    return r;
  }

  function once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      cache.set(key, p);
      // A failed load (e.g. a file being copied in) may succeed later.
      p.catch(() => cache.delete(key));
    }
    return p;
  }

  /** Runs a transformers.js load with this registry's folder; loads are serialised because env is global. */
  async function withEnv<T>(m: ResolvedModel, load: () => Promise<T>): Promise<T> {
    return serialise(async () => {
      env.allowLocalModels = true;
      env.allowRemoteModels = false;
      env.localModelPath = config.models.dir;
      try {
        return await withoutModelFileStreams(config.models.dir, load);
      } catch (e) {
        throw new ModelLoadError(
          `model ${m.id} (${m.role}) could not be loaded from ${m.dir}: ${(e as Error).message}`,
          { cause: e },
        );
      }
    });
  }

  function textEmbedder(): Promise<TextEmbedder | null> {
    return once('text', async () => {
      const m = resolveModel(config, 'text');
      if (presence(m) === 'absent') return null;
      const session = await resident(
        m,
        () =>
          withEnv(m, () =>
            AutoModel.from_pretrained(m.id, {
              dtype: m.dtype as any,
              session_options: varying_session_options,
              local_files_only: true,
            }),
          ),
        (model) => model.dispose(),
      );
      const tokenizer = await withEnv(m, () => AutoTokenizer.from_pretrained(m.id, { local_files_only: true }));
      // BGE-M3 accepts 8192 tokens, but attention memory grows with the square
      // of the padded length: a batch of long OCR dumps at 8192 would need
      // gigabytes. A scene's transcript is at most SCENE_MAX_S of speech.
      const maxLength = m.max_length ?? 512;
      const embedder: TextEmbedder = {
        modelId: m.id,
        dim: 1024,
        async embed(texts) {
          texts.forEach((t, i) => {
            if (typeof t !== 'string' || t.trim() === '') throw new Error(`text embedding: input #${i} is empty`);
          });
          const out: Float32Array[] = new Array(texts.length);
          for (const batch of tokenBatches(texts.map((t) => tokenCount(tokenizer, t, maxLength)))) {
            const inputs = tokenizer(
              batch.map((i) => texts[i]!),
              { padding: true, truncation: true, max_length: maxLength },
            );
            const { last_hidden_state } = await session.use(
              (model) => model(inputs) as Promise<Record<string, Tensor>>,
            );
            // BGE-M3's dense vector is the [CLS] (first) hidden state, L2-normalised.
            const cls = (last_hidden_state as Tensor).slice(null, 0, null);
            rows(cls, `model ${m.id}`).forEach((v, k) => (out[batch[k]!] = v));
          }
          return out;
        },
      };
      return embedder;
    });
  }

  function imageEmbedder(): Promise<ImageEmbedder | null> {
    return once('vision', async () => {
      const m = resolveModel(config, 'vision');
      if (presence(m) === 'absent') return null;
      const session = await resident(
        m,
        () =>
          withEnv(m, () =>
            SiglipVisionModel.from_pretrained(m.id, { dtype: m.dtype as any, session_options, local_files_only: true }),
          ),
        (model) => model.dispose(),
      );
      const processor = await withEnv(m, () => AutoProcessor.from_pretrained(m.id, { local_files_only: true }));
      const levelsPerUnit = inputLevels((processor as any).image_processor);
      const embedder: ImageEmbedder = {
        modelId: m.id,
        dim: 1152,
        async embedImages(images) {
          // A picture seen earlier in the call (same-picture.ts) takes that
          // picture's vector; the others go through the tower IMAGE_BATCH at a time.
          const vecs: Float32Array[] = [];
          const seen: PictureSketch[] = [];
          const pictureOf: number[] = [];
          let batch: { inputs: Record<string, Tensor>; picture: number }[] = [];
          const flush = async () => {
            if (!batch.length) return;
            // Every tensor the processor gave, batched as it would have batched them.
            const inputs = Object.fromEntries(
              Object.keys(batch[0]!.inputs).map((k) => [
                k,
                cat(
                  batch.map((b) => b.inputs[k]!),
                  0,
                ),
              ]),
            );
            const res = await session.use((model) => model(inputs) as Promise<Record<string, Tensor>>);
            rows(res.pooler_output ?? res.image_embeds, `model ${m.id}`).forEach(
              (v, k) => (vecs[batch[k]!.picture] = v),
            );
            batch = [];
          };
          for (const [i, img] of images.entries()) {
            const processed = (await processor([await readImage(img, i)])) as Record<string, unknown>;
            const inputs = Object.fromEntries(
              Object.entries(processed).filter((e): e is [string, Tensor] => e[1] instanceof Tensor),
            );
            const pixels = inputs.pixel_values!;
            const s = sketch(pixels.data as Float32Array, pixels.dims, levelsPerUnit);
            const earlier = seen.findIndex((t) => samePicture(t, s));
            if (earlier >= 0) {
              pictureOf.push(earlier);
              continue;
            }
            pictureOf.push(seen.length);
            batch.push({ inputs, picture: seen.length });
            seen.push(s);
            if (batch.length === IMAGE_BATCH) await flush();
          }
          await flush();
          return pictureOf.map((p) => vecs[p]!.slice());
        },
      };
      return embedder;
    });
  }

  function imageTextEmbedder(): Promise<ImageTextEmbedder | null> {
    return once('vision-text', async () => {
      const m = resolveModel(config, 'vision-text');
      if (presence(m) === 'absent') return null;
      const cfg = readModelConfig(m);
      const maxLength: number = m.max_length ?? cfg.text_config?.max_position_embeddings ?? 64;
      const session = await resident(
        m,
        () =>
          withEnv(m, () =>
            SiglipTextModel.from_pretrained(m.id, { dtype: m.dtype as any, session_options, local_files_only: true }),
          ),
        (model) => model.dispose(),
      );
      const tokenizer = await withEnv(m, () => AutoTokenizer.from_pretrained(m.id, { local_files_only: true }));
      const embedder: ImageTextEmbedder = {
        modelId: m.id,
        dim: 1152,
        async embed(texts) {
          texts.forEach((t, i) => {
            if (typeof t !== 'string' || t.trim() === '') throw new Error(`image-text embedding: input #${i} is empty`);
          });
          const out: Float32Array[] = [];
          for (let i = 0; i < texts.length; i += TEXT_BATCH) {
            // SigLIP was trained on lower-cased text padded to exactly max_length;
            // other padding changes the vectors.
            const inputs = tokenizer(
              texts.slice(i, i + TEXT_BATCH).map((t) => t.toLowerCase()),
              {
                padding: 'max_length',
                truncation: true,
                max_length: maxLength,
              },
            );
            const res = await session.use((model) => model(inputs) as Promise<Record<string, Tensor>>);
            out.push(...rows(res.pooler_output ?? res.text_embeds, `model ${m.id}`));
          }
          return out;
        },
      };
      return embedder;
    });
  }

  function tagger(): Promise<Tagger | null> {
    return once('tagger', async () => {
      const m = resolveModel(config, 'vision-text');
      if (presence(m) === 'absent') return null;
      const labels = readLabels();
      const prompt = m.prompt ?? 'a photo of a {label}';
      const labelVecs = await cachedLabelVectors(config, m, SCHEMA_DIMS.image.dim, labels, prompt);
      const scale = m.calibration?.logit_scale ?? 10;
      const bias = m.calibration?.logit_bias ?? -10;
      const t: Tagger = {
        modelId: m.id,
        async tag(imageVec, topK = 5) {
          if (imageVec.length !== labelVecs[0]!.length) {
            throw new Error(`tagger: image vector has ${imageVec.length} dims, labels have ${labelVecs[0]!.length}`);
          }
          const scored = labels.map((label, i) => {
            const v = labelVecs[i]!;
            let cos = 0;
            for (let k = 0; k < v.length; k++) cos += v[k]! * imageVec[k]!;
            return { label, score: 1 / (1 + Math.exp(-(scale * cos + bias))) };
          });
          scored.sort((a, b) => b.score - a.score);
          return scored.slice(0, Math.max(0, topK));
        },
      };
      return t;
    });
  }

  function speechRecognizer(): Promise<SpeechRecognizer | null> {
    return once('asr', async () => {
      const m = resolveModel(config, 'asr');
      if (presence(m) === 'absent') return null;
      if (!opts.speechInProcess) {
        const proc = new SpeechProcess(config);
        speechHost = proc;
        // Loaded now, so a broken model fails here, naming it, as every other getter does.
        await proc.start().catch((e: Error) => {
          throw new ModelLoadError(e.message, { cause: e });
        });
        // Always there, also once this process holds the picture models (speech-process.ts says why).
        return {
          modelId: proc.modelId,
          // The speech phase is minutes without a picture model: the idle ones
          // go, so the worker and its speech process do not hold both at once
          // (2.7 GB on a worker's second video with both encoders kept, 2.0
          // with them released; BENCHMARKS.md). They load again once per
          // video, not per chunk: a video's speech jobs all run before its
          // index jobs.
          async transcribe(samples) {
            // The recognition first: it marks the process busy before anything can end it as idle.
            const [heard] = await Promise.all([proc.transcribe(samples), releaseIdle()]);
            return heard;
          },
        } satisfies SpeechRecognizer;
      }
      const asr = (await withEnv(m, () =>
        pipeline('automatic-speech-recognition', m.id, {
          dtype: m.dtype as any,
          session_options: varying_session_options,
          local_files_only: true,
        }),
      )) as AutomaticSpeechRecognitionPipeline;
      const merged = (asr.model as any).sessions?.decoder_model_merged as DecoderSession | undefined;
      const withPast = await decoderWithPast(m, merged, varying_session_options);
      if (!withPast) skipPassedThroughOutputs(merged);
      useFastTimestampRule();
      const gen = (asr.model as any).generation_config as Record<string, any> | null;
      const langToId: Record<string, number> | undefined = gen?.lang_to_id;
      const multilingual = Boolean(gen?.is_multilingual && langToId && Object.keys(langToId).length);
      const sampleRate: number = (asr.processor as any).feature_extractor?.config?.sampling_rate ?? 16000;

      /**
       * transformers.js does not detect the language (it defaults to English),
       * so do what Whisper itself does: one decoder step after
       * <|startoftranscript|> on 30 s of audio, and take the most likely
       * language token.
       */
      async function detectLanguage(samples: Float32Array): Promise<string | null> {
        if (!multilingual) return gen?.lang_to_id ? null : 'en';
        const { input_features } = await (asr.processor as any)(languageWindow(samples, sampleRate));
        const sot = BigInt(gen!.decoder_start_token_id);
        const out = await (asr.model as any)({ input_features, decoder_input_ids: new Tensor('int64', [sot], [1, 1]) });
        const logits = out.logits as Tensor;
        const vocab = logits.dims.at(-1)!;
        const data = logits.data as Float32Array;
        const last = data.subarray(data.length - vocab);
        let best: string | null = null;
        let bestLogit = -Infinity;
        for (const [token, id] of Object.entries(langToId!)) {
          if (last[id]! > bestLogit) {
            bestLogit = last[id]!;
            best = token.slice(2, -2);
          }
        }
        return best;
      }

      const recognizer: SpeechRecognizer = {
        modelId: m.id,
        async transcribe(samples) {
          if (!(samples instanceof Float32Array))
            throw new Error('transcribe: expected 16 kHz mono Float32Array samples');
          if (samples.length === 0) return { language: null, segments: [] };
          const language = await detectLanguage(samples);
          const segments: TranscriptSegment[] = [];
          for (const [a, b] of speechWindows(samples, sampleRate, m.chunk_length_s ?? 30)) {
            const window = samples.subarray(a, b);
            const res = (await asr(window, {
              return_timestamps: true,
              ...(multilingual && language ? { language, task: 'transcribe' } : {}),
            } as any)) as { chunks?: { timestamp: [number | null, number | null]; text: string }[] };
            const offset = a / sampleRate;
            const length = (b - a) / sampleRate;
            let prevEnd = 0;
            for (const c of res.chunks ?? []) {
              const text = c.text.trim();
              if (!text) continue;
              // The last segment of a window often has no closing timestamp, and
              // Whisper can place one in the zero padding after the audio ends.
              const start = Math.min(c.timestamp[0] ?? prevEnd, length);
              const end = Math.max(start, Math.min(c.timestamp[1] ?? length, length));
              prevEnd = end;
              // Whisper "hears" stock phrases ("Thank you.") in silence; a segment
              // whose audio is digitally silent cannot contain speech.
              if (rms(window, start * sampleRate, end * sampleRate) < SILENCE_RMS) continue;
              segments.push({ start: offset + start, end: offset + end, text });
            }
          }
          return { language, segments: dropRepeats(segments) };
        },
      };
      return recognizer;
    });
  }

  function textReader(): Promise<TextReader | null> {
    return once('ocr', () => loadTextReader(config));
  }

  function faceAnalyzer(): Promise<FaceAnalyzer | null> {
    return once('face', async () => {
      const m = readManifest().face;
      faces = await loadFaceThreads(m.id, {
        minScore: m.min_score,
        minSizePx: m.min_size_px,
        ...opts.face,
        threads: faceThreads(config),
      });
      if (faces && faces.dim !== SCHEMA_DIMS.face.dim)
        throw new Error(`face model ${m.id} produces ${faces.dim}-d vectors but faces.embedding is vector(128)`);
      return faces;
    });
  }

  async function status(): Promise<ModelStatus[]> {
    return ROLES.map((role) => {
      if (role === 'ocr') return ocrStatus();
      if (role === 'face') return faceStatus(opts.face?.packageDir);
      const m = resolveModel(config, role);
      let present: boolean;
      try {
        present = presence(m) === 'present';
      } catch {
        present = false;
      }
      let dim = m.dim;
      if (fs.existsSync(path.join(m.dir, 'config.json'))) {
        try {
          dim = configuredDim(m, readModelConfig(m)) ?? dim;
        } catch {
          /* reported as not present below */
        }
      }
      const standIn = standInKind(m);
      return {
        role,
        id: m.id,
        present,
        bytes: fs.existsSync(m.dir) ? dirBytes(m.dir) : 0,
        ...(dim ? { dim } : {}),
        path: m.dir,
        ...(standIn ? { standIn } : {}),
      };
    });
  }

  async function checkDimensions(): Promise<void> {
    const expected = { text: SCHEMA_DIMS.text, vision: SCHEMA_DIMS.image, 'vision-text': SCHEMA_DIMS.image } as const;
    for (const role of ['text', 'vision', 'vision-text'] as const) {
      const m = resolveModel(config, role);
      if (presence(m) === 'absent') continue;
      const n = configuredDim(m, readModelConfig(m));
      const { column, dim } = expected[role];
      if (n === undefined)
        throw new Error(
          `model ${m.id} (${role}): config.json declares no hidden size, cannot check it against ${column}`,
        );
      if (n !== dim) throw new Error(`model ${m.id} (${role}) produces ${n}-d vectors but ${column} is vector(${dim})`);
    }
  }

  /*
   * A getter of a picture or text model means the speech phase is over for
   * now (a video's transcribe jobs all run before its index jobs, and they
   * ask for Whisper only): an idle speech process ends at once instead of
   * idling beside the picture work. On a worker's second video, whose
   * picture models are already in, the two together reached 2.9 GB that way
   * (BENCHMARKS.md). With WORKER_CONCURRENCY > 1 another video's next
   * window may find it gone and start it again (a second for whisper-base).
   * Not the OCR model's: a transcribe job cuts index chunks beside the
   * speech process (worker/pipeline/cuts-ahead.ts), and reads their frames
   * between its recognitions; PP-OCR is tens of MB.
   */
  const picture =
    <T>(get: () => Promise<T>) =>
    (): Promise<T> => {
      speechHost?.endIfIdle();
      return get();
    };

  return {
    textEmbedder: picture(textEmbedder),
    imageEmbedder: picture(imageEmbedder),
    imageTextEmbedder: picture(imageTextEmbedder),
    tagger: picture(tagger),
    speechRecognizer,
    textReader,
    faceAnalyzer: picture(faceAnalyzer),
    status,
    checkDimensions,
    loaded: () => residents.filter((r) => r.loaded).map((r) => r.role),
  };
}

/** -60 dBFS: far below quiet speech (about -40 dBFS), above dithering noise. */
const SILENCE_RMS = 0.001;

function rms(samples: Float32Array, from: number, to: number): number {
  const a = Math.max(0, Math.floor(from));
  const b = Math.min(samples.length, Math.max(a + 1, Math.ceil(to)));
  let e = 0;
  for (let i = a; i < b; i++) e += samples[i]! * samples[i]!;
  return Math.sqrt(e / Math.max(1, b - a));
}

/**
 * Where to cut audio into the windows Whisper hears, as [start, end) sample
 * indexes: at most maxS seconds each (Whisper's whole input), each cut at the
 * quietest 100 ms of the window's last searchS seconds, so a cut falls in a
 * pause between words rather than through one. This is how WhisperX feeds
 * Whisper: the pipeline's own chunking overlaps 30 s windows by 5 s on each
 * side and merges the overlaps, which runs the encoder and the decoder over
 * 1.5 s of audio for every second of it.
 */
export function speechWindows(
  samples: Float32Array,
  sampleRate: number,
  maxS = 30,
  searchS = 8,
): Array<[number, number]> {
  const max = Math.floor(maxS * sampleRate);
  const frame = Math.max(1, Math.round(sampleRate / 10));
  const step = Math.max(1, Math.round(sampleRate / 50));
  const windows: Array<[number, number]> = [];
  let start = 0;
  while (samples.length - start > max) {
    const end = start + max;
    let cut = end;
    let quietest = Infinity;
    // Latest first, and an earlier frame only when clearly quieter, so that
    // without a pause the window stays a full maxS.
    for (let f = end - frame; f >= Math.max(start + 1, end - Math.floor(searchS * sampleRate)); f -= step) {
      const e = rms(samples, f, f + frame);
      if (e < quietest * 0.8) {
        quietest = e;
        cut = f + (frame >> 1);
      }
    }
    windows.push([start, cut]);
    start = cut;
  }
  if (samples.length > start) windows.push([start, samples.length]);
  return windows;
}

/**
 * The 30 s window Whisper should hear to tell the language: the loudest of
 * the first few, because videos often open with silence or a music intro,
 * on which Whisper's language guess is noise.
 */
export function languageWindow(samples: Float32Array, sampleRate: number, windows = 8): Float32Array {
  const size = 30 * sampleRate;
  let best = 0;
  let bestEnergy = -1;
  for (let w = 0; w < windows && w * size < samples.length; w++) {
    let e = 0;
    const end = Math.min(samples.length, (w + 1) * size);
    for (let i = w * size; i < end; i++) e += samples[i]! * samples[i]!;
    e /= Math.max(1, end - w * size);
    if (e > bestEnergy) {
      bestEnergy = e;
      best = w;
    }
  }
  return samples.subarray(best * size, Math.min(samples.length, (best + 1) * size));
}

let chain: Promise<unknown> = Promise.resolve();
function serialise<T>(fn: () => Promise<T>): Promise<T> {
  const run = chain.then(fn, fn);
  chain = run.catch(() => {});
  return run;
}

/** 8-bit levels per unit of an image processor's output, per channel: its normalisation undone. */
function inputLevels(p: {
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_std?: number | number[];
}) {
  const rescale = p.do_rescale === false ? 1 : (p.rescale_factor ?? 1 / 255);
  const std = p.do_normalize ? (p.image_std ?? 1) : 1;
  return (Array.isArray(std) ? std : [std, std, std]).map((s) => s / rescale);
}

async function readImage(img: string | Buffer, index: number): Promise<RawImage> {
  try {
    const buf = typeof img === 'string' ? await fs.promises.readFile(img) : img;
    return await RawImage.fromBlob(new Blob([new Uint8Array(buf)]));
  } catch (e) {
    const what = typeof img === 'string' ? img : `buffer #${index}`;
    throw new Error(`cannot read image ${what}: ${(e as Error).message}`, { cause: e });
  }
}

function ocrStatus(): ModelStatus {
  const files = ocrModelFiles();
  const id = readManifest().ocr.id;
  if (!files) return { role: 'ocr', id, present: false, bytes: 0, path: '' };
  const all = [files.detection, files.recognition, files.dictionary, files.classifier].filter(
    (f): f is string => f !== null,
  );
  return {
    role: 'ocr',
    id,
    present: true,
    bytes: all.reduce((n, f) => n + fs.statSync(f).size, 0),
    path: path.dirname(files.detection),
  };
}

function faceStatus(packageDir?: string | null): ModelStatus {
  const id = readManifest().face.id;
  const files = faceModelFiles(packageDir === undefined ? undefined : packageDir);
  if (!files) return { role: 'face', id, present: false, bytes: 0, path: '' };
  return {
    role: 'face',
    id,
    present: true,
    bytes: FACE_NETS.reduce(
      (n, net) =>
        n +
        fs.statSync(path.join(files.modelDir, `${net}.bin`)).size +
        fs.statSync(path.join(files.modelDir, `${net}-weights_manifest.json`)).size,
      0,
    ),
    dim: SCHEMA_DIMS.face.dim,
    path: files.modelDir,
  };
}
