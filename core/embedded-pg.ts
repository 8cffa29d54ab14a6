/*
 * The embedded PostgreSQL: a project-private cluster under the data folder,
 * used whenever DATABASE_URL is unset. It runs Debian's PostgreSQL binaries
 * (scripts/ensure-system.sh installs them and builds pgvector when missing),
 * listens on loopback only, and uses generated scram passwords kept in the data
 * folder with user-only permissions.
 *
 * Roles (the README's "Database roles" has the whole map): every role is
 * created here by postgres, the superuser used only for setup, so the owner
 * needs no CREATEROLE. heimdex owns the schema and runs migrations and admin
 * commands; heimdex_authenticator is the GraphQL login (switches to
 * anon/authenticated per request); heimdex_worker is the workers' login
 * (step functions and the queue only); heimdex_auth is the API's login for
 * its local auth functions (EXECUTE on those only).
 */
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT_DIR, type Config } from './config.ts';

const run = promisify(execFile);

export interface Credentials {
  superPassword: string;
  ownerPassword: string;
  authenticatorPassword: string;
  /** Absent in data folders created before the worker had its own login; added on start. */
  workerPassword?: string;
  authFunctionsPassword?: string;
}

/** Nologin group roles the policies name (Supabase's names, so the same policies run there). */
const GROUP_ROLES = ['anon', 'authenticated', 'service_role'];
/**
 * Roles the first committed migration grants (`grant anon, authenticated to
 * heimdex_authenticator`, `grant heimdex_worker to current_user`): without
 * CREATEROLE the owner needs ADMIN OPTION on exactly these. It adds nothing
 * the owner could not already do with the tables it owns, and reaches no
 * built-in role (pg_execute_server_program and the like need CREATEROLE or
 * ADMIN on them).
 */
const OWNER_ADMIN_OF = ['anon', 'authenticated', 'heimdex_worker'];

export interface EmbeddedPaths {
  pgDir: string;
  credentialsFile: string;
  logFile: string;
}

export function embeddedPaths(config: Config): EmbeddedPaths {
  return {
    pgDir: path.join(config.dataDir, 'pg'),
    credentialsFile: path.join(config.dataDir, 'pg-credentials.json'),
    logFile: path.join(config.dataDir, 'logs', 'postgres.log'),
  };
}

const isRoot = () => process.getuid?.() === 0;

/** A PostgreSQL client or server binary of the configured major version, else whatever is on the PATH. */
export function pgBinary(config: Pick<Config, 'pgMajor'>, name: string): string {
  const versioned = `/usr/lib/postgresql/${config.pgMajor}/bin/${name}`;
  return fs.existsSync(versioned) ? versioned : name;
}

/** Runs a PostgreSQL binary as the cluster's owner: initdb refuses root. */
async function pgExec(config: Config, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const cmd = pgBinary(config, bin);
  if (isRoot()) return run('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: '/', env });
  return run(cmd, args, { env });
}

/*
 * glibc returns large freed blocks to the kernel at once (mmap for blocks
 * over 128 KB, trimming the heap top over 128 KB), so a backend touches fresh
 * pages, one page fault each, for every search's hash tables and sorts. On
 * virtual machines page faults are expensive: keeping up to 64 MB of freed
 * memory per backend made the words/tags pass of a 47k-scene search ~30%
 * faster and hybrid searches ~20% (BENCHMARKS.md). docker-compose.yml sets the same for its database.
 */
const PG_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(16 * 1024 * 1024),
};

/**
 * As root, PostgreSQL runs as the postgres user, which must be able to pass
 * through every folder above the cluster. A checkout under a 0700 folder (a
 * mktemp -d, a CI workspace) would make initdb fail with "Permission
 * denied", so such folders get the traverse bit for others: entering, not
 * listing or reading.
 */
function ensureTraversable(dir: string, log: (m: string) => void) {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(d, (mode & 0o7777) | 0o001);
      log(`allowing the postgres user to pass through ${d} (chmod o+x)`);
    }
    if (d === path.dirname(d)) break;
  }
}

