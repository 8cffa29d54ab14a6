/*
 * The GraphQL API through the real preset over HTTP: tenants cannot see or
 * touch each other's rows (checked against root so denials are not vacuous),
 * searchScenes ranks exactly as app_public.search_scenes does and caches
 * query embeddings, Scene URLs are signed, and the schema hides vectors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { loadConfig } from '../../core/config.ts';
import { createStorage } from '../../core/storage/index.ts';
import { realArrayBinary, type QueryModels } from '../../server/plugins/search.ts';
import { allNodes, eachPage, pageOf, type Page } from '../../server/web/src/connection.ts';
import { getModels } from '../../worker/ml/index.ts';
import { createTestDatabase, uuid, withUserDb, type TestDatabase } from '../helpers/db.ts';
import { gql, signup, startTestServer, TINY_MODELS } from './helpers.ts';

const db = await createTestDatabase();
const registry = getModels(loadConfig({ ...process.env, MODELS_DIR: TINY_MODELS }));

// The real encoders, counted: the cache test must see the model not run again.
const calls = { text: 0, vision: 0 };
const counted: QueryModels = {
  async textEmbedder() {
    const m = await registry.textEmbedder();
    return (
      m && {
        modelId: m.modelId,
        dim: m.dim,
        embed: (t: string[]) => {
          calls.text++;
          return m.embed(t);
        },
      }
    );
  },
  async imageTextEmbedder() {
    const m = await registry.imageTextEmbedder();
    return (
      m && {
        modelId: m.modelId,
        dim: m.dim,
        embed: (t: string[]) => {
          calls.vision++;
          return m.embed(t);
        },
      }
    );
  },
};

const srv = await startTestServer(db, { AUTH_RATE_LIMIT: '1000', AUTH_RATE_LIMIT_IP: '1000' }, { models: counted });
const alice = await signup(srv.url);
const bob = await signup(srv.url);

const vec = (v: Float32Array) => `[${Array.from(v).join(',')}]`;

interface SeedScene {
  transcript: string;
  tags?: { label: string; score: number }[];
  look: string;
}

/** A video with scenes as the pipeline would leave it: vectors from the real encoders, written as the owner (as pipeline_indexed does). */
async function seedVideo(d: TestDatabase, owner: string, title: string, scenes: SeedScene[]) {
  const te = (await registry.textEmbedder())!;
  const ite = (await registry.imageTextEmbedder())!;
  const id = uuid();
  await d.rootPool.query(
    `insert into app_public.videos (id, owner_id, title, object_key, content_type, state, text_model, image_model, duration_s)
     values ($1, $2, $3, $4, 'video/mp4', 'indexed', $5, $6, $7)`,
    [id, owner, title, `u/${owner}/${uuid()}/clip.mp4`, te.modelId, ite.modelId, scenes.length * 5],
  );
  const c = await d.rootPool.connect();
  const sceneIds: string[] = [];
  try {
    await c.query('begin');
    for (const [i, s] of scenes.entries()) {
      const [tv] = await te.embed([s.transcript]);
      const [iv] = await ite.embed([s.look]);
      const { rows } = await c.query(
        `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, tags, text_vec, image_vec, keyframe_key)
         values ($1, $2, $3, $4, $5, $6, $7, $8::vector, $9::vector, $10) returning id`,
        [
          id,
          owner,
          i,
          i * 5,
          i * 5 + 4.5,
          s.transcript,
          JSON.stringify(s.tags ?? []),
          vec(tv),
          vec(iv),
          `u/${owner}/${id}/keyframes/${i}.jpg`,
        ],
      );
      sceneIds.push(rows[0].id);
    }
    await c.query('commit');
  } catch (e) {
    await c.query('rollback');
    throw e;
  } finally {
    c.release();
  }
  return { id, sceneIds };
}

