/*
 * The CLI as an API client: everything `ingest` and `search` do goes through
 * the running server's public HTTP API (auth, GraphQL, presigned uploads), the
 * same way any other client would, so the CLI exercises the real contract.
 *
 * The CLI signs in as one local user per data folder, created on first use
 * with a random password; its tokens live in <data>/cli-credentials.json
 * readable by the user only.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { type Readable } from 'node:stream';
import type { Config } from '../core/config.ts';
import { CliError } from './errors.ts';

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: { id: string; email: string };
}

interface StoredCredentials {
  server: string;
  email: string;
  password: string;
  accessToken?: string;
  refreshToken?: string;
  expiresAt?: number;
  userId?: string;
}

export class ApiError extends CliError {
  status: number;
  code: string | undefined;
  constructor(message: string, status: number, code?: string, hint?: string) {
    super(message, hint);
    this.status = status;
    this.code = code;
  }
}

function notRunning(base: string): CliError {
  return new CliError(`the server at ${base} is not running — start it with: npm start`);
}

function isRefused(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string; errors?: { code?: string }[] } };
  const codes = [err.code, err.cause?.code, ...(err.cause?.errors ?? []).map((x) => x.code)];
  return codes.some((c) => c === 'ECONNREFUSED' || c === 'ENOTFOUND' || c === 'EHOSTUNREACH' || c === 'ECONNRESET');
}

export class Api {
  readonly base: string;
  private readonly credFile: string;
  private creds: StoredCredentials | undefined;

  constructor(cfg: Config) {
    this.base = cfg.publicUrl;
    this.credFile = path.join(cfg.dataDir, 'cli-credentials.json');
  }

  async request<T>(method: string, route: string, body?: unknown, token?: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + route, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      if (isRefused(e)) throw notRunning(this.base);
      throw new CliError(`cannot reach ${this.base}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(`${method} ${route} answered ${res.status} with non-JSON: ${text.slice(0, 120)}`, res.status);
    }
    if (!res.ok) {
      const j = (json ?? {}) as { error?: string; message?: string; errors?: { message: string }[] };
      const msg = j.message ?? j.errors?.[0]?.message ?? j.error ?? res.statusText;
      throw new ApiError(`${method} ${route}: ${msg}`, res.status, j.error);
    }
    return json as T;
  }

  private load(): StoredCredentials | undefined {
    if (this.creds) return this.creds;
    try {
      const c = JSON.parse(fs.readFileSync(this.credFile, 'utf8')) as StoredCredentials;
      if (c.server === this.base) this.creds = c;
      else this.creds = { server: this.base, email: c.email, password: c.password };
    } catch {
      this.creds = undefined;
    }
    return this.creds;
  }

  private save(c: StoredCredentials) {
    this.creds = c;
    fs.mkdirSync(path.dirname(this.credFile), { recursive: true });
    const tmp = `${this.credFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.credFile);
    fs.chmodSync(this.credFile, 0o600);
  }

  private keep(c: StoredCredentials, t: TokenResponse) {
    this.save({
      ...c,
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: t.expires_at,
      userId: t.user?.id,
    });
    return t.access_token;
  }

  /** A valid access token: cached, refreshed, logged in again, or (first use) a new local CLI user. */
  async token(): Promise<string> {
    const c = this.load();
    const now = Math.floor(Date.now() / 1000);
    if (c?.accessToken && c.expiresAt && c.expiresAt - 30 > now) return c.accessToken;
    if (c?.refreshToken) {
      try {
        return this.keep(
          c,
          await this.request<TokenResponse>('POST', '/auth/refresh', { refresh_token: c.refreshToken }),
        );
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
    if (c) {
      try {
        return this.keep(
          c,
          await this.request<TokenResponse>('POST', '/auth/login', { email: c.email, password: c.password }),
        );
      } catch (e) {
        if (!(e instanceof ApiError) || e.status >= 500) throw e;
        // The database may have been reset since: the user is gone, so sign up again below.
        try {
          return this.keep(
            c,
            await this.request<TokenResponse>('POST', '/auth/signup', { email: c.email, password: c.password }),
          );
        } catch (e2) {
          if (!(e2 instanceof ApiError)) throw e2;
          throw new CliError(
            `not logged in: the server rejects the CLI user ${c.email} (${e.message})`,
            `remove ${this.credFile} to create a new CLI user`,
          );
        }
      }
    }
    const fresh: StoredCredentials = {
      server: this.base,
      email: `cli-${
        os
          .hostname()
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '') || 'local'
      }-${crypto.randomBytes(3).toString('hex')}@heimdex.local`,
      password: crypto.randomBytes(24).toString('base64url'),
    };
    try {
      return this.keep(
        fresh,
        await this.request<TokenResponse>('POST', '/auth/signup', { email: fresh.email, password: fresh.password }),
      );
    } catch (e) {
      if (e instanceof ApiError)
        throw new CliError(
          `not logged in: signing up the CLI user failed (${e.message})`,
          'is AUTH_PROVIDER=local on the server?',
        );
      throw e;
    }
  }

  get credentialsFile() {
    return this.credFile;
  }

  async graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const token = await this.token();
    let res: { data?: T; errors?: { message: string }[] };
    try {
      res = await this.request('POST', '/graphql', { query, variables }, token);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401)
        throw new CliError(`not logged in: ${e.message}`, `remove ${this.credFile} and try again`);
      throw e;
    }
    if (res.errors?.length) throw new CliError(res.errors.map((e) => e.message).join('; '));
    return res.data as T;
  }

  /** ws:// URL of the GraphQL endpoint for subscriptions. */
  get wsUrl() {
    return this.base.replace(/^http/, 'ws') + '/graphql';
  }
}

