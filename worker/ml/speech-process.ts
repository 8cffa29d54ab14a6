/*
 * Whisper runs in a process of its own, started on the first recognition and
 * ended once it has been idle for a few seconds.
 *
 * Why a process: a worker indexes a video in two phases, speech (all of its
 * transcribe chunks) then pictures and text (BGE-M3, SigLIP, faces, OCR).
 * Whisper's session and the arenas its encoder and decoder grow hold ~0.9 GB
 * (production shape, BENCHMARKS.md) that the picture phase never uses.
 * Releasing the session inside the worker hands back only a quarter of that:
 * glibc keeps the freed heap for reuse and the next models do not fit in it.
 * A process that exits hands back all of it, so the worker's peak is the
 * larger phase, not both. Its cost is a start and a model load per run of
 * transcribe jobs (about a second for whisper-base), not per chunk: the next
 * chunk's job starts well within the idle time.
 *
 * The host is this module run as a script (`fork`); it loads the recogniser
 * with the same registry code the worker would use in-process. The registry
 * (index.ts) uses it for every recognition, also once the worker holds the
 * picture models: Whisper beside them in the worker took it to 2.6-2.7 GB on
 * a worker's second video, against 2.2 GB with this process (BENCHMARKS.md).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Config } from '../../core/config.ts';
import { withHugePages } from '../../core/malloc-env.ts';
import type { SpeechRecognizer, TranscriptSegment } from './types.ts';

type ModelsConfig = Pick<Config, 'models'>;
type Result = { language: string | null; segments: TranscriptSegment[] };

type ToHost = { t: 'init'; models: ModelsConfig['models'] } | { t: 'run'; id: number; samples: Float32Array };
type FromHost =
  | { t: 'ready'; modelId: string }
  | { t: 'failed'; message: string }
  | { t: 'done'; id: number; result: Result }
  | { t: 'error'; id: number; message: string };

/** Long enough that the next transcribe chunk (queued as the last one ends) finds the process. Picture work
 * does not wait for it: the registry ends an idle host as soon as a picture or text model other than OCR is
 * asked for (endIfIdle), since a worker's second video starts its picture work at once with its models already in. */
export const SPEECH_IDLE_MS = 10_000;

type Pending = Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>;

/** A SpeechRecognizer whose model lives in a child process. */
export class SpeechProcess implements SpeechRecognizer {
  modelId = '';
  #config: ModelsConfig;
  #idleMs: number;
  // The current host, its readiness and its requests. A host that is ending
  // (idle, killed) is forgotten at once, so a new request starts a new one
  // and the old one's exit fails only its own requests.
  #child: ChildProcess | null = null;
  #ready: Promise<void> | null = null;
  #pending: Pending = new Map();
  #next = 0;
  #idle: NodeJS.Timeout | null = null;

  constructor(config: ModelsConfig, idleMs = SPEECH_IDLE_MS) {
    this.#config = config;
    this.#idleMs = idleMs;
  }

  /** The host's process id while it runs (the tests watch it). */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Starts the host and loads the model; a model that cannot be loaded rejects, naming it. */
  start(): Promise<void> {
    if (this.#ready) return this.#ready;
    const child = fork(new URL(import.meta.url), [], {
      serialization: 'advanced', // Float32Array samples cross as bytes, not JSON numbers
      execArgv: [],
      env: withHugePages(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pending: Pending = new Map();
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: FromHost) => {
        if (m.t === 'ready') {
          this.modelId = m.modelId;
          resolve();
        } else if (m.t === 'failed') {
          reject(new Error(m.message));
          this.#forget(child);
          child.kill();
        } else {
          const p = pending.get(m.id);
          if (!p) return;
          pending.delete(m.id);
          if (m.t === 'done') p.resolve(m.result);
          else p.reject(new Error(m.message));
          this.#settle();
        }
      });
      child.on('exit', (code, signal) => {
        const why = new Error(`speech recognition process exited (${signal ?? `code ${code}`})`);
        reject(why);
        this.#forget(child);
        for (const p of pending.values()) p.reject(why);
        pending.clear();
      });
      // A send to a host that is exiting: its exit event follows and fails the request.
      child.on('error', reject);
    });
    this.#child = child;
    this.#ready = ready;
    this.#pending = pending;
    // Loading keeps the worker's event loop alive; the idle clock starts once the model is in.
    ready.then(
      () => this.#settle(),
      () => this.#forget(child),
    );
    child.send({ t: 'init', models: this.#config.models } satisfies ToHost);
    return ready;
  }

  async transcribe(samples: Float32Array): Promise<Result> {
    if (!(samples instanceof Float32Array)) throw new Error('transcribe: expected 16 kHz mono Float32Array samples');
    if (samples.length === 0) return { language: null, segments: [] };
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    await this.start();
    const child = this.#child;
    if (!child) throw new Error('speech recognition process exited before the recognition started');
    const id = this.#next++;
    const result = new Promise<Result>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    child.ref();
    child.channel?.ref();
    child.send({ t: 'run', id, samples } satisfies ToHost);
    return result;
  }

  /**
   * Ends the host now if it is idle (loaded, nothing to recognise): the
   * worker is turning to picture work, which would otherwise run beside an
   * idle Whisper for the rest of SPEECH_IDLE_MS. A recognition in flight or
   * starting keeps it.
   */
  endIfIdle(): void {
    if (this.#idle) this.stop();
  }

  /** Ends the host now (endIfIdle, tests; a worker that exits takes its host with it through the IPC channel). */
  stop(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    const child = this.#child;
    this.#forget(child);
    child?.kill();
  }

  #forget(child: ChildProcess | null) {
    if (!child || this.#child !== child) return;
    this.#child = null;
    this.#ready = null;
  }

  // With nothing pending the host must not keep the worker alive, and ends after the idle time.
  #settle() {
    const child = this.#child;
    if (!child || this.#pending.size) return;
    child.unref();
    child.channel?.unref();
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#idle = null;
      if (this.#child !== child || this.#pending.size) return;
      this.#forget(child);
      child.kill();
    }, this.#idleMs);
    this.#idle.unref();
  }
}

// ------------------------------------------------------------------ the host

async function host() {
  const { inProcessSpeechRecognizer } = await import('./index.ts');
  let asr: SpeechRecognizer | null = null;
  const send = (m: FromHost) => process.send!(m);
  // The worker went away (exited, killed): so does its model.
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m: ToHost) => {
    if (m.t === 'init') {
      try {
        asr = await inProcessSpeechRecognizer({ models: m.models });
        if (!asr) throw new Error('the speech model is not installed');
        send({ t: 'ready', modelId: asr.modelId });
      } catch (e) {
        send({ t: 'failed', message: (e as Error).message });
      }
      return;
    }
    try {
      send({ t: 'done', id: m.id, result: await asr!.transcribe(m.samples) });
    } catch (e) {
      send({ t: 'error', id: m.id, message: (e as Error).message });
    }
  });
}

// Not awaited: host() imports index.ts, which imports this module back.
if (process.send && import.meta.filename === process.argv[1]) void host();
