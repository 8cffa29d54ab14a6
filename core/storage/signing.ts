/*
 * Signed URLs for the fs driver. The server plays the part S3 plays for the s3
 * driver: a URL is a capability bound to one method, one key, an expiry and,
 * for uploads, the exact size and content type. HMAC-SHA256 over an
 * unambiguous (JSON) encoding of those fields, compared in constant time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface SignedFields {
  method: 'GET' | 'PUT';
  key: string;
  /** Unix seconds. */
  expires: number;
  /** PUT only: the exact body size the upload must have. */
  size?: number;
  /** PUT: required Content-Type of the body. GET: Content-Type to answer with. */
  contentType?: string;
}

export function sign(secret: Buffer, f: SignedFields): string {
  const payload = JSON.stringify([
    'heimdex-storage-v1',
    f.method,
    f.key,
    f.expires,
    f.size ?? null,
    f.contentType ?? null,
  ]);
  return crypto.createHmac('sha256', secret).update(payload).digest('base64url');
}

export type VerifyResult = { ok: true } | { ok: false; reason: 'expired' | 'bad-signature' };

export function verify(secret: Buffer, f: SignedFields, signature: string, now = Date.now()): VerifyResult {
  const expected = Buffer.from(sign(secret, f));
  const given = Buffer.from(signature);
  // Checked before expiry so an expired URL cannot be used to probe validity.
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad-signature' };
  if (!Number.isFinite(f.expires) || f.expires * 1000 < now) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/**
 * STORAGE_SIGNING_SECRET, or a random secret generated once into the data
 * folder (0600) so URLs stay valid across restarts, never a built-in default.
 */
export function loadSigningSecret(dataDir: string, configured?: string): Buffer {
  if (configured) {
    if (configured.length < 32) throw new Error('STORAGE_SIGNING_SECRET must be at least 32 characters');
    return Buffer.from(configured);
  }
  const file = path.join(dataDir, 'storage-signing.key');
  fs.mkdirSync(dataDir, { recursive: true });
  if (!fs.existsSync(file)) {
    // Written aside then hard-linked into place: link() fails if another
    // process won the race, so both end up reading the same complete secret.
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, crypto.randomBytes(32).toString('base64url'), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < 32)
    throw new Error(`${file} is corrupt (shorter than 32 characters); delete it to generate a new one`);
  return Buffer.from(secret);
}
