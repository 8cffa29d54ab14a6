/*
 * s3 driver: MinIO, AWS S3 or any S3-compatible store, through the minio
 * client. Uploads use a presigned POST policy rather than a presigned PUT,
 * because only a policy can bind the size (content-length-range), the exact
 * key and the content type: a presigned PUT accepts any body.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as Minio from 'minio';
import { copyCapped } from './fs.ts';
import { assertValidKey } from './keys.ts';
import {
  StoragePermanentError,
  StorageUnavailableError,
  type ListedObject,
  type ObjectInfo,
  type PresignedUpload,
  type Storage,
} from './types.ts';

export interface S3Options {
  endpoint: string;
  /** Endpoint written into URLs handed to clients, when they reach the store by another name. */
  publicEndpoint?: string;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}

/** Metadata key (x-amz-meta-heimdex-size) carrying the size the upload policy was signed for. */
const DECLARED_SIZE = 'heimdex-size';
const DELETE_BATCH = 1000;

function clientFor(endpoint: string, o: S3Options): Minio.Client {
  const u = new URL(endpoint);
  const useSSL = u.protocol === 'https:';
  return new Minio.Client({
    endPoint: u.hostname,
    port: u.port ? Number(u.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: o.accessKey,
    secretKey: o.secretKey,
    // A fixed region means presigning never needs a round trip to look it up.
    region: o.region,
    pathStyle: true,
  });
}

/** Socket errors: the store is down, restarting or unreachable from here. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** S3's own "try again" answers (MinIO says the second while it starts). */
const TRANSIENT_S3_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);

/** The store's unavailability as StorageUnavailableError; any other error as it is. */
function unavailable(e: unknown): unknown {
  const err = e as { code?: string; statusCode?: number } | null;
  const code = err?.code ?? '';
  return NETWORK_CODES.has(code) || TRANSIENT_S3_CODES.has(code) || (err?.statusCode ?? 0) >= 500
    ? new StorageUnavailableError(e)
    : e;
}

/** Runs one call to the store, its unavailability reported as such (callers answer 503, retry). */
async function reaching<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw unavailable(e);
  }
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchBucket';
}

export class S3Storage implements Storage {
  readonly driver = 's3' as const;
  readonly bucket: string;
  readonly #client: Minio.Client;
  /** Signs URLs for clients. SigV4 signs the Host, so it must be the public one. */
  readonly #signer: Minio.Client;
  readonly #region: string;

  constructor(o: S3Options) {
    this.bucket = o.bucket;
    this.#region = o.region;
    this.#client = clientFor(o.endpoint, o);
    this.#signer = o.publicEndpoint ? clientFor(o.publicEndpoint, o) : this.#client;
  }

