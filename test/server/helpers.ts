/*
 * Starting the real server against a test database, and the few HTTP calls
 * every server test makes. Nothing here fakes the server: requests go over
 * real sockets to startServer on an ephemeral port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { loadConfig, ROOT_DIR, type Config } from '../../core/config.ts';
import { startServer, type StartServerOptions } from '../../server/index.ts';
import type { TestDatabase } from '../helpers/db.ts';

export interface TestServer {
  url: string;
  config: Config;
  dataDir: string;
  close(): Promise<void>;
}

/** The tiny models scripts/test.ts generates, when present. */
export const TINY_MODELS = path.join(ROOT_DIR, '.test-data', 'models');

// Registered when this module is imported, i.e. before the test file calls
// createTestDatabase: after-hooks run in registration order, so servers (and
// their LISTEN connections) close before the database is dropped under them.
const open = new Set<() => Promise<void>>();
after(async () => {
  for (const close of [...open]) await close();
});

export async function startTestServer(
  db: TestDatabase,
  env: Record<string, string> = {},
  opts: StartServerOptions = {},
): Promise<TestServer> {
  const ownDir = !env.HEIMDEX_DATA_DIR;
  const dataDir = env.HEIMDEX_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-server-'));
  const config = loadConfig({
    ...process.env,
    HEIMDEX_DATA_DIR: dataDir,
    HEIMDEX_HOST: '127.0.0.1',
    HEIMDEX_PORT: '0',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    MODELS_DIR: TINY_MODELS,
    ...env,
  });
  const srv = await startServer(config, {
    db: { authFunctionsUrl: db.authFunctionsUrl, authUrl: db.authUrl },
    ...opts,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    open.delete(close);
    await srv.close();
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  open.add(close);
  return { url: srv.url, config, dataDir, close };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, body: json };
}

export async function gql(base: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  return postJson(`${base}/graphql`, { query, variables }, token ? { authorization: `Bearer ${token}` } : {});
}

let n = 0;
export async function signup(
  base: string,
  email = `user${Date.now()}_${n++}@example.test`,
  password = 'correct horse battery',
) {
  const r = await postJson(`${base}/auth/signup`, { email, password });
  if (r.status !== 200) throw new Error(`signup failed: ${r.status} ${JSON.stringify(r.body)}`);
  return {
    email,
    password,
    token: r.body.access_token as string,
    refresh: r.body.refresh_token as string,
    id: r.body.user.id as string,
  };
}
