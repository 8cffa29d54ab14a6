/*
 * LISTEN/NOTIFY for subscriptions that outlive a database restart.
 * @dataplan/pg's PgSubscriber ends every open subscription when its
 * connection drops (it cannot promise it missed nothing). Here the listening
 * connection is re-opened with backoff, every channel is LISTENed again, and
 * what changed meanwhile is replayed from the table through `catchUp`, so a
 * client sees the current state after the outage instead of a closed stream.
 */
import type { GrafastSubscriber } from 'grafast';
import type pg from 'pg';

interface Sink {
  push(payload: string): void;
}

export interface ResilientSubscriberOptions {
  pool: pg.Pool;
  /** Payloads describing what changed on `channel` since `since` (replayed after a reconnect). */
  catchUp?: (channel: string, since: Date) => Promise<string[]>;
  onDown?: (e: Error) => void;
  onUp?: () => void;
}

export class ResilientSubscriber implements GrafastSubscriber<Record<string, string>> {
  readonly #opts: ResilientSubscriberOptions;
  readonly #channels = new Map<string, Set<Sink>>();
  #client: pg.PoolClient | null = null;
  #connecting: Promise<void> | null = null;
  #lostAt: Date | null = null;
  #alive = true;
  #retry: NodeJS.Timeout | null = null;
  /** Resolves each time the listening connection is (re)established; tests wait on it. */
  connected: Promise<void>;
  #markConnected!: () => void;

  constructor(opts: ResilientSubscriberOptions) {
    this.#opts = opts;
    this.connected = new Promise((r) => (this.#markConnected = r));
  }

  subscribe(channel: string): AsyncIterableIterator<string> {
    if (!this.#alive) throw new Error('subscriber released');
    const stack: string[] = [];
    const waiting: ((r: IteratorResult<string>) => void)[] = [];
    let done = false;
    const sink: Sink = {
      push(payload) {
        const w = waiting.shift();
        if (w) w({ done: false, value: payload });
        else stack.push(payload);
      },
    };
    let set = this.#channels.get(channel);
    if (!set) {
      set = new Set();
      this.#channels.set(channel, set);
    }
    set.add(sink);
    void this.#sync();
    const finish = (): IteratorResult<string> => {
      if (!done) {
        done = true;
        const s = this.#channels.get(channel);
        s?.delete(sink);
        if (s && s.size === 0) {
          this.#channels.delete(channel);
          void this.#sync();
        }
        for (const w of waiting.splice(0)) w({ done: true, value: undefined });
      }
      return { done: true, value: undefined };
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next() {
        if (stack.length) return Promise.resolve({ done: false, value: stack.shift()! });
        if (done) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return() {
        return Promise.resolve(finish());
      },
      throw() {
        return Promise.resolve(finish());
      },
    };
  }

  #dispatch(channel: string, payload: string) {
    for (const sink of this.#channels.get(channel) ?? []) sink.push(payload);
  }

  #listened = new Set<string>();

  /** Brings LISTENs in line with open subscriptions, connecting first when needed. */
  async #sync(): Promise<void> {
    if (!this.#alive) return;
    if (!this.#client) return this.#connect();
    const client = this.#client;
    try {
      for (const ch of this.#channels.keys()) {
        if (this.#listened.has(ch)) continue;
        this.#listened.add(ch);
        await client.query(`listen ${client.escapeIdentifier(ch)}`);
      }
      for (const ch of [...this.#listened]) {
        if (this.#channels.has(ch)) continue;
        this.#listened.delete(ch);
        await client.query(`unlisten ${client.escapeIdentifier(ch)}`);
      }
    } catch (e) {
      this.#lost(client, e as Error);
    }
  }

  #connect(attempt = 0): Promise<void> {
    // A retry timer may fire after another path already reconnected.
    if (this.#client || !this.#alive) return Promise.resolve();
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#connecting ??= (async () => {
      let client: pg.PoolClient | null = null;
      try {
        client = await this.#opts.pool.connect();
        if (!this.#alive) {
          client.release();
          this.#connecting = null;
          return;
        }
        const c = client;
        c.on('notification', (n) => n.payload !== undefined && this.#dispatch(n.channel, n.payload));
        c.on('error', (e) => this.#lost(c, e));
        this.#listened.clear();
        for (const ch of this.#channels.keys()) {
          await c.query(`listen ${c.escapeIdentifier(ch)}`);
          this.#listened.add(ch);
        }
        this.#client = c;
        this.#connecting = null;
        const since = this.#lostAt;
        this.#lostAt = null;
        if (since) {
          this.#opts.onUp?.();
          for (const ch of this.#channels.keys()) {
            const missed = await this.#opts.catchUp?.(ch, since).catch(() => []);
            for (const p of missed ?? []) this.#dispatch(ch, p);
          }
        }
        this.#markConnected();
        this.connected = new Promise((r) => (this.#markConnected = r));
        // Channels subscribed while connecting.
        await this.#sync();
      } catch (e) {
        // A connection that broke while being set up is destroyed, not pooled.
        if (client && this.#client !== client) client.release(e as Error);
        this.#connecting = null;
        this.#lostAt ??= new Date();
        this.#opts.onDown?.(e as Error);
        if (!this.#alive) return;
        this.#retry = setTimeout(() => void this.#connect(attempt + 1), Math.min(10_000, 200 * 2 ** attempt));
      }
    })();
    return this.#connecting;
  }

  #lost(client: pg.PoolClient, e: Error) {
    if (this.#client !== client) return;
    this.#client = null;
    this.#lostAt ??= new Date();
    this.#listened.clear();
    this.#opts.onDown?.(e);
    // Passing the error destroys the broken connection instead of pooling it.
    client.release(e);
    if (this.#alive && this.#channels.size) void this.#connect();
  }

  release() {
    this.#alive = false;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    client?.release();
    for (const set of this.#channels.values()) for (const s of set) s.push = () => {};
    this.#channels.clear();
  }
}
