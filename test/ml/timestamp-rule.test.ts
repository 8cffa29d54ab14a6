/*
 * Whisper's timestamp rule without the full softmax (worker/ml/timestamp-rule.ts)
 * against the library's own rule, on the same logits and token histories.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor, WhisperTimeStampLogitsProcessor } from '@huggingface/transformers';
import { libraryTimestampRule, timestampsWin, useFastTimestampRule } from '../../worker/ml/timestamp-rule.ts';

// Whisper's multilingual vocabulary: 50,257 text tokens, specials up to <|notimestamps|>, then 1,501 timestamps.
const EOS = 50257;
const NO_TIMESTAMPS = 50363;
const TS = NO_TIMESTAMPS + 1;
const V = TS + 1501;
const INIT = [50258n, 50259n, 50359n]; // <|startoftranscript|><|en|><|transcribe|>

let seed = 11;
const uniform = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const gauss = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());

/** A batch of two rows of logits with a spread like a real decoder's, timestamps shifted by `shift`. */
function logits(shift: number): Tensor {
  const data = new Float32Array(2 * V);
  for (let r = 0; r < 2; r++)
    for (let j = 0; j < V; j++) data[r * V + j] = 3 * gauss() + (j >= TS ? shift : 0) + (j === 1000 + r ? 12 : 0);
  return new Tensor('float32', data, [2, V]);
}

function processor(): any {
  return new WhisperTimeStampLogitsProcessor(
    { eos_token_id: EOS, no_timestamps_token_id: NO_TIMESTAMPS, max_initial_timestamp_index: 50 } as any,
    INIT.map(Number),
  );
}

// Token histories after the prompt: none (first step), text, one timestamp, a closed pair, text after a pair.
const histories: bigint[][] = [
  [],
  [400n, 401n],
  [BigInt(TS + 10)],
  [BigInt(TS + 10), 400n, BigInt(TS + 40)],
  [BigInt(TS + 10), 400n, BigInt(TS + 40), BigInt(TS + 40)],
  [BigInt(TS + 10), 400n, 401n],
];

test('the rule masks exactly what the library masks, whichever side wins', () => {
  const rule = processor();
  useFastTimestampRule();
  assert.notEqual(rule._call, libraryTimestampRule, "installed in place of the library's rule");
  let textForbidden = 0;
  let textAllowed = 0;
  for (const shift of [-12, -8, -6, -4, -2, 0, 4]) {
    for (const h of histories) {
      const ids = [
        [...INIT, ...h],
        [...INIT, ...h],
      ];
      const a = logits(shift);
      const b = new Tensor('float32', (a.data as Float32Array).slice(), a.dims);
      libraryTimestampRule.call(rule, ids, a);
      rule._call(ids, b);
      assert.deepEqual(b.data, a.data, `shift ${shift}, history ${h.join(' ')}`);
      for (let r = 0; r < 2; r++) {
        if ((a.data as Float32Array)[r * V + 1000 + r] === -Infinity) textForbidden++;
        else textAllowed++;
      }
    }
  }
  // Both outcomes happened, so the comparison decided something.
  assert.ok(textForbidden > 10 && textAllowed > 10, `${textForbidden} forbidden, ${textAllowed} allowed`);
});

test('timestampsWin compares the timestamps’ mass with the best text token', () => {
  const row = new Float32Array(6).fill(-Infinity);
  // Text tokens 0..2, timestamps 3..5.
  row[0] = 1;
  row[3] = 0.5;
  assert.equal(timestampsWin(row, 3), false);
  row[4] = 0.5; // e^0.5 + e^0.5 = e^(0.5 + ln 2) = e^1.19 > e^1
  assert.equal(timestampsWin(row, 3), true);
  row.fill(-Infinity, 3);
  assert.equal(timestampsWin(row, 3), false, 'no timestamp allowed: text stays');
  row.fill(-Infinity);
  row[5] = -1000; // every text token forbidden: any timestamp wins, even far below zero
  assert.equal(timestampsWin(row, 3), true);
  // Large logits do not overflow.
  row.fill(800, 0, 3);
  row.fill(799, 3);
  assert.equal(timestampsWin(row, 3), true, 'three timestamps one below three text tokens: 799 + ln 3 > 800');
});
