/*
 * Bounded cost: the documents and arguments that let one signed-in user
 * occupy search for everyone (RELIABILITY.md, "Least privilege and bounded
 * cost") get a clear error before any query is embedded or any SQL runs, and
 * whatever SQL does run is cancelled by statement_timeout, which applies to
 * the role the request really runs as.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import type { QueryModels } from '../../server/plugins/search.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { gql, signup, startTestServer } from './helpers.ts';

const db = await createTestDatabase();

// Encoders that only count: every bound below must refuse before embedding.
let embedded = 0;
const counting: QueryModels = {
  async textEmbedder() {
    return {
      modelId: 'count/text',
      dim: 1024 as const,
      embed: async (t: string[]) => {
        embedded += t.length;
        return t.map(() => Float32Array.from({ length: 1024 }, (_, i) => (i === 0 ? 1 : 0)));
      },
    };
  },
  async imageTextEmbedder() {
    return null;
  },
};

const srv = await startTestServer(db, { GRAPHQL_MAX_SEARCHES: '4' }, { models: counting });
const user = await signup(srv.url);

test('2,000 aliased searchScenes in one document are refused by validation, before any search runs', async () => {
  const doc = `{ ${Array.from({ length: 2000 }, (_, i) => `s${i}: searchScenes(query: "car") { hasNextPage }`).join(' ')} }`;
  assert.ok(doc.length > 90_000, 'the audit document was about 104 KB');
  const r = await gql(srv.url, doc, {}, user.token);
  assert.equal(r.body.data, undefined);
  assert.deepEqual(
    r.body.errors.map((e: { message: string }) => e.message),
    ['Query asks for 2000 searches (searchScenes, aliases included); the limit is 4 per request'],
  );
  assert.equal(embedded, 0);
  // At the limit it runs: the bound is a count, not a ban.
  const four = `{ ${[0, 1, 2, 3].map((i) => `s${i}: searchScenes(query: "car") { hasNextPage }`).join(' ')} }`;
  const ok = await gql(srv.url, four, {}, user.token);
  assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
  assert.equal(ok.body.data.s3.hasNextPage, false);
});

test('fragments and inline fragments cannot hide searches from the count', async () => {
  const doc = `{ ...A ... on Query { c: searchScenes(query: "x") { hits { rank } } d: searchScenes(query: "x") { hits { rank } } } }
    fragment A on Query { a: searchScenes(query: "x") { hits { rank } } b: searchScenes(query: "x") { hits { rank } } e: searchScenes(query: "x") { hits { rank } } }`;
  const r = await gql(srv.url, doc, {}, user.token);
  assert.match(r.body.errors[0].message, /asks for 5 searches/);
});

test('a document over a limit is not validated further; one within the limits still is', async () => {
  // The standard rules are skipped for a refused document (some of them grow
  // faster than linearly with its size), so its other faults go unreported...
  const over = `{ ${[0, 1, 2, 3, 4].map((i) => `s${i}: searchScenes(query: "x") { hasNextPage }`).join(' ')} nope }`;
  const r = await gql(srv.url, over, {}, user.token);
  assert.deepEqual(
    r.body.errors.map((e: { message: string }) => e.message),
    ['Query asks for 5 searches (searchScenes, aliases included); the limit is 4 per request'],
  );
  // ...while a document within the limits gets the full validation.
  const under = await gql(srv.url, '{ s0: searchScenes(query: "x") { hasNextPage } nope }', {}, user.token);
  assert.deepEqual(
    under.body.errors.map((e: { message: string }) => e.message),
    ['Cannot query field "nope" on type "Query".'],
  );
});

test('a query of 32 prefix words and 7,000 videoIds get a clear error before embedding', async () => {
  const before = embedded;
  const words = Array.from({ length: 32 }, (_, i) => `a${String.fromCharCode(97 + (i % 26))}`).join(' ');
  const SEARCH = `query ($q: String!, $ids: [UUID!]) { searchScenes(query: $q, videoIds: $ids) { hits { rank } } }`;
  const long = await gql(srv.url, SEARCH, { q: words }, user.token);
  assert.equal(long.body.errors[0].message, 'query has 32 words; at most 24 are allowed');
  const ids = Array.from({ length: 7000 }, () => crypto.randomUUID());
  // 7,000 ids do not even fit in a request (grafserv's 256 KiB body limit)...
  const huge = await gql(srv.url, SEARCH, { q: 'car', ids }, user.token);
  assert.equal(huge.status, 413);
  assert.deepEqual(
    huge.body.errors.map((e: { message: string }) => e.message),
    ['Too much data'],
  );
  // ...and the few thousand that would fit are refused by the cap.
  const scoped = await gql(srv.url, SEARCH, { q: 'car', ids: ids.slice(0, 6000) }, user.token);
  assert.equal(
    scoped.body.errors[0].message,
    'videoIds lists 6000 videos; at most 500 are allowed (leave it out to search all of yours)',
  );
  assert.equal(embedded, before);
  // Just inside both bounds, the search runs.
  const fine = await gql(
    srv.url,
    SEARCH,
    { q: words.split(' ').slice(0, 24).join(' '), ids: ids.slice(0, 500) },
    user.token,
  );
  assert.equal(fine.body.errors, undefined, JSON.stringify(fine.body.errors));
  assert.deepEqual(fine.body.data.searchScenes.hits, []);
});

test('statement_timeout cancels a request that waits too long, as the role the request runs as', async () => {
  const slow = await startTestServer(db, { GRAPHQL_STATEMENT_TIMEOUT_MS: '300' }, { models: null });
  const u = await signup(slow.url);
  // The GraphQL schema is built in the background once the server starts; a
  // request waits for it (up to 15 s). Built first, so the lock below can hold
  // up only the statement under test, not the build (seen once at load 5: the
  // request gave up waiting for the schema instead).
  const before = await gql(slow.url, '{ allVideos { totalCount } }', {}, u.token);
  assert.deepEqual(before.body, { data: { allVideos: { totalCount: 0 } } });
  // A lock held elsewhere makes the request's statement wait for as long as
  // we like: no race with how fast this machine is.
  const holder = await db.rootPool.connect();
  try {
    await holder.query('begin; lock table app_public.videos in access exclusive mode');
    const r = await gql(slow.url, '{ allVideos { totalCount } }', {}, u.token);
    assert.deepEqual(r.body.errors, [
      {
        message: 'The request took too long and was cancelled; narrow the search or ask for less',
        locations: [{ line: 1, column: 15 }],
        path: ['allVideos', 'totalCount'],
        extensions: { code: 'TIMEOUT' },
      },
    ]);
  } finally {
    await holder.query('rollback');
    holder.release();
  }
  const after = await gql(slow.url, '{ allVideos { totalCount } }', {}, u.token);
  assert.deepEqual(after.body, { data: { allVideos: { totalCount: 0 } } });
  await slow.close();
});