export interface UploadTicket {
  objectKey: string;
  method: 'PUT' | 'POST';
  url: string;
  fields: Record<string, string> | null;
  headers: Record<string, string> | null;
  expiresAt: string;
  maxBytes: number | string;
}

/**
 * Sends a file to a presigned URL, streamed (videos may be gigabytes) with an
 * exact Content-Length, which S3 requires for PUT and POST alike.
 */
export async function sendFile(ticket: UploadTicket, file: string, contentType: string, base: string): Promise<void> {
  const size = fs.statSync(file).size;
  const url = new URL(ticket.url, base);
  let headers: Record<string, string | number>;
  let parts: (Buffer | (() => Readable))[];
  if (ticket.method === 'PUT') {
    headers = { 'content-type': contentType, ...(ticket.headers ?? {}), 'content-length': size };
    parts = [() => fs.createReadStream(file)];
  } else {
    const boundary = `----heimdex${crypto.randomBytes(12).toString('hex')}`;
    const fields = { ...(ticket.fields ?? {}) };
    if (!('Content-Type' in fields) && !('content-type' in fields)) fields['Content-Type'] = contentType;
    let head = '';
    for (const [k, v] of Object.entries(fields)) {
      head += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
    }
    head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file).replace(/"/g, '')}"\r\nContent-Type: ${contentType}\r\n\r\n`;
    const pre = Buffer.from(head);
    const post = Buffer.from(`\r\n--${boundary}--\r\n`);
    headers = {
      ...(ticket.headers ?? {}),
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': pre.length + size + post.length,
    };
    parts = [pre, () => fs.createReadStream(file), post];
  }
  const lib = url.protocol === 'https:' ? https : http;
  await new Promise<void>((resolve, reject) => {
    const req = lib.request(url, { method: ticket.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode && res.statusCode < 300) resolve();
        else
          reject(
            new CliError(
              `upload of ${path.basename(file)} failed: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`,
            ),
          );
      });
    });
    req.on('error', (e) =>
      reject(
        isRefused(e)
          ? new CliError(
              `the upload endpoint ${url.origin} is not reachable (${(e as Error).message})`,
              'check S3_PUBLIC_ENDPOINT / HEIMDEX_PUBLIC_URL',
            )
          : e,
      ),
    );
    (async () => {
      for (const part of parts) {
        if (Buffer.isBuffer(part)) {
          if (!req.write(part)) await new Promise((r) => req.once('drain', r));
        } else {
          for await (const chunk of part()) {
            if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          }
        }
      }
      req.end();
    })().catch((e) => req.destroy(e as Error));
  });
}
