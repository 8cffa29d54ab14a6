/*
 * One face thread (./face-threads.ts): loads the networks into its own TF.js
 * and detects faces in the decoded pixels it is sent, one image at a time,
 * in the order sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadFaceNets, type FaceAnalyzerOptions } from './faces.ts';
import type { RgbImage } from './image.ts';
import type { DetectedFace } from './types.ts';

export type ToThread = { id: number; img: RgbImage } | { cancel: number };
export type FromThread =
  | { ready: true }
  | { ready: false; error: string }
  | { id: number; faces: DetectedFace[] }
  | { id: number; error: string; cancelled?: true };

const port = parentPort!;
const { modelId, opts } = workerData as { modelId: string; opts: FaceAnalyzerOptions };
const post = (m: FromThread) => port.postMessage(m);

try {
  const detect = await loadFaceNets(modelId, opts);
  if (!detect) throw new Error(`face model ${modelId}: the package's networks are gone`);
  const queue: { id: number; img: RgbImage }[] = [];
  const cancelled = new Set<number>();
  let busy = false;
  // The next image starts from setImmediate, after the messages that came
  // in meanwhile: a detection's own awaits never leave the microtask queue,
  // so a cancellation would otherwise not be read until the queue is empty.
  const pump = () => {
    if (busy || !queue.length) return;
    busy = true;
    setImmediate(async () => {
      const { id, img } = queue.shift()!;
      try {
        if (cancelled.delete(id)) post({ id, error: 'cancelled', cancelled: true });
        else post({ id, faces: await detect(img) });
      } catch (e) {
        post({ id, error: (e as Error).message });
      }
      busy = false;
      pump();
    });
  };
  port.on('message', (m: ToThread) => {
    if ('cancel' in m) {
      if (queue.some((q) => q.id === m.cancel)) cancelled.add(m.cancel);
      return;
    }
    queue.push(m);
    pump();
  });
  post({ ready: true });
} catch (e) {
  post({ ready: false, error: (e as Error).message });
}
