/*
 * Long videos in chunk jobs (INDEX_CHUNK_S), with real `heimdex worker`
 * processes, real graphile-worker, real ffmpeg and the tiny models. A video
 * of several 60 s chunks is indexed by a worker that is SIGKILLed once the
 * index step has staged a chunk; a second worker finishes it without redoing
 * any staged chunk (its log names every chunk job it ran). The result is
 * compared with one job over the whole video (INDEX_CHUNK_S larger than the
 * video): the same scenes, keyframes, on-screen text and image vectors.
 * Transcripts are not compared: the test's 60 s chunks cut speech windows at
 * 60 s where one job cuts them at 300 s (the default INDEX_CHUNK_S is one
 * 300 s window, so there it cuts where one job would).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import { ROOT_DIR } from '../../core/config.ts';
import { startWorker } from '../../worker/index.ts';
import { generateSlideDeck } from '../../worker/media/samples.ts';
import { createTestDatabase, uuid } from '../helpers/db.ts';
import { generateSampleVideo } from '../fixtures/videos.ts';
import {
  TINY_MODELS_DIR,
  hasTinyModels,
  insertVideo,
  makeRig,
  parseVec,
  scenesOf,
  settled,
  upload,
} from './helpers.ts';

if (!hasTinyModels()) {
  const r = spawnSync(process.execPath, ['models/tiny/generate.ts', '--out', TINY_MODELS_DIR], { stdio: 'inherit' });
  assert.equal(r.status, 0, 'tiny model generation');
}

const CHUNK_S = 60;
const db = await createTestDatabase();
const rig = await makeRig({ MODELS_DIR: TINY_MODELS_DIR, INDEX_CHUNK_S: '600' });
// 19 shots of 7-15 s (about 3.5 chunks), speech in most: several cuts
// fall near chunk edges, and every chunk ends inside a shot.
const COLORS = ['red', 'blue', 'green', 'orange', 'purple', 'teal', 'navy', 'maroon', 'olive', 'gray'];
const WORDS = ['APPLE', 'OCEAN', 'FOREST', 'SUNSET', 'ROCKET', 'GUITAR', 'CASTLE', 'GARDEN', 'RIVER', 'MOUNTAIN'];
const sample = await generateSampleVideo(path.join(rig.dir, 'long.mp4'), {
  scenes: Array.from({ length: 19 }, (_, i) => ({
    durationS: 7 + ((i * 5) % 9),
    color: COLORS[i % COLORS.length]!,
    word: WORDS[(i * 3) % WORDS.length]!,
    speech: i % 4 === 3 ? '' : `scene number ${i + 1} shows the ${WORDS[(i * 3) % WORDS.length]!.toLowerCase()}`,
  })),
  fps: 10,
  subtitles: false,
});
const owner = uuid();

interface WorkerProc {
  child: ChildProcess;
  lines: string[];
  running: Promise<void>;
}
const procs: WorkerProc[] = [];
after(() => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

function startWorkerProcess(): WorkerProc {
  const child = spawn(process.execPath, [path.join(ROOT_DIR, 'cli', 'heimdex.js'), 'worker'], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      DATABASE_URL: db.ownerUrl,
      WORKER_DATABASE_URL: db.workerUrl,
      HEIMDEX_DATA_DIR: rig.dir,
      MODELS_DIR: TINY_MODELS_DIR,
      STORAGE_SIGNING_SECRET: 'test-signing-secret-test-signing-secret',
      FACES: 'off',
      INDEX_CHUNK_S: String(CHUNK_S),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: WorkerProc = { child, lines: [], running: Promise.resolve() };
  let err = '';
  p.running = new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('worker running')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}): ${err}`)));
  });
  p.running.catch(() => {});
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) p.lines.push((JSON.parse(l) as { msg: string }).msg);
  });
  procs.push(p);
  return p;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** "index chunk 2" and the like, for every chunk job a worker ran to its commit. */
