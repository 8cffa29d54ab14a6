/*
 * One storage interface for the server (uploads, signed previews) and the
 * worker (fetching videos, writing keyframes). Drivers: fs (embedded default)
 * and s3 (MinIO, AWS S3, any S3-compatible store).
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  size: number;
  contentType?: string;
  /**
   * The size the uploader committed to in its signed upload, where the store
   * keeps it (object metadata). A store that does not enforce upload policies
   * (some S3-compatible servers) can hold an object whose size differs; the
   * API compares the two before accepting the object.
   */
  declaredSize?: number;
  /**
   * Changes whenever the object is written again (the S3 ETag with its
   * modification time; for fs the file's inode, size and mtime): a worker
   * that verified these bytes once need not read them again to know they
   * are the same.
   */
  version?: string;
}

export interface ListedObject {
  key: string;
  modified: Date;
}

/** What a client needs to upload bytes to an exact, server-chosen key. */
export interface PresignedUpload {
  objectKey: string;
  /** POST (multipart form with `fields` then the file) or PUT (raw body with `headers`). */
  method: 'POST' | 'PUT';
  url: string;
  fields: Record<string, string>;
  headers: Record<string, string>;
  expiresAt: Date;
  maxBytes: number;
}

export interface Storage {
  readonly driver: 'fs' | 's3';
  /** Creates the bucket / folder when missing. */
  ensureReady(): Promise<void>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  presignUpload(key: string, opts: { contentType: string; byteSize: number; ttlS: number }): Promise<PresignedUpload>;
  /** Short-lived GET URL that supports HTTP Range (seekable in a <video> element). */
  presignGet(key: string, opts: { ttlS: number; contentType?: string }): Promise<string>;
  /** null when the object does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Streams the object to a local file, failing when it exceeds maxBytes. Returns bytes written. */
  download(key: string, destPath: string, opts: { maxBytes: number; signal?: AbortSignal }): Promise<number>;
  getStream(key: string): Promise<Readable>;
  put(key: string, body: Buffer | Readable, contentType: string): Promise<void>;
  /** Deleting a missing key is not an error. */
  delete(keys: string[]): Promise<void>;
  /** Every object under a prefix, with when it was last written (the orphan sweep). */
  list(prefix: string): AsyncIterable<ListedObject>;
  /**
   * fs driver: the base URL its signed URLs point at (this server). Only
   * needed when it is known after listening (port 0 in tests); otherwise
   * HEIMDEX_PUBLIC_URL / host:port from the config is used.
   */
  setPublicUrl?(url: string): void;
}

/** Raised for conditions that retrying cannot fix (missing object, oversize). */
export class StoragePermanentError extends Error {}

/**
 * The object store could not be reached or failed on its side (refused
 * connection, reset, timeout, a 5xx): retrying later can fix it, and it is
 * neither the caller's fault nor the database's. Its own code keeps it apart
 * from a database outage, whose socket errors look the same.
 */
export class StorageUnavailableError extends Error {
  readonly code = 'STORAGE_UNAVAILABLE';
  constructor(cause: unknown) {
    const e = cause as { code?: string; message?: string };
    super(`the object store is unavailable (${e?.message || e?.code || String(cause)})`, { cause });
  }
}

/** The store has no room for what a client is about to send (the fs driver's disk). */
export class StorageFullError extends Error {
  readonly code = 'STORAGE_FULL';
}
