/*
 * The page's only ways to reach Heimdex, like any other client: GraphQL over
 * HTTP, GraphQL subscriptions over one websocket (graphql-ws), and sign-in
 * through supabase-js. The access token travels in the Authorization header
 * and in the websocket's connection_init message — never in a URL.
 *
 * supabase-js and graphql-ws are loaded as separate chunks, started at once
 * but not awaited before the first screen: the sign-in form is usable while
 * they arrive (scripts/bench-web.ts measures the difference).
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
  /** Loaded before any signed-in page renders (they all wait for auth()). */
  readonly config: AppConfig;
  /** supabase-js's auth client, once /config.json and the library are loaded. */
  auth(): Promise<Auth>;
  /** Whether supabase-js has a session in storage (read synchronously, without waiting for it to load). */
  hasStoredSession(): boolean;
  query<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void): () => void;
  /** Drops the websocket (after sign-out, so the next user gets a fresh connection). */
  reset(): void;
}

const STORAGE_KEY = 'heimdex-auth';

export function createApi(): Api {
  let config: AppConfig | undefined;
  // index.html preloads /config.json, so this usually resolves from the preload.
  const configLoaded = fetch('/config.json').then(async (res) => {
    if (!res.ok) throw new Error(`GET /config.json answered ${res.status}`);
    config = (await res.json()) as AppConfig;
    return config;
  });
  const authReady: Promise<Auth> = Promise.all([configLoaded, import('@supabase/supabase-js')]).then(
    ([c, { createClient }]) =>
      createClient(c.supabaseUrl, c.supabaseAnonKey, {
        auth: {
          // Kept in localStorage, so a reload keeps the session; supabase-js
          // refreshes the access token before it expires.
          persistSession: true,
          autoRefreshToken: true,
          detectSessionInUrl: false,
          storageKey: STORAGE_KEY,
        },
      }).auth,
  );

  // getSession() returns a refreshed session when the stored one is about to expire.
  const token = async (): Promise<string | null> => {
    const { data } = await (await authReady).getSession();
    return data.session?.access_token ?? null;
  };

  let ws: Promise<WsClient> | null = null;
  const socket = () =>
    (ws ??= Promise.all([configLoaded, import('graphql-ws/client')]).then(([c, { createClient }]) =>
      createClient({
        url: c.graphqlUrl.replace(/^http/, 'ws'),
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
      if (!config) throw new Error('the configuration is not loaded yet');
      return config;
    },
    auth: () => authReady,
    hasStoredSession: () => {
      try {
        return localStorage.getItem(STORAGE_KEY) !== null;
      } catch {
        return true; // storage blocked: let supabase-js decide
      }
    },
    async query<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const [c, t] = await Promise.all([configLoaded, token()]);
      const r = await fetch(c.graphqlUrl, {
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
