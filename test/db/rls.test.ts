/*
 * Row-level security, both ways, as the roles requests really use: anon,
 * two signed-in users and the worker. Every denial is paired with a check as
 * the owner that the other user's row is really there, so no test passes
 * because there was nothing to see.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type pg from 'pg';
import { asRoot, createTestDatabase, uuid, withAnonDb, withUserDb, withWorkerDb } from '../helpers/db.ts';

const db = await createTestDatabase();
const A = uuid(),
  B = uuid();
const ids = { videoA: '', videoB: '', sceneA: '', sceneB: '' };

before(async () => {
  for (const [owner, v, s] of [
    [A, 'videoA', 'sceneA'],
    [B, 'videoB', 'sceneB'],
  ] as const) {
    const {
      rows: [video],
    } = await db.rootPool.query(
      `insert into app_public.videos (owner_id, title, object_key) values ($1, $2, $3) returning id`,
      [owner, `title of ${v}`, `u/${owner}/${uuid()}/clip.mp4`],
    );
    ids[v] = video.id;
    const {
      rows: [scene],
    } = await db.rootPool.query(
      `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, text_vec)
       values ($1, $2, 0, 0, 4, 'hello', array_fill(0.03::real, array[1024])::vector) returning id`,
      [video.id, owner],
    );
    ids[s] = scene.id;
  }
});

/** As the owner, outside any user's transaction: what really exists. */
const rootCount = async (table: string, id: string) =>
  Number((await db.rootPool.query(`select count(*) from app_public.${table} where id = $1`, [id])).rows[0].count);
const denied = { code: '42501' };
const rlsDenied = { code: '42501', message: /row-level security/ };

test('anon can neither read nor write videos or scenes', async () => {
  const statements = [
    `select * from app_public.videos`,
    `insert into app_public.videos (title, object_key) values ('x', 'u/x/y.mp4')`,
    `update app_public.videos set title = 'x'`,
    `delete from app_public.videos`,
    `select * from app_public.scenes`,
    `delete from app_public.scenes`,
  ];
  for (const sql of statements)
    await assert.rejects(
      withAnonDb(db, (c) => c.query(sql)),
      denied,
      sql,
    );
  assert.equal(await rootCount('videos', ids.videoA), 1);
});

test('each user reads only their own videos and scenes', async () => {
  for (const [user, mine, theirs] of [
    [A, 'A', 'B'],
    [B, 'B', 'A'],
  ] as const) {
    await withUserDb(db, user, async (c) => {
      const videos = (await c.query(`select id from app_public.videos`)).rows.map((r) => r.id);
      assert.deepEqual(videos, [ids[`video${mine}`]]);
      const scenes = (await c.query(`select id from app_public.scenes`)).rows.map((r) => r.id);
      assert.deepEqual(scenes, [ids[`scene${mine}`]]);
      assert.equal(
        (await c.query(`select 1 from app_public.videos where id = $1`, [ids[`video${theirs}`]])).rowCount,
        0,
      );
    });
  }
  assert.equal(await rootCount('videos', ids.videoB), 1);
  assert.equal(await rootCount('scenes', ids.sceneB), 1);
});

test("a video's transcript lines are its owner's alone, even through a row built by hand", async () => {
  // As the transcribe step leaves them: out of order, and with entries no line can come from.
  const segments = [
    { start: 2.5, end: 4, text: ' second line ' },
    { start: 0, end: 2.5, text: 'first line' },
    { start: 4, end: 3, text: 'ends before it starts' },
    { start: 5, end: 6, text: '   ' },
    { start: '6', end: 7, text: 'start as a string' },
    'not an object',
  ];
  for (const v of [ids.videoA, ids.videoB])
    await db.rootPool.query(
      `insert into app_private.video_transcripts (video_id, source, segments) values ($1, 'subtitles', $2)
       on conflict (video_id) do update set segments = excluded.segments`,
      [v, JSON.stringify(segments)],
    );
  const lines = `select l.* from app_public.videos v, unnest(app_public.videos_transcript(v)) l where v.id = $1`;
  const mine = await withUserDb(db, A, (c) => c.query(lines, [ids.videoA]));
  assert.deepEqual(mine.rows, [
    { start_s: 0, end_s: 2.5, text: 'first line' },
    { start_s: 2.5, end_s: 4, text: 'second line' },
    { start_s: 4, end_s: 4, text: 'ends before it starts' },
  ]);
  // B cannot see A's video row, so builds one: the function runs as its
  // definer and must check the owner itself.
  const { rows: forged } = await db.rootPool.query(`select v::text as row from app_public.videos v where v.id = $1`, [
    ids.videoA,
  ]);
  const theirs = await withUserDb(db, B, (c) =>
    c.query(`select cardinality(app_public.videos_transcript($1::app_public.videos)) as n`, [forged[0].row]),
  );
  assert.equal(theirs.rows[0].n, 0);
  const own = await withUserDb(db, A, (c) =>
    c.query(`select cardinality(app_public.videos_transcript($1::app_public.videos)) as n`, [forged[0].row]),
  );
  assert.equal(own.rows[0].n, 3, 'the same row value read by its owner has the lines, so the check above could fail');
  await assert.rejects(
    withAnonDb(db, (c) => c.query(`select app_public.videos_transcript($1::app_public.videos)`, [forged[0].row])),
    denied,
  );
});

