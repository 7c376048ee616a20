import { z } from 'zod';
import type { Media, RgbImage, Video } from '@flex/criteria';
import { Rng, mixSeed } from './random';
import { objectPositionAt, sceneSchema } from './scene';
import type { Scene, SceneObject } from './scene';
import { colourRgb, sizeRadius, toneRgb } from './vocabulary';
import type { Shape } from './vocabulary';

/** Options of {@link renderScene}. */
export const renderOptionsSchema = z.object({
  /** The scene to render (validated). */
  scene: sceneSchema,
  /** Width in pixels. Default 32. */
  width: z.number().int().min(4).max(4096).default(32),
  /** Height in pixels. Default: the width. */
  height: z.number().int().min(4).max(4096).optional(),
  /** Supersamples per pixel along each axis for anti-aliasing. Default 4 (16 samples per pixel). */
  samples: z.number().int().min(1).max(8).default(4),
  /** Frames per second of a video. Default 8. */
  fps: z.number().positive().default(8),
});
/** Input of {@link renderScene}. */
export type RenderOptions = z.input<typeof renderOptionsSchema>;

const STAR: readonly (readonly [number, number])[] = Array.from({ length: 10 }, (_, i) => {
  const angle = -Math.PI / 2 + (i * Math.PI) / 5;
  const radius = i % 2 === 0 ? 1 : 0.45;
  return [radius * Math.cos(angle), radius * Math.sin(angle) + 0.08] as const;
});

/** Whether a point in object-local units (half-extent 1) lies inside a shape. */
export function insideShape(shape: Shape, u: number, v: number): boolean {
  switch (shape) {
    case 'circle':
      return u * u + v * v <= 1;
    case 'ring': {
      const d = u * u + v * v;
      return d <= 1 && d >= 0.3;
    }
    case 'square':
      return Math.abs(u) <= 0.86 && Math.abs(v) <= 0.86;
    case 'diamond':
      return Math.abs(u) + Math.abs(v) <= 1;
    case 'triangle':
      return v <= 0.8 && 1.8 * Math.abs(u) <= v + 1;
    case 'cross':
      return (Math.abs(u) <= 0.34 && Math.abs(v) <= 1) || (Math.abs(v) <= 0.34 && Math.abs(u) <= 1);
    case 'star': {
      let inside = false;
      for (let i = 0, j = STAR.length - 1; i < STAR.length; j = i++) {
        const [xi, yi] = STAR[i] as readonly [number, number];
        const [xj, yj] = STAR[j] as readonly [number, number];
        if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    }
  }
}

function fillBackground(scene: Scene, width: number, height: number, out: Float32Array): void {
  const [r0, g0, b0] = toneRgb[scene.background.tone];
  const kind = scene.background.kind;
  const rng = new Rng(mixSeed(scene.seed, 'texture'));
  const period = 0.16 + rng.next() * 0.08;
  const phase = rng.next() * Math.PI * 2;
  const diagonal = rng.chance(0.5);
  // Gradients stay inside (0, 1) so clipping remains a fault of its own.
  const amplitude = Math.min(0.14, 0.8 * Math.min(r0, g0, b0, 1 - Math.max(r0, g0, b0)));
  for (let y = 0; y < height; y++) {
    const fy = (y + 0.5) / height;
    for (let x = 0; x < width; x++) {
      const fx = (x + 0.5) / width;
      let shift = 0;
      if (kind === 'gradient') shift = amplitude * (1 - 2 * fy);
      else if (kind === 'texture') {
        const t = diagonal ? fx + fy : fx - 0.5 * fy;
        shift = 0.07 * Math.sign(Math.sin((t / period) * Math.PI * 2 + phase));
      }
      const i = (y * width + x) * 3;
      out[i] = r0 + shift;
      out[i + 1] = g0 + shift;
      out[i + 2] = b0 + shift;
    }
  }
}

function drawClutter(scene: Scene, frame: number, width: number, height: number, out: Float32Array): void {
  const severity = scene.effects.clutter;
  if (severity <= 0) return;
  // The same clutter on every frame: it is part of the set, not noise.
  const rng = new Rng(mixSeed(scene.seed, 'clutter'));
  const count = Math.round(3 + 12 * severity);
  const dark = toneRgb[scene.background.tone][0] < 0.5;
  const grey = dark ? 0.55 : 0.4;
  const side = Math.min(width, height);
  for (let k = 0; k < count; k++) {
    const cx = rng.next() * width;
    const cy = rng.next() * height;
    const horizontal = rng.chance(0.5);
    const length = Math.max(1, Math.round(side * rng.uniform(0.04, 0.1)));
    const thick = Math.max(1, Math.round(side / 48));
    for (let a = 0; a < length; a++) {
      for (let b = 0; b < thick; b++) {
        const x = Math.floor(horizontal ? cx + a : cx + b);
        const y = Math.floor(horizontal ? cy + b : cy + a);
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
        const i = (y * width + x) * 3;
        out[i] = grey;
        out[i + 1] = grey;
        out[i + 2] = grey;
      }
    }
  }
  void frame;
}

function drawObject(
  object: SceneObject,
  scene: Scene,
  frame: number,
  width: number,
  height: number,
  samples: number,
  out: Float32Array,
): void {
  const side = Math.min(width, height);
  const jitterRng = new Rng(mixSeed(scene.seed, 'jitter', frame, object.x * 1e6, object.y * 1e6));
  const position = objectPositionAt(object, frame, scene.frames, scene.effects.frozen);
  let px = position.x * width;
  let py = position.y * height;
  if (scene.effects.jitter > 0 && scene.frames > 1) {
    const amount = 0.07 * scene.effects.jitter * side;
    px += (jitterRng.next() * 2 - 1) * amount;
    py += (jitterRng.next() * 2 - 1) * amount;
  }
  const radius = sizeRadius[object.size] * side;
  const changed = object.becomes !== undefined && scene.frames > 1 && frame >= Math.floor(scene.frames / 2);
  const base = colourRgb[changed ? (object.becomes as typeof object.colour) : object.colour];
  const muted = scene.effects.muted * 0.6;
  const colour = base.map((c) => c * (1 - muted) + 0.5 * muted) as [number, number, number];
  const cos = Math.cos(object.rotation);
  const sin = Math.sin(object.rotation);
  const x0 = Math.max(0, Math.floor(px - radius - 1));
  const x1 = Math.min(width - 1, Math.ceil(px + radius + 1));
  const y0 = Math.max(0, Math.floor(py - radius - 1));
  const y1 = Math.min(height - 1, Math.ceil(py + radius + 1));
  const inv = 1 / (samples * samples);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (let sy = 0; sy < samples; sy++) {
        const dy = y + (sy + 0.5) / samples - py;
        for (let sx = 0; sx < samples; sx++) {
          const dx = x + (sx + 0.5) / samples - px;
          const u = (dx * cos + dy * sin) / radius;
          const v = (-dx * sin + dy * cos) / radius;
          if (insideShape(object.shape, u, v)) hits++;
        }
      }
      if (hits === 0) continue;
      const alpha = hits * inv;
      const i = (y * width + x) * 3;
      out[i] = (out[i] as number) * (1 - alpha) + colour[0] * alpha;
      out[i + 1] = (out[i + 1] as number) * (1 - alpha) + colour[1] * alpha;
      out[i + 2] = (out[i + 2] as number) * (1 - alpha) + colour[2] * alpha;
    }
  }
}

