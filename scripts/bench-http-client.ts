/*
 * The HTTP client of bench-search.ts --http, in a worker thread: the server
 * under test runs on the bench's main thread, and a client sharing that
 * event loop would put its own request building and response parsing into
 * every measured request, and queue behind the server under concurrency.
 * Each message asks for requests and is answered with their times (ms,
 * measured here, from sending the request to the parsed response).
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface HttpClientData {
  url: string;
  token: string;
  query: string;
}

export type HttpClientRequest =
  { kind: 'one'; words: string } | { kind: 'concurrent'; words: string[]; clients: number; seconds: number };

const { url, token, query } = workerData as HttpClientData;

async function post(q: string) {
  const started = process.hrtime.bigint();
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables: { q } }),
  });
  const json = (await res.json()) as { errors?: { message: string }[]; data?: { searchScenes: { hits: unknown[] } } };
  if (json.errors) throw new Error(`searchScenes: ${json.errors[0]!.message}`);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, hits: json.data!.searchScenes.hits.length };
}

parentPort!.on('message', async (m: HttpClientRequest) => {
  try {
    if (m.kind === 'one') {
      parentPort!.postMessage({ ok: true, times: [(await post(m.words)).ms] });
      return;
    }
    // Each client sends the next query as soon as its last one was answered.
    const times: number[] = [];
    const until = Date.now() + m.seconds * 1000;
    let next = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: m.clients }, async () => {
        while (Date.now() < until) times.push((await post(m.words[next++ % m.words.length]!)).ms);
      }),
    );
    parentPort!.postMessage({ ok: true, times, seconds: (Date.now() - t0) / 1000 });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).message });
  }
});
