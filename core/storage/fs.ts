/*
 * fs driver: objects are plain files under <HEIMDEX_DATA_DIR>/objects/, and
 * this server stands in for S3's presigned URLs (routes.ts serves them).
 * Every write lands in .tmp/ first and is renamed into place, so a reader
 * never sees a partial object and a refused upload leaves nothing behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidKey } from './keys.ts';
import { sign, verify, type SignedFields, type VerifyResult } from './signing.ts';
import {
  StorageFullError,
  StoragePermanentError,
  type ListedObject,
  type ObjectInfo,
  type PresignedUpload,
  type Storage,
} from './types.ts';

/** An upload the server refused; `status` is the HTTP answer. */
export class UploadRejectedError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

interface Meta {
  contentType?: string;
  declaredSize?: number;
}

export interface OpenObject {
  path: string;
  size: number;
  mtime: Date;
  contentType?: string;
  declaredSize?: number;
  version: string;
}

/** Where signed fs URLs live on the server; routes.ts mounts the handlers here. */
export const FS_ROUTE = '/storage/o/';

const STALE_TMP_MS = 24 * 3600 * 1000;

/** Free space an upload may not take (or 5 % of a smaller disk). */
const UPLOAD_RESERVE_BYTES = 1024 ** 3;

export class FsStorage implements Storage {
  readonly driver = 'fs' as const;
  readonly root: string;
  readonly #secret: Buffer;
  #publicUrl: string;

  constructor(opts: { root: string; secret: Buffer; publicUrl: string }) {
    this.root = path.resolve(opts.root);
    this.#secret = opts.secret;
    this.#publicUrl = opts.publicUrl.replace(/\/$/, '');
  }

  setPublicUrl(url: string) {
    this.#publicUrl = url.replace(/\/$/, '');
  }

  /** The file for a key; throws for any key that could escape the root. */
  pathFor(key: string): string {
    assertValidKey(key);
    const p = path.resolve(this.root, key);
    if (!p.startsWith(this.root + path.sep))
      throw new StoragePermanentError(`object key escapes the storage root: ${key}`);
    return p;
  }

