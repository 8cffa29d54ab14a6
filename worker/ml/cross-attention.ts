/*
 * Whisper's merged decoder, as Optimum exports it (the hub's ONNX files and
 * the cost stand-ins alike), returns the cross-attention keys and values on
 * every step: computed from the encoder's output on the first, and on every
 * later step (use_cache_branch true) the very tensors it was given, passed
 * through an Identity. transformers.js keeps the ones it passed in and drops
 * these (getPastKeyValues), but by then onnxruntime-node has copied each into
 * a new JavaScript buffer: for whisper-base twelve tensors of 3 MB per
 * generated token, allocated, copied and left to the garbage collector. That
 * was a third of Whisper's time, and with glibc's mmap threshold fixed each
 * buffer became a fresh mapping and Whisper took three times as long
 * (BENCHMARKS.md). Asking onnxruntime only for the outputs that change makes
 * the decoding the same, token for token, without the copies.
 */

/** The part of an onnxruntime InferenceSession this needs (transformers.js's sessions are onnxruntime-node's). */
export interface DecoderSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>, fetches?: unknown, options?: unknown): Promise<Record<string, unknown>>;
}

const PASSED_THROUGH = /^present\.\d+\.encoder\.(key|value)$/;

/**
 * Makes `session.run` leave out the cross-attention outputs on the steps
 * that only pass them through. A session without them (another export, a
 * decoder without a cache branch) is left as it is.
 */
export function skipPassedThroughOutputs(session: DecoderSession | undefined): void {
  if (!session?.inputNames.includes('use_cache_branch')) return;
  const changing = session.outputNames.filter((n) => !PASSED_THROUGH.test(n));
  if (changing.length === session.outputNames.length) return;
  const run = session.run.bind(session);
  session.run = (feeds, fetches, options) => {
    const cached = (feeds.use_cache_branch as { data?: ArrayLike<unknown> } | undefined)?.data?.[0];
    // A caller that names its own fetches (or passes run options in their place) gets what it asked for.
    return fetches === undefined && cached ? run(feeds, changing, options) : run(feeds, fetches, options);
  };
}