const aliceVideo = await seedVideo(db, alice.id, 'Alice street clip', [
  { transcript: 'a red car drives down the rainy street', tags: [{ label: 'car', score: 0.9 }], look: 'a red car' },
  {
    transcript: 'a cat sleeps on the sofa in the afternoon',
    tags: [{ label: 'cat', score: 0.8 }],
    look: 'a sleeping cat',
  },
  {
    transcript: 'people cooking pasta in a small kitchen',
    tags: [{ label: 'kitchen', score: 0.7 }],
    look: 'a kitchen',
  },
  { transcript: 'the car stops and a man gets out', tags: [{ label: 'car', score: 0.5 }], look: 'a man next to a car' },
]);
const bobVideo = await seedVideo(db, bob.id, 'Bob garden clip', [
  { transcript: 'watering the tomatoes in the garden', look: 'a garden' },
]);

const SEARCH = `query ($q: String!, $first: Int, $after: String, $videoIds: [UUID!]) {
  searchScenes(query: $q, first: $first, after: $after, videoIds: $videoIds) {
    modalities missing hasNextPage endCursor
    hits { rank sceneId videoId title startS endS score components { text vision tags } snippet previewUrl thumbnailUrl
           scene { id ordinal transcript } video { id title } }
  }
}`;

test("a user sees only their own videos and scenes; the other tenant's rows do exist", async () => {
  const q = `{ allVideos { totalCount nodes { id title scenes { totalCount nodes { id video { id } } } } } allScenes { totalCount } }`;
  const a = await gql(srv.url, q, {}, alice.token);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.data.allVideos.totalCount, 1);
  assert.equal(a.body.data.allVideos.nodes[0].id, aliceVideo.id);
  assert.equal(a.body.data.allVideos.nodes[0].scenes.totalCount, 4);
  assert.equal(a.body.data.allVideos.nodes[0].scenes.nodes[0].video.id, aliceVideo.id);
  assert.equal(a.body.data.allScenes.totalCount, 4);

  const b = await gql(srv.url, q, {}, bob.token);
  assert.deepEqual(
    b.body.data.allVideos.nodes.map((v: { id: string }) => v.id),
    [bobVideo.id],
  );
  assert.equal(b.body.data.allScenes.totalCount, 1);

  const direct = await gql(
    srv.url,
    `query ($v: UUID!, $s: UUID!) { videoById(id: $v) { id } sceneById(id: $s) { id previewUrl thumbnailUrl } }`,
    { v: aliceVideo.id, s: aliceVideo.sceneIds[0] },
    bob.token,
  );
  assert.deepEqual(direct.body.data, { videoById: null, sceneById: null });

  const { rows } = await db.rootPool.query('select count(*)::int as n from app_public.scenes where video_id = $1', [
    aliceVideo.id,
  ]);
  assert.equal(rows[0].n, 4, 'the denied rows exist');
});

test("videos filtered and ordered by language show only the caller's", async () => {
  // English is what an unknown language counts as, so the scenes keep their stems.
  await db.rootPool.query(`update app_public.videos set language = 'en' where id = any($1)`, [
    [aliceVideo.id, bobVideo.id],
  ]);
  try {
    const q = `{ en: allVideos(condition: { language: "en" }, orderBy: LANGUAGE_ASC) { nodes { id language } }
                 de: allVideos(condition: { language: "de" }) { totalCount } }`;
    const a = await gql(srv.url, q, {}, alice.token);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(a.body.data.en.nodes, [{ id: aliceVideo.id, language: 'en' }]);
    assert.equal(a.body.data.de.totalCount, 0);
    const b = await gql(srv.url, q, {}, bob.token);
    assert.deepEqual(b.body.data.en.nodes, [{ id: bobVideo.id, language: 'en' }]);
  } finally {
    await db.rootPool.query(`update app_public.videos set language = null where id = any($1)`, [
      [aliceVideo.id, bobVideo.id],
    ]);
  }
});

