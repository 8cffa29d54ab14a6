/*
 * Access-token verification, done locally for both providers: no network
 * round trip per request, and one place that decides what a valid token is
 * (signature, algorithm allow-list, audience, expiry, role).
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AuthError, type AccessClaims } from './types.ts';

export interface VerifierOptions {
  audience: string;
  /** HS256 secret (local provider, or Supabase's legacy JWT secret). */
  hsSecret?: string;
  /** JWKS of asymmetric keys (Supabase's ES256/RS256 signing keys). */
  jwksUrl?: string;
  /** Extra headers for the JWKS request (Supabase's gateway wants the apikey). */
  jwksHeaders?: Record<string, string>;
}

const ASYMMETRIC = ['ES256', 'RS256', 'EdDSA'];

export function createVerifier(opts: VerifierOptions): (token: string) => Promise<AccessClaims> {
  const secret = opts.hsSecret ? new TextEncoder().encode(opts.hsSecret) : undefined;
  const jwks = opts.jwksUrl
    ? createRemoteJWKSet(new URL(opts.jwksUrl), { cooldownDuration: 30_000, headers: opts.jwksHeaders })
    : undefined;
  return async (token) => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AuthError(401, 'invalid_token', 'Malformed access token');
    }
    let payload: JWTPayload;
    try {
      // The algorithm is pinned per key type: an HS256 token is never checked
      // against a public key and vice versa (the classic alg-confusion hole).
      if (alg === 'HS256' && secret) {
        ({ payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], audience: opts.audience }));
      } else if (alg && ASYMMETRIC.includes(alg) && jwks) {
        ({ payload } = await jwtVerify(token, jwks, { algorithms: ASYMMETRIC, audience: opts.audience }));
      } else {
        throw new AuthError(
          401,
          'invalid_token',
          `Access tokens signed with ${alg ?? 'no algorithm'} are not accepted`,
        );
      }
    } catch (e) {
      if (e instanceof AuthError) throw e;
      if (e instanceof joseErrors.JWTExpired) throw new AuthError(401, 'token_expired', 'Access token has expired');
      if (e instanceof joseErrors.JWTClaimValidationFailed)
        throw new AuthError(401, 'invalid_token', `Access token rejected: ${e.message}`);
      throw new AuthError(401, 'invalid_token', 'Access token signature is invalid');
    }
    if (typeof payload.exp !== 'number') throw new AuthError(401, 'invalid_token', 'Access token has no expiry');
    if (typeof payload.sub !== 'string' || !/^[0-9a-f-]{36}$/i.test(payload.sub)) {
      throw new AuthError(401, 'invalid_token', 'Access token has no user id');
    }
    // Only end-user tokens are accepted: a leaked service_role or anon key is
    // not a user, and must never reach the database as one.
    if (payload.role !== 'authenticated') throw new AuthError(401, 'invalid_token', 'Access token is not a user token');
    return {
      sub: payload.sub,
      role: 'authenticated',
      aud: payload.aud!,
      exp: payload.exp,
      iat: payload.iat,
      email: typeof payload.email === 'string' ? payload.email : undefined,
      session_id: typeof payload.session_id === 'string' ? payload.session_id : undefined,
    };
  };
}
