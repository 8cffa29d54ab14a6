/*
 * persons and faces in SQL: row-level security both ways (with a root check
 * that the other user's rows exist), the composite keys, and the matching
 * rules of app_private.faces_write / faces_recluster / person_attach on
 * embeddings built so that distances are known exactly (the real model's
 * numbers are in models/README.md; these tests pin the rules, not the model).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type pg from 'pg';
import { asRoot, createTestDatabase, uuid, withAnonDb, withUserDb } from '../helpers/db.ts';

const db = await createTestDatabase();
const MODEL = '@vladmandic/face-api';
const A = uuid(),
  B = uuid();

/**
 * Identity k points along axis k; variant j leans slightly towards axis
 * 64 + j, so two variants of one identity are ~0.01 apart in cosine
 * distance (well inside every threshold) and different identities ~1 apart.
 */
function face(identity: number, variant = 0): number[] {
  const v = new Array(128).fill(0);
  v[identity] = 1;
  v[64 + (variant % 64)] = 0.1;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

interface Fixture {
  video: string;
  scenes: string[];
}

async function addVideo(owner: string, scenes = 4, transcripts: string[] = []): Promise<Fixture> {
  const {
    rows: [v],
  } = await db.rootPool.query(
    `insert into app_public.videos (owner_id, title, object_key, state) values ($1, 'v', $2, 'indexed') returning id`,
    [owner, `u/${owner}/${uuid()}/v.mp4`],
  );
  const ids: string[] = [];
  for (let i = 0; i < scenes; i++) {
    const {
      rows: [s],
    } = await db.rootPool.query(
      `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript) values ($1, $2, $3, $4, $5, $6) returning id`,
      [v.id, owner, i, i * 4, i * 4 + 4, transcripts[i] ?? ''],
    );
    ids.push(s.id);
  }
  return { video: v.id, scenes: ids };
}

/** faces_write as the worker calls it: {ordinal: [embeddings]}. */
async function writeFaces(c: pg.PoolClient | pg.Pool, video: string, perScene: Record<number, number[][]>) {
  const scenes = Object.entries(perScene).map(([ordinal, embs]) => ({
    ordinal: Number(ordinal),
    faces: embs.map((e) => ({
      id: uuid(),
      frame_s: Number(ordinal) * 4 + 1,
      box: [0.4, 0.2, 0.2, 0.3],
      det_score: 0.97,
      embedding: e,
    })),
  }));
  const { rows } = await c.query('select app_private.faces_write($1, $2, $3) as n', [
    video,
    MODEL,
    JSON.stringify(scenes),
  ]);
  return rows[0].n as number;
}

const personOf = async (c: pg.PoolClient | pg.Pool, video: string) =>
  (
    await c.query<{ ordinal: number; person_id: string | null }>(
      `select s.ordinal, f.person_id from app_public.faces f join app_public.scenes s on s.id = f.scene_id
        where f.video_id = $1 order by s.ordinal, f.created_at`,
      [video],
    )
  ).rows;

/** Enrols as the user, the way createPerson does: person, photo face, attach. */
async function enrol(c: pg.PoolClient, owner: string, name: string, embedding: number[]) {
  const {
    rows: [p],
  } = await c.query(`insert into app_public.persons (name) values ($1) returning id`, [name]);
  await c.query(
    `insert into app_public.faces (person_id, photo_key, box, det_score, embedding, face_model)
     values ($1, $2, '{0.1,0.1,0.5,0.5}', 0.99, $3::vector, $4)`,
    [p.id, `u/${owner}/${uuid()}/photo.jpg`, JSON.stringify(embedding), MODEL],
  );
  const attached = (await c.query('select app_hidden.person_attach($1) as n', [p.id])).rows[0].n as number;
  return { id: p.id as string, attached };
}

const ids = { personA: '', personB: '', faceA: '', faceB: '', videoA: '', sceneA: '', sceneB: '' };

before(async () => {
  for (const [owner, key] of [
    [A, 'A'],
    [B, 'B'],
  ] as const) {
    const v = await addVideo(owner, 1);
    const {
      rows: [p],
    } = await db.rootPool.query(`insert into app_public.persons (owner_id, name) values ($1, $2) returning id`, [
      owner,
      `person ${key}`,
    ]);
    const {
      rows: [f],
    } = await db.rootPool.query(
      `insert into app_public.faces (owner_id, person_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model)
       values ($1, $2, $3, $4, 1, '{0.1,0.1,0.2,0.2}', 0.9, $5::vector, $6) returning id`,
      [owner, p.id, v.video, v.scenes[0], JSON.stringify(face(60 + (key === 'A' ? 0 : 1))), MODEL],
    );
    ids[`person${key}`] = p.id;
    ids[`face${key}`] = f.id;
    ids[`scene${key}`] = v.scenes[0]!;
    if (key === 'A') ids.videoA = v.video;
  }
});

/** Payloads of queued jobs of a task (the public jobs view hides payloads). */
async function queued(c: pg.PoolClient | pg.Pool, task: string): Promise<{ payload: any; key: string | null }[]> {
  const { rows } = await c.query(
    `select j.payload, j.key from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = $1`,
    [task],
  );
  return rows;
}

const rootCount = async (table: string, id: string) =>
  Number((await db.rootPool.query(`select count(*) from app_public.${table} where id = $1`, [id])).rows[0].count);

test('anon can neither read nor write persons or faces', async () => {
  for (const sql of [
    'select * from app_public.persons',
    'select * from app_public.faces',
    `insert into app_public.persons (name) values ('x')`,
    `update app_public.faces set person_id = null`,
    `delete from app_public.persons`,
  ]) {
    await assert.rejects(
      withAnonDb(db, (c) => c.query(sql)),
      { code: '42501' },
      sql,
    );
  }
  assert.equal(await rootCount('persons', ids.personA), 1);
});

test('each user reads, renames and deletes only their own persons and faces', async () => {
  for (const [user, mine, theirs] of [
    [A, 'A', 'B'],
    [B, 'B', 'A'],
  ] as const) {
    await withUserDb(db, user, async (c) => {
      assert.deepEqual(
        (await c.query('select id from app_public.persons')).rows.map((r) => r.id),
        [ids[`person${mine}`]],
      );
      assert.deepEqual(
        (await c.query('select id from app_public.faces')).rows.map((r) => r.id),
        [ids[`face${mine}`]],
      );
      assert.equal(
        (await c.query(`update app_public.persons set name = 'stolen' where id = $1`, [ids[`person${theirs}`]]))
          .rowCount,
        0,
      );
      assert.equal(
        (await c.query('delete from app_public.persons where id = $1', [ids[`person${theirs}`]])).rowCount,
        0,
      );
      assert.equal(
        (await c.query('update app_public.faces set person_id = null where id = $1', [ids[`face${theirs}`]])).rowCount,
        0,
      );
      // Own rows: allowed.
      assert.equal(
        (await c.query(`update app_public.persons set name = 'renamed' where id = $1`, [ids[`person${mine}`]]))
          .rowCount,
        1,
      );
      assert.equal((await c.query('delete from app_public.persons where id = $1', [ids[`person${mine}`]])).rowCount, 1);
    });
  }
  const { rows } = await db.rootPool.query('select name from app_public.persons where id = any($1) order by name', [
    [ids.personA, ids.personB],
  ]);
  // Untouched by the other user, and the owners' own changes were rolled back.
  assert.deepEqual(
    rows.map((r) => r.name),
    ['person A', 'person B'],
  );
});

test("no face can point at another user's person, scene or photo folder", async () => {
  await withUserDb(db, B, async (c) => {
    // The composite key (person_id, owner_id) has no row (A's person, owner B).
    await assert.rejects(
      c.query(
        `insert into app_public.faces (person_id, photo_key, box, det_score, embedding, face_model)
         values ($1, $2, '{0,0,0.5,0.5}', 0.9, $3::vector, $4)`,
        [ids.personA, `u/${B}/x/photo.jpg`, JSON.stringify(face(1)), MODEL],
      ),
      { code: '23503' },
    );
  });
  await withUserDb(db, B, async (c) => {
    await assert.rejects(
      c.query(`update app_public.faces set person_id = $1 where id = $2`, [ids.personA, ids.faceB]),
      { code: '23503' },
    );
  });
  await withUserDb(db, B, async (c) => {
    const {
      rows: [p],
    } = await c.query(`insert into app_public.persons (name) values ('mine') returning id`);
    await assert.rejects(
      c.query(
        `insert into app_public.faces (person_id, photo_key, box, det_score, embedding, face_model)
         values ($1, $2, '{0,0,0.5,0.5}', 0.9, $3::vector, $4)`,
        [p.id, `u/${A}/x/photo.jpg`, JSON.stringify(face(1)), MODEL],
      ),
      { code: '42501', message: /row-level security/ },
    );
  });
  // Even the schema owner (who bypasses row-level security) cannot.
  await asRoot(db, async (c) => {
    await assert.rejects(
      c.query(
        `insert into app_public.faces (owner_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model)
         values ($1, $2, $3, 0, '{0,0,0.5,0.5}', 0.9, $4::vector, $5)`,
        [B, ids.videoA, ids.sceneA, JSON.stringify(face(1)), MODEL],
      ),
      { code: '23503' },
    );
  });
  assert.equal(await rootCount('scenes', ids.sceneA), 1);
});

test("assign_face and merge_persons work on one's own rows and refuse another user's ids", async () => {
  for (const [sql, args, error] of [
    ['select app_public.assign_face($1, null)', [ids.faceA], /face not found/],
    ['select app_public.assign_face($1, $2)', [ids.faceB, ids.personA], /person not found/],
    ['select app_public.merge_persons($1, $2)', [ids.personA, ids.personB], /person not found/],
  ] as const) {
    await assert.rejects(
      withUserDb(db, B, (c) => c.query(sql, [...args])),
      error,
    );
  }
  await withUserDb(db, B, async (c) => {
    const {
      rows: [other],
    } = await c.query(`insert into app_public.persons (name) values ('other') returning id`);
    const moved = await c.query('select (app_public.assign_face($1, $2)).person_id', [ids.faceB, other.id]);
    assert.equal(moved.rows[0].person_id, other.id);
    const merged = await c.query('select * from app_public.merge_persons($1, $2)', [other.id, ids.personB]);
    assert.equal(merged.rows[0].id, ids.personB);
    assert.equal((await c.query('select 1 from app_public.persons where id = $1', [other.id])).rowCount, 0);
    assert.equal(
      (await c.query('select person_id from app_public.faces where id = $1', [ids.faceB])).rows[0].person_id,
      ids.personB,
    );
  });
  assert.equal(
    (await db.rootPool.query('select person_id from app_public.faces where id = $1', [ids.faceA])).rows[0].person_id,
    ids.personA,
  );
});

test("search_scenes with another user's person id returns nothing, with one's own the person's scenes", async () => {
  const own = await withUserDb(db, A, (c) =>
    c.query(`select scene_id, persons from app_public.search_scenes(query => '', person_id => $1)`, [ids.personA]),
  );
  assert.deepEqual(
    own.rows.map((r) => r.scene_id),
    [ids.sceneA],
  );
  assert.deepEqual(own.rows[0].persons, [{ id: ids.personA, name: 'person A' }]);
  const other = await withUserDb(db, B, (c) =>
    c.query(`select scene_id from app_public.search_scenes(query => '', person_id => $1)`, [ids.personA]),
  );
  assert.equal(other.rowCount, 0);
  assert.equal(await rootCount('scenes', ids.sceneA), 1);
});

test('faces of one unnamed person: not core at first, grouped once enough arrive, then by the later pass', async () => {
  const owner = uuid();
  const v = await addVideo(owner, 4);
  // One face: no neighbours, stays unassigned, and a later pass is queued.
  await asRoot(db, async (c) => {
    assert.equal(await writeFaces(c, v.video, { 0: [face(1, 0)] }), 1);
    assert.deepEqual(
      (await personOf(c, v.video)).map((r) => r.person_id),
      [null],
    );
    const jobs = (await queued(c, 'faces__cluster')).filter((j) => j.key === `faces__cluster:${owner}`);
    assert.deepEqual(
      jobs.map((j) => j.payload),
      [{ id: owner }],
    );
    // Two more sightings: the third has min_faces (2) neighbours and is a core face.
    await writeFaces(c, v.video, { 1: [face(1, 1)] });
    await writeFaces(c, v.video, { 2: [face(1, 2)] });
    const after = await personOf(c, v.video);
    assert.equal(after[0]!.person_id, null);
    assert.equal(after[1]!.person_id, null);
    assert.ok(after[2]!.person_id, 'the core face starts an unnamed person');
    const group = after[2]!.person_id;
    assert.equal((await c.query('select name from app_public.persons where id = $1', [group])).rows[0].name, null);
    // The later pass: the earlier faces now have neighbours and join the group.
    assert.equal((await c.query('select app_private.faces_recluster($1) as n', [owner])).rows[0].n, 2);
    assert.deepEqual(
      (await personOf(c, v.video)).map((r) => r.person_id),
      [group, group, group],
    );
    // Someone else in the same video forms no group with them.
    await writeFaces(c, v.video, { 3: [face(2, 0)] });
    assert.equal((await personOf(c, v.video))[3]!.person_id, null);
  });
});

test("a video's faces left out when the later pass ran before the next video are pulled into the group that video forms", async () => {
  // The order a loaded machine produced in the CLI people test: video 1's
  // two faces (not core), its later pass at once (nothing to join), then
  // video 2's two faces of the same person, which form a group on their own.
  const owner = uuid();
  const first = await addVideo(owner, 2);
  const second = await addVideo(owner, 2);
  await asRoot(db, async (c) => {
    await writeFaces(c, first.video, { 0: [face(7, 0)], 1: [face(7, 1)] });
    await c.query('select app_private.faces_recluster($1)', [owner]);
    await c.query(`delete from graphile_worker._private_jobs where key = $1`, [`faces__cluster:${owner}`]);
    assert.deepEqual(
      (await personOf(c, first.video)).map((r) => r.person_id),
      [null, null],
    );
    await writeFaces(c, second.video, { 0: [face(7, 2)], 1: [face(7, 3)] });
    const group = (await personOf(c, second.video))[0]!.person_id;
    assert.ok(group, "video 2's faces form a group at once");
    // Every face of video 2 got a person, yet the later pass is queued
    // because video 1's faces are still unassigned; it pulls them in.
    const jobs = (await queued(c, 'faces__cluster')).filter((j) => j.key === `faces__cluster:${owner}`);
    assert.deepEqual(
      jobs.map((j) => j.payload),
      [{ id: owner }],
    );
    await c.query('select app_private.faces_recluster($1)', [owner]);
    assert.deepEqual(
      [...(await personOf(c, first.video)), ...(await personOf(c, second.video))].map((r) => r.person_id),
      [group, group, group, group],
    );
  });
});

test('a face that never becomes core joins a neighbour’s group in the later pass (border face)', async () => {
  const owner = uuid();
  const v = await addVideo(owner, 4);
  await asRoot(db, async (c) => {
    // Three close faces form a group; a fourth is near only one of them.
    await writeFaces(c, v.video, { 0: [face(5, 0)], 1: [face(5, 1)], 2: [face(5, 2)] });
    await c.query('select app_private.faces_recluster($1)', [owner]);
    const group = (await personOf(c, v.video))[0]!.person_id;
    assert.ok(group);
    const border = face(5, 0).map((x, i) => (i === 70 ? 0.3 : x));
    const n = Math.hypot(...border);
    await writeFaces(c, v.video, { 3: [border.map((x) => x / n)] });
    assert.equal((await personOf(c, v.video))[3]!.person_id, null, 'not core: one neighbour only');
    await c.query('select app_private.faces_recluster($1)', [owner]);
    assert.equal((await personOf(c, v.video))[3]!.person_id, group);
  });
});

test('enrolling attaches faces found earlier; later faces match the named person at once', async () => {
  const owner = uuid();
  const before = await addVideo(owner, 2, ['grandma blows out the candles', 'nobody here']);
  await writeFaces(db.rootPool, before.video, { 0: [face(7, 0)], 1: [face(8, 0)] });
  const grandma = await withUserDb(db, owner, async (c) => {
    const g = await enrol(c, owner, 'Grandma', face(7, 3));
    assert.equal(g.attached, 1, 'the earlier scene face of the same person');
    await c.query('commit');
    return g;
  });
  assert.deepEqual(
    (await personOf(db.rootPool, before.video)).map((r) => r.person_id),
    [grandma.id, null],
  );
  const later = await addVideo(owner, 2, ['grandma again', 'a stranger']);
  await writeFaces(db.rootPool, later.video, { 0: [face(7, 5)], 1: [face(9, 0)] });
  assert.deepEqual(
    (await personOf(db.rootPool, later.video)).map((r) => r.person_id),
    [grandma.id, null],
  );

  // Search: every scene of the person in time order, and words restricted to them.
  const all = await withUserDb(db, owner, (c) =>
    c.query(`select video_id, start_s, persons from app_public.search_scenes(query => '', person_id => $1)`, [
      grandma.id,
    ]),
  );
  assert.deepEqual(
    all.rows.map((r) => [r.video_id, r.start_s]),
    [
      [before.video, 0],
      [later.video, 0],
    ],
  );
  assert.deepEqual(all.rows[0].persons, [{ id: grandma.id, name: 'Grandma' }]);
  const words = await withUserDb(db, owner, (c) =>
    c.query(`select scene_id from app_public.search_scenes(query => 'grandma stranger nobody', person_id => $1)`, [
      grandma.id,
    ]),
  );
  assert.deepEqual(words.rows.map((r) => r.scene_id).sort(), [before.scenes[0], later.scenes[0]].sort());
  const unfiltered = await withUserDb(db, owner, (c) =>
    c.query(`select scene_id from app_public.search_scenes(query => 'grandma stranger nobody')`),
  );
  assert.equal(unfiltered.rowCount, 4, 'without the filter all four scenes match a word');
});

test('naming an unnamed group attaches unassigned matching faces; deleting a person forgets its photos', async () => {
  const owner = uuid();
  const v = await addVideo(owner, 4);
  await writeFaces(db.rootPool, v.video, { 0: [face(11, 0)], 1: [face(11, 1)], 2: [face(11, 2)] });
  await db.rootPool.query('select app_private.faces_recluster($1)', [owner]);
  const group = (await personOf(db.rootPool, v.video))[0]!.person_id!;
  // A stored face not yet examined, within match_distance of the group but not cluster_distance.
  const loose = face(11, 0).map((x, i) => (i === 90 ? 0.35 : x));
  const n = Math.hypot(...loose);
  await db.rootPool.query(
    `insert into app_public.faces (owner_id, video_id, scene_id, frame_s, box, det_score, embedding, face_model)
     values ($1, $2, $3, 13, '{0.1,0.1,0.2,0.2}', 0.9, $4::vector, $5)`,
    [owner, v.video, v.scenes[3], JSON.stringify(loose.map((x) => x / n)), MODEL],
  );
  await withUserDb(db, owner, async (c) => {
    await c.query(`update app_public.persons set name = 'Dana' where id = $1`, [group]);
    const rows = await personOf(c, v.video);
    assert.deepEqual(
      rows.map((r) => r.person_id),
      [group, group, group, group],
    );
    const counts = await c.query(
      'select app_public.persons_face_count(p) as faces, app_public.persons_scene_count(p) as scenes from app_public.persons p where id = $1',
      [group],
    );
    assert.deepEqual(counts.rows[0], { faces: 4, scenes: 4 });

    // Enrolment photos of the person go with it; its scene faces stay, unassigned.
    await c.query(
      `insert into app_public.faces (person_id, photo_key, box, det_score, embedding, face_model)
       values ($1, $2, '{0.1,0.1,0.5,0.5}', 0.99, $3::vector, $4)`,
      [group, `u/${owner}/p/photo.jpg`, JSON.stringify(face(11, 9)), MODEL],
    );
    await c.query('delete from app_public.persons where id = $1', [group]);
    const left = await c.query('select person_id, photo_key from app_public.faces order by created_at');
    assert.equal(left.rowCount, 4);
    assert.ok(left.rows.every((r) => r.person_id === null && r.photo_key === null));
    await c.query('commit');
  });
  // The photo and the crop of the deleted face are queued for deletion.
  const rows = (await queued(db.rootPool, 'videos__delete_objects')).filter((j) => j.payload.owner_id === owner);
  const keys = rows.flatMap((r) => r.payload.keys as string[]);
  assert.ok(keys.includes(`u/${owner}/p/photo.jpg`), JSON.stringify(keys));
  assert.ok(keys.some((k) => k.startsWith(`u/${owner}/faces/`) && k.endsWith('.jpg')));
});

test('deleting a video deletes its faces, the unnamed groups it leaves empty, and queues the crops for deletion', async () => {
  const owner = uuid();
  const v = await addVideo(owner, 3);
  await writeFaces(db.rootPool, v.video, { 0: [face(20, 0)] });
  await writeFaces(db.rootPool, v.video, { 1: [face(20, 1)] });
  await writeFaces(db.rootPool, v.video, { 2: [face(20, 2), face(21, 0)] });
  await db.rootPool.query('select app_private.faces_recluster($1)', [owner]);
  const groups = async () =>
    Number(
      (await db.rootPool.query('select count(*) from app_public.persons where owner_id = $1', [owner])).rows[0].count,
    );
  assert.equal(await groups(), 1);
  await db.rootPool.query('delete from app_public.videos where id = $1', [v.video]);
  assert.equal(
    Number(
      (await db.rootPool.query('select count(*) from app_public.faces where owner_id = $1', [owner])).rows[0].count,
    ),
    0,
  );
  const rows = (await queued(db.rootPool, 'videos__delete_objects')).filter((j) => j.payload.owner_id === owner);
  const crops = rows.flatMap((r) => r.payload.keys as string[]).filter((k) => k.startsWith(`u/${owner}/faces/`));
  assert.equal(crops.length, 4);
  assert.equal(await groups(), 0);
});

test('a face the user unassigned or moved stays where they put it: naming, merging, enrolling, clustering and detecting it again leave it alone', async () => {
  const owner = uuid();
  const v = await addVideo(owner, 7);
  // Two groups: identity 30 in scenes 0-2, identity 31 in scenes 3, 4 and 6.
  await writeFaces(db.rootPool, v.video, { 0: [face(30, 0)], 1: [face(30, 1)], 2: [face(30, 2)] });
  await writeFaces(db.rootPool, v.video, { 3: [face(31, 0)], 4: [face(31, 1)], 6: [face(31, 2)] });
  await db.rootPool.query('select app_private.faces_recluster($1)', [owner]);
  const faceIn = async (ordinal: number) =>
    (
      await db.rootPool.query<{ id: string; person_id: string | null; assigned_by_user?: boolean }>(
        `select f.* from app_public.faces f join app_public.scenes s on s.id = f.scene_id
          where s.video_id = $1 and s.ordinal = $2`,
        [v.video, ordinal],
      )
    ).rows[0]!;
  const g = (await faceIn(0)).person_id!;
  const h = (await faceIn(3)).person_id!;
  assert.ok(g && h && g !== h);
  assert.equal((await faceIn(1)).person_id, g);
  const [unassigned, moved] = [(await faceIn(1)).id, (await faceIn(2)).id];

  await withUserDb(db, owner, async (c) => {
    // The user: face 1 is nobody they know, face 2 belongs with the other group.
    await c.query('select app_public.assign_face($1, null)', [unassigned]);
    await c.query('select app_public.assign_face($1, $2)', [moved, h]);
    // Naming the group attaches close faces: not those two.
    await c.query(`update app_public.persons set name = 'Ola' where id = $1`, [g]);
    // Enrolling a look-alike from a photo and merging it in attach close faces again: still not those two.
    const photo = await enrol(c, owner, 'Ola from a photo', face(30, 5));
    assert.equal(photo.attached, 0);
    await c.query('select app_public.merge_persons($1, $2)', [photo.id, g]);
    await c.query('commit');
  });
  assert.equal((await faceIn(1)).person_id, null, 'unassigned stays unassigned after naming and merging');
  assert.equal((await faceIn(2)).person_id, h, 'moved stays moved');
  // The later clustering pass, and new faces being matched.
  await db.rootPool.query('select app_private.faces_recluster($1)', [owner]);
  await writeFaces(db.rootPool, v.video, { 5: [face(30, 3)] });
  assert.equal((await faceIn(5)).person_id, g, 'a new face of Ola still joins Ola');
  assert.equal((await faceIn(1)).person_id, null);
  assert.equal((await faceIn(2)).person_id, h);

  // The scenes are scanned again (a re-index): the new rows keep the user's decision, and
  // leave matching nothing to decide (no clustering pass is queued for them).
  const passes = async () =>
    (await queued(db.rootPool, 'faces__cluster')).filter((j) => j.key === `faces__cluster:${owner}`).length;
  const passesBefore = await passes();
  assert.equal(passesBefore, 0, 'every earlier face found a person at once');
  await writeFaces(db.rootPool, v.video, { 1: [face(30, 1)], 2: [face(30, 2)] });
  const [again1, again2] = [await faceIn(1), await faceIn(2)];
  assert.notEqual(again1.id, unassigned, 'a new row');
  assert.deepEqual([again1.person_id, again1.assigned_by_user], [null, true]);
  assert.deepEqual([again2.person_id, again2.assigned_by_user], [h, true]);
  assert.equal(await passes(), passesBefore);
  await db.rootPool.query('select app_private.faces_recluster($1)', [owner]);
  assert.equal((await faceIn(1)).person_id, null);

  // The user's own actions still win: they can put the face back.
  await withUserDb(db, owner, async (c) => {
    await c.query('select app_public.assign_face($1, $2)', [again1.id, g]);
    await c.query('commit');
  });
  assert.equal((await faceIn(1)).person_id, g);
  // Automatic matching did not mark anything as the user's decision.
  assert.equal((await faceIn(0)).assigned_by_user, false);
  assert.equal((await faceIn(5)).assigned_by_user, false);
});
