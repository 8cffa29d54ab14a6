/*
 * The web app as the server delivers it: index.html for each app path, the
 * hashed assets, /config.json in both auth modes, and the security headers
 * (a CSP with no inline script and no framing) on every page.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../helpers/db.ts';
import { startTestServer } from './helpers.ts';

const db = await createTestDatabase();
const local = await startTestServer(db);
const supa = await startTestServer(db, {
  AUTH_PROVIDER: 'supabase',
  SUPABASE_URL: 'https://project-ref.supabase.example',
  SUPABASE_ANON_KEY: 'the-project-anon-key',
  SUPABASE_JWT_SECRET: 'a-legacy-jwt-secret-of-enough-length-0123',
});

function directives(csp: string | null): Map<string, string[]> {
  assert.ok(csp, 'a Content-Security-Policy header');
  return new Map(
    csp.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values];
    }),
  );
}

test('every app path answers index.html with a strict CSP and no inline script', async () => {
  for (const p of [
    '/',
    '/search?q=ocean',
    '/videos/6259914f-1111-4222-8333-944455556666',
    '/people',
    '/people/6259914f-1111-4222-8333-944455556666',
  ]) {
    const r = await fetch(`${local.url}${p}`);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    const csp = directives(r.headers.get('content-security-policy'));
    assert.deepEqual(csp.get('script-src'), ["'self'"]);
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(csp.get('default-src'), ["'none'"]);
    assert.ok(![...csp.values()].flat().includes("'unsafe-inline'"), 'nothing inline');
    assert.ok(![...csp.values()].flat().includes("'unsafe-eval'"));
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    const html = await r.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length > 0);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /\bsrc="\/assets\/[^"]+\.js"/, 'scripts are files from this server');
      assert.equal(body!.trim(), '', 'no inline script');
    }
    assert.doesNotMatch(html, /https?:\/\//, 'nothing is loaded from elsewhere');
  }
});

test('assets are served with their content type and cached for good (their names carry a hash)', async () => {
  const html = await (await fetch(`${local.url}/`)).text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')));
  for (const a of assets) {
    const r = await fetch(`${local.url}${a}`);
    assert.equal(r.status, 200, a);
    assert.match(r.headers.get('cache-control') ?? '', /immutable/);
    const type = r.headers.get('content-type') ?? '';
    if (a.endsWith('.js')) assert.match(type, /javascript/);
    if (a.endsWith('.css')) assert.match(type, /text\/css/);
  }
  assert.equal((await fetch(`${local.url}/assets/nope-123.js`)).status, 404);
});

test('the People, person and player pages are chunks loaded on demand, not part of the first screen', async () => {
  const html = await (await fetch(`${local.url}/`)).text();
  const get = async (a: string) => {
    const r = await fetch(`${local.url}${a}`);
    assert.equal(r.status, 200, a);
    assert.match(r.headers.get('cache-control') ?? '', /immutable/, a);
    assert.match(r.headers.get('content-type') ?? '', /javascript/, a);
    return r.text();
  };
  // The JavaScript reachable from `from`: modules and what they import statically; dynamic imports are listed.
  const reach = async (from: string[], seen = new Map<string, string>()) => {
    const dynamic = new Set<string>();
    const visit = async (a: string) => {
      if (seen.has(a)) return;
      const js = await get(a);
      seen.set(a, js);
      for (const m of js.matchAll(/import\(\s*"\.\/([^"]+\.js)"\s*\)/g)) dynamic.add(`/assets/${m[1]}`);
      for (const m of js.matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)) await visit(`/assets/${m[1]}`);
    };
    for (const a of from) await visit(a);
    return { seen, dynamic };
  };
  const entry = /<script type="module" src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  const first = await reach([entry]);
  // Statically imported chunks are preloaded, so they do not arrive one round trip late.
  for (const a of first.seen.keys())
    if (a !== entry) assert.ok(html.includes(`<link rel="modulepreload" href="${a}"`), `${a} is preloaded`);
  const firstText = [...first.seen.values()].join('\n');
  assert.ok(firstText.includes('library-title'), 'the library is in the first screen');
  assert.ok(firstText.includes('Upload videos'));
  const later = await reach([...first.dynamic], new Map(first.seen));
  const lazyText = [...later.seen]
    .filter(([a]) => !first.seen.has(a))
    .map(([, js]) => js)
    .join('\n');
  // The People, person and player pages are only in chunks loaded on demand.
  for (const marker of ['people-title', 'Add a person from photos', 'person-title', 'player-title']) {
    assert.ok(!firstText.includes(marker), `${marker} is not in the first screen's JavaScript`);
    assert.ok(lazyText.includes(marker), `${marker} is in a chunk loaded on demand`);
  }
});

test('/config.json in local mode: this server is the auth server, and the anon key works only there', async () => {
  const r = await fetch(`${local.url}/config.json`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const c = (await r.json()) as Record<string, any>;
  assert.deepEqual(Object.keys(c).slice(0, 4), ['authProvider', 'supabaseUrl', 'supabaseAnonKey', 'graphqlUrl']);
  assert.equal(c.authProvider, 'local');
  assert.equal(c.supabaseUrl, local.url);
  assert.equal(c.graphqlUrl, `${local.url}/graphql`);
  const user = await fetch(`${local.url}/auth/v1/user`, { headers: { apikey: c.supabaseAnonKey } });
  assert.equal(user.status, 401, 'the key opens the auth API, which then asks for a user token');
});

test('/config.json in supabase mode points the page at the project, and /auth/v1 is not served here', async () => {
  const c = (await (await fetch(`${supa.url}/config.json`)).json()) as Record<string, any>;
  assert.equal(c.authProvider, 'supabase');
  assert.equal(c.supabaseUrl, 'https://project-ref.supabase.example');
  assert.equal(c.supabaseAnonKey, 'the-project-anon-key');
  assert.equal(c.graphqlUrl, `${supa.url}/graphql`);
  const csp = directives((await fetch(`${supa.url}/`)).headers.get('content-security-policy'));
  assert.ok(csp.get('connect-src')!.includes('https://project-ref.supabase.example'), 'the page may reach Supabase');
  const v1 = await fetch(`${supa.url}/auth/v1/user`, { headers: { apikey: 'the-project-anon-key' } });
  assert.equal(v1.status, 404);
});
