/*
 * The app around GraphQL: production hardening (no introspection, no Ruru,
 * depth and cost limits), Ruru in development, health and readiness, the
 * query encoders loaded at start, request ids and one JSON log line per
 * request, CORS, JSON errors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildSchema, parse, validate } from 'graphql';
import { createLogger } from '../../core/log.ts';
import { queryLimitsRule } from '../../server/plugins/limits.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { gql, signup, startTestServer, TINY_MODELS } from './helpers.ts';

const db = await createTestDatabase();

const DEEP = `{ allVideos { nodes { scenes { nodes { video { scenes { nodes { video { scenes { nodes { id } } } } } } } } } } }`;

test('production: introspection and Ruru are off, deep and costly queries are refused', async () => {
  const prod = await startTestServer(
    db,
    {
      NODE_ENV: 'production',
      GRAPHQL_MAX_DEPTH: '6',
      GRAPHQL_MAX_COST: '5000',
      AUTH_RATE_LIMIT: '1000',
      AUTH_RATE_LIMIT_IP: '1000',
    },
    { models: null },
  );
  const u = await signup(prod.url);
  const intro = await gql(prod.url, '{ __schema { queryType { name } } }', {}, u.token);
  assert.ok(intro.body.errors?.length, JSON.stringify(intro.body));
  assert.match(intro.body.errors[0].message, /introspection/i);
  assert.equal(intro.body.data, undefined);
  assert.equal((await fetch(`${prod.url}/graphiql`)).status, 404);
  const get = await fetch(`${prod.url}/graphql`, { headers: { accept: 'text/html' } });
  assert.notEqual(get.headers.get('content-type')?.split(';')[0], 'text/html');

  const deep = await gql(prod.url, DEEP, {}, u.token);
  assert.match(deep.body.errors?.[0]?.message ?? '', /nested 11 levels deep; the limit is 6/);
  const costly = await gql(prod.url, '{ allVideos { nodes { scenes { nodes { id } } } } }', {}, u.token);
  assert.match(costly.body.errors?.[0]?.message ?? '', /about 10100 rows; the limit is 5000/);
  const paged = await gql(
    prod.url,
    '{ allVideos(first: 10) { nodes { scenes(first: 10) { nodes { id } } } } }',
    {},
    u.token,
  );
  assert.equal(paged.body.errors, undefined, JSON.stringify(paged.body));
  assert.deepEqual(paged.body.data.allVideos.nodes, []);
  await prod.close();
});

test('development: Ruru is served at /graphiql', async () => {
  const dev = await startTestServer(db, { NODE_ENV: 'development' }, { models: null });
  const res = await fetch(`${dev.url}/graphiql`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await res.text(), /ruru/i);
  await dev.close();
});

test('healthz reports the database and schema; readyz the storage and query encoders', async () => {
  const srv = await startTestServer(db, {}, { models: null });
  const h = await fetch(`${srv.url}/healthz`);
  assert.equal(h.status, 200);
  const hb = await h.json();
  assert.equal(hb.db, 'ok');
  assert.equal(hb.migrations.schema, true);
  const r = await fetch(`${srv.url}/readyz`);
  assert.equal(r.status, 200);
  const rb = await r.json();
  assert.equal(rb.checks.storage, 'ok');
  assert.deepEqual(rb.missing, ['text', 'vision']);
  await srv.close();
});

test('readyz fails when a model folder is broken', async () => {
  const broken = {
    textEmbedder: async () => {
      throw new Error('Xenova/bge-m3: onnx/model.onnx is truncated');
    },
    imageTextEmbedder: async () => null,
  };
  const srv = await startTestServer(db, {}, { models: broken });
  const r = await fetch(`${srv.url}/readyz`);
  assert.equal(r.status, 503);
  assert.match((await r.json()).checks.model_text, /truncated/);
  await srv.close();
});

test('every request gets an id and exactly one JSON log line', async () => {
  const lines: string[] = [];
  const requestLines = () => lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
  // The line is written when the response finishes, which may be just after
  // the client has read it: the third request's line is awaited as it is
  // written, not polled for.
  let thirdWritten!: () => void;
  const third = new Promise<void>((r) => (thirdWritten = r));
  const sink = (l: string) => {
    lines.push(l);
    if (requestLines().length >= 3) thirdWritten();
  };
  const srv = await startTestServer(db, {}, { models: null, log: createLogger('info', {}, sink) });
  const given = await fetch(`${srv.url}/healthz`, { headers: { 'x-request-id': 'client-abc.1' } });
  assert.equal(given.headers.get('x-request-id'), 'client-abc.1');
  const made = await fetch(`${srv.url}/nope`);
  const id = made.headers.get('x-request-id');
  assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(made.status, 404);
  assert.deepEqual(await made.json(), { error: 'not_found', message: 'No such route' });
  // An id that could forge log structure is replaced, not echoed.
  const forged = await fetch(`${srv.url}/healthz`, { headers: { 'x-request-id': 'x"},{"level":"error' } });
  const forgedId = forged.headers.get('x-request-id');
  assert.match(forgedId ?? '', /^[0-9a-f-]{36}$/);
  await third;
  // Closed, every response has finished: a second line for any request would be here now.
  await srv.close();
  const requests = requestLines();
  assert.deepEqual(
    requests.map((l) => l.reqId),
    ['client-abc.1', id, forgedId],
  );
  assert.equal(requests[1].status, 404);
  assert.equal(requests[1].path, '/nope');
});

test('CORS allows only the configured origins', async () => {
  const srv = await startTestServer(db, { CORS_ORIGINS: 'https://app.example' }, { models: null });
  const pre = await fetch(`${srv.url}/graphql`, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
  const other = await fetch(`${srv.url}/healthz`, { headers: { origin: 'https://evil.example' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  await srv.close();
});

test('the limits rule follows fragments and does not loop on cycles', () => {
  const schema = buildSchema(`
    type Query { items(first: Int): [Item!]! item: Item }
    type Item { id: ID! children(first: Int): [Item!]! parent: Item }
  `);
  const rule = queryLimitsRule(4, 1000);
  const errs = (q: string) => validate(schema, parse(q), [rule]).map((e) => e.message);
  assert.deepEqual(errs('{ items(first: 5) { id children(first: 5) { id } } }'), []);
  assert.match(errs('{ items { children { children { id } } } }')[0], /about 1010100 rows/);
  assert.match(
    errs('{ item { ...F } } fragment F on Item { parent { parent { parent { id } } } }')[0],
    /nested 5 levels/,
  );
  // A fragment cycle is the spec rules' to report; this rule must just terminate.
  assert.doesNotThrow(() => errs('{ item { ...A } } fragment A on Item { parent { ...A } }'));
});

/** A logger whose JSON lines are collected, and a wait for the first line matching msg. */
function collectingLog() {
  const lines: Record<string, unknown>[] = [];
  const waiters: [string, (l: Record<string, unknown>) => void][] = [];
  const log = createLogger('info', {}, (l) => {
    const line = JSON.parse(l) as Record<string, unknown>;
    lines.push(line);
    for (const [msg, resolve] of waiters) if (line.msg === msg) resolve(line);
  });
  const next = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const seen = lines.find((l) => l.msg === msg);
      if (seen) resolve(seen);
      else waiters.push([msg, resolve]);
    });
  return { log, lines, next };
}

