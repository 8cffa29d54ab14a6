/*
 * Why: a transcribe job waits minutes on the speech process, which keeps
 * ~1.7 of 2 cores busy, while the worker's own thread idles; the cut stage
 * of the index chunks to come (one decode pass at ~1.4 cores, then OCR of
 * the settled frames) needs nothing a transcript gives. So while speech is
 * recognised the transcribe job cuts the video's index chunks, in order,
 * and this process keeps each result for the index job of that chunk,
 * which takes it instead of cutting again (BENCHMARKS.md, "The cut stage
 * during speech").
 *
 * Only a cache. The cut stage is a function of the video's bytes, the
 * chunk's start, the configuration and the OCR model, and a prepared cut is
 * taken only where those are the same (the bytes by validation's digest, the
 * model by id; the configuration is the process's own), so the index job's
 * products are those it would have made itself. An index job on another
 * worker, or after a restart, cuts as before. The folder is a job folder of
 * this process by name (workdir.ts), so a killed worker's prepared frames go
 * when a worker next starts on the machine.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PipelineContext, VideoRow } from './context.ts';
import { prepareCut, type PreparedCut } from './stages.ts';
import type { Alongside } from './steps.ts';
import { JOB_FOLDER_PREFIX } from './workdir.ts';

/**
 * Prepared frames this process keeps at most, all videos together (the
 * decoded settled frames are raw RGB: ~2.7 MB each at 1280 × 720, ~55 MB a
 * 5-minute chunk of a talk). Past it the transcribe jobs stop cutting ahead
 * and later chunks are cut by their index jobs, as before.
 */
const MAX_BYTES = 512 * 1024 * 1024;
/**
 * A prepared cut not taken within this long is dropped: its index job went
 * to another worker, or the video was deleted or failed. Long enough for the
 * transcribe chain of a long video (a 2-hour video's speech takes tens of
 * minutes on 2 cores) to end before its first index job starts.
 */
const IDLE_MS = 90 * 60_000;

interface Entry {
  videoId: string;
  sha256: string;
  durationS: number | null;
  cut: PreparedCut;
  bytes: number;
  timer: NodeJS.Timeout;
}

/** In the order they were prepared: a video's entries are its chunks in order. */
const entries: Entry[] = [];
let folder: Promise<string> | undefined;

const held = () => entries.reduce((sum, e) => sum + e.bytes, 0);

function drop(e: Entry): void {
  const i = entries.indexOf(e);
  if (i < 0) return;
  entries.splice(i, 1);
  clearTimeout(e.timer);
  // Nobody awaits this (a timer, a deleted video): a folder that cannot be
  // removed now must not end the worker as an unhandled rejection. It goes
  // with this process's folder when the worker stops, or when the next
  // worker on the machine sweeps the folders of dead processes.
  void fs.rm(e.cut.dir, { recursive: true, force: true }).catch(() => {});
}

const sameVideo = (e: Entry, video: VideoRow) =>
  e.videoId === video.id && e.sha256 === video.content_sha256 && e.durationS === video.duration_s;

/** Where the next index chunk of this video starts that no cut here covers; null when every chunk is cut. */
function nextStart(video: VideoRow): number | null {
  // Each cut starts where the one before it ended, so the last is the furthest.
  const last = entries.filter((e) => sameVideo(e, video)).at(-1);
  if (!last) return 0;
  return last.cut.range.last ? null : last.cut.range.end;
}

async function bytesIn(dir: string): Promise<number> {
  let sum = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) sum += (await fs.stat(path.join(entry.parentPath, entry.name))).size;
  return sum;
}

/**
 * The cut stage of the index chunk of `video` starting at startS, if this
 * process prepared it; it is the caller's from then on (its folder too:
 * removeTaken).
 */
export function takeCut(video: VideoRow, startS: number): PreparedCut | null {
  // The start as the database handed it back (a chunk's end through jsonb): the same double, within rounding.
  const e = entries.find((x) => sameVideo(x, video) && Math.abs(x.cut.startS - startS) < 1e-6);
  if (!e) return null;
  entries.splice(entries.indexOf(e), 1);
  clearTimeout(e.timer);
  return e.cut;
}

/** Removes what a taken cut left in its folder (the index job moved out the frames it uses). */
export async function removeTaken(cut: PreparedCut): Promise<void> {
  await fs.rm(cut.dir, { recursive: true, force: true });
}

/**
 * What a transcribe job runs beside the speech process: the video's next
 * index chunks cut, one after another, those that start within the speech
 * this job recognises (so each transcribe job of a long video has about one
 * chunk to cut beside it, rather than the first taking them all and the
 * others none), until recognition is over (the chunk begun then is
 * finished: its index job would cut it all the same), or MAX_BYTES are
 * held. Never fails the job: a cut that fails here (a damaged stretch of
 * the file, a full disk) is left to its index job, which fails it with its
 * reason or retries.
 */
export function cutsAlongside(
  ctx: PipelineContext,
  video: VideoRow,
  log: (message: string) => void,
  signal?: AbortSignal,
): Alongside {
  return ({ untilS }) => {
    let over = false;
    const stop = new AbortController();
    const cancel = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const loop = (async () => {
      // Only a video validation pinned: the digest is what a prepared cut is matched by.
      if (!video.content_sha256) return;
      const due = (start: number | null): start is number => start !== null && start < untilS && !over;
      for (let start = nextStart(video); due(start) && held() < MAX_BYTES; start = nextStart(video)) {
        const begun = Date.now();
        folder ??= fs.mkdtemp(path.join(os.tmpdir(), `${JOB_FOLDER_PREFIX}${process.pid}-cuts-`)).catch((e: Error) => {
          folder = undefined;
          throw e;
        });
        const dir = await fs.mkdtemp(path.join(await folder, 'chunk-'));
        let cut: PreparedCut;
        let bytes: number;
        try {
          cut = await prepareCut(ctx, video, start, dir, cancel);
          bytes = await bytesIn(dir);
        } catch (e) {
          await fs.rm(dir, { recursive: true, force: true });
          throw e;
        }
        const e: Entry = {
          videoId: video.id,
          sha256: video.content_sha256,
          durationS: video.duration_s,
          cut,
          bytes,
          timer: setTimeout(() => drop(e), IDLE_MS),
        };
        e.timer.unref();
        entries.push(e);
        log(
          `video ${video.id}: index chunk at ${start.toFixed(1)} s cut beside speech recognition ` +
            `(${cut.range.start.toFixed(1)}-${cut.range.end.toFixed(1)} s, ${((Date.now() - begun) / 1000).toFixed(1)} s)`,
        );
      }
    })().catch((e: Error) => {
      if (!cancel.aborted) log(`video ${video.id}: cutting ahead stopped (${e.message}); its index job cuts it`);
    });
    return {
      async finish(ok) {
        over = true;
        if (!ok) stop.abort();
        await loop;
      },
    };
  };
}

/** Drops the prepared cuts of this video (deleted). */
export function forgetCuts(videoId: string): void {
  for (const e of entries.filter((x) => x.videoId === videoId)) drop(e);
}

/** Drops every prepared cut (a worker stopping). */
export async function forgetAllCuts(): Promise<void> {
  for (const e of [...entries]) drop(e);
  if (folder) await fs.rm(await folder, { recursive: true, force: true }).catch(() => {});
  folder = undefined;
}

/** The chunk starts prepared for this video, in order (tests). */
export const preparedStarts = (videoId: string): number[] =>
  entries.filter((e) => e.videoId === videoId).map((e) => e.cut.startS);
