import { PNG } from 'pngjs';
import { evenlySpacedFrameIndices, isVideo, type Media, type Modality, type RgbImage } from '@flex/criteria';

/**
 * Media → what an OpenAI-compatible vision endpoint accepts: PNG files as base64 `data:` URLs.
 * Values in [0, 1] become bytes by rounding `v · 255` (values outside [0, 1] are clamped; NaN is refused
 * earlier by {@link describeMediaProblem}).
 */

/** Encodes an RGB image (HWC, values in [0, 1]) as an 8-bit RGB PNG file. */
export function encodePng(image: RgbImage): Buffer {
  const { width, height, data } = image;
  const bytes = Buffer.allocUnsafe(width * height * 3);
  for (let i = 0; i < bytes.length; i++) {
    const v = data[i] as number;
    bytes[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  const png = new PNG({ width, height });
  png.data = bytes;
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** An RGB image as a `data:image/png;base64,…` URL. */
export function pngDataUrl(image: RgbImage): string {
  return `data:image/png;base64,${encodePng(image).toString('base64')}`;
}

/**
 * The frames a judge is shown for one piece of media: the image itself, or `framesPerVideo` evenly spaced
 * frames of a video (every frame when it has fewer).
 */
export function framesShown(media: Media, framesPerVideo: number): RgbImage[] {
  if (!isVideo(media)) return [media];
  return evenlySpacedFrameIndices(media.frames.length, framesPerVideo).map((i) => media.frames[i] as RgbImage);
}

function describeImageProblem(image: unknown, where: string): string | undefined {
  if (image === null || typeof image !== 'object') return `${where} is not an image`;
  const { width, height, data } = image as Partial<RgbImage>;
  if (!Number.isInteger(width) || (width as number) < 1) return `${where}.width must be a positive integer`;
  if (!Number.isInteger(height) || (height as number) < 1) return `${where}.height must be a positive integer`;
  if (!(data instanceof Float32Array)) return `${where}.data must be a Float32Array`;
  const expected = (width as number) * (height as number) * 3;
  if (data.length !== expected) return `${where}.data has ${data.length} values, expected ${expected} (width × height × 3)`;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return `${where}.data[${i}] is not a finite number`;
  }
  return undefined;
}

/**
 * Why `media` cannot be sent as the given modality, or undefined when it can: wrong kind, bad sizes,
 * non-finite values, an empty video or a non-positive fps.
 */
export function describeMediaProblem(media: unknown, modality: Modality, where: string): string | undefined {
  if (media === null || typeof media !== 'object') return `${where} is missing`;
  const video = isVideo(media as Media);
  if (modality === 'image' && video) return `${where} is a video but the request's modality is image`;
  if (modality === 'video' && !video) return `${where} is an image but the request's modality is video`;
  if (!video) return describeImageProblem(media, where);
  const { frames, fps } = media as { frames: unknown; fps: unknown };
  if (!Array.isArray(frames) || frames.length === 0) return `${where}.frames must be a non-empty array`;
  if (typeof fps !== 'number' || !(fps > 0) || !Number.isFinite(fps)) return `${where}.fps must be a positive number`;
  for (let i = 0; i < frames.length; i++) {
    const problem = describeImageProblem(frames[i], `${where}.frames[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}
