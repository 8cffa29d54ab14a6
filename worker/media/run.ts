/*
 * The one place that starts ffmpeg/ffprobe. Uploaded files are hostile input,
 * so every run gets:
 *  - `-protocol_whitelist file` and a demuxer allow-list, so an HLS or concat
 *    playlist disguised as a video cannot make ffmpeg open other local files
 *    or the network;
 *  - a wall-clock timeout and the caller's abort signal (graceful shutdown);
 *  - an address-space cap through prlimit, so a decompression bomb fails
 *    instead of swapping the machine;
 *  - the tail of stderr kept for the error message;
 *  - huge pages asked of malloc (core/malloc-env.ts).
 * fluent-ffmpeg is not used: upstream archived it and spawning directly keeps
 * the argument list, which is the security boundary, visible in one file.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { withHugePages } from '../../core/malloc-env.ts';

/**
 * Demuxers for real media containers. Absent on purpose: playlists (hls,
 * concat, which open other files or URLs), image2 (file-name patterns) and
 * subtitle/raw formats (sidecars are parsed in TypeScript). The audio
 * containers stay so an audio-only upload gets that reason, not "unreadable".
 */
export const SAFE_FORMATS = [
  'mov',
  'mp4',
  'm4a',
  '3gp',
  '3g2',
  'mj2',
  'matroska',
  'webm',
  'avi',
  'mpeg',
  'mpegts',
  'mpegvideo',
  'ogg',
  'flv',
  'asf',
  'h264',
  'hevc',
  'm4v',
  'mxf',
  'dv',
  'ivf',
  'wav',
  'mp3',
  'aac',
  'flac',
].join(',');

/** Options placed before every `-i` of a file we did not create ourselves. */
export function safeInput(file: string): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', SAFE_FORMATS, '-i', `file:${file}`];
}

export interface RunLimits {
  timeoutS: number;
  /** Address-space cap for the child; 0 disables it. */
  maxMemoryMb: number;
  /** Decoder threads of a pass over every frame (detectScenes); 1 when absent. */
  threads?: number;
  signal?: AbortSignal;
}

/** The file is not usable media: retrying cannot help, the video fails with this message. */
export class MediaInputError extends Error {}

/** ffmpeg itself misbehaved or was stopped (timeout, abort): may be retried. */
export class MediaRunError extends Error {
  readonly stderrTail: string;
  constructor(message: string, stderrTail: string) {
    super(message);
    this.stderrTail = stderrTail;
  }
}

const TAIL_BYTES = 8 * 1024;
const hasPrlimit = fs.existsSync('/usr/bin/prlimit');

export interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number;
  /** Whether the caller's `enough` signal ended the run (ffmpeg then exits 255 having flushed its outputs). */
  ended: boolean;
}

/**
 * Runs ffmpeg or ffprobe. Resolves with the exit code (callers decide what a
 * failure means); rejects only on timeout, abort or a missing binary.
 * `keepStderr` returns all of stderr (needed for showinfo parsing) instead of
 * just the tail.
 */
export function runTool(
  tool: 'ffmpeg' | 'ffprobe',
  args: string[],
  limits: RunLimits,
  opts: {
    keepStderr?: boolean;
    stdoutLimit?: number;
    onStderrLine?: (line: string) => void;
    /** Streams stdout to the caller instead of collecting it (stdoutLimit then does not apply). */
    onStdout?: (chunk: Buffer) => void;
    /**
     * Aborted when the caller has read all it needs: ffmpeg is asked to stop
     * (SIGINT, on which it finishes the frame in hand and closes its outputs)
     * and the run resolves with `ended`, not as a failure.
     */
    enough?: AbortSignal;
  } = {},
): Promise<RunResult> {
  const base = tool === 'ffmpeg' ? ['-nostdin', '-hide_banner', ...args] : ['-hide_banner', ...args];
  const [cmd, argv] =
    hasPrlimit && limits.maxMemoryMb > 0
      ? ['prlimit', [`--as=${limits.maxMemoryMb * 1024 * 1024}`, '--', tool, ...base]]
      : [tool, base];
  return new Promise((resolve, reject) => {
    if (limits.signal?.aborted) return reject(new MediaRunError(`${tool} not started: aborted`, ''));
    // Huge pages for the frame buffers of every decoder it opens (core/malloc-env.ts).
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: withHugePages() });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let partial = '';
    let settled = false;
    let ended = false;
    const stdoutLimit = opts.stdoutLimit ?? 64 * 1024 * 1024;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      opts.enough?.removeEventListener('abort', onEnough);
      fn();
    };
    const kill = (why: string) => {
      child.kill('SIGKILL');
      finish(() => reject(new MediaRunError(`${tool} ${why}`, err.slice(-TAIL_BYTES))));
    };
    const timer = setTimeout(() => kill(`timed out after ${limits.timeoutS} s`), limits.timeoutS * 1000);
    const onAbort = () => kill('aborted');
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    const onEnough = () => {
      ended = true;
      child.kill('SIGINT');
    };
    if (opts.enough?.aborted) onEnough();
    else opts.enough?.addEventListener('abort', onEnough, { once: true });
    child.stdout.on('data', (d: Buffer) => {
      if (opts.onStdout) {
        try {
          opts.onStdout(d);
        } catch (e) {
          kill(`output could not be processed: ${(e as Error).message}`);
        }
        return;
      }
      outBytes += d.length;
      if (outBytes > stdoutLimit) return kill(`produced more than ${stdoutLimit} bytes of output`);
      out.push(d);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      err += d;
      if (opts.onStderrLine) {
        const lines = (partial + d).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) opts.onStderrLine(l);
      }
      if (!opts.keepStderr && err.length > 4 * TAIL_BYTES) err = err.slice(-TAIL_BYTES);
    });
    child.on('error', (e) => finish(() => reject(new MediaRunError(`${tool} could not start: ${e.message}`, ''))));
    child.on('close', (code, sig) => {
      if (partial && opts.onStderrLine) opts.onStderrLine(partial);
      finish(() => resolve({ stdout: Buffer.concat(out), stderr: err, code: code ?? (sig ? 128 : 1), ended }));
    });
  });
}

/** Last meaningful lines of ffmpeg's stderr, for an error a person can read. */
export function stderrSummary(stderr: string, lines = 3): string {
  return stderr
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ')
    .slice(0, 500);
}
