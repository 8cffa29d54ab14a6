/*
 * Search latency at scale: seeds N scenes across many users in a throwaway
 * database and times app_public.search_scenes (p50/p95) for a user with many
 * scenes and for one with few (the case HNSW filtering makes hard), with
 * words + both embeddings (what searchScenes sends), embeddings only and
 * words only; then, for the user with many scenes, the same restricted to a
 * person seen in many of their scenes and to one seen in few (personId), and
 * a person's scenes listed with an empty query. Prints a markdown table for
 * BENCHMARKS.md.
 *
 *   node scripts/bench-search.ts [--scenes 100000] [--queries 200] [--m 8] [--ef-construction 32]
 *                                [--text-share 1] [--image-share 1] [--url OWNER_URL --auth-url API_URL]
 *
 * Without --url it creates, migrates and finally drops a database in the
 * embedded cluster of the current configuration (HEIMDEX_DATA_DIR,
 * HEIMDEX_DB_PORT). With --url the database must already be migrated, and
 * its videos are deleted and its vector indexes rebuilt: use a throwaway one.
 *
 * seedScenes() is also what test/db/search-scale.test.ts uses.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../core/config.ts';
import { createScratchDatabase } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';

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
  await client.query(`analyze app_public.videos, app_public.scenes`);
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
 * Two persons of `owner`: one seen in `share` of the owner's scenes, one in
 * `few` scenes, each with one face per scene (random 128-d embeddings; the
 * person filter never compares them, it only joins on scene ids).
 */
export async function seedPersons(client: pg.ClientBase, owner: string, share = 0.2, few = 20) {
  const person = async (name: string) =>
    (await client.query(`insert into app_public.persons (owner_id, name) values ($1, $2) returning id`, [owner, name]))
      .rows[0].id as string;
  const many = await person('many');
  const rare = await person('few');
  await client.query(`drop index if exists app_public.faces_embedding_idx`);
  const insert = `
    insert into app_public.faces (owner_id, person_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model)
    select s.owner_id, $2, s.video_id, s.id, s.start_s, '{0.4,0.2,0.2,0.3}', 0.9,
           l2_normalize(array(select (random() - 0.5)::real + 0 * s.ordinal from generate_series(1, 128))::vector),
           '@vladmandic/face-api'
      from app_public.scenes s where s.owner_id = $1`;
  await client.query(`${insert} and (s.ordinal::bigint * 2654435761) % 1000 < $3`, [
    owner,
    many,
    Math.round(share * 1000),
  ]);
  await client.query(
    `${insert} and s.id not in (select scene_id from app_public.faces where person_id = $2)
                      order by s.id limit $3`,
    [owner, rare, few],
  );
  await client.query(`create index faces_embedding_idx on app_public.faces using hnsw (embedding vector_cosine_ops)`);
  await client.query(`analyze app_public.persons, app_public.faces`);
  const count = async (id: string) =>
    (await client.query(`select count(distinct scene_id)::int as n from app_public.faces where person_id = $1`, [id]))
      .rows[0].n as number;
  return { many: { id: many, scenes: await count(many) }, few: { id: rare, scenes: await count(rare) } };
}

