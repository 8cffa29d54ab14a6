/*
 * Search latency at scale: seeds N scenes across many users in a throwaway
 * database and times app_public.search_scenes (p50/p95) for a user with many
 * scenes and for one with few (the case HNSW filtering makes hard), with
 * words + both embeddings (what searchScenes sends), embeddings only and
 * words only; then, for the user with many scenes, the same restricted to a
 * person seen in many of their scenes, in some (1,900) and in few (personId),
 * and a person's scenes listed with an empty query. Prints a markdown table for
 * BENCHMARKS.md.
 *
 *   node scripts/bench-search.ts [--scenes 100000] [--queries 200] [--m 16] [--ef-construction 128]
 *                                [--text-share 1] [--image-share 1] [--url OWNER_URL --auth-url API_URL]
 *                                [--recall N] [--keep NAME [--no-migrate]] [--stats] [--only MODES] [--http [--http-baseline DIR]]
 *                                [--idle SECONDS] [--prewarm] [--baseline REV]
 *
 * --http also times searchScenes through a real server (GraphQL over HTTP)
 * against the SQL function, and 8 concurrent clients; --only http-small
 * (or http-big) limits that to one user. --http-baseline DIR runs another
 * checkout's server (e.g. `git worktree add DIR main`) beside this one, and
 * interleaves their requests, so a before/after shares one load.
 * --idle S times the big user's hybrid searches on one connection, then
 * new ones after each of two pauses of S seconds (--only none skips the rest).
 * --prewarm first reads the search indexes into shared_buffers, as the
 * embedded cluster does for its own database when it starts.
 * --baseline REV installs search_scenes and its helpers as they were at git
 * revision REV in a schema of their own (bench_base) and times both
 * functions alternately, query by query on one connection, so a before/after
 * shares one load and one machine state (this VM's speed drifts by a third
 * within minutes); it also reports whether every result page was identical.
 *
 * Without --url it creates, migrates and finally drops a database in the
 * embedded cluster of the current configuration (HEIMDEX_DATA_DIR,
 * HEIMDEX_DB_PORT). With --url the database must already be migrated, and
 * its videos are deleted and its vector indexes rebuilt: use a throwaway one.
 *
 * seedScenes() is also what test/db/search-scale.test.ts uses.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { loadConfig } from '../core/config.ts';
import { createScratchDatabase, prewarmSearch } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { realArrayBinary } from '../server/plugins/search.ts';
import { startServer } from '../server/index.ts';
import type { HttpClientData, HttpClientRequest } from './bench-http-client.ts';

export const TEXT_DIM = 1024;
export const IMAGE_DIM = 1152;
export const VOCAB = [
  'dog',
  'beach',
  'car',
  'city',
  'music',
  'forest',
  'kitchen',
  'goal',
  'rain',
  'night',
  'market',
  'train',
];

export interface SeedOptions {
  /** Scenes in total, the small user's included. */
  scenes: number;
  /** Users sharing the bulk of the scenes. */
  bigOwners: number;
  /** Further users with otherScenes scenes each (so statistics see many owners). */
  otherOwners: number;
  otherScenes: number;
  videosPerOwner: number;
  /** Scenes of the one user with few; all of them have both vectors. */
  smallScenes: number;
  /** Share of the bulk scenes with a transcript embedding / keyframe embedding. */
  textShare: number;
  imageShare: number;
  /** HNSW build parameters; small values keep test seeding fast. */
  m: number;
  efConstruction: number;
}

export interface Seeded {
  bigOwners: string[];
  /** Scenes of the first big owner. */
  bigScenes: number;
  smallOwner: string;
  smallSceneIds: string[];
  /** The direction every bulk vector leans towards: the adversarial query. */
  queryText: number[];
  queryImage: number[];
}

/**
 * Queries none of whose words the seeds say or show: six absent, two
 * misspelt ("kitchn", "muzic"), which on-screen text matches fuzzily.
 */
const ABSENT_QUERIES = [
  'elephant',
  'quarterly revenue',
  'kitchn',
  'zebra crossing',
  'marketing plan',
  'muzic',
  'volcano',
  'invoice total',
];

const ownerId = (i: number) => `00000000-0000-4000-a000-${i.toString(16).padStart(12, '0')}`;

/**
 * Bulk scenes lean hard towards axis 0 (cosine ~0.9 with it), the small
 * user's scenes only moderately (~0.6). A query along axis 0 therefore has
 * every other user's scenes nearer than the small user's: an HNSW scan only
 * reaches the small user's scenes by walking past all the others, which is
 * what iterative scans are for. Vectors are sums of two of 1000 random unit
 * vectors (16 random dimensions), built with pgvector's own arithmetic so that
 * 100k rows take seconds; the indexes are dropped first and rebuilt after the
 * load, which is far faster than inserting into them.
 */
export async function seedScenes(client: pg.ClientBase, opts: Partial<SeedOptions> = {}): Promise<Seeded> {
  const o: SeedOptions = {
    scenes: 100_000,
    bigOwners: 2,
    otherOwners: 50,
    otherScenes: 100,
    videosPerOwner: 10,
    smallScenes: 30,
    textShare: 1,
    imageShare: 1,
    m: 8,
    efConstruction: 32,
    ...opts,
  };
  const bulk = o.scenes - o.smallScenes - o.otherOwners * o.otherScenes;
  if (bulk < o.bigOwners) throw new Error('scenes must exceed smallScenes + otherOwners * otherScenes');
  const bigOwners = Array.from({ length: o.bigOwners }, (_, i) => ownerId(i + 1));
  const otherOwners = Array.from({ length: o.otherOwners }, (_, i) => ownerId(0x1000 + i));
  const smallOwner = ownerId(0xffff);
  await client.query(`set maintenance_work_mem = '1GB'`);
  await client.query(`drop index if exists app_public.scenes_text_vec_idx`);
  await client.query(`drop index if exists app_public.scenes_image_vec_idx`);
  await client.query(
    `insert into app_public.videos (id, owner_id, title, object_key, text_model, image_model)
     select gen_random_uuid(), o, 'bench ' || v, 'u/' || o || '/' || gen_random_uuid() || '/' || v || '.mp4', 'bge-m3', 'siglip2'
     from unnest($1::uuid[]) o, generate_series(1, $2::int) v`,
    [[...bigOwners, ...otherOwners, smallOwner], o.videosPerOwner],
  );
  await client.query(`create temp table bench_basis as
    select i, l2_normalize(array_cat(array[0::real], array_cat(
             array(select (random() - 0.5)::real + 0 * i from generate_series(1, 16)), array_fill(0::real, array[${IMAGE_DIM - 17}])))::vector) as v
    from generate_series(0, 999) i`);
  const axis = (weight: number) =>
    `array_cat(array[${weight}::real], array_fill(0::real, array[${IMAGE_DIM - 1}]))::vector`;
  const sceneInsert = (owners: string, count: string, lean: number, textShare: number, imageShare: number) => `
    with vids as (
      select owner_id, array_agg(id order by id) as ids from app_public.videos where owner_id = any(${owners}) group by owner_id
    ), owners as (
      select array_agg(owner_id order by owner_id) as list from vids
    )
    insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, tags, text_vec, image_vec)
    select vids.ids[1 + (g / cardinality(ow.list)) % cardinality(vids.ids)], vids.owner_id, g, g * 5, g * 5 + 5,
           ($w::text[])[1 + g % 12] || ' ' || ($w::text[])[1 + (g / 12) % 12] || ' scene ' || g,
           jsonb_build_array(jsonb_build_object('label', ($w::text[])[1 + (g / 7) % 12], 'score', 0.5)),
           case when (g::bigint * 7919) % 1000 < ${Math.round(textShare * 1000)}
                then l2_normalize(subvector(a.v + b.v + ${axis(lean)}, 1, ${TEXT_DIM})) end,
           case when (g::bigint * 104729) % 1000 < ${Math.round(imageShare * 1000)}
                then l2_normalize(a.v + b.v + ${axis(lean)}) end
    from generate_series(0, ${count} - 1) g
    cross join owners ow
    join vids on vids.owner_id = ow.list[1 + g % cardinality(ow.list)]
    join bench_basis a on a.i = g % 1000
    join bench_basis b on b.i = (g / 1000 + 7 * g) % 1000`;
  await client.query(sceneInsert('$1::uuid[]', '$2::int', 3, o.textShare, o.imageShare).replaceAll('$w', '$3'), [
    bigOwners,
    bulk,
    VOCAB,
  ]);
  if (o.otherOwners > 0) {
    await client.query(sceneInsert('$1::uuid[]', '$2::int', 3, o.textShare, o.imageShare).replaceAll('$w', '$3'), [
      otherOwners,
      o.otherOwners * o.otherScenes,
      VOCAB,
    ]);
  }
  await client.query(sceneInsert('$1::uuid[]', '$2::int', 1, 1, 1).replaceAll('$w', '$3'), [
    [smallOwner],
    o.smallScenes,
    VOCAB,
  ]);
  await client.query(`drop table pg_temp.bench_basis`);
  const params = `with (m = ${o.m}, ef_construction = ${o.efConstruction})`;
  await client.query(
    `create index scenes_text_vec_idx on app_public.scenes using hnsw (text_vec vector_cosine_ops) ${params}`,
  );
  await client.query(
    `create index scenes_image_vec_idx on app_public.scenes using hnsw (image_vec vector_cosine_ops) ${params}`,
  );
  await client.query(`vacuum (analyze) app_public.videos, app_public.scenes, app_hidden.scene_terms`);
  const { rows } = await client.query(`select id from app_public.scenes where owner_id = $1 order by id`, [smallOwner]);
  const {
    rows: [big],
  } = await client.query(`select count(*)::int as n from app_public.scenes where owner_id = $1`, [bigOwners[0]]);
  const unit = (dim: number) => Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0));
  return {
    bigOwners,
    bigScenes: big.n,
    smallOwner,
    smallSceneIds: rows.map((r) => r.id),
    queryText: unit(TEXT_DIM),
    queryImage: unit(IMAGE_DIM),
  };
}

