/**
 * Media as every Flex package sees it: plain data, no tensors.
 * An image is row-major HWC RGB with values in [0, 1]; a video is a list of such frames with an fps.
 */

/** An RGB image: `data.length === width * height * 3`, values in [0, 1], row-major HWC. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** A video: frames of equal size, played at `fps` frames per second. */
export interface Video {
  readonly frames: readonly RgbImage[];
  readonly fps: number;
}

/** Either an image or a video. Use {@link isVideo} to tell them apart. */
export type Media = RgbImage | Video;

/** The two kinds of media a judge assesses. */
export type Modality = 'image' | 'video';

/** True when `media` is a {@link Video}. */
export function isVideo(media: Media): media is Video {
  return (media as Video).frames !== undefined;
}

/** The modality of a piece of media. */
export function modalityOf(media: Media): Modality {
  return isVideo(media) ? 'video' : 'image';
}

/**
 * Indices of `count` evenly spaced frames out of `total` (the published judge sees 8 frames per video).
 * Returns every index when `total <= count`.
 */
export function evenlySpacedFrameIndices(total: number, count = 8): number[] {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total must be a non-negative integer, got ${total}`);
  if (total <= count) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * (total - 1)) / (count - 1)));
}
