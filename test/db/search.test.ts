/*
 * app_public.search_scenes with hand-made vectors whose cosines to the query
 * are known exactly, so each assertion can name the score it expects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase, explainedAs, PERSON_LIST, uuid, withAnonDb, withUserDb } from '../helpers/db.ts';

const db = await createTestDatabase();

const TEXT_DIM = 1024;
const IMAGE_DIM = 1152;
const FACE_DIM = 128;
// Mirrors app_hidden.search_similarity; the calibration test pins both together.
const CAL = { text: [0.35, 0.75], vision: [0.05, 0.2] } as const;
const calibrate = (space: keyof typeof CAL, cos: number) =>
  Math.min(1, Math.max(0, (cos - CAL[space][0]) / (CAL[space][1] - CAL[space][0])));
const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-5, `${what}: expected ${expected}, got ${actual}`);

/** Unit vector along axis 0: the query direction in both spaces. */
const query = (dim: number) => Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0));
/** Unit vector whose cosine with query() is exactly `cos`; `axis` keeps scenes distinct. */
function withCosine(dim: number, cos: number, axis: number) {
  const v = new Array<number>(dim).fill(0);
  v[0] = cos;
  v[axis] = Math.sqrt(1 - cos * cos);
  return v;
}
const toVector = (v: number[] | null | undefined) => (v ? `[${v.join(',')}]` : null);

async function addVideo(owner: string, models: { text?: string; image?: string } = {}) {
  const { rows } = await db.rootPool.query(
    `insert into app_public.videos (owner_id, title, object_key, text_model, image_model)
     values ($1, 'v', $2, $3, $4) returning id`,
    [owner, `u/${owner}/${uuid()}/v.mp4`, models.text ?? 'bge-m3', models.image ?? 'siglip2'],
  );
  return rows[0].id as string;
}

interface SceneSpec {
  transcript?: string;
  ocr?: string;
  tags?: { label: string; score: number }[];
  text?: number[] | null;
  image?: number[] | null;
}
let ordinal = 0;
async function addScene(videoId: string, owner: string, s: SceneSpec) {
  const start = ordinal++ * 10;
  const { rows } = await db.rootPool.query(
    `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, ocr_text, tags, text_vec, image_vec)
     values ($1, $2, $3, $4::float8, $4::float8 + 5, $5, $6, $7, $8::vector, $9::vector) returning id`,
    [
      videoId,
      owner,
      ordinal,
      start,
      s.transcript ?? '',
      s.ocr ?? '',
      JSON.stringify(s.tags ?? []),
      toVector(s.text),
      toVector(s.image),
    ],
  );
  return rows[0].id as string;
}

/** A person (named "p") seen once in each of the given scenes of one video. */
async function addPerson(owner: string, videoId: string, sceneIds: string[], rand: () => number) {
  const { rows } = await db.rootPool.query(
    `insert into app_public.persons (owner_id, name) values ($1, 'p') returning id`,
    [owner],
  );
  for (const id of sceneIds)
    await db.rootPool.query(
      `insert into app_public.faces (owner_id, person_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model)
       values ($1, $2, $3, $4, 0, '{0.1,0.1,0.2,0.2}', 0.9, $5, 'm')`,
      [owner, rows[0].id, videoId, id, toVector(randomUnit(rand, FACE_DIM, 0))],
    );
  return rows[0].id as string;
}

interface Hit {
  scene_id: string;
  video_id: string;
  start_s: number;
  end_s: number;
  score: number;
  text_score: number;
  vision_score: number;
  tags_score: number;
  snippet: string | null;
}
interface SearchArgs {
  query?: string;
  text?: number[] | null;
  image?: number[] | null;
  videoIds?: string[] | null;
  personId?: string | null;
  wText?: number;
  wVision?: number;
  wTags?: number;
  pageSize?: number;
  pageOffset?: number;
  textModel?: string | null;
  imageModel?: string | null;
}
const SEARCH_SQL = `select * from app_public.search_scenes(
  query => $1, text_embedding => $2::real[], image_embedding => $3::real[], video_ids => $4::uuid[],
  person_id => $5::uuid, w_text => $6, w_vision => $7, w_tags => $8, page_size => $9, page_offset => $10,
  text_model => $11, image_model => $12)`;
function searchParams(a: SearchArgs) {
  return [
    a.query ?? '',
    a.text ?? null,
    a.image ?? null,
    a.videoIds ?? null,
    a.personId ?? null,
    a.wText ?? 0.5,
    a.wVision ?? 0.35,
    a.wTags ?? 0.15,
    a.pageSize ?? 20,
    a.pageOffset ?? 0,
    a.textModel ?? null,
    a.imageModel ?? null,
  ];
}
async function searchAs(c: pg.PoolClient, a: SearchArgs) {
  return (await c.query(SEARCH_SQL, searchParams(a))).rows as Hit[];
}
const search = (user: string, a: SearchArgs) => withUserDb(db, user, (c) => searchAs(c, a));

test('each component is mapped onto 0..1 by its own calibration, clamped at both ends', async () => {
  const u = uuid();
  const v = await addVideo(u);
  // Exact bounds are avoided: float32 storage puts them a hair to either side.
  const textCos = [0.2, 0.34, 0.55, 0.75, 0.9];
  const visionCos = [0.0, 0.04, 0.125, 0.2, 0.3];
  const ids = new Map<string, { text: number; vision: number }>();
  for (let i = 0; i < textCos.length; i++) {
    const id = await addScene(v, u, {
      text: withCosine(TEXT_DIM, textCos[i], i + 1),
      image: withCosine(IMAGE_DIM, visionCos[i], i + 1),
    });
    ids.set(id, { text: textCos[i], vision: visionCos[i] });
  }
  const hits = await search(u, { text: query(TEXT_DIM), image: query(IMAGE_DIM) });
  const expected = { text: [0, 0, 0.5, 1, 1], vision: [0, 0, 0.5, 1, 1] };
  for (const h of hits) {
    const cos = ids.get(h.scene_id)!;
    close(h.text_score, calibrate('text', cos.text), `text score at cosine ${cos.text}`);
    close(h.vision_score, calibrate('vision', cos.vision), `vision score at cosine ${cos.vision}`);
    close(h.score, 0.5 * h.text_score + 0.35 * h.vision_score, 'fused score');
  }
  // The two scenes below both lower bounds score 0 in every modality and are left out.
  assert.equal(hits.length, 3);
  const rounded = (xs: number[]) => xs.map((x) => Math.round(x * 1e6) / 1e6).sort();
  assert.deepEqual(rounded(hits.map((h) => h.text_score)), expected.text.slice(2));
  assert.deepEqual(rounded(hits.map((h) => h.vision_score)), expected.vision.slice(2));
});

test('a similarity computes its distance once, and a vector of zeros is similar to nothing', async () => {
  const one = async (sql: string) => (await db.rootPool.query(sql)).rows[0];
  // Inlined into a query, the argument stands in for each mention of it.
  const plan = (
    await db.rootPool.query(
      `explain verbose select app_hidden.search_similarity('text', 1 - coalesce(s.start_s, s.text_vec <=> s.text_vec))
         from app_public.scenes s`,
    )
  ).rows
    .map((r) => r['QUERY PLAN'])
    .join('\n');
  assert.doesNotMatch(plan, /search_similarity/, 'inlined');
  assert.equal(
    plan
      .split('\n')
      .find((l: string) => l.includes('Output'))!
      .split('<=>').length - 1,
    1,
  );
  const sim = (space: string, cos: string) => one(`select app_hidden.search_similarity('${space}', ${cos}) as x`);
  assert.equal((await sim('text', "'NaN'::float8")).x, 0);
  assert.equal((await sim('vision', 'null')).x, 0);
  assert.equal((await sim('other', '0.9')).x, 0);
  assert.equal((await sim('text', '0.55')).x, calibrate('text', 0.55));
  assert.equal((await sim('vision', '0.9')).x, 1);
  // A scene whose vectors are zeros is found by nothing but its words.
  const u = uuid();
  const v = await addVideo(u);
  const zero = await addScene(v, u, {
    transcript: 'a quiet room',
    text: new Array(TEXT_DIM).fill(0),
    image: new Array(IMAGE_DIM).fill(0),
  });
  const near = await addScene(v, u, { text: withCosine(TEXT_DIM, 0.7, 1), image: withCosine(IMAGE_DIM, 0.15, 1) });
  const hits = await search(u, { text: query(TEXT_DIM), image: query(IMAGE_DIM) });
  assert.deepEqual(
    hits.map((h) => h.scene_id),
    [near],
  );
  const worded = await search(u, { query: 'quiet', text: query(TEXT_DIM), image: query(IMAGE_DIM) });
  const z = worded.find((h) => h.scene_id === zero)!;
  assert.equal(z.vision_score, 0);
});

