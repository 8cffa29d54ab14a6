/*
 * The web app at `/`: GET /config.json (how the page signs in and where the
 * API is), the built bundle from server/web/dist (server/web/build.ts), and
 * index.html, with that configuration in it, for each of the app's paths so a
 * reload or a shared link works.
 * Every page carries a strict Content-Security-Policy: scripts only from this
 * server (no inline script, no eval), no framing, and network access only to
 * this server, the object store and (supabase mode) the Supabase project.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Config } from '../../core/config.ts';
import { DIST_DIR } from '../web/build.ts';

/** Paths the app routes itself (server/web/src/router.ts); each is served index.html. */
export const APP_PATHS = ['/', '/search', '/videos/:id', '/people', '/people/:id'];

const origin = (url: string | undefined) => {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

/** The Content-Security-Policy of the app's pages. */
export function contentSecurityPolicy(config: Config): string {
  const objects = [
    origin(config.publicUrl),
    config.storage.driver === 's3' ? origin(config.storage.s3.publicEndpoint ?? config.storage.s3.endpoint) : undefined,
  ].filter((o): o is string => !!o);
  const supabase = config.auth.provider === 'supabase' ? origin(config.auth.supabaseUrl) : undefined;
  const ws = objects[0]?.replace(/^http/, 'ws');
  const connect = ["'self'", ws, ...objects, supabase].filter(Boolean);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // blob: previews the photos a user picked for enrolment before they are uploaded (URL.createObjectURL).
    `img-src 'self' blob: ${objects.join(' ')}`,
    `media-src 'self' ${objects.join(' ')}`,
    `connect-src ${[...new Set(connect)].join(' ')}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface WebAppOptions {
  config: Config;
  /** The anon key of the local auth provider (local mode). */
  localAnonKey?: string;
}

/** What the page needs to start: GET /config.json, and the same object in index.html. */
function pageConfig(config: Config, localAnonKey: string | undefined, req: Request) {
  // Local mode: the page's own origin, so the app works under whatever host
  // name the browser used (127.0.0.1, localhost, a LAN name).
  const self = `${req.protocol}://${req.get('host')}`;
  const local = config.auth.provider === 'local';
  return {
    authProvider: config.auth.provider,
    supabaseUrl: local ? self : config.auth.supabaseUrl,
    supabaseAnonKey: local ? localAnonKey : config.auth.supabaseAnonKey,
    graphqlUrl: `${self}/graphql`,
    // So the page can refuse a file before uploading it, with the server's own limits.
    uploads: { maxBytes: config.storage.maxUploadBytes, contentTypes: config.storage.allowedContentTypes },
  };
}

const escapeAttribute = (s: string) =>
  s.replace(/[&"'<>]/g, (c) => ({ '&': '&amp;', '"': '&quot;', "'": '&#39;', '<': '&lt;', '>': '&gt;' })[c]!);

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  type: string;
  identity: Buffer;
  /** Written by server/web/build.ts beside the file (`.br`, `.gz`). */
  br?: Buffer;
  gzip?: Buffer;
}

/** The best encoding the request accepts among those the asset has (q=0 refuses one). */
function chooseEncoding(accept: string | undefined, asset: Asset): 'br' | 'gzip' | 'identity' {
  const q = new Map<string, number>();
  for (const part of (accept ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name) q.set(name, qp ? Number(qp.slice(2)) || 0 : 1);
  }
  const ok = (e: string) => (q.get(e) ?? q.get('*') ?? 0) > 0;
  if (asset.br && ok('br')) return 'br';
  if (asset.gzip && ok('gzip')) return 'gzip';
  return 'identity';
}

export function installWebApp(app: Express, { config, localAnonKey }: WebAppOptions) {
  const csp = contentSecurityPolicy(config);
  const secure = (res: Response) => {
    res.setHeader('content-security-policy', csp);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    // Signed object URLs carry their signature in the query: never leak them to another site.
    res.setHeader('referrer-policy', 'no-referrer');
  };

  app.get('/config.json', (req: Request, res: Response) => {
    secure(res);
    res.setHeader('cache-control', 'no-store');
    res.json(pageConfig(config, localAnonKey, req));
  });

  // The assets are small (a few hundred KB with their compressed copies) and
  // their names carry a content hash, so each is read from disk once and then
  // answered from memory in the encoding the browser accepts: each request of
  // a cold first load costs one write, not a stat and a file stream. Only
  // names that exist are kept; a missing one is looked up again next time (a
  // rebuild may add it).
  const assetsDir = path.join(DIST_DIR, 'assets');
  const assets = new Map<string, Promise<Asset | null>>();
  const readAsset = async (name: string): Promise<Asset | null> => {
    const type = TYPES[path.extname(name)];
    if (!type || !/^[\w.-]+$/.test(name)) return null;
    const file = path.join(assetsDir, name);
    const optional = (f: string) => fs.promises.readFile(f).catch(() => undefined);
    const [identity, br, gzip] = await Promise.all([optional(file), optional(`${file}.br`), optional(`${file}.gz`)]);
    return identity ? { type, identity, br, gzip } : null;
  };
  const sendAsset = async (name: string, cacheControl: string, req: Request, res: Response, next: NextFunction) => {
    let pending = assets.get(name);
    if (!pending) assets.set(name, (pending = readAsset(name)));
    const asset = await pending.catch(() => null);
    if (!asset) {
      assets.delete(name);
      return next();
    }
    const encoding = chooseEncoding(req.get('accept-encoding'), asset);
    const body = encoding === 'identity' ? asset.identity : asset[encoding]!;
    secure(res);
    res.setHeader('content-type', asset.type);
    res.setHeader('cache-control', cacheControl);
    res.setHeader('vary', 'accept-encoding');
    if (encoding !== 'identity') res.setHeader('content-encoding', encoding);
    res.setHeader('etag', `"${name}-${encoding}"`);
    if (req.fresh) return void res.status(304).end();
    res.setHeader('content-length', body.length);
    res.end(body);
  };
  // Names carry a content hash: a new build is a new URL.
  app.get('/assets/:name', (req: Request, res: Response, next: NextFunction) =>
    sendAsset(String(req.params.name), 'public, max-age=31536000, immutable', req, res, next),
  );

  // index.html is the build's, with this request's configuration written in,
  // so the page needs no request before its first screen. Read again only
  // when a rebuild replaced it.
  const indexFile = path.join(DIST_DIR, 'index.html');
  let index: { mtimeMs: number; html: string } | null = null;
  const readIndex = () => {
    const mtimeMs = fs.statSync(indexFile, { throwIfNoEntry: false })?.mtimeMs;
    if (mtimeMs === undefined) return null;
    if (index?.mtimeMs !== mtimeMs) index = { mtimeMs, html: fs.readFileSync(indexFile, 'utf8') };
    return index.html;
  };
  // A browser asks for /favicon.ico on a page of this server that names no
  // icon (/config.json, the GraphQL endpoint opened directly): the icon the
  // app's pages name, rather than a 404 in its console.
  app.get('/favicon.ico', async (req: Request, res: Response, next: NextFunction) => {
    const icon = /<link rel="icon"[^>]* href="\/assets\/([^"]+)"/.exec(readIndex() ?? '')?.[1];
    if (!icon) return next();
    await sendAsset(icon, 'public, max-age=86400', req, res, next);
  });
  app.get(APP_PATHS, (req: Request, res: Response) => {
    secure(res);
    res.setHeader('cache-control', 'no-cache');
    const html = readIndex();
    if (!html) {
      res
        .status(503)
        .type('text/plain')
        .send('The web app is not built: run `npm start`, or `node server/web/build.ts`.\n');
      return;
    }
    const meta = escapeAttribute(JSON.stringify(pageConfig(config, localAnonKey, req)));
    // Sent with an ETag of the body, so a reload of an unchanged page is a 304.
    res.type('html').send(html.replace('%HEIMDEX_CONFIG%', () => meta));
  });
}
