/*
 * Real storage back ends for tests: the fs driver behind a real express
 * server, and the s3 driver against s3rver (an S3-compatible server in Node)
 * on a random loopback port. Both live in temp folders removed on close.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';
import { loadConfig } from '../../core/config.ts';
import { FsStorage } from '../../core/storage/fs.ts';
import { installStorageRoutes } from '../../server/routes/storage.ts';
import { S3Storage } from '../../core/storage/s3.ts';
import type { PresignedUpload, Storage } from '../../core/storage/types.ts';

export interface StorageHarness {
  storage: Storage;
  dir: string;
  close(): Promise<void>;
}

export const S3RVER_KEY = 'S3RVER';

export async function startFsHarness(
  Driver: typeof FsStorage = FsStorage,
): Promise<StorageHarness & { storage: FsStorage; url: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-fs-'));
  const storage = new Driver({
    root: path.join(dir, 'objects'),
    secret: crypto.randomBytes(32),
    publicUrl: 'http://unset.invalid',
  });
  await storage.ensureReady();
  const app = express();
  installStorageRoutes(app, storage, loadConfig({ HEIMDEX_DATA_DIR: dir }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  storage.setPublicUrl(url);
  return {
    storage,
    dir,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A running s3rver: the endpoint plus a way to stop it. */
export async function startS3rver(): Promise<{ endpoint: string; port: number; dir: string; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true });
  const { port } = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startS3Harness(
  opts: { publicEndpoint?: (port: number) => string } = {},
): Promise<StorageHarness & { storage: S3Storage; endpoint: string }> {
  const s3 = await startS3rver();
  const storage = new S3Storage({
    endpoint: s3.endpoint,
    publicEndpoint: opts.publicEndpoint?.(s3.port),
    region: 'us-east-1',
    bucket: `heimdex-${crypto.randomBytes(3).toString('hex')}`,
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_KEY,
  });
  await storage.ensureReady();
  return { storage, dir: s3.dir, endpoint: s3.endpoint, close: s3.close };
}

/** Sends the bytes exactly as a browser would: a multipart form POST or a raw PUT. */
export async function uploadAsBrowser(
  ticket: PresignedUpload,
  body: Buffer,
  opts: { contentType?: string } = {},
): Promise<Response> {
  if (ticket.method === 'POST') {
    const form = new FormData();
    for (const [k, v] of Object.entries(ticket.fields)) form.append(k, v);
    // The file goes last: S3 ignores fields after it.
    form.append(
      'file',
      new Blob([new Uint8Array(body)], { type: opts.contentType ?? ticket.fields['Content-Type'] }),
      'upload.bin',
    );
    return fetch(ticket.url, { method: 'POST', body: form });
  }
  const headers = { ...ticket.headers };
  if (opts.contentType) headers['Content-Type'] = opts.contentType;
  return fetch(ticket.url, { method: 'PUT', headers, body: new Uint8Array(body) });
}

export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}