test('the word helpers on edge input: function words, quoting, stems, malformed tags, snippets', async () => {
  const one = async (sql: string, params: unknown[] = []) => (await db.rootPool.query(sql, params)).rows[0].x;
  const words = (q: string | null) => one(`select app_hidden.search_query_words($1) as x`, [q]);
  assert.deepEqual(await words(`The Cat, the HAT! and it's 고양이가`), ['cat', 'hat', 's', '고양이']);
  // Korean particles go (the noun is matched as a prefix), two syllables at least stay, a repeat counts once
  // (in the parser's order).
  assert.deepEqual(await words('고양이가 고양이를 바다에서 아이가 아이 사과 iPhone이 가'), [
    'iphone이',
    '가',
    '고양이',
    '바다',
    '사과',
    '아이',
  ]);
  // A particle followed by another goes whole.
  assert.deepEqual(await words('바다에는 학교에도 서울에서부터 친구에게는'), ['바다', '서울', '친구', '학교']);
  // Chinese and Japanese runs are cut into overlapping pairs; a run of one character stays whole.
  assert.deepEqual(await words('客户保留 猫。東京タワー・iPhone手机'), [
    'iphone',
    'タワ',
    'ワー',
    '京タ',
    '保留',
    '客户',
    '户保',
    '手机',
    '東京',
    '猫',
  ]);
  assert.deepEqual(await words('the who'), ['the', 'who'], 'only function words: kept, so something is searched');
  assert.deepEqual(await words(''), []);
  assert.deepEqual(await words(null), []);
  const many = await words(`w w w ${Array.from({ length: 40 }, (_, i) => `word${i + 1}`).join(' ')}`);
  assert.equal(many.length, 32, 'at most 32 words');

  const tsq = (w: string[] | null, weights: string, stemming = false) =>
    one(`select app_hidden.search_tsquery($1, $2, $3)::text as x`, [w, weights, stemming]);
  // Where no language in scope has a stemmer, words of three characters or
  // more are prefixes ("kot" finds "kota").
  assert.equal(
    await tsq(['cat', 'a', "o'brien", 'back\\slash'], 'AB'),
    `'cat':*AB | 'a':AB | 'o''brien':*AB | 'back\\\\slash':*AB`,
  );
  // Where one has, they are found in their other forms by it, not as the
  // start of other words ("car" is not "career").
  assert.equal(
    await tsq(['cat', 'a', "o'brien", 'back\\slash'], 'AB', true),
    `'cat':AB | 'a':AB | 'o''brien':AB | 'back\\\\slash':AB`,
  );
  assert.equal(await tsq(['x'], ''), `'x'`, 'a one-character word is no prefix');
  // Two letters or digits begin too many words ("ai": air, aim); a Korean or
  // Chinese pair is a prefix all the same, and Korean words stay prefixes
  // (a noun carries its particle) where a stemmer is in scope too.
  assert.equal(await tsq(['ai', '10', 'né'], ''), `'ai' | '10' | 'né'`);
  for (const stemming of [false, true])
    assert.equal(
      await tsq(['고양', '客户', '고양이', 'iphone이'], '', stemming),
      `'고양':* | '客户':* | '고양이':* | 'iphone이':*`,
    );
  assert.equal(await tsq(['개', '猫'], ''), `'개' | '猫'`, 'one character is no prefix, in any script');
  assert.equal(await tsq(['cat'], ''), `'cat':*`);
  assert.equal(await tsq(['cat'], '', true), `'cat'`);
  assert.equal(await tsq([], 'AB'), null);
  assert.equal(await tsq(null, 'AB'), null);

  const stems = async (w: (string | null)[] | null, configs: (string | null)[] | null, weights = 'AB') => {
    const x = (await one(`select app_hidden.search_stem_tsquery($1, $2::regconfig[], $3)::text as x`, [
      w,
      configs,
      weights,
    ])) as string | null;
    return x === null ? null : x.split(' | ').sort();
  };
  // Each form once; 'simple' adds nothing; German keeps English words as written.
  assert.deepEqual(await stems(['roasting', 'tomatoes', 'roasted', 'the'], ['english', 'simple', 'german']), [
    "'roast':AB",
    "'roasted':AB",
    "'roasting':AB",
    "'the':AB",
    "'tomato':AB",
  ]);
  assert.deepEqual(await stems(['roasting'], ['english'], ''), ["'roast'"]);
  // A snippet marks the scene's words that are forms of a query stem, and not
  // the words that only begin with it.
  const marks = async (q: string | null, text: string, config: string, st: string[]) =>
    one(
      `select app_hidden.search_snippet($2, '', app_hidden.search_snippet_query($1::tsquery, to_tsvector('simple', $2), $3::regconfig, $4), app_hidden.scene_tsv($2, '', '[]')) as x`,
      [q, text, config, st],
    );
  assert.equal(
    await marks(`'car'`, 'a career in cars and a car', 'english', ['car']),
    'career in <b>cars</b> and a <b>car</b>',
  );
  assert.equal(await marks(`'city'`, 'the cities of citizens', 'english', ['citi']), 'the <b>cities</b> of citizens');
  assert.equal(await marks(null, 'two cities', 'english', ['citi']), 'two <b>cities</b>');
  assert.equal(await marks(`'car'`, 'cars and a car', 'simple', ['car']), 'cars and a <b>car</b>', 'no stemmer');
  assert.equal(await stems(['roasting'], ['simple']), null);
  assert.equal(await stems(['the'], ['english']), null, 'a stop word stems to nothing');
  assert.deepEqual(await stems(['roasting', null], ['english', null]), ["'roast':AB"]);
  assert.equal(await stems(null, ['english']), null);
  assert.equal(await stems(['x'], null), null);

  // Through both forms: the search passes the stems it has made, others let the function stem.
  const tag = async (tags: string | null, w: (string | null)[], stemming = true) => {
    const x = Number(await one(`select app_hidden.search_tag_score($1::jsonb, $2, $3) as x`, [tags, w, stemming]));
    const given = Number(
      await one(
        `select app_hidden.search_tag_score($1::jsonb, $2,
                  array(select app_hidden.search_label_stem(w) from unnest($2::text[]) w), $3) as x`,
        [tags, w, stemming],
      ),
    );
    assert.equal(given, x, 'the same with the stems given');
    return x;
  };
  assert.equal(await tag('[{"label": "hot dog", "score": 0.8}, {"label": "dog", "score": 0.5}]', ['dog']), 0.5);
  assert.equal(await tag('[{"label": "hot dog", "score": 0.8}]', ['dog', 'hot']), 0.8);
  // Labels are English: a word names a label word of the same English stem, either way.
  assert.equal(await tag('[{"label": "hot dogs", "score": 0.9}]', ['dog']), 0.45);
  assert.equal(await tag('[{"label": "dog", "score": 0.9}]', ['dogs']), 0.9);
  assert.equal(await tag('[{"label": "city", "score": 0.9}]', ['cities']), 0.9, 'a final y stems to i');
  assert.equal(
    await tag('[{"label": "cartoon", "score": 0.9}, {"label": "teaching", "score": 0.9}]', ['car', 'tea']),
    0,
  );
  // Where no language in scope stems, a word of three letters or more names the words it begins.
  assert.equal(await tag('[{"label": "cartoon", "score": 0.9}]', ['car'], false), 0.9);
  assert.equal(await tag('[{"label": "hot dog", "score": 0.9}]', ['do'], false), 0, 'two letters name only themselves');
  assert.equal(await tag('[{"label": "a dog", "score": 0.9}]', ['a']), 0.45, 'one letter names only itself');
  assert.equal(await tag('[{"label": "dog", "score": 7}, {"label": "dog", "score": -1}]', ['dog']), 1, 'clamped');
  assert.equal(
    await tag(
      '[{"label": "dog", "score": "0.9"}, {"label": 5, "score": 0.9}, "dog", null, [1], {"label": "!!", "score": 0.9}]',
      ['dog'],
    ),
    0,
    'malformed entries count as no match',
  );
  assert.equal(await tag('{"label": "dog", "score": 0.9}', ['dog']), 0, 'not an array');
  assert.equal(await tag('[]', ['dog']), 0);
  assert.equal(await tag(null, ['dog']), 0);
  assert.equal(await tag('[{"label": "dog", "score": 0.9}]', []), 0);
  assert.equal(await tag('[{"label": "dog", "score": 0.9}]', [null, 'dog']), 0.9);
  close(await tag('[{"label": "three word label", "score": 0.6}]', ['label', 'three']), 0.4, 'two of three words');

  // With the scene's tsv as the trigger stores it, which says which text matches.
  const snippet = (transcript: string | null, ocr: string | null, q: string | null) =>
    one(
      `select app_hidden.search_snippet($1, $2, $3::tsquery,
                                        app_hidden.scene_tsv(coalesce($1, ''), coalesce($2, ''), '[]')) as x`,
      [transcript, ocr, q],
    );
  assert.equal(
    await snippet('we are roasting the <b>tomatoes</b> & more', 'SLIDE', `'roast':*`),
    'we are <b>roasting</b> the &lt;b&gt;tomatoes&lt;/b&gt; &amp; more',
    'the transcript matches: highlighted, its own markup escaped',
  );
  assert.equal(
    await snippet('we are roasting the tomatoes', 'Laptop & "mouse"', `'laptop':*`),
    '<b>Laptop</b> &amp; &quot;mouse',
    'only the on-screen text matches: it is quoted',
  );
  assert.equal(await snippet('', 'Laptop <x>', null), 'Laptop &lt;x&gt;');
  assert.equal(await snippet(null, null, `'cat'`), null);
  assert.equal(
    await snippet(`   ${Array.from({ length: 17 }, (_, i) => `w${i + 1}`).join(' ')}  `, '', null),
    Array.from({ length: 16 }, (_, i) => `w${i + 1}`).join(' '),
    'no match: the opening words',
  );
  assert.equal(await snippet('nothing matches here', 'nor here', `'zebra'`), 'nothing matches here');

  // Chinese and Japanese: cut at 60 characters around the first match, every match marked, ellipses where cut.
  const long = `${'一二三四五六七八九十'.repeat(4)}客户保留${'甲乙丙丁戊己庚辛壬癸'.repeat(6)}客户`;
  const marked = await snippet(long, '', `'客户':* | '户保':* | '保留':*`);
  assert.equal(
    marked,
    `…${'一二三四五六七八九十'.repeat(4).slice(-15)}<b>客户保留</b>${'甲乙丙丁戊己庚辛壬癸'.repeat(6).slice(0, 41)}…`,
  );
  assert.equal(
    await snippet('短い <b> テキスト & Cats', '', `'cat':* | 'テキ'`),
    '短い &lt;b&gt; <b>テキ</b>スト &amp; <b>Cats</b>',
    'short text whole, escaped; a Latin word from its start to its end',
  );
  // The first match is found however far into a long transcript it is.
  const far = await snippet(`${'我们客户在这里'.repeat(2500)}的`, '', `'的'`);
  assert.equal(far, `…${'我们客户在这里'.repeat(2500).slice(-59)}<b>的</b>`);
  assert.equal(
    await snippet('中文 concatenate', '', `'cat':*`),
    '中文 concatenate',
    'a word is marked only from its start; nothing marked, the opening',
  );
  assert.equal(
    await snippet('中文 career card car', '', `'car'`),
    '中文 career card <b>car</b>',
    'a word that is no prefix is marked only whole',
  );
  assert.equal(
    await snippet(`${'是'.repeat(70)} and more`, '', null),
    `${'是'.repeat(60)}…`,
    'no match: the opening, cut by characters when there are no spaces to count words by',
  );
});

test('weights are respected: shifting weight from text to vision flips the ranking', async () => {
  const u = uuid();
  const v = await addVideo(u);
  const talky = await addScene(v, u, { text: withCosine(TEXT_DIM, 0.75, 1), image: withCosine(IMAGE_DIM, 0.1, 1) });
  const visual = await addScene(v, u, { text: withCosine(TEXT_DIM, 0.45, 2), image: withCosine(IMAGE_DIM, 0.2, 2) });
  const args = { text: query(TEXT_DIM), image: query(IMAGE_DIM) };
  const byDefault = await search(u, args);
  assert.deepEqual(
    byDefault.map((h) => h.scene_id),
    [talky, visual],
  );
  close(byDefault[0].score, 0.5 * 1 + 0.35 * calibrate('vision', 0.1), 'talky scene, default weights');
  const visionHeavy = await search(u, { ...args, wText: 0.1, wVision: 0.9, wTags: 0 });
  assert.deepEqual(
    visionHeavy.map((h) => h.scene_id),
    [visual, talky],
  );
  close(visionHeavy[0].score, 0.1 * calibrate('text', 0.45) + 0.9 * 1, 'visual scene, vision-heavy weights');
});

test('missing modalities score 0 and never exclude a scene: a silent scene is found by vision', async () => {
  const u = uuid();
  const v = await addVideo(u);
  const silent = await addScene(v, u, { text: null, transcript: '', image: withCosine(IMAGE_DIM, 0.2, 1) });
  const spoken = await addScene(v, u, { text: withCosine(TEXT_DIM, 0.75, 1), transcript: 'a red car', image: null });
  const hits = await search(u, { query: 'car', text: query(TEXT_DIM), image: query(IMAGE_DIM) });
  const silentHit = hits.find((h) => h.scene_id === silent);
  assert.ok(silentHit, 'silent scene found');
  assert.equal(silentHit.text_score, 0);
  assert.equal(silentHit.tags_score, 0);
  close(silentHit.vision_score, 1, 'silent scene vision');
  assert.equal(silentHit.snippet, null, 'nothing to quote from a silent scene');
  const spokenHit = hits.find((h) => h.scene_id === spoken)!;
  assert.equal(spokenHit.vision_score, 0);
  // With no embeddings at all (no models loaded) the words alone still find it.
  const wordsOnly = await search(u, { query: 'car' });
  assert.deepEqual(
    wordsOnly.map((h) => h.scene_id),
    [spoken],
  );
  assert.ok(wordsOnly[0].text_score > 0 && wordsOnly[0].text_score <= 1);
});

test('tags: the score of the label the query names, weighted by how much of the label it names', async () => {
  const u = uuid();
  const v = await addVideo(u);
  const dog = await addScene(v, u, {
    tags: [
      { label: 'dog', score: 0.8 },
      { label: 'grass', score: 0.9 },
    ],
  });
  const hotdog = await addScene(v, u, { tags: [{ label: 'hot dog', score: 0.6 }] });
  await addScene(v, u, { tags: [{ label: 'cat', score: 0.99 }] });
  const hits = await search(u, { query: 'dog' });
  assert.deepEqual(
    hits.map((h) => [h.scene_id, h.tags_score]),
    [
      [dog, 0.8],
      [hotdog, 0.3],
    ],
  );
  close(hits[0].score, 0.15 * 0.8, 'tag-only score');
  assert.equal(hits[0].text_score, 0, 'tags do not count twice as full text');
});

