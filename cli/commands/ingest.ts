/*
 * `heimdex ingest`: upload videos the way any client does (createUpload →
 * presigned upload → createVideo), then optionally follow them to the end of
 * the pipeline through the videoChanged subscription.
 */
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { SUBTITLE_TYPES, VIDEO_TYPES } from '../../core/media-types.ts';
import { Api, sendFile, type UploadTicket } from '../api.ts';
import { config, info, out, progressBar, type Command } from '../command.ts';
import { CliError } from '../errors.ts';

const TERMINAL = new Set(['indexed', 'failed']);

/** Expands the arguments into video files; a directory contributes the videos under it. */
export function collectVideos(args: string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && !e.name.startsWith('.')) walk(p);
      else if (e.isFile() && VIDEO_TYPES[path.extname(e.name).toLowerCase()]) files.push(p);
    }
  };
  for (const a of args) {
    let st: fs.Stats;
    try {
      st = fs.statSync(a);
    } catch {
      throw new CliError(`file not found: ${a}`);
    }
    if (st.isDirectory()) {
      const before = files.length;
      walk(a);
      if (files.length === before)
        throw new CliError(`no videos in ${a}`, `looked for ${Object.keys(VIDEO_TYPES).join(' ')}`);
    } else if (VIDEO_TYPES[path.extname(a).toLowerCase()]) {
      files.push(a);
    } else {
      throw new CliError(`not a video: ${a}`, `expected one of ${Object.keys(VIDEO_TYPES).join(' ')}`);
    }
  }
  return files;
}

/** A subtitle file (.srt, .vtt, .ass/.ssa) next to the video with the same base name is its subtitle track. */
export function sidecarFor(video: string): string | undefined {
  const stem = video.slice(0, -path.extname(video).length);
  for (const ext of Object.keys(SUBTITLE_TYPES)) {
    for (const cand of [stem + ext, stem + ext.toUpperCase()]) if (fs.existsSync(cand)) return cand;
  }
  return undefined;
}

const CREATE_UPLOAD = `mutation ($filename: String!, $byteSize: BigInt!, $contentType: String!) {
  createUpload(filename: $filename, byteSize: $byteSize, contentType: $contentType) {
    objectKey method url fields headers expiresAt maxBytes
  }
}`;
const CREATE_VIDEO = `mutation ($objectKey: String!, $title: String, $subtitleKey: String) {
  createVideo(objectKey: $objectKey, title: $title, subtitleKey: $subtitleKey) { id title state error }
}`;
const VIDEO = `query ($id: UUID!) {
  videoById(id: $id) { id title state stage progress error durationS missingStages scenes { totalCount } }
}`;
const SUBSCRIBE = `subscription ($videoId: UUID) { videoChanged(videoId: $videoId) { videoId event state stage progress error } }`;

export async function upload(api: Api, file: string, contentType: string): Promise<string> {
  const size = fs.statSync(file).size;
  if (size === 0) throw new CliError(`${file} is empty`);
  const { createUpload: ticket } = await api.graphql<{ createUpload: UploadTicket }>(CREATE_UPLOAD, {
    filename: path.basename(file),
    byteSize: String(size),
    contentType,
  });
  await sendFile(ticket, file, contentType, api.base);
  return ticket.objectKey;
}

export interface VideoState {
  id: string;
  title: string;
  state: string;
  stage: string | null;
  progress: number | null;
  error: string | null;
  durationS?: number | null;
  missingStages?: string[] | null;
  scenes?: { totalCount: number } | null;
}

async function fetchVideo(api: Api, id: string): Promise<VideoState | null> {
  const r = await api.graphql<{ videoById: VideoState | null }>(VIDEO, { id });
  return r.videoById;
}

/**
 * Follows the videos until each is indexed or failed. Events come from the
 * videoChanged subscription; a slow poll runs beside it so a dropped socket
 * or an event missed before subscribing cannot hang the wait, and it takes
 * over entirely (faster) when the socket cannot be opened.
 */
