/*
 * Writes tiny stand-ins for the production models, in folders named with the
 * production ids, so tests run the real transformers.js loading path
 * (config → tokenizer/processor → onnxruntime session) without a model hub.
 * Each graph keeps the production input/output names and output widths
 * (1024 text, 1152 SigLIP) and computes something deterministic but
 * meaningful: text vectors are sums of per-word rows (equal texts → equal
 * vectors, shared words → higher cosine), image vectors project a 4×4 colour
 * grid (different colours → different vectors), and the Whisper decoder
 * follows a fixed token chain that yields one timestamped segment.
 *
 *   node models/tiny/generate.ts [--out DIR] [--text-dim N]
 *
 * Output is a build artefact (gitignored); reruns skip when up to date.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeModel, floatTensor, int64Tensor, rng, tokenRow, FLOAT, INT64, type Node, type Tensor } from './onnx.ts';

const MODELS_DIR = path.resolve(import.meta.dirname, '..');
const ROOT_DIR = path.resolve(MODELS_DIR, '..');
const STAMP = '.heimdex-tiny.json';

interface RoleEntry {
  id: string;
  files: string[];
  dim?: number;
  max_length?: number;
}
interface Manifest {
  roles: Record<string, RoleEntry>;
}

export interface TinyOptions {
  /** Folder that receives <id>/... folders. */
  out?: string;
  /** Width of the text model's vectors; anything but 1024 is for dimension-mismatch tests. */
  textDim?: number;
}

const COMMON_WORDS = `a an the of in on at to for with and or is are was were be it this that these those
my your our their his her its we you they he she i me us them what where when who how why which
big small red green blue yellow black white grey brown orange purple pink dark bright old new
one two three four five many some all no not very more most over under near inside outside
up down left right front back top bottom here there today tomorrow yesterday now
say said says speak talk show shows shown find search video scene moment clip frame
hello world heimdex test quick lazy jumps fox dog brown`.split(/\s+/);

const TEMPLATE_WORDS = ['a', 'an', 'the', 'of', 'photo'];

function readManifest(): Manifest {
  return JSON.parse(fs.readFileSync(path.join(MODELS_DIR, 'manifest.json'), 'utf8')) as Manifest;
}

function readLabels(): string[] {
  return fs
    .readFileSync(path.join(MODELS_DIR, 'labels.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function vocabulary(): string[] {
  const words = new Set<string>();
  for (const l of readLabels()) for (const w of l.toLowerCase().split(/[^a-z0-9]+/)) if (w) words.add(w);
  for (const w of COMMON_WORDS) if (w) words.add(w);
  for (const p of ['photo', 'of', 'a']) words.add(p);
  return [...words].sort();
}

function writeJson(file: string, value: unknown) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function writeOnnx(file: string, bytes: Uint8Array) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
}

function onnxFiles(entry: RoleEntry, base: string): string[] {
  return entry.files.filter((f) => f.startsWith(`onnx/${base}`) && f.endsWith('.onnx'));
}

function addedToken(id: number, content: string, special = true) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

/** A WordPiece tokenizer.json: words of the vocabulary become one token each, anything else <unk>. */
function wordTokenizer(specials: string[], words: string[], opts: { unk: string; bos?: string; eos?: string }) {
  const vocab: Record<string, number> = {};
  [...specials, ...words].forEach((t, i) => {
    vocab[t] = i;
  });
  const template =
    opts.bos && opts.eos
      ? {
          type: 'TemplateProcessing',
          single: [
            { SpecialToken: { id: opts.bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: opts.eos, type_id: 0 } },
          ],
          pair: [
            { SpecialToken: { id: opts.bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: opts.eos, type_id: 0 } },
            { Sequence: { id: 'B', type_id: 0 } },
            { SpecialToken: { id: opts.eos, type_id: 0 } },
          ],
          special_tokens: {
            [opts.bos]: { id: opts.bos, ids: [vocab[opts.bos]], tokens: [opts.bos] },
            [opts.eos]: { id: opts.eos, ids: [vocab[opts.eos]], tokens: [opts.eos] },
          },
        }
      : null;
  return {
    json: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: specials.map((s, i) => addedToken(i, s)),
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: template,
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: opts.unk,
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab,
      },
    },
    vocab,
  };
}