/** The worst case of a person whose vectors are compared exactly: just under exact_below (2000). */
const SOME_PERSON_SCENES = 1900;

/**
 * Three persons of `owner`, each with one face per scene (random 128-d
 * embeddings; the person filter never compares them, it only joins on scene
 * ids): "many" in about `share` of the owner's scenes (the HNSW walks keep
 * their scenes), "few" in `few` others (every source is driven from their
 * scenes), "some" in `some` (vectors compared exactly, the words' rows kept
 * where they are the person's: 1,900 is that path's worst case, just under
 * the 2000 scenes where the walks take over).
 */
export async function seedPersons(
  client: pg.ClientBase,
  owner: string,
  share = 0.2,
  few = 20,
  some = SOME_PERSON_SCENES,
) {
  await client.query(`drop index if exists app_public.faces_embedding_idx`);
  const many = await seedPerson(
    client,
    owner,
    'many',
    `(s.ordinal::bigint * 2654435761) % 1000 < ${Math.round(share * 1000)}`,
  );
  const rare = await seedPerson(
    client,
    owner,
    'few',
    `s.id not in (select scene_id from app_public.faces where person_id = '${many.id}') order by s.id limit ${few}`,
  );
  const mid = await seedSomePerson(client, owner, some);
  await client.query(`create index faces_embedding_idx on app_public.faces using hnsw (embedding vector_cosine_ops)`);
  await client.query(`vacuum (analyze) app_public.persons, app_public.faces`);
  return { many, few: rare, some: mid };
}

/** The "some" person of seedPersons: in `some` of the owner's scenes. */
const seedSomePerson = (client: pg.ClientBase, owner: string, some = SOME_PERSON_SCENES) =>
  seedPerson(client, owner, 'some', `true order by md5(s.id::text) limit ${some}`);

/** A person seen once in each of the owner's scenes that `scenes` (SQL over scenes s) picks. */
async function seedPerson(client: pg.ClientBase, owner: string, name: string, scenes: string) {
  const { rows } = await client.query(`insert into app_public.persons (owner_id, name) values ($1, $2) returning id`, [
    owner,
    name,
  ]);
  const id = rows[0].id as string;
  await client.query(
    `insert into app_public.faces (owner_id, person_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model)
     select s.owner_id, $2, s.video_id, s.id, s.start_s, '{0.4,0.2,0.2,0.3}', 0.9,
            l2_normalize(array(select (random() - 0.5)::real + 0 * s.ordinal from generate_series(1, 128))::vector),
            '@vladmandic/face-api'
       from app_public.scenes s where s.owner_id = $1 and ${scenes}`,
    [owner, id],
  );
  const n = await client.query(`select count(distinct scene_id)::int as n from app_public.faces where person_id = $1`, [
    id,
  ]);
  return { id, scenes: n.rows[0].n as number };
}

export interface RealisticOptions {
  scenes: number;
  bigOwners: number;
  otherOwners: number;
  otherScenes: number;
  smallScenes: number;
  /** Scenes per video: scenes of one video share its "story" (speaker, set, subject). */
  scenesPerVideo: number;
  /** Topic clusters per space, with skewed (power-law) sizes. */
  clusters: number;
  textShare: number;
  imageShare: number;
  m: number;
  efConstruction: number;
  /** Query vectors and words stored in bench.queries, drawn like the scenes. */
  queries: number;
}

/**
 * Vectors shaped like real embeddings rather than like a 16-dimensional toy.
 * Each space (text 1024-d, image 1152-d) has
 *  - a common direction every vector leans towards (embedding models are
 *    anisotropic: unrelated BGE-M3 passages sit near cosine 0.35-0.45),
 *  - a power-law spectrum over all its dimensions (variance of dimension i
 *    proportional to i^-0.8: participation ratio ~100 of 1024, so the data
 *    fills hundreds of dimensions but not evenly),
 *  - topic clusters (centres and a per-cluster anisotropic spread, lognormal
 *    per dimension) with skewed sizes,
 *  - a per-video "story" offset shared by the video's scenes (neighbouring
 *    shots of one video are near-duplicates: nearest-neighbour cosines
 *    ~0.85-0.9),
 *  - and per-scene noise in the full width.
 * Text queries are drawn like scenes (half near one video, half near a
 * topic); image queries are text-tower embeddings compared with keyframes,
 * so they lie across SigLIP's modality gap: mostly along a direction no
 * keyframe shares, with cosines of 0.05-0.25 to the keyframes they match.
 * Built in SQL (pgvector arithmetic; about 20 s per 100k scenes here).
 */