test('words: rare words outweigh common ones, function words are ignored, on-screen text counts', async () => {
  const u = uuid();
  const v = await addVideo(u);
  const apple = await addScene(v, u, { ocr: 'APPLE' });
  const dogs = [];
  for (let i = 0; i < 5; i++) dogs.push(await addScene(v, u, { transcript: `the dog number ${i} barks` }));
  // "the" is in every dog scene's transcript; without dropping it the query
  // would rank them by a word that means nothing.
  const theApple = await search(u, { query: 'the apple' });
  assert.deepEqual(
    theApple.map((h) => h.scene_id),
    [apple],
  );
  // "dog" is in five scenes, "apple" in one: the rare word decides, even
  // though "apple" is on screen and "dog" is spoken.
  const mixed = await search(u, { query: 'dog apple' });
  assert.equal(mixed[0].scene_id, apple);
  assert.deepEqual(new Set(mixed.slice(1).map((h) => h.scene_id)), new Set(dogs));
  assert.ok(mixed[0].text_score > mixed[1].text_score);
  // A query of function words alone still searches for them.
  assert.equal((await search(u, { query: 'the' })).length, 5);
  // Two letters find that word, not every word they begin, and so do three
  // in a language with a stemmer (no language counts as English).
  const ai = await addScene(v, u, { transcript: 'what ai can do' });
  await addScene(v, u, { transcript: 'fresh air and a clear aim' });
  assert.deepEqual(
    (await search(u, { query: 'ai' })).map((h) => h.scene_id),
    [ai],
  );
  assert.deepEqual(new Set((await search(u, { query: 'dog' })).map((h) => h.scene_id)), new Set(dogs));
  const doghouse = await addScene(v, u, { transcript: 'a doghouse in the yard' });
  assert.ok(!(await search(u, { query: 'dog' })).some((h) => h.scene_id === doghouse));
});

test('video_ids restricts results to those videos', async () => {
  const u = uuid();
  const v1 = await addVideo(u);
  const v2 = await addVideo(u);
  const s1 = await addScene(v1, u, { transcript: 'sunset over the sea', text: withCosine(TEXT_DIM, 0.7, 1) });
  const s2 = await addScene(v2, u, { transcript: 'sunset in the city', text: withCosine(TEXT_DIM, 0.7, 2) });
  const all = await search(u, { query: 'sunset', text: query(TEXT_DIM) });
  assert.deepEqual(new Set(all.map((h) => h.scene_id)), new Set([s1, s2]));
  const only2 = await search(u, { query: 'sunset', text: query(TEXT_DIM), videoIds: [v2] });
  assert.deepEqual(
    only2.map((h) => [h.scene_id, h.video_id]),
    [[s2, v2]],
  );
  assert.deepEqual(await search(u, { query: 'sunset', text: query(TEXT_DIM), videoIds: [] }), []);
});

test('pages are stable and disjoint: concatenated pages equal one big page, ties ordered by scene id', async () => {
  const u = uuid();
  const v = await addVideo(u);
  // 45 scenes, in groups of 5 with identical vectors, so ties are everywhere.
  for (let i = 0; i < 45; i++) {
    const cos = 0.4 + 0.04 * Math.floor(i / 5);
    const text = withCosine(TEXT_DIM, cos, 1);
    await addScene(v, u, { text });
  }
  const args = { text: query(TEXT_DIM) };
  const big = await search(u, { ...args, pageSize: 100 });
  assert.equal(big.length, 45);
  for (let i = 1; i < big.length; i++) {
    const [a, b] = [big[i - 1], big[i]];
    assert.ok(a.score > b.score || (a.score === b.score && a.scene_id < b.scene_id), `order at ${i}`);
  }
  const pages: Hit[] = [];
  for (let offset = 0; offset < 60; offset += 10)
    pages.push(...(await search(u, { ...args, pageSize: 10, pageOffset: offset })));
  assert.deepEqual(
    pages.map((h) => h.scene_id),
    big.map((h) => h.scene_id),
  );
  assert.equal(new Set(pages.map((h) => h.scene_id)).size, 45);
});

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randomUnit(rand: () => number, dim: number, bias: number) {
  const v = Array.from({ length: dim }, (_, i) => (i < 24 ? rand() - 0.5 : 0));
  v[0] += bias;
  const n = Math.hypot(...v);
  return v.map((x) => Math.fround(x / n));
}
const cosine = (a: number[], b: number[]) => {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
};

test('ranking equals an exact brute-force computation', async () => {
  const rand = mulberry32(42);
  const u = uuid();
  const v = await addVideo(u);
  const vocab = ['river', 'mountain', 'dog', 'city', 'night', 'market', 'train', 'rain'];
  const pick = () => vocab[Math.floor(rand() * vocab.length)];
  const scenes = new Map<string, { text: number[] | null; image: number[] }>();
  for (let i = 0; i < 60; i++) {
    const text = rand() < 0.8 ? randomUnit(rand, TEXT_DIM, 0.4) : null;
    const image = randomUnit(rand, IMAGE_DIM, 0.1);
    const id = await addScene(v, u, {
      text,
      image,
      transcript: text ? `${pick()} ${pick()} and ${pick()}` : '',
      ocr: rand() < 0.3 ? pick() : '',
      tags: [{ label: pick(), score: Math.round(rand() * 100) / 100 }],
    });
    scenes.set(id, { text, image });
  }
  const q = { text: randomUnit(rand, TEXT_DIM, 0.4), image: randomUnit(rand, IMAGE_DIM, 0.1) };

  // Vectors only: the whole score is computable here, in TypeScript.
  const hits = await search(u, { ...q, wText: 0.6, wVision: 0.4, wTags: 0, pageSize: 100 });
  const expected = [...scenes]
    .map(([id, s]) => ({
      id,
      score:
        0.6 * (s.text ? calibrate('text', cosine(s.text, q.text)) : 0) +
        0.4 * calibrate('vision', cosine(s.image, q.image)),
    }))
    .filter((e) => e.score > 0)
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  assert.ok(expected.length > 20, 'the fixture gives a real ranking to compare');
  assert.deepEqual(
    hits.map((h) => h.scene_id),
    expected.map((e) => e.id),
  );
  hits.forEach((h, i) => close(h.score, expected[i].score, `score of rank ${i + 1}`));

  // All modalities: compare with the same formula applied to every scene with no index involved.
  const words = 'dog in the rain';
  const fused = await search(u, { ...q, query: words, pageSize: 100 });
  const brute = await bruteForce(u, words, q);
  assert.ok(brute.length > 30);
  assert.deepEqual(
    fused.map((h) => h.scene_id),
    brute.map((b) => b.id),
  );
  fused.forEach((h, i) => close(h.score, brute[i].score, `fused score of rank ${i + 1}`));

  // With a person: the same formula over the person's scenes only (IDF too).
  const seen = [...scenes.keys()].filter(() => rand() < 0.3);
  const person = await addPerson(u, v, seen, rand);
  const fusedPerson = await search(u, { ...q, query: words, personId: person, pageSize: 100 });
  const brutePerson = await bruteForce(u, words, q, seen);
  assert.ok(brutePerson.length >= 10 && brutePerson.length < brute.length, `${brutePerson.length} hits`);
  assert.deepEqual(
    fusedPerson.map((h) => h.scene_id),
    brutePerson.map((b) => b.id),
  );
  fusedPerson.forEach((h, i) => close(h.score, brutePerson[i].score, `person-scoped score of rank ${i + 1}`));

  // Inflected words: found stemmed in the text, and naming labels of the same
  // English stem ("dogs" names "dog", "cities" names "city"), for the whole
  // library and for the person's few scenes, which read their tags differently.
  // (The person's few scenes carry "dog" and "rain" labels, none "city" or "night".)
  for (const [inflected, personLabels] of [
    ['dogs in the rains', true],
    ['cities at night', false],
  ] as const) {
    const all = await search(u, { ...q, query: inflected, pageSize: 100 });
    const exact = await bruteForce(u, inflected, q);
    assert.deepEqual(
      all.map((h) => h.scene_id),
      exact.map((b) => b.id),
      inflected,
    );
    assert.ok(
      all.some((h) => h.tags_score > 0),
      `${inflected}: a label is named`,
    );
    const mine = await search(u, { ...q, query: inflected, personId: person, pageSize: 100 });
    const mineExact = await bruteForce(u, inflected, q, seen);
    assert.deepEqual(
      mine.map((h) => h.scene_id),
      mineExact.map((b) => b.id),
      `${inflected}, person-scoped`,
    );
    assert.equal(
      mine.some((h) => h.tags_score > 0),
      personLabels,
      `${inflected}: a label is named among the person's few scenes`,
    );
    mine.forEach((h, i) => close(h.score, mineExact[i].score, `${inflected}: person-scoped score of rank ${i + 1}`));
  }
});

/** A library of `scenes` scenes with random vectors only, and a query drawn the same way. */
async function vectorLibrary(seed: number, scenes: number) {
  const rand = mulberry32(seed);
  const u = uuid();
  const v = await addVideo(u);
  for (let i = 0; i < scenes; i++) {
    await addScene(v, u, { text: randomUnit(rand, TEXT_DIM, 0.4), image: randomUnit(rand, IMAGE_DIM, 0.1) });
  }
  return { u, q: { text: randomUnit(rand, TEXT_DIM, 0.4), image: randomUnit(rand, IMAGE_DIM, 0.1) } };
}

// More scenes than a vector pool (80), few enough to be compared exactly: the
// pool is chosen from the half-precision copies, so a query too long for half
// precision (or for pgvector's float32 sums, either way) would fail or choose
// another pool than its direction does.
test("a query vector's length does not change the ranking, however long or short", async () => {
  const { u, q } = await vectorLibrary(7, 100);
  const unit = await search(u, { ...q, pageSize: 100 });
  assert.ok(unit.length >= 30, `${unit.length} hits`);
  for (const scale of [1e6, 1e25, 1e-25]) {
    const scaled = (x: number[]) => x.map((e) => Math.fround(e * scale));
    const hits = await search(u, { text: scaled(q.text), image: scaled(q.image), pageSize: 100 });
    assert.deepEqual(
      hits.map((h) => h.scene_id),
      unit.map((h) => h.scene_id),
      `scaled by ${scale}`,
    );
    hits.forEach((h, i) => close(h.score, unit[i].score, `scaled by ${scale}: score of rank ${i + 1}`));
  }
});

