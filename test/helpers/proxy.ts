/*
 * A TCP proxy in front of PostgreSQL that a test can cut and restore: while
 * cut, open connections are dropped and new ones are refused (ECONNREFUSED),
 * exactly what a process sees while the database restarts, without stopping
 * the test cluster that other test files share.
 */
import net from 'node:net';

export interface DbProxy {
  port: number;
  /** Rewrites a connection string to go through the proxy. */
  url(connectionString: string): string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startDbProxy(target: { host: string; port: number }): Promise<DbProxy> {
  const sockets = new Set<net.Socket>();
  const makeServer = () =>
    net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
  let server = makeServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  let listening = true;
  const stop = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await closed;
  };
  return {
    port,
    url(connectionString) {
      const u = new URL(connectionString);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      u.searchParams.delete('host');
      return u.toString();
    },
    cut: stop,
    async restore() {
      if (listening) return;
      server = makeServer();
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      listening = true;
    },
    close: stop,
  };
}
