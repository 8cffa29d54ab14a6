/*
 * The tagger's label vectors, computed once per models folder in a process
 * of their own.
 *
 * Why a process: the worker needs the SigLIP text tower only for this (the
 * API embeds queries with it, the worker never does), and loading it beside
 * the vision tower and BGE-M3 raised a worker's peak on its first video from
 * 2.3 to 2.7-2.95 GB with the production-shaped models (BENCHMARKS.md): the
 * session's memory, once freed, stays in the worker's heap. A process that
 * exits hands all of it back, so the worker never holds the text tower.
 *
 * The host is this module run as a script (`fork`); it loads the tower with
 * the same registry code the API uses and answers with the vectors.
 */
import { fork } from 'node:child_process';
import type { Config } from '../../core/config.ts';
import { withHugePages } from '../../core/malloc-env.ts';

type ModelsConfig = Pick<Config, 'models'>;
type ToHost = { models: ModelsConfig['models']; prompts: string[] };
type FromHost = { ok: true; vectors: Float32Array[] } | { ok: false; message: string };

/** The image-text tower's vectors of `prompts`, computed in a child process that exits once done. */
export function labelVectorsInChild(config: ModelsConfig, prompts: string[]): Promise<Float32Array[]> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url), [], {
      serialization: 'advanced', // Float32Arrays cross as bytes, not JSON numbers
      execArgv: [],
      env: withHugePages(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer: FromHost | null = null;
    child.on('message', (m: FromHost) => {
      answer = m;
      child.disconnect();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (answer?.ok) resolve(answer.vectors);
      else if (answer) reject(new Error(answer.message));
      else reject(new Error(`its process exited (${signal ?? `code ${code}`})`));
    });
    child.send({ models: config.models, prompts } satisfies ToHost);
  });
}

// ------------------------------------------------------------------ the host

async function host() {
  const { getModels } = await import('./index.ts');
  process.once('message', async (m: ToHost) => {
    let reply: FromHost;
    try {
      const tower = await getModels({ models: m.models }).imageTextEmbedder();
      if (!tower) throw new Error('the image-text model is not installed');
      reply = { ok: true, vectors: await tower.embed(m.prompts) };
    } catch (e) {
      reply = { ok: false, message: (e as Error).message };
    }
    // The parent disconnects once it has the answer; then this process ends.
    process.send!(reply);
  });
  process.on('disconnect', () => process.exit(0));
}

// Not awaited: host() imports index.ts, which imports this module back.
if (process.send && import.meta.filename === process.argv[1]) void host();
