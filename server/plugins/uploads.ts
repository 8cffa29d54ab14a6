/*
 * The upload flow, in two mutations:
 *   createUpload  — the server picks the key (u/<uid>/<uuid>/<name>) and signs
 *                   an upload the store itself will hold to the announced size
 *                   and type (POST policy for s3, signed PUT for fs);
 *   createVideo   — once the bytes are there, the server checks the object
 *                   (prefix, existence, size, type) and inserts the row as the
 *                   requesting user, so RLS applies and the insert trigger
 *                   queues processing.
 * Identity comes from `select auth.uid()` under the request's pgSettings: the
 * same claims the policies see, never a second interpretation of the JWT.
 */
import { withPgClient, withPgClientTransaction, type PgClient } from '@dataplan/pg';
import { object, SafeError } from 'grafast';
import { extendSchema, gql } from 'graphile-utils';
import type { Config } from '../../core/config.ts';
import { SUBTITLE_TYPES } from '../../core/media-types.ts';
import { assertValidKey, InvalidKeyError, newVideoKey, ownerPrefix } from '../../core/storage/keys.ts';
import { StorageFullError, type ObjectInfo, type Storage } from '../../core/storage/types.ts';

export interface UploadsDeps {
  storage: Storage | null;
  config: Config;
}

/**
 * Sidecar subtitle types: accepted as subtitleKey, never as the video
 * itself. Those of core/media-types.ts, and the other names SRT goes by.
 */
const SUBTITLE_CONTENT_TYPES = new Set([...Object.values(SUBTITLE_TYPES), 'text/srt', 'application/x-srt']);
const MAX_FILENAME = 500;
const MAX_TITLE = 500;

/** A GraphQL error whose message and code reach the client even in production. */
function fail(code: string, message: string): never {
  throw new SafeError(message, { code });
}

async function currentUser(client: PgClient): Promise<string> {
  const { rows } = await client.query<{ uid: string | null }>({ text: 'select auth.uid() as uid' });
  const uid = rows[0]?.uid;
  if (!uid) fail('UNAUTHENTICATED', 'Sign in to upload videos');
  return uid;
}

const normaliseType = (t: string) => t.split(';')[0]!.trim().toLowerCase();

function parseByteSize(raw: unknown, max: number): number {
  const s = String(raw ?? '');
  if (!/^-?\d+$/.test(s)) fail('BAD_USER_INPUT', `byteSize must be a whole number of bytes, got "${s}"`);
  const n = Number(s);
  if (n <= 0) fail('BAD_USER_INPUT', 'byteSize must be at least 1 byte');
  if (!Number.isSafeInteger(n) || n > max)
    fail('PAYLOAD_TOO_LARGE', `The file is larger than the ${max} bytes allowed (MAX_UPLOAD_BYTES)`);
  return n;
}

/**
 * Everything createVideo requires of a stored object. A refused object in the
 * caller's own folder is deleted, since no video can ever use it; a key in
 * someone else's folder is never touched.
 */
async function checkObject(
  deps: UploadsDeps & { storage: Storage },
  uid: string,
  key: unknown,
  what: 'video' | 'subtitles',
): Promise<{ key: string; info: ObjectInfo }> {
  const label = what === 'video' ? 'objectKey' : 'subtitleKey';
  try {
    assertValidKey(key);
  } catch (e) {
    if (e instanceof InvalidKeyError) fail('BAD_USER_INPUT', `${label} is not a valid object key: ${e.message}`);
    throw e;
  }
  if (!key.startsWith(ownerPrefix(uid)))
    fail('FORBIDDEN', `${label} is not in your upload folder (${ownerPrefix(uid)})`);
  const info = await deps.storage.stat(key);
  if (!info)
    fail('NOT_FOUND', `Nothing was uploaded at ${label} "${key}"; upload the file to the URL from createUpload first`);

  const refuse = async (code: string, message: string): Promise<never> => {
    await deps.storage.delete([key]).catch(() => {});
    fail(code, message);
  };
  const { maxUploadBytes, allowedContentTypes } = deps.config.storage;
  if (info.size > maxUploadBytes)
    await refuse(
      'PAYLOAD_TOO_LARGE',
      `The uploaded ${what} is ${info.size} bytes, more than the ${maxUploadBytes} allowed`,
    );
  if (info.size === 0) await refuse('BAD_USER_INPUT', `The uploaded ${what} is empty`);
  if (info.declaredSize !== undefined && info.declaredSize !== info.size) {
    await refuse(
      'SIZE_MISMATCH',
      `The uploaded ${what} is ${info.size} bytes but the upload was announced as ${info.declaredSize}; upload it again`,
    );
  }
  const type = normaliseType(info.contentType ?? '');
  const allowed = allowedContentTypes.map(normaliseType);
  // Photos are accepted by createUpload for createPerson, never as a video.
  const typeFits =
    what === 'video'
      ? !SUBTITLE_CONTENT_TYPES.has(type) && !type.startsWith('image/')
      : SUBTITLE_CONTENT_TYPES.has(type);
  if (!allowed.includes(type) || !typeFits) {
    await refuse(
      'UNSUPPORTED_MEDIA_TYPE',
      `The uploaded ${what} has content type "${type || 'unknown'}", which is not accepted here`,
    );
  }
  return { key, info: { ...info, contentType: type } };
}

