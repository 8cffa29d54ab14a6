/*
 * The pipeline's SQL step functions, called directly as the worker calls
 * them: each records its result, advances the state and queues exactly one
 * next job, all in one transaction. No worker runs here, so the queue can be
 * inspected between steps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase, uuid } from '../helpers/db.ts';

const db = await createTestDatabase();
const owner = uuid();

async function insertVideo(key = `u/${owner}/${uuid()}/a.mp4`): Promise<string> {
  const { rows } = await db.rootPool.query<{ id: string }>(
    `insert into app_public.videos (owner_id, title, object_key) values ($1, 'steps', $2) returning id`,
    [owner, key],
  );
  return rows[0]!.id;
}

async function jobs(id: string) {
  const { rows } = await db.rootPool.query<{ task: string; key: string; max_attempts: number; queue: string | null }>(
    `select t.identifier as task, j.key, j.max_attempts, q.queue_name as queue
       from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
       left join graphile_worker._private_job_queues q on q.id = j.job_queue_id
      where j.payload->>'id' = $1 order by j.id`,
    [id],
  );
  return rows;
}
const clearJobs = (id: string) =>
  db.rootPool.query(`delete from graphile_worker._private_jobs where payload->>'id' = $1`, [id]);

async function video(id: string) {
  const { rows } = await db.rootPool.query('select * from app_public.videos where id = $1', [id]);
  return rows[0];
}

test('the step functions exist and are executable by no API role', async () => {
  const { rows } = await db.rootPool.query<{ proname: string; signature: string }>(
    `select p.proname, p.oid::regprocedure::text as signature from pg_proc p
      where p.pronamespace = 'app_private'::regnamespace
        and (p.proname like 'pipeline\\_%' or p.proname like 'reindex\\_%' or p.proname = 'add_pipeline_job')
      order by 1`,
  );
  assert.deepEqual(
    rows.map((r) => r.proname),
    [
      'add_pipeline_job',
      'pipeline_chunk_done',
      'pipeline_chunk_start',
      'pipeline_fail',
      'pipeline_indexed',
      'pipeline_note',
      'pipeline_playback_failed',
      'pipeline_playback_part_done',
      'pipeline_playback_parts',
      'pipeline_playback_planned',
      'pipeline_playback_ready',
      'pipeline_progress',
      'pipeline_reindex_progress',
      'pipeline_reindexed',
      'pipeline_stage_progress',
      'pipeline_stored_scenes',
      'pipeline_transcribed',
      'pipeline_transcript',
      'pipeline_validated',
      'reindex_missing',
      'reindex_stale',
    ],
  );
  for (const role of ['anon', 'authenticated']) {
    for (const { signature } of rows) {
      const { rows: priv } = await db.rootPool.query<{ ok: boolean }>(
        `select has_function_privilege($1, $2, 'execute') as ok`,
        [role, signature],
      );
      assert.equal(priv[0]!.ok, false, `${role} may execute ${signature}`);
    }
  }
});

test('each step records its result and queues exactly one next job under a job key', async () => {
  const id = await insertVideo();
  assert.deepEqual(
    (await jobs(id)).map((j) => [j.task, j.key]),
    [['videos__validate', `videos__validate:${id}`]],
  );
  await clearJobs(id);

  const facts = {
    duration_s: 12.5,
    width: 640,
    height: 360,
    fps: 25,
    video_codec: 'h264',
    audio_codec: null,
    has_audio: false,
  };
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [id, JSON.stringify(facts)]);
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [id, JSON.stringify(facts)]);
  let v = await video(id);
  assert.equal(v.state, 'processing');
  assert.equal(v.stage, 'transcribe');
  assert.equal(v.duration_s, 12.5);
  assert.equal(v.has_audio, false);
  assert.deepEqual(
    (await jobs(id)).map((j) => [j.task, j.key]),
    [['videos__transcribe', `videos__transcribe:${id}`]],
    'the job key collapses a repeat',
  );
  await clearJobs(id);

  const t = {
    source: 'subtitles',
    language: 'eng',
    model: null,
    segments: [{ start: 0, end: 2, text: 'hello' }],
    missing: false,
  };
  await db.rootPool.query('select app_private.pipeline_transcribed($1, $2)', [id, JSON.stringify(t)]);
  const read = async () => (await db.rootPool.query('select app_private.pipeline_transcript($1) as t', [id])).rows[0].t;
  assert.deepEqual(await read(), t, 'the index step reads back exactly what was stored');
  await db.rootPool.query('select app_private.pipeline_transcribed($1, $2)', [
    id,
    JSON.stringify({ ...t, segments: [] }),
  ]);
  assert.deepEqual((await read()).segments, [], 'replaced, not appended');
  assert.equal((await video(id)).stage, 'cut');
  assert.deepEqual(
    (await jobs(id)).map((j) => [j.task, j.key]),
    [['videos__index', `videos__index:${id}`]],
  );
  await clearJobs(id);

  const scene = (o: number, a: number, b: number) => ({
    ordinal: o,
    start_s: a,
    end_s: b,
    transcript: `scene ${o}`,
    image_vec: Array.from({ length: 1152 }, (_, i) => (i === o ? 1 : 0)),
    keyframe_key: `u/${owner}/${id}/keyframes/${o}.jpg`,
  });
  await db.rootPool.query('select app_private.pipeline_indexed($1, $2)', [
    id,
    JSON.stringify({ transcript_source: 'none', missing_stages: ['ocr'], scenes: [scene(0, 0, 5), scene(1, 5, 12.5)] }),
  ]);
  v = await video(id);
  assert.equal(v.state, 'indexed');
  assert.equal(v.progress, 1);
  assert.deepEqual(v.missing_stages, ['ocr']);
  const stored = (await db.rootPool.query('select app_private.pipeline_stored_scenes($1) as s', [id])).rows[0].s;
  assert.deepEqual(
    stored,
    [scene(0, 0, 5), scene(1, 5, 12.5)].map(({ ordinal, start_s, end_s, transcript, keyframe_key, image_vec }) => ({
      ordinal,
      start_s,
      end_s,
      transcript,
      keyframe_key,
      image_vec,
    })),
    'a re-index starts from exactly the stored scenes, in order',
  );

  // A second run with fewer scenes replaces them and hands the orphaned keyframe to deletion.
  await db.rootPool.query('select app_private.pipeline_indexed($1, $2)', [
    id,
    JSON.stringify({ transcript_source: 'none', missing_stages: [], scenes: [scene(0, 0, 12.5)] }),
  ]);
  assert.equal(
    (await db.rootPool.query('select app_private.pipeline_stored_scenes($1) as s', [id])).rows[0].s.length,
    1,
  );
  const { rows: del } = await db.rootPool.query<{ payload: { keys: string[] } }>(
    `select j.payload from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = 'videos__delete_objects' and j.payload->>'id' = $1`,
    [id],
  );
  assert.deepEqual(
    del.map((d) => d.payload.keys),
    [[`u/${owner}/${id}/keyframes/1.jpg`]],
  );
  assert.equal(
    (await db.rootPool.query('select app_private.pipeline_indexed($1, $2) as n', [uuid(), '{"scenes":[]}'])).rows[0].n,
    null,
    'a deleted video is not an error',
  );
});

test('progress: the worker names the stage, SQL places it on the bar, and it only moves forward', async () => {
  const id = await insertVideo();
  const progress = (stage: string, done: number) =>
    db.rootPool.query('select app_private.pipeline_progress($1, $2, $3)', [id, stage, done]);
  await progress('validate', 0.5);
  let v = await video(id);
  assert.equal(v.state, 'validating');
  assert.ok(v.progress > 0 && v.progress < 0.1, `validate sits below transcribe: ${v.progress}`);

  const bar: number[] = [];
  for (const stage of ['transcribe', 'cut', 'keyframes', 'embed_text', 'embed_image', 'tags', 'ocr', 'faces']) {
    await progress(stage, 0);
    v = await video(id);
    assert.equal(v.state, 'processing');
    assert.equal(v.stage, stage);
    bar.push(v.progress);
  }
  assert.deepEqual(
    bar,
    [...bar].sort((a, b) => a - b),
    'stages in table order move the bar forward',
  );
  assert.ok(bar.at(-1)! < 1, 'only pipeline_indexed completes the bar');

  await progress('transcribe', 0); // a retried job re-announcing an early stage
  v = await video(id);
  assert.equal(v.stage, 'transcribe');
  assert.equal(v.progress, bar.at(-1), 'the bar does not jump back');
  await assert.rejects(progress('no_such_stage', 0), /unknown pipeline stage/);
  await assert.rejects(db.rootPool.query(`select app_private.pipeline_fail($1, '')`, [id]), /needs a reason/);
  await assert.rejects(
    db.rootPool.query(`select app_private.pipeline_indexed($1, '{"scenes": []}')`, [id]),
    /at least one scene/,
  );
});

test('re-index progress moves stage and bar of an indexed video, never its state', async () => {
  const id = await insertVideo();
  const reindexProgress = (done: number) =>
    db.rootPool.query('select app_private.pipeline_reindex_progress($1, $2, $3) as ok', [id, 'embed_image', done]);
  assert.equal((await reindexProgress(0)).rows[0].ok, false, 'a video that is not indexed is left alone');
  assert.equal((await video(id)).state, 'uploaded');

  await db.rootPool.query(`update app_public.videos set state = 'indexed', progress = 1 where id = $1`, [id]);
  assert.equal((await reindexProgress(0.5)).rows[0].ok, true);
  const v = await video(id);
  assert.equal(v.state, 'indexed');
  assert.equal(v.stage, 'reindex:embed_image');
  assert.ok(v.progress > 0.62 && v.progress < 0.72);
  await db.rootPool.query(`select app_private.pipeline_reindexed($1, '{"scenes": []}')`, [id]);
  assert.deepEqual([(await video(id)).stage, (await video(id)).progress], [null, 1]);
});

test('every pipeline job is queued with the one retry policy', async () => {
  const id = await insertVideo();
  await db.rootPool.query('select app_private.reprocess_video($1)', [id]);
  await db.rootPool.query(
    `update app_public.videos set state = 'indexed', missing_stages = '{ocr}', transcript_source = 'asr' where id = $1`,
    [id],
  );
  await db.rootPool.query('select app_private.reindex_missing()');
  await db.rootPool.query(`select app_private.reindex_stale('other/text', null)`);
  await db.rootPool.query('delete from app_public.videos where id = $1', [id]);
  const all = await jobs(id);
  assert.deepEqual(all.map((j) => j.task).sort(), [
    'videos__delete_objects',
    'videos__reindex',
    'videos__reindex',
    'videos__validate',
  ]);
  assert.deepEqual(new Set(all.map((j) => j.max_attempts)), new Set([8]));
  assert.deepEqual(
    all.filter((j) => j.task === 'videos__reindex').map((j) => j.queue),
    [`video:${id}`, `video:${id}`],
    'the re-index jobs of one video run one at a time',
  );
});

test('chunks: each is staged with the next queued in its transaction, done once, and the last assembles the video', async () => {
  const id = await insertVideo();
  await db.rootPool.query(`update app_public.videos set state = 'processing', duration_s = 300 where id = $1`, [id]);
  await clearJobs(id);
  const start = async (step: string, chunk: number) =>
    (await db.rootPool.query('select app_private.pipeline_chunk_start($1, $2, $3) as s', [id, step, chunk])).rows[0]
      .s as { done: boolean; start_s: number; ordinal: number } | null;
  const done = async (step: string, chunk: number, part: object, keys: string[] = []) =>
    (
      await db.rootPool.query('select app_private.pipeline_chunk_done($1, $2, $3, $4, $5) as ok', [
        id,
        step,
        chunk,
        JSON.stringify(part),
        keys,
      ])
    ).rows[0].ok as boolean;
  const staged = async () =>
    (
      await db.rootPool.query<{ step: string; chunk: number }>(
        'select step, chunk from app_private.video_chunks where video_id = $1 order by step, chunk',
        [id],
      )
    ).rows.map((r) => `${r.step}:${r.chunk}`);

  assert.deepEqual(await start('transcribe', 0), { done: false, start_s: 0, ordinal: 0 });
  assert.equal(await start('transcribe', 1), null, 'chunk 1 before chunk 0 is not part of this run');
  assert.equal(await done('transcribe', 1, { start_s: 120, end_s: 240, last: false, product: {} }), false);
  const seg = (a: number, text: string) => ({ start: a, end: a + 2, text });
  const tpart = (k: number, last: boolean, segments: object[], language: string | null) => ({
    start_s: k * 120,
    end_s: last ? 300 : (k + 1) * 120,
    last,
    product: { source: 'asr', language, model: 'm', segments, missing: false },
  });
  assert.equal(await done('transcribe', 0, tpart(0, false, [seg(1, 'one')], null)), true);
  assert.deepEqual(
    (await jobs(id)).map((j) => [j.task, j.key]),
    [['videos__transcribe', `videos__transcribe:${id}:1`]],
  );
  assert.deepEqual(await start('transcribe', 0), { done: true, start_s: 0, ordinal: 0 }, 'a re-run skips it');
  assert.deepEqual(await start('transcribe', 1), { done: false, start_s: 120, ordinal: 0 });
  await clearJobs(id);
  assert.equal(await done('transcribe', 0, tpart(0, false, [seg(1, 'again')], null)), true);
  assert.deepEqual(await jobs(id), [], 'staging a chunk twice queues nothing twice');
  assert.equal(await done('transcribe', 1, tpart(1, false, [seg(130, 'two')], 'en')), true);
  assert.equal(await done('transcribe', 2, tpart(2, true, [seg(250, 'three')], 'ko')), true);
  const t = (await db.rootPool.query('select app_private.pipeline_transcript($1) as t', [id])).rows[0].t;
  assert.deepEqual(
    t.segments.map((x: { text: string }) => x.text),
    ['one', 'two', 'three'],
    'segments in chunk order; the first staging of chunk 0 kept',
  );
  assert.equal(t.language, 'en', 'the first language recognised');
  assert.deepEqual(await staged(), [], 'assembled chunks are forgotten');
  assert.deepEqual(
    (await jobs(id)).map((j) => j.task),
    ['videos__transcribe', 'videos__index'],
  );

  const scene = (o: number, a: number, b: number) => ({ ordinal: o, start_s: a, end_s: b, keyframe_key: null });
  const ipart = (k: number, a: number, b: number, last: boolean, scenes: object[], missing: string[]) => ({
    start_s: a,
    end_s: b,
    last,
    product: { transcript_source: 'asr', image_model: k === 1 ? 'img' : null, missing_stages: missing, scenes },
  });
  const key = `u/${owner}/keyframes/${id}/0.jpg`;
  assert.equal(
    await done('index', 0, ipart(0, 0, 100, false, [scene(0, 0, 40), scene(1, 40, 100)], ['tags']), [key]),
    true,
  );
  const unref = async () =>
    (await db.rootPool.query('select app_private.unreferenced_keys($1) as k', [[key]])).rows[0].k;
  assert.deepEqual(await unref(), [], "a staged chunk's keyframe is not an orphan");
  assert.deepEqual(await start('index', 1), { done: false, start_s: 100, ordinal: 2 });
  assert.equal(
    await done('index', 1, ipart(1, 100, 300, true, [scene(2, 100, 200), scene(3, 200, 300)], ['ocr', 'embed_image'])),
    true,
  );
  const v = await video(id);
  assert.equal(v.state, 'indexed');
  assert.deepEqual(v.missing_stages, ['embed_image', 'tags', 'ocr'], 'the union, in stage order');
  assert.equal(v.image_model, 'img');
  const { rows } = await db.rootPool.query(
    'select ordinal, start_s, end_s from app_public.scenes where video_id = $1 order by ordinal',
    [id],
  );
  assert.deepEqual(
    rows.map((r) => [r.ordinal, r.start_s, r.end_s]),
    [
      [0, 0, 40],
      [1, 40, 100],
      [2, 100, 200],
      [3, 200, 300],
    ],
  );
  assert.deepEqual(await staged(), []);

  // A reprocessed video starts over: chunks of the earlier run are dropped.
  await done('transcribe', 0, tpart(0, false, [], null));
  assert.deepEqual(await staged(), ['transcribe:0']);
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [id, JSON.stringify({ duration_s: 300 })]);
  assert.deepEqual(await staged(), []);

  // Deleted mid-way: what staged chunks stored goes with the video's objects.
  const crop = `u/${owner}/faces/${uuid()}.jpg`;
  await done('index', 0, ipart(0, 0, 100, false, [scene(0, 0, 100)], []), [key, crop]);
  await clearJobs(id);
  await db.rootPool.query('delete from app_public.videos where id = $1', [id]);
  const { rows: del } = await db.rootPool.query<{ keys: string[] }>(
    `select j.payload->'keys' as keys from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = 'videos__delete_objects' and j.payload->>'id' = $1`,
    [id],
  );
  assert.ok(del[0]?.keys.includes(key) && del[0].keys.includes(crop), `deleted with the video: ${del[0]?.keys}`);
  assert.deepEqual(await unref(), [key], 'no longer referenced');
  await clearJobs(id);
});

test('chunk progress: each chunk moves the bar through its own share of the phase, 0..1 is the whole phase', async () => {
  const id = await insertVideo();
  const at = async (stage: string, done: number, lo?: number, hi?: number) => {
    await db.rootPool.query(
      lo === undefined
        ? 'select app_private.pipeline_progress($1, $2, $3)'
        : 'select app_private.pipeline_progress($1, $2, $3, $4, $5)',
      lo === undefined ? [id, stage, done] : [id, stage, done, lo, hi],
    );
    return (await video(id)).progress as number;
  };
  const whole = await at('transcribe', 0.5);
  assert.ok(Math.abs(whole - 0.225) < 1e-6, `half of transcribe: ${whole}`);
  const bar: number[] = [];
  for (const [lo, hi] of [
    [0, 0.25],
    [0.25, 0.5],
    [0.5, 0.75],
    [0.75, 1],
  ])
    for (const d of [0, 0.5, 1]) bar.push(await at('transcribe', d, lo, hi));
  for (const [lo, hi] of [
    [0, 0.5],
    [0.5, 1],
  ])
    for (const stage of ['cut', 'keyframes', 'ocr', 'faces']) bar.push(await at(stage, 0.5, lo, hi));
  assert.deepEqual(
    bar,
    [...bar].sort((a, b) => a - b),
    'never backwards across chunks',
  );
  assert.ok(Math.abs(bar[5]! - (0.1 + 0.25 * 0.5)) < 1e-6, `second chunk done = half the transcribe phase: ${bar[5]}`);
  assert.ok(bar[12]! < 0.35 + 0.63 / 2, 'the first index chunk stays in the first half of the index phase');
  await assert.rejects(at('cut', 0, 0.6, 0.5), /lo <= hi/);
});

test('a playback copy: parts queued at validation, the join queued once when the last part is in, whatever the order', async () => {
  const id = await insertVideo();
  await clearJobs(id);
  const facts = (plan: string) => ({
    duration_s: 700,
    width: 1920,
    height: 1080,
    video_codec: 'hevc',
    has_audio: true,
    content_sha256: 'a'.repeat(64),
    playback: { plan, parts: 3, part_s: 300 },
  });
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [id, JSON.stringify(facts('transcode'))]);
  assert.equal((await video(id)).playback_state, 'pending');
  assert.deepEqual(
    (await jobs(id)).map((j) => [j.task, j.key]),
    [
      ['videos__transcribe', `videos__transcribe:${id}`],
      ...[0, 1, 2].map((n) => ['videos__playback_part', `videos__playback_part:${id}:${n}`]),
    ],
  );
  const priority = async (task: string) =>
    (
      await db.rootPool.query<{ p: number }>(
        `select min(j.priority) as p from graphile_worker._private_jobs j
           join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = $1 and j.payload->>'id' = $2`,
        [task, id],
      )
    ).rows[0]!.p;
  assert.equal(
    (await priority('videos__playback_part')) - (await priority('videos__transcribe')),
    10,
    'the copy waits behind indexing',
  );
  await clearJobs(id);

  const key = (n: number) => `u/${owner}/${id}/playback/${n}.mp4`;
  const done = (n: number) =>
    db.rootPool
      .query<{ ok: boolean }>('select app_private.pipeline_playback_part_done($1, $2, 3, 300, $3) as ok', [
        id,
        n,
        key(n),
      ])
      .then((r) => r.rows[0]!.ok);
  // Parts finish in any order, one of them twice: a retry after a lost
  // commit makes it again under a name of its own, and the first one goes.
  assert.equal(await done(2), true);
  const first = `u/${owner}/${id}/playback/0-first.mp4`;
  await db.rootPool.query('select app_private.pipeline_playback_part_done($1, 0, 3, 300, $2)', [id, first]);
  assert.deepEqual(await jobs(id), [], 'no join before every part is in');
  assert.equal(await done(0), true);
  const [replaced] = (
    await db.rootPool.query(`select j.payload from graphile_worker._private_jobs j where j.payload->>'id' = $1`, [id])
  ).rows;
  assert.deepEqual(replaced?.payload.keys, [first]);
  await clearJobs(id);
  assert.equal(await done(1), true);
  assert.deepEqual(
    (await jobs(id)).map((j) => [j.task, j.key]),
    [['videos__playback', `videos__playback:${id}`]],
  );
  const parts = await db.rootPool.query('select * from app_private.pipeline_playback_parts($1)', [id]);
  assert.deepEqual(
    parts.rows.map((r) => [r.part, r.key]),
    [0, 1, 2].map((n) => [n, key(n)]),
  );
  // The parts' objects are kept from the orphan sweep until they are joined.
  const unreferenced = async (keys: string[]) =>
    (await db.rootPool.query('select app_private.unreferenced_keys($1) as k', [keys])).rows[0].k;
  assert.deepEqual(await unreferenced([key(0), key(2)]), []);
  await clearJobs(id);

  const copy = `u/${owner}/${id}/playback.mp4`;
  await db.rootPool.query('select app_private.pipeline_playback_ready($1, $2, $3)', [id, copy, 123456]);
  const v = await video(id);
  assert.deepEqual([v.playback_state, v.playback_key, v.playback_bytes], ['ready', copy, '123456']);
  assert.deepEqual((await db.rootPool.query('select * from app_private.pipeline_playback_parts($1)', [id])).rows, []);
  const [del] = await db.rootPool
    .query(`select j.payload from graphile_worker._private_jobs j where j.payload->>'id' = $1`, [id])
    .then((r) => r.rows);
  assert.deepEqual(del.payload.keys.sort(), [key(0), key(1), key(2)], 'the parts go once joined');
  assert.deepEqual(await unreferenced([copy, key(1)]), [key(1)]);
  await clearJobs(id);
  // A late part (a job of a finished run) is refused: its caller deletes what it stored.
  assert.equal(await done(1), false);

  // A copy that cannot be made: the video stays as it is, the reason in its notes, no parts kept.
  const other = await insertVideo();
  await clearJobs(other);
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [other, JSON.stringify(facts('remux'))]);
  assert.deepEqual(
    (await jobs(other)).map((j) => j.task),
    ['videos__transcribe', 'videos__playback'],
    'a repackaging is the join alone',
  );
  await db.rootPool.query('select app_private.pipeline_playback_failed($1, $2)', [other, 'No copy: broken']);
  const f = await video(other);
  assert.deepEqual([f.state, f.playback_state, f.notes], ['processing', 'failed', ['No copy: broken']]);
  // Deleting a video queues its copy for deletion with it.
  await clearJobs(id);
  await db.rootPool.query('delete from app_public.videos where id = $1', [id]);
  const gone = (await jobs(id)).map((j) => j.task);
  assert.deepEqual(gone, ['videos__delete_objects']);
  const { rows: payloads } = await db.rootPool.query(
    `select j.payload from graphile_worker._private_jobs j where j.payload->>'id' = $1`,
    [id],
  );
  assert.ok(payloads[0].payload.keys.includes(copy), JSON.stringify(payloads[0].payload));
});

test("a copy's job killed on its last attempt fails the copy, not the video", async () => {
  const id = await insertVideo();
  await clearJobs(id);
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [
    id,
    JSON.stringify({ duration_s: 30, video_codec: 'hevc', playback: { plan: 'transcode', parts: 1, part_s: 300 } }),
  ]);
  await db.rootPool.query(
    `update graphile_worker._private_jobs j set locked_by = 'sql-dead-copy', locked_at = now() - interval '1 hour',
            attempts = max_attempts
       from graphile_worker._private_tasks t
      where t.id = j.task_id and t.identifier = 'videos__playback_part' and j.payload->>'id' = $1`,
    [id],
  );
  const { rows } = await db.rootPool.query<{ ids: string[] }>('select app_private.release_dead_workers(30) as ids');
  assert.ok(rows[0]!.ids.includes('sql-dead-copy'), JSON.stringify([rows[0], await jobs(id), await video(id)]));
  const v = await video(id);
  assert.equal(v.state, 'processing', 'the video goes on being indexed');
  assert.equal(v.playback_state, 'failed');
  assert.match(
    v.notes.join(' '),
    /No browser-playable copy could be made: Processing was interrupted on its last attempt \(8 of 8/,
  );
});

test('a video validated before copies existed gets one when processed again, its bytes unchanged', async () => {
  const id = await insertVideo();
  const facts = {
    duration_s: 30,
    video_codec: 'hevc',
    content_sha256: 'b'.repeat(64),
    playback: { plan: 'transcode', parts: 1, part_s: 300 },
  };
  // As migration 000017 left it: validated, its playback state unknown.
  await db.rootPool.query(
    `update app_public.videos set content_sha256 = $2, playback_state = null, state = 'indexed' where id = $1`,
    [id, facts.content_sha256],
  );
  await clearJobs(id);
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [id, JSON.stringify(facts)]);
  assert.equal((await video(id)).playback_state, 'pending');
  assert.deepEqual(
    (await jobs(id)).map((j) => j.task),
    ['videos__transcribe', 'videos__playback_part'],
  );
});

test('an indexed video validated before copies existed gets a plan, and its copy, from videos__playback_plan', async () => {
  const [tape, plain, processing] = [await insertVideo(), await insertVideo(), await insertVideo()];
  // As migration 000017 left them: indexed (or still on the way), no playback state.
  await db.rootPool.query(
    `update app_public.videos set playback_state = null, state = case when id = $2 then 'processing' else 'indexed' end
      where id = any($1) or id = $2`,
    [[tape, plain], processing],
  );
  for (const id of [tape, plain, processing]) await clearJobs(id);
  const planned = (id: string, playback: unknown) =>
    db.rootPool
      .query('select app_private.pipeline_playback_planned($1, $2) as ok', [id, JSON.stringify(playback)])
      .then((r) => r.rows[0].ok as boolean);
  assert.equal(await planned(tape, { plan: 'transcode', parts: 2, part_s: 300 }), true);
  assert.equal((await video(tape)).playback_state, 'pending');
  assert.deepEqual(
    (await jobs(tape)).map((j) => j.task),
    ['videos__playback_part', 'videos__playback_part'],
  );
  assert.equal(await planned(tape, { plan: 'transcode', parts: 2, part_s: 300 }), false, 'planned once');
  assert.equal((await jobs(tape)).length, 2);
  assert.equal(await planned(plain, { plan: 'original', parts: 0, part_s: 300 }), true);
  assert.equal((await video(plain)).playback_state, 'original');
  assert.deepEqual(await jobs(plain), []);
  assert.equal(await planned(processing, { plan: 'remux', parts: 0, part_s: 300 }), false, 'validation plans it');
  assert.equal((await video(processing)).playback_state, null);
  await assert.rejects(planned(processing, { plan: 'sideways' }), /unknown playback plan sideways/);
  // Indexed after the upgrade queued plans for the indexed ones: it queues its own.
  const oneScene = JSON.stringify({
    transcript_source: 'none',
    scenes: [{ ordinal: 0, start_s: 0, end_s: 5, transcript: 'hi' }],
  });
  await db.rootPool.query('select app_private.pipeline_indexed($1, $2)', [processing, oneScene]);
  assert.deepEqual(
    (await jobs(processing)).map((j) => [j.task, j.key]),
    [['videos__playback_plan', `videos__playback_plan:${processing}`]],
  );
  // A video validated since has its plan: indexing it queues none.
  await db.rootPool.query('select app_private.pipeline_indexed($1, $2)', [plain, oneScene]);
  assert.deepEqual(await jobs(plain), []);
});

test('a video that fails calls off its copy: the jobs find nothing to do, the parts go', async () => {
  const id = await insertVideo();
  await clearJobs(id);
  await db.rootPool.query('select app_private.pipeline_validated($1, $2)', [
    id,
    JSON.stringify({ duration_s: 700, video_codec: 'hevc', playback: { plan: 'transcode', parts: 2, part_s: 300 } }),
  ]);
  const part = `u/${owner}/${id}/playback/0.mp4`;
  await db.rootPool.query('select app_private.pipeline_playback_part_done($1, 0, 2, 300, $2)', [id, part]);
  await clearJobs(id);
  await db.rootPool.query('select app_private.pipeline_fail($1, $2)', [id, 'The video stops after 6.2 s of the 700 s']);
  const v = await video(id);
  assert.deepEqual([v.state, v.playback_state], ['failed', null]);
  const { rows } = await db.rootPool.query(
    `select j.payload from graphile_worker._private_jobs j where j.payload->>'id' = $1`,
    [id],
  );
  assert.deepEqual(
    rows.map((r) => r.payload.keys),
    [[part]],
    'the staged part is deleted',
  );
  assert.equal(
    (
      await db.rootPool.query<{ ok: boolean }>(
        'select app_private.pipeline_playback_part_done($1, 1, 2, 300, $2) as ok',
        [id, part],
      )
    ).rows[0]!.ok,
    false,
    'a part still on its way is refused',
  );
  // A video that never had a copy keeps its state when it fails.
  const plain = await insertVideo();
  await db.rootPool.query(`update app_public.videos set playback_state = 'original' where id = $1`, [plain]);
  await db.rootPool.query('select app_private.pipeline_fail($1, $2)', [plain, 'broken']);
  assert.equal((await video(plain)).playback_state, 'original');
});
