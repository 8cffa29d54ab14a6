/*
 * Heimdex's own Supabase Auth API (/auth/v1, AUTH_PROVIDER=local), driven by
 * supabase-js itself — the same client the web app uses — so any frontend
 * written for Supabase can point at a local Heimdex unchanged. Plus the raw
 * HTTP contract where supabase-js hides it: the apikey gate, GoTrue's two
 * error shapes, and /config.json.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { gql, startTestServer } from './helpers.ts';

const db = await createTestDatabase();
// A long refresh reuse grace (Supabase's default is 10 s), so two refreshes
// racing stay within it however loaded the machine; "after the grace" is made
// by moving the rotation back in the database, not by waiting.
const REUSE_S = 600;
const srv = await startTestServer(db, {
  AUTH_RATE_LIMIT: '1000',
  AUTH_RATE_LIMIT_IP: '1000',
  REFRESH_TOKEN_REUSE_INTERVAL_S: String(REUSE_S),
});
/** As if the reuse grace had passed since this user's refresh tokens were rotated. */
const afterReuseGrace = (email: string) =>
  db.rootPool.query(
    `update app_private.refresh_tokens t set rotated_at = rotated_at - make_interval(secs => $2)
       from app_private.sessions s join app_private.users u on u.id = s.user_id
      where t.session_id = s.id and u.email = $1 and t.rotated_at is not null`,
    [email, REUSE_S + 1],
  );
const config = (await (await fetch(`${srv.url}/config.json`)).json()) as Record<string, any>;

/** A client like the page's, with its own in-memory storage (one per simulated browser). */
function client(): SupabaseClient {
  const store = new Map<string, string>();
  return createClient(config.supabaseUrl, config.supabaseAnonKey, {
    auth: {
      persistSession: true,
      autoRefreshToken: false,
      detectSessionInUrl: false,
      storage: {
        getItem: (k) => store.get(k) ?? null,
        setItem: (k, v) => void store.set(k, v),
        removeItem: (k) => void store.delete(k),
      },
    },
  });
}
const videos = async (token: string) => gql(srv.url, '{ allVideos { totalCount } }', {}, token);

test('/config.json names the local mode, this server as the Supabase URL and an anon key signed here', async () => {
  assert.equal(config.authProvider, 'local');
  assert.equal(config.supabaseUrl, srv.url);
  assert.equal(config.graphqlUrl, `${srv.url}/graphql`);
  const [header, payload] = String(config.supabaseAnonKey)
    .split('.')
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
  assert.equal(header.alg, 'HS256');
  assert.equal(payload.role, 'anon');
  // The anon key is public: it must not pass as a user token anywhere.
  const asUser = await videos(config.supabaseAnonKey);
  assert.equal(asUser.status, 401);
  assert.equal(typeof config.uploads.maxBytes, 'number');
  assert.ok(config.uploads.contentTypes.includes('video/mp4'));
});

