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
      'pipeline_fail',
      'pipeline_indexed',
      'pipeline_note',
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