export async function seedRealistic(client: pg.ClientBase, opts: Partial<RealisticOptions> = {}): Promise<Seeded> {
  const o: RealisticOptions = {
    scenes: 100_000,
    bigOwners: 2,
    otherOwners: 50,
    otherScenes: 100,
    smallScenes: 30,
    scenesPerVideo: 60,
    clusters: 300,
    textShare: 1,
    imageShare: 1,
    m: 16,
    efConstruction: 64,
    queries: 200,
    ...opts,
  };
  const bulk = o.scenes - o.smallScenes - o.otherOwners * o.otherScenes;
  if (bulk < o.bigOwners) throw new Error('scenes must exceed smallScenes + otherOwners * otherScenes');
  const perBig = Math.floor(bulk / o.bigOwners);
  const bigOwners = Array.from({ length: o.bigOwners }, (_, i) => ownerId(i + 1));
  const otherOwners = Array.from({ length: o.otherOwners }, (_, i) => ownerId(0x1000 + i));
  const smallOwner = ownerId(0xffff);
  const q = (sql: string, params: unknown[] = []) => client.query(sql, params);
  // An HNSW build that outgrows maintenance_work_mem slows several-fold; a
  // graph of 1152-d vectors takes ~5 KB per scene while it is built.
  await q(`set maintenance_work_mem = '${Math.max(1, Math.ceil(o.scenes / 80_000))}GB'`);
  await q(`drop index if exists app_public.scenes_text_vec_idx`);
  await q(`drop index if exists app_public.scenes_image_vec_idx`);
  // Volatile and correlated through salt, so each call draws afresh
  // (an uncorrelated sub-select would be evaluated once per statement).
  await q(`create or replace function pg_temp.noise(dim int, salt float8) returns vector language sql volatile as
    $$ select array(select ((random() - 0.5) * 3.4641)::real + 0 * salt::real from generate_series(1, dim))::vector $$`);
  await q(`create or replace function pg_temp.scale(v vector, s float8) returns vector language sql immutable as
    $$ select v * array_fill(s::real, array[vector_dims(v)])::vector $$`);
  await q(`drop schema if exists bench cascade`);
  await q(`create schema bench`);
  // a: common direction, b: topic, f: video story, e: scene noise (norms).
  await q(`create table bench.spaces as
    select space, dim, a, b, f, e,
           l2_normalize(pg_temp.noise(dim, 1)) as mu,
           l2_normalize(pg_temp.noise(dim, 2)) as gap,
           array(select power(i, -0.4)::real from generate_series(1, dim) i)::vector as spec
    from (values ('text', ${TEXT_DIM}, 0.6, 0.55, 0.45, 0.4), ('image', ${IMAGE_DIM}, 0.65, 0.5, 0.5, 0.35))
         v(space, dim, a, b, f, e)`);
  await q(`create table bench.clusters as
    select sp.space, k, c.center,
           pg_temp.scale(sp.mu, sp.a) + pg_temp.scale(c.center, sp.b) as base,
           pg_temp.scale(l2_normalize(x.aniso), sp.e) as aniso
    from bench.spaces sp cross join generate_series(0, ${o.clusters - 1}) k
    cross join lateral (select l2_normalize(sp.spec * pg_temp.noise(sp.dim, k)) as center) c
    cross join lateral (select sp.spec * array(select exp((random() - 0.5) * 2)::real + 0 * k
                                                from generate_series(1, sp.dim))::vector as aniso) x`);
  await q(`create unique index on bench.clusters (space, k)`);
  const addVideos = (owners: string[], n: number) =>
    q(
      `insert into app_public.videos (id, owner_id, title, object_key, text_model, image_model)
       select gen_random_uuid(), o, 'bench ' || v, 'u/' || o || '/' || gen_random_uuid() || '/' || v || '.mp4', 'bge-m3', 'siglip2'
       from unnest($1::uuid[]) o, generate_series(1, $2::int) v`,
      [owners, n],
    );
  const videosFor = (scenes: number) => Math.max(1, Math.ceil(scenes / o.scenesPerVideo));
  await addVideos(bigOwners, videosFor(perBig));
  if (o.otherOwners > 0) await addVideos(otherOwners, videosFor(o.otherScenes));
  await addVideos([smallOwner], videosFor(o.smallScenes));
  await q(`create table bench.stories as
    select v.id as video_id, v.owner_id, v.k,
           pg_temp.scale(l2_normalize(ct.aniso * pg_temp.noise(${TEXT_DIM}, v.k)), st.f) as text,
           pg_temp.scale(l2_normalize(ci.aniso * pg_temp.noise(${IMAGE_DIM}, v.k)), si.f) as image
    from (select id, owner_id, floor(${o.clusters} * power(random(), 1.5))::int as k from app_public.videos) v
    join bench.clusters ct on ct.space = 'text' and ct.k = v.k
    join bench.clusters ci on ci.space = 'image' and ci.k = v.k
    join bench.spaces st on st.space = 'text'
    join bench.spaces si on si.space = 'image'`);
  await q(`create unique index on bench.stories (video_id)`);
  // A few thousand scenes per statement, as workers write them: one
  // statement of 95k scenes ran for over 2.5 hours once the terms trigger
  // existed, 4,000 at a time take ~3 minutes (BENCHMARKS.md, session 24).
  const addScenes = async (owners: string[], n: number, textShare: number, imageShare: number) => {
    const step = Math.max(1, Math.floor(4000 / owners.length));
    for (let from = 0; from < n; from += step)
      await addSceneRange(owners, from, Math.min(n, from + step), textShare, imageShare);
  };
  const addSceneRange = (owners: string[], from: number, to: number, textShare: number, imageShare: number) =>
    q(
      `with vids as (
         select owner_id, array_agg(id order by id) as ids from app_public.videos where owner_id = any($1) group by owner_id
       )
       insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, ocr_text, tags, text_vec, image_vec)
       select x.vid, vids.owner_id, g, g * 5, g * 5 + 5,
              ($3::text[])[1 + st.k % 12] || ' ' || ($3::text[])[1 + floor(random() * 12)::int] || ' '
                || array_to_string(array(select 'w' || floor(4000 * power(random(), 2))::int + 0 * g
                                         from generate_series(1, 10)), ' '),
              case when random() < 0.2 then upper(($3::text[])[1 + st.k % 12]) || ' ' || floor(random() * 1000)::int else '' end,
              jsonb_build_array(jsonb_build_object(
                'label', ($3::text[])[1 + (case when random() < 0.6 then st.k else floor(random() * 12)::int end) % 12],
                'score', round((0.3 + 0.6 * random())::numeric, 2))),
              case when random() < $4 then l2_normalize(ct.base + st.text + ct.aniso * pg_temp.noise(${TEXT_DIM}, g)) end,
              case when random() < $5 then l2_normalize(ci.base + st.image + ci.aniso * pg_temp.noise(${IMAGE_DIM}, g)) end
       from vids cross join generate_series($2::int, $6::int - 1) g
       cross join lateral (select vids.ids[1 + g % cardinality(vids.ids)] as vid) x
       join bench.stories st on st.video_id = x.vid
       join bench.clusters ct on ct.space = 'text' and ct.k = st.k
       join bench.clusters ci on ci.space = 'image' and ci.k = st.k`,
      [owners, from, VOCAB, textShare, imageShare, to],
    );
  await addScenes(bigOwners, perBig, o.textShare, o.imageShare);
  if (o.otherOwners > 0) await addScenes(otherOwners, o.otherScenes, o.textShare, o.imageShare);
  await addScenes([smallOwner], o.smallScenes, 1, 1);
  // Queries about the first big owner's videos: even ones near one video,
  // odd ones near a topic only.
  await q(
    `create table bench.queries as
     select i, st.k,
            ($2::text[])[1 + st.k % 12] || ' ' || ($2::text[])[1 + (i * 5 + 3) % 12] as words,
            l2_normalize(ct.base + case when i % 2 = 0 then pg_temp.scale(st.text, 0.8)
                                        else pg_temp.scale(l2_normalize(ct.aniso * pg_temp.noise(${TEXT_DIM}, i)), sp.f) end
                         + ct.aniso * pg_temp.noise(${TEXT_DIM}, -i))::real[] as text,
            l2_normalize(pg_temp.scale(si.gap, 0.96)
                         + pg_temp.scale(l2_normalize(pg_temp.scale(ci.center, si.b)
                                                      + pg_temp.scale(st.image, (i + 1) % 2)), 0.28))::real[] as image
     from (select i, (select video_id from bench.stories where owner_id = $1 order by random() + 0 * i limit 1) as video_id
           from generate_series(0, ${o.queries - 1}) i) pick
     join bench.stories st on st.video_id = pick.video_id
     join bench.clusters ct on ct.space = 'text' and ct.k = st.k
     join bench.clusters ci on ci.space = 'image' and ci.k = st.k
     join bench.spaces sp on sp.space = 'text'
     join bench.spaces si on si.space = 'image'`,
    [bigOwners[0], VOCAB],
  );
  const params = `with (m = ${o.m}, ef_construction = ${o.efConstruction})`;
  await q(`create index scenes_text_vec_idx on app_public.scenes using hnsw (text_vec vector_cosine_ops) ${params}`);
  await q(`create index scenes_image_vec_idx on app_public.scenes using hnsw (image_vec vector_cosine_ops) ${params}`);
  // Vacuumed as autovacuum leaves a table a while after a load: the words
  // pass's index-only scans skip the heap only for pages the visibility map
  // marks (unmarked, a big user's hybrid search took ~35 ms more).
  await q(`vacuum (analyze) app_public.videos, app_public.scenes, app_hidden.scene_terms`);
  return describeSeed(client, bigOwners, smallOwner);
}

