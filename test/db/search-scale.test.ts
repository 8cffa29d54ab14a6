/*
 * Search over 100k scenes spread across many users. The data is adversarial
 * (see seedScenes): every other user's vectors are nearer the query than the
 * small user's, so a filtered HNSW walk only reaches the small user's scenes
 * after passing all the others. The plans are read with auto_explain, i.e.
 * the plans the function really ran, not a hand-copied query.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import pg from 'pg';
import { BRUTE, seedPersons, seedScenes, type Seeded } from '../../scripts/bench-search.ts';
import { createTestDatabase, explainedAs, PERSON_LIST } from '../helpers/db.ts';

const db = await createTestDatabase();
let seeded: Seeded;

before(async () => {
  const c = await db.rootPool.connect();
  try {
    // Half production's graph parameters (m = 16, ef_construction = 64) keep
    // the build to about a minute. With m = 4 the graph itself was the weak
    // part: a pool of 50 held as few as 6 of the exact top 10.
    seeded = await seedScenes(c, { scenes: 100_000, textShare: 0.5, imageShare: 0.2, m: 8, efConstruction: 32 });
  } finally {
    c.release();
  }
});

const explained = <T>(user: string, settings: string[], fn: (c: pg.Client) => Promise<T>) =>
  explainedAs(db, user, settings, fn);

const search = (c: pg.Client, pageSize = 100) =>
  c
    .query(`select scene_id, video_id from app_public.search_scenes('', $1::real[], $2::real[], page_size => $3)`, [
      seeded.queryText,
      seeded.queryImage,
      pageSize,
    ])
    .then((r) => r.rows as { scene_id: string }[]);

const hnswUsed = (plan: string) => ({
  text: /Index Scan using scenes_text_vec_idx/.test(plan),
  image: /Index Scan using scenes_image_vec_idx/.test(plan),
});

test('the seed really is 100k scenes across many users', async () => {
  const {
    rows: [r],
  } = await db.rootPool.query(
    `select count(*)::int as scenes, count(distinct owner_id)::int as owners, count(*) filter (where owner_id = $1)::int as small
     from app_public.scenes`,
    [seeded.smallOwner],
  );
  assert.ok(r.scenes >= 100_000, `${r.scenes} scenes`);
  assert.ok(r.owners >= 50, `${r.owners} owners`);
  assert.equal(r.small, 30);
});

test('a user with many scenes is served from the HNSW indexes, and sees only their own scenes', async () => {
  const big = seeded.bigOwners[0];
  const { result, plan } = await explained(big, [], (c) => search(c, 20));
  assert.deepEqual(hnswUsed(plan), { text: true, image: true });
  assert.equal(result.length, 20);
  const { rows } = await db.rootPool.query(`select distinct owner_id from app_public.scenes where id = any($1)`, [
    result.map((r) => r.scene_id),
  ]);
  assert.deepEqual(
    rows.map((r) => r.owner_id),
    [big],
  );
});

test('a user with few scenes gets every one of them, whichever plan the planner picks', async () => {
  const { result } = await explained(seeded.smallOwner, [], (c) => search(c));
  assert.deepEqual(result.map((r) => r.scene_id).sort(), seeded.smallSceneIds);
});

test('a word the library lacks is matched fuzzily through the trigram index, not by reading every scene', async () => {
  // Under row security pg_trgm's operators (not leakproof) could not use the
  // index, and every scene of the library was compared (48 ms at 47k scenes).
  const { plans } = await explained(seeded.bigOwners[0], [], (c) =>
    c.query(`select scene_id from app_public.search_scenes('elephant')`),
  );
  const fill = plans.filter((p) => /Query Text: [\s\S]*search_ocr_fuzzy\.words/.test(p));
  assert.equal(fill.length, 1);
  assert.match(fill[0]!, /scenes_ocr_text_trgm_idx/);
  assert.doesNotMatch(fill[0]!, /Seq Scan on scenes/);
});

test('a user with few scenes is compared exactly: no HNSW walk runs at all', async () => {
  // auto_explain logs only statements that ran, so the HNSW candidate
  // statements must be absent, and the exact ones present.
  const { result, plan, plans } = await explained(seeded.smallOwner, [], (c) => search(c));
  assert.deepEqual(hnswUsed(plan), { text: false, image: false });
  // Both spaces compared in half precision, read from the rows (no TOAST) in one pass over the owner's.
  const exact = plans.filter((p) => /Query Text: [\s\S]*app_hidden\.scene_half_vecs h\b/.test(p));
  assert.equal(exact.length, 1, plan);
  assert.match(exact[0]!, /Index Cond: \(owner_id = \$\d+\)|Index Cond: \(\(owner_id = \$\d+\) AND/);
  assert.deepEqual(result.map((r) => r.scene_id).sort(), seeded.smallSceneIds);
});

test("a filtered HNSW scan with the function's settings returns k rows where a plain one returns fewer", async () => {
  const { rows: config } = await db.rootPool.query(
    `select unnest(proconfig) as setting from pg_proc where oid = 'app_public.search_scenes'::regproc`,
  );
  const hnswSettings = config.map((r) => r.setting as string).filter((s) => s.startsWith('hnsw.'));
  assert.ok(hnswSettings.includes('hnsw.iterative_scan=relaxed_order'), hnswSettings.join(', '));
  const asSet = (s: string) => `set ${s.slice(0, s.indexOf('='))} = '${s.slice(s.indexOf('=') + 1)}'`;
  const k = 10;
  for (const [column, query] of [
    ['text_vec', seeded.queryText],
    ['image_vec', seeded.queryImage],
  ] as const) {
    // The candidate query's shape, as the small user, forced onto the index.
    const candidates = (c: pg.Client) =>
      c
        .query(
          `select count(*)::int as n from (
         select id from app_public.scenes where owner_id = $1 and ${column} is not null
         order by ${column} <=> $2::real[]::vector limit ${k}) s`,
          [seeded.smallOwner, query],
        )
        .then((r) => r.rows[0].n as number);
    const plain = await explained(
      seeded.smallOwner,
      ['set enable_sort = off', 'set hnsw.iterative_scan = off'],
      candidates,
    );
    assert.match(plain.plan, new RegExp(`Index Scan using scenes_${column}_idx`));
    assert.ok(plain.result < k, `${column} without iterative scan: ${plain.result} of ${k}`);
    const tuned = await explained(seeded.smallOwner, ['set enable_sort = off', ...hnswSettings.map(asSet)], candidates);
    assert.match(tuned.plan, new RegExp(`Index Scan using scenes_${column}_idx`));
    assert.equal(tuned.result, k, `${column} with the function's settings`);
  }
});

test('search_scenes runs without JIT, which a statement planned past jit_above_cost would pay for', async () => {
  const { rows: config } = await db.rootPool.query(
    `select unnest(proconfig) as setting from pg_proc where oid = 'app_public.search_scenes'::regproc`,
  );
  const settings = config.map((r) => r.setting as string);
  assert.ok(settings.includes('jit=off'), settings.join(', '));
  // Why it matters at this size: a candidate query that has to sort while
  // the function has sorting off is costed past 10^10.
  const c = new pg.Client({ connectionString: db.rootUrl });
  await c.connect();
  try {
    await c.query('set enable_sort = off');
    const plan = async () =>
      (
        await c.query(
          `explain (format json) select id from app_public.scenes where owner_id = $1 and text_vec is not null
            order by (text_vec <=> $2::real[]::vector) + 0 limit 80`,
          [seeded.bigOwners[0], seeded.queryText],
        )
      ).rows[0]['QUERY PLAN'][0] as Record<string, unknown>;
    const { rows } = await c.query('select pg_jit_available() as jit');
    // Only a server built with LLVM can compile at all (Debian's is).
    if (rows[0].jit) assert.ok('JIT' in (await plan()), 'compiled with the server default');
    for (const s of settings.filter((x) => !x.startsWith('search_path=')))
      await c.query(`set ${s.slice(0, s.indexOf('='))} = '${s.slice(s.indexOf('=') + 1)}'`);
    assert.ok(!('JIT' in (await plan())), "not with the function's settings");
  } finally {
    await c.end();
  }
});

test('the HNSW path finds what brute force finds for a user with many scenes', async () => {
  // The same candidate query the function runs, with its hnsw settings and
  // forced onto the index, against an exact scan (no index) of the same rows.
  const { rows: config } = await db.rootPool.query(
    `select unnest(proconfig) as setting from pg_proc where oid = 'app_public.search_scenes'::regproc`,
  );
  const asSet = (s: string) => `set ${s.slice(0, s.indexOf('='))} = '${s.slice(s.indexOf('=') + 1)}'`;
  const hnswSettings = config
    .map((r) => r.setting as string)
    .filter((s) => s.startsWith('hnsw.'))
    .map(asSet);
  const big = seeded.bigOwners[0];
  // search_scenes takes a pool of 80 candidates per vector space from the index
  // and ranks them exactly, so what must hold is that the exact top k is in
  // that pool, not that the walk's own order matches (relaxed_order scans
  // return nearly, not strictly, ordered rows). k = 10, recall@10 as in the
  // benchmark; this graph (m = 8) is weaker than production's m = 16, where
  // the benchmark measures 1.000.
  const k = 10;
  const pool = 80;
  for (const [column, query] of [
    ['text_vec', seeded.queryText],
    ['image_vec', seeded.queryImage],
  ] as const) {
    const nearest = (n: number) => (c: pg.Client) =>
      c
        .query(
          `select id from app_public.scenes where owner_id = $1 and ${column} is not null
            order by ${column} <=> $2::real[]::vector limit ${n}`,
          [big, query],
        )
        .then((r) => r.rows.map((x) => x.id as string));
    const viaIndex = await explained(big, ['set enable_sort = off', ...hnswSettings], nearest(pool));
    assert.match(viaIndex.plan, new RegExp(`Index Scan using scenes_${column}_idx`));
    const exact = await explained(big, ['set enable_indexscan = off', 'set enable_bitmapscan = off'], nearest(k));
    assert.doesNotMatch(exact.plan, /scenes_(text|image)_vec_idx/);
    assert.equal(exact.result.length, k);
    assert.equal(viaIndex.result.length, pool, `${column}: the filtered walk returns a full pool`);
    const found = exact.result.filter((id) => viaIndex.result.includes(id)).length;
    // Approximate by design: 0.8 leaves room for the randomness of the graph
    // build without letting a broken or unfiltered path through.
    assert.ok(found >= 0.8 * k, `${column}: the HNSW pool holds ${found} of the exact top ${k}`);
  }
});

test('two common words in a large library, stems beside their written rows: a sample chooses the join, and the page and scores are the exact ranking', async () => {
  const big = seeded.bigOwners[0];
  const {
    rows: [video],
  } = await db.rootPool.query(`select id from app_public.videos where owner_id = $1 order by id limit 1`, [big]);
  // Scenes where "music" or "rain" stands only inflected ("musical", "raining": stem rows of the
  // same lexemes) beside the other, written: each word is still one lexeme, so the two are
  // joined, and the stem rows reach the join through the arrays beside each word's lead form.
  // All are tagged "rain", and the first two forms say the written word twenty times, which
  // ranks them above the seed's scenes with both words written; their share of the words, 1 for
  // the written one and 0.75 for the stemmed one, weighs each by its IDF, so their scores carry
  // both frequencies, stem rows included.
  const forms = [
    `musical${' rain'.repeat(20)}`,
    `${'music '.repeat(20)}raining`,
    'the musicals in the rain',
    'musical',
  ];
  const { rows: added } = await db.rootPool.query(
    `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, tags)
     select $1, $2, 1000000 + g, g * 5, g * 5 + 5, ($3::text[])[1 + g % 4] || ' aside ' || g,
            '[{"label": "rain", "score": 1}]'
     from generate_series(0, 299) g
     returning id`,
    [video.id, big, forms],
  );
  try {
    const query = 'music rain';
    const r = await explained(big, [], (c) =>
      c
        .query(`select scene_id, score from app_public.search_scenes($1, page_size => 20)`, [query])
        .then((x) => x.rows as { scene_id: string; score: number }[]),
    );
    // Whether both words are common enough is read from the rows of the scenes whose ids begin
    // with 0, one range of the key each, not by counting thousands of rows.
    const decision = r.plans.filter((p) => /Query Text: join_first :=/.test(p));
    assert.equal(decision.length, 1);
    assert.match(
      decision[0]!,
      /Index Only Scan using scene_terms_pkey on scene_terms t(_\d+)?\s+\(cost[^)]*\)\s+Index Cond: \([^\n]*\(src = ''::text\) AND \(scene_id < '10000000-0000-0000-0000-000000000000'::uuid\)\)/,
    );
    const join = r.plans.filter((p) => /filter \(where a\.scene_id = b\.scene_id\)/.test(p));
    assert.equal(join.length, 1, 'the two words are joined by scene');
    // Each word's lead form is one index range of its written lexeme, not a row of the arrays.
    assert.equal(
      join[0]!.match(/Index Cond: \(\(owner_id = \$\d+\) AND \(kind = 'w'::"char"\) AND \(lexeme = /g)?.length,
      2,
    );
    const exact = await explained(big, [], (c) =>
      c.query(BRUTE, [query, null, null, null, 20]).then((x) => x.rows as { id: string; score: number }[]),
    );
    assert.equal(r.result.length, 20);
    assert.deepEqual(
      r.result.map((h) => h.scene_id),
      exact.result.map((h) => h.id),
    );
    const ids = new Set(added.map((a) => a.id as string));
    assert.ok(r.result.filter((h) => ids.has(h.scene_id)).length >= 2, 'the page holds scenes with a stemmed word');
    // A stem row lost or read twice moves the frequencies, and with them these scores.
    r.result.forEach((h, i) =>
      assert.ok(Math.abs(h.score - exact.result[i]!.score) < 1e-9, `${h.score} vs ${exact.result[i]!.score}`),
    );
  } finally {
    await db.rootPool.query(`delete from app_public.scenes where video_id = $1 and ordinal >= 1000000`, [video.id]);
  }
});

test('a person in many scenes filters the HNSW walks, in some is compared exactly, in few drives every source', async () => {
  const big = seeded.bigOwners[0];
  const c = await db.rootPool.connect();
  let persons: Awaited<ReturnType<typeof seedPersons>>;
  try {
    persons = await seedPersons(c, big, 0.1, 15, 300);
  } finally {
    c.release();
  }
  const scenesOf = async (person: string) =>
    new Set(
      (await db.rootPool.query(`select scene_id from app_public.faces where person_id = $1`, [person])).rows.map(
        (r) => r.scene_id as string,
      ),
    );
  const personSearch = (person: string) => (c: pg.Client) =>
    c
      .query(
        `select scene_id from app_public.search_scenes('city music', $1::real[], $2::real[], person_id => $3, page_size => 20)`,
        [seeded.queryText, seeded.queryImage, person],
      )
      .then((r) => r.rows.map((x) => x.scene_id as string));
  // The search's threshold for exact comparison is 2000 scenes: one person above it, two below,
  // on either side of the 100 scenes whose terms the words pass reads by scene.
  assert.ok(persons.many.scenes > 2000, `${persons.many.scenes} scenes`);
  assert.equal(persons.some.scenes, 300);

  const many = await explained(big, [], personSearch(persons.many.id));
  assert.deepEqual(hnswUsed(many.plan), { text: true, image: true });
  // The person's scenes are read from faces once, then each statement that filters by them
  // tests its rows against them as a constant (hashed), never as an index condition.
  const filtered = many.plans.filter((p) => /scenes_(text|image)_vec_idx|search_scene_matches\(/.test(p));
  assert.equal(filtered.length, 3);
  for (const p of filtered) {
    assert.doesNotMatch(p, / on faces /);
    assert.match(p, PERSON_LIST);
    assert.doesNotMatch(p, /Index Cond: [^\n]*= ANY \('\{/);
  }
  assert.equal(many.result.length, 20);
  const manyScenes = await scenesOf(persons.many.id);
  assert.deepEqual(
    many.result.filter((id) => !manyScenes.has(id)),
    [],
  );

  // Without words nothing needs the list of the person's scenes: the read of
  // faces stops once they are known to be many, and each walk keeps its
  // candidates by one probe of faces apiece (a few hundred) instead of
  // hashing thousands of scenes read first.
  const vectorsOnly = await explained(big, [], (c) =>
    c
      .query(
        `select scene_id from app_public.search_scenes('', $1::real[], $2::real[], person_id => $3, page_size => 20)`,
        [seeded.queryText, seeded.queryImage, persons.many.id],
      )
      .then((r) => r.rows.map((x) => x.scene_id as string)),
  );
  assert.deepEqual(hnswUsed(vectorsOnly.plan), { text: true, image: true });
  const walks = vectorsOnly.plans.filter((p) => /scenes_(text|image)_vec_idx/.test(p));
  assert.equal(walks.length, 2);
  for (const p of walks) {
    assert.doesNotMatch(p, /hashed SubPlan/);
    assert.match(
      p,
      /SubPlan[\s\S]*Index Only Scan using faces_\w+ on faces f\s+\(cost[^)]*\)\s+Index Cond: \([^\n]*scene_id = s\.id/,
    );
  }
  const facesRead = vectorsOnly.plans.filter((p) =>
    /select distinct f\.video_id, f\.scene_id from app_public\.faces f/.test(p),
  );
  assert.equal(facesRead.length, 1);
  assert.match(facesRead[0]!, /->  Limit/);
  assert.equal(vectorsOnly.result.length, 20);
  assert.deepEqual(
    vectorsOnly.result.filter((id) => !manyScenes.has(id)),
    [],
  );
  // A word the library lacks brings the list back (the words pass needs it) and changes no score:
  // the walks filtered by the hashed list must keep what the probes kept, in the same order.
  const viaList = await explained(big, [], (c) =>
    c
      .query(
        `select scene_id from app_public.search_scenes('qqxjzv', $1::real[], $2::real[], person_id => $3, page_size => 20)`,
        [seeded.queryText, seeded.queryImage, persons.many.id],
      )
      .then((r) => r.rows.map((x) => x.scene_id as string)),
  );
  assert.equal(viaList.plans.filter((p) => PERSON_LIST.test(p) && /scenes_(text|image)_vec_idx/.test(p)).length, 2);
  assert.deepEqual(vectorsOnly.result, viaList.result);

  // Some: vectors compared exactly, both spaces in one read, a probe of the
  // whole primary key each (as a filter of the owner's rows, they read all of
  // those); the words' rows across the library, kept where they are the person's.
  const some = await explained(big, [], personSearch(persons.some.id));
  assert.deepEqual(hnswUsed(some.plan), { text: false, image: false });
  const exact = some.plans.filter((p) => /Query Text: [\s\S]*app_hidden\.scene_half_vecs h\b/.test(p));
  assert.equal(exact.length, 1);
  assert.match(
    exact[0]!,
    /Index Scan using scene_half_vecs_pkey on scene_half_vecs h_\d+\s+\(cost[^)]*\)\s+Index Cond: \(\(owner_id = '[^']+'::uuid\) AND \(video_id = p\.video_id\) AND \(scene_id = p\.id\)/,
  );
  const someWords = some.plans.filter((p) => /app_hidden\.search_scene_matches\(/.test(p));
  assert.equal(someWords.length, 1);
  assert.match(someWords[0]!, PERSON_LIST);
  // (Its plan keeps the by-scene branch of the tag labels, given no scenes: never run.)
  assert.doesNotMatch(someWords[0]!, /Index Cond: [^\n]*scene_id = ANY \('\{| on faces /);
  assert.equal(some.result.length, 20);
  const someScenes = await scenesOf(persons.some.id);
  assert.deepEqual(
    some.result.filter((id) => !someScenes.has(id)),
    [],
  );

  const few = await explained(big, [], personSearch(persons.few.id));
  assert.deepEqual(hnswUsed(few.plan), { text: false, image: false });
  // Words come from the person's scenes' terms, not from a range read of all the owner's terms.
  const wordsPass = few.plans.filter((p) => /app_hidden\.search_scene_matches\(/.test(p));
  assert.equal(wordsPass.length, 1);
  assert.match(wordsPass[0]!, /scene_terms_scene_id_idx/);
  assert.doesNotMatch(wordsPass[0]!, /scene_terms_pkey/);
  // The owner's terms are only probed, a row at most each, for a compound's other spelling.
  const probes = few.plans.filter((p) => /scene_terms_pkey/.test(p));
  assert.ok(probes.length > 0);
  // A probe's bounds are its index condition: as a filter, it read the owner's terms from the bound on.
  for (const p of probes)
    assert.match(
      p,
      /->  Limit[\s\S]*Index Only Scan using scene_terms_pkey on scene_terms t\s+\(cost[^)]*\)\s+Index Cond: \(\(owner_id = \$\d+\) AND \(kind = ANY \('\{s,w\}'::"char"\[\]\)\) AND \(lexeme >= \(c\.v\)::text\) AND \(lexeme <= \(c\.hi\)::text\)\)/,
    );
  const fewScenes = await scenesOf(persons.few.id);
  assert.ok(few.result.length > 0);
  assert.deepEqual(
    few.result.filter((id) => !fewScenes.has(id)),
    [],
  );

  // No words and no vectors: the person's scenes in the library's order, a page at a time.
  const listed = (person: string, offset: number) => (c: pg.Client) =>
    c
      .query(`select scene_id from app_public.search_scenes('', person_id => $1, page_size => 20, page_offset => $2)`, [
        person,
        offset,
      ])
      .then((r) => r.rows.map((x) => x.scene_id as string));
  const inOrder = async (person: string, offset: number) =>
    (
      await db.rootPool.query(
        `select s.id from app_public.scenes s join app_public.videos v on v.id = s.video_id
          where s.id in (select scene_id from app_public.faces where person_id = $1)
          order by v.created_at, v.id, s.start_s, s.id limit 20 offset $2`,
        [person, offset],
      )
    ).rows.map((r) => r.id as string);
  for (const [p, offsets] of [
    [persons.many, [0, 20, 1000]],
    [persons.few, [0, 10]],
  ] as const) {
    for (const offset of offsets) {
      const r = await explained(big, [], listed(p.id, offset));
      assert.deepEqual(r.result, await inOrder(p.id, offset), `page at ${offset} of ${p.scenes} scenes`);
      // Many scenes: a walk of the videos in order that reads scenes only from the video the
      // page is in (each video has hundreds of the person's scenes), not a sort of them all.
      if (p === persons.many) assert.equal(r.plan.match(/limit to_take offset to_skip/g)?.length, 1, r.plan);
    }
  }
});
