/*
 * Why: a long video is processed in many jobs (a transcription and an index
 * job per INDEX_CHUNK_S, a part of its browser copy per chunk), and each one
 * fetched the whole file from the store and hashed all of it to prove it was
 * the file validated: for a 2-hour video some 75 full downloads and SHA-256
 * passes, about 2 s per GB each here (BENCHMARKS.md). A worker process keeps
 * the last files it verified, and the next job of the same video links one
 * into its work folder instead, once the store says the object was not
 * written again since (its version: the S3 ETag, the fs inode and mtime).
 *
 * A hard link rather than a shared path: a job's file outlives its eviction
 * from here, nothing is copied, and nothing needs counting. The folder is a
 * job folder of this process by name (workdir.ts), so the files of a killed
 * worker go when a worker next starts on the machine.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JOB_FOLDER_PREFIX } from './workdir.ts';

/**
 * At most this many files kept, each for at most IDLE_MS after its last
 * use: a video's next job usually follows within seconds, and an idle file
 * is disk the running jobs may need (two videos can alternate, e.g. when two
 * users' uploads share a worker).
 */
const KEEP = 2;
const IDLE_MS = 10 * 60_000;

interface Kept {
  /** The bytes' SHA-256 (as validation recorded it) and the object's version they were read at. */
  sha256: string;
  version: string;
  file: string;
  timer: NodeJS.Timeout;
}
/** By object key. */
const kept = new Map<string, Kept>();
let folder: Promise<string> | undefined;

function forget(key: string): void {
  const e = kept.get(key);
  if (!e) return;
  kept.delete(key);
  clearTimeout(e.timer);
  // Not awaited (timers, deletes): a failure must not end the worker as an
  // unhandled rejection; the file goes with the folder when the worker stops.
  void fs.rm(e.file, { force: true }).catch(() => {});
}

/** Marks a file as just used: last to be evicted, its idle clock restarted. */
function use(key: string, e: Omit<Kept, 'timer'>): void {
  const old = kept.get(key);
  if (old) clearTimeout(old.timer);
  kept.delete(key);
  const timer = setTimeout(() => forget(key), IDLE_MS);
  timer.unref();
  kept.set(key, { ...e, timer });
  // Map order is use order: the first entries are the least recently used.
  for (const oldest of kept.keys()) {
    if (kept.size <= KEEP) break;
    forget(oldest);
  }
}

/**
 * Links the kept file of this object to `dest` (a path in the job's own
 * folder), if it holds these bytes and the object is still at the version
 * they were read at. False otherwise, or when it was evicted meanwhile.
 */
export async function linkKept(key: string, sha256: string, version: string, dest: string): Promise<boolean> {
  const e = kept.get(key);
  if (!e || e.sha256 !== sha256 || e.version !== version) return false;
  try {
    await fs.link(e.file, dest);
  } catch {
    if (kept.get(key) === e) forget(key);
    return false;
  }
  // Unless it was evicted while linking (the job has its link all the same).
  if (kept.get(key) === e) use(key, e);
  return true;
}

/**
 * Keeps `file`, the bytes of object `key` at `version`, verified to have
 * the SHA-256 `sha256`, for the next job of the same video. Best effort: a
 * file that cannot be linked (another file system) is simply not kept.
 */
export async function keepVerified(key: string, sha256: string, version: string, file: string): Promise<void> {
  const e = kept.get(key);
  if (e?.sha256 === sha256 && e.version === version) return use(key, e);
  try {
    // Made once; a failure (a full disk) is tried again at the next keep.
    folder ??= fs.mkdtemp(path.join(os.tmpdir(), `${JOB_FOLDER_PREFIX}${process.pid}-videos-`)).catch((e: Error) => {
      folder = undefined;
      throw e;
    });
    // A name of its own each time, so that removing an evicted file can never
    // remove a newer one kept for the same object.
    const name = path.join(await folder, crypto.randomUUID());
    await fs.link(file, name);
    forget(key);
    use(key, { sha256, version, file: name });
  } catch {
    // Not kept: the next job fetches the video itself, as before.
  }
}

/** Removes the kept files of these objects (deleted videos). */
export function forgetKeys(keys: string[]): void {
  for (const key of keys) forget(key);
}

/** Removes every kept file (a worker stopping). */
export async function forgetKept(): Promise<void> {
  for (const key of [...kept.keys()]) forget(key);
  if (folder) await fs.rm(await folder, { recursive: true, force: true }).catch(() => {});
  folder = undefined;
}

/** How many files are kept (tests). */
export const keptCount = (): number => kept.size;
