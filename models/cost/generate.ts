/*
 * Writes cost-faithful stand-ins for the production models: ONNX graphs with
 * the production architectures' shapes (layer counts, widths, heads, FFN
 * widths, vocabulary and position tables, sequence/patch lengths) and the
 * manifest's precision (dynamic int8 where it says q8), filled with
 * deterministic noise. They cost what the real models cost to load and run,
 * and mean nothing: vectors are random, transcripts are gibberish. They exist
 * so pipeline timings and memory can be measured on a machine that cannot
 * download the real models (see models/README.md for the comparison).
 *
 *   node models/cost/generate.ts [--out DIR] [--asr base,small,large-v3-turbo] [--layers N] [--vocab N]
 *
 * Folders are named with the production ids, so MODELS_DIR=DIR loads them
 * through worker/ml like the real ones; each holds heimdex-stand-in.json,
 * which `heimdex models status` reports. --layers caps every layer stack (for
 * tests; widths stay production-sized) and --vocab the text vocabularies
 * (tests; Whisper's token ids are fixed). Reruns skip models
 * whose inputs have not changed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeModel, BOOL, FLOAT, INT64, UINT8, type Node, type Value } from '../tiny/onnx.ts';
import { GraphBuilder } from './graph.ts';

const MODELS_DIR = path.resolve(import.meta.dirname, '..');
const ROOT_DIR = path.resolve(MODELS_DIR, '..');
/** Written into every stand-in folder; worker/ml's status() reads it so a stand-in is never taken for a real model. */
export const STAND_IN_MARKER = 'heimdex-stand-in.json';
const OPSET = 17;

interface RoleEntry {
  id: string;
  files: string[];
  optional_files?: string[];
  dtype: string | Record<string, string>;
  max_length?: number;
}

/** Whisper sizes from the checkpoints' config.json (openai/whisper-*). */
export const WHISPER_SHAPES = {
  base: { id: 'onnx-community/whisper-base', d: 512, enc: 6, dec: 6, heads: 8, ffn: 2048, mels: 80, v3: false },
  small: { id: 'onnx-community/whisper-small', d: 768, enc: 12, dec: 12, heads: 12, ffn: 3072, mels: 80, v3: false },
  'large-v3-turbo': {
    id: 'onnx-community/whisper-large-v3-turbo',
    d: 1280,
    enc: 32,
    dec: 4,
    heads: 20,
    ffn: 5120,
    mels: 128,
    v3: true,
  },
} as const;
export type WhisperSize = keyof typeof WHISPER_SHAPES;

/**
 * Decoded tokens per 30 s window before the stand-in emits <|endoftext|>:
 * ~150 spoken words a minute is ~75 words a window, ~1.3 BPE tokens a word
 * for English, plus a pair of timestamps per segment. Random weights never
 * stop on their own; without this every window would run to 448 tokens.
 */
export const TOKENS_PER_WINDOW = 120;

export interface CostOptions {
  out?: string;
  asr?: WhisperSize[];
  /** Cap on every layer stack (tests); undefined = production counts. */
  layers?: number;
  /**
   * Cap on the text/vision-text vocabularies (tests): the tokenizer keeps only
   * as many pieces. Production: 250002 and 256000 rows.
   */
  vocab?: number;
  /** Roles to write (default all). */
  only?: ('text' | 'vision' | 'asr')[];
}

/** Parameters per ONNX file (model-card counting: weights, biases, tables; a tied table once). */
type Params = Record<string, number>;

export interface WrittenModel {
  id: string;
  dir: string;
  written: boolean;
  parameters: number;
  bytes: number;
}

function readManifest(): Record<string, RoleEntry> {
  return (
    JSON.parse(fs.readFileSync(path.join(MODELS_DIR, 'manifest.json'), 'utf8')) as { roles: Record<string, RoleEntry> }
  ).roles;
}

function writeJson(file: string, value: unknown) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function dtypeOf(entry: RoleEntry, file: string): string {
  return typeof entry.dtype === 'string' ? entry.dtype : (entry.dtype[file] ?? 'fp32');
}

function addedToken(id: number, content: string, special = true) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

/**
 * A WordPiece vocabulary of every 1–3 character piece of [a-z0-9] (word-initial
 * and ## continuations): a word becomes about a third as many tokens as it has
 * letters, near the 1.3–1.6 tokens per English word of the real
 * SentencePiece/BPE tokenizers, so padded lengths are realistic.
 */
