/*
 * The faces stage through a real graphile-worker, real ffmpeg and the real
 * face model: what one scene stores (one face per person even when several
 * frames show them, boxes as fractions, a crop in storage), the stage
 * recorded as missing when the model is absent and filled in by
 * reindex --missing, and FACES=off storing nothing and missing nothing.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { getModels } from '../../worker/ml/index.ts';
import { startWorker, type WorkerHandle } from '../../worker/index.ts';
import { reindex } from '../../worker/reindex.ts';
import { PHOTO_CHANGED } from '../../worker/tasks/faces__reembed.ts';
import { PEOPLE, photoOf, samplePhoto, shot, videoOf } from '../fixtures/faces.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { insertVideo, makeRig, settled, upload } from './helpers.ts';

let worker: WorkerHandle | undefined;
after(async () => {
  await worker?.stop();
});
const db = await createTestDatabase();
const rig = await makeRig({ FACES: 'on' });
const off = await makeRig({ FACES: 'off' });
const owner = uuid();
/** Worker log lines, kept: some tests assert what was refused and why. */
const logged: string[] = [];
const keep = () => (_level: string, message: string) => void logged.push(message);
const noFacePackage = path.join(rig.dir, 'no-face-package');
fs.mkdirSync(noFacePackage);

// One long shot of one person (sampled three times), a shot of nobody, a shot of two people.
const video = await videoOf(path.join(rig.dir, 'people.mp4'), [
  shot(PEOPLE.nurse, 17),
  shot('blue'),
  { durationS: 3, photo: samplePhoto(3) },
]);

async function run(config: typeof rig.config, models: ReturnType<typeof getModels>, storage = rig.storage) {
  await worker?.stop();
  worker = await startWorker(config, {
    databaseUrl: db.workerUrl,
    storage,
    models,
    pollInterval: 200,
    noHandleSignals: true,
    logFactory: keep,
  });
}

interface FaceRow {
  id: string;
  ordinal: number;
  start_s: number;
  end_s: number;
  frame_s: number;
  box: number[];
  det_score: number;
  face_model: string;
  dims: number;
}

const facesOf = async (id: string) =>
  (
    await db.rootPool.query<FaceRow>(
      `select f.id, s.ordinal, s.start_s, s.end_s, f.frame_s, f.box, f.det_score, f.face_model, vector_dims(f.embedding) as dims
         from app_public.faces f join app_public.scenes s on s.id = f.scene_id
        where f.video_id = $1 order by s.ordinal, f.box[1]`,
      [id],
    )
  ).rows;