/** Embedding table with zero rows for special tokens, so only words move the vector. */
function embeddingTable(name: string, tokens: string[], specials: Set<string>, dim: number, salt: number): Tensor {
  const data = new Float32Array(tokens.length * dim);
  tokens.forEach((t, i) => {
    if (!specials.has(t)) data.set(tokenRow(t, dim, salt), i * dim);
  });
  return floatTensor(name, [tokens.length, dim], data);
}

function writeTextModel(dir: string, entry: RoleEntry, dim: number) {
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  const { json, vocab } = wordTokenizer(specials, vocabulary(), { unk: '<unk>', bos: '<s>', eos: '</s>' });
  const tokens = Object.keys(vocab);
  writeJson(path.join(dir, 'tokenizer.json'), json);
  writeJson(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'XLMRobertaTokenizer',
    model_max_length: 8192,
    bos_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    cls_token: '<s>',
    sep_token: '</s>',
  });
  writeJson(path.join(dir, 'special_tokens_map.json'), {
    bos_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    unk_token: '<unk>',
  });
  writeJson(path.join(dir, 'config.json'), {
    model_type: 'xlm-roberta',
    architectures: ['XLMRobertaModel'],
    hidden_size: dim,
    num_attention_heads: 1,
    num_hidden_layers: 1,
    vocab_size: tokens.length,
    max_position_embeddings: 8194,
    pad_token_id: 1,
    heimdex_tiny: true,
  });
  // Masked sum of word rows added to every position: position 0 (<s>, a zero
  // row) then carries the sentence sum, which CLS pooling picks up.
  const nodes: Node[] = [
    { op: 'Gather', inputs: ['emb', 'input_ids'], outputs: ['h'] },
    { op: 'Cast', inputs: ['attention_mask'], outputs: ['maskf'], attrs: { to: FLOAT } },
    { op: 'Unsqueeze', inputs: ['maskf', 'axis2'], outputs: ['mask3'] },
    { op: 'Mul', inputs: ['h', 'mask3'], outputs: ['hm'] },
    { op: 'ReduceSum', inputs: ['hm', 'axis1'], outputs: ['sum'], attrs: { keepdims: 1 } },
    { op: 'Add', inputs: ['hm', 'sum'], outputs: ['last_hidden_state'] },
  ];
  const bytes = encodeModel({
    name: 'tiny-bge-m3',
    inputs: [
      { name: 'input_ids', type: INT64, shape: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', type: INT64, shape: ['batch_size', 'sequence_length'] },
    ],
    outputs: [{ name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 'sequence_length', dim] }],
    initializers: [
      embeddingTable('emb', tokens, new Set(specials), dim, 1),
      int64Tensor('axis1', [1], [1]),
      int64Tensor('axis2', [1], [2]),
    ],
    nodes,
  });
  for (const f of onnxFiles(entry, 'model')) writeOnnx(path.join(dir, f), bytes);
}