function pieces(limit = Infinity): string[] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const out: string[] = [];
  const grams: string[] = [...alphabet];
  for (const a of alphabet) for (const b of alphabet) grams.push(a + b);
  for (const a of alphabet) for (const b of alphabet) for (const c of alphabet) grams.push(a + b + c);
  for (const g of grams) out.push(g, `##${g}`);
  return out.slice(0, limit);
}

function wordPiece(vocab: Record<string, number>, added: ReturnType<typeof addedToken>[], unk: string, post: unknown) {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: post,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

function vocabOf(tokens: string[]): Record<string, number> {
  const v: Record<string, number> = {};
  tokens.forEach((t, i) => (v[t] = i));
  return v;
}

function writeOnnx(file: string, b: GraphBuilder, name: string, inputs: Value[], outputs: Value[]) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const ext = b.externalTensors();
  if (ext.length) {
    const fd = fs.openSync(path.join(path.dirname(file), b.opts.externalFile!), 'w');
    for (const t of ext) fs.writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.closeSync(fd);
  }
  fs.writeFileSync(file, encodeModel(b.graph(name, inputs, outputs), { opset: OPSET, producer: 'heimdex-cost' }));
}

const cap = (n: number, layers?: number) => (layers === undefined ? n : Math.min(n, layers));

// ---------------------------------------------------------------- BGE-M3

/** XLM-RoBERTa-large: 24 post-LN layers × 1024, 16 heads, FFN 4096, vocab 250002, 8194 positions. */
function writeBgeM3(dir: string, entry: RoleEntry, layers?: number, vocabCap?: number): Params {
  const dim = 1024;
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  const rows = Math.min(250002, vocabCap ?? Infinity);
  const vocab = vocabOf([...specials, ...pieces(rows - specials.length)]);
  const post = {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '</s>', type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '</s>', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 0 } },
      { SpecialToken: { id: '</s>', type_id: 0 } },
    ],
    special_tokens: {
      '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] },
      '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] },
    },
  };
  writeJson(
    path.join(dir, 'tokenizer.json'),
    wordPiece(
      vocab,
      specials.map((s, i) => addedToken(i, s)),
      '<unk>',
      post,
    ),
  );
  const tokens = { bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' };
  writeJson(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'XLMRobertaTokenizer',
    model_max_length: 8192,
    cls_token: '<s>',
    sep_token: '</s>',
    ...tokens,
  });
  writeJson(path.join(dir, 'special_tokens_map.json'), tokens);
  const L = cap(24, layers);
  writeJson(path.join(dir, 'config.json'), {
    model_type: 'xlm-roberta',
    architectures: ['XLMRobertaModel'],
    hidden_size: dim,
    num_attention_heads: 16,
    num_hidden_layers: L,
    intermediate_size: 4096,
    vocab_size: rows,
    max_position_embeddings: 8194,
    pad_token_id: 1,
  });

  const b = new GraphBuilder('bge-m3', { quantized: dtypeOf(entry, 'model') === 'q8' });
  const words = b.embedding('input_ids', rows, dim, 'embeddings.word_embeddings');
  // XLM-R positions start after the padding index (1); a scene text is never padded on the left.
  const seq = b.one('Gather', [b.one('Shape', ['input_ids']), b.i64([1], true)]);
  const posIds = b.one('Range', [b.i64([2], true), b.one('Add', [seq, b.i64([2], true)]), b.i64([1], true)]);
  const pos = b.embedding(posIds, 8194, dim, 'embeddings.position_embeddings');
  const type = b.weight('embeddings.token_type_embeddings', [1, dim], 1);
  let x = b.layerNorm(b.one('Add', [b.one('Add', [words, pos]), type]), dim, 'embeddings.ln');
  // [b, s] 0/1 → additive [b, 1, 1, s] mask, as the exporter writes it.
  const maskF = b.one('Cast', ['attention_mask'], { to: FLOAT });
  const mask = b.one('Unsqueeze', [b.one('Mul', [b.one('Sub', [b.f32(1), maskF]), b.f32(-10000)]), b.i64([1, 2])]);
  for (let i = 0; i < L; i++) x = b.postLnLayer(x, dim, 16, 4096, `layer.${i}`, mask);
  b.output('last_hidden_state', x);
  const inputs: Value[] = [
    { name: 'input_ids', type: INT64, shape: ['batch_size', 'sequence_length'] },
    { name: 'attention_mask', type: INT64, shape: ['batch_size', 'sequence_length'] },
  ];
  const outputs: Value[] = [{ name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 'sequence_length', dim] }];
  for (const f of entry.files.filter((f) => f.endsWith('.onnx')))
    writeOnnx(path.join(dir, f), b, 'bge-m3', inputs, outputs);
  return { model: b.params };
}