test('without the face model the stage is recorded as missing; reindex --missing fills it in', async () => {
  await run(rig.config, getModels(rig.config, { face: { packageDir: noFacePackage } }));
  const id = await insertVideo(db, owner, await upload(rig, owner, video));
  let v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.ok(v.missing_stages.includes('faces'), JSON.stringify(v.missing_stages));
  assert.deepEqual(await facesOf(id), []);

  await run(rig.config, getModels(rig.config));
  const summary = await reindex(rig.config, {
    missingOnly: true,
    ownerUrl: db.ownerUrl,
    models: getModels(rig.config),
  });
  assert.ok(summary.missing >= 1);
  const deadline = Date.now() + 180_000;
  for (;;) {
    v = await settled(db, id);
    if (!v.missing_stages.includes('faces') || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(!v.missing_stages.includes('faces'), JSON.stringify(v.missing_stages));
  const { rows } = await db.rootPool.query('select face_model from app_public.videos where id = $1', [id]);
  assert.equal(rows[0].face_model, '@vladmandic/face-api');

  const faces = await facesOf(id);
  // Scene 0: the same person on three sampled frames is stored once; scene 1
  // shows nobody; scene 2 shows the three people of sample3.
  assert.deepEqual(
    faces.map((f) => f.ordinal),
    [0, 2, 2, 2],
  );
  for (const f of faces) {
    assert.equal(f.dims, 128);
    assert.equal(f.face_model, '@vladmandic/face-api');
    assert.ok(f.frame_s >= f.start_s && f.frame_s <= f.end_s, `frame ${f.frame_s} in ${f.start_s}-${f.end_s}`);
    assert.ok(f.det_score >= 0.3 && f.det_score <= 1);
    const [x, y, w, h] = f.box;
    assert.ok(x! >= 0 && y! >= 0 && w! > 0 && h! > 0 && x! + w! <= 1.0001 && y! + h! <= 1.0001, JSON.stringify(f.box));
    const crop = await rig.storage.stat(`u/${owner}/faces/${f.id}.jpg`);
    assert.ok(crop && crop.size > 500, `crop of face ${f.id}`);
  }
});

test('FACES=off: no face is detected or stored, and nothing is recorded as missing', async () => {
  await run(off.config, getModels(off.config), off.storage);
  const id = await insertVideo(db, owner, await upload(off, owner, video));
  const v = await settled(db, id);
  assert.equal(v.state, 'indexed', v.error ?? '');
  assert.ok(!v.missing_stages.includes('faces'), JSON.stringify(v.missing_stages));
  assert.deepEqual(await facesOf(id), []);
  const { rows } = await db.rootPool.query('select face_model from app_public.videos where id = $1', [id]);
  assert.equal(rows[0].face_model, null);
});

test('after a face-model change, named faces keep their person and enrolment photos are embedded again', async () => {
  const models = getModels(rig.config);
  await run(rig.config, models);
  const id = await insertVideo(db, owner, await upload(rig, owner, video));
  assert.equal((await settled(db, id)).state, 'indexed');
  const before = await facesOf(id);
  const nurseFace = before.find((f) => f.ordinal === 0)!;
  assert.ok(nurseFace);

  // The user named the nurse's face and enrolled her from a photo.
  const person = uuid();
  const photoKey = `u/${owner}/photos/${person}.jpg`;
  const photo = fs.readFileSync(await photoOf(PEOPLE.nurseClose, path.join(rig.dir, 'nurse-close.jpg')));
  await rig.storage.put(photoKey, photo, 'image/jpeg');
  const analyzer = (await models.faceAnalyzer())!;
  const [enrolled] = (await analyzer.detect(photo)).faces;
  assert.ok(enrolled);
  const enrolment = uuid();
  await db.rootPool.query(`insert into app_public.persons (id, owner_id, name) values ($1, $2, 'Nurse')`, [
    person,
    owner,
  ]);
  await db.rootPool.query('update app_public.faces set person_id = $1 where id = $2', [person, nurseFace.id]);
  // And named a group from one face of the crowd shot, with no photo: only
  // the face itself says who it is.
  const crowdFace = before.find((f) => f.ordinal === 2)!;
  const named = uuid();
  await db.rootPool.query(`insert into app_public.persons (id, owner_id, name) values ($1, $2, 'Named group')`, [
    named,
    owner,
  ]);
  await db.rootPool.query('update app_public.faces set person_id = $1 where id = $2', [named, crowdFace.id]);
  // As if another model had embedded everything: its vectors mean nothing to the current one.
  const foreign = `[${Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : 0)).join(',')}]`;
  await db.rootPool.query(
    `insert into app_public.faces (id, owner_id, person_id, photo_key, box, det_score, embedding, face_model)
     values ($1, $2, $3, $4, $5, 0.9, $6, 'old/face-model')`,
    [enrolment, owner, person, photoKey, [enrolled.box.x, enrolled.box.y, enrolled.box.w, enrolled.box.h], foreign],
  );
  // A second photo that is no longer in storage cannot be embedded again: it stays as it was.
  const lost = uuid();
  await db.rootPool.query(
    `insert into app_public.faces (id, owner_id, person_id, photo_key, box, det_score, embedding, face_model)
     values ($1, $2, $3, $4, '{0.1,0.1,0.5,0.5}', 0.9, $5, 'old/face-model')`,
    [lost, owner, person, `u/${owner}/photos/gone.jpg`, foreign],
  );
  // A third photo was replaced after it was enrolled (an upload URL still
  // valid): the same picture with other bytes, so only the recorded digest
  // tells. It is refused and keeps its old embedding.
  const swapped = uuid();
  const swappedKey = `u/${owner}/photos/swapped.jpg`;
  await rig.storage.put(swappedKey, Buffer.concat([photo, Buffer.from('replaced after upload')]), 'image/jpeg');
  await db.rootPool.query(
    `insert into app_public.faces (id, owner_id, person_id, photo_key, box, det_score, embedding, face_model, photo_sha256)
     values ($1, $2, $3, $4, $5, 0.9, $6, 'old/face-model', $7)`,
    [
      swapped,
      owner,
      person,
      swappedKey,
      [enrolled.box.x, enrolled.box.y, enrolled.box.w, enrolled.box.h],
      foreign,
      crypto.createHash('sha256').update(photo).digest('hex'),
    ],
  );
  await db.rootPool.query(`update app_public.videos set face_model = 'old/face-model' where id = $1`, [id]);
  await db.rootPool.query(`update app_public.faces set face_model = 'old/face-model' where video_id = $1`, [id]);

  const summary = await reindex(rig.config, { ownerUrl: db.ownerUrl, models });
  assert.ok(summary.stale >= 1);
  assert.equal((await settled(db, id)).state, 'indexed');
  const reembedded = async () =>
    (
      await db.rootPool.query(
        `select person_id, face_model, (embedding <=> $2::vector) as moved from app_public.faces where id = $1`,
        [enrolment, `[${Array.from(enrolled.embedding).join(',')}]`],
      )
    ).rows[0];
  for (const deadline = Date.now() + 300_000; (await reembedded()).face_model !== analyzer.modelId;) {
    if (Date.now() > deadline) assert.fail('the enrolment photo was not embedded again');
    await new Promise((r) => setTimeout(r, 200));
  }
  const photoFace = await reembedded();
  const { rows: lostRows } = await db.rootPool.query('select face_model from app_public.faces where id = $1', [lost]);
  assert.equal(lostRows[0].face_model, 'old/face-model');
  const { rows: swappedRows } = await db.rootPool.query('select face_model from app_public.faces where id = $1', [
    swapped,
  ]);
  assert.equal(swappedRows[0].face_model, 'old/face-model', 'a photo changed after upload is not embedded again');
  assert.ok(
    logged.some((l) => l.startsWith(PHOTO_CHANGED) && l.includes(swappedKey)),
    logged.join('\n'),
  );
  for (const deadline = Date.now() + 300_000; ; await new Promise((r) => setTimeout(r, 200))) {
    const { rows: jobs } = await db.rootPool.query(
      `select j.attempts, j.last_error from graphile_worker._private_jobs j
         join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'faces__reembed'`,
    );
    // The job finished (not failed, not retried) although one photo was lost.
    if (jobs.length === 0) break;
    assert.equal(jobs[0].last_error, null);
    if (Date.now() > deadline) assert.fail('faces__reembed did not finish');
  }
  assert.equal(photoFace.person_id, person);
  assert.ok(photoFace.moved < 1e-4, `embedding is the new model's: distance ${photoFace.moved}`);

  const after = await facesOf(id);
  const again = after.find((f) => f.ordinal === 0)!;
  // Detected again (a new row, the current model) and still the nurse.
  assert.notEqual(again.id, nurseFace.id);
  assert.equal(again.face_model, analyzer.modelId);
  const personOf = async (faceId: string) =>
    (await db.rootPool.query('select person_id from app_public.faces where id = $1', [faceId])).rows[0].person_id;
  assert.equal(await personOf(again.id), person);
  const sameSpot = after.find(
    (f) =>
      f.ordinal === 2 &&
      Math.abs(f.box[0]! - crowdFace.box[0]!) < 0.01 &&
      Math.abs(f.box[1]! - crowdFace.box[1]!) < 0.01,
  )!;
  assert.ok(sameSpot, JSON.stringify(after.map((f) => f.box)));
  assert.notEqual(sameSpot.id, crowdFace.id);
  assert.equal(await personOf(sameSpot.id), named);
});
