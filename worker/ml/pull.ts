/*
 * `heimdex models pull`: the only code that downloads models. It fetches the
 * manifest's files from the hub (HF_ENDPOINT/<id>/resolve/<revision>/<file>)
 * into MODELS_DIR/<id>/. Each file streams into <file>.part and is renamed
 * when complete, so an interrupted pull resumes with an HTTP Range request and
 * a reader never sees a half-written file. config.json is written last: the
 * registry treats a folder without it as "not installed", never as broken.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import type { Config } from '../../core/config.ts';
import { resolveModel, type ResolvedModel } from './manifest.ts';
import type { ModelRole } from './types.ts';

export interface PullProgress {
  role: ModelRole;
  id: string;
  file: string;
  loaded: number;
  /** null when the hub sends no length. */
  total: number | null;
  done: boolean;
}

export interface PullOptions {
  roles?: ModelRole[];
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  role: ModelRole;
  id: string;
  dir: string;
  downloaded: string[];
  skipped: string[];
  /** Optional files (the manifest's optional_files) the hub does not have for this model. */
  unavailable: string[];
  /** Commit the hub resolved the revision to (x-repo-commit), for pinning in the manifest. */
  commit: string | null;
}

const DOWNLOADABLE: ModelRole[] = ['text', 'vision', 'vision-text', 'asr'];

function describe(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message;
}

class NotOnHub extends Error {}

async function download(
  url: string,
  dest: string,
  report: (loaded: number, total: number | null) => void,
  signal?: AbortSignal,
): Promise<string | null> {
  const part = `${dest}.part`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const res = await fetch(url, { headers: have ? { Range: `bytes=${have}-` } : {}, redirect: 'follow', signal });
  if (res.status === 416) {
    // The .part file already holds everything the server has.
    fs.renameSync(part, dest);
    return res.headers.get('x-repo-commit');
  }
  if (!res.ok) {
    if (res.status === 404 || res.status === 401)
      throw new NotOnHub(
        `${url}: not found (HTTP ${res.status}); check the model id and revision in models/manifest.json`,
      );
    throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  }
  const resumed = res.status === 206;
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : null;
  let loaded = resumed ? have : 0;
  report(loaded, total);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      loaded += chunk.length;
      report(loaded, total);
      cb(null, chunk);
    },
  });
  if (!res.body) throw new Error(`${url}: empty response`);
  await streamPipeline(
    Readable.fromWeb(res.body as any),
    counter,
    fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' }),
    { signal },
  );
  if (total !== null && fs.statSync(part).size !== total) {
    throw new Error(`${url}: expected ${total} bytes, got ${fs.statSync(part).size}; run the pull again to resume`);
  }
  fs.renameSync(part, dest);
  return res.headers.get('x-repo-commit');
}

/** Downloads the manifest's models (all downloadable roles unless opts.roles) into MODELS_DIR. */
export async function pullModels(config: Pick<Config, 'models'>, opts: PullOptions = {}): Promise<PullResult[]> {
  const roles = opts.roles ?? DOWNLOADABLE;
  // vision and vision-text share a repository: pull it once with the union of
  // their files, so config.json really is the last file of the folder.
  const groups = new Map<
    string,
    { roles: ModelRole[]; model: ResolvedModel; files: Set<string>; optional: Set<string> }
  >();
  const results: PullResult[] = [];
  for (const role of roles) {
    const m = resolveModel(config, role);
    if (m.source === 'npm') {
      results.push({ role, id: m.id, dir: m.dir, downloaded: [], skipped: [], unavailable: [], commit: null });
      continue;
    }
    const key = `${m.id}@${m.revision}`;
    const g = groups.get(key) ?? { roles: [], model: m, files: new Set<string>(), optional: new Set<string>() };
    g.roles.push(role);
    for (const f of m.files) g.files.add(f);
    for (const f of m.optional_files ?? []) g.optional.add(f);
    groups.set(key, g);
  }
  for (const { roles: groupRoles, model: m, files, optional } of groups.values()) {
    const role = groupRoles[0]!;
    const ordered = [...files, ...[...optional].filter((f) => !files.has(f))].sort(
      (a, b) => Number(a === 'config.json') - Number(b === 'config.json'),
    );
    const result: PullResult = {
      role,
      id: m.id,
      dir: m.dir,
      downloaded: [],
      skipped: [],
      unavailable: [],
      commit: null,
    };
    for (const file of ordered) {
      const dest = path.join(m.dir, file);
      if (fs.existsSync(dest)) {
        result.skipped.push(file);
        continue;
      }
      const url = `${config.models.hubUrl}/${m.id}/resolve/${encodeURIComponent(m.revision)}/${file}`;
      try {
        const commit = await download(
          url,
          dest,
          (loaded, total) => opts.onProgress?.({ role, id: m.id, file, loaded, total, done: false }),
          opts.signal,
        );
        result.commit ??= commit;
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        // Not every export of a model has the optional files (an override, an older conversion).
        if (e instanceof NotOnHub && optional.has(file) && !files.has(file)) {
          result.unavailable.push(file);
          continue;
        }
        throw new Error(
          `cannot download ${m.id} (${groupRoles.join(', ')}) from ${config.models.hubUrl}: ${describe(e)}. ` +
            `Check network access or HF_ENDPOINT, or copy the files listed in models/manifest.json into ${m.dir} by hand.`,
          { cause: e },
        );
      }
      result.downloaded.push(file);
      const size = fs.statSync(dest).size;
      opts.onProgress?.({ role, id: m.id, file, loaded: size, total: size, done: true });
    }
    for (const r of groupRoles) results.push({ ...result, role: r });
  }
  return results;
}
