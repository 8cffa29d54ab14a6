/*
 * Face analysis off the calling thread. TF.js's WebAssembly backend computes
 * on the thread that asks (0.3-0.9 s a frame on a 2-core VM) and has no
 * threads of its own in Node, while onnxruntime-node holds the worker's
 * thread for a whole encoder batch (seconds). In the worker's own thread the
 * faces stage could only follow the encoders, on one core, however many the
 * machine has.
 *
 * Here each detection runs in one of up to `threads` worker threads, each
 * with its own TF.js and copy of the networks, started when every running one
 * is busy. The caller's thread decodes the image (sharp works on libuv's pool,
 * not on the event loop, and a file that is not an image fails there, as
 * before) and sends the pixels. Results are those of the same code in the
 * caller's thread (./faces.ts, loadFaceAnalyzer), bit for bit.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Config } from '../../core/config.ts';
import {
  decodeImage,
  DetectionSkipped,
  FACE_DIM,
  faceModelFiles,
  MAX_SIDE,
  type FaceAnalyzerOptions,
} from './faces.ts';
import type { ImageInput, RgbImage } from './image.ts';
import type { FromThread, ToThread } from './face-thread.ts';
import type { DetectedFace, FaceAnalyzer } from './types.ts';

export interface FaceThreads extends FaceAnalyzer {
  /** Threads started and not ended. */
  readonly threads: number;
  /** Ends the threads not working now (their memory goes back to the system); a later detection starts one again. */
  release(): Promise<void>;
}

/**
 * FACE_THREADS, or one per two cores, at most AUTO_MAX. A face thread works
 * beside the encoders, which use every core, so on two cores one thread
 * fills what they leave; each also holds its own networks and TF.js heap
 * (~0.4 GB once it has run), which a second thread would add to a 2-core
 * worker's peak (2.4 against 1.9 GB on the 10-minute talk; BENCHMARKS.md).
 */
export function faceThreads(config: Pick<Config, 'models'>): number {
  const n = config.models.faceThreads;
  return n > 0 ? n : Math.max(1, Math.min(Math.floor(os.availableParallelism() / 2), AUTO_MAX));
}
const AUTO_MAX = 4;

/** One worker thread running ./face-thread.ts, detecting what it is sent in the order sent. */
export class FaceThread {
  readonly #worker: Worker;
  readonly ready: Promise<void>;
  #alive = true;
  #stopping = false;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (f: DetectedFace[]) => void; reject: (e: Error) => void }>();

  constructor(modelId: string, opts: FaceAnalyzerOptions, onEnd: (t: FaceThread) => void) {
    this.#worker = new Worker(new URL('./face-thread.ts', import.meta.url), { workerData: { modelId, opts } });
    // Held only while it has work, so an idle thread never keeps a process from exiting.
    this.#worker.unref();
    let loaded: (v: void) => void;
    let failed: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((loaded = resolve), (failed = reject)));
    // Nobody need wait for the load: work sent meanwhile waits in the thread, and fails with it.
    this.ready.catch(() => {});
    const end = (e: Error) => {
      if (!this.#alive) return;
      this.#alive = false;
      failed(e);
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
      onEnd(this);
    };
    this.#worker.on('message', (m: FromThread) => {
      if ('ready' in m) {
        if (m.ready) loaded();
        else {
          end(new Error(m.error));
          void this.stop();
        }
        return;
      }
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!this.#pending.size) this.#worker.unref();
      if ('faces' in m) p?.resolve(m.faces);
      else p?.reject(m.cancelled ? new DetectionSkipped() : new Error(m.error));
    });
    this.#worker.on('error', (e) => end(new Error(`a face thread ended (${e.message})`)));
    this.#worker.on('exit', (code) => end(new Error(`a face thread ended (exit code ${code})`)));
  }

  /** Loaded or loading, and not ending. */
  get alive(): boolean {
    return this.#alive && !this.#stopping;
  }

  /** Detections sent and not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * The faces in `img`, after those sent before it. A signal aborted before
   * the thread gets to it cancels it there (DetectionSkipped); one
   * already running finishes.
   */
  run(img: RgbImage, signal?: AbortSignal): Promise<DetectedFace[]> {
    if (!this.alive) return Promise.reject(new Error('a face thread ended'));
    if (signal?.aborted) return Promise.reject(new DetectionSkipped());
    const id = this.#next++;
    // A copy of its own, moved rather than copied again into the thread.
    const data = new Uint8Array(img.data);
    const result = new Promise<DetectedFace[]>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#worker.ref();
    this.#worker.postMessage({ id, img: { data, width: img.width, height: img.height } } satisfies ToThread, [
      data.buffer,
    ]);
    if (signal) {
      const cancel = () => this.#worker.postMessage({ cancel: id } satisfies ToThread);
      signal.addEventListener('abort', cancel, { once: true });
      void result.catch(() => {}).finally(() => signal.removeEventListener('abort', cancel));
    }
    return result;
  }

  /** Ends the thread; work still in it fails ("a face thread ended"). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#worker.terminate();
  }
}

/** The image as it is, where it is pixels no larger than decodeImage would make them. */
function decoded(image: ImageInput, maxWidth?: number): RgbImage | null {
  if (typeof image === 'string' || Buffer.isBuffer(image)) return null;
  const fits = maxWidth ? image.width <= maxWidth : Math.max(image.width, image.height) <= MAX_SIDE;
  return fits ? image : null;
}

/**
 * The face analyzer on worker threads; null when the face package is not
 * installed. The first thread is started and loaded here, so a broken model
 * fails now, naming it, as the in-thread loader does.
 *
 * A detection is sent to a thread as soon as its image is decoded: to an
 * idle one, to a new one while fewer than `threads` run, else to the one
 * with the least work waiting. So a caller can hand over a whole batch and
 * go on with other work on its own thread (the worker runs the image
 * encoder meanwhile, whose calls hold its event loop for seconds): the
 * threads work through their queues without it.
 */
export async function loadFaceThreads(
  modelId: string,
  opts: FaceAnalyzerOptions & { threads: number },
): Promise<FaceThreads | null> {
  const { threads, ...netOpts } = opts;
  if (!faceModelFiles(netOpts.packageDir)) return null;
  const max = Math.max(1, Math.floor(threads));
  const started: FaceThread[] = [];

  function start(): FaceThread {
    const t = new FaceThread(modelId, netOpts, (ended) => {
      const i = started.indexOf(ended);
      if (i >= 0) started.splice(i, 1);
    });
    started.push(t);
    return t;
  }

  function pick(): FaceThread {
    const live = started.filter((t) => t.alive);
    const idle = live.find((t) => t.pending === 0);
    if (idle) return idle;
    if (live.length < max) return start();
    return live.reduce((a, b) => (b.pending < a.pending ? b : a));
  }

  await start().ready;
  return {
    modelId,
    dim: FACE_DIM,
    get threads() {
      return started.filter((t) => t.alive).length;
    },
    async detect(image, detectOpts) {
      // Pixels already decoded at the size asked are sent at once, before
      // this call first yields: a caller handing over a batch knows it is
      // with the threads when its calls return.
      const img = decoded(image, detectOpts?.maxWidth) ?? (await decodeImage(image, detectOpts?.maxWidth));
      const faces = pick().run(img, detectOpts?.signal);
      return { width: img.width, height: img.height, faces: await faces };
    },
    async release() {
      await Promise.all(started.filter((t) => t.alive && t.pending === 0).map((t) => t.stop()));
    },
  };
}
