/*
 * docker-compose.yml cannot run on this machine (no docker engine), so it is
 * checked against the code instead: commands it runs exist in the CLI, every
 * variable it passes is a real option or documented, secrets come from .env,
 * images are pinned, and the data that must survive lives in volumes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig, OPTIONS, ROOT_DIR } from '../core/config.ts';
import { forWorker } from '../core/malloc-env.ts';
import { runCli } from './cli/run-cli.ts';

const require = createRequire(import.meta.url);
// js-yaml is already installed (a dependency of our dependencies); no new package for one test.
const yaml = require('js-yaml') as { load(s: string): unknown };

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] | string };
  restart?: string;
  mem_limit?: string;
  shm_size?: string;
  depends_on?: Record<string, { condition: string }>;
}

const composeText = fs.readFileSync(path.join(ROOT_DIR, 'docker-compose.yml'), 'utf8');
const compose = yaml.load(composeText) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const envExampleText = fs.readFileSync(path.join(ROOT_DIR, '.env.example'), 'utf8');
const optionNames = new Set<string>(OPTIONS.map((o) => o.env));

/** .env.example as a map, plus which keys have a comment (their documentation) right above them. */
function parseEnvExample(text: string) {
  const values = new Map<string, string>();
  const documented = new Set<string>();
  let commented = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) commented = true;
    else if (/^[A-Z0-9_]+=/.test(line)) {
      const [k, ...v] = line.split('=');
      values.set(k!, v.join('='));
      if (commented) documented.add(k!);
    } else commented = false;
  }
  return { values, documented };
}
const envExample = parseEnvExample(envExampleText);

/** Every ${VAR}, ${VAR:-default}, ${VAR:?message} in the compose file. */
function interpolations(text: string) {
  const out: { name: string; op: string | undefined }[] = [];
  for (const m of text.replace(/\$\$/g, '').matchAll(/\$\{([A-Z0-9_]+)(?:(:?[-?])[^}]*)?\}/g))
    out.push({ name: m[1]!, op: m[2] });
  return out;
}

/** What compose would substitute, given the values of .env.example. */
function substitute(value: string, env: Map<string, string>): string {
  return value
    .replace(
      /\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g,
      (_, name: string, op: string | undefined, arg: string | undefined) => {
        const v = env.get(name);
        if (v !== undefined && v !== '') return v;
        if (op === '-') return arg ?? '';
        throw new Error(`\${${name}} is required but not set`);
      },
    )
    .replace(/\$\$/g, '$');
}

const appServices = Object.entries(services).filter(([, s]) => s.image?.startsWith('heimdex:'));
// The variables third-party images read themselves (their own documentation),
// or that our first-start script for the db reads.
const imageVariables: Record<string, string> = {
  POSTGRES_USER: 'postgres image',
  POSTGRES_PASSWORD: 'postgres image',
  POSTGRES_DB: 'postgres image',
  MINIO_ROOT_USER: 'minio image',
  MINIO_ROOT_PASSWORD: 'minio image',
  HEIMDEX_DB_PASSWORD: 'docker/db-init/10-heimdex.sh',
  AUTHENTICATOR_PASSWORD: 'docker/db-init/10-heimdex.sh',
  WORKER_DB_PASSWORD: 'docker/db-init/10-heimdex.sh',
  AUTH_FUNCTIONS_DB_PASSWORD: 'docker/db-init/10-heimdex.sh',
  // glibc's malloc, in the postgres image's processes (core/embedded-pg.ts sets the same).
  MALLOC_MMAP_THRESHOLD_: 'glibc',
  MALLOC_TRIM_THRESHOLD_: 'glibc',
  MALLOC_TOP_PAD_: 'glibc',
  // glibc's malloc in the worker: the settings `npm start` gives its worker (core/malloc-env.ts).
  GLIBC_TUNABLES: 'glibc',
};

test('the expected services exist, and the app services are built from docker/Dockerfile', () => {
  for (const name of ['db', 'minio', 'bucket', 'migrate', 'models', 'server', 'worker'])
    assert.ok(services[name], `service ${name} is missing`);
  assert.deepEqual(appServices.map(([n]) => n).sort(), ['migrate', 'models', 'server', 'worker']);
  for (const [name, s] of appServices)
    assert.deepEqual(s.build, { context: '.', dockerfile: 'docker/Dockerfile' }, name);
  assert.ok(fs.existsSync(path.join(ROOT_DIR, 'docker/Dockerfile')));
});

