/*
 * Telling a picture the vision tower has already seen from a new one, by its
 * model input. A slide or a still held longer than SCENE_MAX_S is split into
 * several scenes whose keyframes show the same picture (a 2-minute slide is
 * four); a screen recording goes back to a window it showed before. Each
 * such keyframe would cost the tower a full pass (3.8 s on a 2-core AVX2 VM,
 * BENCHMARKS.md) to give the vector it already gave.
 *
 * The comparison is of the model's own input, after its resize, on a grid of
 * BLOCK × BLOCK mean values: codec noise between two moments of a static
 * picture averages out within a block, while a moved pointer, a changed word
 * or a scrolled line moves some block's mean by far more than
 * TOLERANCE_LEVELS. Every block must agree, so anything a person would call a
 * change is a different picture, and a reused vector is off by about what
 * encoding the keyframe's JPEG again would move it.
 */

/** Side of a block of model-input pixels (SigLIP's 256² input: a 64 × 64 grid, ~20 px of a 1280-wide frame). */
export const BLOCK = 4;
/**
 * Largest difference of one block's mean, in 8-bit levels, that is still the
 * same picture. A busy test pattern JPEG-encoded at quality 2 and again at 6
 * differs by up to 6 in some block; a 12 × 18 px pointer drawn on a 1280-wide
 * frame moves one by 140-190 (BENCHMARKS.md).
 */
export const TOLERANCE_LEVELS = 8;

/** A picture's block means, in 8-bit levels (less the normalisation's mean: only differences are compared), with the shape they came from. */
export interface PictureSketch {
  dims: readonly number[];
  means: Float32Array;
}

/**
 * Block means of one image's model input ([1, channels, height, width], or
 * without the batch axis), scaled back to 8-bit levels by the processor's
 * rescale factor and per-channel std (`levelsPerUnit`; std 1 when it does not
 * normalise).
 */
export function sketch(data: Float32Array, dims: readonly number[], levelsPerUnit: readonly number[]): PictureSketch {
  const [c, h, w] = dims.slice(-3) as [number, number, number];
  if (data.length !== c * h * w) throw new Error(`picture sketch: ${data.length} values for dims ${dims.join('×')}`);
  const bh = Math.ceil(h / BLOCK);
  const bw = Math.ceil(w / BLOCK);
  const means = new Float32Array(c * bh * bw);
  const counts = new Float32Array(bh * bw);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) counts[Math.floor(y / BLOCK) * bw + Math.floor(x / BLOCK)]!++;
  for (let ch = 0; ch < c; ch++) {
    const k = levelsPerUnit[ch] ?? levelsPerUnit[0]!;
    const plane = ch * h * w;
    const out = ch * bh * bw;
    for (let y = 0; y < h; y++) {
      const row = out + Math.floor(y / BLOCK) * bw;
      for (let x = 0; x < w; x++) means[row + Math.floor(x / BLOCK)]! += data[plane + y * w + x]! * k;
    }
    for (let b = 0; b < bh * bw; b++) means[out + b]! /= counts[b]!;
  }
  return { dims: dims.slice(-3), means };
}

/** Whether two sketches are of the same picture: the same shape and every block within TOLERANCE_LEVELS. */
export function samePicture(a: PictureSketch, b: PictureSketch): boolean {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return false;
  for (let i = 0; i < a.means.length; i++) if (Math.abs(a.means[i]! - b.means[i]!) > TOLERANCE_LEVELS) return false;
  return true;
}
