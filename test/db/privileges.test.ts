/*
 * Least privilege, tried as each login role the product really connects
 * as: the owner (migrations, admin commands), heimdex_authenticator
 * (GraphQL), heimdex_worker (workers) and heimdex_auth (the API's local auth
 * functions). Each one attempts the escalations an audit found and must be
 * refused; the functions anon, authenticated and the service logins can
 * execute are compared with an explicit allow-list, so a new function that
 * is callable by accident fails here.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, uuid } from '../helpers/db.ts';

const db = await createTestDatabase();

const logins = {
  owner: db.ownerUrl,
  authenticator: db.authUrl,
  worker: db.workerUrl,
  auth: db.authFunctionsUrl,
};
const clients = new Map<string, pg.Client>();
async function as(login: keyof typeof logins): Promise<pg.Client> {
  let c = clients.get(login);
  if (!c) {
    c = new pg.Client({ connectionString: logins[login] });
    // The test database is dropped (with force) by its own after hook.
    c.on('error', () => {});
    await c.connect();
    clients.set(login, c);
  }
  return c;
}
after(async () => {
  for (const c of clients.values()) await c.end();
});

test('every login role is a plain login: no superuser, CREATEROLE, CREATEDB, BYPASSRLS or replication', async () => {
  const { rows } = await db.rootPool.query(
    `select rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin
       from pg_roles where rolname = any($1) order by rolname`,
    [['heimdex', 'heimdex_auth', 'heimdex_authenticator', 'heimdex_worker']],
  );
  assert.equal(rows.length, 4);
  for (const r of rows) {
    assert.deepEqual(
      { ...r, rolname: undefined },
      {
        rolname: undefined,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
        rolreplication: false,
        rolcanlogin: true,
      },
      r.rolname,
    );
  }
});

test('no login role can run a program on the database host or read its files', async () => {
  for (const login of Object.keys(logins) as (keyof typeof logins)[]) {
    const c = await as(login);
    const who = (await c.query('select current_user as u')).rows[0].u;
    for (const sql of [
      `grant pg_execute_server_program to ${who}`,
      `grant pg_read_server_files to ${who}`,
      `grant pg_write_server_files to ${who}`,
      `create role heimdex_escalated login superuser`,
      `create role heimdex_escalated login`,
      `alter role ${who} createrole`,
    ]) {
      await assert.rejects(c.query(sql), { code: '42501' }, `${login}: ${sql}`);
    }
    await c.query('begin');
    try {
      await c.query('create temp table t (line text)');
      await assert.rejects(c.query(`copy t from program 'id'`), { code: '42501' }, `${login}: copy from program`);
    } finally {
      await c.query('rollback');
    }
    await assert.rejects(c.query(`select pg_read_file('PG_VERSION')`), { code: '42501' }, `${login}: pg_read_file`);
  }
});

test('no login role can hand itself or the API login a more powerful role', async () => {
  // The owner keeps ADMIN on exactly the roles the first migration grants
  // (anon, authenticated, heimdex_worker); everything else is refused.
  const owner = await as('owner');
  for (const sql of [
    'grant service_role to heimdex_authenticator',
    'grant service_role to heimdex',
    'grant heimdex_auth to heimdex_authenticator',
    'grant heimdex_authenticator to heimdex_worker',
    'grant pg_read_all_data to heimdex_authenticator',
    'grant pg_signal_backend to heimdex',
  ]) {
    await assert.rejects(owner.query(sql), { code: '42501' }, `owner: ${sql}`);
  }
  for (const login of ['authenticator', 'worker', 'auth'] as const) {
    const c = await as(login);
    for (const sql of [
      'grant service_role to heimdex_authenticator',
      'grant heimdex_worker to heimdex_authenticator',
      'grant authenticated to heimdex_worker',
      'grant anon to heimdex_auth',
    ]) {
      await assert.rejects(c.query(sql), { code: '42501' }, `${login}: ${sql}`);
    }
    await assert.rejects(c.query('set role service_role'), { code: '42501' }, `${login}: set role service_role`);
    await assert.rejects(c.query('set role heimdex'), { code: '42501' }, `${login}: set role heimdex`);
  }
  const worker = await as('worker');
  await assert.rejects(worker.query('set role authenticated'), { code: '42501' });
  const auth = await as('auth');
  await assert.rejects(auth.query('set role authenticated'), { code: '42501' });
});

test("a security definer trigger function cannot be attached to a caller's own table", async () => {
  // The audit's path: a temp table with the delete trigger queued object
  // deletion for someone else's keys. Without EXECUTE the trigger cannot
  // even be created.
  for (const login of ['authenticator', 'worker', 'auth'] as const) {
    const c = await as(login);
    await c.query('begin');
    try {
      if (login === 'authenticator') await c.query(`set local role authenticated`);
      await c.query('create temp table t (id uuid, owner_id uuid, object_key text, subtitle_key text)');
      for (const fn of ['tg_videos__forget_objects', 'tg__add_job', 'tg_videos__notify']) {
        await c.query('savepoint s');
        await assert.rejects(
          c.query(`create trigger x before delete on t for each row execute function app_private.${fn}()`),
          { code: '42501' },
          `${login}: trigger with ${fn}`,
        );
        await c.query('rollback to savepoint s');
      }
    } finally {
      await c.query('rollback');
    }
  }
});

test('the auth login executes the auth functions and touches no table', async () => {
  const c = await as('auth');
  const { rows } = await c.query(`select app_private.auth_signup($1, 'correct horse battery') as u`, [
    `p-${uuid()}@example.test`,
  ]);
  assert.ok(rows[0].u, 'sign-up works through the function');
  for (const sql of [
    'select * from app_private.users',
    'select * from app_private.sessions',
    'select * from app_public.videos',
    `select app_private.pipeline_fail('${uuid()}', 'x')`,
    `select app_private.reprocess_failed()`,
  ]) {
    await assert.rejects(c.query(sql), { code: '42501' }, sql);
  }
});

test('the functions each role may execute are exactly the allow-list', async () => {
  const list = async (role: string) =>
    (
      await db.rootPool.query<{ f: string }>(
        `select p.oid::regprocedure::text as f
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname in ('app_public', 'app_hidden', 'app_private', 'graphile_worker', 'graphile_migrate')
            and has_schema_privilege($1, n.oid, 'usage')
            and has_function_privilege($1, p.oid, 'execute')
          order by 1`,
        [role],
      )
    ).rows.map((r) => r.f.replace(/\(.*$/, ''));
  const search = [
    'app_hidden.cjk_letters',
    'app_hidden.cjk_words',
    'app_hidden.drop_empty_groups',
    'app_hidden.face_calibration',
    'app_hidden.face_crop_key',
    'app_hidden.index_text',
    'app_hidden.person_attach',
    'app_hidden.search_bits_weight',
    'app_hidden.search_compound_parts',
    'app_hidden.search_escape_html',
    'app_hidden.search_forms',
    'app_hidden.search_highlight',
    'app_hidden.search_label_start',
    'app_hidden.search_label_stem',
    'app_hidden.search_names',
    'app_hidden.search_ocr_fuzzy',
    'app_hidden.search_persons_of',
    'app_hidden.search_postings',
    'app_hidden.search_prefix',
    'app_hidden.search_query_words',
    'app_hidden.search_range_rows',
    'app_hidden.search_rank',
    'app_hidden.search_scene_matches',
    'app_hidden.search_similarity',
    'app_hidden.search_snippet',
    'app_hidden.search_snippet_query',
    'app_hidden.search_stem_rows',
    'app_hidden.search_stem_start',
    'app_hidden.search_stem_tsquery',
    'app_hidden.search_stemming',
    // Two forms: given the query's stems, and stemming the words itself.
    'app_hidden.search_tag_score',
    'app_hidden.search_tag_score',
    'app_hidden.search_tag_words',
    'app_hidden.search_tsquery',
    'app_hidden.search_word_estimate',
    'app_hidden.search_word_forms',
    'app_hidden.search_word_rows',
    'app_hidden.stem_config',
    'app_hidden.tag_text',
    'app_public.assign_face',
    'app_public.merge_persons',
    'app_public.persons_face_count',
    'app_public.persons_scene_count',
    'app_public.persons_thumbnail_key',
    'app_public.search_scenes',
    'app_public.videos_transcript',
  ];
  assert.deepEqual(await list('anon'), []);
  assert.deepEqual(await list('authenticated'), search);
  assert.deepEqual(await list('service_role'), []);
  assert.deepEqual(await list('heimdex_authenticator'), []);
  assert.deepEqual(await list('heimdex_worker'), [
    'app_private.enrolment_face_reembedded',
    'app_private.enrolment_faces_stale',
    'app_private.faces_recluster',
    'app_private.job_interrupted',
    'app_private.pipeline_chunk_done',
    'app_private.pipeline_chunk_start',
    'app_private.pipeline_fail',
    'app_private.pipeline_indexed',
    'app_private.pipeline_note',
    'app_private.pipeline_playback_failed',
    'app_private.pipeline_playback_part_done',
    'app_private.pipeline_playback_parts',
    'app_private.pipeline_playback_planned',
    'app_private.pipeline_playback_ready',
    'app_private.pipeline_progress',
    'app_private.pipeline_reindex_progress',
    'app_private.pipeline_reindexed',
    'app_private.pipeline_stored_scenes',
    'app_private.pipeline_transcribed',
    'app_private.pipeline_transcript',
    'app_private.pipeline_validated',
    'app_private.queue_storage_sweep',
    'app_private.reindex_stale',
    'app_private.release_dead_workers',
    'app_private.release_gone_processes',
    'app_private.release_workers',
    'app_private.unreferenced_keys',
    'app_private.worker_heartbeat',
    'app_private.worker_processes',
  ]);
  assert.deepEqual(await list('heimdex_auth'), [
    'app_private.auth_create_session',
    'app_private.auth_login',
    'app_private.auth_logout_session',
    'app_private.auth_logout_token',
    'app_private.auth_logout_user',
    'app_private.auth_refresh',
    'app_private.auth_session_active',
    'app_private.auth_session_user',
    'app_private.auth_signup',
  ]);
});

test("the worker login's table privileges are exactly the allow-list", async () => {
  const { rows } = await db.rootPool.query<{ t: string; p: string }>(
    `select n.nspname || '.' || c.relname as t, p.p
       from pg_class c join pg_namespace n on n.oid = c.relnamespace,
            unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) p(p)
      where n.nspname in ('app_public', 'app_hidden', 'app_private', 'graphile_worker', 'graphile_migrate')
        and c.relkind in ('r', 'v', 'm', 'p')
        and has_schema_privilege('heimdex_worker', n.oid, 'usage')
        and has_table_privilege('heimdex_worker', c.oid, p.p)`,
  );
  assert.deepEqual(rows.map((r) => `${r.t} ${r.p}`).sort(), [
    // Reading the video a job is about; every write goes through the step functions.
    'app_public.videos select',
    // Working the queue: lock, complete and fail jobs.
    'graphile_worker._private_job_queues select',
    'graphile_worker._private_job_queues update',
    'graphile_worker._private_jobs delete',
    'graphile_worker._private_jobs select',
    'graphile_worker._private_jobs update',
    // graphile-worker's run() starts cron even with no crontab and reads
    // this first (row-level security on, no policy: it sees no rows).
    'graphile_worker._private_known_crontabs select',
    // Registering its task names at start.
    'graphile_worker._private_tasks insert',
    'graphile_worker._private_tasks select',
    // Checking at start that graphile-worker's schema is migrated.
    'graphile_worker.migrations select',
  ]);
});

test('a function the owner creates later is not executable by PUBLIC', async () => {
  const c = await as('owner');
  await c.query('begin');
  try {
    await c.query(`create function app_public.p_new_fn() returns int language sql as 'select 1'`);
    await c.query(`create function app_hidden.p_new_fn() returns int language sql as 'select 1'`);
    const { rows } = await c.query(
      `select has_function_privilege('anon', 'app_public.p_new_fn()', 'execute') as anon_pub,
              has_function_privilege('authenticated', 'app_hidden.p_new_fn()', 'execute') as auth_hidden`,
    );
    assert.deepEqual(rows[0], { anon_pub: false, auth_hidden: false });
  } finally {
    await c.query('rollback');
  }
});

test('the database refuses rows the API would refuse: content types and keys outside the owner folder', async () => {
  const owner = uuid();
  const ok = `u/${owner}/${uuid()}/clip.mp4`;
  const insert = (key: string, type: string | null, subtitle: string | null = null) =>
    db.rootPool.query(
      `insert into app_public.videos (owner_id, object_key, content_type, subtitle_key) values ($1, $2, $3, $4)`,
      [owner, key, type, subtitle],
    );
  const check = { code: '23514' };
  await assert.rejects(insert(ok, 'text/html'), check, 'text/html would be served as a page');
  await assert.rejects(insert(ok, 'image/svg+xml'), check);
  await assert.rejects(insert(`u/${owner}/..`, 'video/mp4'), check, 'a trailing .. segment');
  await assert.rejects(insert(`u/${owner}/a/../../${uuid()}/x.mp4`, 'video/mp4'), check);
  await assert.rejects(insert(`u/${owner}/./x.mp4`, 'video/mp4'), check);
  await assert.rejects(insert(`u/${owner}/`, 'video/mp4'), check, 'the folder itself is not an object');
  await assert.rejects(insert(`u/${uuid()}/x.mp4`, 'video/mp4'), check, "another user's folder");
  await assert.rejects(insert(`x/u/${owner}/x.mp4`, 'video/mp4'), check);
  await assert.rejects(insert(ok, 'video/mp4', `u/${owner}/../s.srt`), check);
  // What the API writes still goes in, and a file name with dots is a name, not a segment.
  const { rowCount } = await insert(`u/${owner}/${uuid()}/my..clip.v2.mp4`, 'video/mp4', `u/${owner}/${uuid()}/s.srt`);
  assert.equal(rowCount, 1);
  await insert(ok, null);
});