test('a user inserts videos only as themselves and only under their own storage prefix', async () => {
  await withUserDb(db, A, async (c) => {
    const {
      rows: [v],
    } = await c.query(
      `insert into app_public.videos (title, object_key) values ('mine', $1) returning owner_id, state`,
      [`u/${A}/${uuid()}/a.mp4`],
    );
    assert.deepEqual(v, { owner_id: A, state: 'uploaded' });
  });
  const attempts: [string, unknown[], object][] = [
    // Pointing at B's bytes.
    [`insert into app_public.videos (title, object_key) values ('x', $1)`, [`u/${B}/${uuid()}/b.mp4`], rlsDenied],
    [
      `insert into app_public.videos (title, object_key, subtitle_key) values ('x', $1, $2)`,
      [`u/${A}/v.mp4`, `u/${B}/s.srt`],
      rlsDenied,
    ],
    // Claiming to be B: owner_id is not a column users may write at all.
    [`insert into app_public.videos (owner_id, title, object_key) values ($1, 'x', $2)`, [B, `u/${B}/b.mp4`], denied],
    // Walking out of the prefix.
    [`insert into app_public.videos (title, object_key) values ('x', $1)`, [`u/${A}/../${B}/b.mp4`], { code: '23514' }],
    // Pipeline columns are not the user's to set.
    [`insert into app_public.videos (title, object_key, state) values ('x', $1, 'indexed')`, [`u/${A}/c.mp4`], denied],
  ];
  for (const [sql, params, error] of attempts) {
    await assert.rejects(
      withUserDb(db, A, (c) => c.query(sql, params)),
      error,
      sql,
    );
  }
  const { rows } = await db.rootPool.query(`select count(*)::int as n from app_public.videos where owner_id = $1`, [B]);
  assert.equal(rows[0].n, 1, 'B still has exactly their one video');
});

test("a user renames their own video but cannot touch another's, nor pipeline columns", async () => {
  await withUserDb(db, A, async (c) => {
    assert.equal(
      (await c.query(`update app_public.videos set title = 'renamed' where id = $1`, [ids.videoA])).rowCount,
      1,
    );
    assert.equal(
      (await c.query(`update app_public.videos set title = 'hijacked' where id = $1`, [ids.videoB])).rowCount,
      0,
    );
  });
  await assert.rejects(
    withUserDb(db, A, (c) => c.query(`update app_public.videos set state = 'indexed' where id = $1`, [ids.videoA])),
    denied,
  );
  await assert.rejects(
    withUserDb(db, A, (c) => c.query(`update app_public.videos set owner_id = $1 where id = $2`, [B, ids.videoA])),
    denied,
  );
  const {
    rows: [b],
  } = await db.rootPool.query(`select title from app_public.videos where id = $1`, [ids.videoB]);
  assert.equal(b.title, 'title of videoB');
});

test("a user deletes their own video (and its scenes) but not another's", async () => {
  await withUserDb(db, A, async (c) => {
    assert.equal((await c.query(`delete from app_public.videos where id = $1`, [ids.videoB])).rowCount, 0);
    assert.equal((await c.query(`delete from app_public.videos where id = $1`, [ids.videoA])).rowCount, 1);
    assert.equal((await c.query(`select count(*)::int as n from app_public.scenes`)).rows[0].n, 0, 'scenes cascade');
  });
  assert.equal(await rootCount('videos', ids.videoB), 1);
  assert.equal(await rootCount('videos', ids.videoA), 1, 'the delete above was rolled back');
});