export function ensureSystemPackages() {
  const res = spawnSync('bash', [path.join(ROOT_DIR, 'scripts', 'ensure-system.sh')], { stdio: 'inherit' });
  if (res.status !== 0) throw new Error('system packages are missing (see the message above)');
}

function readCredentials(file: string): Credentials | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Credentials;
  } catch {
    return undefined;
  }
}

export function urlsFor(config: Config, creds: Credentials, database = 'heimdex') {
  const base = `127.0.0.1:${config.dbPort}/${database}`;
  return {
    rootUrl: `postgres://postgres:${creds.superPassword}@${base}`,
    ownerUrl: `postgres://heimdex:${creds.ownerPassword}@${base}`,
    authUrl: `postgres://heimdex_authenticator:${creds.authenticatorPassword}@${base}`,
    workerUrl: `postgres://heimdex_worker:${creds.workerPassword}@${base}`,
    authFunctionsUrl: `postgres://heimdex_auth:${creds.authFunctionsPassword}@${base}`,
  };
}

export async function isRunning(config: Config): Promise<boolean> {
  const { pgDir } = embeddedPaths(config);
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) return false;
  try {
    await pgExec(config, 'pg_ctl', ['-D', pgDir, 'status']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates (first run) and starts the cluster, then makes sure the database and
 * roles exist. Idempotent: a second call on a running cluster only checks it.
 */
export async function startEmbedded(config: Config, log: (m: string) => void = () => {}) {
  ensureSystemPackages();
  const { pgDir, credentialsFile, logFile } = embeddedPaths(config);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  if (isRoot()) ensureTraversable(config.dataDir, log);
  let creds = readCredentials(credentialsFile);
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    creds = {
      superPassword: crypto.randomBytes(18).toString('base64url'),
      ownerPassword: crypto.randomBytes(18).toString('base64url'),
      authenticatorPassword: crypto.randomBytes(18).toString('base64url'),
    };
    fs.rmSync(pgDir, { recursive: true, force: true });
    fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
    const pwfile = path.join(config.dataDir, '.pwfile');
    fs.writeFileSync(pwfile, creds.superPassword + '\n', { mode: 0o600 });
    if (isRoot()) {
      await run('chown', ['postgres:postgres', pgDir, pwfile, path.dirname(logFile)]);
    }
    log(`initialising PostgreSQL cluster in ${pgDir}`);
    try {
      await pgExec(config, 'initdb', [
        '-D',
        pgDir,
        '-U',
        'postgres',
        '--auth=scram-sha-256',
        `--pwfile=${pwfile}`,
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
      ]);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
    fs.writeFileSync(credentialsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
  }
  if (!creds) throw new Error(`${credentialsFile} is missing; remove ${pgDir} to re-initialise the embedded database`);
  if (!creds.workerPassword || !creds.authFunctionsPassword) {
    creds.workerPassword ??= crypto.randomBytes(18).toString('base64url');
    creds.authFunctionsPassword ??= crypto.randomBytes(18).toString('base64url');
    fs.writeFileSync(credentialsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
  }
  if (isRoot()) await run('chown', ['postgres:postgres', path.dirname(logFile)]).catch(() => {});
  const started = !(await isRunning(config));
  if (started) {
    const buffersMb = sharedBuffersMb(config);
    log(`starting PostgreSQL on 127.0.0.1:${config.dbPort} (shared_buffers ${buffersMb} MB)`);
    const settings = [
      // Enough for many worker processes plus the server's pools.
      `max_connections=200`,
      `shared_buffers=${buffersMb}MB`,
    ];
    const advice = await hugePagesAdvice(config, pgDir, settings).catch(() => null);
    if (advice) log(advice);
    const opts = [
      `-p ${config.dbPort}`,
      `-k ${pgDir}`,
      `-c listen_addresses=127.0.0.1`,
      `-c shared_preload_libraries=`,
      ...settings.map((s) => `-c ${s}`),
    ].join(' ');
    await pgExec(config, 'pg_ctl', ['-D', pgDir, '-l', logFile, '-o', opts, '-w', '-t', '60', 'start'], {
      ...process.env,
      ...PG_MALLOC_ENV,
    });
  }
  const urls = urlsFor(config, creds);
  await ensureDatabase(urls.rootUrl.replace(/\/heimdex$/, '/postgres'), 'heimdex', creds);
  if (started)
    void prewarmSearch(urls.rootUrl, { background: true }).then(
      (pages) => pages > 0 && log(`search indexes read into PostgreSQL's cache (${Math.round(pages / 128)} MB)`),
      (e: Error) => log(`search indexes not read ahead: ${e.message}`),
    );
  return urls;
}

/*
 * Every backend maps the shared buffers it reads into its own page table, one
 * page fault per 4 kB page the first time; a search walks HNSW pages spread
 * over gigabytes, so on a fresh connection most of its time went to those
 * faults (about 8 us each on this project's virtual machines): a 47k-scene
 * user's hybrid search measured 78 ms p50 / 121 ms p95 on 4 kB pages and
 * 44 / 49 on 2 MB huge pages (BENCHMARKS.md). PostgreSQL uses huge pages by
 * itself (huge_pages=try) when the kernel has enough reserved, which only the
 * machine's administrator can do, so the cluster says how many it needs.
 */
async function hugePagesAdvice(config: Config, pgDir: string, settings: string[]): Promise<string | null> {
  let meminfo: string;
  try {
    meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return null; // not Linux: huge pages work differently there
  }
  // Asked of the stopped cluster with the settings it will start with.
  const { stdout } = await pgExec(config, 'postgres', [
    '-D',
    pgDir,
    '-C',
    'shared_memory_size_in_huge_pages',
    ...settings.flatMap((s) => ['-c', s]),
  ]);
  return hugePageShortfall(Number(stdout.trim()), meminfo);
}

/**
 * What to tell an operator whose kernel has fewer free huge pages than
 * PostgreSQL's shared memory needs: PostgreSQL then uses none at all. Null
 * when there are enough, or when /proc/meminfo shows no huge page support.
 */
export function hugePageShortfall(needed: number, meminfo: string): string | null {
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? NaN);
  const total = field('HugePages_Total');
  // Reserved pages count as free until touched, but belong to whoever reserved them.
  const free = Math.max(0, field('HugePages_Free') - (field('HugePages_Rsvd') || 0));
  const sizeKb = field('Hugepagesize');
  if (!(needed > 0) || !Number.isFinite(total) || !Number.isFinite(free) || !(sizeKb > 0) || free >= needed)
    return null;
  const mb = (pages: number) => Math.round((pages * sizeKb) / 1024);
  return (
    `PostgreSQL's shared memory (${mb(needed)} MB) goes on 4 kB pages: the kernel has ${free} free huge pages of ` +
    `${sizeKb / 1024} MB, it needs ${needed}. Searches of large libraries run up to twice as fast on huge pages ` +
    `(BENCHMARKS.md). To set them aside (that memory is then reserved for them): ` +
    `sudo sysctl -w vm.nr_hugepages=${total - free + needed}, then heimdex db stop and start again.`
  );
}

/**
 * shared_buffers for the embedded cluster: HEIMDEX_DB_SHARED_BUFFERS_MB, or
 * a quarter of the machine's memory between 128 MB and 8 GB. Searches walk
 * HNSW pages scattered over gigabytes; with PostgreSQL's default of 128 MB
 * they come from the kernel's page cache instead, which virtual machines
 * that hand idle memory back to their host reclaim (this one's kernel drops
 * file pages unused for a minute), so the first searches after a pause read
 * them from disk. Shared memory is not reclaimed that way.
 */
export function sharedBuffersMb(config: Pick<Config, 'dbSharedBuffersMb'>, totalBytes = os.totalmem()): number {
  if (config.dbSharedBuffersMb > 0) return config.dbSharedBuffersMb;
  return Math.min(8192, Math.max(128, Math.floor(totalBytes / 4 / 2 ** 20)));
}

/**
 * Reads what search walks into shared_buffers, most valuable first, within
 * budgetMb (by default three quarters of the server's own shared_buffers: at
 * 100k scenes all of search's 3.2 GB then fits in the 6 GB a 24 GB machine
 * gets, leaving the rest for the pages everything else reads and writes;
 * asked of the server, so it holds for a cluster started with any setting):
 * the HNSW indexes, the schema's other indexes (with the one every
 * read of the scenes' TOAST goes through), the scenes with their TOAST (the
 * vectors candidates are scored by), then the other tables. Otherwise each
 * page is first read by some search, from disk when the kernel has dropped
 * it meanwhile: at 100k scenes new searches after five idle minutes measured
 * 103-134 ms p50 without this and 67-87 with it (BENCHMARKS.md). The first
 * relation that does not fit is read up to the budget (at 300k scenes the
 * image HNSW index, 2.3 GB, after the text one: most of a walk's pages then
 * hit) and everything after it is skipped. pg_prewarm ships with PostgreSQL's contrib
 * modules; its function is declared for this session only (pg_temp), so the
 * schema gains no extension. Returns the pages read (0 before the migrations).
 */
export async function prewarmSearch(rootDbUrl: string, opts: { budgetMb?: number; background?: boolean } = {}) {
  const client = new pg.Client({ connectionString: rootDbUrl });
  // A cluster stopped mid-read fails the query (reported to the caller); the
  // connection's own 'error' that follows must not become an uncaught one.
  client.on('error', () => {});
  await client.connect();
  // In the background it must not keep a short command (db migrate) running:
  // if the process exits first, the server finishes the read on its own.
  if (opts.background) (client as unknown as { connection: { stream: { unref(): void } } }).connection.stream.unref();
  try {
    await client.query(
      `create function pg_temp.prewarm(regclass, text default 'buffer', text default 'main', int8 default null, int8 default null)
       returns int8 as '$libdir/pg_prewarm', 'pg_prewarm' language c`,
    );
    const { rows } = await client.query<{ pages: string }>(
      `with rels(rel, tier) as (
         select c.oid, case when c.relkind = 'i' and a.amname = 'hnsw' then 0
                            when c.relkind = 'i' then 1
                            when c.oid = to_regclass('app_public.scenes') then 2
                            else 3 end
           from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_am a on a.oid = c.relam
          where n.nspname in ('app_public', 'app_hidden') and c.relkind in ('r', 'i')
         union all
         -- The scenes' TOAST (their vectors) and the index every read of it goes through.
         select t.oid, case when t.relkind = 'i' then 1 else 2 end
           from pg_class s join pg_class t
             on t.oid = s.reltoastrelid or t.oid in (select indexrelid from pg_index where indrelid = s.reltoastrelid)
          where s.oid = to_regclass('app_public.scenes')
       ), sized as (
         select rel, pg_relation_size(rel) as size,
                sum(pg_relation_size(rel)) over (order by tier, pg_relation_size(rel) desc, rel) as upto
           from rels
       ), budget as (
         select coalesce($1::int8 * 1048576, pg_size_bytes(current_setting('shared_buffers')) * 3 / 4) as b,
                current_setting('block_size')::int8 as block
       )
       select coalesce(sum(case when upto <= b then pg_temp.prewarm(rel)
                                else pg_temp.prewarm(rel::regclass, 'buffer', 'main', 0, floor((b - (upto - size)) / block)::int8 - 1)
                           end), 0) as pages
         from sized, budget
        where upto <= b or b - (upto - size) >= block`,
      [opts.budgetMb === undefined ? null : Math.floor(opts.budgetMb)],
    );
    return Number(rows[0]!.pages);
  } finally {
    await client.end();
  }
}

/**
 * Creates (or brings up to date) every role and one database owned by
 * heimdex. Run as the superuser, so it also converges a cluster made by an
 * older version: the owner loses CREATEROLE, the worker and auth roles gain
 * their logins. Passwords are (re)set each time from the credentials file.
 */
export async function ensureDatabase(rootDbUrl: string, database: string, creds: Credentials) {
  const client = new pg.Client({ connectionString: rootDbUrl });
  await client.connect();
  try {
    const lit = (s: string) => client.escapeLiteral(s);
    const has = async (q: string, v: unknown[]) => (await client.query(q, v)).rowCount! > 0;
    // Role creation is cluster-wide, so two test runs may race; a lost race is fine.
    const tolerate = (e: { code?: string }) => {
      if (e.code !== '42710' && e.code !== '23505' && e.code !== '42P04' && e.code !== 'XX000') throw e;
    };
    const ensureRole = async (name: string, attrs: string) => {
      if (!(await has('select 1 from pg_roles where rolname = $1', [name]))) {
        await client.query(`create role ${name} ${attrs}`).catch(tolerate);
      }
      await client.query(`alter role ${name} ${attrs}`).catch(tolerate);
    };
    for (const r of GROUP_ROLES) await ensureRole(r, 'nologin noinherit');
    await ensureRole('heimdex', `login nocreaterole nosuperuser nobypassrls password ${lit(creds.ownerPassword)}`);
    await ensureRole('heimdex_authenticator', `login noinherit password ${lit(creds.authenticatorPassword)}`);
    if (creds.workerPassword)
      await ensureRole('heimdex_worker', `login noinherit password ${lit(creds.workerPassword)}`);
    if (creds.authFunctionsPassword)
      await ensureRole('heimdex_auth', `login noinherit password ${lit(creds.authFunctionsPassword)}`);
    await client.query('grant anon, authenticated to heimdex_authenticator').catch(tolerate);
    await client.query(`grant ${OWNER_ADMIN_OF.join(', ')} to heimdex with admin option`).catch(tolerate);
    if (!(await has('select 1 from pg_database where datname = $1', [database]))) {
      await client.query(`create database ${client.escapeIdentifier(database)} owner heimdex`).catch(tolerate);
    }
  } finally {
    await client.end();
  }
  // Extensions that need a superuser are created here; the migrations then
  // only "create extension if not exists", which a hosted owner role can do.
  const db = new pg.Client({ connectionString: rootDbUrl.replace(/\/[^/]*$/, `/${database}`) });
  await db.connect();
  try {
    await db
      .query(
        'create extension if not exists vector; create extension if not exists pgcrypto; create extension if not exists pg_trgm; create extension if not exists unaccent;',
      )
      .catch((e) => {
        if (e.code !== '23505' && e.code !== '42710') throw e;
      });
  } finally {
    await db.end();
  }
}

/**
 * A throwaway database in the embedded cluster (started if needed), with the
 * roles and superuser-only extensions in place, for the test template,
 * benchmarks and schema dumps. The caller migrates it and calls drop().
 */
export async function createScratchDatabase(
  config: Config,
  prefix: string,
  log?: (m: string) => void,
  /** A fixed name: the database is kept and reused by the next call (a seeded benchmark database). */
  fixedName?: string,
) {
  const urls = await startEmbedded(config, log);
  const name = fixedName ? `${prefix}_${fixedName}` : `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  const rootDbUrl = urls.rootUrl.replace(/\/heimdex$/, '/postgres');
  await ensureDatabase(rootDbUrl, name, readCredentials(embeddedPaths(config).credentialsFile)!);
  const at = (url: string) => url.replace(/\/heimdex$/, `/${name}`);
  return {
    name,
    rootDbUrl,
    /** The superuser in this database (prewarmSearch). */
    rootUrl: at(urls.rootUrl),
    ownerUrl: at(urls.ownerUrl),
    authUrl: at(urls.authUrl),
    workerUrl: at(urls.workerUrl),
    authFunctionsUrl: at(urls.authFunctionsUrl),
    async drop() {
      const c = new pg.Client({ connectionString: rootDbUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${c.escapeIdentifier(name)} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function stopEmbedded(config: Config): Promise<boolean> {
  const { pgDir } = embeddedPaths(config);
  if (!(await isRunning(config))) return false;
  await pgExec(config, 'pg_ctl', ['-D', pgDir, '-m', 'fast', '-w', 'stop']);
  return true;
}

export function readEmbeddedCredentials(config: Config) {
  return readCredentials(embeddedPaths(config).credentialsFile);
}