async function describeSeed(client: pg.ClientBase, bigOwners: string[], smallOwner: string): Promise<Seeded> {
  const { rows } = await client.query(`select id from app_public.scenes where owner_id = $1 order by id`, [smallOwner]);
  const {
    rows: [big],
  } = await client.query(`select count(*)::int as n from app_public.scenes where owner_id = $1`, [bigOwners[0]]);
  const unit = (dim: number) => Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0));
  return {
    bigOwners,
    bigScenes: big.n,
    smallOwner,
    smallSceneIds: rows.map((r) => r.id),
    queryText: unit(TEXT_DIM),
    queryImage: unit(IMAGE_DIM),
  };
}

/**
 * How the seeded vectors resemble real embeddings: for `sample` scenes, the
 * cosine to their nearest other scene (exact), to a random scene, and the
 * local intrinsic dimension (maximum-likelihood estimate over the 20 nearest
 * neighbours, Levina & Bickel); for the stored queries, the cosine to their
 * nearest scene of the user they search.
 */
export async function vectorStats(client: pg.ClientBase, owner: string, sample = 30) {
  const out: Record<string, string> = {};
  await client.query(`set enable_indexscan = off; set enable_bitmapscan = off`);
  const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  const dist = (xs: number[]) =>
    `p10 ${pct(xs, 0.1).toFixed(2)} / p50 ${pct(xs, 0.5).toFixed(2)} / p90 ${pct(xs, 0.9).toFixed(2)}`;
  try {
    for (const col of ['text_vec', 'image_vec']) {
      const { rows } = await client.query(
        `select p.id, array(select 1 - (s.${col} <=> p.${col}) from app_public.scenes s
                            where s.${col} is not null and s.id <> p.id order by s.${col} <=> p.${col} limit 20) as nn,
                (select 1 - (r.${col} <=> p.${col}) from (
                   select s.${col} from app_public.scenes s where s.${col} is not null
                   order by hashtext(s.id::text || p.id::text) limit 1) r) as rnd
         from (select id, ${col} from app_public.scenes where ${col} is not null order by hashtext(id::text) limit $1) p`,
        [sample],
      );
      const lids = rows.map((r) => {
        const d = (r.nn as number[]).map((c) => Math.sqrt(Math.max(1e-12, 2 - 2 * c)));
        const dk = d[d.length - 1];
        const s = d.slice(0, -1).reduce((acc, x) => acc + Math.log(x / dk), 0) / (d.length - 1);
        return -1 / s;
      });
      out[`${col}: nearest other scene, cosine`] = dist(rows.map((r) => r.nn[0]));
      out[`${col}: random scene, cosine`] = dist(rows.map((r) => Number(r.rnd)));
      out[`${col}: local intrinsic dimension (MLE, k=20)`] = dist(lids);
    }
    for (const [col, qcol] of [
      ['text_vec', 'text'],
      ['image_vec', 'image'],
    ]) {
      const { rows } = await client.query(
        `select (select 1 - (s.${col} <=> q.${qcol}::vector) from app_public.scenes s
                 where s.owner_id = $1 and s.${col} is not null order by s.${col} <=> q.${qcol}::vector limit 1) as top
         from (select * from bench.queries order by i limit 50) q`,
        [owner],
      );
      out[`${col}: query to its nearest scene, cosine`] = dist(rows.map((r) => Number(r.top)));
    }
  } finally {
    await client.query(`reset enable_indexscan; reset enable_bitmapscan`);
  }
  return out;
}

/** A query near axis 0 with a little noise, so no two runs hit identical plans' caches. */
export function jitteredQuery(dim: number, rand: () => number = Math.random) {
  const v = Array.from({ length: dim }, (_, i) => (i === 0 ? 3 : i <= 16 ? rand() - 0.5 : 0));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

type Mode = 'hybrid' | 'vectors' | 'words' | 'list';

interface BenchQuery {
  words: string;
  text: number[];
  image: number[];
}

/** The i-th query: from bench.queries (realistic seeds) or jittered along axis 0 (simple seeds). */
type QuerySource = (i: number) => BenchQuery;

async function querySource(client: pg.ClientBase): Promise<QuerySource> {
  const { rows } = await client.query(
    `select exists (select from pg_tables where schemaname = 'bench' and tablename = 'queries') as realistic`,
  );
  if (!rows[0].realistic) {
    return (i) => ({
      words: `${VOCAB[i % VOCAB.length]} ${VOCAB[(i * 5 + 3) % VOCAB.length]}`,
      text: jitteredQuery(TEXT_DIM),
      image: jitteredQuery(IMAGE_DIM),
    });
  }
  const { rows: qs } = await client.query(`select words, text, image from bench.queries order by i`);
  return (i) => qs[i % qs.length] as BenchQuery;
}

const argsFor = (mode: Mode, b: BenchQuery) => ({
  words: mode === 'vectors' || mode === 'list' ? '' : b.words,
  text: mode === 'hybrid' || mode === 'vectors' ? b.text : null,
  image: mode === 'hybrid' || mode === 'vectors' ? b.image : null,
});

async function asUser(authUrl: string, user: string) {
  const c = new pg.Client({ connectionString: authUrl });
  await c.connect();
  await c.query(`select set_config('role', 'authenticated', false), set_config('request.jwt.claims', $1, false)`, [
    JSON.stringify({ sub: user, role: 'authenticated' }),
  ]);
  return c;
}

const searchSql = (fn: string) =>
  `select * from ${fn}($1, $2::real[], $3::real[], person_id => $4::uuid, page_size => $5)`;
const SEARCH = searchSql('app_public.search_scenes');
export const BASELINE_SCHEMA = 'bench_base';

/**
 * search_scenes and the helpers defined beside it, as they were at git
 * revision `rev`, created in schema bench_base under the same names (so the
 * function's own `search_scenes.` qualifiers still resolve), calling each
 * other there and everything else where it is.
 */
export async function installBaseline(ownerUrl: string, rev: string) {
  const file = execFileSync('git', ['show', `${rev}:migrations/fixtures/search_scenes.sql`], { encoding: 'utf8' });
  const creates = [...file.matchAll(/create function (app_hidden|app_public)\.(\w+)\(.*?\$\$.*?\$\$;/gs)];
  if (!creates.some((m) => m[2] === 'search_scenes')) throw new Error(`${rev}: no search_scenes in the fixture`);
  let sql = creates.map((m) => m[0]).join('\n');
  for (const [, schema, name] of creates) sql = sql.replaceAll(`${schema}.${name}(`, `${BASELINE_SCHEMA}.${name}(`);
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    // Loads pgvector and pg_trgm, whose parameters search_scenes sets.
    await c.query(`select '[0]'::vector, similarity('a', 'a')`);
    await c.query(`drop schema if exists ${BASELINE_SCHEMA} cascade; create schema ${BASELINE_SCHEMA}`);
    await c.query(sql);
    await c.query(`grant usage on schema ${BASELINE_SCHEMA} to authenticated;
                   grant execute on all functions in schema ${BASELINE_SCHEMA} to authenticated`);
  } finally {
    await c.end();
  }
}

async function dropBaseline(ownerUrl: string) {
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    await c.query(`drop schema if exists ${BASELINE_SCHEMA} cascade`);
  } finally {
    await c.end();
  }
}

