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
 *
 * That leaves onnxruntime's own copies: inside the merged graph the cached
 * branch still hands each of those tensors back through an Identity, a copy
 * onnxruntime makes whether or not anyone fetches it (5.7 ms of a 17.6 ms
 * step for base on a 2-core Zen 1; BENCHMARKS.md). Optimum exports the later
 * steps' decoder on its own too, decoder_with_past_model, which takes the
 * cross-attention keys and values as inputs and returns nothing of them.
 * Where the model folder has it, the merged decoder's cached steps run there;
 * the first step, which computes them, stays with the merged decoder.
 */

/** The part of an onnxruntime InferenceSession this needs (transformers.js's sessions are onnxruntime-node's). */
export interface DecoderSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>, fetches?: unknown, options?: unknown): Promise<Record<string, unknown>>;
}

const PASSED_THROUGH = /^present\.\d+\.encoder\.(key|value)$/;

type Run = DecoderSession['run'];

/** A merged decoder's outputs less the passed-through ones; null for a session without a cache branch. */
function changingOutputs(session: DecoderSession): string[] | null {
  if (!session.inputNames.includes('use_cache_branch')) return null;
  return session.outputNames.filter((n) => !PASSED_THROUGH.test(n));
}

/**
 * Runs the session's cached steps through `cached` (given the session's own
 * run). A caller that names its own fetches (or passes run options in their
 * place) gets what it asked for, and the first step is left as it is.
 */
function onCachedSteps(
  session: DecoderSession,
  cached: (run: Run, feeds: Record<string, unknown>, options: unknown) => ReturnType<Run>,
): void {
  const run = session.run.bind(session);
  session.run = (feeds, fetches, options) => {
    const step = (feeds.use_cache_branch as { data?: ArrayLike<unknown> } | undefined)?.data?.[0];
    return fetches === undefined && step ? cached(run, feeds, options) : run(feeds, fetches, options);
  };
}

/**
 * Makes `session.run` leave out the cross-attention outputs on the steps
 * that only pass them through. A session without them (another export, a
 * decoder without a cache branch) is left as it is.
 */
export function skipPassedThroughOutputs(session: DecoderSession | undefined): void {
  const changing = session && changingOutputs(session);
  if (!changing || changing.length === session.outputNames.length) return;
  onCachedSteps(session, (run, feeds, options) => run(feeds, changing, options));
}

/**
 * Sends the merged decoder's cached steps to `withPast`, Optimum's decoder
 * for those steps, when it fits: every input it takes is one the merged
 * decoder takes, and it returns exactly the outputs that change. Returns
 * false, changing nothing, when it does not fit (another export's layout).
 */
export function decodeCachedStepsWith(merged: DecoderSession, withPast: DecoderSession): boolean {
  const changing = new Set(changingOutputs(merged) ?? []);
  const fits =
    changing.size > 0 &&
    withPast.outputNames.length === changing.size &&
    withPast.outputNames.every((n) => changing.has(n)) &&
    withPast.inputNames.every((n) => merged.inputNames.includes(n));
  if (!fits) return false;
  onCachedSteps(merged, (_run, feeds, options) => {
    const own: Record<string, unknown> = {};
    for (const n of withPast.inputNames) own[n] = feeds[n];
    return withPast.run(own, undefined, options);
  });
  return true;
}
