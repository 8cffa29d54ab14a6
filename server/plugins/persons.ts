/*
 * People: createPerson and addPersonPhotos enrol a person from photos the
 * client uploaded with createUpload; mergePersons and assignFace correct
 * what the clustering decided; Person.thumbnailUrl signs a face crop.
 * Photos are checked and embedded (worker/ml, the same face model the
 * pipeline uses, so photo and video faces share one space) before anything
 * is written, and the rows are inserted as the requesting user, so row-level
 * security and the composite foreign keys decide what may be touched.
 */
import crypto from 'node:crypto';
import { withPgClientTransaction, type PgClient } from '@dataplan/pg';
import { lambda, object, SafeError } from 'grafast';
import { extendSchema, gql } from 'graphile-utils';
import { sql } from 'pg-sql2';
import type { Config } from '../../core/config.ts';
import { PHOTO_TYPES } from '../../core/media-types.ts';
import { assertValidKey, InvalidKeyError, faceCropKey, MAX_PHOTO_BYTES, ownerPrefix } from '../../core/storage/keys.ts';
import type { Storage } from '../../core/storage/types.ts';
import { cropFace } from '../../worker/ml/faces.ts';
import type { DetectedFace, FaceAnalyzer } from '../../worker/ml/types.ts';

export interface PersonsDeps {
  storage: Storage | null;
  config: Pick<Config, 'models' | 'storage'>;
  models: { faceAnalyzer?(): Promise<FaceAnalyzer | null> } | null;
}

const PHOTO_CONTENT_TYPES = new Set(Object.values(PHOTO_TYPES));
const MAX_PHOTOS = 20;
const MAX_NAME = 200;
/** In a photo of several people, the largest face is "the" person only when it clearly dominates. */
const DOMINANT_AREA = 2.5;

function fail(code: string, message: string): never {
  throw new SafeError(message, { code });
}

async function currentUser(client: PgClient): Promise<string> {
  const { rows } = await client.query<{ uid: string | null }>({ text: 'select auth.uid() as uid' });
  const uid = rows[0]?.uid;
  if (!uid) fail('UNAUTHENTICATED', 'Sign in to manage people');
  return uid;
}

/**
 * Another user's row is invisible (row-level security), exactly like one
 * that does not exist; every people mutation then answers NOT_FOUND, as
 * deleteVideoById does, rather than a bare database error.
 */
async function mustSee(client: PgClient, table: 'persons' | 'faces', what: string, ids: unknown[]): Promise<void> {
  const { rows } = await client.query<{ n: number }>({
    text: `select count(distinct id)::int as n from app_public.${table} where id = any($1::uuid[])`,
    values: [ids],
  });
  if (rows[0]!.n !== new Set(ids).size) fail('NOT_FOUND', `${what} not found`);
}

const area = (f: DetectedFace) => f.box.w * f.box.h;
const cosineDistance = (a: Float32Array, b: Float32Array) => 1 - a.reduce((s, x, i) => s + x * b[i]!, 0);

interface EnrolFace {
  key: string;
  bytes: Buffer;
  face: DetectedFace;
}

/**
 * One face per photo: the only one; or the clearly largest; or the one that
 * matches the faces of the other photos. Anything else is the caller's to
 * fix, and the message names the photo.
 */
export function chooseFaces(
  photos: { key: string; faces: DetectedFace[] }[],
  matchDistance: number,
): { key: string; face: DetectedFace }[] {
  const pick = (faces: DetectedFace[]): DetectedFace | null => {
    if (faces.length === 1) return faces[0]!;
    const bySize = [...faces].sort((a, b) => area(b) - area(a));
    if (bySize.length > 1 && area(bySize[0]!) >= DOMINANT_AREA * area(bySize[1]!)) return bySize[0]!;
    return null;
  };
  const chosen = photos.map((p) => ({ key: p.key, faces: p.faces, face: pick(p.faces) }));
  const refs = chosen.flatMap((c) => (c.face ? [c.face.embedding] : []));
  return chosen.map((c) => {
    const name = c.key.slice(c.key.lastIndexOf('/') + 1);
    if (c.faces.length === 0) fail('BAD_USER_INPUT', `No face was found in photo "${name}"`);
    if (c.face) return { key: c.key, face: c.face };
    const near = c.faces
      .map((f) => ({ f, d: Math.min(...refs.map((r) => cosineDistance(r, f.embedding))) }))
      .filter((x) => x.d <= matchDistance)
      .sort((a, b) => a.d - b.d);
    if (refs.length && near.length && (near.length === 1 || near[1]!.d - near[0]!.d > 0.01))
      return { key: c.key, face: near[0]!.f };
    fail(
      'BAD_USER_INPUT',
      `Photo "${name}" shows ${c.faces.length} faces and none stands out; upload a photo of this person alone (or cropped to them)`,
    );
  });
}

