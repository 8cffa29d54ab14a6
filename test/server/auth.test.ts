/*
 * Local auth over real HTTP: the token lifecycle, refresh rotation and
 * replay detection, rate limits, uniform login errors, input validation, and
 * what a bad token does to a GraphQL request (401, never anonymous).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { gql, postJson, signup, startTestServer } from './helpers.ts';

const db = await createTestDatabase();
// A roomy rate limit: every test here logs in from 127.0.0.1. No refresh
// reuse grace: here every replay is theft (the grace is tested in auth-v1).
const srv = await startTestServer(db, {
  AUTH_RATE_LIMIT: '1000',
  AUTH_RATE_LIMIT_IP: '1000',
  REFRESH_TOKEN_REUSE_INTERVAL_S: '0',
});

const meAt = (base: string, token: string) =>
  fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
const me = (token: string) => meAt(srv.url, token);

/** A token signed with the server's own secret, for claims the server would never issue itself. */
async function signAs(claims: Record<string, unknown>, sub: string, iat: number, exp: number) {
  const secret = fs.readFileSync(path.join(srv.dataDir, 'jwt-secret'), 'utf8').trim();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());

test('signup, login, me; an expired access token is refused; refresh from the body restores access', async () => {
  const u = await signup(srv.url, 'Life.Cycle@Example.test');
  const login = await postJson(`${srv.url}/auth/login`, {
    email: 'life.cycle@example.TEST',
    password: u.password,
  });
  assert.equal(login.status, 200);
  assert.equal(login.body.token_type, 'bearer');
  assert.equal(login.body.expires_in, srv.config.auth.accessTtlS);
  assert.equal(login.body.user.id, u.id);
  assert.equal(login.body.expires_at, claimsOf(login.body.access_token).exp);
  const ok = await me(login.body.access_token);
  assert.equal(ok.status, 200);
  const body = await ok.json();
  assert.equal(body.id, u.id);
  assert.equal(body.email, 'Life.Cycle@Example.test');
  assert.equal(body.role, 'authenticated');

  // The same session's token, already expired (no waiting for a clock).
  const { session_id, email } = claimsOf(login.body.access_token);
  const expiredToken = await signAs({ role: 'authenticated', email, session_id }, u.id, 1000, 2000);
  const expired = await me(expiredToken);
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).error, 'token_expired');

  const refreshed = await postJson(`${srv.url}/auth/refresh`, { refresh_token: login.body.refresh_token });
  assert.equal(refreshed.status, 200);
  assert.notEqual(refreshed.body.refresh_token, login.body.refresh_token);
  assert.equal((await me(refreshed.body.access_token)).status, 200);
});

test('logout ends the session for its access tokens too, at once on this server', async () => {
  const u = await signup(srv.url);
  assert.equal((await me(u.token)).status, 200, 'the session is checked (and its answer cached) first');
  assert.equal((await postJson(`${srv.url}/auth/logout`, { refresh_token: u.refresh })).status, 204);
  const after = await me(u.token);
  assert.equal(after.status, 401);
  assert.equal((await after.json()).error, 'session_ended');
  assert.equal((await gql(srv.url, '{ allVideos { totalCount } }', {}, u.token)).status, 401);
  // Logging out with the access token alone does the same.
  const v = await signup(srv.url);
  assert.equal((await me(v.token)).status, 200);
  const out = await fetch(`${srv.url}/auth/logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${v.token}` },
    body: '{}',
  });
  assert.equal(out.status, 204);
  assert.equal((await me(v.token)).status, 401);
  // A validly signed token for a session that never existed is refused as well.
  const never = await signAs(
    { role: 'authenticated', session_id: uuid() },
    v.id,
    Math.floor(Date.now() / 1000),
    Math.floor(Date.now() / 1000) + 3600,
  );
  assert.equal((await me(never)).status, 401);
  const noSession = await signAs(
    { role: 'authenticated' },
    v.id,
    Math.floor(Date.now() / 1000),
    Math.floor(Date.now() / 1000) + 3600,
  );
  assert.equal((await me(noSession)).status, 401);
});

