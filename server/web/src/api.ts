/*
 * The page's only ways to reach Heimdex, like any other client: GraphQL over
 * HTTP, GraphQL subscriptions over one websocket (graphql-ws), and sign-in
 * through supabase-js. The access token travels in the Authorization header
 * and in the websocket's connection_init message — never in a URL.
 *
 * The configuration (how to sign in, where the API is) comes in index.html
 * itself, rendered by the server: no request stands between the bundle and
 * the first screen. supabase-js and graphql-ws are separate chunks loaded
 * when first needed, so its 55 KB do not hold up the first screen
 * (scripts/bench-web.ts measures the difference): the sign-in form, or a
 * returning user's signed-in shell, drawn from the session supabase-js keeps
 * in localStorage. Requests use that session's access token while it has
 * long enough to live that supabase-js would use it as it is; otherwise
 * they wait for supabase-js to refresh it.
 */
import type { Session, SupabaseClient } from '@supabase/supabase-js';
import type { Client as WsClient } from 'graphql-ws/client';

export interface AppConfig {
  authProvider: 'local' | 'supabase';
  supabaseUrl: string;
  supabaseAnonKey: string;
  graphqlUrl: string;
  uploads: { maxBytes: number; contentTypes: string[] };
}

export type Auth = SupabaseClient['auth'];

export class GraphQLError extends Error {
  code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

export interface Api {
  /** Read from index.html at start. */
  readonly config: AppConfig;
  /** supabase-js's auth client; the first call loads the library. */
  auth(): Promise<Auth>;
  /** Whether supabase-js has a session in storage (read synchronously, without waiting for it to load). */
  hasStoredSession(): boolean;
  /**
   * The session supabase-js keeps in storage, read synchronously: who is
   * signed in, even when its access token must be refreshed before use.
   */
  storedSession(): StoredSession | null;
  query<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void): () => void;
  /** Drops the websocket (after sign-out, so the next user gets a fresh connection). */
  reset(): void;
}

const STORAGE_KEY = 'heimdex-auth';
// supabase-js refreshes a session when it loads, or when asked for it, once
// its access token expires within this margin (its EXPIRY_MARGIN_MS, 90 s).
// A token further from expiry is what it would hand out itself.
const REFRESH_MARGIN_MS = 90_000;

export interface StoredSession {
  session: Session;
  /** Whether supabase-js would hand out its access token as it is. */
  usable: boolean;
}

function storedSession(): StoredSession | null {
  try {
    const s = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Session> | null;
    if (typeof s?.access_token !== 'string' || typeof s.expires_at !== 'number' || typeof s.user?.id !== 'string')
      return null;
    return { session: s as Session, usable: s.expires_at * 1000 - Date.now() > REFRESH_MARGIN_MS };
  } catch {
    return null; // storage blocked or not JSON: supabase-js decides
  }
}

/**
 * The server writes the same object as GET /config.json into
 * `<meta name="heimdex-config">` of every page it serves (server/routes/web.ts).
 */
function readConfig(): AppConfig {
  const content = document.querySelector<HTMLMetaElement>('meta[name="heimdex-config"]')?.content;
  if (!content) throw new Error('the page carries no configuration (meta heimdex-config)');
  return JSON.parse(content) as AppConfig;
}

export function createApi(): Api {
  let config: AppConfig | undefined;
  let configError: Error | undefined;
  try {
    config = readConfig();
  } catch (e) {
    configError = e as Error;
  }
  const configured = (): AppConfig => {
    if (!config) throw configError!;
    return config;
  };

  let authReady: Promise<Auth> | null = null;
  let authLoaded = false;
  const auth = () =>
    (authReady ??= import('@supabase/supabase-js')
      .then(({ createClient }) => {
        const c = configured();
        authLoaded = true;
        return createClient(c.supabaseUrl, c.supabaseAnonKey, {
          auth: {
            // Kept in localStorage, so a reload keeps the session; supabase-js
            // refreshes the access token before it expires.
            persistSession: true,
            autoRefreshToken: true,
            detectSessionInUrl: false,
            storageKey: STORAGE_KEY,
          },
        }).auth;
      })
      .catch((e: unknown) => {
        authReady = null; // a failed download is tried again on the next call (e.g. the next "Log in")
        throw e;
      }));

  // getSession() returns a refreshed session when the stored one is about to
  // expire. Until supabase-js has loaded, a stored token it would not refresh
  // is used as it is (read again on every call: another tab may refresh it).
  const token = async (): Promise<string | null> => {
    const stored = authLoaded ? null : storedSession();
    if (stored?.usable) return stored.session.access_token;
    const { data } = await (await auth()).getSession();
    return data.session?.access_token ?? null;
  };

  let ws: Promise<WsClient> | null = null;
  const socket = () =>
    (ws ??= import('graphql-ws/client').then(({ createClient }) =>
      createClient({
        url: configured().graphqlUrl.replace(/^http/, 'ws'),
        lazy: true,
        // Read on every (re)connect, so a reconnect after a refresh sends the new token.
        connectionParams: async () => {
          const t = await token();
          return t ? { authorization: `Bearer ${t}` } : {};
        },
        retryAttempts: Infinity,
        shouldRetry: () => true,
      }),
    ));

  return {
    get config() {
      return configured();
    },
    auth,
    hasStoredSession: () => {
      try {
        return localStorage.getItem(STORAGE_KEY) !== null;
      } catch {
        return true; // storage blocked: let supabase-js decide
      }
    },
    storedSession,
    async query<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const t = await token();
      const r = await fetch(configured().graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await r.json().catch(() => null)) as {
        data?: T;
        errors?: { message: string; extensions?: { code?: string } }[];
        message?: string;
      } | null;
      if (body?.errors?.length) throw new GraphQLError(body.errors[0]!.message, body.errors[0]!.extensions?.code);
      if (!r.ok || !body?.data) throw new GraphQLError(body?.message ?? `The server answered ${r.status}`);
      return body.data;
    },
    subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void) {
      let stop: (() => void) | null = null;
      let stopped = false;
      void socket().then((client) => {
        if (stopped) return;
        stop = client.subscribe<T>(
          { query, variables },
          { next: (m) => m.data && onData(m.data as T), error: () => {}, complete: () => {} },
        );
      });
      return () => {
        stopped = true;
        stop?.();
      };
    },
    reset() {
      const old = ws;
      ws = null;
      void old?.then((c) => c.dispose());
    },
  };
}

export type { Session };