// The exact comparisons are planned once per connection (a generic plan), so
// the planner cannot see that the owner is small; where a few owners hold
// most rows it read the whole table (a 30-scene user at 300k scenes: ~1 s).
// Costs that make any index look dear stand in for such statistics here.
test("a small library's exact comparisons read its own rows by index, whatever the costs say", async () => {
  const { u, q } = await vectorLibrary(9, 5);
  const { result, plans } = await explainedAs(
    db,
    u,
    ['set random_page_cost = 1e6', 'set cpu_index_tuple_cost = 1e3'],
    (c) => c.query(SEARCH_SQL, searchParams({ ...q, pageSize: 100 })),
  );
  const exact = plans.filter((p) => /Query Text: [\s\S]*app_hidden\.scene_half_vecs h\b/.test(p));
  assert.equal(exact.length, 1);
  assert.doesNotMatch(exact[0]!, /Seq Scan on scene_half_vecs/);
  assert.match(exact[0]!, /Index Cond: \(owner_id = \$\d+\)|Index Cond: \(\(owner_id = \$\d+\) AND/);
  const planned = await search(u, { ...q, pageSize: 100 });
  assert.ok(planned.length > 0);
  assert.deepEqual(
    result.rows.map((h) => h.scene_id),
    planned.map((h) => h.scene_id),
  );
});

// A person in more scenes than the words pass reads by scene (100) and no
// more than vectors are compared exactly for (2000): the words' rows across
// the library, kept where they are the person's, and both vector spaces of
// the person's scenes read in one pass, by scene.
test('a person in a hundred scenes or more ranks as the brute force does', async () => {
  const rand = mulberry32(5);
  const u = uuid();
  const v = await addVideo(u);
  const vocab = ['river', 'mountain', 'dog', 'city'];
  const pick = () => vocab[Math.floor(rand() * vocab.length)];
  const ids: string[] = [];
  for (let i = 0; i < 160; i++) {
    const text = rand() < 0.8 ? randomUnit(rand, TEXT_DIM, 0.4) : null;
    ids.push(
      await addScene(v, u, {
        text,
        image: randomUnit(rand, IMAGE_DIM, 0.1),
        transcript: text ? `${pick()} and ${pick()}` : '',
        ocr: rand() < 0.3 ? pick() : '',
        tags: [{ label: pick(), score: Math.round(rand() * 100) / 100 }],
      }),
    );
  }
  const seen = ids.filter(() => rand() < 0.8);
  assert.ok(seen.length > 100 && seen.length < ids.length, `${seen.length} scenes`);
  const person = await addPerson(u, v, seen, rand);
  const q = { text: randomUnit(rand, TEXT_DIM, 0.4), image: randomUnit(rand, IMAGE_DIM, 0.1) };
  // More scenes than the candidate pools hold (40 per vector space with a
  // person, 60 by words, 50 by tags): the first page is compared.
  for (const words of ['dog city', 'rivers']) {
    const a = { ...q, query: words, personId: person, pageSize: 20 };
    const { result, plans } = await explainedAs(db, u, [], (c) => c.query(SEARCH_SQL, searchParams(a)));
    const hits = result.rows as Hit[];
    const exact = (await bruteForce(u, words, q, seen)).slice(0, 20);
    assert.equal(hits.length, 20);
    assert.deepEqual(
      hits.map((h) => h.scene_id),
      exact.map((b) => b.id),
      words,
    );
    hits.forEach((h, i) => close(h.score, exact[i].score, `${words}: score of rank ${i + 1}`));
    const wordsPass = plans.filter((p) => /app_hidden\.search_scene_matches\(/.test(p));
    assert.equal(wordsPass.length, 1);
    // The person's scenes as a constant list (hashed), not an index condition.
    assert.match(wordsPass[0]!, PERSON_LIST);
    // (Its plan may keep the by-scene branch of the tag labels, given no scenes: never run.)
    assert.doesNotMatch(wordsPass[0]!, /Index Cond: [^\n]*scene_id = ANY \('\{/);
    const vectors = plans.filter((p) => /Query Text: [\s\S]*app_hidden\.scene_half_vecs h\b/.test(p));
    assert.equal(vectors.length, 1);
  }
});

/**
 * search_scenes' scoring formula applied to every scene in scope (the user's,
 * or the given ids), with no index and no candidate pool.
 */
function bruteForce(
  u: string,
  words: string,
  q: { text: number[]; image: number[] },
  sceneIds: string[] | null = null,
) {
  return withUserDb(
    db,
    u,
    async (c) =>
      (
        await c.query(
          `with q as (select app_hidden.search_query_words($1) as words),
     -- Each word's forms: as written, stemmed in English (these
     -- videos have no language, which counts as English), and misread on
     -- screen (strict trigram word similarity of at least 0.33, words of 4+ letters).
     wf as (
       select w, app_hidden.search_tsquery(array[w], 'AB', true) as wq,
              app_hidden.search_stem_tsquery(app_hidden.search_word_forms(array[w]), array[app_hidden.stem_config(null)], 'AB') as sq,
              char_length(w) >= 4 as fz
       from q, unnest(q.words) w),
     -- Each word's inverse document frequency among this user's scenes: scenes with the
     -- word as written or stemmed (a misread on screen is a match, not a frequency).
     -- The scope: all of the user's scenes, or those given ($4, a person's).
     scope as (select s.* from app_public.scenes s where $4::uuid[] is null or s.id = any($4)),
     wi as (
       select wf.*, ln(1 + ((select count(*) from scope) + 1)::float8
                      / (1 + (select count(*) from scope s
                              where s.tsv @@ wf.wq or (wf.sq is not null and s.tsv_stem @@ wf.sq)))) as idf
       from wf),
     parts as (
       select s.id,
              app_hidden.search_similarity('text', 1 - (s.text_vec <=> $2::real[]::vector)) as dense,
              -- IDF-weighted share of the words present (1 as written, 0.75 stemmed, 0.5 x similarity
              -- misread) and normalised cover density (stemmed at 0.75), half each.
              0.5 * coalesce((select sum(wi.idf * case when s.tsv @@ wi.wq then 1
                                                         when wi.sq is not null and s.tsv_stem @@ wi.sq then 0.75
                                                         when wi.fz and strict_word_similarity(wi.w, s.ocr_text) >= 0.33
                                                           then 0.5 * strict_word_similarity(wi.w, s.ocr_text)
                                                         else 0 end) from wi), 0) / (select sum(idf) from wi)
                + 0.5 * greatest(ts_rank_cd('{0.1, 0.2, 0.8, 1.0}', s.tsv, app_hidden.search_tsquery(q.words, 'AB', true), 32),
                                 0.75 * coalesce(ts_rank_cd('{0.1, 0.2, 0.8, 1.0}', s.tsv_stem,
                                   app_hidden.search_stem_tsquery(app_hidden.search_word_forms(q.words), array[app_hidden.stem_config(null)], 'AB'), 32), 0)) as words,
              app_hidden.search_similarity('vision', 1 - (s.image_vec <=> $3::real[]::vector)) as vision,
              app_hidden.search_tag_score(s.tags, app_hidden.search_tag_words(app_hidden.search_word_forms(q.words)), true) as tags
       from scope s, q)
     select id, 0.5 * (dense + words - dense * words) + 0.35 * vision + 0.15 * tags as score
     from parts where 0.5 * (dense + words - dense * words) + 0.35 * vision + 0.15 * tags > 0
     order by score desc, id`,
          [words, q.text, q.image, sceneIds],
        )
      ).rows as { id: string; score: number }[],
  );
}

test('a query of ten words picks the same word candidates as an exact ranking over every scene', async () => {
  // More scenes with a query word than the word pool holds, so which scenes
  // become candidates decides the page: the pool is ordered by each scene's
  // IDF-weighted share of the words, looked up in tables of 8 words each
  // (words 9 and 10 in the second), and "castle" (stem "castl") is counted
  // apart from the words that are their own stem.
  // Every scene says two of the words, once each; words 9 and 10 are the
  // rarer, so the 30 scenes with one of them outrank the 100 with two of
  // words 1-8, and are candidates only if those two words' IDFs count.
  const rand = mulberry32(7);
  const u = uuid();
  const v = await addVideo(u);
  const vocab = ['river', 'mountain', 'harbor', 'castle', 'garden', 'bridge', 'forest', 'desert', 'island', 'valley'];
  const common = () => Math.floor(rand() * 8);
  for (let i = 0; i < 130; i++) {
    const a = common();
    const b = i < 100 ? (a + 1 + Math.floor(rand() * 7)) % 8 : 8 + (i % 2);
    await addScene(v, u, { transcript: `${vocab[a]} and ${vocab[b]}` });
  }
  const q = { text: randomUnit(rand, TEXT_DIM, 0.4), image: randomUnit(rand, IMAGE_DIM, 0.1) };
  const words = vocab.join(' ');
  const hits = await search(u, { query: words, pageSize: 20 });
  const exact = (await bruteForce(u, words, q)).slice(0, 20);
  assert.equal(hits.length, 20);
  assert.deepEqual(
    hits.map((h) => h.scene_id),
    exact.map((b) => b.id),
  );
  hits.forEach((h, i) => close(h.score, exact[i].score, `score of rank ${i + 1}`));
});

/** The search's hits, and the query text of every statement it ran (auto_explain). */
async function searchExplained(user: string, a: SearchArgs) {
  const { result, plans } = await explainedAs(db, user, [], (c) => c.query(SEARCH_SQL, searchParams(a)));
  const statements = plans.map((p) => /Query Text: ([\s\S]*?)\n[A-Z]/.exec(p)?.[1] ?? '');
  return { hits: result.rows as Hit[], statements };
}

// Two common words: 500 scenes, 400 with each word, 300 with both, enough
// that the words pass first ranks only the scenes with both words and keeps
// that pool when no scene with one word can score above its last (bound: the
// share of the other word, the highest rank of such a scene, the best tag).
// The scenes with both say them in other forms (stemmed: a share of 0.75) and
// carry labels that order them; the others say one word as written, once.
// "market" is its own stem, so each of its words has a row at most per scene,
// and their rows are joined; "castle" (stem "castl") is said in two forms, so
// the rows are grouped by scene.
for (const [other, path] of [
  ['market', /filter \(where a\.scene_id = b\.scene_id\)/],
  ['castle', /filter \(where ps\.mask = word_mask\)/],
] as const) {
  test(`two common words (harbor ${other}): the scenes with both are ranked alone while no scene with one can reach them`, async () => {
    const u = uuid();
    const v = await addVideo(u);
    await db.rootPool.query(
      `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, tags)
       select $1, $2, i, i * 10, i * 10 + 5,
              case i % 5 when 0 then 'the harbor at dawn' when 1 then 'a ' || $3 || ' on the hill'
                   else 'the ' || $3 || 's by the harbors' end,
              case when i % 5 > 1 then jsonb_build_array(jsonb_build_object('label', $3::text, 'score', 0.2 + (i % 11) / 200.0))
                   else '[]'::jsonb end
       from generate_series(1, 500) i`,
      [v, u, other],
    );
    const q = { text: randomUnit(mulberry32(3), TEXT_DIM, 0.4), image: randomUnit(mulberry32(4), IMAGE_DIM, 0.1) };
    const words = `harbor ${other}`;
    const wholePass = (statements: string[]) => statements.some((s) => /where ps\.mask <> 0\b/.test(s));
    const bothPass = (statements: string[]) => statements.some((s) => path.test(s));

    const first = await searchExplained(u, { query: words, pageSize: 20 });
    assert.ok(
      bothPass(first.statements) && !wholePass(first.statements),
      'the scenes with both words settled the pool',
    );
    let exact = (await bruteForce(u, words, q)).slice(0, 20);
    assert.deepEqual(
      first.hits.map((h) => h.scene_id),
      exact.map((b) => b.id),
    );
    first.hits.forEach((h, i) => close(h.score, exact[i].score, `score of rank ${i + 1}`));

    // One scene says "harbor" five times under a label naming it at 0.2,
    // below the 50th tag candidate's 0.245 (so it is no tag candidate): its
    // rank and its label together outrank every scene with both words, so
    // the bound (the highest rank of a scene with one word, the highest tag
    // of a scene that is no tag candidate) fails, and every scene is ranked.
    const loud = await addScene(await addVideo(u), u, {
      transcript: Array(5).fill('harbor').join(' '),
      tags: [{ label: 'harbor', score: 0.2 }],
    });
    const second = await searchExplained(u, { query: words, pageSize: 20 });
    assert.ok(bothPass(second.statements) && wholePass(second.statements), 'the bound failed: every scene was ranked');
    exact = (await bruteForce(u, words, q)).slice(0, 20);
    assert.equal(exact[0].id, loud);
    assert.deepEqual(
      second.hits.map((h) => h.scene_id),
      exact.map((b) => b.id),
    );
    second.hits.forEach((h, i) => close(h.score, exact[i].score, `score of rank ${i + 1}`));
  });
}

test('common words in every form: each page equals the exact ranking, whichever pass ranks the pool', async () => {
  // Random speech over a few words said in two forms each, three of them in
  // most scenes (so pairs of them have enough scenes with both to be ranked
  // first), said one to four times, with labels on half the scenes: pairs and
  // triples of every kind, against the exact ranking over every scene.
  const rand = mulberry32(11);
  const u = uuid();
  const v = await addVideo(u);
  const forms = [
    ['harbor', 'harbors', 0.75],
    ['market', 'markets', 0.7],
    ['city', 'cities', 0.7],
    ['bridge', 'bridges', 0.3],
    ['garden', 'gardens', 0.15],
  ] as const;
  const rows: { transcript: string; tags: { label: string; score: number }[] }[] = [];
  for (let i = 0; i < 600; i++) {
    const said: string[] = [];
    for (const [one, many, p] of forms)
      if (rand() < p) for (let n = 1 + Math.floor(rand() ** 3 * 4); n > 0; n--) said.push(rand() < 0.7 ? one : many);
    const label = forms[Math.floor(rand() * forms.length)][0];
    rows.push({
      transcript: `we saw the ${said.join(' and the ')}`,
      tags: rand() < 0.5 ? [{ label, score: Math.round(rand() * 100) / 100 }] : [],
    });
  }
  await db.rootPool.query(
    `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, tags)
     select $1, $2, r.o, r.o * 10, r.o * 10 + 5, r.t, r.g
     from unnest($3::text[], $4::jsonb[]) with ordinality r(t, g, o)`,
    [v, u, rows.map((r) => r.transcript), rows.map((r) => JSON.stringify(r.tags))],
  );
  const q = { text: randomUnit(rand, TEXT_DIM, 0.4), image: randomUnit(rand, IMAGE_DIM, 0.1) };
  const words = forms.map(([one]) => one);
  const queries = [
    ...words.flatMap((a, i) => words.slice(i + 1).map((b) => `${a} ${b}`)),
    'harbors markets',
    'cities harbor',
    'harbor market city',
  ];
  const paths = { first: 0, fellBack: 0, whole: 0 };
  for (const query of queries) {
    const { hits, statements } = await searchExplained(u, { query, pageSize: 20 });
    const first = statements.some((st) => /filter \(where (a\.scene_id = b\.scene_id|ps\.mask = word_mask)\)/.test(st));
    const whole = statements.some((st) => /where ps\.mask <> 0\b/.test(st));
    if (first) paths[whole ? 'fellBack' : 'first']++;
    else paths.whole++;
    const exact = (await bruteForce(u, query, q)).slice(0, 20);
    assert.deepEqual(
      hits.map((h) => h.scene_id),
      exact.map((b) => b.id),
      query,
    );
    hits.forEach((h, i) => close(h.score, exact[i].score, `${query}: score of rank ${i + 1}`));
  }
  // Each way of ranking the pool was taken by some of the queries.
  assert.ok(paths.first > 0 && paths.fellBack > 0 && paths.whole > 0, JSON.stringify(paths));
});

test("a user's search never returns another user's scenes, however well they match", async () => {
  const a = uuid(),
    b = uuid();
  const va = await addVideo(a);
  const vb = await addVideo(b);
  const mine = await addScene(va, a, {
    transcript: 'penguin colony',
    text: withCosine(TEXT_DIM, 0.5, 1),
    image: withCosine(IMAGE_DIM, 0.1, 1),
  });
  const theirs = await addScene(vb, b, {
    transcript: 'penguin penguin penguin',
    tags: [{ label: 'penguin', score: 1 }],
    text: query(TEXT_DIM),
    image: query(IMAGE_DIM),
  });
  const hits = await search(a, { query: 'penguin', text: query(TEXT_DIM), image: query(IMAGE_DIM), pageSize: 100 });
  assert.deepEqual(
    hits.map((h) => h.scene_id),
    [mine],
  );
  // Naming B's video explicitly does not help either.
  assert.deepEqual(await search(a, { query: 'penguin', text: query(TEXT_DIM), videoIds: [vb] }), []);
  // B's scene is really there: B finds it.
  assert.equal((await search(b, { query: 'penguin' }))[0].scene_id, theirs);
});

test('scene_terms follows every write of a scene, matches search_rank, and shows each user only their own', async () => {
  const a = uuid(),
    b = uuid();
  const va = await addVideo(a);
  const scene = await addScene(va, a, {
    transcript: 'roasting the tomatoes, roasting slowly',
    ocr: 'Laptop',
    tags: [
      { label: 'hot dog', score: 0.8 },
      { label: 'dog', score: 0.5 },
    ],
  });
  const terms = async () =>
    Object.fromEntries(
      (
        await db.rootPool.query(
          `select kind::text || ':' || lexeme as k, impact from app_hidden.scene_terms where scene_id = $1 order by 1`,
          [scene],
        )
      ).rows.map((r) => [r.k, Number(r.impact.toFixed(4))]),
    );
  // Written words: 1.0 per spoken occurrence, 0.8 on screen; stems only where they differ
  // from a written word; tag words: the best label score over its word count.
  assert.deepEqual(await terms(), {
    's:roast': 2,
    's:slowli': 1,
    's:tomato': 1,
    't:dog': 0.5,
    't:hot': 0.4,
    'w:laptop': 0.8,
    'w:roasting': 2,
    'w:slowly': 1,
    'w:the': 1,
    'w:tomatoes': 1,
  });
  // The impact of the written words a query matches is exactly search_rank's
  // cover density before normalisation, so candidates come out in its order.
  const { rows } = await db.rootPool.query(
    `select ts_rank_cd('{0.1, 0.2, 0.8, 1.0}'::real[], s.tsv, app_hidden.search_tsquery(array['roast', 'laptop', 'the'], 'AB', false), 0) as rank,
            (select sum(t.impact) from app_hidden.scene_terms t
              where t.scene_id = s.id and t.kind = 'w' and (starts_with(t.lexeme, 'roast') or starts_with(t.lexeme, 'laptop') or t.lexeme like 'the%')) as impact
       from app_public.scenes s where s.id = $1`,
    [scene],
  );
  close(Number(rows[0].impact), Number(rows[0].rank), 'summed impact vs ts_rank_cd');

  await db.rootPool.query(`update app_public.scenes set transcript = 'penguins', tags = '[]' where id = $1`, [scene]);
  assert.deepEqual(await terms(), { 's:penguin': 1, 'w:laptop': 0.8, 'w:penguins': 1 });
  assert.equal((await search(a, { query: 'penguin' }))[0]?.scene_id, scene);
  assert.deepEqual(await search(a, { query: 'tomato' }), []);

  const seen = await withUserDb(
    db,
    b,
    async (c) => (await c.query(`select count(*)::int as n from app_hidden.scene_terms`)).rows[0].n,
  );
  assert.equal(seen, 0, "another user's terms are invisible");
  const own = await withUserDb(
    db,
    a,
    async (c) =>
      (await c.query(`select count(*)::int as n from app_hidden.scene_terms where scene_id = $1`, [scene])).rows[0].n,
  );
  assert.equal(own, 3);

  await db.rootPool.query(`delete from app_public.scenes where id = $1`, [scene]);
  assert.deepEqual(await terms(), {});
});

test('scene_half_vecs follows every write of a scene in half precision, and shows each user only their own', async () => {
  const a = uuid(),
    b = uuid();
  const va = await addVideo(a);
  const text = withCosine(TEXT_DIM, 0.6, 1);
  const image = withCosine(IMAGE_DIM, 0.12, 1);
  const scene = await addScene(va, a, { transcript: 'vectors', text, image });
  const rows = async () =>
    (
      await db.rootPool.query(
        `select space::text as space, video_id, vec::real[] as vec from app_hidden.scene_half_vecs
          where scene_id = $1 order by space`,
        [scene],
      )
    ).rows as { space: string; video_id: string; vec: number[] }[];
  // Half precision keeps 11 significant bits of each number.
  const halfOf = (got: number[], full: number[]) => {
    assert.equal(got.length, full.length);
    full.forEach((v, k) =>
      assert.ok(Math.abs(got[k]! - v) <= Math.abs(v) * 2 ** -11 + 1e-7, `${k}: ${got[k]} for ${v}`),
    );
  };
  let r = await rows();
  assert.deepEqual(
    r.map((x) => [x.space, x.video_id]),
    [
      ['i', va],
      ['t', va],
    ],
  );
  halfOf(r[0]!.vec, image);
  halfOf(r[1]!.vec, text);

  // A new text vector replaces the copy; a removed image vector removes its row.
  const text2 = withCosine(TEXT_DIM, 0.3, 2);
  await db.rootPool.query(`update app_public.scenes set text_vec = $2::vector, image_vec = null where id = $1`, [
    scene,
    toVector(text2),
  ]);
  r = await rows();
  assert.deepEqual(
    r.map((x) => x.space),
    ['t'],
  );
  halfOf(r[0]!.vec, text2);
  // A scene moved to another video is read under that video.
  const vb = await addVideo(a);
  await db.rootPool.query(`update app_public.scenes set video_id = $2 where id = $1`, [scene, vb]);
  assert.deepEqual(
    (await rows()).map((x) => x.video_id),
    [vb],
  );
  // Unrelated writes leave the copies alone.
  await db.rootPool.query(`update app_public.scenes set transcript = 'other words' where id = $1`, [scene]);
  halfOf((await rows())[0]!.vec, text2);

  const count = (user: string) =>
    withUserDb(
      db,
      user,
      async (c) =>
        (await c.query(`select count(*)::int as n from app_hidden.scene_half_vecs where scene_id = $1`, [scene]))
          .rows[0].n,
    );
  assert.equal(await count(b), 0, "another user's vectors are invisible");
  assert.equal(await count(a), 1);

  await db.rootPool.query(`delete from app_public.scenes where id = $1`, [scene]);
  assert.deepEqual(await rows(), []);
});

test('text_model: vectors from another model are never compared with the query', async () => {
  const u = uuid();
  const current = await addVideo(u, { text: 'bge-m3', image: 'siglip2' });
  const old = await addVideo(u, { text: 'old-text-model', image: 'old-image-model' });
  const fresh = await addScene(current, u, {
    text: withCosine(TEXT_DIM, 0.7, 1),
    image: withCosine(IMAGE_DIM, 0.15, 1),
  });
  const stale = await addScene(old, u, {
    text: withCosine(TEXT_DIM, 0.7, 2),
    image: withCosine(IMAGE_DIM, 0.15, 2),
    transcript: 'harbour',
  });
  const args = { query: 'harbour', text: query(TEXT_DIM), image: query(IMAGE_DIM) };
  const unfiltered = await search(u, args);
  assert.equal(unfiltered.find((h) => h.scene_id === stale)!.vision_score > 0, true);

  const filtered = await search(u, { ...args, textModel: 'bge-m3', imageModel: 'siglip2' });
  const freshHit = filtered.find((h) => h.scene_id === fresh)!;
  close(freshHit.text_score, calibrate('text', 0.7), 'same-model text');
  close(freshHit.vision_score, calibrate('vision', 0.15), 'same-model vision');
  // The old video's scene still matches by its words, but its vectors count for nothing.
  const staleHit = filtered.find((h) => h.scene_id === stale)!;
  assert.equal(staleHit.vision_score, 0);
  const wordsOnly = (await search(u, { query: 'harbour' }))[0];
  close(staleHit.text_score, wordsOnly.text_score, 'old-model scene scored by words alone');
  // Filtering on one space leaves the other alone.
  const textOnly = await search(u, { ...args, textModel: 'bge-m3' });
  assert.ok(textOnly.find((h) => h.scene_id === stale)!.vision_score > 0);
});

test('Korean: a noun finds the word with its particle attached, and the snippet highlights it', async () => {
  const u = uuid();
  const v = await addVideo(u);
  const cat = await addScene(v, u, { transcript: '오늘 고양이가 해변에서 뛰어요' });
  await addScene(v, u, { transcript: '강아지는 집에 있어요' });
  const onScreen = await addScene(v, u, { ocr: '고양이 카페 <영업중>' });
  const hits = await search(u, { query: '고양이' });
  assert.deepEqual(new Set(hits.map((h) => h.scene_id)), new Set([cat, onScreen]));
  const catHit = hits.find((h) => h.scene_id === cat)!;
  assert.match(catHit.snippet!, /<b>고양이가<\/b>/);
  // On-screen text is quoted when it is what matched, and it arrives escaped.
  const ocrHit = hits.find((h) => h.scene_id === onScreen)!;
  assert.match(ocrHit.snippet!, /<b>고양이<\/b> 카페 &lt;영업중/);
  assert.doesNotMatch(ocrHit.snippet!, /<영업중/);
  assert.ok(catHit.score > ocrHit.score, 'spoken words outrank on-screen text');
  // Typed with another particle than the one spoken, the noun still finds it.
  const withParticle = await search(u, { query: '고양이는' });
  assert.deepEqual(new Set(withParticle.map((h) => h.scene_id)), new Set([cat, onScreen]));
  assert.match(withParticle.find((h) => h.scene_id === cat)!.snippet!, /<b>고양이가<\/b>/);
});

test('Chinese and Japanese: words inside unspaced text are found by their character pairs, and marked', async () => {
  const u = uuid();
  const zh = await addVideo(u);
  await setLanguage(zh, 'zh');
  // "Today we discuss the customer retention rate": the phrase sits inside one unbroken sentence.
  const talk = await addScene(zh, u, { transcript: '今天我们讨论客户保留率的问题，然后看数据。' });
  const slide = await addScene(zh, u, { ocr: '客户保留策略 <2026>' });
  const service = await addScene(zh, u, { transcript: '客户服务很重要' }); // customer service: one pair of four
  await addScene(zh, u, { transcript: '我们明天见' }); // see you tomorrow: nothing in common
  const kitten = await addScene(zh, u, { transcript: '小猫在沙发上睡觉' });
  const hits = await search(u, { query: '客户保留' });
  assert.deepEqual(
    hits.map((h) => h.scene_id),
    [talk, slide, service],
    'the whole phrase first (spoken above on screen), a scene sharing only 客户 last',
  );
  assert.match(hits[0].snippet!, /讨论<b>客户保留<\/b>率/, 'the pairs of one phrase make one bold run');
  assert.match(hits[1].snippet!, /^<b>客户保留<\/b>策略 &lt;2026&gt;$/, 'on-screen text quoted and escaped');
  // One character is a word of its own in Chinese: 猫 (cat) finds 小猫 (kitten).
  assert.deepEqual(
    (await search(u, { query: '猫' })).map((h) => h.scene_id),
    [kitten],
  );
  // Nothing for nothing: no pair of the query occurs anywhere.
  assert.deepEqual(await search(u, { query: '天气预报' }), []);

  const ja = await addVideo(u);
  await setLanguage(ja, 'ja');
  const tower = await addScene(ja, u, { transcript: '昨日は東京タワーに行きました。iPhoneで写真を撮りました。' });
  const kyoto = await addScene(ja, u, { transcript: '京都のお寺はとても静かでした' });
  assert.deepEqual(
    (await search(u, { query: '東京タワー' })).map((h) => h.scene_id),
    [tower],
  );
  assert.deepEqual(
    (await search(u, { query: '京都' })).map((h) => h.scene_id),
    [kyoto],
    '京 alone in 東京 is no match for 京都',
  );
  // A Latin word written against Japanese with no space is a word of its own.
  const phone = await search(u, { query: 'iphone' });
  assert.deepEqual(
    phone.map((h) => h.scene_id),
    [tower],
  );
  assert.match(phone[0].snippet!, /<b>iPhone<\/b>で写真/);

  // tsv follows every write of the text (a trigger), and nothing else sets it.
  await db.rootPool.query(`update app_public.scenes set transcript = '明天的天气预报' where id = $1`, [kyoto]);
  assert.deepEqual(
    (await search(u, { query: '天气预报' })).map((h) => h.scene_id),
    [kyoto],
  );
  await db.rootPool.query(`update app_public.scenes set tsv = to_tsvector('simple', 'forged') where id = $1`, [kyoto]);
  assert.deepEqual(await search(u, { query: 'forged' }), []);
  assert.deepEqual(
    (await search(u, { query: '天气' })).map((h) => h.scene_id),
    [kyoto],
  );
});

async function setLanguage(videoId: string, language: string | null) {
  await db.rootPool.query('update app_public.videos set language = $2 where id = $1', [videoId, language]);
}

test('words in other forms: the stem of the video language matches, ranked below the word as written', async () => {
  const u = uuid();
  const v = await addVideo(u);
  await setLanguage(v, 'en');
  const spoken = await addScene(v, u, { transcript: 'now we are roasting the tomatoes in the oven' });
  const exact = await addScene(v, u, { transcript: 'a roasted tomato salad' });
  await addScene(v, u, { transcript: 'boiling pasta water' });
  const hits = await search(u, { query: 'roasted tomato' });
  assert.deepEqual(
    hits.map((h) => h.scene_id),
    [exact, spoken],
  );
  assert.ok(hits[0].text_score > hits[1].text_score && hits[1].text_score > 0);
  // The snippet highlights the inflected words it matched.
  assert.match(hits[1].snippet!, /<b>roasting<\/b> the <b>tomatoes<\/b>/);
  // "whisking egg" means "whisk the eggs".
  const whisk = await addScene(v, u, { transcript: 'whisk the eggs until foamy' });
  assert.deepEqual(
    (await search(u, { query: 'whisking egg' })).map((h) => h.scene_id),
    [whisk],
  );
});

test('a stem row records its written sources, and every form still finds every scene that holds it', async () => {
  const u = uuid();
  const v = await addVideo(u);
  await setLanguage(v, 'en');
  const city = await addScene(v, u, { transcript: 'city lights' });
  const cities = await addScene(v, u, { transcript: 'two cities' });
  const both = await addScene(v, u, { transcript: 'the city and its cities' });
  const dying = await addScene(v, u, { transcript: 'dying embers' });
  await addScene(v, u, { transcript: 'citizens' });
  // src: the common prefix of the scene's written words with that stem. The
  // words pass skips a stem row when src starts with the query word, since
  // the word's written range finds that scene already.
  const { rows } = await db.rootPool.query(
    `select scene_id, lexeme, src from app_hidden.scene_terms where kind = 's' and scene_id = any($1) order by lexeme`,
    [[city, cities, both, dying]],
  );
  const src = (scene: string, lexeme: string) => rows.find((r) => r.scene_id === scene && r.lexeme === lexeme)?.src;
  // A stem with one written source keeps that word and a space: the words
  // pass of "city" skips it, while "cit" (two sources) may be any word.
  assert.equal(src(city, 'citi'), 'city ');
  assert.equal(src(cities, 'citi'), 'cities ');
  assert.equal(src(both, 'citi'), 'cit');
  assert.equal(src(dying, 'die'), 'dying ');
  assert.equal(src(dying, 'ember'), 'embers ');

  const found = async (query: string) => (await search(u, { query })).map((h) => h.scene_id).sort();
  assert.deepEqual(await found('city'), [city, cities, both].sort());
  assert.deepEqual(await found('cities'), [city, cities, both].sort());
  assert.deepEqual(await found('die'), [dying]);
  assert.deepEqual(await found('ember'), [dying]);
  // A query word that is the common prefix of a scene's forms, but none of
  // them, finds the scene through the stem: src "agree" is no single word.
  const agreed = await addScene(v, u, { transcript: 'she agreed and he agrees' });
  assert.deepEqual(await found('agree'), [agreed]);
  // The word as written still ranks first.
  assert.equal((await search(u, { query: 'cities' }))[0].scene_id, both);

  // With a person, the stems are read among the person's scenes instead.
  const person = await addPerson(u, v, [city, dying], mulberry32(7));
  const ofPerson = async (query: string) => (await search(u, { query, personId: person })).map((h) => h.scene_id);
  assert.deepEqual(await ofPerson('cities'), [city]);
  assert.deepEqual(await ofPerson('die'), [dying]);
});

test('the language of the video picks the stemmer; languages without one match as written', async () => {
  const u = uuid();
  const de = await addVideo(u);
  await setLanguage(de, 'deu');
  const haus = await addScene(de, u, { transcript: 'wir bauen die Häuser am Fluss' });
  const ko = await addVideo(u);
  await setLanguage(ko, 'ko');
  const cat = await addScene(ko, u, { transcript: '오늘 고양이가 해변에서 뛰어요' });
  const { rows } = await db.rootPool.query(
    'select id, stem_config::text as cfg, tsv_stem::text as stems from app_public.scenes where id = any($1)',
    [[haus, cat]],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  assert.equal(byId.get(haus).cfg, 'app_hidden.german_folded');
  assert.match(byId.get(haus).stems, /'haus'/);
  assert.equal(byId.get(cat).cfg, 'simple');
  assert.equal(byId.get(cat).stems, '', 'no stemmer: nothing stored twice');
  assert.deepEqual(
    (await search(u, { query: 'Haus' })).map((h) => h.scene_id),
    [haus],
  );
  assert.deepEqual(
    (await search(u, { query: '고양이' })).map((h) => h.scene_id),
    [cat],
  );
  // A language recorded after the scenes (a reindex that transcribes) restems them.
  await setLanguage(de, 'en');
  const after = await db.rootPool.query('select stem_config::text as cfg from app_public.scenes where id = $1', [haus]);
  assert.equal(after.rows[0].cfg, 'app_hidden.english_folded');
});

test('a library in several languages, one not yet known, stems a query in each of them', async () => {
  // search_scenes finds the library's languages by descending the videos' (owner, language)
  // index once per language: the first in order, the last, and a video without one (English
  // is assumed) must all be found.
  const u = uuid();
  const video = async (language: string | null, transcript: string) => {
    const v = await addVideo(u);
    await setLanguage(v, language);
    return addScene(v, u, { transcript });
  };
  const haus = await video('deu', 'wir bauen die Häuser am Fluss');
  const cat = await video('ko', '오늘 고양이가 해변에서 뛰어요');
  const gatos = await video('spa', 'los gatos duermen');
  const cities = await video(null, 'two cities at night');
  const found = async (query: string) => (await search(u, { query })).map((h) => h.scene_id);
  assert.deepEqual(await found('Haus'), [haus]);
  assert.deepEqual(await found('gato'), [gatos]);
  assert.deepEqual(await found('city'), [cities]);
  assert.deepEqual(await found('고양이'), [cat]);
});

test('every language PostgreSQL has a stemmer for is stemmed: Indonesian, Greek, Catalan …', async () => {
  const cfg = async (language: string) =>
    (await db.rootPool.query('select app_hidden.stem_config($1)::text as c', [language])).rows[0].c;
  assert.deepEqual(
    [await cfg('id'), await cfg('ell'), await cfg('ca'), await cfg('yi'), await cfg('ko'), await cfg('pl')],
    ['indonesian', 'greek', 'app_hidden.catalan_folded', 'yiddish', 'simple', 'app_hidden.simple_folded'],
  );
  const u = uuid();
  const scene = async (language: string, transcript: string) => {
    const v = await addVideo(u);
    await setLanguage(v, language);
    return addScene(v, u, { transcript });
  };
  const food = await scene('id', 'makanan ini enak sekali');
  const houses = await scene('el', 'τα σπίτια της πόλης');
  const church = await scene('ca', "la plaça de l'església");
  await scene('en', 'nothing to see here');
  const ids = async (query: string) => (await search(u, { query })).map((h) => h.scene_id);
  assert.deepEqual(await ids('dimakan'), [food]);
  const greek = await search(u, { query: 'σπίτι' });
  assert.deepEqual(
    greek.map((h) => h.scene_id),
    [houses],
  );
  assert.match(greek[0].snippet!, /<b>σπίτια<\/b>/);
  assert.deepEqual(await ids('esglesia'), [church]);
});

test('languages with no stemmer whose letters carry marks match them folded, and keep their prefixes', async () => {
  const u = uuid();
  const pl = await addVideo(u);
  await setLanguage(pl, 'pl');
  const turtle = await addScene(pl, u, { transcript: 'żółw na plaży' });
  const cat = await addScene(pl, u, { transcript: 'kota nie ma w domu' });
  const vi = await addVideo(u);
  await setLanguage(vi, 'vi');
  const country = await addScene(vi, u, { ocr: 'Xin chào Việt Nam' });
  const { rows } = await db.rootPool.query(
    'select stem_config::text as c, tsv_stem::text as t from app_public.scenes where id = $1',
    [turtle],
  );
  assert.equal(rows[0].c, 'app_hidden.simple_folded');
  assert.match(rows[0].t, /'zolw'/);
  const ids = async (query: string) => (await search(u, { query })).map((h) => h.scene_id);
  assert.deepEqual(await ids('zolw'), [turtle]);
  assert.deepEqual(await ids('żółw'), [turtle]);
  assert.deepEqual(await ids('viet nam'), [country]);
  // No stemmer in scope: a word of three letters or more is still a prefix.
  assert.deepEqual(await ids('kot'), [cat]);
  const hit = (await search(u, { query: 'plazy' }))[0];
  assert.equal(hit.scene_id, turtle);
  assert.match(hit.snippet!, /<b>plaży<\/b>/);
});

test('a word finds its forms with and without accents, in languages where they are marks', async () => {
  const u = uuid();
  const fr = await addVideo(u);
  await setLanguage(fr, 'fr');
  const ecole = await addScene(fr, u, { transcript: "L'école est fermée aujourd'hui" });
  const en = await addVideo(u);
  const accented = await addScene(en, u, { transcript: 'we met at the café on the corner' });
  const plain = await addScene(en, u, { ocr: 'CAFE OPEN' });
  const sv = await addVideo(u);
  await setLanguage(sv, 'sv');
  const year = await addScene(sv, u, { transcript: 'ett bra år för oss' });
  await addScene(en, u, { transcript: 'nothing to see here' });
  const ids = async (query: string) => (await search(u, { query })).map((h) => h.scene_id);

  // Typed without the accents, or with them where the scene has none.
  assert.deepEqual(await ids('ecole'), [ecole]);
  assert.deepEqual(await ids('écoles'), [ecole]);
  assert.deepEqual(await ids('fermee'), [ecole]);
  // Both cafés; the one written as typed counts as written, the other as a stem.
  const cafe = await search(u, { query: 'cafe' });
  assert.deepEqual(
    cafe.map((h) => h.scene_id),
    [plain, accented],
  );
  assert.ok(cafe[0].text_score > cafe[1].text_score, 'the form as typed ranks first');
  assert.deepEqual(
    (await search(u, { query: 'café' })).map((h) => h.scene_id),
    [accented, plain],
  );
  // The snippet marks the accented word the unaccented query found.
  assert.match(cafe[1].snippet!, /<b>café<\/b>/);
  assert.match((await search(u, { query: 'ecole' }))[0].snippet!, /<b>école<\/b>/);
  // A scene stemmed before folding (pg_catalog.english) is stemmed anew
  // when its words are written again.
  await db.rootPool.query(`update app_public.scenes set stem_config = 'english' where id = $1`, [plain]);
  await db.rootPool.query(`update app_public.scenes set ocr_text = 'CAFÉ OUVERT' where id = $1`, [plain]);
  assert.deepEqual(
    (await search(u, { query: 'cafe' })).map((h) => h.scene_id),
    [accented, plain],
    'both found as stems now',
  );
  // In Swedish å is a letter: "ar" is another word.
  assert.deepEqual(await ids('år'), [year]);
  assert.deepEqual(await ids('ar'), []);
});

test('a word finds the forms no stemmer relates to it (irregular, British or American), and the labels they name', async () => {
  const forms = async (sql: string, params: unknown[]) => (await db.rootPool.query(sql, params)).rows[0].x;
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['people']), ['person']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['person']), ['people']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['went']), ['go', 'gone']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['swimming']), ['swim', 'swam', 'swum']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['centres']), ['centre', 'center']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['tree']), []);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['saw']), [], 'a form of two meanings');
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', [null]), []);
  // -ise/-ize and -yse/-yze by rule, with the endings made from them.
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['organise']), ['organize']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['realizations']), ['realisations']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['paralysed']), ['paralyzed']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['recognisable']), ['recognizable']);
  assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', ['analyse']), ['analyze'], 'the list first');
  for (const w of ['wise', 'size', 'noise', 'seized', 'raising', 'citizen', 'basis'])
    assert.deepEqual(await forms('select app_hidden.search_forms($1) as x', [w]), [], w);
  assert.deepEqual(await forms('select app_hidden.search_word_forms($1) as x', [['people', null, 'tree']]), [
    'people person',
    null,
    'tree',
  ]);
  assert.deepEqual(
    await forms('select app_hidden.search_tag_words(app_hidden.search_word_forms($1)) as x', [
      ['people', 'mice', 'person'],
    ]),
    ['people', 'mice', 'person', 'mouse'],
  );

  const u = uuid();
  const v = await addVideo(u);
  const children = await addScene(v, u, { transcript: 'the children are playing in the park' });
  const child = await addScene(v, u, { transcript: 'a child plays with a ball' });
  const swam = await addScene(v, u, { transcript: 'she swam across the lake' });
  const crowd = await addScene(v, u, { tags: [{ label: 'person', score: 0.9 }] });
  const autumn = await addScene(v, u, { tags: [{ label: 'leaves', score: 0.8 }] });
  const colours = await addScene(v, u, { ocr: 'The colours of autumn' });
  const center = await addScene(v, u, { transcript: 'we meet in the city center' });
  const organized = await addScene(v, u, { transcript: 'volunteers organized the whole festival' });
  const realisation = await addScene(v, u, { ocr: 'A sudden realisation' });
  await addScene(v, u, { transcript: 'nothing to see here', tags: [{ label: 'car', score: 0.9 }] });
  const ids = async (query: string) => (await search(u, { query })).map((h) => h.scene_id);

  // The form as typed first, the other form as a stem.
  assert.deepEqual(await ids('child'), [child, children]);
  assert.deepEqual(await ids('children'), [children, child]);
  const swim = await search(u, { query: 'swimming' });
  assert.deepEqual(
    swim.map((h) => h.scene_id),
    [swam],
  );
  assert.match(swim[0].snippet!, /<b>swam<\/b>/);
  // British and American spellings.
  assert.deepEqual(await ids('colorful'), [colours]);
  assert.deepEqual(await ids('centre'), [center]);
  const organise = await search(u, { query: 'organise' });
  assert.deepEqual(
    organise.map((h) => h.scene_id),
    [organized],
  );
  assert.match(organise[0].snippet!, /<b>organized<\/b>/);
  assert.deepEqual(await ids('realization'), [realisation]);
  assert.deepEqual(await ids('realise'), [realisation], 'the same spelling is a stem as before');
  // Labels are named by a word's other forms too.
  const people = await search(u, { query: 'people' });
  assert.deepEqual(
    people.map((h) => h.scene_id),
    [crowd],
  );
  assert.ok(people[0].tags_score > 0.8);
  assert.deepEqual(await ids('leaf'), [autumn]);
  // So it is for a person in few scenes, where each scene's tags are read.
  const person = await addPerson(u, v, [crowd, child], mulberry32(11));
  assert.deepEqual(
    (await search(u, { query: 'people', personId: person })).map((h) => h.scene_id),
    [crowd],
  );
  assert.deepEqual(
    (await search(u, { query: 'children', personId: person })).map((h) => h.scene_id),
    [child],
  );
});

