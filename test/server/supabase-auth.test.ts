/*
 * AUTH_PROVIDER=supabase against a local GoTrue stand-in: logins go through
 * supabase-js, and tokens (HS256 with the legacy secret, ES256/RS256 from the
 * JWKS) are verified by the server's real code.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { startGoTrue } from './gotrue-standin.ts';
import { gql, postJson, startTestServer } from './helpers.ts';

const db = await createTestDatabase();
const gotrue = await startGoTrue();
after(() => gotrue.close());
const srv = await startTestServer(db, {
  AUTH_PROVIDER: 'supabase',
  SUPABASE_URL: gotrue.url,
  SUPABASE_ANON_KEY: 'anon-key',
  SUPABASE_JWT_SECRET: gotrue.hsSecret,
  AUTH_RATE_LIMIT: '1000',
  AUTH_RATE_LIMIT_IP: '1000',
});

const me = (token: string) => fetch(`${srv.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
const allVideos = (token: string) => gql(srv.url, '{ allVideos { totalCount } }', {}, token);

test('signup, login, refresh and logout go through supabase-js to GoTrue', async () => {
  const email = `sb-${uuid()}@example.test`;
  const up = await postJson(`${srv.url}/auth/signup`, { email, password: 'a good password' });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.user.email, email);
  assert.ok(gotrue.calls.includes('POST /auth/v1/signup'));

  const bad = await postJson(`${srv.url}/auth/login`, { email, password: 'wrong password' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_credentials');
  const nobody = await postJson(`${srv.url}/auth/login`, { email: `x-${email}`, password: 'wrong password' });
  assert.deepEqual(nobody.body, bad.body);

  const login = await postJson(`${srv.url}/auth/login`, { email, password: 'a good password' });
  assert.equal(login.status, 200);
  assert.equal((await me(login.body.access_token)).status, 200);
  const r = await allVideos(login.body.access_token);
  assert.equal(r.body.data.allVideos.totalCount, 0);

  const refreshed = await postJson(`${srv.url}/auth/refresh`, { refresh_token: login.body.refresh_token });
  assert.equal(refreshed.status, 200);
  assert.ok(gotrue.calls.includes('POST /auth/v1/token?grant_type=refresh_token'));
  const again = await postJson(`${srv.url}/auth/refresh`, { refresh_token: login.body.refresh_token });
  assert.equal(again.status, 401);

  const out = await fetch(`${srv.url}/auth/logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${refreshed.body.access_token}` },
    body: '{}',
  });
  assert.equal(out.status, 204);
  assert.ok(gotrue.calls.some((c) => c.startsWith('POST /auth/v1/logout')));
});

test('HS256, ES256 and RS256 tokens are all verified locally and accepted', async () => {
  for (const alg of ['HS256', 'ES256', 'RS256'] as const) {
    const sub = uuid();
    const token = await gotrue.sign({ sub, email: `${alg}@example.test` }, { alg });
    const res = await me(token);
    assert.equal(res.status, 200, `${alg}: ${await res.clone().text()}`);
    assert.equal((await res.json()).id, sub);
    assert.equal((await allVideos(token)).status, 200);
  }
  // The JWKS was fetched (asymmetric keys), not the token endpoint.
  assert.ok(gotrue.calls.includes('GET /auth/v1/.well-known/jwks.json'));
});

test('tampered, expired and wrong-audience tokens are 401 for every algorithm', async () => {
  for (const alg of ['HS256', 'ES256', 'RS256'] as const) {
    const token = await gotrue.sign({ sub: uuid() }, { alg });
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: uuid() })).toString('base64url')}.${s}`;
    assert.equal((await me(forged)).status, 401, `${alg} tampered`);
    assert.equal((await allVideos(forged)).status, 401, `${alg} tampered via GraphQL`);
    const expired = await gotrue.sign({ sub: uuid() }, { alg, expiresIn: -10 });
    const e = await me(expired);
    assert.equal(e.status, 401, `${alg} expired`);
    assert.equal((await e.json()).error, 'token_expired');
    const aud = await gotrue.sign({ sub: uuid() }, { alg, aud: 'not-us' });
    assert.equal((await me(aud)).status, 401, `${alg} audience`);
    const anon = await gotrue.sign({ sub: uuid(), role: 'anon' }, { alg });
    assert.equal((await allVideos(anon)).status, 401, `${alg} anon-role token`);
  }
});

test('an alg=none token is refused', async () => {
  const body = Buffer.from(
    JSON.stringify({ sub: uuid(), role: 'authenticated', aud: 'authenticated', exp: 9999999999 }),
  ).toString('base64url');
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${body}.`;
  assert.equal((await me(none)).status, 401);
});
