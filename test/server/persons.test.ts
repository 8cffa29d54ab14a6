/*
 * The people API over real HTTP with the real face model: every mutation and
 * query on one's own rows, and the same calls with another user's ids
 * getting nothing or an error (never a row), with a root check that those
 * rows are really there. Scene faces are written as the pipeline writes
 * them (app_private.faces_write), so this file needs no worker.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { getModels } from '../../worker/ml/index.ts';
import { PEOPLE, photoOf, samplePhoto } from '../fixtures/faces.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { uploadAsBrowser } from '../storage/harness.ts';
import { gql, signup, startTestServer } from './helpers.ts';

const db = await createTestDatabase();
const srv = await startTestServer(db);
const offSrv = await startTestServer(db, { FACES: 'off' });
const alice = await signup(srv.url);
const bob = await signup(srv.url);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-persons-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const photos = {
  nurse: await photoOf(PEOPLE.nurseClose, path.join(dir, 'nurse.jpg')),
  nurse2: await photoOf(PEOPLE.nurse, path.join(dir, 'nurse-2.jpg'), 800),
  curls: await photoOf(PEOPLE.curls, path.join(dir, 'curls.jpg')),
  group: samplePhoto(5),
  noFace: path.join(dir, 'no-face.png'),
};
await sharp({ create: { width: 300, height: 200, channels: 3, background: '#357' } })
  .png()
  .toFile(photos.noFace);

const PERSON = 'id name faceCount sceneCount thumbnailUrl';
const codeOf = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.code as string | undefined;
const messageOf = (r: { body: any }) => (r.body?.errors?.[0]?.message ?? '') as string;

async function uploadPhoto(token: string, file: string, name = path.basename(file)): Promise<string> {
  const bytes = fs.readFileSync(file);
  const contentType = file.endsWith('.png') ? 'image/png' : 'image/jpeg';
  const r = await gql(
    srv.url,
    `mutation($f: String!, $s: BigInt!, $t: String!) { createUpload(filename: $f, byteSize: $s, contentType: $t) { objectKey method url fields headers expiresAt maxBytes } }`,
    { f: name, s: String(bytes.length), t: contentType },
    token,
  );
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const ticket = r.body.data.createUpload;
  const up = await uploadAsBrowser({ ...ticket, expiresAt: new Date(ticket.expiresAt) }, bytes);
  assert.ok(up.ok, `upload ${up.status}`);
  return ticket.objectKey as string;
}

const createPerson = (token: string, name: string, photoKeys: string[] | null) =>
  gql(
    srv.url,
    `mutation($n: String!, $k: [String!]) { createPerson(name: $n, photoKeys: $k) { ${PERSON} } }`,
    { n: name, k: photoKeys },
    token,
  );
const personCount = async (owner: string) =>
  Number(
    (await db.rootPool.query('select count(*) from app_public.persons where owner_id = $1', [owner])).rows[0].count,
  );

/** A video with one scene and one unassigned face in it, written the way the pipeline writes it. */
async function sceneWithFace(owner: string, embedding: number[]) {
  const {
    rows: [v],
  } = await db.rootPool.query(
    `insert into app_public.videos (owner_id, title, object_key, state) values ($1, 'clip', $2, 'indexed') returning id`,
    [owner, `u/${owner}/${crypto.randomUUID()}/clip.mp4`],
  );
  const {
    rows: [s],
  } = await db.rootPool.query(
    `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript) values ($1, $2, 0, 0, 4, 'hello there') returning id`,
    [v.id, owner],
  );
  const faceId = crypto.randomUUID();
  await db.rootPool.query('select app_private.faces_write($1, $2, $3)', [
    v.id,
    '@vladmandic/face-api',
    JSON.stringify([
      { ordinal: 0, faces: [{ id: faceId, frame_s: 1, box: [0.2, 0.1, 0.3, 0.4], det_score: 0.9, embedding }] },
    ]),
  ]);
  return { videoId: v.id as string, sceneId: s.id as string, faceId };
}

const analyzer = (await getModels(srv.config).faceAnalyzer())!;
const embeddingOf = async (file: string) =>
  Array.from((await analyzer.detect(fs.readFileSync(file))).faces[0]!.embedding);

const ids = { nurse: '', bobPerson: '', aliceScene: '', aliceFace: '', bobFace: '', aliceVideo: '' };