// ---------------------------------------------------------------- SigLIP 2

/** SigLIP 2 so400m/16 at 256 px: vision 27 × 1152, 16 heads, MLP 4304, 256 patches, MAP head; text tower alike, vocab 256000, 64 tokens. */
function writeSiglip(dir: string, vision: RoleEntry, text: RoleEntry, layers?: number, vocabCap?: number): Params {
  const dim = 1152;
  const mlp = 4304;
  const heads = 16;
  const maxLen = text.max_length ?? 64;
  const L = cap(27, layers);
  const specials = ['<pad>', '<eos>', '<bos>', '<unk>'];
  const rows = Math.min(256000, vocabCap ?? Infinity);
  const vocab = vocabOf([...specials, ...pieces(rows - specials.length)]);
  writeJson(
    path.join(dir, 'tokenizer.json'),
    wordPiece(
      vocab,
      specials.map((s, i) => addedToken(i, s)),
      '<unk>',
      null,
    ),
  );
  const tokens = { bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>', unk_token: '<unk>' };
  writeJson(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'GemmaTokenizer',
    model_max_length: maxLen,
    ...tokens,
  });
  writeJson(path.join(dir, 'special_tokens_map.json'), tokens);
  const tower = { hidden_size: dim, intermediate_size: mlp, num_attention_heads: heads, num_hidden_layers: L };
  writeJson(path.join(dir, 'config.json'), {
    model_type: 'siglip',
    architectures: ['SiglipModel'],
    text_config: {
      model_type: 'siglip_text_model',
      projection_size: dim,
      max_position_embeddings: maxLen,
      vocab_size: rows,
      ...tower,
    },
    vision_config: { model_type: 'siglip_vision_model', image_size: 256, patch_size: 16, ...tower },
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

  // Vision tower: a 16×16 patch convolution (kept float, as transformers.js' q8 exports keep Conv), 256 positions, 27 pre-LN layers, post-LN, then the MAP head.
  const v = new GraphBuilder('siglip2-vision', { quantized: dtypeOf(vision, 'vision_model') === 'q8' });
  const patches = v.one(
    'Conv',
    ['pixel_values', v.weight('patch.weight', [dim, 3, 16, 16], 1 / 28), v.weight('patch.bias', [dim], 0.02)],
    {
      kernel_shape: [16, 16],
      strides: [16, 16],
    },
  );
  let x = v.one('Transpose', [v.one('Reshape', [patches, v.i64([0, dim, -1])])], { perm: [0, 2, 1] });
  x = v.one('Add', [x, v.weight('position_embedding', [256, dim], 1)]);
  for (let i = 0; i < L; i++) x = v.preLnLayer(x, dim, heads, mlp, `vision.layer.${i}`);
  x = v.output('last_hidden_state', v.layerNorm(x, dim, 'vision.post_ln'));
  // Multihead attention pooling: one learnt probe attends over the 256 patch states.
  const dh = dim / heads;
  const probe = v.weight('head.probe', [1, 1, dim], 1);
  const q = v.heads(v.linear(probe, dim, dim, 'head.q_proj'), heads, dh);
  const k = v.heads(v.linear(x, dim, dim, 'head.k_proj'), heads, dh, true);
  const val = v.heads(v.linear(x, dim, dim, 'head.v_proj'), heads, dh);
  const pooled = v.linear(v.attend(q, k, val, dh, dim), dim, dim, 'head.out_proj');
  const h = v.one('Add', [pooled, v.mlp(v.layerNorm(pooled, dim, 'head.ln'), dim, mlp, 'head.mlp')]);
  v.output('pooler_output', v.one('Squeeze', [h, v.i64([1])]));
  for (const f of vision.files.filter((f) => f.startsWith('onnx/vision_model')))
    writeOnnx(
      path.join(dir, f),
      v,
      'siglip2-vision',
      [{ name: 'pixel_values', type: FLOAT, shape: ['batch_size', 3, 256, 256] }],
      [
        { name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 256, dim] },
        { name: 'pooler_output', type: FLOAT, shape: ['batch_size', dim] },
      ],
    );

  // Text tower: token + position embeddings, 27 pre-LN layers, final LN, the last token through a linear head.
  const t = new GraphBuilder('siglip2-text', { quantized: dtypeOf(text, 'text_model') === 'q8' });
  const seq = t.one('Gather', [t.one('Shape', ['input_ids']), t.i64([1], true)]);
  const posIds = t.one('Range', [t.i64([0], true), seq, t.i64([1], true)]);
  let y = t.one('Add', [
    t.embedding('input_ids', rows, dim, 'text.token_embedding'),
    t.embedding(posIds, maxLen, dim, 'text.position_embedding'),
  ]);
  for (let i = 0; i < L; i++) y = t.preLnLayer(y, dim, heads, mlp, `text.layer.${i}`);
  y = t.output('last_hidden_state', t.layerNorm(y, dim, 'text.final_ln'));
  const last = t.one('Gather', [y, t.i64([-1], true)], { axis: 1 });
  t.output('pooler_output', t.linear(last, dim, dim, 'text.head'));
  for (const f of text.files.filter((f) => f.startsWith('onnx/text_model')))
    writeOnnx(
      path.join(dir, f),
      t,
      'siglip2-text',
      [{ name: 'input_ids', type: INT64, shape: ['batch_size', 'sequence_length'] }],
      [
        { name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 'sequence_length', dim] },
        { name: 'pooler_output', type: FLOAT, shape: ['batch_size', dim] },
      ],
    );
  return { vision_model: v.params, text_model: t.params };
}