test('users cannot write scenes at all; only the pipeline does', async () => {
  const attempts = [
    [
      `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s) values ($1, $2, 5, 0, 1)`,
      [ids.videoA, A],
    ],
    [`update app_public.scenes set transcript = 'x' where id = $1`, [ids.sceneA]],
    [`delete from app_public.scenes where id = $1`, [ids.sceneA]],
  ] as const;
  for (const [sql, params] of attempts) {
    await assert.rejects(
      withUserDb(db, A, (c) => c.query(sql, [...params])),
      denied,
      sql,
    );
  }
  assert.equal(await rootCount('scenes', ids.sceneA), 1);
});

test('the worker login reads videos and writes only through the step functions', async () => {
  await withWorkerDb(db, async (c: pg.PoolClient) => {
    assert.equal(
      (await c.query(`select count(*)::int as n from app_public.videos where id = any($1)`, [[ids.videoA, ids.videoB]]))
        .rows[0].n,
      2,
      'a worker reads the video of whichever job it runs',
    );
    // A stage's result goes through its step function, which runs as the owner.
    const { rows } = await c.query(`select app_private.pipeline_fail($1, 'corrupt file') as ok`, [ids.videoA]);
    assert.equal(rows[0].ok, true);
  });
  assert.equal(await rootCount('videos', ids.videoA), 1);
  const direct = [
    [`select count(*) from app_public.scenes`, []],
    [
      `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s) values ($1, $2, 9, 0, 1)`,
      [ids.videoA, A],
    ],
    [`update app_public.scenes set transcript = 'x' where id = $1`, [ids.sceneA]],
    [`delete from app_public.scenes where id = $1`, [ids.sceneA]],
    [`update app_public.videos set state = 'indexed' where id = $1`, [ids.videoA]],
    [`delete from app_public.videos where id = $1`, [ids.videoA]],
    [`select * from app_private.video_transcripts`, []],
    [`select graphile_worker.add_job('videos__delete_objects', '{}'::json)`, []],
    [`insert into graphile_worker._private_jobs (task_id, payload) values (1, '{}')`, []],
  ] as const;
  for (const [sql, params] of direct) {
    await assert.rejects(
      withWorkerDb(db, (c) => c.query(sql, [...params])),
      denied,
      sql,
    );
  }
  assert.equal(await rootCount('scenes', ids.sceneA), 1, 'the scene the worker could not touch is still there');
});

test("the composite key holds for any writer: a scene cannot be attached to someone else's video", async () => {
  await assert.rejects(
    asRoot(db, (c) =>
      c.query(`insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s) values ($1, $2, 9, 0, 1)`, [
        ids.videoA,
        B,
      ]),
    ),
    { code: '23503' },
  );
});

// search_scenes runs as the caller and reads each user's word statistics and scene counts;
// row-level security limits that to the caller's own rows.
const READABLE_OWN_ROWS = new Set([
  'app_hidden.scene_half_vecs',
  'app_hidden.scene_terms',
  'app_hidden.video_scene_counts',
]);

test('anon and signed-in users can read or write nothing in app_private and app_hidden tables', async () => {
  const { rows: tables } = await db.rootPool.query(
    `select format('%I.%I', n.nspname, c.relname) as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname in ('app_private', 'app_hidden') and c.relkind in ('r', 'p', 'v', 'm')`,
  );
  assert.ok(tables.length > 0, 'there are private tables or views to check');
  for (const { t } of tables) {
    for (const sql of [`select * from ${t} limit 1`, `delete from ${t}`]) {
      await assert.rejects(
        withAnonDb(db, (c) => c.query(sql)),
        denied,
        `anon: ${sql}`,
      );
      if (READABLE_OWN_ROWS.has(t) && sql.startsWith('select')) continue;
      await assert.rejects(
        withUserDb(db, A, (c) => c.query(sql)),
        denied,
        `user: ${sql}`,
      );
    }
  }
  for (const t of READABLE_OWN_ROWS) {
    const { rows } = await withUserDb(db, A, (c) =>
      c.query(`select count(*)::int as theirs from ${t} where owner_id <> $1`, [A]),
    );
    assert.equal(rows[0].theirs, 0, `${t}: only the caller's own rows are visible`);
    const { rows: all } = await db.rootPool.query(`select count(*)::int as n from ${t} where owner_id <> $1`, [A]);
    assert.ok(all[0].n > 0, `${t}: other users' rows exist, so the check above could fail`);
  }
});