test('createPerson enrols from an uploaded photo and attaches matching faces found before', async () => {
  // A scene face of the same person, stored before the enrolment.
  const earlier = await sceneWithFace(alice.id, await embeddingOf(photos.nurse2));
  ids.aliceScene = earlier.sceneId;
  ids.aliceFace = earlier.faceId;
  ids.aliceVideo = earlier.videoId;
  const key = await uploadPhoto(alice.token, photos.nurse);
  const r = await createPerson(alice.token, 'Nurse', [key]);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const p = r.body.data.createPerson;
  assert.equal(p.name, 'Nurse');
  assert.equal(p.faceCount, 2, 'the photo and the earlier scene face');
  assert.equal(p.sceneCount, 1);
  ids.nurse = p.id;
  // The bytes enrolled are pinned: re-embedding refuses others under this key.
  const pinned = await db.rootPool.query('select photo_sha256 from app_public.faces where photo_key = $1', [key]);
  assert.equal(
    pinned.rows[0].photo_sha256,
    crypto.createHash('sha256').update(fs.readFileSync(photos.nurse)).digest('hex'),
  );
  // The thumbnail is a signed URL of a real JPEG crop of the enrolment photo's face.
  const thumb = await fetch(p.thumbnailUrl);
  assert.equal(thumb.status, 200);
  const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.width, 160);

  const b = await sceneWithFace(bob.id, await embeddingOf(photos.curls));
  ids.bobFace = b.faceId;
  const bobKey = await uploadPhoto(bob.token, photos.curls);
  const rb = await createPerson(bob.token, 'Curls', [bobKey]);
  assert.equal(rb.body.errors, undefined, JSON.stringify(rb.body.errors));
  ids.bobPerson = rb.body.data.createPerson.id;
});

test('a photo with no face, or several and none standing out, is refused naming it, and nothing is created', async () => {
  const before = await personCount(alice.id);
  const good = await uploadPhoto(alice.token, photos.nurse);
  for (const [file, name, pattern] of [
    [photos.noFace, 'no-face.png', /No face was found in photo "no-face\.png"/],
    [photos.group, 'group.jpg', /Photo "group\.jpg" shows 5 faces/],
  ] as const) {
    const key = await uploadPhoto(alice.token, file, name);
    const r = await createPerson(alice.token, 'Someone', [good, key]);
    assert.equal(codeOf(r), 'BAD_USER_INPUT', JSON.stringify(r.body));
    assert.match(messageOf(r), pattern);
    assert.equal(r.body.data?.createPerson ?? null, null);
  }
  // Someone else's photo: refused, and Bob's photo is not read.
  const bobKey = await uploadPhoto(bob.token, photos.curls);
  const r = await createPerson(alice.token, 'Thief', [bobKey]);
  assert.equal(codeOf(r), 'FORBIDDEN');
  assert.equal(await personCount(alice.id), before);
  // A photo is never a video.
  const v = await gql(srv.url, 'mutation($k: String!) { createVideo(objectKey: $k) { id } }', { k: good }, alice.token);
  assert.equal(codeOf(v), 'UNSUPPORTED_MEDIA_TYPE');
});

test('allPersons, personById and Scene.faces show only one’s own people and faces', async () => {
  const mine = await gql(srv.url, `{ allPersons { nodes { ${PERSON} } } }`, {}, alice.token);
  assert.deepEqual(
    mine.body.data.allPersons.nodes.map((p: any) => p.name),
    ['Nurse'],
  );
  const theirs = await gql(
    srv.url,
    `query($id: UUID!) { personById(id: $id) { id } }`,
    { id: ids.bobPerson },
    alice.token,
  );
  assert.equal(theirs.body.data.personById, null);
  const scene = await gql(
    srv.url,
    `query($id: UUID!) { sceneById(id: $id) { faces { nodes { id box detScore thumbnailUrl person { id name } } } } }`,
    { id: ids.aliceScene },
    alice.token,
  );
  assert.equal(scene.body.errors, undefined, JSON.stringify(scene.body.errors));
  const faces = scene.body.data.sceneById.faces.nodes;
  assert.equal(faces.length, 1);
  assert.deepEqual(faces[0].person, { id: ids.nurse, name: 'Nurse' });
  assert.deepEqual(
    faces[0].box.map((x: number) => Number(x.toFixed(2))),
    [0.2, 0.1, 0.3, 0.4],
  );
  const asBob = await gql(
    srv.url,
    `query($id: UUID!) { sceneById(id: $id) { id } }`,
    { id: ids.aliceScene },
    bob.token,
  );
  assert.equal(asBob.body.data.sceneById, null);
  const anon = await gql(srv.url, `{ allPersons { nodes { id } } }`);
  assert.ok(anon.body.errors?.length, 'anon may not read persons');
  assert.equal(await personCount(bob.id), 1);
});