function writeSiglip(dir: string, vision: RoleEntry, text: RoleEntry) {
  const dim = 1152;
  const maxLen = text.max_length ?? 64;
  const specials = ['<pad>', '<eos>', '<bos>', '<unk>'];
  const { json, vocab } = wordTokenizer(specials, vocabulary(), { unk: '<unk>' });
  const tokens = Object.keys(vocab);
  writeJson(path.join(dir, 'tokenizer.json'), json);
  writeJson(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'GemmaTokenizer',
    model_max_length: maxLen,
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    unk_token: '<unk>',
  });
  writeJson(path.join(dir, 'special_tokens_map.json'), {
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    unk_token: '<unk>',
  });
  writeJson(path.join(dir, 'config.json'), {
    model_type: 'siglip',
    architectures: ['SiglipModel'],
    text_config: {
      model_type: 'siglip_text_model',
      hidden_size: dim,
      projection_size: dim,
      max_position_embeddings: maxLen,
      vocab_size: tokens.length,
      num_attention_heads: 1,
      num_hidden_layers: 1,
    },
    vision_config: {
      model_type: 'siglip_vision_model',
      hidden_size: dim,
      image_size: 256,
      patch_size: 16,
      num_attention_heads: 1,
      num_hidden_layers: 1,
    },
    heimdex_tiny: true,
  });
  writeJson(path.join(dir, 'preprocessor_config.json'), {
    image_processor_type: 'SiglipImageProcessor',
    processor_class: 'SiglipProcessor',
    do_resize: true,
    size: { height: 256, width: 256 },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
  });

  const textBytes = encodeModel({
    name: 'tiny-siglip-text',
    inputs: [{ name: 'input_ids', type: INT64, shape: ['batch_size', 'sequence_length'] }],
    outputs: [
      { name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 'sequence_length', dim] },
      { name: 'pooler_output', type: FLOAT, shape: ['batch_size', dim] },
    ],
    // The prompt template's words get zero rows, as if a real tower had learnt
    // to ignore them; otherwise every "a photo of a …" prompt would share most
    // of its vector and the tagger's sigmoid would saturate on all labels.
    initializers: [
      embeddingTable('emb', tokens, new Set([...specials, ...TEMPLATE_WORDS]), dim, 2),
      int64Tensor('axis1', [1], [1]),
    ],
    nodes: [
      { op: 'Gather', inputs: ['emb', 'input_ids'], outputs: ['last_hidden_state'] },
      { op: 'ReduceSum', inputs: ['last_hidden_state', 'axis1'], outputs: ['pooler_output'], attrs: { keepdims: 0 } },
    ],
  });
  for (const f of onnxFiles(text, 'text_model')) writeOnnx(path.join(dir, f), textBytes);

  const grid = 4;
  const feats = 3 * grid * grid;
  const r = rng(3);
  const proj = new Float32Array(feats * dim);
  for (let i = 0; i < proj.length; i++) proj[i] = r() * 2 - 1;
  const visionBytes = encodeModel({
    name: 'tiny-siglip-vision',
    inputs: [{ name: 'pixel_values', type: FLOAT, shape: ['batch_size', 3, 256, 256] }],
    outputs: [
      { name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 1, dim] },
      { name: 'pooler_output', type: FLOAT, shape: ['batch_size', dim] },
    ],
    initializers: [floatTensor('proj', [feats, dim], proj), int64Tensor('axis1', [1], [1])],
    nodes: [
      {
        op: 'AveragePool',
        inputs: ['pixel_values'],
        outputs: ['pooled'],
        attrs: { kernel_shape: [64, 64], strides: [64, 64] },
      },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['flat'], attrs: { axis: 1 } },
      { op: 'MatMul', inputs: ['flat', 'proj'], outputs: ['pooler_output'] },
      { op: 'Unsqueeze', inputs: ['pooler_output', 'axis1'], outputs: ['last_hidden_state'] },
    ],
  });
  for (const f of onnxFiles(vision, 'vision_model')) writeOnnx(path.join(dir, f), visionBytes);
}