  #metaPath(key: string): string {
    this.pathFor(key);
    return path.join(this.root, '.meta', `${key}.json`);
  }

  async ensureReady() {
    const tmpDir = path.join(this.root, '.tmp');
    await fsp.mkdir(tmpDir, { recursive: true });
    await fsp.mkdir(path.join(this.root, '.meta'), { recursive: true });
    // Uploads cut off by a crash leave their temp file; none lives a day.
    const cutoff = Date.now() - STALE_TMP_MS;
    for (const name of await fsp.readdir(tmpDir)) {
      const p = path.join(tmpDir, name);
      const st = await fsp.stat(p).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fsp.rm(p, { force: true });
    }
  }

  async ping() {
    await fsp.access(this.root, fs.constants.W_OK);
  }

  #url(key: string, params: Record<string, string>): string {
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    return `${this.#publicUrl}${FS_ROUTE}${encoded}?${new URLSearchParams(params)}`;
  }

  async presignUpload(
    key: string,
    opts: { contentType: string; byteSize: number; ttlS: number },
  ): Promise<PresignedUpload> {
    assertValidKey(key);
    if (!Number.isSafeInteger(opts.byteSize) || opts.byteSize < 1)
      throw new StoragePermanentError('upload size must be a positive integer');
    // Refused before a byte is sent, rather than answered 507 part-way. The
    // reserve is for what shares this disk and must not find it full: the
    // embedded database (PostgreSQL stops when it cannot write its log) and
    // the worker's keyframes and playback copies.
    const { bavail, bsize, blocks } = await fsp.statfs(this.root);
    const room = bavail * bsize - Math.min(UPLOAD_RESERVE_BYTES, 0.05 * blocks * bsize);
    if (opts.byteSize > room)
      throw new StorageFullError(
        `The server has room for ${Math.max(0, Math.floor(room))} more bytes and this file is ${opts.byteSize}; ` +
          'ask its administrator to free space',
      );
    const expires = Math.floor(Date.now() / 1000) + opts.ttlS;
    const fields: SignedFields = { method: 'PUT', key, expires, size: opts.byteSize, contentType: opts.contentType };
    return {
      objectKey: key,
      method: 'PUT',
      url: this.#url(key, {
        expires: String(expires),
        size: String(opts.byteSize),
        type: opts.contentType,
        sig: sign(this.#secret, fields),
      }),
      fields: {},
      headers: { 'Content-Type': opts.contentType },
      expiresAt: new Date(expires * 1000),
      maxBytes: opts.byteSize,
    };
  }

  async presignGet(key: string, opts: { ttlS: number; contentType?: string }): Promise<string> {
    assertValidKey(key);
    const expires = Math.floor(Date.now() / 1000) + opts.ttlS;
    const params: Record<string, string> = { expires: String(expires) };
    if (opts.contentType) params.type = opts.contentType;
    params.sig = sign(this.#secret, { method: 'GET', key, expires, contentType: opts.contentType });
    return this.#url(key, params);
  }

  /**
   * Checks a request against its signature. The signed fields come from the
   * URL; anything the signer did not put there is absent and fails the HMAC.
   */
  verifyRequest(method: 'GET' | 'PUT', key: string, query: URLSearchParams): VerifyResult & { fields: SignedFields } {
    const num = (v: string | null) => (v === null || !/^\d+$/.test(v) ? NaN : Number(v));
    const fields: SignedFields = { method, key, expires: num(query.get('expires')) };
    if (method === 'PUT') fields.size = num(query.get('size'));
    const type = query.get('type');
    if (type !== null) fields.contentType = type;
    return { ...verify(this.#secret, fields, query.get('sig') ?? ''), fields };
  }

  async #readMeta(key: string): Promise<Meta> {
    try {
      return JSON.parse(await fsp.readFile(this.#metaPath(key), 'utf8')) as Meta;
    } catch {
      return {};
    }
  }

  /** File facts for serving; null when absent. */
  async open(key: string): Promise<OpenObject | null> {
    const p = this.pathFor(key);
    let st: fs.Stats;
    try {
      st = await fsp.stat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
        return null;
      throw e;
    }
    if (!st.isFile()) return null;
    const meta = await this.#readMeta(key);
    return {
      path: p,
      size: st.size,
      mtime: st.mtime,
      contentType: meta.contentType,
      declaredSize: meta.declaredSize,
      // Objects are written to a temp file and renamed into place, so a new
      // write is a new inode.
      version: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`,
    };
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const o = await this.open(key);
    if (!o) return null;
    const info: ObjectInfo = { size: o.size, version: o.version };
    if (o.contentType) info.contentType = o.contentType;
    if (o.declaredSize !== undefined) info.declaredSize = o.declaredSize;
    return info;
  }

  /**
   * Streams `source` into the object. With `exactSize`, the body must be that
   * long: more bytes fail as soon as they arrive (413), fewer at the end
   * (400). The source is not destroyed on refusal, so the HTTP layer can
   * still answer before closing the connection.
   */
  async write(
    key: string,
    source: Readable | Buffer,
    opts: { contentType: string; exactSize?: number; maxBytes?: number; exclusive?: boolean },
  ): Promise<number> {
    const dest = this.pathFor(key);
    const limit = Math.min(opts.exactSize ?? Infinity, opts.maxBytes ?? Infinity);
    const tmpDir = path.join(this.root, '.tmp');
    await fsp.mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, crypto.randomUUID());
    let n = 0;
    try {
      const fh = await fsp.open(tmp, 'wx');
      try {
        const chunks = Buffer.isBuffer(source) ? [source] : source.iterator({ destroyOnReturn: false });
        for await (const chunk of chunks) {
          const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
          n += buf.length;
          if (n > limit) {
            throw new UploadRejectedError(413, 'too_large', `body exceeds the ${limit} bytes this upload allows`);
          }
          let off = 0;
          while (off < buf.length) off += (await fh.write(buf, off)).bytesWritten;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (opts.exactSize !== undefined && n !== opts.exactSize) {
        throw new UploadRejectedError(
          400,
          'size_mismatch',
          `body has ${n} bytes, the upload was signed for exactly ${opts.exactSize}`,
        );
      }
      const meta: Meta = { contentType: opts.contentType };
      if (opts.exactSize !== undefined) meta.declaredSize = opts.exactSize;
      const metaTmp = `${tmp}.meta`;
      await fsp.writeFile(metaTmp, JSON.stringify(meta));
      if (opts.exclusive) {
        // link() refuses an existing name, so of two racing uploads to one
        // key exactly one lands, and a landed object is never replaced.
        await fsp.mkdir(path.dirname(dest), { recursive: true });
        try {
          await fsp.link(tmp, dest);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST')
            throw new UploadRejectedError(
              409,
              'already_uploaded',
              'this upload URL was already used; ask for a new one',
            );
          throw e;
        }
        await fsp.rm(tmp, { force: true });
        await renameInto(metaTmp, this.#metaPath(key));
        return n;
      }
      await renameInto(metaTmp, this.#metaPath(key));
      await renameInto(tmp, dest);
      return n;
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      await fsp.rm(`${tmp}.meta`, { force: true });
      throw e;
    }
  }

  async download(key: string, destPath: string, opts: { maxBytes: number; signal?: AbortSignal }): Promise<number> {
    const o = await this.open(key);
    if (!o) throw new StoragePermanentError(`object not found: ${key}`);
    if (o.size > opts.maxBytes)
      throw new StoragePermanentError(`object ${key} is ${o.size} bytes, more than the ${opts.maxBytes} allowed`);
    return copyCapped(fs.createReadStream(o.path), destPath, opts.maxBytes, key, opts.signal);
  }

  async getStream(key: string): Promise<Readable> {
    const o = await this.open(key);
    if (!o) throw new StoragePermanentError(`object not found: ${key}`);
    return fs.createReadStream(o.path);
  }

  async put(key: string, body: Buffer | Readable, contentType: string): Promise<void> {
    await this.write(key, body, { contentType });
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      const p = this.pathFor(key);
      await fsp.rm(p, { force: true });
      await fsp.rm(this.#metaPath(key), { force: true });
      await this.#pruneEmptyDirs(path.dirname(p), this.root);
      await this.#pruneEmptyDirs(path.dirname(this.#metaPath(key)), path.join(this.root, '.meta'));
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    const walk = async function* (dir: string, rel: string): AsyncGenerator<ListedObject> {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        // Dot folders are the driver's own bookkeeping (.tmp, .meta), never keys.
        if (e.name.startsWith('.')) continue;
        const p = path.join(dir, e.name);
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) yield* walk(p, key);
        else if (e.isFile()) {
          const st = await fsp.stat(p).catch(() => null);
          if (st) yield { key, modified: st.mtime };
        }
      }
    };
    const base = prefix.replace(/\/+$/, '');
    if (base) assertValidKey(base);
    for await (const o of walk(base ? path.join(this.root, base) : this.root, base)) {
      if (o.key.startsWith(prefix)) yield o;
    }
  }

  /** Empty per-video folders would pile up forever otherwise; a busy one simply stays. */
  async #pruneEmptyDirs(dir: string, stop: string) {
    while (dir.startsWith(stop + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

/**
 * Moves a finished temp file to its place. A concurrent delete() may prune
 * the (momentarily empty) folder between mkdir and rename, so that one case
 * is retried.
 */
async function renameInto(from: string, to: string) {
  for (let attempt = 0; ; attempt++) {
    await fsp.mkdir(path.dirname(to), { recursive: true });
    try {
      await fsp.rename(from, to);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3 || !fs.existsSync(from)) throw e;
    }
  }
}

/**
 * Copies a stream into a local file, failing (and removing the file) once
 * more than maxBytes arrive, even if the size known beforehand was smaller.
 */
export async function copyCapped(
  source: Readable,
  destPath: string,
  maxBytes: number,
  key: string,
  signal?: AbortSignal,
): Promise<number> {
  let n = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > maxBytes) cb(new StoragePermanentError(`object ${key} is larger than the ${maxBytes} bytes allowed`));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(source, counter, fs.createWriteStream(destPath), signal ? { signal } : {});
    return n;
  } catch (e) {
    await fsp.rm(destPath, { force: true });
    throw e;
  }
}
