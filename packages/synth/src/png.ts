import { PNG } from 'pngjs';
import type { RgbImage } from '@flex/criteria';

/** Quantise an RGB image with values in [0, 1] to 8-bit RGB bytes (row-major HWC). */
export function toBytes(image: RgbImage): Buffer {
  const out = Buffer.alloc(image.width * image.height * 3);
  const data = image.data;
  for (let i = 0; i < out.length; i++) {
    const v = data[i] as number;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return out;
}

/** Encode an RGB image as an 8-bit RGB PNG (deterministic bytes for the same pixels). */
export function encodePng(image: RgbImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = toBytes(image);
  // One fixed filter (Sub) instead of trying all five per row: as small for these images, and faster.
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, filterType: 1 });
}

/** Decode a PNG (any colour type pngjs reads) to an RGB image with values in [0, 1]. Alpha is dropped. */
export function decodePng(bytes: Buffer | Uint8Array): RgbImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const { width, height } = png;
  const data = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[p * 3] = (png.data[p * 4] as number) / 255;
    data[p * 3 + 1] = (png.data[p * 4 + 1] as number) / 255;
    data[p * 3 + 2] = (png.data[p * 4 + 2] as number) / 255;
  }
  return { width, height, data };
}