/**
 * The minor page faults of the connection's backend so far, or null where
 * /proc does not show it (another machine, another user). A backend maps each
 * shared buffer it reads into its own page table on first use; on 4 kB pages
 * that is most of a search's time on a connection that has not yet touched
 * the index pages it walks (BENCHMARKS.md, "Huge pages").
 */
async function backendFaults(c: pg.Client): Promise<(() => number | null) | null> {
  const pid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  const read = () => {
    try {
      return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]);
    } catch {
      return null;
    }
  };
  return read() === null ? null : read;
}

/**
 * Times searches source(from) .. source(to - 1) on one connection, each query
 * through every function in `fns` in turn (the first one first on even
 * queries, last on odd ones): per function its sorted milliseconds and rows
 * returned, the backend's page faults, and whether every function returned
 * the same rows for every query.
 */
async function runSearches(
  c: pg.Client,
  mode: Mode,
  source: QuerySource,
  from: number,
  to: number,
  personId: string | null,
  fns: string[] = ['app_public.search_scenes'],
) {
  const times = fns.map(() => [] as number[]);
  const hits = fns.map(() => 0);
  let identical = true;
  const faults = await backendFaults(c);
  const faultsBefore = faults?.() ?? null;
  // The vectors go as the API sends them (its cached binary real[]), made
  // before timing: as number[], node-postgres formats the 2,176 numbers of a
  // hybrid query as text on every call, and that formatting and
  // PostgreSQL's parsing of it (2.6 ms a hybrid search on a Zen 1 core) are
  // neither the function's time nor what a search through the API pays.
  const binary = (v: number[] | null) => (v ? realArrayBinary(Float32Array.from(v)) : null);
  for (let i = from; i < to; i++) {
    const a = argsFor(mode, source(i));
    const params = [a.words, binary(a.text), binary(a.image), personId, 20];
    const pages: string[] = [];
    for (let k = 0; k < fns.length; k++) {
      const f = i % 2 === 0 ? k : fns.length - 1 - k;
      const started = process.hrtime.bigint();
      const { rows, rowCount } = await c.query(searchSql(fns[f]!), params);
      times[f]!.push(Number(process.hrtime.bigint() - started) / 1e6);
      hits[f]! += rowCount ?? 0;
      pages[f] = JSON.stringify(rows);
    }
    if (pages.some((p) => p !== pages[0])) identical = false;
  }
  const faultsAfter = faults?.() ?? null;
  const pageFaults = faultsBefore === null || faultsAfter === null ? null : faultsAfter - faultsBefore;
  return {
    runs: fns.map((_, f) => ({ times: times[f]!.sort((x, y) => x - y), hits: hits[f]! })),
    pageFaults,
    identical,
  };
}

/** `n` two-word queries, each word a random word of a random scene of `user`'s (drawn as often as it is said). */
async function spokenWordQueries(ownerUrl: string, user: string, n: number): Promise<BenchQuery[]> {
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    await c.query('select setseed(0.25)');
    const { rows } = await c.query<{ w: string }>(
      `select (select t.w from regexp_split_to_table(s.transcript, '\\s+') t(w) order by random() limit 1) as w
         from (select transcript from app_public.scenes where owner_id = $1 and transcript <> ''
               order by random() limit $2) s`,
      [user, 2 * n],
    );
    return Array.from({ length: n }, (_, i) => ({
      words: `${rows[2 * i]!.w} ${rows[2 * i + 1]!.w}`,
      text: jitteredQuery(TEXT_DIM),
      image: jitteredQuery(IMAGE_DIM),
    }));
  } finally {
    await c.end();
  }
}

/** p50/p95 of `queries` searches as `user`, through the API's login role, for each function in `fns`. */
async function timeSearches(
  authUrl: string,
  user: string,
  queries: number,
  mode: Mode,
  source: QuerySource,
  personId: string | null = null,
  fns?: string[],
) {
  const c = await asUser(authUrl, user);
  try {
    // The first few warm caches and plans; they are not what users see.
    await runSearches(c, mode, source, 0, 5, personId, fns);
    const { runs, pageFaults, identical } = await runSearches(c, mode, source, 5, queries + 5, personId, fns);
    return runs.map((r) => ({
      p50: percentile(r.times, 0.5),
      p95: percentile(r.times, 0.95),
      meanHits: r.hits / queries,
      faults: pageFaults === null ? '–' : (pageFaults / queries / runs.length).toFixed(0),
      identical,
    }));
  } finally {
    await c.end();
  }
}

/**
 * What a person sees who reads results between searches: one connection
 * (as the API keeps them) answers `queries` hybrid searches, then, after each
 * of `rounds` idle pauses of `idleS` seconds, as many searches it has not
 * seen. A pause costs what the machine gives up meanwhile: on a virtual
 * machine that hands idle memory back to its host, the page cache, from
 * which PostgreSQL rereads whatever its own shared_buffers do not hold.
 */
async function timeAfterIdle(
  authUrl: string,
  user: string,
  queries: number,
  source: QuerySource,
  idleS: number,
  rounds: number,
) {
  const c = await asUser(authUrl, user);
  const out: { p50: number; p95: number }[] = [];
  try {
    for (let r = 0; r <= rounds; r++) {
      if (r > 0) await new Promise((done) => setTimeout(done, idleS * 1000));
      const { times } = (await runSearches(c, 'hybrid', source, r * queries, (r + 1) * queries, null)).runs[0]!;
      out.push({ p50: percentile(times, 0.5), p95: percentile(times, 0.95) });
    }
  } finally {
    await c.end();
  }
  return out;
}

/**
 * The exact ranking: search_scenes' scoring formula (see its comment and
 * test/db/search.test.ts's brute-force twin) applied to every scene of the
 * user in scope, no index and no candidate pool; IDF over the same scope,
 * uncapped. Returns the top k ids with their scores.
 * test/db/search-scale.test.ts compares pages and scores with it too.
 */
