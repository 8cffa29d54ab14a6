/*
 * Per-job temp folders. Each holds a full copy of a video (and the folder of
 * videos a worker keeps for its next jobs, kept-videos.ts, several), so a
 * worker killed mid-job must not leave it behind for ever: the folder name
 * carries the process id, and every worker removes, when it starts, the
 * folders of processes that no longer exist.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const JOB_FOLDER_PREFIX = 'heimdex-job-';

/** A temp folder for one job, removed whatever happens short of a kill. */
export async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${JOB_FOLDER_PREFIX}${process.pid}-`));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Whether a process with this id exists on this machine (in this pid namespace). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes job folders left by dead processes on this machine. Returns their
 * paths. Folders of live processes (another worker beside this one) stay.
 */
export async function removeDeadWorkDirs(tmp = os.tmpdir()): Promise<string[]> {
  const names = await fs.readdir(tmp).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = new RegExp(`^${JOB_FOLDER_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const dir = path.join(tmp, name);
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