  async ensureReady() {
    if (await reaching(() => this.#client.bucketExists(this.bucket))) return;
    try {
      await this.#client.makeBucket(this.bucket, this.#region);
    } catch (e) {
      // Another process created it between the check and here.
      const code = (e as { code?: string }).code;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw unavailable(e);
    }
  }

  async ping() {
    if (!(await reaching(() => this.#client.bucketExists(this.bucket))))
      throw new Error(`bucket ${this.bucket} does not exist`);
  }

  async presignUpload(
    key: string,
    opts: { contentType: string; byteSize: number; ttlS: number },
  ): Promise<PresignedUpload> {
    assertValidKey(key);
    if (!Number.isSafeInteger(opts.byteSize) || opts.byteSize < 1)
      throw new StoragePermanentError('upload size must be a positive integer');
    const expiresAt = new Date(Date.now() + opts.ttlS * 1000);
    const policy = this.#signer.newPostPolicy();
    policy.setBucket(this.bucket);
    policy.setKey(key);
    policy.setContentType(opts.contentType);
    policy.setContentLengthRange(opts.byteSize, opts.byteSize);
    policy.setUserMetaData({ [DECLARED_SIZE]: String(opts.byteSize) });
    policy.setExpires(expiresAt);
    const { postURL, formData } = await this.#signer.presignedPostPolicy(policy);
    return {
      objectKey: key,
      method: 'POST',
      url: postURL,
      fields: formData,
      headers: {},
      expiresAt,
      maxBytes: opts.byteSize,
    };
  }

  async presignGet(key: string, opts: { ttlS: number; contentType?: string }): Promise<string> {
    assertValidKey(key);
    const resp: Record<string, string> = opts.contentType ? { 'response-content-type': opts.contentType } : {};
    return this.#signer.presignedGetObject(this.bucket, key, opts.ttlS, resp);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const st = await this.#client.statObject(this.bucket, key);
      const meta = st.metaData as Record<string, string | undefined>;
      const info: ObjectInfo = { size: st.size };
      // An ETag alone can repeat (the same bytes written again), which is
      // harmless here, but some S3-compatible stores send none.
      if (st.etag) info.version = `${st.etag}:${st.lastModified?.getTime() ?? ''}:${st.size}`;
      if (meta['content-type']) info.contentType = meta['content-type'];
      const declared = meta[DECLARED_SIZE];
      if (declared !== undefined && /^\d+$/.test(declared)) info.declaredSize = Number(declared);
      return info;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw unavailable(e);
    }
  }

  async download(key: string, destPath: string, opts: { maxBytes: number; signal?: AbortSignal }): Promise<number> {
    const st = await this.stat(key);
    if (!st) throw new StoragePermanentError(`object not found: ${key}`);
    if (st.size > opts.maxBytes)
      throw new StoragePermanentError(`object ${key} is ${st.size} bytes, more than the ${opts.maxBytes} allowed`);
    const stream = await this.getStream(key);
    try {
      return await copyCapped(stream, destPath, opts.maxBytes, key, opts.signal);
    } catch (e) {
      stream.destroy();
      await fsp.rm(destPath, { force: true });
      // The connection dropping mid-body is the store's; a full local disk is not.
      throw unavailable(e);
    }
  }

  async getStream(key: string): Promise<Readable> {
    assertValidKey(key);
    let body: Readable;
    try {
      body = await this.#client.getObject(this.bucket, key);
    } catch (e) {
      if (isNotFound(e)) throw new StoragePermanentError(`object not found: ${key}`);
      throw unavailable(e);
    }
    // The connection can also drop while the body streams; a reader (the
    // enrolment photos of createPerson) must see that as the store's too.
    const out = new PassThrough();
    body.on('error', (e) => out.destroy(unavailable(e) as Error));
    out.on('close', () => body.destroy());
    return body.pipe(out);
  }

  async put(key: string, body: Buffer | Readable, contentType: string): Promise<void> {
    assertValidKey(key);
    const meta = { 'Content-Type': contentType };
    if (Buffer.isBuffer(body)) {
      await reaching(() => this.#client.putObject(this.bucket, key, body, body.length, meta));
      return;
    }
    // A stream of unknown length makes the client start a multipart upload
    // even for a few kilobytes (and some S3-compatible servers lack the
    // listing it begins with); spooled first, the size is known and small
    // objects go up in one PUT.
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'heimdex-put-'));
    try {
      const tmp = path.join(dir, 'body');
      await pipeline(body, fs.createWriteStream(tmp));
      const { size } = await fsp.stat(tmp);
      await reaching(() => this.#client.putObject(this.bucket, key, fs.createReadStream(tmp), size, meta));
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    try {
      for await (const o of this.#client.listObjectsV2(this.bucket, prefix, true) as AsyncIterable<{
        name?: string;
        lastModified?: Date;
      }>) {
        if (o.name) yield { key: o.name, modified: o.lastModified ?? new Date() };
      }
    } catch (e) {
      throw unavailable(e);
    }
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach((k) => assertValidKey(k));
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      // S3 reports missing keys as deleted; per-key errors come back in the
      // result rather than as an exception.
      const results = await reaching(() => this.#client.removeObjects(this.bucket, batch));
      for (const r of results ?? []) {
        const err = r?.Error;
        if (err?.Code && err.Code !== 'NoSuchKey')
          throw new Error(`could not delete ${err.Key}: ${err.Code} ${err.Message ?? ''}`);
      }
    }
  }
}
