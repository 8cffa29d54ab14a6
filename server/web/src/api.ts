/*
 * The page's only ways to reach Heimdex, like any other client: GraphQL over
 * HTTP, GraphQL subscriptions over one websocket (graphql-ws), and sign-in
 * through supabase-js. The access token travels in the Authorization header
 * and in the websocket's connection_init message — never in a URL.
 */
import { createClient as createSupabase, type Session, type SupabaseClient } from '@supabase/supabase-js';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

export interface AppConfig {
  authProvider: 'local' | 'supabase';
  supabaseUrl: string;
  supabaseAnonKey: string;
  graphqlUrl: string;
  uploads: { maxBytes: number; contentTypes: string[] };
}

export class GraphQLError extends Error {
  code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

export interface Api {
  config: AppConfig;
  auth: SupabaseClient['auth'];
  query<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void): () => void;
  /** Drops the websocket (after sign-out, so the next user gets a fresh connection). */
  reset(): void;
}

export async function createApi(): Promise<Api> {
  const res = await fetch('/config.json', { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET /config.json answered ${res.status}`);
  const config = (await res.json()) as AppConfig;
  const supabase = createSupabase(config.supabaseUrl, config.supabaseAnonKey, {
    auth: {
      // Kept in localStorage, so a reload keeps the session; supabase-js
      // refreshes the access token before it expires.
      persistSession: true,
      autoRefreshToken: true,
      detectSessionInUrl: false,
      storageKey: 'heimdex-auth',
    },
  });
  const auth = supabase.auth;

  // getSession() returns a refreshed session when the stored one is about to expire.
  const token = async (): Promise<string | null> => {
    const { data } = await auth.getSession();
    return data.session?.access_token ?? null;
  };

  let ws: WsClient | null = null;
  const wsUrl = config.graphqlUrl.replace(/^http/, 'ws');
  const socket = () => {
    ws ??= createWsClient({
      url: wsUrl,
      lazy: true,
      // Read on every (re)connect, so a reconnect after a refresh sends the new token.
      connectionParams: async () => {
        const t = await token();
        return t ? { authorization: `Bearer ${t}` } : {};
      },
      retryAttempts: Infinity,
      shouldRetry: () => true,
    });
    return ws;
  };

  return {
    config,
    auth,
    async query<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const t = await token();
      const r = await fetch(config.graphqlUrl, {
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
      return socket().subscribe<T>(
        { query, variables },
        {
          next: (m) => m.data && onData(m.data as T),
          error: () => {},
          complete: () => {},
        },
      );
    },
    reset() {
      void ws?.dispose();
      ws = null;
    },
  };
}

export type { Session };