export const BRUTE = `
with q as (select app_hidden.search_query_words($1) as words,
                  array(select distinct app_hidden.stem_config(v.language) from app_public.videos v) as configs),
q2 as (select q.*, app_hidden.search_stemming(q.configs) as stemming from q),
scope as (
  select s.* from app_public.scenes s
  where $4::uuid is null or s.id in (select f.scene_id from app_public.faces f where f.person_id = $4)),
wf as (
  select w, app_hidden.search_tsquery(array[w], 'AB', q.stemming) as wq,
         app_hidden.search_stem_tsquery(app_hidden.search_word_forms(array[w]), q.configs, 'AB') as sq, char_length(w) >= 4 as fz
  from q2 q, unnest(q.words) w),
wi as (
  select wf.*, ln(1 + ((select count(*) from scope) + 1)::float8
                 / (1 + (select count(*) from scope s
                         where s.tsv @@ wf.wq or (wf.sq is not null and s.tsv_stem @@ wf.sq)))) as idf
  from wf),
parts as (
  select s.id,
         case when $2::real[] is null then 0 else app_hidden.search_similarity('text', 1 - (s.text_vec <=> $2::real[]::vector)) end as dense,
         case when cardinality(q.words) = 0 then 0 else
         0.5 * coalesce((select sum(wi.idf * case when s.tsv @@ wi.wq then 1
                                                  when wi.sq is not null and s.tsv_stem @@ wi.sq then 0.75
                                                  when wi.fz and strict_word_similarity(wi.w, s.ocr_text) >= 0.33
                                                    then 0.5 * strict_word_similarity(wi.w, s.ocr_text)
                                                  else 0 end) from wi), 0) / (select sum(idf) from wi)
           + 0.5 * greatest(coalesce(app_hidden.search_rank(s.tsv, app_hidden.search_tsquery(q.words, 'AB', q.stemming)), 0),
                            0.75 * coalesce(app_hidden.search_rank(s.tsv_stem,
                              app_hidden.search_stem_tsquery(app_hidden.search_word_forms(q.words), q.configs, 'AB')), 0))
         end as words,
         case when $3::real[] is null then 0 else app_hidden.search_similarity('vision', 1 - (s.image_vec <=> $3::real[]::vector)) end as vision,
         app_hidden.search_tag_score(s.tags, app_hidden.search_tag_words(app_hidden.search_word_forms(q.words)), q.stemming) as tags
  from scope s, q2 q)
select id, score from (select id, 0.5 * (dense + words - dense * words) + 0.35 * vision + 0.15 * tags as score from parts) x
where score > 0
order by score desc, id
limit $5`;

/** Mean share of the exact top k that search_scenes' first page of k also returns. */
async function recallAtK(
  authUrl: string,
  user: string,
  queries: number,
  mode: Mode,
  source: QuerySource,
  personId: string | null = null,
  k = 10,
) {
  const c = await asUser(authUrl, user);
  let sum = 0;
  let n = 0;
  try {
    for (let i = 0; i < queries; i++) {
      const a = argsFor(mode, source(i));
      // The exact ranking reads every scene; search_scenes must run as it
      // does in production (with these off its walks were exact scans).
      await c.query(`set enable_indexscan = off; set enable_bitmapscan = off`);
      const exact = (await c.query(BRUTE, [a.words, a.text, a.image, personId, k])).rows.map((r) => r.id as string);
      await c.query(`reset enable_indexscan; reset enable_bitmapscan`);
      const got = new Set(
        (await c.query(SEARCH, [a.words, a.text, a.image, personId, k])).rows.map((r) => r.scene_id as string),
      );
      if (exact.length === 0) continue;
      sum += exact.filter((id) => got.has(id)).length / exact.length;
      n++;
    }
  } finally {
    await c.end();
  }
  return n ? sum / n : NaN;
}

/** An HS256 access token as Supabase's GoTrue issues it (the server verifies it with the shared secret). */
function supabaseToken(secret: string, sub: string) {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, role: 'authenticated', aud: 'authenticated', iat: now, exp: now + 3600 })}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

const HTTP_SEARCH = `query ($q: String!) { searchScenes(query: $q, first: 20) {
  hits { rank sceneId videoId title startS endS score components { text vision tags } snippet previewUrl thumbnailUrl persons { id name } }
  modalities missing hasNextPage endCursor } }`;

/** The HTTP client's worker thread (bench-http-client.ts), one request list at a time. */
function httpClient(data: HttpClientData) {
  const worker = new Worker(new URL('./bench-http-client.ts', import.meta.url), { workerData: data });
  type Reply = { ok: boolean; error?: string; times: number[]; seconds?: number };
  let pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  worker.on('message', (r: Reply) => (r.ok ? pending?.resolve(r) : pending?.reject(new Error(r.error))));
  worker.on('error', (e) => pending?.reject(e));
  const ask = (m: HttpClientRequest) =>
    new Promise<Reply>((resolve, reject) => {
      pending = { resolve, reject };
      worker.postMessage(m);
    });
  return {
    one: async (words: string) => (await ask({ kind: 'one', words })).times[0]!,
    concurrent: (words: string[], clients: number, seconds: number) =>
      ask({ kind: 'concurrent', words, clients, seconds }) as Promise<{ times: number[]; seconds: number }>,
    close: () => worker.terminate(),
  };
}

/**
 * Goal 4 of issue 11: searchScenes over HTTP (GraphQL, JWT check, presigned
 * URLs, the join for titles) against the SQL function alone, for the same
 * queries with their embeddings already cached, interleaved so both see the
 * same load; then 8 concurrent clients for a fixed time. The server runs as
 * a Supabase deployment would (HS256 tokens verified with the shared secret),
 * so a token can be made for the seeded user; its query encoders return the
 * seeded query vectors, and every query is sent once before timing, so no
 * model runs while timed (as with a warm embedding cache). The client runs in
 * a worker thread, so its own work is not the server's; the SQL side gets its
 * vectors as binary real[] made before timing (as the server's cache holds
 * them), so both sides time PostgreSQL and the API, not number formatting.
 */
