/*
 * Database helpers for tests. Each test file gets a database of its own,
 * cloned from the migrated template that scripts/test.ts prepared, so files
 * can run in parallel and nothing needs cleaning up between them.
 *
 * withUserDb/withAnonDb/withWorkerDb run a callback inside a transaction that
 * is rolled back, as the role the API or worker would use, with claims set
 * the way Supabase sets them (request.jwt.claims).
 */
import crypto from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../core/config.ts';
import { readEmbeddedCredentials, urlsFor } from '../../core/embedded-pg.ts';

export interface TestDatabase {
  name: string;
  ownerUrl: string;
  authUrl: string;
  /** heimdex_worker: what workers connect as. */
  workerUrl: string;
  /** heimdex_auth: the API's local auth functions. */
  authFunctionsUrl: string;
  rootUrl: string;
  /** Owner pool (bypasses nothing: RLS still applies to non-owners). */
  rootPool: pg.Pool;
  /** Pool as heimdex_authenticator, like the API server's. */
  authPool: pg.Pool;
  /** Pool as the heimdex_worker login, like a worker's. */
  workerPool: pg.Pool;
}

/**
 * A pool whose end() also waits for its connections to be closed, not only
 * asked to close. pg-pool's end() resolves once it has told its clients to
 * end; the database dropped (with force) a moment later then terminated a
 * connection still closing, and its idle client handed the 57P01 to the
 * pool's 'error' event, which nobody listened to: an uncaught exception in
 * whichever test had opened it (once in a full run, session 34).
 */
class ClosingPool extends pg.Pool {
  private open = 0;
  private closed: (() => void) | null = null;

  constructor(connectionString: string, max: number) {
    super({ connectionString, max });
    this.on('connect', () => this.open++);
    this.on('remove', () => {
      if (--this.open === 0) this.closed?.();
    });
  }

  override async end(): Promise<void> {
    await super.end();
    if (this.open === 0) return;
    // Bounded: a client a test never released is not worth hanging the run for.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => (this.closed = r)),
      new Promise<void>((r) => (timer = setTimeout(r, 5000))),
    ]);
    clearTimeout(timer);
  }
}

/** Clones the template into a fresh database, dropped after the file's tests. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const rootServerUrl = process.env.HEIMDEX_TEST_ROOT_URL;
  const template = process.env.HEIMDEX_TEST_TEMPLATE;
  if (!rootServerUrl || !template)
    throw new Error('run tests through `npm test` (scripts/test.ts), which prepares the database');
  const name = `heimdex_t_${crypto.randomBytes(5).toString('hex')}`;
  const root = new pg.Client({ connectionString: rootServerUrl });
  await root.connect();
  try {
    await root.query(`create database ${name} template ${template} owner heimdex`);
  } finally {
    await root.end();
  }
  const config = loadConfig();
  const creds = readEmbeddedCredentials(config)!;
  const urls = urlsFor(config, creds, name);
  const rootPool = new ClosingPool(urls.ownerUrl, 4);
  const authPool = new ClosingPool(urls.authUrl, 4);
  const workerPool = new ClosingPool(urls.workerUrl, 2);
  after(async () => {
    await rootPool.end();
    await authPool.end();
    await workerPool.end();
    const c = new pg.Client({ connectionString: rootServerUrl });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await c.end();
  });
  return {
    name,
    ownerUrl: urls.ownerUrl,
    authUrl: urls.authUrl,
    workerUrl: urls.workerUrl,
    authFunctionsUrl: urls.authFunctionsUrl,
    rootUrl: urls.rootUrl.replace(/\/heimdex$/, `/${name}`),
    rootPool,
    authPool,
    workerPool,
  };
}

export type Claims = Record<string, unknown>;

export function userClaims(userId: string, extra: Claims = {}): Claims {
  return { sub: userId, role: 'authenticated', aud: 'authenticated', email: `${userId}@example.test`, ...extra };
}

async function inRolledBackTx<T>(
  pool: pg.Pool,
  setup: (c: pg.PoolClient) => Promise<void>,
  fn: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await setup(client);
    return await fn(client);
  } finally {
    await client.query('rollback').catch(() => {});
    client.release();
  }
}

async function becomeRole(c: pg.PoolClient, role: string, claims: Claims | null) {
  await c.query(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [
    role,
    claims ? JSON.stringify(claims) : '',
  ]);
}

/** As a signed-in user through the API's login role. */
export function withUserDb<T>(db: TestDatabase, userId: string, fn: (c: pg.PoolClient) => Promise<T>) {
  return inRolledBackTx(db.authPool, (c) => becomeRole(c, 'authenticated', userClaims(userId)), fn);
}

/** As an anonymous visitor through the API's login role. */
export function withAnonDb<T>(db: TestDatabase, fn: (c: pg.PoolClient) => Promise<T>) {
  return inRolledBackTx(db.authPool, (c) => becomeRole(c, 'anon', { role: 'anon' }), fn);
}

/** As a worker: its own heimdex_worker login, no role switch. */
export function withWorkerDb<T>(db: TestDatabase, fn: (c: pg.PoolClient) => Promise<T>) {
  return inRolledBackTx(db.workerPool, async () => {}, fn);
}

/** As the schema owner (an administrator in psql). */
export function asRoot<T>(db: TestDatabase, fn: (c: pg.PoolClient) => Promise<T>) {
  return inRolledBackTx(db.rootPool, async () => {}, fn);
}

/**
 * A person's many scenes as search_scenes filters by them in a plan: a constant list (so the plan
 * is the search's own, and PostgreSQL hashes the list), tested under coalesce so that it is no
 * index condition.
 */
export const PERSON_LIST = /COALESCE\(\((\w+\.)?(scene_)?id = ANY \('\{[0-9a-f]{8}-[^}]*\}'::uuid\[\]\)\), false\)/;

/**
 * Runs fn as a signed-in user on a superuser session with auto_explain on
 * (each nested statement's plan, as it really ran); returns its result and
 * the plan of every statement executed, its query text first.
 */
export async function explainedAs<T>(
  db: TestDatabase,
  userId: string,
  settings: string[],
  fn: (c: pg.Client) => Promise<T>,
) {
  const c = new pg.Client({ connectionString: db.rootUrl });
  const plans: string[] = [];
  c.on('notice', (n) => {
    if (/plan:/.test(n.message ?? '')) plans.push(n.message!);
  });
  await c.connect();
  try {
    await c.query(`load 'auto_explain'`);
    await c.query(
      `set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on; set client_min_messages = log`,
    );
    for (const s of settings) await c.query(s);
    await c.query(`set role authenticated`);
    await c.query(`select set_config('request.jwt.claims', $1, false)`, [JSON.stringify(userClaims(userId))]);
    const result = await fn(c);
    return { result, plan: plans.join('\n'), plans };
  } finally {
    await c.end();
  }
}

export const uuid = () => crypto.randomUUID();
