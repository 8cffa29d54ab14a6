/*
 * server/auth/verify.ts reuses a verified token's claims: the reuse must
 * give exactly what verification gives. A cached token still expires at its
 * own exp, a token that differs from a cached one in any byte is verified
 * afresh (and a forged signature refused), and a caller cannot change what
 * the next request is told.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { createVerifier } from '../../server/auth/verify.ts';
import { AuthError } from '../../server/auth/types.ts';

const secret = crypto.randomBytes(32).toString('hex');
const verify = createVerifier({ audience: 'authenticated', hsSecret: secret });
const sign = (sub: string, exp: number, key = secret) =>
  new SignJWT({ role: 'authenticated', email: 'a@example.test' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(key));
const code = (e: unknown) => (e instanceof AuthError ? e.code : String(e));

test('a verified token stops being accepted at its own expiry, cached or not', async () => {
  const sub = crypto.randomUUID();
  const exp = Math.floor(Date.now() / 1000) + 2;
  const token = await sign(sub, exp);
  assert.equal((await verify(token)).sub, sub);
  assert.equal((await verify(token)).sub, sub);
  await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
  await assert.rejects(verify(token), (e) => code(e) === 'token_expired');
});

test('only the exact token is reused: another signature or payload is verified afresh', async () => {
  const sub = crypto.randomUUID();
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const token = await sign(sub, exp);
  await verify(token);
  const [h, p, s] = token.split('.');
  // A character in the middle carries six bits of the signature (the last one carries padding too).
  const flipped = `${h}.${p}.${s!.slice(0, 10)}${s![10] === 'A' ? 'B' : 'A'}${s!.slice(11)}`;
  await assert.rejects(verify(flipped), (e) => code(e) === 'invalid_token');
  const foreign = await sign(sub, exp, crypto.randomBytes(32).toString('hex'));
  await assert.rejects(verify(foreign), (e) => code(e) === 'invalid_token');
  const other = crypto.randomUUID();
  assert.equal((await verify(await sign(other, exp))).sub, other);
  assert.equal((await verify(token)).sub, sub);
});

test('a caller changing the claims it was given does not change the next answer', async () => {
  const sub = crypto.randomUUID();
  const token = await sign(sub, Math.floor(Date.now() / 1000) + 3600);
  const first = await verify(token);
  first.sub = crypto.randomUUID();
  (first as { role: string }).role = 'service_role';
  const again = await verify(token);
  assert.equal(again.sub, sub);
  assert.equal(again.role, 'authenticated');
  assert.equal(again.email, 'a@example.test');
});
