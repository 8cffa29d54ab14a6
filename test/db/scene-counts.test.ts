/*
 * app_hidden.video_scene_counts: the per-video scene counts search_scenes
 * sums for the N of its IDF. Every way a scene is written, moved or removed
 * must leave them equal to counting the scenes, and concurrent writers of
 * one owner's different videos must not wait for each other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, uuid, withUserDb } from '../helpers/db.ts';

const db = await createTestDatabase();

async function addVideo(owner: string) {
  const { rows } = await db.rootPool.query(
    `insert into app_public.videos (owner_id, title, object_key) values ($1, 'v', $2) returning id`,
    [owner, `u/${owner}/${uuid()}/v.mp4`],
  );
  return rows[0].id as string;
}

let ordinal = 0;
const sceneInsert = `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript)
  select $1, $2, $3::int + g, g * 5, g * 5 + 5, 'scene ' || g from generate_series(0, $4::int - 1) g returning id`;
async function addScenes(videoId: string, owner: string, n: number) {
  const { rows } = await db.rootPool.query(sceneInsert, [videoId, owner, ordinal, n]);
  ordinal += n;
  return rows.map((r) => r.id as string);
}

/** The counts as stored next to the counts by counting, for every video that has either. */
async function counts() {
  const { rows } = await db.rootPool.query(
    `select coalesce(c.video_id, s.video_id) as video_id, c.scenes as stored, coalesce(s.n, 0)::int as counted
       from app_hidden.video_scene_counts c
       full join (select video_id, count(*) as n from app_public.scenes group by video_id) s on s.video_id = c.video_id`,
  );
  for (const r of rows) assert.equal(r.stored, r.counted || null, `video ${r.video_id}: stored count`);
  return Object.fromEntries(rows.map((r) => [r.video_id, r.counted])) as Record<string, number>;
}

test('the counts follow inserts, moves between videos, deletes and deleted videos', async () => {
  const owner = uuid();
  const [a, b, c] = [await addVideo(owner), await addVideo(owner), await addVideo(owner)];
  const inA = await addScenes(a, owner, 3);
  await addScenes(b, owner, 2);
  assert.deepEqual(await counts(), { [a]: 3, [b]: 2 });

  // Moved there and back: one of the two moves goes down the key order, the
  // other up (the trigger takes the two count rows in key order).
  await db.rootPool.query(`update app_public.scenes set video_id = $2 where id = $1`, [inA[0], c]);
  assert.deepEqual(await counts(), { [a]: 2, [b]: 2, [c]: 1 });
  await db.rootPool.query(`update app_public.scenes set video_id = $2 where id = $1`, [inA[0], a]);
  assert.deepEqual(await counts(), { [a]: 3, [b]: 2 });

  // An update that does not move a scene leaves the counts alone.
  await db.rootPool.query(`update app_public.scenes set transcript = 'moved nowhere' where video_id = $1`, [a]);
  assert.deepEqual(await counts(), { [a]: 3, [b]: 2 });

  await db.rootPool.query(`delete from app_public.scenes where id = $1`, [inA[1]]);
  assert.deepEqual(await counts(), { [a]: 2, [b]: 2 });
  // The last scene of a video takes its row with it: a row exists only for a video with scenes.
  await db.rootPool.query(`delete from app_public.scenes where video_id = $1`, [a]);
  assert.deepEqual(await counts(), { [b]: 2 });
  // Deleting a video deletes its scenes by cascade, and its count with them.
  await db.rootPool.query(`delete from app_public.videos where id = $1`, [b]);
  assert.deepEqual(await counts(), {});
});

test("the worker's replacement of a video's scenes leaves the new number", async () => {
  const owner = uuid();
  const v = await addVideo(owner);
  await addScenes(v, owner, 4);
  const scenes = Array.from({ length: 7 }, (_, i) => ({
    ordinal: i,
    start_s: i * 5,
    end_s: i * 5 + 5,
    transcript: 'x',
  }));
  await db.workerPool.query(`select app_private.pipeline_indexed($1, $2)`, [v, { scenes }]);
  assert.equal((await counts())[v], 7);
});

test('search takes its IDF scope from the counts: the whole library, or the videos asked for', async () => {
  const owner = uuid(),
    other = uuid();
  const [a, b] = [await addVideo(owner), await addVideo(owner)];
  await addScenes(a, owner, 5);
  const [plain, rare] = await addScenes(b, owner, 2);
  await db.rootPool.query(`update app_public.scenes set transcript = 'scene rare' where id = $1`, [rare]);
  await addScenes(await addVideo(other), other, 3);
  const seen = await withUserDb(db, owner, async (c) =>
    Object.fromEntries(
      (await c.query(`select video_id, scenes from app_hidden.video_scene_counts`)).rows.map((r) => [
        r.video_id,
        r.scenes,
      ]),
    ),
  );
  assert.deepEqual(seen, { [a]: 5, [b]: 2 });
  // A scene with "scene" but not "rare" scores half the IDF-weighted share of the
  // query words it has (plus a cover density that does not depend on the scope), with
  // idf = ln(1 + (N + 1) / (1 + df)) and N the scenes in scope: 7 in the library, 2 in video b.
  const textScore = async (videoIds: string[] | null) =>
    withUserDb(db, owner, async (c) => {
      const { rows } = await c.query(
        `select text_score from app_public.search_scenes('scene rare', video_ids => $1, page_size => 100) where scene_id = $2`,
        [videoIds, plain],
      );
      return rows[0].text_score as number;
    });
  const share = (n: number, dfScene: number) => {
    const idf = (df: number) => Math.log(1 + (n + 1) / (1 + df));
    return idf(dfScene) / (idf(dfScene) + idf(1));
  };
  const got = (await textScore(null)) - (await textScore([b]));
  const expected = 0.5 * (share(7, 7) - share(2, 2));
  assert.ok(Math.abs(got - expected) < 1e-9, `difference of text scores: expected ${expected}, got ${got}`);
});

test('truncating scenes empties the counts', async () => {
  const owner = uuid();
  await addScenes(await addVideo(owner), owner, 2);
  assert.ok(Object.keys(await counts()).length > 0);
  await db.rootPool.query(`truncate app_public.scenes cascade`);
  assert.deepEqual(await counts(), {});
});

test("two writers of one owner's different videos do not wait for each other", async () => {
  const owner = uuid();
  const [a, b] = [await addVideo(owner), await addVideo(owner)];
  const first = new pg.Client({ connectionString: db.ownerUrl });
  const second = new pg.Client({ connectionString: db.ownerUrl });
  await first.connect();
  await second.connect();
  try {
    await first.query('begin');
    await first.query(sceneInsert, [a, owner, 10_000, 3]);
    // The first transaction is still open: the second must finish on its own, not wait for a lock.
    await second.query(`set lock_timeout = '2s'`);
    await second.query('begin');
    await second.query(sceneInsert, [b, owner, 20_000, 2]);
    await second.query('commit');
    await first.query('commit');
  } finally {
    await first.end();
    await second.end();
  }
  const n = await counts();
  assert.equal(n[a], 3);
  assert.equal(n[b], 2);
});