test('searchScenes with personId finds the person’s scenes for the owner and nothing for anyone else', async () => {
  const q = `query($p: UUID, $q: String!) { searchScenes(query: $q, personId: $p) { hits { sceneId persons { id name } } modalities } }`;
  const own = await gql(srv.url, q, { p: ids.nurse, q: '' }, alice.token);
  assert.equal(own.body.errors, undefined, JSON.stringify(own.body.errors));
  assert.deepEqual(own.body.data.searchScenes.hits, [
    { sceneId: ids.aliceScene, persons: [{ id: ids.nurse, name: 'Nurse' }] },
  ]);
  assert.deepEqual(own.body.data.searchScenes.modalities, ['person']);
  const words = await gql(srv.url, q, { p: ids.nurse, q: 'hello' }, alice.token);
  assert.equal(words.body.data.searchScenes.hits.length, 1);
  // The tiny test models may add text and vision; fulltext ran, and person comes last.
  const used = words.body.data.searchScenes.modalities as string[];
  assert.ok(used.includes('fulltext') && used.at(-1) === 'person', used.join(','));
  const other = await gql(srv.url, q, { p: ids.nurse, q: '' }, bob.token);
  assert.deepEqual(other.body.data.searchScenes.hits, []);
  const empty = await gql(srv.url, q, { p: null, q: '' }, alice.token);
  assert.match(messageOf(empty), /query must not be empty/);
});

test('updatePersonById, addPersonPhotos, assignFace and mergePersons: own rows yes, another user’s never', async () => {
  const rename = `mutation($id: UUID!, $n: String!) { updatePersonById(input: {id: $id, personPatch: {name: $n}}) { person { ${PERSON} } } }`;
  const ok = await gql(srv.url, rename, { id: ids.nurse, n: 'Head nurse' }, alice.token);
  assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
  assert.equal(ok.body.data.updatePersonById.person.name, 'Head nurse');
  // The payload's person is a whole Person, its signed face crop included.
  assert.equal((await fetch(ok.body.data.updatePersonById.person.thumbnailUrl)).status, 200);
  const denied = await gql(srv.url, rename, { id: ids.bobPerson, n: 'Renamed by Alice' }, alice.token);
  // NOT_FOUND, as for a person that does not exist (Bob's is untouched: checked as root at the end).
  assert.equal(codeOf(denied), 'NOT_FOUND', JSON.stringify(denied.body));
  const missing = await gql(srv.url, rename, { id: crypto.randomUUID(), n: 'Nobody' }, alice.token);
  assert.equal(codeOf(missing), 'NOT_FOUND', JSON.stringify(missing.body));

  const add = `mutation($id: UUID!, $k: [String!]!) { addPersonPhotos(personId: $id, photoKeys: $k) { id faceCount } }`;
  const more = await gql(
    srv.url,
    add,
    { id: ids.nurse, k: [await uploadPhoto(alice.token, photos.nurse2)] },
    alice.token,
  );
  assert.equal(more.body.errors, undefined, JSON.stringify(more.body.errors));
  assert.equal(more.body.data.addPersonPhotos.faceCount, 3);
  const addTheirs = await gql(
    srv.url,
    add,
    { id: ids.bobPerson, k: [await uploadPhoto(alice.token, photos.nurse2)] },
    alice.token,
  );
  assert.equal(codeOf(addTheirs), 'NOT_FOUND');
  // An unnamed group (one the clustering formed) takes photos too, and stays unnamed.
  const group = await sceneWithFace(alice.id, await embeddingOf(photos.curls));
  const {
    rows: [g],
  } = await db.rootPool.query(`insert into app_public.persons (owner_id, name) values ($1, null) returning id`, [
    alice.id,
  ]);
  await db.rootPool.query('update app_public.faces set person_id = $1 where id = $2', [g.id, group.faceId]);
  const toGroup = await gql(
    srv.url,
    `mutation($id: UUID!, $k: [String!]!) { addPersonPhotos(personId: $id, photoKeys: $k) { id name faceCount } }`,
    { id: g.id, k: [await uploadPhoto(alice.token, photos.curls)] },
    alice.token,
  );
  assert.equal(toGroup.body.errors, undefined, JSON.stringify(toGroup.body.errors));
  assert.deepEqual(toGroup.body.data.addPersonPhotos, { id: g.id, name: null, faceCount: 2 });
  // Naming it afterwards works as for any group.
  const named = await gql(srv.url, rename, { id: g.id, n: 'Curly' }, alice.token);
  assert.equal(named.body.errors, undefined, JSON.stringify(named.body.errors));
  assert.equal(named.body.data.updatePersonById.person.name, 'Curly');
  await db.rootPool.query('delete from app_public.persons where id = $1', [g.id]);
  await db.rootPool.query('delete from app_public.videos where id = $1', [group.videoId]);

  const assign = `mutation($f: UUID!, $p: UUID) { assignFace(faceId: $f, personId: $p) { id personId assignedByUser person { name } } }`;
  const unassigned = await gql(srv.url, assign, { f: ids.aliceFace, p: null }, alice.token);
  assert.equal(unassigned.body.errors, undefined, JSON.stringify(unassigned.body.errors));
  assert.equal(unassigned.body.data.assignFace.personId, null);
  assert.equal(unassigned.body.data.assignFace.assignedByUser, true, 'automatic matching leaves it alone from now on');
  const reassigned = await gql(srv.url, assign, { f: ids.aliceFace, p: ids.nurse }, alice.token);
  assert.equal(reassigned.body.data.assignFace.person.name, 'Head nurse');
  for (const vars of [
    { f: ids.bobFace, p: null },
    { f: ids.aliceFace, p: ids.bobPerson },
  ]) {
    const r = await gql(srv.url, assign, vars, alice.token);
    assert.equal(codeOf(r), 'NOT_FOUND', JSON.stringify(r.body));
    assert.match(messageOf(r), /(face|person) not found/);
    assert.equal(r.body.data?.assignFace ?? null, null);
  }

  const temp = await createPerson(alice.token, 'Temp', null);
  assert.equal(temp.body.errors, undefined, JSON.stringify(temp.body.errors));
  const merge = `mutation($s: UUID!, $t: UUID!) { mergePersons(sourceId: $s, targetId: $t) { id name faceCount } }`;
  const merged = await gql(srv.url, merge, { s: temp.body.data.createPerson.id, t: ids.nurse }, alice.token);
  assert.equal(merged.body.errors, undefined, JSON.stringify(merged.body.errors));
  assert.deepEqual(merged.body.data.mergePersons, { id: ids.nurse, name: 'Head nurse', faceCount: 3 });
  for (const vars of [
    { s: ids.bobPerson, t: ids.nurse },
    { s: ids.nurse, t: ids.bobPerson },
  ]) {
    const r = await gql(srv.url, merge, vars, alice.token);
    assert.equal(codeOf(r), 'NOT_FOUND', JSON.stringify(r.body));
    assert.match(messageOf(r), /person not found/);
  }

  const bobFace = await db.rootPool.query('select person_id from app_public.faces where id = $1', [ids.bobFace]);
  assert.equal(bobFace.rows[0].person_id, ids.bobPerson, "Bob's face is untouched");
  const bobName = await db.rootPool.query('select name from app_public.persons where id = $1', [ids.bobPerson]);
  assert.equal(bobName.rows[0].name, 'Curls');
});

