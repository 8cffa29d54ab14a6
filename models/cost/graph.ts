/*
 * Transformer building blocks for the cost stand-ins: the same operators, in
 * the same arrangement, as the Hugging Face ONNX exports transformers.js
 * loads, so onnxruntime does the same work per token or patch. Weights are
 * deterministic noise (AES-CTR keyed by the tensor's name): fast to produce,
 * byte-identical on every run, and scaled so activations stay finite.
 *
 * q8 follows onnxruntime's quantize_dynamic (what transformers.js' *_quantized
 * files are): every MatMul with a constant weight becomes
 * DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_int8) → Cast → Mul(scale)
 * (+ bias), and embedding tables become uint8 Gather → DequantizeLinear.
 * Attention's activation × activation MatMuls stay float, as there.
 */
import crypto from 'node:crypto';
import {
  floatTensor,
  int64Tensor,
  FLOAT,
  INT8,
  UINT8,
  type Attr,
  type Graph,
  type Node,
  type Tensor,
  type Value,
} from '../tiny/onnx.ts';

/** Standard deviation of a uniformly random int8 (or uint8 around 128). */
const INT8_STD = 73.9;

/** Deterministic bytes for a tensor: AES-256-CTR keystream keyed by the seed. */
export function noiseBytes(seed: string, n: number): Uint8Array {
  const key = crypto.createHash('sha256').update(seed).digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const out = new Uint8Array(n);
  const chunk = 64 << 20;
  const zeros = Buffer.alloc(Math.min(chunk, n));
  for (let o = 0; o < n; o += chunk) out.set(cipher.update(zeros.subarray(0, Math.min(chunk, n - o))), o);
  return out;
}

function noiseFloats(seed: string, n: number, std: number): Float32Array {
  const b = new Int8Array(noiseBytes(seed, n).buffer);
  const out = new Float32Array(n);
  const k = std / INT8_STD;
  for (let i = 0; i < n; i++) out[i] = b[i]! * k;
  return out;
}

export interface BuildOptions {
  /** Dynamic int8 (q8) for MatMuls with constant weights and for embedding tables; fp32 otherwise. */
  quantized: boolean;
  /** Prefix of generated value names, so a subgraph's helper values never collide with its parent's. */
  prefix?: string;
  /** Float tensors above this many bytes go to `<file>_data` (ONNX external data): protobuf caps a file at 2 GB. */
  externalOver?: number;
  externalFile?: string;
}

export class GraphBuilder {
  nodes: Node[] = [];
  inits: Tensor[] = [];
  /** Parameters of the model as counted on a model card (weights, biases, embeddings; not helper constants). */
  params = 0;
  private n = 0;
  private consts = new Map<string, string>();
  private externalBytes = 0;

  readonly seed: string;
  readonly opts: BuildOptions;

  constructor(seed: string, opts: BuildOptions) {
    this.seed = seed;
    this.opts = opts;
  }

  private fresh(hint: string): string {
    return `${this.opts.prefix ?? ''}${hint}_${this.n++}`;
  }