test("a user cannot rename or delete another user's video", async () => {
  const upd = await gql(
    srv.url,
    `mutation ($id: UUID!) { updateVideoById(input: { id: $id, videoPatch: { title: "pwned" } }) { video { id } } }`,
    { id: aliceVideo.id },
    bob.token,
  );
  // RLS hides the row: the answer is the same NOT_FOUND as for a row that does not exist.
  assert.equal(upd.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(upd.body));
  assert.equal(upd.body.data?.updateVideoById ?? null, null);
  const del = await gql(
    srv.url,
    `mutation ($id: UUID!) { deleteVideoById(input: { id: $id }) { video { id } } }`,
    { id: aliceVideo.id },
    bob.token,
  );
  assert.equal(del.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(del.body));
  const nobody = await gql(
    srv.url,
    `mutation ($id: UUID!) { updateVideoById(input: { id: $id, videoPatch: { title: "x" } }) { video { id } } }`,
    { id: uuid() },
    bob.token,
  );
  assert.equal(nobody.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(nobody.body));
  const { rows } = await db.rootPool.query('select title from app_public.videos where id = $1', [aliceVideo.id]);
  assert.equal(rows[0]?.title, 'Alice street clip', 'still there, still named');
  // The owner can rename (the one user-writable column).
  const own = await gql(
    srv.url,
    `mutation ($id: UUID!) { updateVideoById(input: { id: $id, videoPatch: { title: "Renamed" } }) { video { title } } }`,
    { id: bobVideo.id },
    bob.token,
  );
  assert.equal(own.body.data.updateVideoById.video.title, 'Renamed');
});

test("search never returns another tenant's scenes", async () => {
  const asBob = await gql(srv.url, SEARCH, { q: 'red car street' }, bob.token);
  assert.equal(asBob.status, 200, JSON.stringify(asBob.body));
  assert.ok(asBob.body.data.searchScenes.hits.every((h: { videoId: string }) => h.videoId === bobVideo.id));
  const scoped = await gql(srv.url, SEARCH, { q: 'red car street', videoIds: [aliceVideo.id] }, bob.token);
  assert.deepEqual(scoped.body.data.searchScenes.hits, []);
  const asAlice = await gql(srv.url, SEARCH, { q: 'red car street' }, alice.token);
  assert.ok(asAlice.body.data.searchScenes.hits.some((h: { videoId: string }) => h.videoId === aliceVideo.id));
  const anon = await gql(srv.url, SEARCH, { q: 'red car street' });
  assert.ok(anon.body.errors?.length, 'anonymous search is refused');
});

test('tenants taking turns past the search statement going generic each get their own hits, titled', async () => {
  // The statement is prepared per connection; from its sixth run PostgreSQL
  // may keep one plan for every caller, which must still be row-secured
  // for whoever runs it.
  for (let i = 0; i < 8; i++) {
    const a = await gql(srv.url, SEARCH, { q: 'car in the garden' }, alice.token);
    const b = await gql(srv.url, SEARCH, { q: 'car in the garden' }, bob.token);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(
      new Set(a.body.data.searchScenes.hits.map((h: { videoId: string; title: string }) => `${h.videoId} ${h.title}`)),
      new Set([`${aliceVideo.id} Alice street clip`]),
    );
    assert.deepEqual(
      b.body.data.searchScenes.hits.map((h: { sceneId: string; videoId: string }) => `${h.sceneId} ${h.videoId}`),
      [`${bobVideo.sceneIds[0]} ${bobVideo.id}`],
    );
  }
});