test('"bearer" in lower case is accepted over HTTP as over the websocket', async () => {
  for (const scheme of ['bearer', 'BEARER']) {
    const res = await fetch(`${srv.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `${scheme} ${alice.token}` },
      body: JSON.stringify({ query: '{ allPersons { nodes { id } } }' }),
    });
    assert.equal(res.status, 200, scheme);
    const body = (await res.json()) as any;
    assert.ok(
      body.data.allPersons.nodes.some((p: { id: string }) => p.id === ids.nurse),
      `${scheme}: alice sees her own person`,
    );
    const me = await fetch(`${srv.url}/auth/me`, { headers: { authorization: `${scheme} ${alice.token}` } });
    assert.equal(me.status, 200, scheme);
    assert.equal(((await me.json()) as any).id, alice.id);
  }
});

test('deletePersonById removes the person and its enrolment faces; scene faces become unassigned', async () => {
  const del = `mutation($id: UUID!) { deletePersonById(input: {id: $id}) { person { id } } }`;
  const theirs = await gql(srv.url, del, { id: ids.bobPerson }, alice.token);
  assert.equal(codeOf(theirs), 'NOT_FOUND');
  assert.equal(await personCount(bob.id), 1);
  const r = await gql(srv.url, del, { id: ids.nurse }, alice.token);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const { rows } = await db.rootPool.query(
    'select scene_id, person_id, photo_key from app_public.faces where owner_id = $1',
    [alice.id],
  );
  assert.deepEqual(rows, [{ scene_id: ids.aliceScene, person_id: null, photo_key: null }]);
});

test('FACES=off: enrolment is refused', async () => {
  const carol = await signup(offSrv.url);
  const r = await gql(offSrv.url, `mutation { createPerson(name: "X") { id } }`, {}, carol.token);
  assert.equal(codeOf(r), 'FEATURE_DISABLED');
  assert.match(messageOf(r), /FACES=off/);
  assert.equal(await personCount(carol.id), 0);
});
