import { PNG } from 'pngjs';
import { isVideo, evenlySpacedFrameIndices, type Media, type RgbImage } from '@flex/criteria';
import { glyphAdvance, glyphColumns, glyphHeight, textWidth } from './font';

/**
 * A small RGB rasteriser for report charts (rectangles, thick lines, dots, 5×7 bitmap text) and media
 * upscaling, encoded to PNG with pngjs. No antialiasing: charts are drawn at their display size.
 */

/** An RGB colour, each channel 0–255. */
export type Color = readonly [number, number, number];

/** An 8-bit RGB raster with drawing primitives. */
export class Raster {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** RGBA bytes, row-major (alpha always 255). */
  readonly data: Uint8Array;

  constructor(width: number, height: number, background: Color = [255, 255, 255]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 64_000_000) {
      throw new RangeError(`raster size must be positive integers, got ${width}×${height}`);
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets one pixel (ignored outside the raster). */
  setPixel(x: number, y: number, color: Color): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const o = (yi * this.width + xi) * 4;
    this.data[o] = color[0];
    this.data[o + 1] = color[1];
    this.data[o + 2] = color[2];
    this.data[o + 3] = 255;
  }

  /** The colour of one pixel. */
  getPixel(x: number, y: number): Color {
    const o = (y * this.width + x) * 4;
    return [this.data[o] as number, this.data[o + 1] as number, this.data[o + 2] as number];
  }

  /** Fills the rectangle [x, x + w) × [y, y + h), clipped to the raster. */
  fillRect(x: number, y: number, w: number, h: number, color: Color): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const o = (yy * this.width + xx) * 4;
        this.data[o] = color[0];
        this.data[o + 1] = color[1];
        this.data[o + 2] = color[2];
        this.data[o + 3] = 255;
      }
    }
  }

  /** Draws a line of `thickness` pixels from (x0, y0) to (x1, y1); `dash` draws only every other `dash` pixels. */
  line(x0: number, y0: number, x1: number, y1: number, color: Color, thickness = 1, dash = 0): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = (thickness - 1) / 2;
    for (let i = 0; i <= steps; i++) {
      if (dash > 0 && Math.floor(i / dash) % 2 === 1) continue;
      const t = i / steps;
      const x = x0 + (x1 - x0) * t;
      const y = y0 + (y1 - y0) * t;
      this.fillRect(Math.round(x - half), Math.round(y - half), thickness, thickness, color);
    }
  }

  /** Draws a filled disc of `radius` pixels. */
  dot(cx: number, cy: number, radius: number, color: Color): void {
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        if (dx * dx + dy * dy <= radius * radius + radius) this.setPixel(cx + dx, cy + dy, color);
      }
    }
  }

  /** Draws `text` with its top-left corner at (x, y), each font pixel `scale` pixels wide. */
  text(text: string, x: number, y: number, color: Color, scale = 1): void {
    let cursor = Math.round(x);
    for (const char of text) {
      const columns = glyphColumns(char);
      columns.forEach((bits, column) => {
        for (let row = 0; row < glyphHeight; row++) {
          if ((bits >> row) & 1) this.fillRect(cursor + column * scale, Math.round(y) + row * scale, scale, scale, color);
        }
      });
      cursor += glyphAdvance * scale;
    }
  }

  /** Draws `text` centred horizontally on `cx`. */
  textCentered(text: string, cx: number, y: number, color: Color, scale = 1): void {
    this.text(text, cx - textWidth(text, scale) / 2, y, color, scale);
  }

  /** Draws `text` rotated 90° counter-clockwise (reading bottom to top), its baseline box starting at (x, y) bottom. */
  textVertical(text: string, x: number, yBottom: number, color: Color, scale = 1): void {
    let cursor = Math.round(yBottom);
    for (const char of text) {
      const columns = glyphColumns(char);
      columns.forEach((bits, column) => {
        for (let row = 0; row < glyphHeight; row++) {
          if ((bits >> row) & 1) this.fillRect(Math.round(x) + row * scale, cursor - (column + 1) * scale, scale, scale, color);
        }
      });
      cursor -= glyphAdvance * scale;
    }
  }

  /** Copies an RGB image (values in [0, 1]) into the raster at (x, y), scaled to w × h by nearest neighbour. */
  drawImage(image: RgbImage, x: number, y: number, w: number, h: number): void {
    for (let yy = 0; yy < h; yy++) {
      const sy = Math.min(image.height - 1, Math.floor((yy * image.height) / h));
      for (let xx = 0; xx < w; xx++) {
        const sx = Math.min(image.width - 1, Math.floor((xx * image.width) / w));
        const s = (sy * image.width + sx) * 3;
        this.setPixel(x + xx, y + yy, [
          toByte(image.data[s] as number),
          toByte(image.data[s + 1] as number),
          toByte(image.data[s + 2] as number),
        ]);
      }
    }
  }

  /** Encodes the raster as PNG bytes. */
  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height, colorType: 2, inputColorType: 6, inputHasAlpha: true });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png, { colorType: 2, inputColorType: 6, inputHasAlpha: true });
  }
}

/** A [0, 1] channel value as a byte (clamped; NaN becomes 0). */
function toByte(value: number): number {
  if (!(value > 0)) return 0;
  if (value >= 1) return 255;
  return Math.round(value * 255);
}

/** A `data:image/png;base64,…` URL of PNG bytes. */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/**
 * Media as a large PNG for reports: an image upscaled by nearest neighbour to `size` × `size` (default 256);
 * a video as a strip of up to 8 evenly spaced frames, each `size / 2` square, in two rows of four.
 */
export function mediaToPng(media: Media, size = 256): Buffer {
  checkMedia(media);
  if (!isVideo(media)) {
    const raster = new Raster(size, size);
    raster.drawImage(media, 0, 0, size, size);
    return raster.toPng();
  }
  const indices = evenlySpacedFrameIndices(media.frames.length, 8);
  const cell = Math.max(1, Math.floor(size / 2));
  const columns = Math.min(4, indices.length);
  const rows = Math.ceil(indices.length / 4);
  const gap = 4;
  const raster = new Raster(columns * cell + (columns - 1) * gap, rows * cell + (rows - 1) * gap, [255, 255, 255]);
  indices.forEach((frameIndex, i) => {
    const frame = media.frames[frameIndex] as RgbImage;
    raster.drawImage(frame, (i % 4) * (cell + gap), Math.floor(i / 4) * (cell + gap), cell, cell);
  });
  return raster.toPng();
}

function checkMedia(media: Media): void {
  const images = isVideo(media) ? media.frames : [media];
  if (images.length === 0) throw new RangeError('a video needs at least one frame');
  for (const image of images) {
    if (!(image.width >= 1 && image.height >= 1) || image.data.length !== image.width * image.height * 3) {
      throw new RangeError(`image data has ${image.data.length} values, expected ${image.width}×${image.height}×3`);
    }
  }
}