test('searchScenes ranks exactly as app_public.search_scenes, with the score breakdown', async () => {
  const q = 'a red car in the street';
  const res = await gql(srv.url, SEARCH, { q }, alice.token);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const r = res.body.data.searchScenes;
  assert.deepEqual(r.modalities, ['text', 'fulltext', 'vision', 'tags']);
  assert.deepEqual(r.missing, []);
  assert.ok(r.hits.length >= 2);

  const te = (await registry.textEmbedder())!;
  const ite = (await registry.imageTextEmbedder())!;
  const [tv] = await te.embed([q]);
  const [iv] = await ite.embed([q]);
  const expected = await withUserDb(
    db,
    alice.id,
    async (c: pg.PoolClient) =>
      (
        await c.query(
          `select * from app_public.search_scenes($1, $2::real[], $3::real[], page_size => 20, text_model => $4, image_model => $5)`,
          [q, Array.from(tv), Array.from(iv), te.modelId, ite.modelId],
        )
      ).rows,
  );
  assert.deepEqual(
    r.hits.map((h: { sceneId: string }) => h.sceneId),
    expected.map((e) => e.scene_id),
  );
  for (const [i, h] of r.hits.entries()) {
    const e = expected[i];
    assert.equal(h.rank, i + 1);
    assert.ok(Math.abs(h.score - e.score) < 1e-6, `score of rank ${i + 1}`);
    assert.ok(Math.abs(h.components.text - (e.text_score ?? 0)) < 1e-6);
    assert.ok(Math.abs(h.components.vision - (e.vision_score ?? 0)) < 1e-6);
    assert.ok(Math.abs(h.components.tags - (e.tags_score ?? 0)) < 1e-6);
    assert.equal(h.snippet, e.snippet);
    assert.equal(h.startS, e.start_s);
    assert.equal(h.title, 'Alice street clip');
    assert.equal(h.scene.id, h.sceneId);
    assert.equal(h.video.id, aliceVideo.id);
    assert.match(h.previewUrl, new RegExp(`#t=${e.start_s},${e.end_s}$`));
    assert.ok(h.thumbnailUrl);
  }
  // Scores come out ordered.
  for (let i = 1; i < r.hits.length; i++) assert.ok(r.hits[i - 1].score >= r.hits[i].score);
});

test('repeated queries reuse the cached embedding; a new query runs the models once each', async () => {
  // Vocabulary words of the tiny models plus a unique unknown token.
  const q = `red car ${uuid()}`;
  const before = { ...calls };
  await gql(srv.url, SEARCH, { q }, alice.token);
  assert.deepEqual(calls, { text: before.text + 1, vision: before.vision + 1 });
  await gql(srv.url, SEARCH, { q }, alice.token);
  await gql(srv.url, SEARCH, { q, first: 1 }, bob.token);
  assert.deepEqual(calls, { text: before.text + 1, vision: before.vision + 1 });
  await gql(srv.url, SEARCH, { q: `${q} again` }, alice.token);
  assert.deepEqual(calls, { text: before.text + 2, vision: before.vision + 2 });
});

test("a query embedding's cached binary real[] reads back in PostgreSQL as exactly the encoder's numbers", async () => {
  const te = (await registry.textEmbedder())!;
  const [encoded] = await te.embed(['a red car in the street']);
  const edges = [0, -0, 1, -1, 0.1, 1 / 3, 1.17549435e-38, 1.4e-45, 3.4028234e38, -2.5e-7, 123456.789];
  const random = Array.from({ length: 2000 }, () => (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 12 - 6));
  for (const vec of [encoded!, Float32Array.from([...edges, ...random])]) {
    // Each number's float32 bits as PostgreSQL stores them, against the bits of the Float32Array
    // itself (-0 stays -0); and equal to node-postgres' own text formatting of the same numbers.
    const bits = Array.from(vec, (v) => {
      const be = Buffer.alloc(4);
      be.writeFloatBE(v);
      return be.toString('hex');
    });
    const { rows } = await db.rootPool.query(
      `select $1::real[] = $2::real[] as same, array_lower($1::real[], 1) as lower,
              array(select encode(float4send(a), 'hex') from unnest($1::real[]) with ordinality u(a, i) order by i) as bits`,
      [realArrayBinary(vec), Array.from(vec)],
    );
    assert.deepEqual(rows[0], { same: true, lower: 1, bits });
  }
  // No numbers is an empty array, not an error.
  const { rows } = await db.rootPool.query(`select cardinality($1::real[]) as n`, [
    realArrayBinary(new Float32Array(0)),
  ]);
  assert.equal(rows[0].n, 0);
});

