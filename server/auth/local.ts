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
  type AuthProvider,
  type LocalUser,
  type TokenResponse,
} from './types.ts';

export interface LocalAuthOptions {
  /** Owner connection: the auth functions are not granted to API roles. */
  pool: pg.Pool;
  secret: string;
  audience: string;
  accessTtlS: number;
  refreshTtlS: number;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const newRefreshToken = () => crypto.randomBytes(32).toString('base64url');

export async function createLocalAuth(opts: LocalAuthOptions): Promise<AuthProvider> {
  const key = new TextEncoder().encode(opts.secret);
  const verify = createVerifier({ audience: opts.audience, hsSecret: opts.secret });

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
      const { rows } = await opts.pool.query<{ user_id: string; email: string; session_id: string }>(
        'select * from app_private.auth_refresh($1, $2, $3)',
        [sha256(refreshToken), sha256(next), opts.refreshTtlS],
      );
      if (!rows[0]) throw INVALID_REFRESH();
      return issue({ id: rows[0].user_id, email: rows[0].email }, rows[0].session_id, next);
    },
    async logout({ refreshToken, claims }) {
      if (refreshToken) {
        await opts.pool.query('select app_private.auth_logout_token($1)', [sha256(refreshToken)]);
      } else if (claims?.session_id) {
        await opts.pool.query('select app_private.auth_logout_session($1)', [claims.session_id]);
      }
    },
    async close() {},
  };
}