test('supabase-js: signUp, signInWithPassword, getUser, refreshSession and signOut', async () => {
  const email = `js-${uuid()}@example.test`;
  const a = client();
  const up = await a.auth.signUp({ email, password: 'a long passphrase' });
  assert.equal(up.error, null);
  assert.equal(up.data.user?.email, email);
  assert.equal(up.data.user?.aud, 'authenticated');
  assert.ok(up.data.session?.access_token);
  assert.equal((await videos(up.data.session!.access_token)).body.data.allVideos.totalCount, 0);

  const dup = await client().auth.signUp({ email, password: 'another passphrase' });
  assert.equal(dup.error?.code, 'user_already_exists');
  assert.equal(dup.error?.status, 422);

  const weak = await client().auth.signUp({ email: `w-${email}`, password: 'short' });
  assert.equal(weak.error?.code, 'weak_password');
  assert.equal(weak.error?.name, 'AuthWeakPasswordError');

  const b = client();
  const wrong = await b.auth.signInWithPassword({ email, password: 'not the passphrase' });
  assert.equal(wrong.error?.code, 'invalid_credentials');
  assert.equal(wrong.error?.message, 'Invalid login credentials');
  const login = await b.auth.signInWithPassword({ email, password: 'a long passphrase' });
  assert.equal(login.error, null);
  const session = login.data.session!;
  assert.equal(session.user.id, up.data.user!.id);
  assert.ok(session.expires_at! > Date.now() / 1000);

  const user = await b.auth.getUser();
  assert.equal(user.error, null);
  assert.equal(user.data.user?.email, email);

  const refreshed = await b.auth.refreshSession();
  assert.equal(refreshed.error, null);
  assert.notEqual(refreshed.data.session!.refresh_token, session.refresh_token, 'refresh tokens rotate');
  assert.equal((await videos(refreshed.data.session!.access_token)).status, 200);
  assert.equal((await b.auth.getSession()).data.session?.access_token, refreshed.data.session!.access_token);

  // signOut (scope global) ends every session of the user: b's and a's.
  const out = await b.auth.signOut();
  assert.equal(out.error, null);
  assert.equal((await b.auth.getSession()).data.session, null);
  const aUser = await a.auth.getUser();
  assert.equal(aUser.error?.name, 'AuthSessionMissingError', 'the other session was signed out too');
  const reuse = await a.auth.refreshSession();
  assert.ok(reuse.error, 'a signed-out session cannot be refreshed');
});

test('supabase-js: reusing a rotated refresh token revokes the whole session', async () => {
  const email = `rot-${uuid()}@example.test`;
  const c = client();
  const { data } = await c.auth.signUp({ email, password: 'a long passphrase' });
  const first = data.session!;
  const second = (await c.auth.refreshSession()).data.session!;
  assert.ok(second.refresh_token);

  // An attacker replays the first (already rotated) refresh token, later than two tabs racing would.
  await afterReuseGrace(email);
  const thief = client();
  const replay = await thief.auth.refreshSession({ refresh_token: first.refresh_token });
  assert.equal(replay.error?.code, 'refresh_token_already_used');
  assert.equal(replay.error?.status, 400);
  assert.equal(replay.data.session, null);

  // The legitimate holder's newer token is dead too, and so is the session.
  const after = await client().auth.refreshSession({ refresh_token: second.refresh_token });
  assert.ok(after.error, 'the rotated-in token was revoked with the session');
  const user = await c.auth.getUser();
  assert.equal(user.error?.name, 'AuthSessionMissingError');
  // What supabase-js turned into that error: GoTrue's 403 session_not_found.
  const raw = await fetch(`${srv.url}/auth/v1/user`, {
    headers: { apikey: config.supabaseAnonKey, authorization: `Bearer ${second.access_token}` },
  });
  assert.equal(raw.status, 403);
  assert.equal(((await raw.json()) as any).error_code, 'session_not_found');

  // Other sessions of the same user are untouched.
  const other = await client().auth.signInWithPassword({ email, password: 'a long passphrase' });
  assert.equal(other.error, null);
});

test('supabase-js: two tabs refreshing with the same token at once both get a session (the reuse grace)', async () => {
  const email = `race-${uuid()}@example.test`;
  const { data } = await client().auth.signUp({ email, password: 'a long passphrase' });
  const first = data.session!;
  // Two browser tabs restored at once, each with the same stored session.
  const tabs = [client(), client()];
  const results = await Promise.all(tabs.map((t) => t.auth.refreshSession({ refresh_token: first.refresh_token })));
  for (const r of results) {
    assert.equal(r.error, null);
    assert.notEqual(r.data.session!.refresh_token, first.refresh_token);
    assert.equal(r.data.session!.user.email, email);
    assert.equal((await videos(r.data.session!.access_token)).status, 200);
  }
  // Each tab carries on with its own successor token.
  for (const t of tabs) assert.equal((await t.auth.refreshSession()).error, null);

  // Outside the grace the old token is a stolen one: the whole family is revoked,
  // so even the newest token of the session stops working.
  const newest = (await tabs[0].auth.getSession()).data.session!;
  await afterReuseGrace(email);
  const replay = await client().auth.refreshSession({ refresh_token: first.refresh_token });
  assert.equal(replay.error?.code, 'refresh_token_already_used');
  const later = await client().auth.refreshSession({ refresh_token: newest.refresh_token });
  assert.equal(later.error?.code, 'refresh_token_not_found');
  assert.equal((await videos(newest.access_token)).status, 401);
});