async function timeHttp(
  ownerUrl: string,
  authUrl: string,
  user: string,
  source: QuerySource,
  queries: number,
  baselineDir?: string,
) {
  const dirs: string[] = [];
  const secret = crypto.randomBytes(32).toString('hex');
  const byWords = new Map<string, BenchQuery>();
  for (let i = 0; i < queries; i++) byWords.set(source(i).words, source(i));
  const encoder = <D extends 1024 | 1152>(modelId: string, dim: D, pick: (b: BenchQuery) => number[]) => ({
    modelId,
    dim,
    embed: async (texts: string[]) => texts.map((t) => Float32Array.from(pick(byWords.get(t)!))),
  });
  const serve = async (start: typeof startServer) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-bench-http-'));
    dirs.push(dataDir);
    const config = loadConfig({
      ...process.env,
      HEIMDEX_DATA_DIR: dataDir,
      HEIMDEX_PORT: '0',
      LOG_LEVEL: 'silent',
      AUTH_PROVIDER: 'supabase',
      SUPABASE_URL: 'http://127.0.0.1:9',
      SUPABASE_ANON_KEY: 'bench',
      SUPABASE_JWT_SECRET: secret,
    });
    const srv = await start(config, {
      db: { authUrl, authFunctionsUrl: ownerUrl },
      models: {
        textEmbedder: async () => encoder('bge-m3', 1024, (b) => b.text),
        imageTextEmbedder: async () => encoder('siglip2', 1152, (b) => b.image),
      },
    });
    const client = httpClient({ url: srv.url, token: supabaseToken(secret, user), query: HTTP_SEARCH });
    return { srv, client, http: [] as number[], concurrent: [] as number[], seconds: 0 };
  };
  const params = new Map(
    [...byWords].map(([w, b]) => [
      w,
      [realArrayBinary(Float32Array.from(b.text)), realArrayBinary(Float32Array.from(b.image))] as const,
    ]),
  );
  const sql = await asUser(authUrl, user);
  const searchOnce = (w: string) => sql.query(SEARCH, [w, ...params.get(w)!, null, 20]);
  const sides: Awaited<ReturnType<typeof serve>>[] = [];
  try {
    sides.push(await serve(startServer));
    // Another checkout's server (e.g. a worktree of main) in this process:
    // both are timed request by request, interleaved, under the same load.
    if (baselineDir) {
      const other = (await import(path.resolve(baselineDir, 'server/index.ts'))) as { startServer: typeof startServer };
      sides.push(await serve(other.startServer));
    }
    const words = [...byWords.keys()];
    // Warm every path alike: the embedding caches and the servers' connections, and the SQL session's plans.
    for (const w of words) {
      for (const side of sides) await side.client.one(w);
      await searchOnce(w);
    }
    const sqlMs: number[] = [];
    const steps = [
      async (w: string) => {
        const started = process.hrtime.bigint();
        await searchOnce(w);
        sqlMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      },
      ...sides.map((side) => async (w: string) => void side.http.push(await side.client.one(w))),
    ];
    // Each query once per step (SQL, then each server), starting from a different step each time.
    const rounds = baselineDir ? 3 : 1;
    let turn = 0;
    for (let r = 0; r < rounds; r++) {
      for (const w of words) {
        for (let j = 0; j < steps.length; j++) await steps[(turn + j) % steps.length]!(w);
        turn++;
      }
    }
    // 8 clients, each sending the next query as soon as its last one was
    // answered: 20 s per server, in halves (A B B A with a baseline).
    for (const half of [sides, [...sides].reverse()]) {
      for (const side of half) {
        const r = await side.client.concurrent(words, 8, 10);
        side.concurrent.push(...r.times);
        side.seconds += r.seconds;
      }
    }
    // A person reads the results before the next search: each of these comes
    // after 12 s without a request (node-postgres' default idle timeout, which
    // the server no longer uses, is 10 s).
    const afterPause: number[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 12_000));
      afterPause.push(await sides[0]!.client.one(words[i % words.length]!));
    }
    for (const a of [sqlMs, afterPause, ...sides.flatMap((s) => [s.http, s.concurrent])]) a.sort((x, y) => x - y);
    return sides.map((side, i) => ({
      server: i === 0 ? 'this checkout' : `baseline ${baselineDir}`,
      sql: { p50: percentile(sqlMs, 0.5), p95: percentile(sqlMs, 0.95) },
      http: { p50: percentile(side.http, 0.5), p95: percentile(side.http, 0.95) },
      clients8: {
        qps: side.concurrent.length / side.seconds,
        p50: percentile(side.concurrent, 0.5),
        p95: percentile(side.concurrent, 0.95),
      },
      afterPause: i === 0 ? { p50: percentile(afterPause, 0.5), max: afterPause.at(-1)! } : null,
    }));
  } finally {
    await sql.end();
    for (const side of sides) {
      await side.client.close();
      await side.srv.close();
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function main() {
  const { values } = parseArgs({
    options: {
      scenes: { type: 'string', default: '100000' },
      queries: { type: 'string', default: '200' },
      m: { type: 'string', default: '16' },
      'ef-construction': { type: 'string', default: '128' },
      'text-share': { type: 'string', default: '1' },
      'image-share': { type: 'string', default: '1' },
      vectors: { type: 'string', default: 'realistic' },
      recall: { type: 'string', default: '20' },
      keep: { type: 'string' },
      stats: { type: 'boolean', default: false },
      http: { type: 'boolean', default: false },
      'no-migrate': { type: 'boolean', default: false },
      'http-baseline': { type: 'string' },
      idle: { type: 'string' },
      prewarm: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      only: { type: 'string' },
      url: { type: 'string' },
      'auth-url': { type: 'string' },
    },
  });
  const num = (k: keyof typeof values) => {
    const n = Number(values[k]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a non-negative number`);
    return n;
  };
  if (values.keep && !/^[a-z0-9_]{1,30}$/.test(values.keep)) throw new Error('--keep takes a short name: a-z, 0-9, _');
  // Every run prints the timing table first; a recall-only run still needs a few timed queries.
  if (num('queries') < 1) throw new Error('--queries must be at least 1 (--recall N counts its own queries)');
  if (values.vectors !== 'realistic' && values.vectors !== 'simple')
    throw new Error('--vectors must be realistic or simple');
  let ownerUrl = values.url;
  let authUrl = values['auth-url'] ?? values.url;
  let cleanup = async () => {};
  let prewarmUrl: string | null = null;
  if (!ownerUrl) {
    const scratch = await createScratchDatabase(loadConfig(), 'heimdex_bench', undefined, values.keep);
    ownerUrl = scratch.ownerUrl;
    authUrl = scratch.authUrl;
    if (!values.keep) cleanup = () => scratch.drop().catch(() => {});
    // --no-migrate times a kept database as it is, e.g. with an older
    // search_scenes applied by hand for a before/after on the same data.
    if (!(values.keep && values['no-migrate'])) await migrateDatabase(ownerUrl, { includeCurrent: true });
    prewarmUrl = scratch.rootUrl;
  }
  try {
    const owner = new pg.Client({ connectionString: ownerUrl });
    await owner.connect();
    const opts = {
      scenes: num('scenes'),
      m: num('m'),
      efConstruction: num('ef-construction'),
      textShare: num('text-share'),
      imageShare: num('image-share'),
      queries: Math.max(num('queries'), num('recall')),
    };
    // A kept database is reused while it holds a seed of the same shape.
    const shape = JSON.stringify({ ...opts, queries: undefined, vectors: values.vectors });
    const started = Date.now();
    let seeded: Seeded;
    let persons: Awaited<ReturnType<typeof seedPersons>>;
    let source: QuerySource;
    let reused = false;
    let stats: Record<string, string> = {};
    try {
      await owner.query(`create table if not exists public.bench_seed (shape text, seeded jsonb, persons jsonb)`);
      const prior = (await owner.query(`select * from public.bench_seed where shape = $1`, [shape])).rows[0];
      if (values.keep && prior) {
        reused = true;
        // A migration since may have rewritten terms (a restem): marked
        // again, or the first runs after it would time heap visits.
        await owner.query(`vacuum app_hidden.scene_terms`);
        seeded = prior.seeded;
        persons = prior.persons;
        // Seeds kept from before the third person was seeded get it now.
        if (!persons.some) {
          persons.some = await seedSomePerson(owner, seeded.bigOwners[0]!);
          await owner.query(`vacuum (analyze) app_public.faces`);
          await owner.query(`update public.bench_seed set persons = $2 where shape = $1`, [shape, persons]);
        }
      } else {
        // Destructive by design: this is a throwaway database.
        await owner.query(`delete from public.bench_seed`);
        await owner.query(`delete from app_public.videos`);
        seeded = values.vectors === 'realistic' ? await seedRealistic(owner, opts) : await seedScenes(owner, opts);
        persons = await seedPersons(owner, seeded.bigOwners[0]!);
        await owner.query(`insert into public.bench_seed values ($1, $2, $3)`, [shape, seeded, persons]);
      }
      source = await querySource(owner);
      if (values.stats) stats = await vectorStats(owner, seeded.bigOwners[0]!);
    } finally {
      await owner.end();
    }
    const seedS = (Date.now() - started) / 1000;
    if (values.prewarm) {
      if (!prewarmUrl) throw new Error('--prewarm needs the embedded cluster (no --url)');
      const t = Date.now();
      const pages = await prewarmSearch(prewarmUrl);
      console.log(
        `read ${Math.round(pages / 128)} MB into shared_buffers in ${((Date.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    const queries = num('queries');
    console.log(
      `${reused ? 'reused' : 'seeded'} ${opts.scenes} scenes (${values.vectors} vectors, m=${opts.m}, ef_construction=${opts.efConstruction}, ` +
        `text ${opts.textShare * 100}%, image ${opts.imageShare * 100}%) in ${seedS.toFixed(1)} s; ${queries} queries each; ` +
        `load average ${load()}:`,
    );
    for (const [k, v] of Object.entries(stats)) console.log(`- ${k}: ${v}`);
    const only = values.only ? new Set(values.only.split(',')) : null;
    // With --baseline, each row names its function and says whether the two
    // returned the same pages for every query.
    const fns = ['app_public.search_scenes'];
    if (values.baseline) {
      await installBaseline(ownerUrl, values.baseline);
      fns.push(`${BASELINE_SCHEMA}.search_scenes`);
      // Not left behind: a kept database's next migration drops the type it returns.
      const dropDatabase = cleanup;
      cleanup = async () => {
        await dropBaseline(ownerUrl!);
        await dropDatabase();
      };
    }
    const fnLabel = (f: number) => (values.baseline ? ` ${f === 0 ? 'this checkout' : values.baseline} |` : '');
    const sameLabel = (r: { identical: boolean }) => (values.baseline ? ` ${r.identical ? 'yes' : '**no**'} |` : '');
    console.log(
      `| user | query |${values.baseline ? ' search_scenes of |' : ''} p50 ms | p95 ms | hits/query | page faults/query | load |${values.baseline ? ' same pages |' : ''}\n` +
        `|---|---|${values.baseline ? '---|' : ''}---|---|---|---|---|${values.baseline ? '---|' : ''}`,
    );
    const users = [
      [`${seeded.bigScenes} scenes`, seeded.bigOwners[0]],
      [`${seeded.smallSceneIds.length} scenes`, seeded.smallOwner],
    ] as const;
    for (const [label, user] of users) {
      for (const mode of ['hybrid', 'vectors', 'words'] as const) {
        if (only && !only.has(mode)) continue;
        for (const [f, r] of (await timeSearches(authUrl!, user!, queries, mode, source, null, fns)).entries())
          console.log(
            `| ${label} | ${mode} |${fnLabel(f)} ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.meanHits.toFixed(0)} | ${r.faults} | ${load()} |${sameLabel(r)}`,
          );
      }
    }
    // The standard word queries are two of the corpus's 12 most common words
    // (each in ~16 % of a user's scenes): the words pass's worst case. Beside
    // it, queries of words said in the user's scenes, each a random word of a
    // random scene (so drawn as often as they are said), as people search for
    // what they heard.
    if (!only || only.has('spoken')) {
      const spoken = await spokenWordQueries(ownerUrl!, seeded.bigOwners[0]!, queries + 5);
      const examples = spoken.slice(0, 3).map((q) => q.words);
      const rs = await timeSearches(authUrl!, seeded.bigOwners[0]!, queries, 'words', (i) => spoken[i]!, null, fns);
      for (const [f, r] of rs.entries())
        console.log(
          `| ${seeded.bigScenes} scenes | words said in their scenes (${examples.join(', ')}, …) |${fnLabel(f)} ` +
            `${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.meanHits.toFixed(0)} | ${r.faults} | ${load()} |${sameLabel(r)}`,
        );
    }
    // And words the library does not have (as said, or misspelt): too few
    // word candidates, so on-screen text is matched fuzzily to fill them.
    if (!only || only.has('absent')) {
      const absent = ABSENT_QUERIES.map((words) => ({ words, text: [], image: [] }));
      const rs = await timeSearches(
        authUrl!,
        seeded.bigOwners[0]!,
        queries,
        'words',
        (i) => absent[i % absent.length]!,
        null,
        fns,
      );
      for (const [f, r] of rs.entries())
        console.log(
          `| ${seeded.bigScenes} scenes | words the library lacks (${ABSENT_QUERIES.slice(0, 3).join(', ')}, …) |${fnLabel(f)} ` +
            `${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.meanHits.toFixed(0)} | ${r.faults} | ${load()} |${sameLabel(r)}`,
        );
    }
    for (const [label, p] of [
      ['person in many scenes', persons.many],
      ['person in some scenes', persons.some],
      ['person in few scenes', persons.few],
    ] as const) {
      for (const mode of ['hybrid', 'vectors', 'words', 'list'] as const) {
        if (only && !only.has(`${mode}+person`)) continue;
        const rs = await timeSearches(authUrl!, seeded.bigOwners[0]!, queries, mode, source, p.id, fns);
        for (const [f, r] of rs.entries())
          console.log(
            `| ${seeded.bigScenes} scenes, ${label} (${p.scenes}) | ${mode} + personId |${fnLabel(f)} ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.meanHits.toFixed(0)} | ${r.faults} | ${load()} |${sameLabel(r)}`,
          );
      }
    }
    if (values.http) {
      console.log(
        `\nsearchScenes over HTTP vs the SQL function (hybrid, same queries, embeddings cached; ms):\n` +
          `| user | SQL p50 / p95 | HTTP p50 / p95 | HTTP ÷ SQL (p50) | 8 clients: queries/s, p50 / p95 | after a 12 s pause: p50 / max of 3 | load |\n|---|---|---|---|---|---|---|`,
      );
      for (const [label, user] of users) {
        // --only http-small (or http-big) times the API for that user alone.
        const which = user === seeded.smallOwner ? 'http-small' : 'http-big';
        if (only && (only.has('http-small') || only.has('http-big')) && !only.has(which)) continue;
        for (const r of await timeHttp(ownerUrl!, authUrl!, user!, source, queries, values['http-baseline'])) {
          const pause = r.afterPause ? `${r.afterPause.p50.toFixed(1)} / ${r.afterPause.max.toFixed(1)}` : '-';
          console.log(
            `| ${label}${values['http-baseline'] ? ` (${r.server})` : ''} | ${r.sql.p50.toFixed(1)} / ${r.sql.p95.toFixed(1)} | ${r.http.p50.toFixed(1)} / ${r.http.p95.toFixed(1)} | ` +
              `${(r.http.p50 / r.sql.p50).toFixed(2)} | ${r.clients8.qps.toFixed(1)}, ${r.clients8.p50.toFixed(1)} / ${r.clients8.p95.toFixed(1)} | ` +
              `${pause} | ${load()} |`,
          );
        }
      }
    }
    if (values.idle !== undefined) {
      const idleS = num('idle');
      const rounds = await timeAfterIdle(authUrl!, seeded.bigOwners[0]!, queries, source, idleS, 2);
      console.log(
        `\nhybrid searches on one connection, then new ones after ${idleS} s without any (${queries} each; ms):\n` +
          `| user | round | p50 | p95 | load |\n|---|---|---|---|---|`,
      );
      for (const [i, r] of rounds.entries())
        console.log(
          `| ${seeded.bigScenes} scenes | ${i === 0 ? 'first' : `after idle ${i}`} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${load()} |`,
        );
    }
    const recallQueries = num('recall');
    if (recallQueries > 0) {
      console.log(
        `\nrecall@10 against the exact ranking (${recallQueries} queries each):\n| user | query | recall@10 |\n|---|---|---|`,
      );
      const cases: [string, string, Mode, string | null][] = [
        [`${seeded.bigScenes} scenes`, seeded.bigOwners[0]!, 'hybrid', null],
        [`${seeded.bigScenes} scenes`, seeded.bigOwners[0]!, 'vectors', null],
        [`${seeded.bigScenes} scenes`, seeded.bigOwners[0]!, 'words', null],
        [
          `${seeded.bigScenes} scenes, person (${persons.many.scenes})`,
          seeded.bigOwners[0]!,
          'hybrid',
          persons.many.id,
        ],
        [
          `${seeded.bigScenes} scenes, person (${persons.many.scenes})`,
          seeded.bigOwners[0]!,
          'vectors',
          persons.many.id,
        ],
        [
          `${seeded.bigScenes} scenes, person (${persons.some.scenes})`,
          seeded.bigOwners[0]!,
          'hybrid',
          persons.some.id,
        ],
        [`${seeded.smallSceneIds.length} scenes`, seeded.smallOwner, 'hybrid', null],
      ];
      for (const [label, user, mode, person] of cases) {
        if (only && !only.has(`recall-${mode}`)) continue;
        const r = await recallAtK(authUrl!, user, recallQueries, mode, source, person);
        console.log(`| ${label} | ${mode}${person ? ' + personId' : ''} | ${r.toFixed(3)} |`);
      }
    }
  } finally {
    await cleanup();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  main().catch((e) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
