/*
 * Access-token verification, done locally for both providers: no network
 * round trip per request, and one place that decides what a valid token is
 * (signature, algorithm allow-list, audience, expiry, role).
 */
import crypto from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AuthError, type AccessClaims } from './types.ts';

/**
 * How long a verified token's claims are reused. A client sends the same
 * access token with every request until it refreshes it, and verification
 * is an HMAC or signature check run on libuv's thread pool: in the server
 * under load it measured 0.6 ms p50 and 9 ms p95 per request (BENCHMARKS.md,
 * "The API's own time"). A reused answer is the one verification gave, and
 * never past the token's own expiry; the bound only limits how long a JWKS
 * key withdrawn by the provider still counts for tokens already seen. What
 * a provider checks beyond the token (the local provider's session check
 * for logout) runs on every request regardless.
 */
export const VERIFIED_TOKEN_CACHE_MS = 60_000;
const VERIFIED_TOKEN_CACHE_MAX = 10_000;

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
  // By the token's SHA-256: only the exact token hits, and the lookup leaks
  // nothing about stored tokens through its timing.
  const verified = new Map<string, { claims: AccessClaims; until: number }>();
  const verifyOnce = async (token: string): Promise<AccessClaims> => {
    const key = crypto.createHash('sha256').update(token).digest('base64url');
    const now = Date.now();
    const hit = verified.get(key);
    if (hit && hit.until > now) return { ...hit.claims };
    if (hit) verified.delete(key);
    const claims = await verifyToken(token);
    // The oldest entry goes first (a Map iterates in insertion order).
    if (verified.size >= VERIFIED_TOKEN_CACHE_MAX) verified.delete(verified.keys().next().value!);
    verified.set(key, { claims: { ...claims }, until: Math.min(claims.exp * 1000, now + VERIFIED_TOKEN_CACHE_MS) });
    return claims;
  };
  const verifyToken = async (token: string): Promise<AccessClaims> => {
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
  return verifyOnce;
}
