/*
 * Pixel plumbing for OCR. sharp only decodes; every resample happens here in
 * plain loops so the maths matches PaddleOCR's cv2.resize (bilinear with
 * half-pixel centres, no antialiasing): the PP-OCR weights were trained on
 * exactly that, and a smoother kernel measurably blurs thin strokes.
 */
import { sharpOf, type ImageInput, type RgbImage } from '../image.ts';

export type { RgbImage };

export class ImageDecodeError extends Error {}

export async function decodeRgb(input: ImageInput): Promise<RgbImage> {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return input;
  try {
    // rotate() applies EXIF orientation so boxes refer to the image as seen.
    const { data, info } = await sharpOf(input)
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    if (channels === 3) return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
    const out = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) out[i * 3 + c] = data[i * channels + Math.min(c, channels - 1)]!;
    }
    return { data: out, width, height };
  } catch (e) {
    const what = typeof input === 'string' ? input : `${input.length}-byte buffer`;
    throw new ImageDecodeError(`cannot decode image ${what}: ${(e as Error).message}`);
  }
}

/** Sub-image [x0, x1) × [y0, y1), clamped to the image. */
export function crop(img: RgbImage, x0: number, y0: number, x1: number, y1: number): RgbImage {
  const left = Math.max(0, Math.min(img.width - 1, Math.floor(x0)));
  const top = Math.max(0, Math.min(img.height - 1, Math.floor(y0)));
  const width = Math.max(1, Math.min(img.width, Math.ceil(x1)) - left);
  const height = Math.max(1, Math.min(img.height, Math.ceil(y1)) - top);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 3;
    data.set(img.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { data, width, height };
}

/** 90° counter-clockwise, as np.rot90 does for PaddleOCR's vertical crops. */
export function rotate90(img: RgbImage): RgbImage {
  const { width: w, height: h } = img;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const to = ((w - 1 - x) * h + y) * 3;
      const from = (y * w + x) * 3;
      data[to] = img.data[from]!;
      data[to + 1] = img.data[from + 1]!;
      data[to + 2] = img.data[from + 2]!;
    }
  }
  return { data, width: h, height: w };
}

export function rotate180(img: RgbImage): RgbImage {
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const j = (n - 1 - i) * 3;
    data[i * 3] = img.data[j]!;
    data[i * 3 + 1] = img.data[j + 1]!;
    data[i * 3 + 2] = img.data[j + 2]!;
  }
  return { data, width: img.width, height: img.height };
}

/**
 * Bilinear resize straight into a CHW float tensor in BGR channel order
 * (PaddleOCR reads images with cv2, so channel 0 is blue), normalised as
 * (v/255 - mean[c]) / std[c]. Pixels right of `width` up to `padWidth` stay 0,
 * which is what PaddleOCR's recogniser padding writes.
 */
export function resizeToTensor(
  img: RgbImage,
  width: number,
  height: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array = new Float32Array(3 * width * height),
  padWidth = width,
): Float32Array {
  const sx = img.width / width;
  const sy = img.height / height;
  const plane = padWidth * height;
  const xs0 = new Int32Array(width),
    xs1 = new Int32Array(width),
    fxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
    xs0[x] = Math.floor(fx);
    xs1[x] = Math.min(xs0[x]! + 1, img.width - 1);
    fxs[x] = fx - xs0[x]!;
  }
  const scale = [1 / (255 * std[0]), 1 / (255 * std[1]), 1 / (255 * std[2])];
  const shift = [mean[0] / std[0], mean[1] / std[1], mean[2] / std[2]];
  const d = img.data;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy),
      y1 = Math.min(y0 + 1, img.height - 1),
      wy = fy - y0;
    const r0 = y0 * img.width,
      r1 = y1 * img.width;
    for (let x = 0; x < width; x++) {
      const a = (r0 + xs0[x]!) * 3,
        b = (r0 + xs1[x]!) * 3,
        c = (r1 + xs0[x]!) * 3,
        e = (r1 + xs1[x]!) * 3;
      const wx = fxs[x]!;
      for (let ch = 0; ch < 3; ch++) {
        const rgb = 2 - ch; // BGR order
        const top = d[a + rgb]! + (d[b + rgb]! - d[a + rgb]!) * wx;
        const bottom = d[c + rgb]! + (d[e + rgb]! - d[c + rgb]!) * wx;
        out[ch * plane + y * padWidth + x] = (top + (bottom - top) * wy) * scale[ch]! - shift[ch]!;
      }
    }
  }
  return out;
}
