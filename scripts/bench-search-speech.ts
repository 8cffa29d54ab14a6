/*
 * Search on a library of speech: what a search costs per hit when scenes
 * carry real-length transcripts. bench-search.ts seeds four-word transcripts
 * ("car dog scene 17") to time the word and vector passes at 100k scenes; a
 * hit's snippet and scoring, which parse and match its transcript, cost far
 * more on 30 s of speech (~75 words) and do not show there.
 *
 *   node scripts/bench-search-speech.ts --baseline REV [--scenes 600] [--queries 40]
 *
 * Creates a throwaway database in the embedded cluster of the current
 * configuration (HEIMDEX_DATA_DIR, HEIMDEX_DB_PORT), one user with --scenes
 * scenes of 60-90 words drawn with a skewed frequency from English function
 * words, verbs and the tagger's labels (on-screen text on a third of them,
 * one tag each, random unit vectors), and times app_public.search_scenes
 * against the same function at git revision REV (installed as bench-search's
 * --baseline does), words only and hybrid, alternated query by query on one
 * connection, after one warm-up round. Reports p50/p95 ms and whether every
 * page (snippets and persons included) was identical; drops the database.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../core/config.ts';
import { createScratchDatabase } from '../core/embedded-pg.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { BASELINE_SCHEMA, installBaseline, percentile } from './bench-search.ts';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    scenes: { type: 'string', default: '600' },
    queries: { type: 'string', default: '40' },
  },
});
if (!values.baseline) throw new Error('--baseline REV is required');
const scenes = Number(values.scenes);
const queries = Number(values.queries);
if (!(scenes > 0 && queries > 0)) throw new Error('--scenes and --queries must be positive numbers');

// A fixed linear congruential sequence: every run seeds the same library.
let state = 7;
const rand = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
const labels = fs
  .readFileSync(new URL('../models/labels.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((w) => /^[a-z]+$/.test(w));
const functionWords =
  'the a and of to in is it that we you this for on with so but are was be have they at what all can just like now there here'.split(
    ' ',
  );
const verbs =
  'look make take go see come use show want need start turn move cut cook open build try watch walk play drive pour mix check talk'.split(
    ' ',
  );
const vocab = [
  ...functionWords,
  ...verbs.flatMap((v) => [v, `${v}ing`, `${v}s`]),
  ...labels,
  ...labels.map((l) => `${l}s`),
];
// Skewed like speech: the first words of the list (function words) most often.
const word = () => vocab[Math.min(vocab.length - 1, Math.floor(Math.pow(rand(), 2.2) * vocab.length))]!;
const words = (n: number) => Array.from({ length: n }, word).join(' ');
const unit = (dim: number) => {
  const v = Array.from({ length: dim }, () => rand() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

const db = await createScratchDatabase(loadConfig(), 'heimdex_bench_speech');
try {
  await migrateDatabase(db.ownerUrl, { includeCurrent: true });
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  const user = '00000000-0000-4000-a000-00000000abcd';
  const transcripts: string[] = [];
  try {
    await owner.query(
      `insert into app_public.videos (id, owner_id, title, object_key, language, text_model, image_model)
       select gen_random_uuid(), $1::uuid, 'talk ' || v, 'u/' || $1::text || '/' || v || '.mp4', 'en', 'bge-m3', 'siglip2'
       from generate_series(1, 10) v`,
      [user],
    );
    const videos = (await owner.query(`select id from app_public.videos where owner_id = $1 order by id`, [user])).rows;
    for (let i = 0; i < scenes; i++) {
      const transcript = words(60 + Math.floor(rand() * 30));
      transcripts.push(transcript);
      await owner.query(
        `insert into app_public.scenes (video_id, owner_id, ordinal, start_s, end_s, transcript, ocr_text, tags, text_vec, image_vec)
         values ($1, $2, $3, $3 * 30, $3 * 30 + 30, $4, $5, $6, $7, $8)`,
        [
          videos[i % videos.length].id,
          user,
          i,
          transcript,
          rand() < 0.3 ? words(8).toUpperCase() : '',
          JSON.stringify([{ label: labels[i % labels.length], score: 0.6 }]),
          JSON.stringify(unit(1024)),
          JSON.stringify(unit(1152)),
        ],
      );
    }
    await owner.query(`vacuum (analyze) app_public.scenes, app_hidden.scene_terms`);
  } finally {
    await owner.end();
  }
  await installBaseline(db.ownerUrl, values.baseline);
  const c = new pg.Client({ connectionString: db.authUrl });
  await c.connect();
  try {
    await c.query(`select set_config('role', 'authenticated', false), set_config('request.jwt.claims', $1, false)`, [
      JSON.stringify({ sub: user, role: 'authenticated' }),
    ]);
    // Two words said in one scene, as a person who heard them would type.
    const qs = Array.from({ length: queries }, (_, i) => {
      const said = transcripts[(i * 37) % scenes]!.split(' ').filter((w) => !functionWords.includes(w));
      return {
        words: `${said[i % said.length]} ${said[(i * 7 + 3) % said.length]}`,
        text: unit(1024),
        image: unit(1152),
      };
    });
    const fns = ['app_public.search_scenes', `${BASELINE_SCHEMA}.search_scenes`];
    console.log(`${scenes} scenes of speech, ${queries} queries, baseline ${values.baseline}:`);
    console.log('| query | search_scenes of | p50 ms | p95 ms | same pages |\n|---|---|---|---|---|');
    for (const mode of ['words', 'hybrid'] as const) {
      const times: number[][] = [[], []];
      let same = true;
      for (let round = 0; round < 3; round++) {
        for (const [i, q] of qs.entries()) {
          const pages: string[] = [];
          for (let k = 0; k < 2; k++) {
            const f = (i + round) % 2 === 0 ? k : 1 - k;
            const started = process.hrtime.bigint();
            const { rows } = await c.query(`select * from ${fns[f]}($1, $2::real[], $3::real[], page_size => 20)`, [
              q.words,
              mode === 'hybrid' ? q.text : null,
              mode === 'hybrid' ? q.image : null,
            ]);
            // The first round warms plans and caches for both.
            if (round > 0) times[f]!.push(Number(process.hrtime.bigint() - started) / 1e6);
            pages[f] = JSON.stringify(rows);
          }
          if (pages[0] !== pages[1]) same = false;
        }
      }
      for (const f of [0, 1]) {
        const t = times[f]!.sort((a, b) => a - b);
        console.log(
          `| ${mode} | ${f === 0 ? 'this checkout' : values.baseline} | ${percentile(t, 0.5)!.toFixed(1)} | ${percentile(t, 0.95)!.toFixed(1)} | ${same ? 'yes' : 'no'} |`,
        );
      }
    }
  } finally {
    await c.end();
  }
} finally {
  await db.drop();
}
