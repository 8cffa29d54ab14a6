/*
 * Just enough of onnx.proto to write graphs from TypeScript: the tiny test
 * models and the production-shaped cost stand-ins (models/cost/). Field
 * numbers are ONNX's own (onnx/onnx.proto, IR version 8); the schema must be
 * parsed with keepCase: true or protobufjs silently drops snake_case fields
 * such as raw_data and data_type.
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1; float f = 2; int64 i = 3; bytes s = 4; TensorProto t = 5; GraphProto g = 6;
  repeated float floats = 7; repeated int64 ints = 8; int32 type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; string name = 3;
  string op_type = 4; repeated AttributeProto attribute = 5; string domain = 7;
}
message ModelProto {
  int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message GraphProto {
  repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message StringStringEntryProto { string key = 1; string value = 2; }
message TensorProto {
  repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13; int32 data_location = 14;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const Model = root.lookupType('onnx.ModelProto');

export const FLOAT = 1;
export const UINT8 = 2;
export const INT8 = 3;
export const INT32 = 6;
export const INT64 = 7;
export const BOOL = 9;

const ATTR = { float: 1, int: 2, tensor: 4, graph: 5, floats: 6, ints: 7 } as const;

export type Dim = number | string;
export interface Value {
  name: string;
  type: number;
  shape: Dim[];
}
export interface Tensor {
  name: string;
  type: number;
  dims: number[];
  data: Float32Array | BigInt64Array | Uint8Array | Int8Array | Int32Array;
  /** Stored beside the model (ONNX external data) at this byte offset of the data file, not inside it. */
  external?: { location: string; offset: number };
}
/** A subgraph (the branches of an If node); it may read any value of the enclosing graph by name. */
export interface Graph {
  name: string;
  inputs: Value[];
  outputs: Value[];
  initializers: Tensor[];
  nodes: Node[];
}
export type Attr = number | number[] | { floats: number[] } | { graph: Graph } | Tensor;
export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

export function floatTensor(name: string, dims: number[], data: Float32Array | number[]): Tensor {
  const d = data instanceof Float32Array ? data : Float32Array.from(data);
  if (d.length !== dims.reduce((a, b) => a * b, 1))
    throw new Error(`tensor ${name}: ${d.length} values for dims ${dims}`);
  return { name, type: FLOAT, dims, data: d };
}

export function int64Tensor(name: string, dims: number[], data: number[]): Tensor {
  return { name, type: INT64, dims, data: BigInt64Array.from(data.map((x) => BigInt(x))) };
}

function tensorProto(t: Tensor) {
  if (t.external) {
    return {
      name: t.name,
      dims: t.dims,
      data_type: t.type,
      data_location: 1,
      external_data: [
        { key: 'location', value: t.external.location },
        { key: 'offset', value: String(t.external.offset) },
        { key: 'length', value: String(t.data.byteLength) },
      ],
    };
  }
  return {
    name: t.name,
    dims: t.dims,
    data_type: t.type,
    raw_data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  };
}

function attribute(name: string, v: Attr) {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: ATTR.int, i: v } : { name, type: ATTR.float, f: v };
  }
  if (Array.isArray(v)) return { name, type: ATTR.ints, ints: v };
  if ('floats' in v) return { name, type: ATTR.floats, floats: v.floats };
  if ('graph' in v) return { name, type: ATTR.graph, g: graphProto(v.graph) };
  return { name, type: ATTR.tensor, t: tensorProto(v) };
}

function valueInfo(v: Value) {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: v.type,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function graphProto(g: Graph): Record<string, unknown> {
  return {
    name: g.name,
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    initializer: g.initializers.map(tensorProto),
    node: g.nodes.map((n, i) => ({
      name: `${g.name}/${n.op}_${i}`,
      op_type: n.op,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    })),
  };
}

/** Serialises a single-graph ONNX model (IR 8; opset 13 unless told otherwise). */
export function encodeModel(g: Graph, opts: { opset?: number; producer?: string } = {}): Uint8Array {
  const msg = Model.fromObject({
    ir_version: 8,
    producer_name: opts.producer ?? 'heimdex-tiny',
    opset_import: [{ domain: '', version: opts.opset ?? 13 }],
    graph: graphProto(g),
  });
  return Model.encode(msg).finish();
}

/** Deterministic pseudo-random numbers (mulberry32) so regenerated models are byte-identical. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A row of roughly unit-variance values seeded by a token, so a token's vector does not depend on vocabulary order. */
export function tokenRow(token: string, dim: number, salt = 0): Float32Array {
  const r = rng(hashString(token) ^ salt);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = (r() + r() + r() - 1.5) * 2;
  return out;
}