test('a compound is found written with its hyphen or without ("e-mail", "email"), and stemmed either way', async () => {
  const u = uuid();
  const v = await addVideo(u);
  const hyphen = await addScene(v, u, { transcript: 'connect to the Wi-Fi network first' });
  const joined = await addScene(v, u, { transcript: 'connect to the wifi network first' });
  const email = await addScene(v, u, { transcript: 'send me an email tomorrow' });
  const mail = await addScene(v, u, { ocr: 'E-MAIL ADDRESS' });
  const shirt = await addScene(v, u, { transcript: 'a red t-shirt and jeans' });
  const mails = await addScene(v, u, { transcript: 'two e-mails arrived today' });
  const spaced = await addScene(v, u, { transcript: 'we plan for the long term' });
  // On-screen text whose line broke inside a word (worker/ml/ocr/detect.ts rowsText).
  const broken = await addScene(v, u, { ocr: 'The cus-tomer is king' });
  await addScene(v, u, { transcript: 'a fine day at the beach' });
  const ids = async (query: string) => new Set((await search(u, { query })).map((h) => h.scene_id));

  const wifi = await search(u, { query: 'wifi' });
  assert.deepEqual(new Set(wifi.map((h) => h.scene_id)), new Set([hyphen, joined]));
  const score = (id: string) => wifi.find((h) => h.scene_id === id)!.text_score;
  assert.equal(score(hyphen), score(joined), 'the other spelling counts as written');
  assert.match(wifi.find((h) => h.scene_id === hyphen)!.snippet!, /<b>Wi<\/b>-<b>Fi<\/b>/);
  assert.match(wifi.find((h) => h.scene_id === joined)!.snippet!, /<b>wifi<\/b>/);
  assert.deepEqual(await ids('wi-fi'), new Set([hyphen, joined]));
  assert.deepEqual(await ids('e-mail'), new Set([email, mail, mails]));
  assert.deepEqual(await ids('tshirt'), new Set([shirt]));
  // Stemmed, weaker: "e-mails" for "email"; for "tshirts", "t-shirt" by the stem "tshirt".
  const mailHits = await search(u, { query: 'email' });
  assert.deepEqual(new Set(mailHits.map((h) => h.scene_id)), new Set([email, mail, mails]), 'on-screen text too');
  const mailScore = (id: string) => mailHits.find((h) => h.scene_id === id)!.text_score;
  assert.ok(mailScore(mails) < mailScore(email), 'stemmed below written');
  assert.match(mailHits.find((h) => h.scene_id === mails)!.snippet!, /<b>e<\/b>-<b>mails<\/b>/);
  assert.deepEqual(await ids('tshirts'), new Set([shirt]));
  assert.deepEqual(await ids('emails'), new Set([email, mail, mails]));
  assert.deepEqual(await ids('customer'), new Set([broken]));
  // The parts of a typed compound still find them apart, as before.
  assert.deepEqual(await ids('long-term'), new Set([spaced]));
  // So it is for a person in few scenes, whose scenes' terms are read as ranges.
  const person = await addPerson(u, v, [hyphen, email], mulberry32(12));
  assert.deepEqual(
    new Set((await search(u, { query: 'wifi email', personId: person })).map((h) => h.scene_id)),
    new Set([hyphen, email]),
  );
});

