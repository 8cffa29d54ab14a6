/*
 * Comparing pictures as the models receive them: RGB pixels, from a frame
 * file of either kind the worker writes (frameImage: a captured frame's
 * RGB, or a JPEG) or from image bytes (a stored keyframe).
 */
import assert from 'node:assert/strict';
import { frameImage } from '../../worker/media/index.ts';
import { decodeRgb } from '../../worker/ml/ocr/image.ts';

export const pixels = async (x: string | Buffer) => decodeRgb(typeof x === 'string' ? await frameImage(x) : x);

/** PSNR (dB) of two pictures of one size; Infinity when they are identical. */
export async function psnr(a: string | Buffer, b: string | Buffer): Promise<number> {
  const [x, y] = await Promise.all([pixels(a), pixels(b)]);
  assert.deepEqual([x.width, x.height], [y.width, y.height]);
  let se = 0;
  for (let i = 0; i < x.data.length; i++) se += (x.data[i]! - y.data[i]!) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * x.data.length) / se);
}

/**
 * Two frames at least this close show the same picture: a captured frame
 * against a seek's JPEG of the same frame measures 43-48 dB (the JPEG's loss,
 * and its decoder's smoothed chroma where rgbFrame repeats each sample over
 * its 2x2 block), two slides of one deck 19.
 */
export const SAME_PICTURE_DB = 40;
