/*
 * How a GraphQL request reaches PostgreSQL: PostGraphile's node-postgres
 * adaptor, except for how a request's transaction opens and ends.
 *
 * The stock adaptor sends `begin`, then `select set_config(...)` for role,
 * request.jwt.claims and statement_timeout, then the request's queries, then
 * `commit`, each waiting for the one before. On this machine every round
 * trip is a wake-up of the backend and of this process; with a search that
 * takes a few milliseconds, each one is a visible share of the request
 * (BENCHMARKS.md, "The API's own time"). Here:
 *
 * - `begin` and the settings travel as one simple-protocol message, each
 *   value quoted by node-postgres' escapeLiteral;
 * - on a pipelined pool (server/index.ts) the request's first query is
 *   written right behind that message instead of after its answer. This
 *   cannot run a query without its role or claims: `begin` comes first in
 *   the same message, so a refused setting leaves the transaction open and
 *   aborted, and what was pipelined behind it fails (25P02) without running;
 *   the request then reports the setting's own error;
 * - a read-only request (transaction_read_only, set for every GraphQL
 *   operation but a mutation) is answered without waiting for its `commit`,
 *   which cannot lose anything there; the connection goes back to the pool
 *   once the commit is done.
 *
 * Everything else (the prepared-statement cache, savepoints for nested
 * transactions, notices) is the stock adaptor's own code, which runs inside
 * the transaction opened here as it would inside one opened by a test
 * harness.
 *
 * What must not change, and test/server/pg-service.test.ts checks on real
 * pooled connections: settings are transaction-local (set_config(..., true))
 * so they end with the request, an error rolls everything back, and a
 * connection whose transaction state is unknown is discarded, never reused.
 */
import { makePgService, makeWithPgClientViaPgClientAlreadyInTransaction } from '@dataplan/pg/adaptors/pg';
import type { WithPgClient } from '@dataplan/pg';
import type pg from 'pg';

type NodePostgresPgClient = Parameters<
  Parameters<ReturnType<typeof makeWithPgClientViaPgClientAlreadyInTransaction>>[1]
>[0];

/** `begin` and `set_config(key, value, true)` for each setting, as one statement list. */
export function beginWithSettings(client: pg.ClientBase, settings: [string, string][]): string {
  const literal = (s: string) => {
    // The simple protocol sends the text as a C string: a NUL would cut it.
    if (s.includes('\u0000')) throw new Error('A request setting must not contain a NUL character');
    return client.escapeLiteral(s);
  };
  const calls = settings.map(([k, v]) => `set_config(${literal(k)}, ${literal(v)}, true)`);
  return `begin; select ${calls.join(', ')}`;
}

// The stock adaptor's one per-connection setting: JIT optimisation off (its
// comment: queries planned as costly by many function calls ran 100x slower).
const DONT_DISABLE_JIT = process.env.DATAPLAN_PG_DONT_DISABLE_JIT === '1';
const setUp = new WeakSet<pg.PoolClient>();

/** withPgClient over a pool: one round trip opens a request's transaction with its settings. */
export function makeWithPgClient(pool: pg.Pool): WithPgClient<NodePostgresPgClient> {
  const withPgClient = async <T>(
    pgSettings: Record<string, string | undefined> | null,
    callback: (client: NodePostgresPgClient) => T | Promise<T>,
  ): Promise<T> => {
    const settings = Object.entries(pgSettings ?? {}).filter((e): e is [string, string] => e[1] != null);
    const client = await pool.connect();
    // Set when the connection may be mid-transaction or broken: it is then
    // closed instead of going back to the pool with a request's settings.
    let discard: Error | undefined;
    // Set when a read-only request's commit releases the connection itself.
    let releasedByCommit = false;
    try {
      if (!setUp.has(client)) {
        if (!DONT_DISABLE_JIT) await client.query('set jit_optimize_above_cost = -1');
        setUp.add(client);
      }
      // Introspection and other setting-less work run without a transaction, as in the stock adaptor.
      if (settings.length === 0)
        return await makeWithPgClientViaPgClientAlreadyInTransaction(client, false)(null, callback);
      const opening = client.query(beginWithSettings(client, settings));
      // Its failure is read below; unobserved meanwhile, it would be reported as unhandled.
      opening.catch(() => {});
      let result: T;
      try {
        // Without pipelining, node-postgres would only queue the next query behind this one.
        if (!client.pipeline) await opening;
        result = await makeWithPgClientViaPgClientAlreadyInTransaction(client, true)(null, callback);
        await opening;
      } catch (e) {
        // A refused setting is the cause of the 25P02 that the query behind it got.
        const openError = await opening.then(
          () => null,
          (err: unknown) => err,
        );
        try {
          await client.query('rollback');
        } catch (rollbackError) {
          discard = rollbackError as Error;
        }
        throw openError ?? e;
      }
      if (pgSettings?.transaction_read_only === 'on') {
        releasedByCommit = true;
        client.query('commit').then(
          () => client.release(),
          (e: Error) => client.release(e),
        );
        return result;
      }
      try {
        await client.query('commit');
      } catch (e) {
        // A failed commit has ended the transaction (rolled back); a lost
        // connection has not told us what happened, so it is not reused.
        discard = e as Error;
        throw e;
      }
      return result;
    } finally {
      if (!releasedByCommit) client.release(discard);
    }
  };
  return Object.assign(withPgClient, { release() {} }) as WithPgClient<NodePostgresPgClient>;
}

/** PostGraphile's pg service for `pool`, with requests opened by makeWithPgClient. */
export function makeRequestPgService(options: Parameters<typeof makePgService>[0] & { pool: pg.Pool }) {
  const service = makePgService(options);
  const stock = service.adaptor;
  service.adaptor = {
    ...stock,
    // The superuser variant (watch fixtures, not used here) stays the stock one.
    createWithPgClient: (settings, variant) =>
      variant === 'SUPERUSER' ? stock.createWithPgClient(settings, variant) : makeWithPgClient(options.pool),
  };
  return service;
}