const chunksDone = (p: WorkerProc, id: string) =>
  p.lines.flatMap((l) => {
    const m = new RegExp(`^video ${id} (transcribe|index) chunk (\\d+) done`).exec(l);
    return m ? [`${m[1]} ${m[2]}`] : [];
  });

test(
  'a video of several chunks: a killed worker resumes after the last staged chunk, and the scenes match one job over the whole video',
  { timeout: 900_000 },
  async () => {
    // The reference: one job per step over the whole video.
    const ref = await startWorker(rig.config, {
      databaseUrl: db.workerUrl,
      storage: rig.storage,
      pollInterval: 200,
      noHandleSignals: true,
      logFactory: () => () => {},
    });
    const refId = await insertVideo(db, owner, await upload(rig, owner, sample.path));
    const r = await settled(db, refId, 600_000);
    await ref.stop();
    assert.equal(r.state, 'indexed', r.error ?? '');
    const want = await scenesOf(db, refId);
    assert.ok(
      want.length >= 10 && want.at(-1)!.end_s > 3 * CHUNK_S,
      `a video of several chunks: ${want.length} scenes`,
    );

    const a = startWorkerProcess();
    await a.running;
    const id = await insertVideo(db, owner, await upload(rig, owner, sample.path));
    // The bar as a user polling the row sees it, through the kill and the resume.
    const bar: number[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const { rows } = await db.rootPool.query<{ state: string; progress: number }>(
          'select state, progress from app_public.videos where id = $1',
          [id],
        );
        if (rows[0]?.state === 'processing' && bar.at(-1) !== rows[0].progress) bar.push(rows[0].progress);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();

    const staged = () =>
      db.rootPool.query<{ step: string; chunk: number; created_at: Date }>(
        `select step, chunk, created_at from app_private.video_chunks where video_id = $1 order by step, chunk`,
        [id],
      );
    await waitFor(
      'index chunk 1 to be staged',
      async () => (await staged()).rows.some((s) => s.step === 'index' && s.chunk >= 1),
      600_000,
    );
    a.child.kill('SIGKILL');
    await new Promise((res) => (a.child.signalCode ? res(null) : a.child.once('exit', res)));
    const atKill = (await staged()).rows.filter((s) => s.step === 'index');
    const lastStaged = Math.max(...atKill.map((s) => s.chunk));
    assert.deepEqual(
      atKill.map((s) => s.chunk),
      Array.from({ length: lastStaged + 1 }, (_, k) => k),
      'chunks are staged in order',
    );
    const ranA = chunksDone(a, id);
    assert.ok(ranA.includes('transcribe 3'), `speech recognised in 60 s chunks: ${ranA.join(', ')}`);
    // A's transcribe jobs cut index chunks while speech was recognised, and
    // its index jobs took them: the scenes compared below come from cuts
    // made ahead (A's chunks) and cuts made by the index job itself (B's).
    assert.ok(
      a.lines.some((l) => l.startsWith(`video ${id}: index chunk at 0.0 s cut beside speech recognition`)),
      a.lines.join('\n'),
    );
    assert.ok(
      a.lines.some((l) => l.startsWith(`video ${id} index chunk 0 done: `) && l.includes('cut during its speech')),
    );

    const b = startWorkerProcess();
    await b.running;
    const v = await settled(db, id, 600_000);
    polling = false;
    await poll;
    assert.equal(v.state, 'indexed', v.error ?? '');

    // B ran exactly the chunks after the last one staged, each once.
    const ranB = chunksDone(b, id);
    const last = Number(/index (\d+)/.exec(ranB.at(-1) ?? '')?.[1]);
    assert.deepEqual(
      ranB,
      Array.from({ length: last - lastStaged }, (_, k) => `index ${lastStaged + 1 + k}`),
      `B redid nothing A had staged (A: ${ranA.join(', ')}; B: ${ranB.join(', ')})`,
    );
    assert.ok(last >= 3, `the video took several index chunks (${last + 1})`);
    assert.ok(!b.lines.some((l) => l.includes('cut during its speech')), 'B, a new process, cut its chunks itself');
    assert.equal((await staged()).rows.length, 0, 'the staged chunks were assembled and forgotten');

    assert.deepEqual(
      bar,
      [...bar].sort((x, y) => x - y),
      `progress never moved back: ${bar.join(' ')}`,
    );
    assert.ok(bar.length >= 8, `progress moved in many steps: ${bar.join(' ')}`);

    const got = await scenesOf(db, id);
    assert.deepEqual(
      got.map((s) => s.ordinal),
      got.map((_, i) => i),
      'ordinals contiguous',
    );
    const span = (s: { start_s: number; end_s: number }) => `${s.start_s.toFixed(3)}-${s.end_s.toFixed(3)}`;
    assert.deepEqual(got.map(span), want.map(span), 'the same scene boundaries as one job over the whole video');
    for (const [i, s] of got.entries()) {
      const w = want[i]!;
      assert.equal(s.ocr_text, w.ocr_text, `scene ${i}: the same on-screen text`);
      assert.equal(Boolean(s.keyframe_key), Boolean(w.keyframe_key), `scene ${i}: a keyframe`);
      assert.ok(s.image_vec && w.image_vec, `scene ${i}: image vectors`);
      const x = parseVec(s.image_vec);
      const y = parseVec(w.image_vec);
      assert.ok(
        x.every((e, k) => Math.abs(e - y[k]!) < 1e-4),
        `scene ${i}: the same keyframe embeds the same (${x.slice(0, 3)} vs ${y.slice(0, 3)})`,
      );
      assert.deepEqual(
        s.tags.map((t) => t.label),
        w.tags.map((t) => t.label),
        `scene ${i}: the same tags`,
      );
    }
    b.child.kill('SIGTERM');
    await new Promise((res) => b.child.once('exit', res));
  },
);

test(
  'a chunk job that fails transiently is retried alone: the chunk before it is not redone',
  { timeout: 600_000 },
  async () => {
    // The first staging of index chunk 1 fails as a dropped connection would
    // (not the file's fault), after the chunk's whole work was done.
    await db.rootPool.query(`
    create sequence public.chunk_faults;
    create function public.fail_chunk_once() returns trigger language plpgsql security definer as $$
    begin
      -- A sequence: its count survives the rollback of the failed attempt.
      if new.step = 'index' and new.chunk = 1 then
        if nextval('public.chunk_faults') = 1 then
          raise exception 'injected transient fault' using errcode = '08006';
        end if;
      end if;
      return new;
    end $$;
    create trigger fail_chunk_once before insert on app_private.video_chunks
      for each row execute function public.fail_chunk_once();`);
    // No models: the chunk chain is what is tested here, and the file's time is bounded.
    const chunked = await makeRig({ INDEX_CHUNK_S: String(CHUNK_S) });
    const lines: string[] = [];
    const worker = await startWorker(chunked.config, {
      databaseUrl: db.workerUrl,
      storage: chunked.storage,
      pollInterval: 200,
      noHandleSignals: true,
      logFactory: () => (_level, message) => lines.push(message),
    });
    try {
      const id = await insertVideo(db, owner, await upload(chunked, owner, sample.path));
      const v = await settled(db, id, 600_000);
      assert.equal(v.state, 'indexed', v.error ?? '');
      const index = lines.flatMap((l) => {
        const m = new RegExp(`^video ${id} index chunk (\\d+)(?: done|: already done)`).exec(l);
        return m ? [Number(m[1])] : [];
      });
      assert.deepEqual(
        index,
        index.map((_, k) => k),
        `each index chunk staged once, in order, none skipped as already done: ${index.join(', ')}`,
      );
      assert.ok(index.length >= 3, `several chunks (${index.length})`);
      // Each chunk read on to the next cut past its window and stopped just
      // past it, so the chunk after it decoded again only its context
      // (CUT_CONTEXT_S, 5 s) and that: not the scene the chunk stopped in.
      const done = lines.flatMap((l) => {
        const m = new RegExp(
          `^video ${id} index chunk \\d+ done: ([\\d.]+)-([\\d.]+) s \\(decoded ([\\d.]+)-([\\d.]+) s\\)`,
        ).exec(l);
        return m ? [m.slice(1).map(Number) as [number, number, number, number]] : [];
      });
      assert.equal(done.length, index.length, 'every chunk logged what it decoded');
      for (const [k, [start, end, decodedFrom, decodedTo]] of done.entries()) {
        const next = done[k + 1];
        // From 5 s before its start, on an analysis frame (0.2 s), as logged (0.1 s).
        const context = start - decodedFrom;
        assert.ok(
          k === 0 ? decodedFrom === 0 : context >= 4.95 && context <= 5.25,
          `chunk ${k}: ${JSON.stringify(done)}`,
        );
        if (!next) break;
        assert.equal(next[0], end, `chunk ${k + 1} starts where chunk ${k} ends`);
        // SCENE_MIN_S (1 s) and two analysis frames past the cut, within two frames.
        assert.ok(
          decodedTo - end > 1 && decodedTo - end <= 1.8 + 1e-6,
          `chunk ${k} stopped just past its last cut: ${JSON.stringify(done)}`,
        );
      }
      assert.ok(
        lines.some((l) => /videos__index.*injected transient fault/.test(l)),
        'chunk 1 failed once and was retried',
      );
      assert.equal(
        Number((await db.rootPool.query('select last_value from public.chunk_faults')).rows[0].last_value),
        2,
        'chunk 1 staged on its second attempt',
      );
      const scenes = await scenesOf(db, id);
      assert.deepEqual(
        scenes.map((s) => s.ordinal),
        scenes.map((_, i) => i),
      );
      assert.ok(scenes.length >= 10);
    } finally {
      await worker.stop();
      await db.rootPool.query('drop trigger fail_chunk_once on app_private.video_chunks');
    }
  },
);

test(
  'a variable-rate screen recording in chunks: every slide is a scene at its own time with its own text',
  { timeout: 600_000 },
  async () => {
    // A frame only when a slide changes, 14 s apart: a chunk's window starts
    // between frames, and its first frame comes seconds after its start.
    const names = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot', 'Golf', 'Hotel', 'India', 'Juliett'];
    const slides = names.map((n) => ({ durationS: 14, title: `Topic ${n}`, lines: [`${n} details here`] }));
    const chunked = await makeRig({ INDEX_CHUNK_S: String(CHUNK_S) });
    const deck = await generateSlideDeck(path.join(chunked.dir, 'vfr-long.mp4'), { slides, variableRate: true });
    const worker = await startWorker(chunked.config, {
      databaseUrl: db.workerUrl,
      storage: chunked.storage,
      pollInterval: 200,
      noHandleSignals: true,
      logFactory: () => () => {},
    });
    try {
      const id = await insertVideo(db, owner, await upload(chunked, owner, deck.path));
      const v = await settled(db, id, 600_000);
      assert.equal(v.state, 'indexed', v.error ?? '');
      const scenes = await scenesOf(db, id);
      const bounds = [0, ...deck.cuts, deck.durationS];
      assert.equal(scenes.length, slides.length, scenes.map((s) => `${s.start_s}-${s.end_s}`).join(' '));
      scenes.forEach((s, i) => {
        assert.ok(
          Math.abs(s.start_s - bounds[i]!) <= 0.5 && Math.abs(s.end_s - bounds[i + 1]!) <= 0.5,
          `scene ${i}: ${s.start_s}-${s.end_s}`,
        );
        names.forEach((n, j) => assert.equal(s.ocr_text.includes(n), i === j, `scene ${i}, ${n}: "${s.ocr_text}"`));
      });
    } finally {
      await worker.stop();
    }
  },
);
