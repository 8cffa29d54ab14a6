/*
 * installAuth: the /auth/* routes (GoTrue-shaped, so supabase-js style
 * clients work against either provider) and the bearer-token check every
 * other route relies on. A presented token that fails verification is a 401,
 * never a silent downgrade to anonymous.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type pg from 'pg';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/log.ts';
import { createLocalAuth } from './local.ts';
import { RateLimiter } from './rate-limit.ts';
import { resolveSecret } from './secret.ts';
import { createSupabaseAuth } from './supabase.ts';
import { goTrueRouter } from './gotrue.ts';
import { AuthError, type AccessClaims, type AuthProvider } from './types.ts';
import { bearerToken, credentials } from './input.ts';

export { AuthError, type AccessClaims, type AuthProvider, type TokenResponse } from './types.ts';
export { bearerToken, connectionToken } from './input.ts';

export async function createAuthProvider(config: Config, authFunctionsPool: pg.Pool): Promise<AuthProvider> {
  const a = config.auth;
  if (a.provider === 'supabase') {
    return createSupabaseAuth({
      url: a.supabaseUrl!,
      anonKey: a.supabaseAnonKey!,
      audience: a.audience,
      jwtSecret: a.supabaseJwtSecret,
      jwksUrl: a.supabaseJwksUrl,
    });
  }
  return createLocalAuth({
    pool: authFunctionsPool,
    secret: resolveSecret(a.jwtSecret, config.dataDir, 'jwt-secret'),
    audience: a.audience,
    accessTtlS: a.accessTtlS,
    refreshTtlS: a.refreshTtlS,
    refreshReuseS: a.refreshReuseS,
  });
}

const claimsByRequest = new WeakMap<Request, AccessClaims>();

/** The verified claims of a request, or null for an anonymous one. */
export function claimsOf(req: Request): AccessClaims | null {
  return claimsByRequest.get(req) ?? null;
}

/** Verifies a bearer token when one is presented; anonymous otherwise. */
export function authenticate(provider: AuthProvider) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const token = bearerToken(req.headers.authorization);
      if (token) claimsByRequest.set(req, await provider.verify(token));
      next();
    } catch (e) {
      next(e);
    }
  };
}

export interface InstallAuthOptions {
  provider: AuthProvider;
  config: Config;
  log: Logger;
}

export function installAuth(app: Express, { provider, config }: InstallAuthOptions) {
  const perAccount = new RateLimiter(config.auth.rateLimit, config.auth.rateWindowS);
  const perIp = new RateLimiter(config.auth.rateLimitIp, config.auth.rateWindowS);
  const router = express.Router();

  // JSON only: form posts are what a cross-site page can send without CORS.
  router.use((req, _res, next) => {
    if (req.method === 'POST' && !req.is('application/json')) {
      return next(new AuthError(415, 'unsupported_media_type', 'Send a JSON body (Content-Type: application/json)'));
    }
    next();
  });
  router.use(express.json({ limit: '16kb' }));

  const limit = (req: Request, email: string) => {
    // Both APIs (/auth and /auth/v1) count against the same budget.
    const wait = Math.max(perIp.hit(req.ip ?? ''), perAccount.hit(email.toLowerCase()));
    if (wait) throw new AuthError(429, 'over_request_rate_limit', 'Too many attempts; try again later', wait);
  };
  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
      fn(req, res).catch(next);
    };

  router.post(
    '/signup',
    handle(async (req, res) => {
      const { email, password } = credentials(req.body);
      limit(req, email);
      res.status(200).json(await provider.signup(email, password));
    }),
  );

  router.post(
    '/login',
    handle(async (req, res) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      if (typeof b.email !== 'string' || typeof b.password !== 'string' || !b.email || !b.password) {
        throw new AuthError(400, 'validation_failed', 'email and password are required');
      }
      limit(req, b.email.trim());
      res.status(200).json(await provider.login(b.email.trim(), b.password));
    }),
  );

  router.post(
    '/refresh',
    handle(async (req, res) => {
      // Tokens in URLs end up in access logs and proxies' histories.
      if ('refresh_token' in req.query)
        throw new AuthError(400, 'validation_failed', 'Send refresh_token in the JSON body, not the URL');
      const token = (req.body as Record<string, unknown> | undefined)?.refresh_token;
      if (typeof token !== 'string' || !token)
        throw new AuthError(400, 'validation_failed', 'refresh_token is required');
      // No rate limit here: a 256-bit random token cannot be guessed, and
      // clients legitimately refresh on a timer.
      res.status(200).json(await provider.refresh(token));
    }),
  );

  router.post(
    '/logout',
    handle(async (req, res) => {
      if ('refresh_token' in req.query)
        throw new AuthError(400, 'validation_failed', 'Send refresh_token in the JSON body, not the URL');
      const refreshToken = (req.body as Record<string, unknown> | undefined)?.refresh_token;
      const accessToken = bearerToken(req.headers.authorization);
      const claims = accessToken ? await provider.verify(accessToken) : undefined;
      if (typeof refreshToken !== 'string' && !claims) {
        throw new AuthError(
          400,
          'validation_failed',
          'Send refresh_token in the body or an Authorization bearer token',
        );
      }
      await provider.logout({
        refreshToken: typeof refreshToken === 'string' ? refreshToken : undefined,
        accessToken,
        claims,
      });
      res.status(204).end();
    }),
  );

  router.get(
    '/me',
    handle(async (req, res) => {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new AuthError(401, 'no_authorization', 'This endpoint requires a Bearer token');
      const c = await provider.verify(token);
      res.json({
        id: c.sub,
        email: c.email ?? null,
        role: c.role,
        aud: c.aud,
        session_id: c.session_id ?? null,
        exp: c.exp,
      });
    }),
  );

  // Supabase's own auth API, for supabase-js pointed at this server (local
  // provider only: with AUTH_PROVIDER=supabase clients talk to Supabase).
  // Mounted before /auth so the v1 paths never reach the router above.
  if (provider.local) app.use('/auth/v1', goTrueRouter({ provider, local: provider.local, limit }));
  app.use('/auth', router);
}