test('a number with thousands separators is one number: "10000" and "10,000" find each other, lists stay lists', async () => {
  const u = uuid();
  const v = await addVideo(u);
  await setLanguage(v, 'en');
  const raised = await addScene(v, u, { transcript: 'we raised $10,000 from our donors' });
  const revenue = await addScene(v, u, { ocr: 'Revenue 1,250,000 USD' });
  const steps = await addScene(v, u, { transcript: 'about 10000 steps a day' });
  const years = await addScene(v, u, { transcript: 'the years 2019,2020 and 10 more' });
  await addScene(v, u, { transcript: 'count 1,2,3 and stop' });
  const ids = async (query: string) => new Set((await search(u, { query })).map((h) => h.scene_id));
  assert.deepEqual(await ids('10000'), new Set([raised, steps]));
  assert.deepEqual(await ids('$10,000'), new Set([raised, steps]));
  assert.deepEqual(await ids('1250000'), new Set([revenue]));
  assert.deepEqual(await ids('1,250,000'), new Set([revenue]));
  assert.deepEqual(await ids('2020'), new Set([years]));
});

test('a number is found with a hyphen before it or without ("COVID-19", "covid 19"), as written', async () => {
  const u = uuid();
  const v = await addVideo(u);
  await setLanguage(v, 'en');
  // The parser keeps the hyphen with the number: these hold the words "-19" and "-4".
  const hyphen = await addScene(v, u, { transcript: 'the COVID-19 vaccine trial' });
  const spaced = await addScene(v, u, { transcript: 'the covid 19 vaccine trial' });
  const gpt = await addScene(v, u, { ocr: 'GPT-4 benchmark results' });
  const range = await addScene(v, u, { transcript: 'read pages 10-19 tonight' });
  await addScene(v, u, { transcript: 'a covid test at 9' });
  await addScene(v, u, { transcript: 'the vaccine trial of 2019' });
  const hits = async (query: string) => await search(u, { query });
  const ids = async (query: string) => new Set((await hits(query)).map((h) => h.scene_id));

  const spoken = await hits('covid 19');
  const score = (id: string) => spoken.find((h) => h.scene_id === id)!.text_score;
  assert.deepEqual(
    spoken
      .slice(0, 2)
      .map((h) => h.scene_id)
      .sort(),
    [hyphen, spaced].sort(),
  );
  assert.equal(score(hyphen), score(spaced), 'the signed number counts as written');
  assert.match(spoken.find((h) => h.scene_id === hyphen)!.snippet!, /<b>COVID<\/b><b>-19<\/b>/);
  const typed = await hits('COVID-19');
  assert.deepEqual(
    typed
      .slice(0, 2)
      .map((h) => h.scene_id)
      .sort(),
    [hyphen, spaced].sort(),
  );
  assert.ok(
    typed.find((h) => h.scene_id === range),
    '"-19" also finds "19" as part of a range',
  );
  assert.deepEqual(await ids('gpt 4'), new Set([gpt]));
  assert.deepEqual(await ids('19'), new Set([hyphen, spaced, range]), 'not "2019"');

  // Letters and number run together (a hashtag, on-screen text): every
  // spelling finds every other. Letters are parted from their number only
  // from three on: "mp3" stays one word.
  const joined = await addScene(v, u, { ocr: '#covid19 BOOSTER' });
  const phone = await addScene(v, u, { ocr: 'iPhone15 Pro' });
  const player = await addScene(v, u, { transcript: 'an old mp3 player' });
  for (const q of ['covid19', 'covid-19', 'covid 19', 'COVID19']) {
    const found = await hits(q);
    assert.deepEqual(
      found
        .slice(0, 3)
        .map((h) => h.scene_id)
        .sort(),
      [hyphen, spaced, joined].sort(),
      `"${q}"`,
    );
  }
  assert.ok((await ids('covid')).has(joined));
  assert.ok((await ids('booster 19')).has(joined));
  assert.deepEqual(await ids('iphone 15'), new Set([phone]));
  assert.deepEqual(await ids('iphone-15'), new Set([phone]));
  assert.deepEqual(await ids('iphone'), new Set([phone]));
  assert.deepEqual(await ids('mp3'), new Set([player]));
  assert.deepEqual(await ids('mp'), new Set());
  assert.deepEqual(await ids('gpt4'), new Set([gpt]));
});