test('reusing a rotated refresh token revokes the whole session', async () => {
  const u = await signup(srv.url);
  const r1 = await postJson(`${srv.url}/auth/refresh`, { refresh_token: u.refresh });
  assert.equal(r1.status, 200);
  // The old token again: a replay.
  const replay = await postJson(`${srv.url}/auth/refresh`, { refresh_token: u.refresh });
  assert.equal(replay.status, 401);
  assert.equal(replay.body.error, 'refresh_token_already_used');
  // The legitimately rotated token died with the session.
  const after = await postJson(`${srv.url}/auth/refresh`, { refresh_token: r1.body.refresh_token });
  assert.equal(after.status, 401);
  // And so did every access token of that session.
  assert.equal((await me(r1.body.access_token)).status, 401);
  assert.equal((await me(u.token)).status, 401);
  // Other sessions of the same user are untouched.
  const other = await postJson(`${srv.url}/auth/login`, { email: u.email, password: u.password });
  const r2 = await postJson(`${srv.url}/auth/refresh`, { refresh_token: other.body.refresh_token });
  assert.equal(r2.status, 200);
});

test('refresh tokens are accepted only in the JSON body', async () => {
  const u = await signup(srv.url);
  const res = await postJson(`${srv.url}/auth/refresh?refresh_token=${encodeURIComponent(u.refresh)}`, {});
  assert.equal(res.status, 400);
  assert.match(res.body.message, /body/);
  // The token was not consumed by the refused request.
  assert.equal((await postJson(`${srv.url}/auth/refresh`, { refresh_token: u.refresh })).status, 200);
});

test('logout ends the session: its refresh token stops working', async () => {
  const u = await signup(srv.url);
  const out = await postJson(`${srv.url}/auth/logout`, { refresh_token: u.refresh });
  assert.equal(out.status, 204);
  assert.equal((await postJson(`${srv.url}/auth/refresh`, { refresh_token: u.refresh })).status, 401);
});

test('logout with only the access token ends that session', async () => {
  const u = await signup(srv.url);
  const other = await postJson(`${srv.url}/auth/login`, { email: u.email, password: u.password });
  const res = await fetch(`${srv.url}/auth/logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${u.token}` },
    body: '{}',
  });
  assert.equal(res.status, 204);
  assert.equal((await postJson(`${srv.url}/auth/refresh`, { refresh_token: u.refresh })).status, 401);
  // Only that session: the user's other login still refreshes.
  assert.equal((await postJson(`${srv.url}/auth/refresh`, { refresh_token: other.body.refresh_token })).status, 200);
  const nothing = await postJson(`${srv.url}/auth/logout`, {});
  assert.equal(nothing.status, 400);
});

test('unknown email and wrong password give identical answers', async () => {
  const u = await signup(srv.url);
  const wrong = await postJson(`${srv.url}/auth/login`, { email: u.email, password: 'not the password' });
  const unknown = await postJson(`${srv.url}/auth/login`, {
    email: `nobody-${uuid()}@example.test`,
    password: 'not the password',
  });
  assert.equal(wrong.status, 400);
  assert.deepEqual(unknown, { ...wrong, headers: unknown.headers });
  assert.deepEqual(wrong.body, unknown.body);
  assert.equal(wrong.body.error, 'invalid_credentials');
});