// ---------------------------------------------------------------- Whisper

const WHISPER_LANGS =
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su'.split(
    ' ',
  );

/**
 * Whisper in the layout transformers.js loads (encoder_model + a merged
 * decoder with past key values and use_cache_branch), with the real token
 * ids: 50257 text tokens, then <|endoftext|>, <|startoftranscript|>, the
 * languages, tasks and 1501 timestamps.
 */
function writeWhisper(dir: string, entry: RoleEntry, size: WhisperSize, layers?: number): Params {
  const s = WHISPER_SHAPES[size];
  const { d, heads, ffn, mels } = s;
  const dh = d / heads;
  const encL = cap(s.enc, layers);
  const decL = cap(s.dec, layers);
  const text = pieces().slice(0, 50257);
  // large-v3 added Cantonese as a 100th language token; transformers.js 4.3 cannot pass it as a language, so it is vocabulary only.
  const langs = s.v3 ? [...WHISPER_LANGS, 'yue'] : WHISPER_LANGS;
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
  const vocab = vocabOf([...text, ...specials, ...timestamps]);
  const V = text.length + specials.length + timestamps.length;
  const id = (t: string) => vocab[t]!;
  writeJson(path.join(dir, 'tokenizer.json'), {
    ...wordPiece(
      vocab,
      [...specials.map((t) => addedToken(id(t), t)), ...timestamps.map((t) => addedToken(id(t), t, false))],
      '<|endoftext|>',
      null,
    ),
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
  });
  writeJson(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'WhisperTokenizer',
    model_max_length: 448,
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
  });
  const eos = id('<|endoftext|>');
  const common = {
    decoder_start_token_id: id('<|startoftranscript|>'),
    eos_token_id: eos,
    pad_token_id: eos,
    bos_token_id: eos,
  };
  const fp32Encoder = dtypeOf(entry, 'encoder_model') !== 'q8';
  // fp32 weights over 2 GB (large-v3's encoder) cannot live inside one protobuf: they go to encoder_model.onnx_data, as in the real export.
  const external = fp32Encoder && size === 'large-v3-turbo';
  writeJson(path.join(dir, 'config.json'), {
    model_type: 'whisper',
    architectures: ['WhisperForConditionalGeneration'],
    d_model: d,
    encoder_layers: encL,
    decoder_layers: decL,
    encoder_attention_heads: heads,
    decoder_attention_heads: heads,
    encoder_ffn_dim: ffn,
    decoder_ffn_dim: ffn,
    num_mel_bins: mels,
    max_source_positions: 1500,
    max_target_positions: 448,
    vocab_size: V,
    is_encoder_decoder: true,
    ...common,
    ...(external ? { 'transformers.js_config': { use_external_data_format: { 'encoder_model.onnx': 1 } } } : {}),
  });
  writeJson(path.join(dir, 'generation_config.json'), {
    ...common,
    is_multilingual: true,
    lang_to_id: Object.fromEntries(WHISPER_LANGS.map((l) => [`<|${l}|>`, id(`<|${l}|>`)])),
    task_to_id: { translate: id('<|translate|>'), transcribe: id('<|transcribe|>') },
    no_timestamps_token_id: id('<|notimestamps|>'),
    prev_sot_token_id: id('<|startofprev|>'),
    max_initial_timestamp_index: 50,
    max_length: 448,
    begin_suppress_tokens: [220, eos],
    suppress_tokens: [],
  });
  writeJson(path.join(dir, 'preprocessor_config.json'), {
    feature_extractor_type: 'WhisperFeatureExtractor',
    processor_class: 'WhisperProcessor',
    chunk_length: 30,
    feature_size: mels,
    hop_length: 160,
    n_fft: 400,
    n_samples: 480000,
    nb_max_frames: 3000,
    padding_side: 'right',
    padding_value: 0.0,
    return_attention_mask: false,
    sampling_rate: 16000,
  });

  // Encoder: two GELU convolutions (the second halves 3000 frames to 1500), positions, pre-LN layers, final LN.
  const e = new GraphBuilder(`whisper-${size}-encoder`, {
    quantized: !fp32Encoder,
    ...(external ? { externalOver: 1 << 20, externalFile: 'encoder_model.onnx_data' } : {}),
  });
  const c1 = e.gelu(
    e.one(
      'Conv',
      [
        'input_features',
        e.weight('conv1.weight', [d, mels, 3], 1 / Math.sqrt(mels * 3)),
        e.weight('conv1.bias', [d], 0.02),
      ],
      {
        kernel_shape: [3],
        pads: [1, 1],
      },
    ),
  );
  const c2 = e.gelu(
    e.one('Conv', [c1, e.weight('conv2.weight', [d, d, 3], 1 / Math.sqrt(d * 3)), e.weight('conv2.bias', [d], 0.02)], {
      kernel_shape: [3],
      pads: [1, 1],
      strides: [2],
    }),
  );
  let x = e.one('Add', [e.one('Transpose', [c2], { perm: [0, 2, 1] }), e.weight('embed_positions', [1500, d], 1)]);
  for (let i = 0; i < encL; i++) x = e.preLnLayer(x, d, heads, ffn, `encoder.layer.${i}`, undefined, false);
  e.output('last_hidden_state', e.layerNorm(x, d, 'encoder.ln'));
  const encFile = entry.files.find((f) => f.startsWith('onnx/encoder_model'));
  if (!encFile) throw new Error('models/manifest.json: the asr role lists no onnx/encoder_model file');
  writeOnnx(
    path.join(dir, encFile),
    e,
    `whisper-${size}-encoder`,
    [{ name: 'input_features', type: FLOAT, shape: ['batch_size', mels, 3000] }],
    [{ name: 'last_hidden_state', type: FLOAT, shape: ['batch_size', 1500, d] }],
  );

  /**
   * Token and position embeddings, the layers and the tied output projection,
   * over a builder whose cross-attention keys and values come from `crossKV`.
   */
  function decoderLayers(dec: GraphBuilder, crossKV: (layer: number, kv: 'key' | 'value') => string): void {
    const pastLen = dec.one('Gather', [dec.one('Shape', ['past_key_values.0.decoder.key']), dec.i64([2], true)]);
    const seq = dec.one('Gather', [dec.one('Shape', ['input_ids']), dec.i64([1], true)]);
    const end = dec.one('Add', [pastLen, seq]);
    const posIds = dec.one('Range', [pastLen, end, dec.i64([1], true)]);
    // The two export generations differ: Xenova's older q8 files (base, small)
    // quantise the token table and share it with the output projection;
    // onnx-community's large-v3-turbo keeps it fp32 for the lookup and stores
    // an int8 copy for the projection (hence its 438 MB int8 decoder).
    const tokens = s.v3
      ? dec.one('Gather', [dec.weight('decoder.embed_tokens', [V, d], 1), 'input_ids'])
      : dec.embedding('input_ids', V, d, 'decoder.embed_tokens');
    let y = dec.one('Add', [tokens, dec.embedding(posIds, 448, d, 'decoder.embed_positions')]);
    for (let i = 0; i < decL; i++) {
      const n = `decoder.layer.${i}`;
      const h = dec.layerNorm(y, d, `${n}.self_ln`);
      const q = dec.heads(dec.linear(h, d, d, `${n}.self.q_proj`), heads, dh);
      const k = dec.heads(dec.linear(h, d, d, `${n}.self.k_proj`, false), heads, dh);
      const v = dec.heads(dec.linear(h, d, d, `${n}.self.v_proj`), heads, dh);
      const kAll = dec.output(
        `present.${i}.decoder.key`,
        dec.one('Concat', [`past_key_values.${i}.decoder.key`, k], { axis: 2 }),
      );
      const vAll = dec.output(
        `present.${i}.decoder.value`,
        dec.one('Concat', [`past_key_values.${i}.decoder.value`, v], { axis: 2 }),
      );
      // No causal mask: with a KV cache every step but the first sees one query row; the first (3–4 prompt tokens) costs the same either way.
      const sa = dec.attend(q, dec.one('Transpose', [kAll], { perm: [0, 1, 3, 2] }), vAll, dh, d);
      y = dec.one('Add', [y, dec.linear(sa, d, d, `${n}.self.out_proj`)]);
      const ck = crossKV(i, 'key');
      const cv = crossKV(i, 'value');
      const cq = dec.heads(dec.linear(dec.layerNorm(y, d, `${n}.cross_ln`), d, d, `${n}.cross.q_proj`), heads, dh);
      const ca = dec.attend(cq, dec.one('Transpose', [ck], { perm: [0, 1, 3, 2] }), cv, dh, d);
      y = dec.one('Add', [y, dec.linear(ca, d, d, `${n}.cross.out_proj`)]);
      y = dec.one('Add', [y, dec.mlp(dec.layerNorm(y, d, `${n}.ffn_ln`), d, ffn, `${n}.mlp`)]);
    }
    y = dec.layerNorm(y, d, 'decoder.ln');
    // The output projection is the token embedding, transposed (tied weights, stored once): onnxruntime folds the Transpose at load.
    let logits: string;
    if (dec.opts.quantized && s.v3) {
      logits = dec.linear(y, d, V, 'decoder.proj_out', false, 4 / Math.sqrt(d));
      dec.params -= V * d; // the int8 copy of the tied table is not a parameter of its own
    } else if (dec.opts.quantized) {
      const table = dec.quantizedTable(V, d, 'decoder.embed_tokens');
      const [xq, xs, xzp] = dec.op('DynamicQuantizeLinear', [y], undefined, 3, 'dql');
      const mm = dec.one('MatMulInteger', [
        xq!,
        dec.one('Transpose', [table], { perm: [1, 0] }),
        xzp!,
        dec.zeroPoint(UINT8),
      ]);
      // Logits with a spread of ~4 keep the timestamp rules of the generator from firing on every step.
      logits = dec.one('Mul', [
        dec.one('Cast', [mm], { to: FLOAT }),
        dec.one('Mul', [xs!, dec.f32(4 / (73.9 * Math.sqrt(d)))]),
      ]);
    } else {
      logits = dec.one('MatMul', [
        y,
        dec.one('Transpose', [dec.weight('decoder.embed_tokens', [V, d], 1)], { perm: [1, 0] }),
      ]);
    }
    // Random weights never choose <|endoftext|>: force it once TOKENS_PER_WINDOW tokens are decoded.
    const eosRow = new Float32Array(V);
    eosRow[eos] = 1;
    const eosHot = dec.addFloat('eos_onehot', [V], eosRow);
    const over = dec.one('Relu', [
      dec.one('Sub', [dec.one('Cast', [posIds], { to: FLOAT }), dec.f32(TOKENS_PER_WINDOW)]),
    ]);
    const boost = dec.one('Mul', [
      dec.one('Unsqueeze', [dec.one('Mul', [over, dec.f32(1e4)]), dec.i64([0, 2])]),
      eosHot,
    ]);
    dec.output('logits', dec.one('Add', [logits, boost]));
  }

  // Merged decoder. use_cache_branch chooses where the cross-attention keys and
  // values come from: computed from the encoder output on the first step,
  // passed back in as past_key_values.*.encoder.* afterwards. Self-attention
  // keys and values are concatenated onto the past ones every step.
  const dec = new GraphBuilder(`whisper-${size}-decoder`, {
    quantized: dtypeOf(entry, 'decoder_model_merged') === 'q8',
  });
  const kvShape = (len: string) => ['batch_size', heads, len, dh];
  const inputs: Value[] = [
    { name: 'input_ids', type: INT64, shape: ['batch_size', 'decoder_sequence_length'] },
    { name: 'encoder_hidden_states', type: FLOAT, shape: ['batch_size', 'encoder_sequence_length', d] },
  ];
  const outputs: Value[] = [{ name: 'logits', type: FLOAT, shape: ['batch_size', 'decoder_sequence_length', V] }];
  for (let i = 0; i < decL; i++) {
    for (const kv of ['key', 'value']) {
      inputs.push({
        name: `past_key_values.${i}.decoder.${kv}`,
        type: FLOAT,
        shape: kvShape('past_decoder_sequence_length'),
      });
      inputs.push({
        name: `past_key_values.${i}.encoder.${kv}`,
        type: FLOAT,
        shape: kvShape('encoder_sequence_length_out'),
      });
      outputs.push({
        name: `present.${i}.decoder.${kv}`,
        type: FLOAT,
        shape: kvShape('past_decoder_sequence_length + 1'),
      });
      outputs.push({ name: `present.${i}.encoder.${kv}`, type: FLOAT, shape: kvShape('encoder_sequence_length_out') });
    }
  }
  inputs.push({ name: 'use_cache_branch', type: BOOL, shape: [1] });

  // Cross-attention keys/values for the first step, built as a subgraph that reads the outer graph's weights.
  const cross = new GraphBuilder(`whisper-${size}-decoder`, { ...dec.opts, prefix: 'no_cache/' });
  const crossOut: Value[] = [];
  const cached: Value[] = [];
  const cachedNodes: Node[] = [];
  for (let i = 0; i < decL; i++) {
    for (const kv of ['key', 'value'] as const) {
      const lin = cross.linear(
        'encoder_hidden_states',
        d,
        d,
        `decoder.layer.${i}.cross.${kv === 'key' ? 'k' : 'v'}_proj`,
        kv === 'value',
      );
      const name = `cross_${i}_${kv}`;
      cross.output(name, cross.heads(lin, heads, dh));
      crossOut.push({ name, type: FLOAT, shape: kvShape('encoder_sequence_length_out') });
      cached.push({ name: `${name}_cached`, type: FLOAT, shape: kvShape('encoder_sequence_length_out') });
      cachedNodes.push({ op: 'Identity', inputs: [`past_key_values.${i}.encoder.${kv}`], outputs: [`${name}_cached`] });
    }
  }
  // The subgraph's weights live in the outer graph (the subgraph reads them by name) and count once.
  dec.inits.push(...cross.inits);
  dec.params += cross.params;
  const cachedKV = dec.op(
    'If',
    ['use_cache_branch'],
    {
      then_branch: { graph: { name: 'use_cache', inputs: [], outputs: cached, initializers: [], nodes: cachedNodes } },
      else_branch: { graph: { name: 'no_cache', inputs: [], outputs: crossOut, initializers: [], nodes: cross.nodes } },
    },
    decL * 2,
    'cross',
  );

  decoderLayers(dec, (i, kv) => dec.output(`present.${i}.encoder.${kv}`, cachedKV[2 * i + (kv === 'key' ? 0 : 1)]!));
  const decFile = entry.files.find((f) => f.startsWith('onnx/decoder_model_merged'));
  if (!decFile) throw new Error('models/manifest.json: the asr role lists no onnx/decoder_model_merged file');
  writeOnnx(path.join(dir, decFile), dec, `whisper-${size}-decoder`, inputs, outputs);

  // Optimum's decoder for the later steps, exported beside the merged one:
  // the cross-attention keys and values are inputs only (no If, nothing passed
  // back), and encoder_hidden_states, which those steps never read, is not an
  // input. Its weights are the merged decoder's (same builder seed and names)
  // less the cross-attention projections, so it adds no parameters of its own.
  const pastFile = entry.optional_files?.find((f) => f.startsWith('onnx/decoder_with_past_model'));
  if (pastFile) {
    const past = new GraphBuilder(`whisper-${size}-decoder`, dec.opts);
    decoderLayers(past, (i, kv) => `past_key_values.${i}.encoder.${kv}`);
    writeOnnx(
      path.join(dir, pastFile),
      past,
      `whisper-${size}-decoder-with-past`,
      inputs.filter((v) => v.name === 'input_ids' || v.name.startsWith('past_key_values.')),
      outputs.filter((v) => !/^present\.\d+\.encoder\./.test(v.name)),
    );
  }
  return { encoder_model: e.params, decoder_model_merged: dec.params };
}