test(
  'the API server loads and runs its query encoders when it starts, before any search',
  { timeout: 60_000 },
  async () => {
    const { log, lines, next } = collectingLog();
    const srv = await startTestServer(db, {}, { log });
    const ready = await next('query encoders loaded');
    assert.equal(ready.text, 'Xenova/bge-m3');
    assert.equal(ready.vision, 'onnx-community/siglip2-so400m-patch16-256-ONNX');
    assert.equal(typeof ready.ms, 'number');
    assert.deepEqual(
      lines.filter((l) => l.msg === 'request'),
      [],
      'no request asked for them',
    );
    await srv.close();

    // Off: nothing loads until a search (or /readyz) asks.
    const quiet = collectingLog();
    const lazy = await startTestServer(db, { QUERY_MODELS_PRELOAD: 'false' }, { log: quiet.log });
    assert.equal((await fetch(`${lazy.url}/healthz`)).status, 200);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(quiet.lines.filter((l) => String(l.msg).startsWith('query encoder')).length, 0);
    await lazy.close();
  },
);

test(
  'a query encoder that fails to load at start is reported, and the server serves on',
  { timeout: 60_000 },
  async () => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-broken-models-'));
    fs.cpSync(TINY_MODELS, models, { recursive: true });
    fs.truncateSync(path.join(models, 'Xenova', 'bge-m3', 'onnx', 'model_quantized.onnx'), 1000);
    const { log, next } = collectingLog();
    const srv = await startTestServer(db, { MODELS_DIR: models }, { log });
    const failed = await next('query encoder failed to load; the next search that needs it loads it again');
    assert.equal(failed.encoder, 'text');
    assert.match(JSON.stringify(failed.err), /Xenova\/bge-m3/);
    const ready = await next('query encoders loaded');
    assert.equal(ready.text, 'failed');
    assert.equal(ready.vision, 'onnx-community/siglip2-so400m-patch16-256-ONNX', 'the other encoder loaded');
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    await srv.close();
    fs.rmSync(models, { recursive: true, force: true });
  },
);