/** A query near axis 0 with a little noise, so no two runs hit identical plans' caches. */
export function jitteredQuery(dim: number, rand: () => number = Math.random) {
  const v = Array.from({ length: dim }, (_, i) => (i === 0 ? 3 : i <= 16 ? rand() - 0.5 : 0));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

type Mode = 'hybrid' | 'vectors' | 'words' | 'list';

/** p50/p95 of `queries` searches as `user`, through the API's login role. */
async function timeSearches(
  authUrl: string,
  user: string,
  queries: number,
  mode: Mode,
  personId: string | null = null,
) {
  const c = new pg.Client({ connectionString: authUrl });
  await c.connect();
  const times: number[] = [];
  let hits = 0;
  try {
    await c.query(`select set_config('role', 'authenticated', false), set_config('request.jwt.claims', $1, false)`, [
      JSON.stringify({ sub: user, role: 'authenticated' }),
    ]);
    for (let i = 0; i < queries + 5; i++) {
      const words =
        mode === 'vectors' || mode === 'list' ? '' : `${VOCAB[i % VOCAB.length]} ${VOCAB[(i * 5 + 3) % VOCAB.length]}`;
      const vectors = mode === 'hybrid' || mode === 'vectors';
      const started = process.hrtime.bigint();
      const { rowCount } = await c.query(
        `select * from app_public.search_scenes($1, $2::real[], $3::real[], person_id => $4::uuid)`,
        [words, vectors ? jitteredQuery(TEXT_DIM) : null, vectors ? jitteredQuery(IMAGE_DIM) : null, personId],
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The first few warm caches and plans; they are not what users see.
      if (i >= 5) {
        times.push(ms);
        hits += rowCount ?? 0;
      }
    }
  } finally {
    await c.end();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), meanHits: hits / queries };
}

async function main() {
  const { values } = parseArgs({
    options: {
      scenes: { type: 'string', default: '100000' },
      queries: { type: 'string', default: '200' },
      m: { type: 'string', default: '8' },
      'ef-construction': { type: 'string', default: '32' },
      'text-share': { type: 'string', default: '1' },
      'image-share': { type: 'string', default: '1' },
      url: { type: 'string' },
      'auth-url': { type: 'string' },
    },
  });
  const num = (k: keyof typeof values) => {
    const n = Number(values[k]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a non-negative number`);
    return n;
  };
  let ownerUrl = values.url;
  let authUrl = values['auth-url'] ?? values.url;
  let cleanup = async () => {};
  if (!ownerUrl) {
    const scratch = await createScratchDatabase(loadConfig(), 'heimdex_bench');
    ownerUrl = scratch.ownerUrl;
    authUrl = scratch.authUrl;
    cleanup = () => scratch.drop().catch(() => {});
    await migrateDatabase(ownerUrl, { includeCurrent: true });
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
    };
    const started = Date.now();
    let seeded: Seeded;
    let persons: Awaited<ReturnType<typeof seedPersons>>;
    try {
      // Destructive by design: this is a throwaway database.
      await owner.query(`delete from app_public.videos`);
      seeded = await seedScenes(owner, opts);
      persons = await seedPersons(owner, seeded.bigOwners[0]!);
    } finally {
      await owner.end();
    }
    const seedS = (Date.now() - started) / 1000;
    const queries = num('queries');
    console.log(
      `seeded ${opts.scenes} scenes (m=${opts.m}, ef_construction=${opts.efConstruction}, ` +
        `text ${opts.textShare * 100}%, image ${opts.imageShare * 100}%) in ${seedS.toFixed(1)} s; ${queries} queries each:`,
    );
    console.log('| user | query | p50 ms | p95 ms | hits/query |\n|---|---|---|---|---|');
    const users = [
      [`${seeded.bigScenes} scenes`, seeded.bigOwners[0]],
      [`${seeded.smallSceneIds.length} scenes`, seeded.smallOwner],
    ] as const;
    for (const [label, user] of users) {
      for (const mode of ['hybrid', 'vectors', 'words'] as const) {
        const r = await timeSearches(authUrl!, user, queries, mode);
        console.log(`| ${label} | ${mode} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.meanHits.toFixed(0)} |`);
      }
    }
    for (const [label, p] of [
      ['person in many scenes', persons.many],
      ['person in few scenes', persons.few],
    ] as const) {
      for (const mode of ['hybrid', 'words', 'list'] as const) {
        const r = await timeSearches(authUrl!, seeded.bigOwners[0]!, queries, mode, p.id);
        console.log(
          `| ${seeded.bigScenes} scenes, ${label} (${p.scenes}) | ${mode} + personId | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.meanHits.toFixed(0)} |`,
        );
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