test('bad input: email format, short password, non-JSON bodies, duplicate signup', async () => {
  const bad = await postJson(`${srv.url}/auth/signup`, { email: 'not-an-email', password: 'long enough pass' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /email/);
  const short = await postJson(`${srv.url}/auth/signup`, { email: 'short@example.test', password: 'short' });
  assert.equal(short.status, 400);
  assert.match(short.body.message, /8 characters/);
  const form = await fetch(`${srv.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'email=a%40b.c&password=12345678',
  });
  assert.equal(form.status, 415);
  assert.equal((await form.json()).error, 'unsupported_media_type');
  const broken = await fetch(`${srv.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"email":',
  });
  assert.equal(broken.status, 400);
  const u = await signup(srv.url);
  const dup = await postJson(`${srv.url}/auth/signup`, { email: u.email.toUpperCase(), password: 'another password' });
  assert.equal(dup.status, 422);
  const { rows } = await db.rootPool.query(
    'select count(*)::int as n from app_private.users where lower(email) = lower($1)',
    [u.email],
  );
  assert.equal(rows[0].n, 1);
});

test('GraphQL: a bad, expired or foreign-signed token is a 401, never anonymous', async () => {
  const u = await signup(srv.url);
  const query = '{ allVideos { totalCount } }';
  const good = await gql(srv.url, query, {}, u.token);
  assert.equal(good.status, 200);
  assert.equal(good.body.data.allVideos.totalCount, 0);

  const garbage = await gql(srv.url, query, {}, 'not-a-jwt');
  assert.equal(garbage.status, 401);
  assert.equal(garbage.body.error, 'invalid_token');

  const foreign = await new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(u.id)
    .setAudience('authenticated')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('some-other-secret-that-is-long-enough-to-use'));
  assert.equal((await gql(srv.url, query, {}, foreign)).status, 401);

  const secret = fs.readFileSync(path.join(srv.dataDir, 'jwt-secret'), 'utf8').trim();
  const key = new TextEncoder().encode(secret);
  const serviceRole = await new SignJWT({ role: 'service_role' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(u.id)
    .setAudience('authenticated')
    .setExpirationTime('1h')
    .sign(key);
  assert.equal((await gql(srv.url, query, {}, serviceRole)).status, 401, 'a service_role token is not a user');
  const wrongAud = await new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(u.id)
    .setAudience('someone-else')
    .setExpirationTime('1h')
    .sign(key);
  assert.equal((await gql(srv.url, query, {}, wrongAud)).status, 401);
  const expired = await new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(u.id)
    .setAudience('authenticated')
    .setIssuedAt(1000)
    .setExpirationTime(2000)
    .sign(key);
  const exp = await gql(srv.url, query, {}, expired);
  assert.equal(exp.status, 401);
  assert.equal(exp.body.error, 'token_expired');

  // Without a token the request is anonymous, and anon may read nothing.
  const anon = await gql(srv.url, query);
  assert.equal(anon.status, 200);
  assert.match(anon.body.errors[0].message, /permission denied/);
});

test('the generated signing secret is private and survives a restart', async () => {
  const file = path.join(srv.dataDir, 'jwt-secret');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const second = await startTestServer(db, { HEIMDEX_DATA_DIR: srv.dataDir, ACCESS_TOKEN_TTL_S: '60' });
  // Same data folder, same secret: either server's tokens are valid on the
  // other. (Issued by the second, whose tokens outlive a slow start.)
  const u = await signup(second.url);
  const res = await me(u.token);
  assert.equal(res.status, 200);
  await second.close();
});

test('login and signup are rate-limited per IP and per account, with Retry-After', async () => {
  const limited = await startTestServer(db, {
    AUTH_RATE_LIMIT: '3',
    AUTH_RATE_LIMIT_IP: '4',
    AUTH_RATE_WINDOW_S: '60',
  });
  const u = await signup(limited.url); // the account's first attempt
  const attempt = (ip: string, email = u.email) =>
    postJson(`${limited.url}/auth/login`, { email, password: 'wrong password' }, { 'x-forwarded-for': ip });
  // Per account: different addresses share the account's budget.
  assert.equal((await attempt('10.0.0.1')).status, 400);
  assert.equal((await attempt('10.0.0.2')).status, 400);
  const blocked = await attempt('10.0.0.3');
  assert.equal(blocked.status, 429);
  assert.equal(blocked.body.error, 'over_request_rate_limit');
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  // Even the right password is refused while the account is limited.
  const right = await postJson(
    `${limited.url}/auth/login`,
    { email: u.email, password: u.password },
    { 'x-forwarded-for': '10.0.0.5' },
  );
  assert.equal(right.status, 429);
  // Per IP: one address cycling through accounts is stopped too, at its own limit.
  const ip = '10.9.9.9';
  for (let i = 0; i < 4; i++) assert.equal((await attempt(ip, `spray${i}@example.test`)).status, 400);
  assert.equal((await attempt(ip, 'spray9@example.test')).status, 429);
  await limited.close();

  // A forged X-Forwarded-For from a client that is not a trusted proxy changes nothing.
  const direct = await startTestServer(db, { TRUST_PROXY: '', AUTH_RATE_LIMIT: '100', AUTH_RATE_LIMIT_IP: '2' });
  const forged = (ip: string) =>
    postJson(
      `${direct.url}/auth/login`,
      { email: 'nobody@example.test', password: 'wrong password' },
      { 'x-forwarded-for': ip },
    );
  assert.equal((await forged('10.1.0.1')).status, 400);
  assert.equal((await forged('10.1.0.2')).status, 400);
  assert.equal((await forged('10.1.0.3')).status, 429);
  await direct.close();
});