function writeWhisper(dir: string, entry: RoleEntry) {
  const dModel = 64;
  const words = ['hello', 'world', 'heimdex', 'test'];
  const langs = ['en', 'de', 'fr', 'es', 'ja'];
  const specials = [
    '<|endoftext|>',
    '<|startoftranscript|>',
    ...langs.map((l) => `<|${l}|>`),
    '<|translate|>',
    '<|transcribe|>',
    '<|startoflm|>',
    '<|startofprev|>',
    '<|nocaptions|>',
    '<|notimestamps|>',
  ];
  const timestamps = Array.from({ length: 1501 }, (_, i) => `<|${(i * 0.02).toFixed(2)}|>`);
  const vocab: Record<string, number> = {};
  [...words, ...specials, ...timestamps].forEach((t, i) => {
    vocab[t] = i;
  });
  const V = Object.keys(vocab).length;
  const id = (t: string) => vocab[t]!;
  const tsBegin = id('<|notimestamps|>') + 1;

  writeJson(path.join(dir, 'tokenizer.json'), {
    version: '1.0',
    truncation: null,
    padding: null,
    // Timestamps are added but not special, as in Whisper's own tokenizer:
    // the ASR decoder skips special ids before it looks for timestamps.
    added_tokens: [...specials.map((s) => addedToken(id(s), s)), ...timestamps.map((s) => addedToken(id(s), s, false))],
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  });
  writeJson(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'WhisperTokenizer',
    model_max_length: 448,
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
  });
  const common = {
    decoder_start_token_id: id('<|startoftranscript|>'),
    eos_token_id: id('<|endoftext|>'),
    pad_token_id: id('<|endoftext|>'),
    bos_token_id: id('<|endoftext|>'),
  };
  writeJson(path.join(dir, 'config.json'), {
    model_type: 'whisper',
    architectures: ['WhisperForConditionalGeneration'],
    d_model: dModel,
    encoder_layers: 1,
    decoder_layers: 1,
    encoder_attention_heads: 1,
    decoder_attention_heads: 1,
    num_mel_bins: 80,
    max_source_positions: 1500,
    max_target_positions: 448,
    vocab_size: V,
    is_encoder_decoder: true,
    ...common,
    heimdex_tiny: true,
  });
  writeJson(path.join(dir, 'generation_config.json'), {
    ...common,
    is_multilingual: true,
    lang_to_id: Object.fromEntries(langs.map((l) => [`<|${l}|>`, id(`<|${l}|>`)])),
    task_to_id: { translate: id('<|translate|>'), transcribe: id('<|transcribe|>') },
    no_timestamps_token_id: id('<|notimestamps|>'),
    prev_sot_token_id: id('<|startofprev|>'),
    max_initial_timestamp_index: 50,
    max_length: 448,
    begin_suppress_tokens: [id('<|endoftext|>')],
    suppress_tokens: [],
  });
  writeJson(path.join(dir, 'preprocessor_config.json'), {
    feature_extractor_type: 'WhisperFeatureExtractor',
    processor_class: 'WhisperProcessor',
    chunk_length: 30,
    feature_size: 80,
    hop_length: 160,
    n_fft: 400,
    n_samples: 480000,
    nb_max_frames: 3000,
    padding_side: 'right',
    padding_value: 0.0,
    return_attention_mask: false,
    sampling_rate: 16000,
  });

  // Encoder: frame pairs projected to d_model, keeping Whisper's
  // [batch, 80, 3000] → [batch, 1500, d_model] contract.
  const r = rng(4);
  const w = new Float32Array(160 * dModel);
  for (let i = 0; i < w.length; i++) w[i] = (r() * 2 - 1) * 0.05;
  const encoder = encodeModel({
    name: 'tiny-whisper-encoder',
    inputs: [{ name: 'input_features', type: FLOAT, shape: ['batch_size', 80, 3000] }],
    outputs: [{ name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 1500, dModel] }],
    initializers: [floatTensor('w', [160, dModel], w), int64Tensor('shape', [3], [0, 1500, 160])],
    nodes: [
      { op: 'Transpose', inputs: ['input_features'], outputs: ['t'], attrs: { perm: [0, 2, 1] } },
      { op: 'Reshape', inputs: ['t', 'shape'], outputs: ['frames'] },
      { op: 'MatMul', inputs: ['frames', 'w'], outputs: ['last_hidden_state'] },
    ],
  });
  for (const f of onnxFiles(entry, 'encoder_model')) writeOnnx(path.join(dir, f), encoder);

  // Decoder: the next token is a fixed function of the current one —
  // <|startoftranscript|> → <|en|> (what language detection reads),
  // <|transcribe|> → <|0.00|> → hello → world → <|1.00|> → <|endoftext|>.
  const next = new Array<number>(V).fill(id('<|endoftext|>'));
  next[id('<|startoftranscript|>')] = id('<|en|>');
  for (const l of langs) next[id(`<|${l}|>`)] = id('<|transcribe|>');
  next[id('<|transcribe|>')] = tsBegin;
  next[id('<|notimestamps|>')] = id('hello');
  next[tsBegin] = id('hello');
  next[id('hello')] = id('world');
  next[id('world')] = tsBegin + 50;
  const decoder = encodeModel({
    name: 'tiny-whisper-decoder',
    inputs: [
      { name: 'input_ids', type: INT64, shape: ['batch_size', 'decoder_sequence_length'] },
      { name: 'encoder_hidden_states', type: FLOAT, shape: ['batch_size', 'encoder_sequence_length', dModel] },
    ],
    outputs: [{ name: 'logits', type: FLOAT, shape: ['batch_size', 'decoder_sequence_length', V] }],
    initializers: [
      int64Tensor('next', [V], next),
      int64Tensor('depth', [], [V]),
      floatTensor('values', [2], [-20, 20]),
      floatTensor('zero', [], [0]),
    ],
    nodes: [
      { op: 'Gather', inputs: ['next', 'input_ids'], outputs: ['nxt'] },
      { op: 'OneHot', inputs: ['nxt', 'depth', 'values'], outputs: ['onehot'], attrs: { axis: -1 } },
      // The audio must flow into the logits (as in the real decoder) without changing them.
      { op: 'ReduceMean', inputs: ['encoder_hidden_states'], outputs: ['enc'], attrs: { axes: [1, 2], keepdims: 1 } },
      { op: 'Mul', inputs: ['enc', 'zero'], outputs: ['enc0'] },
      { op: 'Add', inputs: ['onehot', 'enc0'], outputs: ['logits'] },
    ],
  });
  for (const f of onnxFiles(entry, 'decoder_model_merged')) writeOnnx(path.join(dir, f), decoder);
}