test('cursor paging walks the same ranking page by page', async () => {
  const q = 'car';
  const all = (await gql(srv.url, SEARCH, { q, first: 10 }, alice.token)).body.data.searchScenes;
  assert.ok(all.hits.length >= 2, JSON.stringify(all));
  let after: string | null = null;
  const seen: string[] = [];
  for (let page = 0; page < all.hits.length; page++) {
    const r: any = (await gql(srv.url, SEARCH, { q, first: 1, after }, alice.token)).body.data.searchScenes;
    assert.equal(r.hits.length, 1);
    assert.equal(r.hits[0].rank, page + 1);
    seen.push(r.hits[0].sceneId);
    assert.equal(r.hasNextPage, page < all.hits.length - 1);
    after = r.endCursor;
  }
  assert.deepEqual(
    seen,
    all.hits.map((h: { sceneId: string }) => h.sceneId),
  );
  const bad = await gql(srv.url, SEARCH, { q, after: 'bm9wZQ' }, alice.token);
  assert.match(bad.body.errors[0].message, /Invalid cursor/);
  const big = await gql(srv.url, SEARCH, { q, first: 1000 }, alice.token);
  assert.match(big.body.errors[0].message, /first must be between/);
  const empty = await gql(srv.url, SEARCH, { q: '   ' }, alice.token);
  assert.match(empty.body.errors[0].message, /must not be empty/);
});

test("the web app's page reader walks a whole connection, however small the pages", async () => {
  // The query the player sends, with the pages the server hands out made tiny.
  const query = (page: number) => (after: string | null) =>
    gql(
      srv.url,
      `query($id: UUID!, $first: Int!, $after: Cursor) { videoById(id: $id) {
         ${pageOf('scenes', 'id ordinal', 'orderBy: START_S_ASC')} } }`,
      { id: aliceVideo.id, first: page, after },
      alice.token,
    ).then((r) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.data.videoById.scenes as Page<{ id: string; ordinal: number }>;
    });
  for (const page of [1, 3, 4, 500]) {
    const scenes = await allNodes(query(page));
    assert.deepEqual(
      scenes.map((x) => x.id),
      aliceVideo.sceneIds,
      `pages of ${page}`,
    );
  }
  // Stopping early reads no further page.
  let pages = 0;
  await eachPage(query(1), () => ++pages < 2);
  assert.equal(pages, 2);
});

test('without models, search falls back to words and tags and says what is missing', async () => {
  const plain = await startTestServer(
    db,
    { AUTH_RATE_LIMIT: '1000', AUTH_RATE_LIMIT_IP: '1000', HEIMDEX_DATA_DIR: srv.dataDir },
    { models: null },
  );
  const r = await gql(plain.url, SEARCH, { q: 'kitchen' }, alice.token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.data.searchScenes.modalities, ['fulltext', 'tags']);
  assert.deepEqual(r.body.data.searchScenes.missing, ['text', 'vision']);
  assert.equal(r.body.data.searchScenes.hits[0].sceneId, aliceVideo.sceneIds[2]);
  assert.equal(r.body.data.searchScenes.hits[0].components.vision, 0);
  await plain.close();
});

test("Scene URLs are signed and carry the scene's time range", async () => {
  const r = await gql(
    srv.url,
    `query ($id: UUID!) { sceneById(id: $id) { startS endS previewUrl thumbnailUrl } }`,
    { id: aliceVideo.sceneIds[1] },
    alice.token,
  );
  const s = r.body.data.sceneById;
  assert.match(s.previewUrl, /#t=5,9\.5$/);
  assert.ok(s.previewUrl.includes('clip.mp4'));
  assert.ok(s.thumbnailUrl.includes('keyframes/1.jpg'));
  assert.notEqual(new URL(s.thumbnailUrl).search, '', 'signed');
  // The URL points at this server (its real port, not the configured 0) and serves the bytes.
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
  await createStorage(srv.config).put(`u/${alice.id}/${aliceVideo.id}/keyframes/1.jpg`, jpeg, 'image/jpeg');
  const got = await fetch(s.thumbnailUrl);
  assert.equal(got.status, 200);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), jpeg);
  const tampered = await fetch(s.thumbnailUrl.replace('keyframes/1.jpg', 'keyframes/2.jpg'));
  assert.notEqual(tampered.status, 200);
});