// ---------------------------------------------------------------- driver

function fingerprint(extra: string): string {
  const h = crypto.createHash('sha256');
  for (const f of ['cost/generate.ts', 'cost/graph.ts', 'tiny/onnx.ts', 'manifest.json'])
    h.update(fs.readFileSync(path.join(MODELS_DIR, f)));
  h.update(extra);
  return h.digest('hex');
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  return total;
}

/** Builds one model folder in a sibling temp folder and swaps it in, so a crash never leaves half a model. */
function build(out: string, id: string, key: string, write: (dir: string) => Params): WrittenModel {
  const dir = path.join(out, id);
  const fp = fingerprint(key);
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, STAND_IN_MARKER), 'utf8')) as {
      fingerprint?: string;
      parameters: number;
    };
    if (m.fingerprint === fp) return { id, dir, written: false, parameters: m.parameters, bytes: dirBytes(dir) };
  } catch {
    /* absent or unreadable marker: (re)generate */
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const perFile = write(tmp);
  const parameters = Object.values(perFile).reduce((a, b) => a + b, 0);
  writeJson(path.join(tmp, STAND_IN_MARKER), {
    stand_in: 'cost',
    of: id,
    why: 'Production-shaped graph with random weights, written by models/cost/generate.ts: it costs what the real model costs and its outputs mean nothing. Never index real videos with it.',
    parameters,
    parameters_per_file: perFile,
    key,
    fingerprint: fp,
  });
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
  return { id, dir, written: true, parameters, bytes: dirBytes(dir) };
}