  op(op: string, inputs: string[], attrs?: Record<string, Attr>, outputs = 1, hint = op.toLowerCase()): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({ op, inputs, outputs: outs, attrs });
    return outs;
  }

  one(op: string, inputs: string[], attrs?: Record<string, Attr>): string {
    return this.op(op, inputs, attrs)[0]!;
  }

  /**
   * Names a value for a graph output. An exporter names the node's own output
   * so (the real files have no copy in between); an Identity is left only where
   * the value is no node's output here (an input, a weight), as in those files.
   */
  output(name: string, value: string): string {
    const producer = this.nodes.find((n) => n.outputs.includes(value));
    if (!producer) {
      this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
      return name;
    }
    producer.outputs = producer.outputs.map((o) => (o === value ? name : o));
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === value ? name : i));
    return name;
  }

  private addInit(t: Tensor, param: boolean): string {
    this.inits.push(t);
    if (param) this.params += t.dims.reduce((a, b) => a * b, 1);
    return t.name;
  }

  i64(values: number[], scalar = false): string {
    const key = `i64:${scalar}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.addInit(int64Tensor(this.fresh('c_i64'), scalar ? [] : [values.length], values), false);
      this.consts.set(key, name);
    }
    return name;
  }

  f32(value: number): string {
    const key = `f32:${value}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.addInit(floatTensor(this.fresh('c_f32'), [], [value]), false);
      this.consts.set(key, name);
    }
    return name;
  }

  zeroPoint(type: number): string {
    const key = `zp:${type}`;
    let name = this.consts.get(key);
    if (!name) {
      const data = type === UINT8 ? Uint8Array.of(128) : Int8Array.of(0);
      name = this.addInit({ name: this.fresh('c_zp'), type, dims: [], data }, false);
      this.consts.set(key, name);
    }
    return name;
  }

  /** A float weight of the model (counted as parameters), noise with the given deviation. */
  weight(name: string, dims: number[], std: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const t = floatTensor(name, dims, noiseFloats(`${this.seed}/${name}`, n, std));
    if (this.opts.externalFile && this.opts.externalOver !== undefined && n * 4 > this.opts.externalOver) {
      t.external = { location: this.opts.externalFile, offset: this.externalBytes };
      this.externalBytes += n * 4;
    }
    return this.addInit(t, true);
  }

  /** Float tensors stored as external data, in file order (write their bytes to opts.externalFile). */
  externalTensors(): Tensor[] {
    return this.inits.filter((t) => t.external);
  }

  /** A float helper constant (not a model parameter). */
  addFloat(name: string, dims: number[], data: Float32Array): string {
    return this.addInit(floatTensor(name, dims, data), false);
  }

  constant(name: string, dims: number[], value: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.addInit(floatTensor(name, dims, new Float32Array(n).fill(value)), true);
  }

  /** y = x·W + b with W [din, dout]; int8 dynamic quantisation when the model is q8. */
  linear(x: string, din: number, dout: number, name: string, bias = true, std?: number): string {
    const wStd = std ?? 1 / Math.sqrt(din);
    let y: string;
    if (this.opts.quantized) {
      const data = new Int8Array(noiseBytes(`${this.seed}/${name}.weight`, din * dout).buffer);
      const w = this.addInit({ name: `${name}.weight_quantized`, type: INT8, dims: [din, dout], data }, true);
      const wScale = this.f32(wStd / INT8_STD);
      const [xq, xs, xzp] = this.op('DynamicQuantizeLinear', [x], undefined, 3, 'dql');
      const mm = this.one('MatMulInteger', [xq!, w, xzp!, this.zeroPoint(INT8)]);
      const f = this.one('Cast', [mm], { to: FLOAT });
      y = this.one('Mul', [f, this.one('Mul', [xs!, wScale])]);
    } else {
      y = this.one('MatMul', [x, this.weight(`${name}.weight`, [din, dout], wStd)]);
    }
    return bias ? this.one('Add', [y, this.weight(`${name}.bias`, [dout], 0.02)]) : y;
  }

  /** Embedding lookup; a uint8 table + DequantizeLinear when q8. Returns [.., dim]. */
  embedding(ids: string, rows: number, dim: number, name: string): string {
    if (!this.opts.quantized) return this.one('Gather', [this.weight(name, [rows, dim], 1), ids]);
    const table = this.quantizedTable(rows, dim, name);
    return this.one('DequantizeLinear', [
      this.one('Gather', [table, ids]),
      this.f32(1 / INT8_STD),
      this.zeroPoint(UINT8),
    ]);
  }

  quantizedTable(rows: number, dim: number, name: string): string {
    const key = `table:${name}`;
    let t = this.consts.get(key);
    if (!t) {
      const data = noiseBytes(`${this.seed}/${name}`, rows * dim);
      t = this.addInit({ name: `${name}_quantized`, type: UINT8, dims: [rows, dim], data }, true);
      this.consts.set(key, t);
    }
    return t;
  }

  layerNorm(x: string, dim: number, name: string): string {
    const g = this.constant(`${name}.weight`, [dim], 1);
    const b = this.constant(`${name}.bias`, [dim], 0);
    return this.one('LayerNormalization', [x, g, b], { axis: -1, epsilon: 1e-5 });
  }

  /** Exact (erf) GELU, decomposed as the exporters write it. */
  gelu(x: string): string {
    const e = this.one('Erf', [this.one('Div', [x, this.f32(Math.SQRT2)])]);
    return this.one('Mul', [this.one('Mul', [x, this.one('Add', [e, this.f32(1)])]), this.f32(0.5)]);
  }

  /** [b, s, heads·dh] → [b, heads, s, dh] (or [b, heads, dh, s] for keys). */
  heads(x: string, heads: number, dh: number, transposeForKeys = false): string {
    const r = this.one('Reshape', [x, this.i64([0, 0, heads, dh])]);
    return this.one('Transpose', [r], { perm: transposeForKeys ? [0, 2, 3, 1] : [0, 2, 1, 3] });
  }

  /** softmax(q·kᵀ/√dh + mask)·v, back to [b, s, heads·dh]; k is already [b, h, dh, t]. */
  attend(q: string, kT: string, v: string, dh: number, dim: number, mask?: string): string {
    let s = this.one('Mul', [this.one('MatMul', [q, kT]), this.f32(1 / Math.sqrt(dh))]);
    if (mask) s = this.one('Add', [s, mask]);
    const p = this.one('Softmax', [s], { axis: -1 });
    const ctx = this.one('Transpose', [this.one('MatMul', [p, v])], { perm: [0, 2, 1, 3] });
    return this.one('Reshape', [ctx, this.i64([0, 0, dim])]);
  }

  /** Bidirectional self-attention over x [b, s, dim]. */
  selfAttention(x: string, dim: number, heads: number, name: string, mask?: string, keyBias = true): string {
    const dh = dim / heads;
    const q = this.heads(this.linear(x, dim, dim, `${name}.q_proj`), heads, dh);
    const k = this.heads(this.linear(x, dim, dim, `${name}.k_proj`, keyBias), heads, dh, true);
    const v = this.heads(this.linear(x, dim, dim, `${name}.v_proj`), heads, dh);
    return this.linear(this.attend(q, k, v, dh, dim, mask), dim, dim, `${name}.out_proj`);
  }

  mlp(x: string, dim: number, hidden: number, name: string): string {
    return this.linear(this.gelu(this.linear(x, dim, hidden, `${name}.fc1`)), hidden, dim, `${name}.fc2`);
  }

  /** Pre-LN block (ViT, SigLIP, Whisper encoder): x + attn(LN x), then + mlp(LN x). */
  preLnLayer(x: string, dim: number, heads: number, ffn: number, name: string, mask?: string, keyBias = true): string {
    const a = this.selfAttention(this.layerNorm(x, dim, `${name}.ln1`), dim, heads, `${name}.attn`, mask, keyBias);
    const h = this.one('Add', [x, a]);
    return this.one('Add', [h, this.mlp(this.layerNorm(h, dim, `${name}.ln2`), dim, ffn, `${name}.mlp`)]);
  }

  /** Post-LN block (BERT, XLM-RoBERTa): LN(x + attn x), then LN(h + mlp h). */
  postLnLayer(x: string, dim: number, heads: number, ffn: number, name: string, mask?: string): string {
    const h = this.layerNorm(
      this.one('Add', [x, this.selfAttention(x, dim, heads, `${name}.attn`, mask)]),
      dim,
      `${name}.ln1`,
    );
    return this.layerNorm(this.one('Add', [h, this.mlp(h, dim, ffn, `${name}.mlp`)]), dim, `${name}.ln2`);
  }

  graph(name: string, inputs: Value[], outputs: Value[]): Graph {
    return { name, inputs, outputs, initializers: this.inits, nodes: this.nodes };
  }
}