function fingerprint(opts: Required<TinyOptions>): string {
  const h = crypto.createHash('sha256');
  for (const f of ['tiny/generate.ts', 'tiny/onnx.ts', 'manifest.json', 'labels.txt'])
    h.update(fs.readFileSync(path.join(MODELS_DIR, f)));
  h.update(`textDim=${opts.textDim}`);
  return h.digest('hex');
}

/** Writes every tiny model under opts.out; returns whether anything was (re)written. */
export function generateTinyModels(options: TinyOptions = {}): { out: string; written: boolean } {
  const opts: Required<TinyOptions> = {
    out: path.resolve(ROOT_DIR, options.out ?? '.test-data/models'),
    textDim: options.textDim ?? 1024,
  };
  const stampFile = path.join(opts.out, STAMP);
  const fp = fingerprint(opts);
  try {
    if ((JSON.parse(fs.readFileSync(stampFile, 'utf8')) as { fingerprint?: string }).fingerprint === fp)
      return { out: opts.out, written: false };
  } catch {
    /* absent or unreadable stamp: regenerate */
  }

  const { roles } = readManifest();
  const need = (role: string) => {
    const e = roles[role];
    if (!e) throw new Error(`models/manifest.json has no "${role}" role`);
    return e;
  };
  // Write into a sibling temp folder, then swap, so a crash never leaves a half-written model folder behind.
  const tmp = `${opts.out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  writeTextModel(path.join(tmp, need('text').id), need('text'), opts.textDim);
  writeSiglip(path.join(tmp, need('vision').id), need('vision'), need('vision-text'));
  writeWhisper(path.join(tmp, need('asr').id), need('asr'));
  writeJson(path.join(tmp, STAMP), { fingerprint: fp, textDim: opts.textDim });
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  const old = `${opts.out}.old-${process.pid}`;
  if (fs.existsSync(opts.out)) fs.renameSync(opts.out, old);
  fs.renameSync(tmp, opts.out);
  fs.rmSync(old, { recursive: true, force: true });
  return { out: opts.out, written: true };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'text-dim': { type: 'string' } } });
  const textDim = values['text-dim'] ? Number.parseInt(values['text-dim'], 10) : undefined;
  if (textDim !== undefined && !(textDim > 0)) throw new Error('--text-dim must be a positive integer');
  const t0 = performance.now();
  const r = generateTinyModels({ out: values.out, textDim });
  console.log(
    `[models] tiny models ${r.written ? 'written' : 'up to date'} in ${r.out} (${Math.round(performance.now() - t0)} ms)`,
  );
}