export function generateCostModels(options: CostOptions = {}): WrittenModel[] {
  const out = path.resolve(ROOT_DIR, options.out ?? '.test-data/cost-models');
  const roles = readManifest();
  const only = new Set(options.only ?? ['text', 'vision', 'asr']);
  const layers = options.layers;
  const vocab = options.vocab;
  const key = `layers=${layers ?? 'production'} vocab=${vocab ?? 'production'}`;
  const done: WrittenModel[] = [];
  if (only.has('text'))
    done.push(build(out, roles.text!.id, key, (dir) => writeBgeM3(dir, roles.text!, layers, vocab)));
  if (only.has('vision'))
    done.push(
      build(out, roles.vision!.id, key, (dir) => writeSiglip(dir, roles.vision!, roles['vision-text']!, layers, vocab)),
    );
  if (only.has('asr')) {
    const sizes =
      options.asr ??
      (Object.keys(WHISPER_SHAPES) as WhisperSize[]).filter((s) => WHISPER_SHAPES[s].id === roles.asr!.id);
    if (!sizes.length) throw new Error(`no Whisper shape for the manifest's asr model ${roles.asr!.id}; pass --asr`);
    for (const size of sizes)
      done.push(
        build(out, WHISPER_SHAPES[size].id, `${key} size=${size}`, (dir) =>
          writeWhisper(dir, roles.asr!, size, layers),
        ),
      );
  }
  return done;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      asr: { type: 'string' },
      layers: { type: 'string' },
      vocab: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const layers = values.layers ? Number.parseInt(values.layers, 10) : undefined;
  if (layers !== undefined && !(layers > 0)) throw new Error('--layers must be a positive integer');
  const vocab = values.vocab ? Number.parseInt(values.vocab, 10) : undefined;
  if (vocab !== undefined && !(vocab > 8)) throw new Error('--vocab must be an integer above 8');
  const asr = values.asr?.split(',').map((s) => s.trim()) as WhisperSize[] | undefined;
  for (const s of asr ?? [])
    if (!(s in WHISPER_SHAPES))
      throw new Error(`--asr: unknown Whisper size "${s}" (${Object.keys(WHISPER_SHAPES).join(', ')})`);
  const only = values.only?.split(',').map((s) => s.trim()) as CostOptions['only'];
  const t0 = performance.now();
  for (const m of generateCostModels({ out: values.out, asr, layers, vocab, only }))
    console.log(
      `[models] ${m.written ? 'wrote' : 'up to date'} ${m.id}: ${(m.parameters / 1e6).toFixed(1)} M parameters, ${(m.bytes / 1e6).toFixed(1)} MB in ${m.dir}`,
    );
  console.log(`[models] cost stand-ins done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
