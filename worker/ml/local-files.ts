/*
 * Model files are read once per load.
 *
 * transformers.js (4.3.2) answers every local file it is asked about with a
 * FileResponse whose constructor opens a read stream and pushes each chunk
 * into a web stream's queue with nothing reading it. The loader then takes
 * the file another way: an ONNX file by its path (onnxruntime reads it
 * itself), a JSON file through arrayBuffer(). So the whole file was read
 * a second time into memory nobody used, held until V8 collected it, seconds
 * later and after the worker had moved on: 570 MB for BGE-M3's ONNX file,
 * 430 MB for the so400m vision tower's, on every load (BENCHMARKS.md, "Model
 * files read once"). The stream is read only when a caller asks for
 * download progress, which this project never does.
 *
 * FileResponse is not exported, so the stream itself is refused: while a
 * load runs (withEnv in index.ts; loads are serialised), fs.createReadStream
 * of a file under the models folder returns a stream that fails on its
 * first read without opening the file. A caller that did read the body
 * would get that error, not empty bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** Runs `load` with read streams of files under `dir` refused (see above). Not reentrant: loads are serialised. */
export async function withoutModelFileStreams<T>(dir: string, load: () => Promise<T>): Promise<T> {
  const real = fs.createReadStream;
  const root = path.resolve(dir) + path.sep;
  fs.createReadStream = function (file: fs.PathLike, options?: unknown) {
    const p = path.resolve(file instanceof URL ? fileURLToPath(file) : String(file));
    if (!p.startsWith(root)) return (real as (...a: unknown[]) => fs.ReadStream)(file, options);
    return new Readable({
      read() {
        this.destroy(new Error(`${p}: model files are not streamed while a model loads (worker/ml/local-files.ts)`));
      },
    }) as fs.ReadStream;
  } as typeof fs.createReadStream;
  try {
    return await load();
  } finally {
    fs.createReadStream = real;
  }
}