test('a video with a browser-playable copy is played from it: Video.playbackUrl and every previewUrl', async () => {
  const q = `query ($v: UUID!, $s: UUID!) {
    videoById(id: $v) { playbackState playbackUrl }
    sceneById(id: $s) { previewUrl }
  }`;
  const vars = { v: aliceVideo.id, s: aliceVideo.sceneIds[1] };
  let r = await gql(srv.url, q, vars, alice.token);
  assert.ok(r.body.data.videoById.playbackUrl.includes('clip.mp4'), 'the upload while there is no copy');
  const copy = `u/${alice.id}/${aliceVideo.id}/playback.mp4`;
  await db.rootPool.query(`update app_public.videos set playback_state = 'ready', playback_key = $2 where id = $1`, [
    aliceVideo.id,
    copy,
  ]);
  try {
    r = await gql(srv.url, q, vars, alice.token);
    const v = r.body.data.videoById;
    assert.equal(v.playbackState, 'ready');
    assert.ok(new URL(v.playbackUrl).pathname.endsWith('/playback.mp4'), v.playbackUrl);
    assert.equal(new URL(v.playbackUrl).searchParams.get('type'), 'video/mp4');
    assert.match(r.body.data.sceneById.previewUrl, /\/playback\.mp4\?.*#t=5,9\.5$/);
    const hits = (await gql(srv.url, SEARCH, { q: 'cat sleeps on the sofa' }, alice.token)).body.data.searchScenes.hits;
    const hit = hits.find((h: { sceneId: string }) => h.sceneId === aliceVideo.sceneIds[1]);
    assert.ok(hit, JSON.stringify(hits));
    assert.match(hit.previewUrl, /\/playback\.mp4\?.*type=video%2Fmp4.*#t=5,9\.5$/);
  } finally {
    await db.rootPool.query(
      `update app_public.videos set playback_state = 'original', playback_key = null where id = $1`,
      [aliceVideo.id],
    );
  }
});

test('the schema hides vectors, tsv and the raw search function, and generated scene mutations', async () => {
  const r = await gql(
    srv.url,
    `{
    scene: __type(name: "Scene") { fields { name } }
    video: __type(name: "Video") { fields { name } }
    mutation: __type(name: "Mutation") { fields { name } }
    query: __type(name: "Query") { fields { name } }
  }`,
    {},
    alice.token,
  );
  const names = (t: string) => r.body.data[t].fields.map((f: { name: string }) => f.name);
  for (const hidden of ['textVec', 'imageVec', 'tsv', 'keyframeKey'])
    assert.ok(!names('scene').includes(hidden), hidden);
  for (const shown of [
    'id',
    'videoId',
    'ordinal',
    'startS',
    'endS',
    'transcript',
    'ocrText',
    'tags',
    'video',
    'thumbnailUrl',
    'previewUrl',
  ]) {
    assert.ok(names('scene').includes(shown), shown);
  }
  assert.ok(names('video').includes('scenes'));
  const mutations = names('mutation');
  assert.ok(mutations.includes('updateVideoById') && mutations.includes('deleteVideoById'));
  for (const m of ['createScene', 'updateSceneById', 'deleteSceneById']) assert.ok(!mutations.includes(m), m);
  assert.ok(
    !names('query').includes('searchScenesConnection') && !names('query').some((n: string) => n === 'searchScenesList'),
  );
  assert.ok(names('query').includes('searchScenes'));
});
