/*
 * Keyframes and face crops are stored before the transaction that refers to
 * them commits. Two ways that transaction never commits, each of which used
 * to leave biometric crops and keyframes in storage with no row pointing at
 * them: the video is deleted while its index job runs, and the write itself
 * fails. Both end with exactly the objects some row refers to. Then the
 * hourly sweep, run as the worker login, keeps every referenced key (videos,
 * keyframes, crops, enrolment photos) and deletes an orphaned crop. Real
 * graphile-worker, real ffmpeg, the real face model, fs storage.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import type { Storage } from '../../core/storage/types.ts';
import { startWorker, type WorkerHandle } from '../../worker/index.ts';
import { sweepOrphans } from '../../worker/tasks/storage__sweep.ts';
import { PEOPLE, samplePhoto, shot, videoOf } from '../fixtures/faces.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { insertVideo, makeRig, settled, upload } from './helpers.ts';

const db = await createTestDatabase();
const rig = await makeRig({ FACES: 'on' });
const video = await videoOf(path.join(rig.dir, 'two-shots.mp4'), [
  shot(PEOPLE.nurse),
  { durationS: 3, photo: samplePhoto(3) },
]);

/** The store as the worker sees it, plus every key it was asked to put and a hook on each put. */
function watched(storage: Storage, onPut: (key: string) => Promise<void> = async () => {}) {
  const puts: string[] = [];
  const s = new Proxy(storage, {
    get(target, prop) {
      if (prop === 'put')
        return async (key: string, ...rest: [Buffer, string]) => {
          await target.put(key, ...rest);
          puts.push(key);
          await onPut(key);
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Storage;
  return { storage: s, puts };
}

let worker: WorkerHandle | undefined;
after(async () => {
  await worker?.stop();
});
async function run(storage: Storage) {
  await worker?.stop();
  worker = await startWorker(rig.config, {
    databaseUrl: db.workerUrl,
    storage,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: () => () => {},
    reembedStale: false,
  });
}

async function keysOf(owner: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of rig.storage.list(`u/${owner}/`)) keys.push(o.key);
  return keys.sort();
}

/** Every key a row of this owner refers to. */
async function referenced(owner: string): Promise<string[]> {
  const { rows } = await db.rootPool.query<{ k: string }>(
    `select object_key as k from app_public.videos where owner_id = $1
     union select subtitle_key from app_public.videos where owner_id = $1 and subtitle_key is not null
     union select keyframe_key from app_public.scenes where owner_id = $1 and keyframe_key is not null
     union select app_hidden.face_crop_key(owner_id, id) from app_public.faces where owner_id = $1
     union select photo_key from app_public.faces where owner_id = $1 and photo_key is not null`,
    [owner],
  );
  return rows.map((r) => r.k).sort();
}

/** Every job done, except the orphan sweep each worker queues for an hour later. */
async function noJobsLeft(timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  const pending = `select 1 from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
                    where t.identifier <> 'storage__sweep'`;
  while ((await db.rootPool.query(pending)).rowCount) {
    if (Date.now() > deadline) throw new Error('jobs did not finish');
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a video deleted while it is being indexed leaves none of the keyframes or crops its job stored', async () => {
  const owner = uuid();
  let id = '';
  let deleted = false;
  const w = watched(rig.storage, async (key) => {
    // The moment the job has stored its first face crop (keyframes already
    // stored before it), the user deletes the video.
    if (!deleted && key.includes('/faces/')) {
      deleted = true;
      await db.rootPool.query('delete from app_public.videos where id = $1', [id]);
    }
  });
  await run(w.storage);
  id = await insertVideo(db, owner, await upload(rig, owner, video));
  await noJobsLeft();
  assert.ok(deleted, 'the job reached the faces stage');
  assert.ok(
    w.puts.some((k) => k.includes('/keyframes/')),
    'keyframes were stored before the delete',
  );
  assert.ok(
    w.puts.some((k) => k.includes('/faces/')),
    'a crop was stored',
  );
  assert.deepEqual(await keysOf(owner), [], 'nothing of the deleted video is left in storage');
});

test('crops and keyframes of an index attempt whose write fails are removed; the retry leaves only what rows use', async () => {
  const owner = uuid();
  // The first write of this owner's scenes fails the way a dropped connection
  // or a serialization failure does (transient: the job is retried).
  await db.rootPool.query(`
    create sequence if not exists public.test_fail_once;
    create or replace function test_fail_first_write() returns trigger language plpgsql as $$
    begin
      if new.owner_id = '${owner}' and nextval('public.test_fail_once') = 1 then
        raise exception 'simulated failure while writing scenes' using errcode = '40001';
      end if;
      return new;
    end $$;
    create trigger test_fail_first_write before insert on app_public.scenes
      for each row execute function test_fail_first_write();`);
  after(() => db.rootPool.query('drop trigger if exists test_fail_first_write on app_public.scenes').then(() => {}));
  const w = watched(rig.storage);
  await run(w.storage);
  const id = await insertVideo(db, owner, await upload(rig, owner, video));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  await noJobsLeft();
  const { rows } = await db.rootPool.query<{ attempts: number }>(
    `select count(*)::int as attempts from app_public.faces where video_id = $1`,
    [id],
  );
  assert.ok(rows[0]!.attempts > 0, 'the retry stored faces');
  const crops = w.puts.filter((k) => k.includes('/faces/'));
  const kept = await keysOf(owner);
  assert.ok(
    crops.some((k) => !kept.includes(k)),
    "the failed attempt's crops were stored, then removed",
  );
  assert.deepEqual(kept, await referenced(owner), 'storage holds exactly the objects rows refer to');
});

test('the sweep, as the worker login, keeps every referenced object and deletes an orphaned crop', async () => {
  const owner = uuid();
  await run(rig.storage);
  const id = await insertVideo(db, owner, await upload(rig, owner, video));
  assert.equal((await settled(db, id)).state, 'indexed');
  // An enrolment photo: a face row with a photo_key (as createPerson stores it).
  const photo = await upload(rig, owner, samplePhoto(1), 'me.jpg', 'image/jpeg');
  const { rows } = await db.rootPool.query<{ id: string }>(
    `with p as (insert into app_public.persons (owner_id, name) values ($1, 'Me') returning id)
     insert into app_public.faces (owner_id, person_id, photo_key, box, det_score, embedding, face_model)
     select $1, p.id, $2, '{0,0,1,1}', 0.9, (select embedding from app_public.faces where video_id = $3 limit 1), 'm'
       from p returning id`,
    [owner, photo, id],
  );
  await rig.storage.put(`u/${owner}/faces/${rows[0]!.id}.jpg`, Buffer.from('its crop'), 'image/jpeg');
  const orphanCrop = `u/${owner}/faces/${uuid()}.jpg`;
  await rig.storage.put(orphanCrop, Buffer.from('crop of a face that no longer exists'), 'image/jpeg');
  const before = await keysOf(owner);
  assert.ok(before.some((k) => k.includes('/keyframes/')) && before.filter((k) => k.includes('/faces/')).length > 1);

  const asWorker = new pg.Pool({ connectionString: db.workerUrl, max: 1 });
  after(() => asWorker.end());
  const deleted = await sweepOrphans(rig.storage, (t, v) => asWorker.query(t, v), 0);
  assert.deepEqual(deleted, [orphanCrop]);
  assert.deepEqual(await keysOf(owner), await referenced(owner));
});
