/*
 * Reading credentials and bearer tokens from requests, shared by Heimdex's
 * own /auth routes and the Supabase-compatible /auth/v1 ones.
 */
import { AuthError } from './types.ts';

/** The token of an `Authorization: Bearer` header; undefined when absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new AuthError(401, 'invalid_token', 'Authorization header must be "Bearer <token>"');
  return m[1];
}

/**
 * The token a websocket client sent in connection_init's `authorization`:
 * the same scheme rule as HTTP ("bearer" in any case), or the bare token.
 */
export function connectionToken(auth: unknown): string | undefined {
  if (auth === undefined || auth === null || auth === '') return undefined;
  const given = String(auth);
  return bearerToken(/^bearer\s/i.test(given) ? given : `Bearer ${given}`);
}

const EMAIL = /^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$/;

export function credentials(body: unknown): { email: string; password: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof b.email !== 'string' || b.email.length > 320 || !EMAIL.test(b.email.trim()))
    problems.push('email must be an email address');
  if (typeof b.password !== 'string' || b.password.length < 8) problems.push('password must be at least 8 characters');
  else if (b.password.length > 72) problems.push('password must be at most 72 characters'); // bcrypt ignores the rest
  if (problems.length) throw new AuthError(400, 'validation_failed', problems.join('; '));
  return { email: (b.email as string).trim(), password: b.password as string };
}