test('every app service runs an existing heimdex command', async () => {
  for (const [name, s] of appServices) {
    assert.ok(Array.isArray(s.command), `${name}: command should be an exec-form list`);
    const r = await runCli([...(s.command as string[]), '--help']);
    assert.equal(
      r.code,
      0,
      `${name}: "heimdex ${(s.command as string[]).join(' ')}" is not a CLI command: ${r.stderr}`,
    );
    assert.match(r.stdout, new RegExp(`^Usage: heimdex ${(s.command as string[]).join(' ')}`), name);
  }
});

test('app services pass only real configuration options; other variables are ones their image or script reads', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const key of Object.keys(s.environment ?? {})) {
      if (appServices.some(([n]) => n === name)) {
        assert.ok(
          optionNames.has(key) || imageVariables[key] === 'glibc',
          `${name}: ${key} is not an option in core/config.ts`,
        );
      } else {
        assert.ok(
          optionNames.has(key) || key in imageVariables,
          `${name}: ${key} is neither an option nor a documented image variable`,
        );
      }
    }
  }
  const initScript = fs.readFileSync(path.join(ROOT_DIR, 'docker/db-init/10-heimdex.sh'), 'utf8');
  for (const [k, where] of Object.entries(imageVariables)) {
    if (where.startsWith('docker/')) assert.ok(initScript.includes(`$${k}`), `the db init script should read ${k}`);
  }
});

test("the worker's malloc settings are the ones npm start gives its worker; the server keeps the image's", () => {
  assert.equal(services.worker!.environment!.GLIBC_TUNABLES, forWorker({}).GLIBC_TUNABLES);
  assert.equal(services.server!.environment!.GLIBC_TUNABLES, undefined);
  assert.match(
    fs.readFileSync(path.join(ROOT_DIR, 'docker/Dockerfile'), 'utf8'),
    /GLIBC_TUNABLES=glibc\.malloc\.hugetlb=1 /,
  );
});

test('every variable the compose file interpolates is documented in .env.example or has a default; required ones are in .env.example', () => {
  const refs = interpolations(composeText);
  assert.ok(refs.length > 5, 'expected the compose file to take its secrets from .env');
  for (const { name, op } of refs) {
    if (op === ':?' || op === undefined) {
      assert.ok(envExample.values.has(name), `\${${name}} is required but missing from .env.example`);
    }
    if (envExample.values.has(name))
      assert.ok(envExample.documented.has(name), `${name} in .env.example has no comment saying what it is`);
    else assert.ok(op === ':-' || optionNames.has(name), `\${${name}} is neither in .env.example nor defaulted`);
  }
  const referenced = new Set(refs.map((r) => r.name));
  for (const k of envExample.values.keys())
    assert.ok(referenced.has(k), `.env.example sets ${k}, which docker-compose.yml never uses`);
});

test('secrets are never written in the compose file itself', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      if (/PASSWORD|SECRET|_KEY$/.test(k))
        assert.match(String(v), /^\$\{[A-Z0-9_]+:\?/, `${name}: ${k} must come from .env as a required variable`);
    }
  }
});

test("the app services' environment, filled from .env.example, is a valid configuration", () => {
  for (const [name, s] of appServices) {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(s.environment ?? {})) env[k] = substitute(String(v), envExample.values);
    const cfg = loadConfig(env);
    assert.equal(cfg.storage.driver, 's3', name);
    assert.equal(cfg.env, 'production', name);
    assert.equal(cfg.models.dir, '/models', name);
    // Each service holds only the logins it uses (README, "Database roles"):
    // the owner password reaches the migrate step alone.
    const logins = {
      databaseUrl: cfg.databaseUrl,
      authDatabaseUrl: cfg.authDatabaseUrl,
      workerDatabaseUrl: cfg.workerDatabaseUrl,
      authFunctionsDatabaseUrl: cfg.authFunctionsDatabaseUrl,
    };
    const url = (role: string) => new RegExp(`^postgres://${role}:[^@]+@db:5432/heimdex$`);
    const expected: Record<string, Partial<Record<keyof typeof logins, RegExp>>> = {
      migrate: { databaseUrl: url('heimdex') },
      models: {},
      server: { authDatabaseUrl: url('heimdex_authenticator'), authFunctionsDatabaseUrl: url('heimdex_auth') },
      worker: { workerDatabaseUrl: url('heimdex_worker') },
    };
    for (const [k, v] of Object.entries(logins) as [keyof typeof logins, string | undefined][]) {
      const want = expected[name]![k];
      if (want) assert.match(v ?? '', want, `${name}: ${k}`);
      else assert.equal(v, undefined, `${name} must not get ${k}`);
    }
  }
});

