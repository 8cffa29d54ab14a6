/*
 * A long video through chunk jobs (INDEX_CHUNK_S), with a crash in the
 * middle: how long the longest job runs, how many jobs there are, and that a
 * worker killed mid-video resumes without redoing a finished chunk.
 *
 *   node scripts/bench-long-video.ts [--hours 2] [--kill-after 10] [--models DIR]
 *
 * The video (cached in .test-data/bench-videos): a 5-minute segment of 12
 * shots of 15-35 s, each a colour card with a word and spoken sentences
 * (espeak-ng), 320×180 at 5 fps, repeated to the length asked for (stream
 * copy, seconds to write). Real `heimdex worker` processes (tiny models
 * unless --models) on the embedded database of HEIMDEX_DATA_DIR. When the
 * log says index chunk --kill-after is done, the worker is SIGKILLed a few
 * seconds into the next chunk and a new one started; the script then
 * checks, from the new worker's log, that it ran no chunk the first had
 * staged. Job durations are graphile-worker's own ("Completed task ... (Nms)").
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig, ROOT_DIR } from '../core/config.ts';
import { resolveDatabase } from '../core/database.ts';
import { stopEmbedded } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { createStorage } from '../core/storage/index.ts';
import { generateSampleVideo } from '../worker/media/samples.ts';

const { values } = parseArgs({
  options: {
    hours: { type: 'string', default: '2' },
    'kill-after': { type: 'string', default: '10' },
    models: { type: 'string', default: path.join(ROOT_DIR, '.test-data', 'models') },
  },
});
const hours = Number(values.hours);
const killAfter = Number(values['kill-after']);

const dir = path.join(ROOT_DIR, '.test-data', 'bench-videos');
fs.mkdirSync(dir, { recursive: true });
const segment = path.join(dir, 'long-segment.mp4');
const WORDS = [
  'APPLE',
  'OCEAN',
  'FOREST',
  'SUNSET',
  'ROCKET',
  'GUITAR',
  'CASTLE',
  'GARDEN',
  'RIVER',
  'MOUNTAIN',
  'BRIDGE',
  'ISLAND',
];
const COLORS = ['red', 'blue', 'green', 'orange', 'purple', 'teal', 'navy', 'maroon', 'olive', 'gray', 'brown', 'pink'];
const LENGTHS = [15, 35, 20, 30, 25, 18, 32, 22, 28, 17, 33, 25]; // 300 s
if (!fs.existsSync(segment)) {
  await generateSampleVideo(segment, {
    scenes: LENGTHS.map((d, i) => ({
      durationS: d,
      color: COLORS[i]!,
      word: WORDS[i]!,
      speech: Array.from(
        { length: Math.round(d / 5) },
        (_, k) => `this is part ${k + 1} about the ${WORDS[i]!.toLowerCase()}, spoken slowly`,
      ).join('. '),
    })),
    width: 320,
    height: 180,
    fps: 5,
    subtitles: false,
  });
}
const repeats = Math.round((hours * 3600) / 300);
const file = path.join(dir, `long-${repeats * 5}min.mp4`);
if (!fs.existsSync(file)) {
  const list = path.join(dir, 'long-list.txt');
  fs.writeFileSync(list, Array.from({ length: repeats }, () => `file '${segment}'\n`).join(''));
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-y', file]);
  if (r.status !== 0) throw new Error(`concat failed: ${r.stderr}`);
}

const config = loadConfig();
const urls = await resolveDatabase(config, { start: true });
await migrateDatabase(urls.ownerUrl, { includeCurrent: true });
const storage = createStorage(config);
await storage.ensureReady();
const db = new pg.Client({ connectionString: urls.ownerUrl });
await db.connect();

interface Proc {
  child: ChildProcess;
  lines: string[];
}
function startWorker(): Proc {
  const child = spawn(process.execPath, [path.join(ROOT_DIR, 'cli', 'heimdex.js'), 'worker'], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      DATABASE_URL: urls.ownerUrl,
      WORKER_DATABASE_URL: urls.workerUrl,
      MODELS_DIR: values.models,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const p: Proc = { child, lines: [] };
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) p.lines.push((JSON.parse(l) as { msg: string }).msg);
  });
  return p;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = () => new Date().toISOString().slice(11, 19);

const owner = crypto.randomUUID();
const key = `u/${owner}/${crypto.randomUUID()}/long.mp4`;
await storage.put(key, fs.readFileSync(file), 'video/mp4');
const a = startWorker();
const t0 = Date.now();
const { rows } = await db.query<{ id: string }>(
  'insert into app_public.videos (owner_id, title, object_key) values ($1, $2, $3) returning id',
  [owner, 'long', key],
);
const id = rows[0]!.id;
console.log(`${stamp()} video ${id}: ${file} (${repeats * 5} min), INDEX_CHUNK_S=${config.worker.chunkS}`);

const bar: { t: number; state: string; progress: number }[] = [];
const chunkLines = (p: Proc) => p.lines.filter((l) => l.startsWith(`video ${id} `) && l.includes(' chunk '));
let b: Proc | null = null;
let killedAt = 0;
let stagedAtKill: { step: string; chunk: number; created_at: Date }[] = [];
for (;;) {
  const v = (
    await db.query<{ state: string; progress: number; error: string | null }>(
      'select state, progress, error from app_public.videos where id = $1',
      [id],
    )
  ).rows[0]!;
  if (bar.at(-1)?.progress !== v.progress || bar.at(-1)?.state !== v.state)
    bar.push({ t: (Date.now() - t0) / 1000, state: v.state, progress: v.progress });
  if (v.state === 'indexed' || v.state === 'failed') break;
  if (!b && chunkLines(a).some((l) => l.includes(`index chunk ${killAfter} done`))) {
    await sleep(5000); // into the next chunk's job
    stagedAtKill = (
      await db.query('select step, chunk, created_at from app_private.video_chunks where video_id = $1 order by 1, 2', [
        id,
      ])
    ).rows;
    a.child.kill('SIGKILL');
    killedAt = (Date.now() - t0) / 1000;
    console.log(
      `${stamp()} killed worker ${a.child.pid} at ${killedAt.toFixed(0)} s; staged: ${stagedAtKill.map((s) => `${s.step} ${s.chunk}`).join(', ')}`,
    );
    b = startWorker();
  }
  await sleep(1000);
}
const wallS = (Date.now() - t0) / 1000;
await sleep(2000); // the last log lines
const jobs = [...a.lines, ...(b?.lines ?? [])].flatMap((l) => {
  const m = /^Completed task \d+ \((\w+), ([\d.]+)ms/.exec(l);
  return m ? [{ task: m[1]!, s: Number(m[2]) / 1000 }] : [];
});
const stagedAfter = (
  await db.query('select count(*)::int as n from app_private.video_chunks where video_id = $1', [id])
).rows[0].n;
const scenes = (
  await db.query<{ n: number; gaps: number }>(
    `select count(*)::int as n, count(*) filter (where ordinal <> rn - 1)::int as gaps
       from (select ordinal, row_number() over (order by ordinal) as rn from app_public.scenes where video_id = $1) s`,
    [id],
  )
).rows[0]!;
const byTask: Record<string, { n: number; maxS: number; totalS: number }> = {};
for (const j of jobs) {
  const s = (byTask[j.task] ??= { n: 0, maxS: 0, totalS: 0 });
  s.n++;
  s.maxS = Math.max(s.maxS, j.s);
  s.totalS += j.s;
}
const monotonic = bar
  .filter((x) => x.state === 'processing')
  .every((x, i, arr) => i === 0 || x.progress >= arr[i - 1]!.progress);
const redone = (b ? chunkLines(b) : []).filter((l) => {
  const m = /(transcribe|index) chunk (\d+) done/.exec(l);
  return m && stagedAtKill.some((s) => s.step === m[1] && s.chunk === Number(m[2]));
});
console.log(
  JSON.stringify(
    {
      video: { minutes: repeats * 5, file: path.relative(ROOT_DIR, file), chunkS: config.worker.chunkS },
      wallS: Math.round(wallS),
      state: bar.at(-1)?.state,
      scenes: scenes.n,
      ordinalGaps: scenes.gaps,
      jobs: jobs.length,
      longestJobS: Math.round(Math.max(...jobs.map((j) => j.s)) * 10) / 10,
      byTask: Object.fromEntries(
        Object.entries(byTask).map(([k, v]) => [
          k,
          { n: v.n, maxS: Math.round(v.maxS * 10) / 10, totalS: Math.round(v.totalS) },
        ]),
      ),
      progressSamples: bar.length,
      progressMonotonic: monotonic,
      kill: {
        atS: Math.round(killedAt),
        stagedAtKill: stagedAtKill.map((s) => `${s.step} ${s.chunk}`),
        secondWorkerRan: b ? chunkLines(b).map((l) => l.replace(`video ${id} `, '')) : [],
        redoneByB: redone,
      },
      stagedRowsLeft: stagedAfter,
    },
    null,
    2,
  ),
);
for (const p of [a, b]) if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
await db.query('delete from app_public.videos where id = $1', [id]);
await db.end();
if (urls.embedded) await stopEmbedded(config);
process.exit(0);