async function follow(
  api: Api,
  videos: VideoState[],
  onChange: (v: VideoState) => void,
  timeoutS: number,
): Promise<'subscription' | 'polling'> {
  const byId = new Map(videos.map((v) => [v.id, v]));
  const pending = () => [...byId.values()].filter((v) => !TERMINAL.has(v.state));
  let socketOk = false;
  let socketEvents = 0;
  let ws: WebSocket | undefined;
  let wake: () => void = () => {};
  const apply = (id: string, patch: Partial<VideoState>) => {
    const v = byId.get(id);
    if (!v) return;
    Object.assign(v, Object.fromEntries(Object.entries(patch).filter(([, x]) => x !== undefined)));
    onChange(v);
    if (TERMINAL.has(v.state)) wake();
  };
  try {
    const token = await api.token();
    ws = new WebSocket(api.wsUrl, 'graphql-transport-ws', { headers: { authorization: `Bearer ${token}` } });
    ws.on('open', () =>
      ws!.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    ws.on('message', (raw) => {
      let m: {
        type: string;
        id?: string;
        payload?: { data?: { videoChanged?: Partial<VideoState> & { videoId: string } }; errors?: unknown[] };
      };
      try {
        m = JSON.parse(String(raw));
      } catch {
        return;
      }
      if (m.type === 'connection_ack') {
        socketOk = true;
        for (const v of videos)
          ws!.send(
            JSON.stringify({
              id: v.id,
              type: 'subscribe',
              payload: { query: SUBSCRIBE, variables: { videoId: v.id } },
            }),
          );
      } else if (m.type === 'ping') {
        ws!.send(JSON.stringify({ type: 'pong' }));
      } else if (m.type === 'next' && m.payload?.data?.videoChanged) {
        const { videoId, ...patch } = m.payload.data.videoChanged;
        socketEvents++;
        apply(videoId, patch);
      } else if (m.type === 'error' || m.type === 'complete' || (m.type === 'next' && m.payload?.errors)) {
        // The server refused or ended the subscription: polling takes over, at its faster pace.
        socketOk = false;
      }
    });
    const dropped = () => {
      socketOk = false;
      wake();
    };
    ws.on('error', dropped);
    ws.on('close', dropped);
  } catch {
    socketOk = false;
  }
  const deadline = timeoutS > 0 ? Date.now() + timeoutS * 1000 : Infinity;
  try {
    while (pending().length) {
      if (Date.now() > deadline)
        throw new CliError(
          `gave up waiting after ${timeoutS}s`,
          'the worker may be busy or not running (heimdex worker)',
        );
      for (const v of pending()) {
        const fresh = await fetchVideo(api, v.id);
        if (!fresh) apply(v.id, { state: 'failed', error: 'the video was deleted' });
        else apply(v.id, fresh);
      }
      if (!pending().length) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, socketOk ? 5000 : 1000);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  } finally {
    ws?.removeAllListeners();
    ws?.on('error', () => {});
    ws?.terminate();
  }
  return socketEvents > 0 ? 'subscription' : 'polling';
}

function bar(v: VideoState, width: number): string {
  const p = Math.max(0, Math.min(1, v.progress ?? (v.state === 'indexed' ? 1 : 0)));
  const what = v.state === 'processing' || v.state === 'validating' ? (v.stage ?? v.state) : v.state;
  const tail = v.state === 'failed' ? `  ${v.error ?? ''}` : '';
  const line = `${v.title.slice(0, 28).padEnd(28)} ${progressBar(p)} ${String(Math.round(p * 100)).padStart(3)}%  ${what}${tail}`;
  return line.slice(0, Math.max(40, width - 1));
}

export interface IngestResult {
  videoId: string;
  title: string;
  state: string;
  error: string | null;
  scenes: number | null;
  durationS: number | null;
  missingStages: string[];
  /** How progress arrived: the videoChanged subscription, or polling when the socket failed. */
  updates: 'subscription' | 'polling' | null;
}

export interface IngestOptions {
  title?: string;
  wait: boolean;
  json: boolean;
  timeoutS: number;
}

/** Uploads the files and (with wait) follows them; prints as it goes and returns one result per video. */
export async function ingestFiles(api: Api, files: string[], opts: IngestOptions): Promise<IngestResult[]> {
  const { json } = opts;
  const videos: VideoState[] = [];
  for (const file of files) {
    const type = VIDEO_TYPES[path.extname(file).toLowerCase()]!;
    const sidecar = sidecarFor(file);
    const objectKey = await upload(api, file, type);
    const subtitleKey = sidecar
      ? await upload(api, sidecar, SUBTITLE_TYPES[path.extname(sidecar).toLowerCase()]!)
      : undefined;
    const { createVideo } = await api.graphql<{ createVideo: VideoState }>(CREATE_VIDEO, {
      objectKey,
      title: opts.title ?? path.basename(file, path.extname(file)),
      subtitleKey: subtitleKey ?? null,
    });
    // The row as the server reads it after the insert commits: a fast worker may already have
    // moved it on (validating, or failed with its reason), and the line says so.
    videos.push({ ...createVideo, stage: null, progress: 0 });
    if (!json) info(`uploaded ${file}${sidecar ? ` (+ ${path.basename(sidecar)})` : ''} → video ${createVideo.id}`);
    else if (!opts.wait)
      out(
        JSON.stringify({
          videoId: createVideo.id,
          title: createVideo.title,
          state: createVideo.state,
          error: createVideo.error,
          file,
        }),
      );
  }
  if (!opts.wait) {
    if (!json) info('processing continues in the worker; follow it with --wait, or query videoById in GraphQL');
    return videos.map((v) => ({
      videoId: v.id,
      title: v.title,
      state: v.state,
      error: v.error,
      scenes: null,
      durationS: null,
      missingStages: [],
      updates: null,
    }));
  }
  const tty = !json && process.stderr.isTTY;
  let drawn = 0;
  const last = new Map<string, string>();
  const draw = (v: VideoState) => {
    if (json) return;
    if (tty) {
      if (drawn) process.stderr.write(`\x1b[${drawn}A`);
      for (const x of videos) process.stderr.write(`\x1b[2K${bar(x, process.stderr.columns ?? 100)}\n`);
      drawn = videos.length;
    } else {
      const key = `${v.state}/${v.stage}`;
      if (last.get(v.id) !== key) info(bar(v, 200));
      last.set(v.id, key);
    }
  };
  draw(videos[0]!);
  const updates = await follow(api, videos, draw, opts.timeoutS);
  const results: IngestResult[] = [];
  for (const v of videos) {
    const fresh = (await fetchVideo(api, v.id)) ?? v;
    const result: IngestResult = {
      videoId: v.id,
      title: fresh.title,
      state: fresh.state,
      error: fresh.error ?? null,
      scenes: fresh.scenes?.totalCount ?? null,
      durationS: fresh.durationS ?? null,
      missingStages: fresh.missingStages ?? [],
      updates,
    };
    results.push(result);
    if (json) out(JSON.stringify(result));
    else if (fresh.state === 'indexed') {
      out(
        `indexed  ${fresh.title}: ${result.scenes ?? '?'} scenes, ${result.durationS?.toFixed(1) ?? '?'} s${result.missingStages.length ? ` (skipped: ${result.missingStages.join(', ')})` : ''}`,
      );
    } else out(`failed   ${fresh.title}: ${fresh.error ?? 'no reason recorded'}`);
  }
  return results;
}

export const ingest: Command = {
  name: 'ingest',
  summary: 'Upload videos (and sidecar .srt/.vtt/.ass subtitles) to the running server',
  args: '<file|dir>...',
  description:
    'Talks to the server at HEIMDEX_PUBLIC_URL (default http://HEIMDEX_HOST:HEIMDEX_PORT) as the local CLI\n' +
    'user, created on first use. A subtitle file next to a video with the same base name is attached to it.',
  flags: {
    title: { type: 'string', value: 'T', description: 'Title (only with a single video; default: the file name)' },
    wait: {
      type: 'boolean',
      description: 'Show progress until every video is indexed or failed; exit 1 if any failed',
    },
    json: { type: 'boolean', description: 'Machine-readable output: one JSON object per video per line' },
    timeout: { type: 'string', value: 'S', description: 'With --wait: give up after S seconds (default: never)' },
  },
  async run(p) {
    if (!p.positionals.length) throw new CliError('nothing to ingest', 'usage: heimdex ingest <file|dir>... [--wait]');
    const files = collectVideos(p.positionals);
    const title = p.flags.title as string | undefined;
    if (title !== undefined && files.length > 1)
      throw new CliError('--title needs exactly one video', `got ${files.length}`);
    const timeoutS = p.flags.timeout === undefined ? 0 : Number(p.flags.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS < 0)
      throw new CliError(`--timeout must be a number of seconds, got "${p.flags.timeout}"`);
    const results = await ingestFiles(new Api(config()), files, {
      title,
      wait: Boolean(p.flags.wait),
      json: Boolean(p.flags.json),
      timeoutS,
    });
    return results.some((r) => p.flags.wait && r.state !== 'indexed') ? 1 : 0;
  },
};
