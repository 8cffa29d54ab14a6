/*
 * AUTH_PROVIDER=local: users and sessions in app_private (9-auth.sql),
 * HS256 access tokens with Supabase's claim shape, so RLS policies written
 * for Supabase (auth.uid()) work unchanged.
 */
import crypto from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type pg from 'pg';
import { createVerifier } from './verify.ts';
import {
  AuthError,
  INVALID_CREDENTIALS,
  INVALID_REFRESH,
  REFRESH_ALREADY_USED,
  type AuthProvider,
  type LocalUser,
  type TokenResponse,
} from './types.ts';

export interface LocalAuthOptions {
  /** heimdex_auth: the only login granted the auth functions. */
  pool: pg.Pool;
  secret: string;
  audience: string;
  accessTtlS: number;
  refreshTtlS: number;
  /** Grace after a refresh token's rotation during which it may be used again (GoTrue's reuse interval). */
  refreshReuseS: number;
}

/**
 * How long a session's "still active" answer is reused. Each request checks
 * that its token's session was not logged out; this bounds that to one
 * query per session per window. A logout on this server takes effect at
 * once (the entry is dropped); on another replica, within this window.
 */
export const SESSION_CHECK_CACHE_MS = 5000;
const SESSION_CACHE_MAX = 10_000;

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const newRefreshToken = () => crypto.randomBytes(32).toString('base64url');

export async function createLocalAuth(opts: LocalAuthOptions): Promise<AuthProvider> {
  const key = new TextEncoder().encode(opts.secret);
  const verifyToken = createVerifier({ audience: opts.audience, hsSecret: opts.secret });
  const sessions = new Map<string, { active: boolean; until: number }>();

  async function sessionActive(sessionId: string): Promise<boolean> {
    const now = Date.now();
    const hit = sessions.get(sessionId);
    if (hit && hit.until > now) return hit.active;
    const { rows } = await opts.pool.query<{ active: boolean }>(
      'select app_private.auth_session_active($1) as active',
      [sessionId],
    );
    if (sessions.size >= SESSION_CACHE_MAX) sessions.clear();
    sessions.set(sessionId, { active: rows[0].active, until: now + SESSION_CHECK_CACHE_MS });
    return rows[0].active;
  }

  /** A valid signature is not enough: the session it names must not have ended (logout, refresh replay). */
  async function verify(token: string) {
    const claims = await verifyToken(token);
    // Every token this provider issues names its session; one without is not ours.
    if (!claims.session_id || !/^[0-9a-f-]{36}$/i.test(claims.session_id))
      throw new AuthError(401, 'invalid_token', 'Access token has no session');
    if (!(await sessionActive(claims.session_id)))
      throw new AuthError(401, 'session_ended', 'This session has ended (signed out); sign in again');
    return claims;
  }

  async function issue(
    user: { id: string; email: string },
    sessionId: string,
    refreshToken: string,
  ): Promise<TokenResponse> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + opts.accessTtlS;
    const accessToken = await new SignJWT({ role: 'authenticated', email: user.email, session_id: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setAudience(opts.audience)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(key);
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: opts.accessTtlS,
      expires_at: exp,
      refresh_token: refreshToken,
      user: { id: user.id, email: user.email },
    };
  }

  async function startSession(user: { id: string; email: string }) {
    const refreshToken = newRefreshToken();
    const { rows } = await opts.pool.query<{ sid: string }>(
      'select app_private.auth_create_session($1, $2, $3) as sid',
      [user.id, sha256(refreshToken), opts.refreshTtlS],
    );
    return issue(user, rows[0].sid, refreshToken);
  }

  // Deterministic (no iat/exp), like a Supabase project's anon key: the same
  // secret always yields the same public key, across restarts and servers.
  const anonKey = await new SignJWT({ iss: 'heimdex', role: 'anon' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(key);

  return {
    name: 'local',
    verify,
    local: {
      anonKey,
      async isApiKey(apiKey) {
        if (apiKey === anonKey) return true;
        try {
          const { payload } = await jwtVerify(apiKey, key, { algorithms: ['HS256'] });
          return payload.role === 'anon';
        } catch {
          return false;
        }
      },
      async sessionUser(userId, sessionId) {
        const { rows } = await opts.pool.query<LocalUser>('select * from app_private.auth_session_user($1, $2)', [
          userId,
          sessionId,
        ]);
        return rows[0] ?? null;
      },
      async logoutUser(userId, keepSession) {
        const { rows } = await opts.pool.query<{ n: number }>('select app_private.auth_logout_user($1, $2) as n', [
          userId,
          keepSession,
        ]);
        return rows[0]?.n ?? 0;
      },
    },
    async signup(email, password) {
      const { rows } = await opts.pool.query<{ id: string | null; email: string }>(
        'select u.id, u.email from app_private.auth_signup($1, $2) u',
        [email, password],
      );
      if (!rows[0]?.id)
        throw new AuthError(422, 'user_already_exists', 'A user with this email address has already been registered');
      return startSession(rows[0] as { id: string; email: string });
    },
    async login(email, password) {
      const { rows } = await opts.pool.query<{ id: string | null; email: string }>(
        'select u.id, u.email from app_private.auth_login($1, $2) u',
        [email, password],
      );
      // Unknown email and wrong password are the same error on purpose.
      if (!rows[0]?.id) throw INVALID_CREDENTIALS();
      return startSession(rows[0] as { id: string; email: string });
    },
    async refresh(refreshToken) {
      const next = newRefreshToken();
      const { rows } = await opts.pool.query<{ user_id: string; email: string; session_id: string; error: string }>(
        'select * from app_private.auth_refresh($1, $2, $3, $4)',
        [sha256(refreshToken), sha256(next), opts.refreshTtlS, opts.refreshReuseS],
      );
      const r = rows[0];
      if (r?.error === 'refresh_token_already_used') {
        // A replay after the grace revoked its whole session: its access tokens stop here at once.
        sessions.clear();
        throw REFRESH_ALREADY_USED();
      }
      if (!r?.user_id) throw INVALID_REFRESH();
      return issue({ id: r.user_id, email: r.email }, r.session_id, next);
    },
    async logout({ refreshToken, claims }) {
      if (refreshToken) {
        await opts.pool.query('select app_private.auth_logout_token($1)', [sha256(refreshToken)]);
        // Which session the refresh token named is not returned: forget all answers.
        sessions.clear();
      } else if (claims?.session_id) {
        await opts.pool.query('select app_private.auth_logout_session($1)', [claims.session_id]);
        sessions.delete(claims.session_id);
      }
    },
    async close() {},
  };
}
