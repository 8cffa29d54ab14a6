/*
 * AUTH_PROVIDER=supabase: sign-up, login, refresh and logout go to the
 * Supabase project through supabase-js; access tokens are still verified
 * here (HS256 legacy secret and/or the project's JWKS), so a request never
 * waits on Supabase and a Supabase outage only affects logins.
 */
import { createClient, type Session } from '@supabase/supabase-js';
import { createVerifier } from './verify.ts';
import { AuthError, INVALID_CREDENTIALS, INVALID_REFRESH, type AuthProvider, type TokenResponse } from './types.ts';

export interface SupabaseAuthOptions {
  url: string;
  anonKey: string;
  audience: string;
  jwtSecret?: string;
  jwksUrl?: string;
}

function toResponse(s: Session): TokenResponse {
  return {
    access_token: s.access_token,
    token_type: 'bearer',
    expires_in: s.expires_in,
    expires_at: s.expires_at ?? Math.floor(Date.now() / 1000) + s.expires_in,
    refresh_token: s.refresh_token,
    user: { id: s.user.id, email: s.user.email ?? null },
  };
}

type GoTrueError = { status?: number; code?: string; message: string } | null;

function upstream(e: NonNullable<GoTrueError>): AuthError {
  if (e.status && e.status >= 400 && e.status < 500) return new AuthError(e.status, e.code ?? 'auth_error', e.message);
  return new AuthError(502, 'auth_unavailable', 'The authentication service is unavailable');
}

export function createSupabaseAuth(opts: SupabaseAuthOptions): AuthProvider {
  const verify = createVerifier({
    audience: opts.audience,
    hsSecret: opts.jwtSecret,
    jwksUrl: opts.jwksUrl,
    jwksHeaders: { apikey: opts.anonKey },
  });
  // One client per call: a GoTrue client holds "the" current session, which
  // concurrent requests for different users must not share.
  const client = () =>
    createClient(opts.url, opts.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    }).auth;

  return {
    name: 'supabase',
    verify,
    async signup(email, password) {
      const { data, error } = await client().signUp({ email, password });
      if (error) throw upstream(error);
      if (!data.session) {
        throw new AuthError(202, 'confirmation_required', 'Check your email to confirm the account, then log in');
      }
      return toResponse(data.session);
    },
    async login(email, password) {
      const { data, error } = await client().signInWithPassword({ email, password });
      if (error) {
        if (error.status && error.status < 500) throw INVALID_CREDENTIALS();
        throw upstream(error);
      }
      return toResponse(data.session);
    },
    async refresh(refreshToken) {
      const { data, error } = await client().refreshSession({ refresh_token: refreshToken });
      if (error) {
        if (error.status && error.status < 500) throw INVALID_REFRESH();
        throw upstream(error);
      }
      if (!data.session) throw INVALID_REFRESH();
      return toResponse(data.session);
    },
    async logout({ refreshToken, accessToken }) {
      let jwt = accessToken;
      // GoTrue logs out by access token; a refresh token alone is first
      // exchanged for one (which also proves it is still valid).
      if (!jwt && refreshToken) jwt = (await this.refresh(refreshToken)).access_token;
      if (!jwt) return;
      const { error } = await client().admin.signOut(jwt, 'local');
      if (error && !(error.status && error.status < 500)) throw upstream(error);
    },
    async close() {},
  };
}
