/*
 * Whisper's timestamp rule, without the softmax over the whole vocabulary.
 *
 * On every decoding step with timestamps, transformers.js's
 * WhisperTimeStampLogitsProcessor asks whether the probability mass of all
 * timestamp tokens together beats the single most likely text token, and
 * if so forbids text. It answers by computing log_softmax over every logit
 * (51,865 for Whisper), then exp again over the 1,501 timestamps: three
 * passes and two new arrays a token, ~2.7 ms on a 2-core Zen 1 VM against a
 * ~17 ms decoder step (BENCHMARKS.md). Both sides of the comparison are
 * log-probabilities under one normaliser, which cancels:
 *
 *   log Σ_ts softmax(x) > max_text log softmax(x)  ⇔  logsumexp(x_ts) > max(x_text)
 *
 * so one pass for the text maximum and one over the timestamps decide the
 * same thing. Everything else the processor does (the pairing of timestamps,
 * the first-token rule) is kept as the library writes it.
 */
import { WhisperTimeStampLogitsProcessor } from '@huggingface/transformers';

interface TimestampRule {
  eos_token_id: number;
  no_timestamps_token_id: number;
  timestamp_begin: number;
  begin_index: number;
  max_initial_timestamp_index: number | null;
}

type Row = { data: Float32Array };

/** The library's `_call`, kept so the tests can compare the two on the same input. */
export const libraryTimestampRule: (this: unknown, ids: bigint[][], logits: unknown) => unknown = (
  WhisperTimeStampLogitsProcessor.prototype as any
)._call;

/** logsumexp(x_ts) > max(x_text), as in the comment at the top. */
export function timestampsWin(logits: Float32Array, timestampBegin: number): boolean {
  let maxText = -Infinity;
  for (let j = 0; j < timestampBegin; j++) if (logits[j]! > maxText) maxText = logits[j]!;
  let maxTs = -Infinity;
  for (let j = timestampBegin; j < logits.length; j++) if (logits[j]! > maxTs) maxTs = logits[j]!;
  // Every timestamp forbidden: their mass is 0, which never beats a token (nor -Infinity).
  if (maxTs === -Infinity) return false;
  let sum = 0;
  for (let j = timestampBegin; j < logits.length; j++) sum += Math.exp(logits[j]! - maxTs);
  return maxTs + Math.log(sum) > maxText;
}

function timestampRule(this: TimestampRule, ids: bigint[][], logits: Row[]): Row[] {
  for (let i = 0; i < ids.length; ++i) {
    const data = logits[i]!.data;
    data[this.no_timestamps_token_id] = -Infinity;
    if (ids[i]!.length === this.begin_index) {
      data.subarray(0, this.timestamp_begin).fill(-Infinity);
      continue;
    }
    const seq = ids[i]!.slice(this.begin_index);
    const lastWasTimestamp = seq.length >= 1 && seq[seq.length - 1]! >= this.timestamp_begin;
    const penultimateWasTimestamp = seq.length < 2 || seq[seq.length - 2]! >= this.timestamp_begin;
    if (lastWasTimestamp) {
      if (penultimateWasTimestamp) data.subarray(this.timestamp_begin).fill(-Infinity);
      else data.subarray(0, this.eos_token_id).fill(-Infinity);
    }
    // (The library's max_initial_timestamp_index branch sits behind the `continue` above and never runs.)
    if (timestampsWin(data, this.timestamp_begin)) data.subarray(0, this.timestamp_begin).fill(-Infinity);
  }
  return logits;
}

/** Replaces the processor's rule for every Whisper decode in this process; idempotent. */
export function useFastTimestampRule(): void {
  (WhisperTimeStampLogitsProcessor.prototype as any)._call = timestampRule;
}
