/*
 * A small local stand-in for Supabase Auth (GoTrue), speaking the endpoints
 * supabase-js calls: signup, token (password and refresh_token grants),
 * logout and the JWKS. It signs access tokens the way a Supabase project
 * does, with the legacy HS256 secret or an asymmetric key (ES256/RS256)
 * published in the JWKS, so the server's real verification code is tested.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';

export type Alg = 'HS256' | 'ES256' | 'RS256';

export interface GoTrueStandIn {
  url: string;
  hsSecret: string;
  /** Which algorithm new sessions are signed with. */
  alg: Alg;
  sign(claims: Record<string, unknown>, opts?: { alg?: Alg; expiresIn?: number; aud?: string }): Promise<string>;
  calls: string[];
  close(): Promise<void>;
}

export async function startGoTrue(): Promise<GoTrueStandIn> {
  const hsSecret = crypto.randomBytes(32).toString('hex');
  const keys: Record<'ES256' | 'RS256', { priv: CryptoKey; jwk: JWK }> = {} as never;
  for (const alg of ['ES256', 'RS256'] as const) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    keys[alg] = { priv: privateKey, jwk: { ...(await exportJWK(publicKey)), kid: `kid-${alg}`, alg, use: 'sig' } };
  }
  const users = new Map<string, { id: string; email: string; password: string }>();
  const refresh = new Map<string, { userId: string; used: boolean }>();
  const calls: string[] = [];

  const state = {
    alg: 'HS256' as Alg,
    async sign(claims: Record<string, unknown>, opts: { alg?: Alg; expiresIn?: number; aud?: string } = {}) {
      const alg = opts.alg ?? state.alg;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ role: 'authenticated', ...claims })
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.expiresIn ?? 3600))
        .setAudience(opts.aud ?? 'authenticated');
      if (alg === 'HS256') return jwt.setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(hsSecret));
      return jwt.setProtectedHeader({ alg, typ: 'JWT', kid: keys[alg].jwk.kid }).sign(keys[alg].priv);
    },
  };

  async function session(user: { id: string; email: string }) {
    const rt = crypto.randomBytes(16).toString('hex');
    refresh.set(rt, { userId: user.id, used: false });
    const token = await state.sign({ sub: user.id, email: user.email, session_id: crypto.randomUUID() });
    return {
      access_token: token,
      token_type: 'bearer',
      expires_in: 3600,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      refresh_token: rt,
      user: {
        id: user.id,
        aud: 'authenticated',
        role: 'authenticated',
        email: user.email,
        app_metadata: {},
        user_metadata: {},
        created_at: new Date().toISOString(),
      },
    };
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    calls.push(`${req.method} ${url.pathname}${url.search}`);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(json === undefined ? '' : JSON.stringify(json));
    };
    const fail = (status: number, code: string, msg: string) => send(status, { code: status, error_code: code, msg });
    if (req.headers.apikey !== 'anon-key') return fail(401, 'no_api_key', 'No API key found in request');
    if (req.method === 'GET' && url.pathname === '/auth/v1/.well-known/jwks.json') {
      return send(200, { keys: [keys.ES256.jwk, keys.RS256.jwk] });
    }
    if (req.method === 'POST' && url.pathname === '/auth/v1/signup') {
      const email = String(body.email).toLowerCase();
      if ([...users.values()].some((u) => u.email === email))
        return fail(422, 'user_already_exists', 'User already registered');
      const user = { id: crypto.randomUUID(), email, password: String(body.password) };
      users.set(user.id, user);
      return send(200, await session(user));
    }
    if (req.method === 'POST' && url.pathname === '/auth/v1/token') {
      const grant = url.searchParams.get('grant_type');
      if (grant === 'password') {
        const user = [...users.values()].find((u) => u.email === String(body.email).toLowerCase());
        if (!user || user.password !== body.password)
          return fail(400, 'invalid_credentials', 'Invalid login credentials');
        return send(200, await session(user));
      }
      if (grant === 'refresh_token') {
        const r = refresh.get(String(body.refresh_token));
        if (!r || r.used) return fail(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
        r.used = true;
        return send(200, await session(users.get(r.userId)!));
      }
    }
    if (req.method === 'POST' && url.pathname === '/auth/v1/logout') {
      if (!req.headers.authorization?.startsWith('Bearer ')) return fail(401, 'no_authorization', 'no token');
      res.writeHead(204).end();
      return;
    }
    fail(404, 'not_found', `no route ${req.method} ${url.pathname}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    hsSecret,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
