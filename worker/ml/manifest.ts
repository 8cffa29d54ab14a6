/*
 * models/manifest.json, resolved against the configuration: which model id
 * serves each role (MODEL_* overrides win), where its folder lives under
 * MODELS_DIR, which files it needs and what vector width the schema expects.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config.ts';
import type { ModelRole } from './types.ts';

export type Dtype = string | Record<string, string>;

export interface ManifestEntry {
  id: string;
  revision: string;
  dtype: Dtype;
  files: string[];
  /**
   * Files a faster path uses when the repository has them: `models pull`
   * fetches them where they exist, and the model works without them.
   */
  optional_files?: string[];
  dim?: number;
  column?: string;
  max_length?: number;
  prompt?: string;
  /** Longest window of audio Whisper hears at once (speechWindows). */
  chunk_length_s?: number;
  calibration?: { logit_scale: number; logit_bias: number };
  source?: string;
  min_score?: number;
  min_size_px?: number;
}

export interface ResolvedModel extends ManifestEntry {
  role: ModelRole;
  /** Folder holding the model's files: <MODELS_DIR>/<id>. */
  dir: string;
}

export const MANIFEST_PATH = path.resolve(import.meta.dirname, '..', '..', 'models', 'manifest.json');
export const LABELS_PATH = path.resolve(import.meta.dirname, '..', '..', 'models', 'labels.txt');
export const ROLES: ModelRole[] = ['text', 'vision', 'vision-text', 'asr', 'ocr', 'face'];

let cached: Record<ModelRole, ManifestEntry> | undefined;

export function readManifest(): Record<ModelRole, ManifestEntry> {
  if (!cached) {
    const parsed = JSON.parse(fs.readFileSync(MANIFEST_PATH, 'utf8')) as { roles: Record<string, ManifestEntry> };
    for (const role of ROLES) {
      const e = parsed.roles[role];
      if (!e?.id || !Array.isArray(e.files))
        throw new Error(`models/manifest.json: role "${role}" needs an id and a files list`);
    }
    cached = parsed.roles as Record<ModelRole, ManifestEntry>;
  }
  return cached;
}

type ModelsConfig = Pick<Config, 'models'>;

/** A model id must stay inside MODELS_DIR when joined onto it. */
function checkId(id: string) {
  if (!/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(id) || id.split('/').some((p) => p === '..' || p === '.')) {
    throw new Error(`invalid model id "${id}": expected <owner>/<name>`);
  }
}

export function resolveModel(config: ModelsConfig, role: ModelRole): ResolvedModel {
  const entry = readManifest()[role];
  const o = config.models.overrides;
  const override =
    role === 'text'
      ? o.text
      : role === 'asr'
        ? o.asr
        : role === 'vision' || role === 'vision-text'
          ? o.vision
          : undefined;
  const id = override ?? entry.id;
  if (entry.source !== 'npm') checkId(id);
  // An overridden model is a different repository: its revision is unknown.
  return { ...entry, role, id, revision: override ? 'main' : entry.revision, dir: path.join(config.models.dir, id) };
}

/** The onnxruntime file names transformers.js opens for a dtype (its own suffix convention). */
export function dtypeSuffix(dtype: string): string {
  const suffixes: Record<string, string> = {
    fp32: '',
    fp16: '_fp16',
    q8: '_quantized',
    int8: '_int8',
    uint8: '_uint8',
    q4: '_q4',
    q4f16: '_q4f16',
    bnb4: '_bnb4',
  };
  const s = suffixes[dtype];
  if (s === undefined) throw new Error(`unknown dtype "${dtype}" in models/manifest.json`);
  return s;
}

export function readLabels(): string[] {
  const labels = fs
    .readFileSync(LABELS_PATH, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (labels.length === 0) throw new Error(`${LABELS_PATH} has no labels`);
  return [...new Set(labels)];
}
