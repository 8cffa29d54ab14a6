/*
 * `heimdex demo`: the first thing to run after `npm start`. Generates three
 * short videos whose content is known (a spoken sentence and a burned-in word
 * per shot, one with a subtitle track), ingests them through the API, then
 * runs three searches that each have one obviously right scene, so the user
 * sees at once whether search finds it — and, on an offline machine without
 * the production models, why results are weaker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { clock } from '../../core/clock.ts';
import { Api } from '../api.ts';
import { config, importProject, info, out, selfCommand, type Command } from '../command.ts';
import type { ModelsModule, SamplesModule } from '../contracts.ts';
import { CliError } from '../errors.ts';
import { ingestFiles } from './ingest.ts';
import { renderTable, searchScenes } from './search.ts';

export const DEMO_VIDEOS = [
  {
    file: 'kitchen.mp4',
    subtitles: false,
    scenes: [
      { durationS: 4, color: 'red', word: 'APPLE', speech: 'an apple on the kitchen table' },
      { durationS: 4, color: 'teal', word: 'GUITAR', speech: 'someone plays a guitar song' },
    ],
  },
  {
    file: 'outdoors.mp4',
    subtitles: true,
    scenes: [
      { durationS: 4, color: 'blue', word: 'OCEAN', speech: 'waves roll across the ocean' },
      { durationS: 4, color: 'green', word: 'FOREST', speech: 'tall trees in a quiet forest' },
    ],
  },
  {
    file: 'space.mp4',
    subtitles: false,
    scenes: [
      { durationS: 4, color: 'orange', word: 'SUNSET', speech: 'the sun sets over the hills' },
      { durationS: 4, color: 'purple', word: 'ROCKET', speech: 'a rocket launches into space' },
    ],
  },
];

/** Each query has exactly one right answer: [video file, scene index]. */
export const DEMO_QUERIES: { query: string; video: string; scene: number; how: string; needs: string }[] = [
  { query: 'apple on the kitchen table', video: 'kitchen.mp4', scene: 0, how: 'spoken words', needs: 'asr' },
  { query: 'waves across the ocean', video: 'outdoors.mp4', scene: 0, how: 'subtitle track', needs: 'text' },
  { query: 'ROCKET', video: 'space.mp4', scene: 1, how: 'burned-in text', needs: 'ocr' },
];

const CONSEQUENCE: Record<string, string> = {
  asr: 'speech is not transcribed: only subtitle tracks and on-screen text are searchable',
  text: 'no semantic text search: queries match transcripts by exact words only (full-text)',
  vision: 'no visual search: what is shown but never said or written cannot be found',
  'vision-text': 'no visual search: queries cannot be compared with keyframes',
  ocr: 'burned-in text is not read',
  face: 'faces are not recognised: search by person finds only what was indexed before',
};

export const demo: Command = {
  name: 'demo',
  summary: 'Generate three sample videos, ingest them, and run three searches',
  description: 'Needs the server and a worker running (npm start in another terminal).',
  flags: {
    timeout: { type: 'string', value: 'S', description: 'Give up waiting for indexing after S seconds (default 600)' },
  },
  async run(p) {
    const cfg = config();
    const timeoutS = p.flags.timeout === undefined ? 600 : Number(p.flags.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0)
      throw new CliError(`--timeout must be a positive number of seconds, got "${p.flags.timeout}"`);
    const api = new Api(cfg);
    await api.token();

    const { generateSampleVideo } = await importProject<SamplesModule>('worker/media/samples.ts');
    const dir = path.join(cfg.dataDir, 'demo');
    fs.mkdirSync(dir, { recursive: true });
    info(`generating sample videos in ${dir}`);
    const files: string[] = [];
    const truth = new Map<string, { start: number; end: number }[]>();
    for (const v of DEMO_VIDEOS) {
      const file = path.join(dir, v.file);
      const sample = await generateSampleVideo(file, { scenes: v.scenes, subtitles: v.subtitles });
      files.push(file);
      truth.set(v.file, sample.scenes);
    }

    const results = await ingestFiles(api, files, { wait: true, json: false, timeoutS });
    const idOf = new Map(DEMO_VIDEOS.map((v, i) => [v.file, results[i]!.videoId]));
    const ids = results.map((r) => r.videoId);

    const { getModels } = await importProject<ModelsModule>('worker/ml/index.ts');
    const status = await getModels(cfg)
      .status()
      .catch(() => []);
    const absent = new Set(status.filter((s) => !s.present).map((s) => s.role as string));
    let found = 0;
    const missing = new Set<string>();
    const used = new Set<string>();
    for (const q of DEMO_QUERIES) {
      const res = await searchScenes(api, q.query, 3, ids);
      res.missing.forEach((m) => missing.add(m));
      res.modalities.forEach((m) => used.add(m));
      const want = truth.get(q.video)![q.scene]!;
      const top = res.hits[0];
      const ok = top && top.videoId === idOf.get(q.video) && top.startS < want.end && top.endS > want.start;
      if (ok) found++;
      out('');
      out(
        `search "${q.query}"  (right answer: ${q.video.replace(/\.mp4$/, '')} ${clock(want.start)}–${clock(want.end)}, found by its ${q.how})`,
      );
      out(res.hits.length ? renderTable(res.hits) : '  no matches');
      out(
        ok
          ? '  ✓ the right scene is ranked first'
          : `  ✗ the right scene is not ranked first${absent.has(q.needs) ? ` — expected here: the ${q.needs} model is missing, so ${CONSEQUENCE[q.needs]}` : ''}`,
      );
    }

    out('');
    out(`${found} of ${DEMO_QUERIES.length} searches ranked the right scene first.`);
    out(
      `Search used: ${[...used].join(', ') || 'nothing'}${missing.size ? `; the server lacks: ${[...missing].join(', ')}` : ''}.`,
    );
    try {
      out('Models:');
      for (const s of status) {
        const size = s.present
          ? `  (${s.bytes < 1024 ** 2 ? `${Math.ceil(s.bytes / 1024)} KB` : `${Math.round(s.bytes / 1024 ** 2)} MB`})`
          : '';
        out(
          `  ${s.present ? 'present' : 'missing'}  ${s.role.padEnd(11)} ${s.id}${size}${s.present ? '' : `  → ${CONSEQUENCE[s.role] ?? 'its stage is skipped'}`}`,
        );
      }
      // OCR and face models ship in npm packages and are small for real.
      if (status.some((s) => s.present && s.role !== 'ocr' && s.role !== 'face' && s.bytes < 20 * 1024 ** 2)) {
        out('Some models are only a few MB: these are the tiny generated test models (npm test), which run the');
        out(`real code path but rank at random. Real results need the production models: ${selfCommand()} models pull`);
      }
      if (status.some((s) => !s.present) || missing.size) {
        out('');
        out('This machine lacks some production models (an offline install), so the results above');
        out('come from what is present. On a machine with internet access run:');
        out(`  ${selfCommand()} models pull && ${selfCommand()} reindex --missing`);
      }
    } catch (e) {
      out(`Models: status unavailable (${(e as Error).message})`);
    }
    return 0;
  },
};