test('signOut with scope local ends only that session; others keeps only this one', async () => {
  const email = `scope-${uuid()}@example.test`;
  const a = client();
  await a.auth.signUp({ email, password: 'a long passphrase' });
  const b = client();
  await b.auth.signInWithPassword({ email, password: 'a long passphrase' });
  const c = client();
  await c.auth.signInWithPassword({ email, password: 'a long passphrase' });

  assert.equal((await a.auth.signOut({ scope: 'local' })).error, null);
  assert.equal((await b.auth.getUser()).error, null, 'b is still signed in');

  assert.equal((await b.auth.signOut({ scope: 'others' })).error, null);
  assert.equal((await b.auth.getUser()).error, null, 'b kept its own session');
  assert.equal((await c.auth.getUser()).error?.name, 'AuthSessionMissingError');
});

test('every /auth/v1 request needs the apikey, as at Supabase’s gateway', async () => {
  const body = JSON.stringify({ email: 'x@example.test', password: 'a long passphrase' });
  const post = (headers: Record<string, string>) =>
    fetch(`${srv.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const none = await post({});
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as any).message, 'No API key found in request');
  const wrong = await post({ apikey: 'not-a-key' });
  assert.equal(wrong.status, 401);
  assert.equal(((await wrong.json()) as any).message, 'Invalid API key');
  // A user's access token is not an API key either.
  const email = `key-${uuid()}@example.test`;
  const { data } = await client().auth.signUp({ email, password: 'a long passphrase' });
  assert.equal((await post({ apikey: data.session!.access_token })).status, 401);
});

test('errors come in GoTrue’s two shapes, chosen by X-Supabase-Api-Version', async () => {
  const bad = (headers: Record<string, string>) =>
    fetch(`${srv.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey: config.supabaseAnonKey, ...headers },
      body: JSON.stringify({ email: 'nobody@example.test', password: 'a long passphrase' }),
    });
  const legacy = await bad({});
  assert.equal(legacy.status, 400);
  assert.deepEqual(await legacy.json(), {
    code: 400,
    error_code: 'invalid_credentials',
    msg: 'Invalid login credentials',
  });
  const dated = await bad({ 'x-supabase-api-version': '2024-01-01' });
  assert.equal(dated.status, 400);
  assert.equal(dated.headers.get('x-supabase-api-version'), '2024-01-01');
  assert.deepEqual(await dated.json(), { code: 'invalid_credentials', message: 'Invalid login credentials' });

  const grant = await fetch(`${srv.url}/auth/v1/token?grant_type=magic`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', apikey: config.supabaseAnonKey },
    body: '{}',
  });
  assert.equal(grant.status, 400);
  const unknown = await fetch(`${srv.url}/auth/v1/otp`, {
    method: 'POST',
    headers: { apikey: config.supabaseAnonKey },
  });
  assert.equal(unknown.status, 404);
  const user = await fetch(`${srv.url}/auth/v1/user`, { headers: { apikey: config.supabaseAnonKey } });
  assert.equal(user.status, 401);
  assert.equal(((await user.json()) as any).error_code, 'no_authorization');
});

test('the existing /auth endpoints stay, and share sessions with /auth/v1', async () => {
  const email = `both-${uuid()}@example.test`;
  const c = client();
  await c.auth.signUp({ email, password: 'a long passphrase' });
  const r = await fetch(`${srv.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a long passphrase' }),
  });
  assert.equal(r.status, 200);
  const tokens = (await r.json()) as { refresh_token: string };
  const viaJs = await client().auth.refreshSession({ refresh_token: tokens.refresh_token });
  assert.equal(viaJs.error, null);
  assert.equal(viaJs.data.user?.email, email);
});