test('the db init script creates every role as the superuser, and the owner without CREATEROLE', () => {
  const initScript = fs.readFileSync(path.join(ROOT_DIR, 'docker/db-init/10-heimdex.sh'), 'utf8');
  for (const role of ['heimdex_authenticator', 'heimdex_worker', 'heimdex_auth'])
    assert.match(initScript, new RegExp(`^create role ${role} login noinherit password`, 'm'), role);
  for (const role of ['anon', 'authenticated', 'service_role'])
    assert.match(initScript, new RegExp(`^create role ${role} nologin noinherit;`, 'm'), role);
  assert.match(initScript, /^create role heimdex login nocreaterole password/m);
  assert.doesNotMatch(initScript, /\bcreaterole\b(?<!nocreaterole)/);
  assert.match(initScript, /^grant anon, authenticated to heimdex_authenticator;$/m);
  assert.match(initScript, /^grant anon, authenticated, heimdex_worker to heimdex with admin option;$/m);
});

test('every image is pinned to a version', () => {
  for (const [name, s] of Object.entries(services)) {
    if (!s.image) continue;
    const image = substitute(s.image, envExample.values);
    const tag = image.split(':')[1];
    assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: image ${image} is not pinned to a version`);
  }
  const dockerfile = fs.readFileSync(path.join(ROOT_DIR, 'docker/Dockerfile'), 'utf8');
  const from = dockerfile.match(/^FROM\s+(\S+)/m)?.[1];
  assert.match(from ?? '', /^node:22\.(1[89]|[2-9]\d)\.\d+-bookworm-slim$/, 'the app image needs Node >= 22.18 pinned');
  for (const need of ['ffmpeg', 'espeak-ng', 'ONNXRUNTIME_NODE_INSTALL=skip', 'npm ci'])
    assert.ok(dockerfile.includes(need), `Dockerfile lacks ${need}`);
});

test("the database's /dev/shm holds a parallel HNSW build of 200k scenes (1 GB), with and without .env", () => {
  const bytes = (size: string) => {
    const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(size.trim());
    assert.ok(m, `shm_size ${size} is not a size`);
    return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
  };
  const shm = services.db!.shm_size;
  assert.ok(shm, 'the db service must set shm_size: Docker gives 64 MB');
  for (const env of [envExample.values, new Map<string, string>()])
    assert.ok(bytes(substitute(shm, env)) >= 1024 ** 3, `shm_size ${substitute(shm, env)}`);
});

test('Postgres data, objects and models live in named volumes mounted where each service reads them', () => {
  for (const v of ['pgdata', 'objects', 'models']) assert.ok(v in compose.volumes, `volume ${v} is not declared`);
  assert.ok(services.db!.volumes!.includes('pgdata:/var/lib/postgresql/data'));
  const minioData = (services.minio!.command as string[])[1];
  assert.ok(
    services.minio!.volumes!.includes(`objects:${minioData}`),
    'minio must keep its data directory in the objects volume',
  );
  for (const name of ['models', 'server', 'worker']) {
    const dir = services[name]!.environment!.MODELS_DIR;
    assert.ok(
      services[name]!.volumes!.includes(`models:${dir}`),
      `${name} must mount the models volume at MODELS_DIR (${dir})`,
    );
  }
});

test('long-running services restart and report health; one-shot steps gate the server and worker', () => {
  for (const name of ['db', 'minio', 'server', 'worker']) assert.equal(services[name]!.restart, 'unless-stopped', name);
  for (const name of ['bucket', 'migrate', 'models']) assert.equal(services[name]!.restart, 'no', name);
  for (const name of ['db', 'minio', 'server']) assert.ok(services[name]!.healthcheck, `${name} has no health check`);
  assert.match(JSON.stringify(services.server!.healthcheck!.test), /\/readyz/);
  for (const name of ['server', 'worker']) {
    for (const step of ['migrate', 'bucket', 'models']) {
      assert.equal(
        services[name]!.depends_on?.[step]?.condition,
        'service_completed_successfully',
        `${name} should wait for ${step}`,
      );
    }
  }
  assert.equal(services.migrate!.depends_on?.db?.condition, 'service_healthy');
  assert.match(services.worker!.mem_limit ?? '', /^\d+g$/, 'the worker needs a memory limit sized for the models');
  assert.match(composeText, /Where 4g comes from/, 'the worker memory limit must say where its number comes from');
});