test('a misread on-screen word still matches, weaker than the word as written or stemmed', async () => {
  const u = uuid();
  const v = await addVideo(u);
  await setLanguage(v, 'en');
  const misread = await addScene(v, u, { ocr: 'NEW Laotop PRO 14' });
  const exact = await addScene(v, u, { ocr: 'NEW Laptop PRO 14' });
  const stemmed = await addScene(v, u, { transcript: 'two laptops on the desk' });
  await addScene(v, u, { ocr: 'Desktop tower' });
  const hits = await search(u, { query: 'laptop' });
  // "laptops" is the stemmed form, "Laptop" the word as written: the misread is weaker than both.
  assert.deepEqual(new Set(hits.map((h) => h.scene_id)), new Set([misread, exact, stemmed]));
  const score = (id: string) => hits.find((h) => h.scene_id === id)!.text_score;
  assert.ok(score(exact) > score(misread) && score(stemmed) > score(misread) && score(misread) > 0);
  // Exact > stemmed > fuzzy for the same on-screen word.
  const w = await addVideo(u);
  await setLanguage(w, 'en');
  const asWritten = await addScene(w, u, { ocr: 'ROASTED PEPPERS' });
  const inflected = await addScene(w, u, { ocr: 'ROASTING PEPPERS' });
  const wrong = await addScene(w, u, { ocr: 'ROASIED PEPPERS' });
  const ranked = await search(u, { query: 'roasted', videoIds: [w] });
  assert.deepEqual(
    ranked.map((h) => h.scene_id),
    [asWritten, inflected, wrong],
  );
  // Short words have too few trigrams to tell a misread from another word.
  const cat = await addScene(w, u, { ocr: 'CAR' });
  assert.ok(!(await search(u, { query: 'cat', videoIds: [w] })).some((h) => h.scene_id === cat));
});

