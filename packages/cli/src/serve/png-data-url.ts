import { PNG } from 'pngjs';
import type { RgbImage } from '@flex/criteria';
import { badRequest, type ServeHttpError } from './http-error';

/**
 * `data:image/png;base64,…` URLs → {@link RgbImage}s (RGB in [0, 1], row-major HWC), the inverse of the remote
 * judge's `pngDataUrl`. Anything else — another scheme or media type, broken base64, a file that is not a PNG
 * or fails its checksums, an image above the pixel limit — is a 400 with a message saying which.
 */

/** Limits applied while decoding one image. */
export interface PngLimits {
  /** Most pixels (width × height) one image may have; checked from the header before decoding. */
  readonly maxImagePixels: number;
}

const prefix = 'data:image/png;base64,';
const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const base64Body = /^[A-Za-z0-9+/]*={0,2}$/;

/** Result of {@link decodePngDataUrl}. */
export type DecodePngResult = { readonly ok: true; readonly image: RgbImage } | { readonly ok: false; readonly error: ServeHttpError };

/**
 * Decodes a PNG data URL into an RGB image. 8- and 16-bit, grey, RGB, palette and alpha PNGs are accepted;
 * alpha is dropped (not composited), 16-bit samples are scaled to 8 bits first.
 * @param url The `image_url.url` string.
 * @param limits See {@link PngLimits}.
 * @param param The request field, for the error message (`messages[1].content[0]`).
 */
export function decodePngDataUrl(url: string, limits: PngLimits, param: string): DecodePngResult {
  if (!url.startsWith('data:')) {
    return fail(badRequest('unsupported_image', `${param}: only inline PNG data URLs (data:image/png;base64,…) are accepted; remote URLs are not fetched`, param));
  }
  if (!url.startsWith(prefix)) {
    const type = url.slice(5, Math.min(url.length, url.indexOf(',') >= 0 ? url.indexOf(',') : 40));
    return fail(badRequest('unsupported_image', `${param}: only base64 PNG data URLs are accepted, got data:${type}`, param));
  }
  const body = url.slice(prefix.length);
  if (body.length === 0 || body.length % 4 !== 0 || !base64Body.test(body)) {
    return fail(badRequest('unreadable_image', `${param}: the data URL is not valid base64`, param));
  }
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(pngSignature) || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    return fail(badRequest('unreadable_image', `${param}: the data is not a PNG file (bad signature or header)`, param));
  }
  // The header's size, before inflating anything: a tiny file can claim a huge image.
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0) return fail(badRequest('unreadable_image', `${param}: the PNG header gives a ${width}×${height} image`, param));
  if (width * height > limits.maxImagePixels) {
    return fail(badRequest('image_too_large', `${param}: a ${width}×${height} image exceeds the limit of ${limits.maxImagePixels} pixels`, param));
  }
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (error) {
    return fail(badRequest('unreadable_image', `${param}: the PNG cannot be decoded (${error instanceof Error ? error.message : String(error)})`, param));
  }
  const pixels = png.width * png.height;
  const data = new Float32Array(pixels * 3);
  const rgba = png.data;
  for (let i = 0; i < pixels; i++) {
    data[i * 3] = (rgba[i * 4] as number) / 255;
    data[i * 3 + 1] = (rgba[i * 4 + 1] as number) / 255;
    data[i * 3 + 2] = (rgba[i * 4 + 2] as number) / 255;
  }
  return { ok: true, image: { width: png.width, height: png.height, data } };
}

function fail(error: ServeHttpError): DecodePngResult {
  return { ok: false, error };
}
