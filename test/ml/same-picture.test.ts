/*
 * What counts as the same picture for the vision tower (worker/ml/same-picture.ts),
 * on model inputs built here: SigLIP's normalisation ((x / 255 - 0.5) / 0.5)
 * at 256 × 256.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BLOCK, samePicture, sketch, TOLERANCE_LEVELS } from '../../worker/ml/same-picture.ts';

const S = 256;
const dims = [1, 3, S, S] as const;
const levelsPerUnit = [0.5 * 255, 0.5 * 255, 0.5 * 255];

/** A model input from 8-bit RGB levels given per pixel. */
function input(level: (c: number, y: number, x: number) => number): Float32Array {
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) out[c * S * S + y * S + x] = (level(c, y, x) / 255 - 0.5) / 0.5;
  return out;
}

// A slide: white, with dark lines of "text".
const slide = (c: number, y: number, x: number) => (y % 24 < 8 && x > 20 && x < 230 ? 30 + c : 245);
const base = sketch(input(slide), dims, levelsPerUnit);

// A fixed pseudo-random sequence, so the test reads the same every run.
let seed = 7;
const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;

describe('the same picture', () => {
  test('block means come back in 8-bit levels', () => {
    assert.equal(base.means.length, 3 * (S / BLOCK) ** 2);
    // Block (0, 0) of channel 0 is all background (245), block (0, 6) (x 24-27, y 0-3) all text (30).
    assert.ok(Math.abs(base.means[0]! - base.means[6]! - 215) < 1e-3, `${base.means[0]} - ${base.means[6]}`);
  });

  test('noise of a few levels a pixel, or a uniform shift within the tolerance, is the same picture', () => {
    assert.ok(
      samePicture(
        base,
        sketch(
          input((c, y, x) => slide(c, y, x) + 6 * noise()),
          dims,
          levelsPerUnit,
        ),
      ),
    );
    assert.ok(
      samePicture(
        base,
        sketch(
          input((c, y, x) => slide(c, y, x) - TOLERANCE_LEVELS * 0.9),
          dims,
          levelsPerUnit,
        ),
      ),
    );
  });

  test('a pointer, a changed word, a brighter picture or another shape is a different picture', () => {
    const pointer = (c: number, y: number, x: number) =>
      y >= 100 && y < 104 && x >= 128 && x < 131 ? 0 : slide(c, y, x);
    assert.ok(!samePicture(base, sketch(input(pointer), dims, levelsPerUnit)));
    const word = (c: number, y: number, x: number) => (y < 8 && x >= 100 && x < 140 ? 245 : slide(c, y, x));
    assert.ok(!samePicture(base, sketch(input(word), dims, levelsPerUnit)));
    const brighter = (c: number, y: number, x: number) => slide(c, y, x) + TOLERANCE_LEVELS + 1;
    assert.ok(!samePicture(base, sketch(input(brighter), dims, levelsPerUnit)));
    const wide = new Float32Array(3 * S * (S + 4));
    assert.ok(!samePicture(base, sketch(wide, [1, 3, S, S + 4], levelsPerUnit)));
  });

  test('a model input that does not match its dims is refused', () => {
    assert.throws(() => sketch(new Float32Array(10), dims, levelsPerUnit), /10 values for dims 1×3×256×256/);
  });
});
