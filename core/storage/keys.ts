/*
 * Object keys are the one place a user-influenced string becomes a file path
 * (fs driver) or an S3 key, so both drivers validate them the same strict way,
 * and uploads only ever get keys that this module generated.
 */
import crypto from 'node:crypto';
import path from 'node:path';

export class InvalidKeyError extends Error {}

const MAX_KEY_BYTES = 1024;

/**
 * Throws unless the key is a plain relative path of non-hidden segments.
 * Leading-dot segments are refused so the fs driver can keep its own
 * bookkeeping (.tmp, .meta) in the same root without any key reaching it.
 */
export function assertValidKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError('object key must be a non-empty string');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new InvalidKeyError(`object key is longer than ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key))
    throw new InvalidKeyError('object key contains a control character or backslash');
  if (key.startsWith('/') || path.isAbsolute(key) || /^[a-zA-Z]:/.test(key))
    throw new InvalidKeyError('object key must be relative');
  for (const seg of key.split('/')) {
    if (seg === '') throw new InvalidKeyError('object key has an empty path segment');
    if (seg.startsWith('.')) throw new InvalidKeyError(`object key segment "${seg}" starts with a dot`);
  }
}

/** The folder every object of one user lives in; the database checks the same prefix. */
export function ownerPrefix(ownerId: string): string {
  return `u/${ownerId}/`;
}

const MAX_FILENAME = 120;

/**
 * A file name safe in a key, a URL and a file system: the last path part only,
 * letters/digits/._- kept, everything else folded to "_", extension preserved
 * even when the stem is cut. Never empty, never hidden.
 */
export function sanitiseFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const folded = base.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  let clean = folded
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[._-]+/, '');
  const dot = clean.lastIndexOf('.');
  let stem = dot > 0 ? clean.slice(0, dot) : clean;
  const ext =
    dot > 0
      ? clean
          .slice(dot + 1)
          .replace(/[^A-Za-z0-9]/g, '')
          .slice(0, 10)
          .toLowerCase()
      : '';
  stem = stem.replace(/[._-]+$/, '');
  if (!stem) stem = 'upload';
  stem = stem.slice(0, MAX_FILENAME - (ext ? ext.length + 1 : 0));
  clean = ext ? `${stem}.${ext}` : stem;
  return clean;
}

/** `u/<owner_id>/<uuid>/<sanitised filename>`: unique, owned, readable. */
export function newVideoKey(ownerId: string, filename: string): string {
  return `${ownerPrefix(ownerId)}${crypto.randomUUID()}/${sanitiseFilename(filename)}`;
}

/** `u/<owner_id>/<video_id>/keyframes/<ordinal>.jpg` */
export function keyframeKey(ownerId: string, videoId: string, ordinal: number): string {
  return `${ownerPrefix(ownerId)}${videoId}/keyframes/${ordinal}.jpg`;
}

/** `u/<owner_id>/<video_id>/playback.mp4`: the copy a browser plays when it cannot play the upload. */
export function playbackKey(ownerId: string, videoId: string): string {
  return `${ownerPrefix(ownerId)}${videoId}/playback.mp4`;
}

/**
 * `u/<owner_id>/<video_id>/playback/<part>-<uuid>.mp4`: one part of that
 * copy, until the parts are joined. A new name each attempt: the deletion
 * queued for an earlier run's parts (a copy called off, then the video
 * processed again) can never reach a part of the new run.
 */
export function playbackPartKey(ownerId: string, videoId: string, part: number): string {
  return `${ownerPrefix(ownerId)}${videoId}/playback/${part}-${crypto.randomUUID()}.mp4`;
}

/** `u/<owner_id>/faces/<face_id>.jpg`: a face's crop, shown as its thumbnail. */
export function faceCropKey(ownerId: string, faceId: string): string {
  return `${ownerPrefix(ownerId)}faces/${faceId}.jpg`;
}

/** Largest enrolment photo: refused above this at enrolment, and never read above it when embedded again. */
export const MAX_PHOTO_BYTES = 25 * 1024 * 1024;
