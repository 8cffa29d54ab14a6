/*
 * The web app at `/`: GET /config.json (how the page signs in and where the
 * API is), the built bundle from server/web/dist (server/web/build.ts), and
 * index.html for each of the app's paths so a reload or a shared link works.
 * Every page carries a strict Content-Security-Policy: scripts only from this
 * server (no inline script, no eval), no framing, and network access only to
 * this server, the object store and (supabase mode) the Supabase project.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type Express, type Request, type Response } from 'express';
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
    // Local mode: the page's own origin, so the app works under whatever host
    // name the browser used (127.0.0.1, localhost, a LAN name).
    const self = `${req.protocol}://${req.get('host')}`;
    const local = config.auth.provider === 'local';
    secure(res);
    res.setHeader('cache-control', 'no-store');
    res.json({
      authProvider: config.auth.provider,
      supabaseUrl: local ? self : config.auth.supabaseUrl,
      supabaseAnonKey: local ? localAnonKey : config.auth.supabaseAnonKey,
      graphqlUrl: `${self}/graphql`,
      // So the page can refuse a file before uploading it, with the server's own limits.
      uploads: { maxBytes: config.storage.maxUploadBytes, contentTypes: config.storage.allowedContentTypes },
    });
  });

  app.use(
    '/assets',
    (_req, res, next) => {
      secure(res);
      next();
    },
    // Names carry a content hash: a new build is a new URL.
    express.static(path.join(DIST_DIR, 'assets'), { immutable: true, maxAge: '365d', index: false }),
  );

  const index = path.join(DIST_DIR, 'index.html');
  app.get(APP_PATHS, (_req: Request, res: Response) => {
    secure(res);
    res.setHeader('cache-control', 'no-cache');
    if (!fs.existsSync(index)) {
      res
        .status(503)
        .type('text/plain')
        .send('The web app is not built: run `npm start`, or `node server/web/build.ts`.\n');
      return;
    }
    res.sendFile(index);
  });
}