// The fuzzy match bypasses row security to use the trigram index (pg_trgm's
// operators are not leakproof), so it filters by the caller itself.
test("a misread on-screen word is looked up among the caller's scenes only", async () => {
  const [a, b] = [uuid(), uuid()];
  const [va, va2] = [await addVideo(a), await addVideo(a)];
  const mine = await addScene(va, a, { ocr: 'QUARTERLY REVENUE' });
  const mine2 = await addScene(va2, a, { ocr: 'QUARTERLY REVENUE' });
  const theirs = await addScene(await addVideo(b), b, { ocr: 'QUARTERLY REVENUE' });
  const fuzzy = (
    user: string,
    videoIds: string[] | null = null,
    scenes: string[] | null = null,
    exclude: string[] = [],
  ) =>
    withUserDb(db, user, async (c) =>
      (
        await c.query(`select x from app_hidden.search_ocr_fuzzy(array['revenu'], array[true], $1, $2, $3, 10) x`, [
          videoIds,
          scenes,
          exclude,
        ])
      ).rows
        .map((r) => r.x as string)
        .sort(),
    );
  assert.deepEqual(await fuzzy(a), [mine, mine2].sort());
  assert.deepEqual(await fuzzy(b), [theirs]);
  assert.deepEqual(await fuzzy(uuid()), []);
  // Within the videos asked for, a person's scenes, and but the candidates already taken.
  assert.deepEqual(await fuzzy(a, [va2]), [mine2]);
  assert.deepEqual(await fuzzy(a, null, [mine, theirs]), [mine]);
  assert.deepEqual(await fuzzy(a, null, null, [mine]), [mine2]);
  assert.deepEqual(await fuzzy(b, [va]), []);
  assert.deepEqual((await search(a, { query: 'revenu' })).map((h) => h.scene_id).sort(), [mine, mine2].sort());
});

test('a word is the start of other words only where no stemmer finds its forms, or in Korean', async () => {
  const u = uuid();
  const en = await addVideo(u);
  await setLanguage(en, 'en');
  const car = await addScene(en, u, { transcript: 'the car is parked outside' });
  const cars = await addScene(en, u, { transcript: 'two cars in the rain' });
  await addScene(en, u, {
    transcript: 'a career in teaching',
    ocr: 'CARD GAMES',
    tags: [{ label: 'cartoon', score: 0.9 }],
  });
  const tagged = await addScene(en, u, { tags: [{ label: 'dog', score: 0.9 }] });
  await addScene(en, u, { tags: [{ label: 'doghouse', score: 0.9 }] });
  // A label word is named by the same English stem, not by the start of another word.
  assert.deepEqual(
    (await search(u, { query: 'dogs' })).map((h) => [h.scene_id, h.tags_score]),
    [[tagged, 0.9]],
  );
  const ids = async (query: string, videoIds?: string[]) =>
    new Set((await search(u, { query, videoIds })).map((h) => h.scene_id));
  // English stems "cars" to "car"; "career", "card" and the label "cartoon" only begin with it.
  assert.deepEqual(await ids('car'), new Set([car, cars]));
  const hits = await search(u, { query: 'car' });
  assert.deepEqual(
    hits.map((h) => h.scene_id),
    [car, cars],
    'as written above stemmed',
  );
  // A language PostgreSQL cannot stem keeps prefixes, so an inflected form is still found.
  const pl = await addVideo(u);
  await setLanguage(pl, 'pl');
  const kota = await addScene(pl, u, { transcript: 'widzę kota na dachu' });
  assert.deepEqual(await ids('kot', [pl]), new Set([kota]));
  // With English in scope, the same word is matched as written and stemmed only.
  assert.deepEqual(await ids('kot'), new Set());
  // Korean words stay prefixes beside a stemming language: the noun carries its particle.
  const ko = await addVideo(u);
  await setLanguage(ko, 'ko');
  const cat = await addScene(ko, u, { transcript: '오늘 고양이가 해변에서 뛰어요' });
  assert.deepEqual(await ids('고양이'), new Set([cat]));
});

test('nothing for nothing: a query none of whose words occur in any form finds no scene without vectors', async () => {
  const u = uuid();
  const v = await addVideo(u);
  await setLanguage(v, 'en');
  await addScene(v, u, {
    transcript: 'we are roasting the tomatoes',
    ocr: 'Laptop sale',
    tags: [{ label: 'kitchen', score: 0.9 }],
  });
  await addScene(v, u, { transcript: 'the harbour at night', ocr: 'PIER 39' });
  assert.deepEqual(await search(u, { query: 'giraffe migration' }), []);
  assert.deepEqual(await search(u, { query: 'zebra' }), []);
  // One matching word in any form is enough to find something.
  assert.equal((await search(u, { query: 'giraffe tomato' })).length, 1);
});

test('bad input gets a clear error', async () => {
  const u = uuid();
  const cases: [SearchArgs, RegExp][] = [
    [{ pageSize: 0 }, /page_size must be between 1 and 100/],
    [{ pageSize: 101 }, /page_size must be between 1 and 100/],
    [{ pageOffset: -1 }, /page_offset must be 0 or more/],
    [{ wText: -1 }, /weights must be non-negative/],
    [{ wText: 0, wVision: 0, wTags: 0 }, /not all zero/],
    [{ text: [1, 2, 3] }, /text_embedding must have 1024 numbers \(got 3\)/],
    [{ image: query(TEXT_DIM) }, /image_embedding must have 1152 numbers \(got 1024\)/],
    [{ text: new Array(TEXT_DIM).fill(0) }, /text_embedding must not be all zeros/],
  ];
  for (const [args, message] of cases) {
    await assert.rejects(search(u, args), message);
  }
});

test('only signed-in users may call it', async () => {
  await assert.rejects(
    withAnonDb(db, (c) => searchAs(c, { query: 'x' })),
    { code: '42501' },
  );
  const { rows } = await db.rootPool.query(
    `select r.rolname from pg_proc p, aclexplode(p.proacl) a join pg_roles r on r.oid = a.grantee
     where p.oid = 'app_public.search_scenes'::regproc and a.privilege_type = 'EXECUTE' and r.rolname <> current_user`,
  );
  assert.deepEqual(
    rows.map((r) => r.rolname),
    ['authenticated'],
  );
});
