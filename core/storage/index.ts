/*
 * The storage factory: one Storage per process, chosen by STORAGE_DRIVER.
 */
import path from 'node:path';
import type { Config } from '../config.ts';
import { FsStorage } from './fs.ts';
import { S3Storage } from './s3.ts';
import { loadSigningSecret } from './signing.ts';
import type { Storage } from './types.ts';

export type { ObjectInfo, PresignedUpload, Storage } from './types.ts';
export { StorageFullError, StoragePermanentError, StorageUnavailableError } from './types.ts';
export { InvalidKeyError, assertValidKey, keyframeKey, newVideoKey, ownerPrefix, sanitiseFilename } from './keys.ts';
export { FsStorage } from './fs.ts';
export { S3Storage } from './s3.ts';

export function createStorage(config: Config): Storage {
  if (config.storage.driver === 's3') {
    const s3 = config.storage.s3;
    // loadConfig already refuses s3 without these; repeated for the type checker.
    if (!s3.endpoint || !s3.accessKey || !s3.secretKey)
      throw new Error('STORAGE_DRIVER=s3 needs S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY');
    return new S3Storage({
      endpoint: s3.endpoint,
      publicEndpoint: s3.publicEndpoint,
      region: s3.region,
      bucket: s3.bucket,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    });
  }
  return new FsStorage({
    root: path.join(config.dataDir, 'objects'),
    secret: loadSigningSecret(config.dataDir, config.storage.signingSecret),
    publicUrl: config.publicUrl,
  });
}
