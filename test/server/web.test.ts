/*
 * The web app as the server delivers it: index.html for each app path (with
 * the page's configuration in it), the hashed assets (compressed ahead of
 * time), /config.json in both auth modes, and the security headers (a CSP
 * with no inline script and no framing) on every page.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
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
    // The configuration in the page names URLs (this server's); nothing the page loads is elsewhere.
    assert.doesNotMatch(html, /(?:src|href)="(?!\/[^/])/, 'nothing is loaded from elsewhere');
  }
});

/** The configuration the server wrote into a page. */
function pageConfig(html: string): Record<string, any> {
  const content = /<meta name="heimdex-config" content="([^"]*)"/.exec(html)?.[1];
  assert.ok(content !== undefined, 'the page carries its configuration');
  const unescaped = content.replace(/&(quot|#39|lt|gt|amp);/g, (_, e: string) =>
    e === 'quot' ? '"' : e === '#39' ? "'" : e === 'lt' ? '<' : e === 'gt' ? '>' : '&',
  );
  return JSON.parse(unescaped) as Record<string, any>;
}

test('each page carries the same configuration as /config.json, so the first screen needs no request for it', async () => {
  for (const srv of [local, supa]) {
    const fromJson = await (await fetch(`${srv.url}/config.json`)).json();
    for (const p of ['/', '/people']) {
      const html = await (await fetch(`${srv.url}${p}`)).text();
      assert.deepEqual(pageConfig(html), fromJson, p);
      assert.ok(!html.includes('%HEIMDEX_CONFIG%'));
    }
  }
  // Under another host name (local mode) the page names that one; whatever the
  // Host header holds is escaped for the attribute. (fetch() cannot set Host.)
  const get = (headers: Record<string, string>) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      http
        .get(`${local.url}/`, { headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    });
  const lan = await get({ host: 'heimdex.lan:8080' });
  assert.equal(pageConfig(lan.body).supabaseUrl, 'http://heimdex.lan:8080');
  const hostile = await get({ host: `x"><script src="/assets/evil.js"></script><meta x='` });
  assert.equal((hostile.body.match(/<script\b/g) ?? []).length, 1, 'the Host header cannot add markup');
  assert.equal(
    pageConfig(hostile.body).graphqlUrl,
    `http://x"><script src="/assets/evil.js"></script><meta x='/graphql`,
  );
  // An unchanged page is answered 304 on revalidation (it is sent with cache-control no-cache).
  assert.equal(lan.headers['cache-control'], 'no-cache');
  const etag = lan.headers.etag;
  assert.ok(etag);
  assert.equal((await get({ host: 'heimdex.lan:8080', 'if-none-match': etag })).status, 304);
});

test('assets are sent brotli- or gzip-compressed as the browser accepts, and plain otherwise', async () => {
  const html = await (await fetch(`${local.url}/`)).text();
  const js = /<script type="module" src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  const css = /<link rel="stylesheet" href="(\/assets\/[^"]+\.css)"/.exec(html)![1]!;
  for (const a of [js, css]) {
    // fetch() decodes the body; content-length is what went over the wire.
    const get = async (acceptEncoding: string) => {
      const r = await fetch(`${local.url}${a}`, { headers: { 'accept-encoding': acceptEncoding } });
      return { r, raw: Buffer.from(await r.arrayBuffer()) };
    };
    const plain = await get('identity');
    assert.equal(plain.r.headers.get('content-encoding'), null, a);
    assert.match(plain.r.headers.get('vary') ?? '', /accept-encoding/i);
    const br = await get('gzip, deflate, br, zstd');
    assert.equal(br.r.headers.get('content-encoding'), 'br', `${a}: brotli when accepted`);
    assert.match(br.r.headers.get('vary') ?? '', /accept-encoding/i);
    assert.match(br.r.headers.get('cache-control') ?? '', /immutable/);
    assert.ok(Number(br.r.headers.get('content-length')) < plain.raw.length, `${a}: smaller on the wire`);
    const gz = await get('gzip');
    assert.equal(gz.r.headers.get('content-encoding'), 'gzip');
    assert.equal((await get('br;q=0, gzip;q=0')).r.headers.get('content-encoding'), null, 'q=0 refuses an encoding');
    // Each encoding carries the same bytes.
    assert.ok(br.raw.equals(plain.raw) && gz.raw.equals(plain.raw), `${a}: the same content in each encoding`);
    assert.ok(plain.raw.length > 0);
  }
  // The compressed copies are not addressable by themselves.
  assert.equal((await fetch(`${local.url}${js}.br`)).status, 404);
  assert.equal((await fetch(`${local.url}${js}.gz`)).status, 404);
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

test('/favicon.ico is the icon the app pages name, for pages that name none', async () => {
  const html = await (await fetch(`${local.url}/`)).text();
  const icon = /<link rel="icon" type="image\/svg\+xml" href="(\/assets\/icon-\w+\.svg)"/.exec(html)?.[1];
  assert.ok(icon, 'index.html names an SVG icon');
  const r = await fetch(`${local.url}/favicon.ico`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/svg+xml');
  assert.doesNotMatch(r.headers.get('cache-control') ?? '', /immutable/, 'its URL carries no hash');
  assert.equal(await r.text(), await (await fetch(`${local.url}${icon}`)).text());
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
