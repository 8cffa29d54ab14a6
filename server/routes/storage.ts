/*
 * HTTP side of the fs driver: the signed URLs FsStorage hands out point here.
 * PUT stores an upload (size and type as signed, streamed, atomic); GET/HEAD
 * serve an object with Range support so a <video> element can seek. Nothing
 * is mounted for the s3 driver, whose URLs point at the store itself.
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type express from 'express';
import type { Config } from '../../core/config.ts';
import { FS_ROUTE, FsStorage, UploadRejectedError } from '../../core/storage/fs.ts';
import { InvalidKeyError } from '../../core/storage/keys.ts';
import type { Storage } from '../../core/storage/types.ts';

function fail(res: express.Response, status: number, error: string, message: string) {
  if (res.headersSent) return void res.destroy();
  res.status(status).set('Cache-Control', 'no-store').json({ error, message });
}

/** Parses one `bytes=` range; null = serve everything, 'unsatisfiable' = 416. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple or malformed ranges: a full 200 answer is always allowed.
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== '' && Number(m[2]) < start)) return 'unsatisfiable';
  return { start, end };
}

export function installStorageRoutes(app: express.Express, storage: Storage, _config: Config) {
  if (!(storage instanceof FsStorage)) return;
  const fsStorage = storage;

  app.use(FS_ROUTE, async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'PUT') return next();
    const url = new URL(req.originalUrl, 'http://x');
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice(FS_ROUTE.length));
      fsStorage.pathFor(key);
    } catch (e) {
      if (e instanceof InvalidKeyError || e instanceof URIError)
        return fail(res, 400, 'invalid_key', (e as Error).message);
      return fail(res, 400, 'invalid_key', 'invalid object key');
    }
    const v = fsStorage.verifyRequest(req.method === 'PUT' ? 'PUT' : 'GET', key, url.searchParams);
    if (!v.ok) {
      return fail(
        res,
        403,
        v.reason === 'expired' ? 'url_expired' : 'bad_signature',
        v.reason === 'expired'
          ? 'this signed URL has expired; ask for a new one'
          : 'the URL signature does not match (wrong method, key or parameters)',
      );
    }
    try {
      if (req.method === 'PUT') await handlePut(fsStorage, key, v.fields.size!, v.fields.contentType!, req, res);
      else await handleGet(fsStorage, key, v.fields.contentType, req, res);
    } catch (e) {
      next(e);
    }
  });
}

async function handlePut(
  storage: FsStorage,
  key: string,
  size: number,
  contentType: string,
  req: express.Request,
  res: express.Response,
) {
  const given = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (given !== contentType.toLowerCase()) {
    return fail(
      res,
      415,
      'content_type_mismatch',
      `Content-Type must be ${contentType} as signed, got "${given || 'none'}"`,
    );
  }
  const announced = req.get('content-length');
  // Refused before reading a byte: the client said how much it would send.
  if (announced !== undefined && Number(announced) > size) {
    res.set('Connection', 'close');
    return fail(res, 413, 'too_large', `body of ${announced} bytes exceeds the ${size} bytes this upload allows`);
  }
  try {
    await storage.write(key, req, { contentType, exactSize: size, exclusive: true });
  } catch (e) {
    if (e instanceof UploadRejectedError) {
      // The rest of the body is not read: answer, then drop the connection.
      res.set('Connection', 'close');
      res.on('finish', () => req.socket.destroy());
      return fail(res, e.status, e.code, e.message);
    }
    if (['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '')) {
      // The driver removed what it had written. Node discards the rest of
      // the body (at most the signed size) after this answer, so a browser
      // still sending reads the reason instead of a reset connection.
      return fail(
        res,
        507,
        'storage_full',
        'The server has no room left for this upload (its disk is full); nothing was kept. Try again once space is freed.',
      );
    }
    throw e;
  }
  res.status(200).set('Cache-Control', 'no-store').json({ key });
}

async function handleGet(
  storage: FsStorage,
  key: string,
  signedType: string | undefined,
  req: express.Request,
  res: express.Response,
) {
  const o = await storage.open(key);
  if (!o) return fail(res, 404, 'not_found', 'no such object');
  const etag = `W/"${o.size.toString(16)}-${o.mtime.getTime().toString(16)}"`;
  res.set({
    'Accept-Ranges': 'bytes',
    'Content-Type': signedType ?? o.contentType ?? 'application/octet-stream',
    ETag: etag,
    'Last-Modified': o.mtime.toUTCString(),
    'Cache-Control': 'private, max-age=300',
    // User-supplied bytes served from our origin must never be sniffed into HTML.
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; media-src 'self'; sandbox",
  });
  const ifRange = req.get('if-range');
  const range = ifRange && ifRange !== etag ? null : parseRange(req.get('range'), o.size);
  if (range === 'unsatisfiable') {
    res.status(416).set('Content-Range', `bytes */${o.size}`).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: o.size - 1 };
  if (range) res.status(206).set('Content-Range', `bytes ${start}-${end}/${o.size}`);
  else res.status(200);
  res.set('Content-Length', String(Math.max(0, end - start + 1)));
  if (req.method === 'HEAD' || o.size === 0) {
    res.end();
    return;
  }
  await pipeline(fs.createReadStream(o.path, { start, end }), res).catch((e: NodeJS.ErrnoException) => {
    // A viewer seeking away closes the connection mid-stream; that is normal.
    if (e.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
  });
}
