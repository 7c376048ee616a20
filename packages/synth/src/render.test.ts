import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from './png';
import { insideShape, renderScene } from './render';
import type { SceneInput } from './scene';
import { shapes } from './vocabulary';
import type { RgbImage, Video } from '@flex/criteria';

const scene: SceneInput = {
  modality: 'image',
  background: { kind: 'flat', tone: 'dark' },
  objects: [{ shape: 'circle', colour: 'red', size: 'large', x: 0.5, y: 0.5 }],
  frames: 1,
  seed: 7,
};

describe('rendering', () => {
  it('is deterministic, in [0, 1], and at any resolution', () => {
    const a = renderScene({ scene, width: 32 }) as RgbImage;
    const b = renderScene({ scene, width: 32 }) as RgbImage;
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    expect(a.data.length).toBe(32 * 32 * 3);
    expect(Math.min(...a.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a.data)).toBeLessThanOrEqual(1);
    const big = renderScene({ scene, width: 256, height: 128 }) as RgbImage;
    expect([big.width, big.height]).toEqual([256, 128]);
  });

  it('anti-aliases edges (partial coverage gives intermediate values)', () => {
    const image = renderScene({ scene, width: 32 }) as RgbImage;
    const reds = [];
    for (let p = 0; p < 32 * 32; p++) reds.push(image.data[p * 3] as number);
    const intermediate = reds.filter((r) => r > 0.2 && r < 0.8).length;
    expect(intermediate).toBeGreaterThan(8);
    // Centre pixel is the object's colour.
    expect(image.data[(16 * 32 + 16) * 3]).toBeCloseTo(0.9, 1);
  });

  it('draws every shape as a distinct mask', () => {
    const masks = shapes.map((s) => {
      let bits = '';
      for (let v = -1; v <= 1; v += 0.2) for (let u = -1; u <= 1; u += 0.2) bits += insideShape(s, u, v) ? '1' : '0';
      return bits;
    });
    expect(new Set(masks).size).toBe(shapes.length);
  });

  it('renders videos with motion over the frames', () => {
    const video = renderScene({ scene: { ...scene, modality: 'video', frames: 8, objects: [{ ...scene.objects[0]!, size: 'small', motion: 'right', speed: 'fast' }] }, width: 32 }) as Video;
    expect(video.frames).toHaveLength(8);
    const centroidX = (f: RgbImage) => {
      let sx = 0;
      let n = 0;
      for (let p = 0; p < 32 * 32; p++) if ((f.data[p * 3] as number) > 0.5) {
        sx += p % 32;
        n++;
      }
      return sx / n;
    };
    expect(centroidX(video.frames[7]!)).toBeGreaterThan(centroidX(video.frames[0]!) + 5);
  });

  it('round-trips through PNG within 8-bit quantisation', () => {
    const image = renderScene({ scene: { ...scene, effects: { noise: 0.5 } }, width: 32 }) as RgbImage;
    const bytes = encodePng(image);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    const back = decodePng(bytes);
    let max = 0;
    for (let i = 0; i < image.data.length; i++) max = Math.max(max, Math.abs((image.data[i] as number) - (back.data[i] as number)));
    expect(max).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
  });

  it('rejects invalid scenes with a zod error', () => {
    expect(() => renderScene({ scene: { ...scene, objects: [{ ...scene.objects[0]!, colour: 'mauve' as 'red' }] } })).toThrow();
  });
});