export function makeUploadsPlugin(deps: UploadsDeps): GraphileConfig.Plugin {
  const { config } = deps;
  const needStorage = (): UploadsDeps & { storage: Storage } => {
    if (!deps.storage) fail('SERVICE_UNAVAILABLE', 'Object storage is not configured on this server');
    return deps as UploadsDeps & { storage: Storage };
  };

  return extendSchema((build) => {
    const { videos } = build.input.pgRegistry.pgResources;
    if (!videos) throw new Error('UploadsPlugin: app_public.videos is not in the schema');
    const executor = videos.executor;

    return {
      typeDefs: gql`
        """
        Where and how to send a file's bytes: one exact key, size and type, for a short while.
        """
        type UploadTicket {
          """
          Storage key the file will have; pass it to createVideo afterwards.
          """
          objectKey: String!
          """
          POST: multipart form with every entry of fields, then the file as "file". PUT: the raw bytes with headers.
          """
          method: String!
          url: String!
          """
          Form fields for a POST upload (empty for PUT).
          """
          fields: JSON!
          """
          Headers to send with a PUT upload (empty for POST).
          """
          headers: JSON!
          expiresAt: Datetime!
          """
          The body must be exactly this many bytes.
          """
          maxBytes: BigInt!
        }

        extend type Mutation {
          """
          Starts an upload: checks size and type, picks the storage key and returns a
          presigned upload the storage enforces. Errors: UNAUTHENTICATED,
          PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, BAD_USER_INPUT, INSUFFICIENT_STORAGE
          (the server's disk cannot hold the file).
          """
          createUpload(filename: String!, byteSize: BigInt!, contentType: String!): UploadTicket!

          """
          Registers an uploaded file as a video and queues its processing. Errors:
          UNAUTHENTICATED, FORBIDDEN (not your key), NOT_FOUND (nothing uploaded),
          PAYLOAD_TOO_LARGE, SIZE_MISMATCH, UNSUPPORTED_MEDIA_TYPE, CONFLICT (already a video).
          """
          createVideo(objectKey: String!, title: String, subtitleKey: String): Video!
        }
      `,
      objects: {
        Mutation: {
          plans: {
            createUpload(_$root, fieldArgs) {
              const $args = object({
                filename: fieldArgs.getRaw('filename'),
                byteSize: fieldArgs.getRaw('byteSize'),
                contentType: fieldArgs.getRaw('contentType'),
              });
              return withPgClient(executor, $args, async (client, args) => {
                const uid = await currentUser(client);
                const d = needStorage();
                const { maxUploadBytes, allowedContentTypes, urlTtlS } = config.storage;
                const filename = String(args.filename ?? '').trim();
                if (!filename) fail('BAD_USER_INPUT', 'filename must not be empty');
                if (filename.length > MAX_FILENAME)
                  fail('BAD_USER_INPUT', `filename is longer than ${MAX_FILENAME} characters`);
                const byteSize = parseByteSize(args.byteSize, maxUploadBytes);
                const contentType = normaliseType(String(args.contentType ?? ''));
                if (!allowedContentTypes.map(normaliseType).includes(contentType)) {
                  fail(
                    'UNSUPPORTED_MEDIA_TYPE',
                    `Content type "${contentType}" is not accepted; allowed: ${allowedContentTypes.join(', ')}`,
                  );
                }
                const ticket = await d.storage
                  .presignUpload(newVideoKey(uid, filename), { contentType, byteSize, ttlS: urlTtlS })
                  .catch((e: unknown) => {
                    if (e instanceof StorageFullError) fail('INSUFFICIENT_STORAGE', e.message);
                    throw e;
                  });
                return { ...ticket, expiresAt: ticket.expiresAt.toISOString(), maxBytes: String(ticket.maxBytes) };
              });
            },

            createVideo(_$root, fieldArgs) {
              const $args = object({
                objectKey: fieldArgs.getRaw('objectKey'),
                title: fieldArgs.getRaw('title'),
                subtitleKey: fieldArgs.getRaw('subtitleKey'),
              });
              const $id = withPgClientTransaction(executor, $args, async (client, args) => {
                const uid = await currentUser(client);
                const d = needStorage();
                const video = await checkObject(d, uid, args.objectKey, 'video');
                const subtitles =
                  args.subtitleKey == null ? null : await checkObject(d, uid, args.subtitleKey, 'subtitles');
                const filename = video.key.slice(video.key.lastIndexOf('/') + 1);
                const title = args.title == null ? filename.replace(/\.[^.]+$/, '') : String(args.title).trim();
                if (title.length > MAX_TITLE) fail('BAD_USER_INPUT', `title is longer than ${MAX_TITLE} characters`);
                try {
                  const { rows } = await client.query<{ id: string }>({
                    text: `insert into app_public.videos (title, filename, object_key, subtitle_key, byte_size, content_type)
                           values ($1, $2, $3, $4, $5, $6) returning id`,
                    values: [
                      title,
                      filename,
                      video.key,
                      subtitles?.key ?? null,
                      video.info.size,
                      video.info.contentType,
                    ],
                  });
                  return rows[0]!.id;
                } catch (e) {
                  if ((e as { code?: string }).code === '23505')
                    fail('CONFLICT', 'This upload is already registered as a video');
                  throw e;
                }
              });
              return videos.get({ id: $id });
            },
          },
        },
      },
    };
  }, 'HeimdexUploadsPlugin');
}

/** The name the server's preset loads; called with { storage, config }. */
export const UploadsPlugin = makeUploadsPlugin;