export function makePersonsPlugin(deps: PersonsDeps) {
  const sign = (key: string | null) =>
    key && deps.storage ? deps.storage.presignGet(key, { ttlS: deps.config.storage.urlTtlS }) : null;

  async function analyzer(): Promise<FaceAnalyzer> {
    if (!deps.config.models.faces)
      fail('FEATURE_DISABLED', 'Face recognition is turned off on this server (FACES=off)');
    const a = deps.models?.faceAnalyzer ? await deps.models.faceAnalyzer() : null;
    if (!a) fail('SERVICE_UNAVAILABLE', 'The face model is not installed on this server');
    return a;
  }

  /** Checks, reads and embeds every photo; throws naming the first bad one, having written nothing. */
  async function readPhotos(client: PgClient, uid: string, keys: unknown): Promise<EnrolFace[]> {
    if (!Array.isArray(keys) || keys.length === 0) fail('BAD_USER_INPUT', 'photoKeys must list at least one photo');
    if (keys.length > MAX_PHOTOS) fail('BAD_USER_INPUT', `At most ${MAX_PHOTOS} photos at once`);
    if (!deps.storage) fail('SERVICE_UNAVAILABLE', 'Object storage is not configured on this server');
    const storage = deps.storage;
    const face = await analyzer();
    const photos: { key: string; bytes: Buffer; faces: DetectedFace[] }[] = [];
    for (const key of keys) {
      try {
        assertValidKey(key);
      } catch (e) {
        if (e instanceof InvalidKeyError) fail('BAD_USER_INPUT', `photoKeys: not a valid object key: ${e.message}`);
        throw e;
      }
      if (!key.startsWith(ownerPrefix(uid)))
        fail('FORBIDDEN', `Photo "${key}" is not in your upload folder (${ownerPrefix(uid)})`);
      const info = await storage.stat(key);
      if (!info) fail('NOT_FOUND', `Nothing was uploaded at "${key}"; upload the photo with createUpload first`);
      const type = (info.contentType ?? '').split(';')[0]!.trim().toLowerCase();
      if (!PHOTO_CONTENT_TYPES.has(type))
        fail('UNSUPPORTED_MEDIA_TYPE', `Photo "${key}" has content type "${type || 'unknown'}"; use JPEG, PNG or WebP`);
      if (info.size > MAX_PHOTO_BYTES)
        fail('PAYLOAD_TOO_LARGE', `Photo "${key}" is larger than ${MAX_PHOTO_BYTES} bytes`);
      const chunks: Buffer[] = [];
      for await (const c of await storage.getStream(key)) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      // The object may have been replaced since stat (an upload URL still valid).
      if (bytes.length > MAX_PHOTO_BYTES)
        fail('PAYLOAD_TOO_LARGE', `Photo "${key}" is larger than ${MAX_PHOTO_BYTES} bytes`);
      let faces: DetectedFace[];
      try {
        faces = (await face.detect(bytes)).faces;
      } catch (e) {
        fail('BAD_USER_INPUT', `Photo "${key.slice(key.lastIndexOf('/') + 1)}" is not a readable image`);
      }
      photos.push({ key, bytes, faces });
    }
    const { rows } = await client.query<{ match_distance: number | null }>({
      text: 'select match_distance from app_hidden.face_calibration($1)',
      values: [face.modelId],
    });
    const chosen = chooseFaces(photos, rows[0]?.match_distance ?? 0);
    return chosen.map((c, i) => ({ key: c.key, bytes: photos[i]!.bytes, face: c.face }));
  }

  async function insertFaces(client: PgClient, uid: string, personId: string, faces: EnrolFace[], model: string) {
    for (const f of faces) {
      const id = crypto.randomUUID();
      await client.query({
        // photo_sha256 pins the bytes enrolled here: re-embedding after a face
        // model change refuses a photo replaced since (faces__reembed).
        text: `insert into app_public.faces (id, person_id, photo_key, box, det_score, embedding, face_model, photo_sha256)
               values ($1, $2, $3, $4::real[], $5, $6::vector, $7, $8)`,
        values: [
          id,
          personId,
          f.key,
          [f.face.box.x, f.face.box.y, f.face.box.w, f.face.box.h],
          f.face.score,
          JSON.stringify(Array.from(f.face.embedding)),
          model,
          crypto.createHash('sha256').update(f.bytes).digest('hex'),
        ],
      });
      await deps.storage!.put(faceCropKey(uid, id), await cropFace(f.bytes, f.face.box), 'image/jpeg');
    }
    await client.query({ text: 'select app_hidden.person_attach($1)', values: [personId] });
  }

  return extendSchema((build) => {
    const { persons, faces } = build.input.pgRegistry.pgResources;
    if (!persons || !faces) throw new Error('PersonsPlugin: app_public.persons/faces are not in the schema');
    const executor = persons.executor;
    const { TYPES } = build.dataplanPg;
    return {
      typeDefs: gql`
        extend type Person {
          """
          Short-lived URL of a face crop of this person (an enrolment photo's face when there is one).
          """
          thumbnailUrl: String
        }

        extend type Face {
          """
          Short-lived URL of this face's crop.
          """
          thumbnailUrl: String
        }

        extend type Mutation {
          """
          Enrols a person from photos uploaded with createUpload (JPEG, PNG, WebP): each
          photo must show one face (or one that clearly stands out). Faces already found
          in your videos that match are attached. Nothing is created when a photo fails.
          Errors: UNAUTHENTICATED, BAD_USER_INPUT (no face, several faces), FORBIDDEN,
          NOT_FOUND, UNSUPPORTED_MEDIA_TYPE, FEATURE_DISABLED (FACES=off).
          """
          createPerson(name: String!, photoKeys: [String!]): Person

          """
          Adds enrolment photos to a person or an unnamed group (same rules as createPerson).
          """
          addPersonPhotos(personId: UUID!, photoKeys: [String!]!): Person

          """
          Moves every face of sourceId to targetId and deletes sourceId.
          """
          mergePersons(sourceId: UUID!, targetId: UUID!): Person

          """
          Sets who a face is; personId null unassigns it.
          """
          assignFace(faceId: UUID!, personId: UUID): Face
        }
      `,
      objects: {
        Person: {
          plans: {
            thumbnailUrl($person: any) {
              // A mutation's payload (updatePersonById…) hands over a step that
              // cannot select more columns: read the row again by its id.
              const $row =
                typeof $person.getClassStep === 'function' ? $person : persons.get({ id: $person.get('id') });
              const $key = $row.select(sql`app_public.persons_thumbnail_key(${$row.getClassStep().alias})`, TYPES.text);
              return lambda($key, (key) => sign(key as string | null));
            },
          },
        },
        Face: {
          plans: {
            thumbnailUrl($face: any) {
              return lambda([$face.get('owner_id'), $face.get('id')], ([owner, id]) =>
                sign(faceCropKey(owner as string, id as string)),
              );
            },
          },
        },
        Mutation: {
          plans: {
            createPerson(_$root, fieldArgs) {
              const $args = object({ name: fieldArgs.getRaw('name'), photoKeys: fieldArgs.getRaw('photoKeys') });
              const $id = withPgClientTransaction(executor, $args, async (client, args) => {
                const uid = await currentUser(client);
                const name = String(args.name ?? '').trim();
                if (!name) fail('BAD_USER_INPUT', 'name must not be empty');
                if (name.length > MAX_NAME) fail('BAD_USER_INPUT', `name is longer than ${MAX_NAME} characters`);
                const keys = (args.photoKeys as string[] | null) ?? [];
                const photos = keys.length ? await readPhotos(client, uid, keys) : [];
                if (!keys.length) await analyzer();
                const { rows } = await client.query<{ id: string }>({
                  text: 'insert into app_public.persons (name) values ($1) returning id',
                  values: [name],
                });
                const id = rows[0]!.id;
                if (photos.length) await insertFaces(client, uid, id, photos, (await analyzer()).modelId);
                return id;
              });
              return persons.get({ id: $id });
            },

            addPersonPhotos(_$root, fieldArgs) {
              const $args = object({
                personId: fieldArgs.getRaw('personId'),
                photoKeys: fieldArgs.getRaw('photoKeys'),
              });
              const $id = withPgClientTransaction(executor, $args, async (client, args) => {
                const uid = await currentUser(client);
                const { rows } = await client.query<{ id: string }>({
                  text: 'select id from app_public.persons where id = $1',
                  values: [args.personId],
                });
                if (!rows[0]) fail('NOT_FOUND', 'person not found');
                // An unnamed group takes photos too: a user may add a better
                // photo of someone before deciding what to call them.
                const photos = await readPhotos(client, uid, args.photoKeys);
                await insertFaces(client, uid, rows[0].id, photos, (await analyzer()).modelId);
                return rows[0].id;
              });
              return persons.get({ id: $id });
            },

            mergePersons(_$root, fieldArgs) {
              const $args = object({ sourceId: fieldArgs.getRaw('sourceId'), targetId: fieldArgs.getRaw('targetId') });
              const $id = withPgClientTransaction(executor, $args, async (client, args) => {
                await currentUser(client);
                await mustSee(client, 'persons', 'person', [args.sourceId, args.targetId]);
                const { rows } = await client.query<{ id: string }>({
                  text: 'select (app_public.merge_persons($1, $2)).id',
                  values: [args.sourceId, args.targetId],
                });
                return rows[0]!.id;
              });
              return persons.get({ id: $id });
            },

            assignFace(_$root, fieldArgs) {
              const $args = object({ faceId: fieldArgs.getRaw('faceId'), personId: fieldArgs.getRaw('personId') });
              const $id = withPgClientTransaction(executor, $args, async (client, args) => {
                await currentUser(client);
                await mustSee(client, 'faces', 'face', [args.faceId]);
                if (args.personId != null) await mustSee(client, 'persons', 'person', [args.personId]);
                const { rows } = await client.query<{ id: string }>({
                  text: 'select (app_public.assign_face($1, $2)).id',
                  values: [args.faceId, args.personId ?? null],
                });
                return rows[0]!.id;
              });
              return faces.get({ id: $id });
            },
          },
        },
      },
    };
  }, 'HeimdexPersonsPlugin');
}