function gaussianBlur(data: Float32Array, width: number, height: number, sigma: number): void {
  const radius = Math.max(1, Math.ceil(sigma * 2.5));
  const kernel = new Float32Array(radius * 2 + 1);
  let total = 0;
  for (let k = -radius; k <= radius; k++) {
    const w = Math.exp(-(k * k) / (2 * sigma * sigma));
    kernel[k + radius] = w;
    total += w;
  }
  for (let k = 0; k < kernel.length; k++) kernel[k] = (kernel[k] as number) / total;
  const tmp = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = Math.min(width - 1, Math.max(0, x + k));
          acc += (data[(y * width + xx) * 3 + c] as number) * (kernel[k + radius] as number);
        }
        tmp[(y * width + x) * 3 + c] = acc;
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const yy = Math.min(height - 1, Math.max(0, y + k));
          acc += (tmp[(yy * width + x) * 3 + c] as number) * (kernel[k + radius] as number);
        }
        data[(y * width + x) * 3 + c] = acc;
      }
    }
  }
}

function blockify(data: Float32Array, width: number, height: number, block: number): void {
  for (let by = 0; by < height; by += block) {
    for (let bx = 0; bx < width; bx += block) {
      const ye = Math.min(height, by + block);
      const xe = Math.min(width, bx + block);
      const n = (ye - by) * (xe - bx);
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let y = by; y < ye; y++) for (let x = bx; x < xe; x++) acc += data[(y * width + x) * 3 + c] as number;
        const mean = acc / n;
        for (let y = by; y < ye; y++) for (let x = bx; x < xe; x++) data[(y * width + x) * 3 + c] = mean;
      }
    }
  }
}

/** Render one frame of a scene to an RGB image (the scene must already be validated). */
export function renderFrame(scene: Scene, frame: number, width: number, height: number, samples = 4): RgbImage {
  const data = new Float32Array(width * height * 3);
  fillBackground(scene, width, height, data);
  drawClutter(scene, frame, width, height, data);
  for (const object of scene.objects) drawObject(object, scene, frame, width, height, samples, data);
  const effects = scene.effects;
  const side = Math.min(width, height);
  if (effects.dim > 0) {
    const gain = 1 - 0.55 * effects.dim;
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) * gain;
  }
  if (effects.blur > 0) gaussianBlur(data, width, height, Math.max(0.3, effects.blur * 0.05 * side));
  if (effects.noise > 0) {
    const rng = new Rng(mixSeed(scene.seed, 'noise', frame));
    const sigma = 0.14 * effects.noise;
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + sigma * rng.normal();
  }
  if (effects.block > 0) blockify(data, width, height, Math.max(2, Math.round(side * (0.04 + 0.08 * effects.block))));
  if (effects.clip > 0) {
    // Overexposure: more light, highlights burn out at 1.
    const gain = 1 + 1.6 * effects.clip;
    const lift = 0.1 * effects.clip;
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) * gain + lift;
  }
  if (effects.flicker > 0 && scene.frames > 1) {
    const rng = new Rng(mixSeed(scene.seed, 'flicker', frame));
    const gain = 1 + (frame % 2 === 0 ? 1 : -1) * effects.flicker * rng.uniform(0.25, 0.45);
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) * gain;
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    data[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { width, height, data };
}

/**
 * Render a scene, deterministically and anti-aliased (supersampled), at any resolution: an image for an image scene,
 * a video (one frame per scene frame) for a video scene. Values are RGB in [0, 1], row-major HWC.
 */
export function renderScene(options: RenderOptions): Media {
  const { scene, width, height, samples, fps } = renderOptionsSchema.parse(options);
  const h = height ?? width;
  if (scene.modality === 'image') return renderFrame(scene, 0, width, h, samples);
  const frames: RgbImage[] = [];
  for (let f = 0; f < scene.frames; f++) frames.push(renderFrame(scene, f, width, h, samples));
  return { frames, fps } satisfies Video;
}
