/*
 * Images as the models take them: a file, its bytes, or pixels the worker
 * already holds (a frame the cut pass captured; worker/media/frames.ts).
 */
import sharp, { type Sharp, type SharpOptions } from 'sharp';

/** Packed 8-bit RGB, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export type ImageInput = string | Buffer | RgbImage;

/** sharp over any ImageInput: pixels as raw RGB, files and bytes decoded as they are. */
export function sharpOf(image: ImageInput, options?: SharpOptions): Sharp {
  if (typeof image === 'string' || Buffer.isBuffer(image)) return sharp(image, options);
  const { data, width, height } = image;
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
    ...options,
    raw: { width, height, channels: 3 },
  });
}
