import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { RgbImage, Video } from '@flex/criteria';
import { describeMediaProblem, encodePng, framesShown, pngDataUrl } from './media-encoding';

function image(width: number, height: number, fill: (i: number) => number): RgbImage {
  return { width, height, data: Float32Array.from({ length: width * height * 3 }, (_, i) => fill(i)) };
}

describe('PNG encoding', () => {
  it('round-trips through a PNG decoder (values rounded to bytes, clamped)', () => {
    const img = image(5, 3, (i) => ((i * 37) % 300) / 255 - 0.1);
    const decoded = PNG.sync.read(encodePng(img));
    expect(decoded.width).toBe(5);
    expect(decoded.height).toBe(3);
    for (let p = 0; p < 15; p++) {
      for (let c = 0; c < 3; c++) {
        const v = img.data[p * 3 + c]!;
        const expected = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
        expect(decoded.data[p * 4 + c]).toBe(expected);
      }
      expect(decoded.data[p * 4 + 3]).toBe(255);
    }
  });
  it('writes a base64 PNG data URL', () => {
    const url = pngDataUrl(image(2, 2, () => 0.5));
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    const bytes = Buffer.from(url.slice('data:image/png;base64,'.length), 'base64');
    expect([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
  });
});

describe('framesShown', () => {
  const video = (n: number): Video => ({ fps: 8, frames: Array.from({ length: n }, (_, i) => image(1, 1, () => i / 20)) });
  it('shows 8 evenly spaced frames of a long video, including the first and last', () => {
    const v = video(20);
    const shown = framesShown(v, 8);
    expect(shown).toHaveLength(8);
    expect(shown[0]).toBe(v.frames[0]);
    expect(shown[7]).toBe(v.frames[19]);
  });
  it('shows every frame of a short video and the image itself', () => {
    expect(framesShown(video(5), 8)).toHaveLength(5);
    const img = image(1, 1, () => 0);
    expect(framesShown(img, 8)).toEqual([img]);
  });
});

describe('describeMediaProblem', () => {
  it('accepts good media and names what is wrong with bad media', () => {
    expect(describeMediaProblem(image(2, 2, () => 0.3), 'image', 'a')).toBeUndefined();
    expect(describeMediaProblem(image(2, 2, () => 0.3), 'video', 'a')).toMatch(/is an image/);
    expect(describeMediaProblem({ fps: 8, frames: [image(1, 1, () => 0)] }, 'image', 'b')).toMatch(/is a video/);
    expect(describeMediaProblem({ width: 2, height: 2, data: new Float32Array(5) }, 'image', 'a')).toMatch(/expected 12/);
    expect(describeMediaProblem(image(1, 1, (i) => (i === 1 ? Number.NaN : 0)), 'image', 'a')).toMatch(/data\[1\]/);
    expect(describeMediaProblem({ fps: 8, frames: [] }, 'video', 'a')).toMatch(/non-empty/);
    expect(describeMediaProblem({ fps: 0, frames: [image(1, 1, () => 0)] }, 'video', 'a')).toMatch(/fps/);
    expect(describeMediaProblem(undefined, 'image', 'a')).toMatch(/missing/);
  });
});
