import { z } from 'zod';
import { isVideo } from '@flex/criteria';
import type { Media, RgbImage, Video } from '@flex/criteria';
import { identitySeverity } from './facts';
import type { FactObject, SceneFacts } from './facts';
import { promptSpecSchema } from './prompt';
import type { PromptSpec, PromptSpecInput } from './prompt';
import { insideShape, renderFrame } from './render';
import { noEffects } from './scene';
import { scoreFacts } from './score';
import type { CandidateScore, WorldCategoryId } from './score';
import { describeFacts } from './describe';
import { backgroundTones, colourHue, colourRgb, colours, colourSimilarity, hueDistance, shapes, shapeSimilarity, sizeRadius, sizes, toneRgb } from './vocabulary';
import type { BackgroundKind, BackgroundTone, Colour, EffectKind, Motion, Shape, Size } from './vocabulary';

/**
 * The pixel-level oracle: recover scene facts from pixels alone (no scene), so generated images and videos can be
 * scored with the same functions the oracle uses on scenes. Objects are connected components of saturated pixels,
 * each labelled with its nearest palette hue; size from the bounding box; shape by the nearest prototype in a small
 * feature space (prototypes rendered by the world's own renderer at the object's pixel size); background tone and
 * kind, and the severities of noise, blur, blocks, clipping, muted colour, clutter and dimming from image statistics.
 * Calibrated for 24–64 px images; coarse by design.
 */

/** A recovered object, with its pixel area. */
export interface PerceivedObject extends FactObject {
  /** Area in pixels. */
  readonly area: number;
}

const SATURATION = 0.4;
const VALUE = 0.2;

interface Component {
  label: number;
  pixels: number[];
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function pixelStats(image: RgbImage) {
  const n = image.width * image.height;
  const label = new Int8Array(n).fill(-1);
  const saturation = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const r = image.data[p * 3] as number;
    const g = image.data[p * 3 + 1] as number;
    const b = image.data[p * 3 + 2] as number;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const s = max <= 0 ? 0 : (max - min) / max;
    saturation[p] = s;
    if (s < SATURATION || max < VALUE) continue;
    let h: number;
    const d = max - min;
    if (max === r) h = ((g - b) / d) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h *= 60;
    if (h < 0) h += 360;
    let best = 0;
    let bestDistance = Infinity;
    colours.forEach((c, i) => {
      const dist = hueDistance(h, colourHue[c]);
      if (dist < bestDistance) {
        bestDistance = dist;
        best = i;
      }
    });
    label[p] = best;
  }
  return { label, saturation };
}

function components(label: Int8Array, width: number, height: number): Component[] {
  const seen = new Uint8Array(label.length);
  const out: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < label.length; start++) {
    if (seen[start] === 1 || label[start] === -1) continue;
    const l = label[start] as number;
    const c: Component = { label: l, pixels: [], x0: width, x1: 0, y0: height, y1: 0 };
    stack.push(start);
    seen[start] = 1;
    while (stack.length > 0) {
      const p = stack.pop() as number;
      c.pixels.push(p);
      const x = p % width;
      const y = (p - x) / width;
      if (x < c.x0) c.x0 = x;
      if (x > c.x1) c.x1 = x;
      if (y < c.y0) c.y0 = y;
      if (y > c.y1) c.y1 = y;
      const neighbours = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, y > 0 ? p - width : -1, y < height - 1 ? p + width : -1];
      for (const q of neighbours) {
        if (q < 0 || seen[q] === 1 || label[q] !== l) continue;
        seen[q] = 1;
        stack.push(q);
      }
    }
    out.push(c);
  }
  return out;
}

const centroidOffsets: Readonly<Record<Shape, number>> = Object.fromEntries(
  shapes.map((shape) => {
    let n = 0;
    let sv = 0;
    for (let v = -1; v <= 1; v += 0.02) for (let u = -1; u <= 1; u += 0.02) if (insideShape(shape, u, v)) {
      n++;
      sv += v;
    }
    return [shape, sv / n];
  }),
) as Record<Shape, number>;

/**
 * Fit a shape and size to an object's coverage map: each shape is rasterised (3×3 supersampling) at each world size,
 * centred so its area centroid falls on the observed one, and the one with the least squared coverage error wins.
 */
function fitShape(coverage: Float32Array, window: { x0: number; x1: number; y0: number; y1: number }, width: number, side: number, cx: number, cy: number): { shape: Shape; size: Size } {
  let best: { shape: Shape; size: Size } = { shape: 'circle', size: 'medium' };
  let bestError = Infinity;
  for (const size of sizes) {
    const radius = sizeRadius[size] * side;
    for (const shape of shapes) {
      const px = cx;
      const py = cy - centroidOffsets[shape] * radius;
      let error = 0;
      for (let y = window.y0; y <= window.y1; y++) {
        for (let x = window.x0; x <= window.x1; x++) {
          let hits = 0;
          for (let sy = 0; sy < 3; sy++) {
            const v = (y + (sy + 0.5) / 3 - py) / radius;
            for (let sx = 0; sx < 3; sx++) if (insideShape(shape, (x + (sx + 0.5) / 3 - px) / radius, v)) hits++;
          }
          const d = hits / 9 - (coverage[y * width + x] as number);
          error += d * d;
        }
      }
      if (error < bestError) {
        bestError = error;
        best = { shape, size };
      }
    }
  }
  return best;
}

/** Robust noise level of an image: median over pixels and channels of |value − 3×3 median|, scaled to a Gaussian σ. */
export function estimateNoise(image: RgbImage): number {
  const { width, height, data } = image;
  const residuals: number[] = [];
  const window = new Float32Array(9);
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      for (let k = 0; k < 3; k++) {
        let i = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) window[i++] = data[((y + dy) * width + x + dx) * 3 + k] as number;
        window.sort();
        residuals.push(Math.abs((data[(y * width + x) * 3 + k] as number) - (window[4] as number)));
      }
    }
  }
  return median(residuals) / NOISE_SCALE;
}

/** median |x − median3×3| of Gaussian noise is about this multiple of σ (measured on flat renders). */
const NOISE_SCALE = 0.6;

function boxSmooth(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 3; k++) {
        let acc = 0;
        let n = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          acc += data[(yy * width + xx) * 3 + k] as number;
          n++;
        }
        out[(y * width + x) * 3 + k] = acc / n;
      }
    }
  }
  return { width, height, data: out };
}

/** Spread (σ in pixels) of an anti-aliased, unblurred edge, measured on clean renders. */
const EDGE_SIGMA = 0.45;

/** Inverse error function (Winitzki's approximation, relative error < 2e-3). */
function inverseErf(x: number): number {
  const a = 0.147;
  const ln = Math.log(1 - x * x);
  const first = 2 / (Math.PI * a) + ln / 2;
  return Math.sign(x) * Math.sqrt(Math.sqrt(first * first - ln / a) - first);
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** What {@link perceiveImage} recovers from one image. */
export interface ImagePerception {
  readonly facts: SceneFacts;
  readonly objects: readonly PerceivedObject[];
}

/** Options of {@link perceiveImage}. */
export interface PerceiveImageOptions {
  /** Minimum object area as a fraction of the image. Default 0.004 (4 px at 32×32). */
  readonly minArea?: number;
}

/** Recover objects, background and fault severities from one image. */
export function perceiveImage(image: RgbImage, options: PerceiveImageOptions = {}): ImagePerception {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || data.length !== width * height * 3) throw new RangeError('perceiveImage: data.length must be width × height × 3');
  const side = Math.min(width, height);
  const minArea = Math.max(4, (options.minArea ?? 0.004) * width * height);
  const sigma = estimateNoise(image);
  // Heavy noise: label colours on a smoothed copy so noise specks do not become objects.
  const { label, saturation } = pixelStats(sigma > 0.035 ? boxSmooth(image) : image);
  const comps = components(label, width, height).filter((c) => c.pixels.length >= minArea);
  const objectMask = new Uint8Array(width * height);
  const objects: PerceivedObject[] = [];
  const cores: number[][] = [];
  let gainSum = 0;
  let mutedSum = 0;
  let weightSum = 0;
  for (const c of comps) {
    for (const p of c.pixels) objectMask[p] = 1;
    let sx = 0;
    let sy = 0;
    let maxS = 0;
    for (const p of c.pixels) {
      sx += p % width;
      sy += Math.floor(p / width);
      maxS = Math.max(maxS, saturation[p] as number);
    }
    // Core pixels (not blended with the background) give the colour.
    let cr = 0;
    let cg = 0;
    let cb = 0;
    let coreCount = 0;
    for (const p of c.pixels) {
      if ((saturation[p] as number) < 0.85 * maxS) continue;
      cr += data[p * 3] as number;
      cg += data[p * 3 + 1] as number;
      cb += data[p * 3 + 2] as number;
      coreCount++;
    }
    const mean = [cr, cg, cb].map((v) => v / Math.max(1, coreCount));
    const colour = colours[c.label] as Colour;
    // pixel = α·palette + β: dimming scales both, muting moves towards grey.
    const palette = colourRgb[colour];
    const pm = (palette[0] + palette[1] + palette[2]) / 3;
    const mm = ((mean[0] as number) + (mean[1] as number) + (mean[2] as number)) / 3;
    let num = 0;
    let den = 0;
    for (let k = 0; k < 3; k++) {
      num += ((palette[k] as number) - pm) * ((mean[k] as number) - mm);
      den += ((palette[k] as number) - pm) ** 2;
    }
    const alpha = den > 0 ? num / den : 1;
    const beta = mm - alpha * pm;
    const gain = alpha + 2 * beta;
    gainSum += gain * c.pixels.length;
    mutedSum += (gain > 0 ? (2 * beta) / gain : 0) * c.pixels.length;
    weightSum += c.pixels.length;
    cores.push(mean);
    objects.push({
      shape: 'circle',
      colour,
      size: 'medium',
      x: (sx / c.pixels.length + 0.5) / width,
      y: (sy / c.pixels.length + 0.5) / height,
      motion: 'still',
      speed: 'slow',
      area: c.pixels.length,
    });
  }
  const gain = weightSum > 0 ? gainSum / weightSum : 1;
  const muted = weightSum > 0 ? mutedSum / weightSum : 0;
  // Background: pixels away from objects.
  const near = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (objectMask[y * width + x] !== 1) continue;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx >= 0 && yy >= 0 && xx < width && yy < height) near[yy * width + xx] = 1;
      }
    }
  }
  const rowMeans = new Float32Array(height);
  const rowCounts = new Float32Array(height);
  const bgSum = [0, 0, 0];
  let bgCount = 0;
  const lum = (p: number) => ((data[p * 3] as number) + (data[p * 3 + 1] as number) + (data[p * 3 + 2] as number)) / 3;
  for (let p = 0; p < width * height; p++) {
    if (near[p] === 1) continue;
    const y = Math.floor(p / width);
    rowMeans[y] = (rowMeans[y] as number) + lum(p);
    rowCounts[y] = (rowCounts[y] as number) + 1;
    for (let k = 0; k < 3; k++) bgSum[k] = (bgSum[k] as number) + (data[p * 3 + k] as number);
    bgCount++;
  }
  for (let y = 0; y < height; y++) rowMeans[y] = (rowCounts[y] as number) > 0 ? (rowMeans[y] as number) / (rowCounts[y] as number) : NaN;
  const bgMean = bgSum.map((v) => v / Math.max(1, bgCount) / Math.max(0.3, Math.min(1, gain)));
  let tone: BackgroundTone = 'dark';
  let toneDistance = Infinity;
  for (const t of backgroundTones) {
    const rgb = toneRgb[t];
    const d = Math.abs(rgb[0] - (bgMean[0] as number)) + Math.abs(rgb[1] - (bgMean[1] as number)) + Math.abs(rgb[2] - (bgMean[2] as number));
    if (d < toneDistance) {
      toneDistance = d;
      tone = t;
    }
  }
  // Shapes and sizes: fit templates to each object's coverage over its local background.
  const owner = new Int32Array(width * height).fill(-1);
  const edgeRatios: number[] = [];
  comps.forEach((c, i) => {
    for (const p of c.pixels) owner[p] = i;
  });
  comps.forEach((c, i) => {
    const window = { x0: Math.max(0, c.x0 - 2), x1: Math.min(width - 1, c.x1 + 2), y0: Math.max(0, c.y0 - 2), y1: Math.min(height - 1, c.y1 + 2) };
    const local = [0, 0, 0];
    let localCount = 0;
    for (let y = window.y0; y <= window.y1; y++) for (let x = window.x0; x <= window.x1; x++) {
      const p = y * width + x;
      if (near[p] === 1) continue;
      for (let k = 0; k < 3; k++) local[k] = (local[k] as number) + (data[p * 3 + k] as number);
      localCount++;
    }
    const background = localCount > 0 ? local.map((v) => v / localCount) : bgMean.map((v) => v * gain);
    const core = cores[i] as number[];
    const direction = core.map((v, k) => v - (background[k] as number));
    const norm = direction.reduce((a, v) => a + v * v, 0);
    const coverage = new Float32Array(width * height);
    let cx = 0;
    let cy = 0;
    let total = 0;
    for (let y = window.y0; y <= window.y1; y++) for (let x = window.x0; x <= window.x1; x++) {
      const p = y * width + x;
      if (owner[p] !== -1 && owner[p] !== i) continue;
      let dot = 0;
      for (let k = 0; k < 3; k++) dot += ((data[p * 3 + k] as number) - (background[k] as number)) * (direction[k] as number);
      const a = norm > 1e-6 ? clamp01(dot / norm) : owner[p] === i ? 1 : 0;
      coverage[p] = a;
      cx += a * (x + 0.5);
      cy += a * (y + 0.5);
      total += a;
    }
    if (total <= 0) return;
    // Edge steepness for the blur estimate: the largest step between neighbours around this object.
    let steepest = 0;
    for (let y = window.y0; y <= window.y1; y++) for (let x = window.x0; x <= window.x1; x++) {
      const p = y * width + x;
      if (owner[p] !== -1 && owner[p] !== i) continue;
      for (const q of [x < window.x1 ? p + 1 : -1, y < window.y1 ? p + width : -1]) {
        if (q < 0 || (owner[q] !== -1 && owner[q] !== i)) continue;
        let d = 0;
        for (let k = 0; k < 3; k++) d += Math.abs((data[p * 3 + k] as number) - (data[q * 3 + k] as number));
        steepest = Math.max(steepest, d);
      }
    }
    const contrast = direction.reduce((a, v) => a + Math.abs(v), 0);
    if (contrast > 0.25) edgeRatios.push(Math.min(0.999, steepest / contrast));
    const fitted = fitShape(coverage, window, width, side, cx / total, cy / total);
    const o = objects[i] as PerceivedObject;
    objects[i] = { ...o, shape: fitted.shape, size: fitted.size };
  });
  // Gradient: top rows against bottom rows; texture: what is left after the row means, smoothed against noise.
  const quarter = Math.max(1, Math.floor(height / 4));
  const valid = (ys: number[]) => ys.map((y) => rowMeans[y] as number).filter((v) => !Number.isNaN(v));
  const topMean = valid(Array.from({ length: quarter }, (_, i) => i)).reduce((a, b) => a + b, 0) / Math.max(1, quarter);
  const bottomMean = valid(Array.from({ length: quarter }, (_, i) => height - 1 - i)).reduce((a, b) => a + b, 0) / Math.max(1, quarter);
  const slope = (topMean - bottomMean) / Math.max(0.3, gain);
  let textureEnergy = 0;
  let textureCount = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      let acc = 0;
      let ok = true;
      for (let dy = -1; dy <= 1 && ok; dy++) for (let dx = -1; dx <= 1; dx++) {
        const q = (y + dy) * width + x + dx;
        if (near[q] === 1) {
          ok = false;
          break;
        }
        acc += lum(q) - (rowMeans[y + dy] as number);
      }
      if (!ok) continue;
      textureEnergy += Math.abs(acc / 9);
      textureCount++;
    }
  }
  const texture = textureCount > 0 ? textureEnergy / textureCount / Math.max(0.3, gain) : 0;
  let kind: BackgroundKind = 'flat';
  if (texture > 0.025 + 0.12 * sigma) kind = 'texture';
  else if (Math.abs(slope) > 0.08) kind = 'gradient';
  // Blur: a Gaussian-blurred step of contrast C has a largest pixel step C·erf(0.5 / (σ√2)); invert it for σ in
  // pixels (less the spread anti-aliasing alone gives), then express σ as a share of the image side.
  const ratio = edgeRatios.length === 0 ? 0.999 : median(edgeRatios);
  const sigmaEffective = 0.5 / (Math.SQRT2 * inverseErf(ratio));
  const sigmaBlur = Math.sqrt(Math.max(0, sigmaEffective * sigmaEffective - EDGE_SIGMA * EDGE_SIGMA));
  // × 1.6: the largest of many edge steps overstates sharpness (edges cross pixels at every phase); measured on renders.
  const blur = clamp01((1.6 * sigmaBlur) / (0.05 * side));
  // Blocks: share of the gradient energy on a block grid, against the share expected by chance.
  let block = 0;
  for (let b = 2; b <= Math.max(2, Math.round(side * 0.14)); b++) {
    let onGrid = 0;
    let total = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width - 1; x++) {
        const p = y * width + x;
        let d = 0;
        for (let k = 0; k < 3; k++) d += Math.abs((data[(p + 1) * 3 + k] as number) - (data[p * 3 + k] as number));
        total += d;
        if ((x + 1) % b === 0) onGrid += d;
      }
    }
    if (total <= 1e-6) continue;
    const score = (onGrid / total - 1 / b) / (1 - 1 / b);
    if (score > 0.85) block = Math.max(block, clamp01((b / side - 0.04) / 0.08));
  }
  // Clipping: channels burnt out at 1.
  let pinned = 0;
  for (let i = 0; i < data.length; i++) if ((data[i] as number) >= 0.996) pinned++;
  // Overexposure also shows as an exposure gain above 1 in the objects' colour fit.
  const clip = clamp01(Math.max((pinned / data.length - 0.01) / 0.6, weightSum > 0 ? (gain - 1.02) / 1.4 : 0));
  // Clutter: grey pixels far from their row's background level, beyond what the noise explains.
  let clutterPixels = 0;
  for (let p = 0; p < width * height; p++) {
    if (near[p] === 1 || (saturation[p] as number) > 0.25) continue;
    const y = Math.floor(p / width);
    if (Math.abs(lum(p) - (rowMeans[y] as number)) > Math.max(0.2, 4 * sigma)) clutterPixels++;
  }
  const clutter = clamp01((clutterPixels / (width * height) - 0.004) / 0.03);
  const effects = noEffects();
  effects.noise = clamp01((sigma - 0.005) / 0.125);
  effects.blur = blur;
  effects.block = block;
  effects.clip = clip;
  effects.muted = weightSum > 0 ? clamp01((muted - 0.05) / 0.55) : 0;
  effects.dim = weightSum > 0 ? clamp01((0.97 - gain) / 0.55) : 0;
  effects.clutter = clutter;
  return { facts: { modality: 'image', objects, background: { kind, tone }, effects: { ...effects, identity: 0 } }, objects };
}

function motionOf(track: { x: number; y: number }[]): { motion: Motion; speed: 'slow' | 'fast'; jitter: number } {
  const n = track.length;
  const first = track[0] as { x: number; y: number };
  const last = track[n - 1] as { x: number; y: number };
  let path = 0;
  let jitter = 0;
  let ups = 0;
  let downs = 0;
  for (let i = 1; i < n; i++) {
    const a = track[i - 1] as { x: number; y: number };
    const b = track[i] as { x: number; y: number };
    path += Math.hypot(b.x - a.x, b.y - a.y);
    if (b.y < a.y - 0.01) ups++;
    if (b.y > a.y + 0.01) downs++;
    if (i < n - 1) {
      const c = track[i + 1] as { x: number; y: number };
      jitter += Math.hypot(c.x - 2 * b.x + a.x, c.y - 2 * b.y + a.y);
    }
  }
  jitter /= Math.max(1, n - 2);
  const dx = last.x - first.x;
  const dy = last.y - first.y;
  const net = Math.hypot(dx, dy);
  const step = path / Math.max(1, n - 1);
  if (path < 0.04) return { motion: 'still', speed: 'slow', jitter };
  let motion: Motion;
  let xs = 0;
  for (const p of track) xs = Math.max(xs, Math.abs(p.x - first.x));
  const firstStep = { x: (track[1] as { x: number }).x - first.x, y: (track[1] as { y: number }).y - first.y };
  const lastStep = { x: last.x - (track[n - 2] as { x: number }).x, y: last.y - (track[n - 2] as { y: number }).y };
  const turn = Math.acos(Math.max(-1, Math.min(1, (firstStep.x * lastStep.x + firstStep.y * lastStep.y) / (Math.hypot(firstStep.x, firstStep.y) * Math.hypot(lastStep.x, lastStep.y) + 1e-9))));
  if (ups > 0 && downs > 0 && xs < 0.04) motion = 'bounce';
  else if (turn > 1 && net / path < 0.9) motion = 'orbit';
  else motion = Math.abs(dx) > Math.abs(dy) ? (dx < 0 ? 'left' : 'right') : dy < 0 ? 'up' : 'down';
  return { motion, speed: step > 0.024 ? 'fast' : 'slow', jitter: motion === 'left' || motion === 'right' || motion === 'up' || motion === 'down' ? jitter : 0 };
}

/** What {@link perceiveVideo} recovers. */
export interface VideoPerception {
  readonly facts: SceneFacts;
  readonly frames: readonly ImagePerception[];
}

/** Recover facts from a video: per-frame perception, objects tracked from the middle frame, motion, flicker, jitter, freezing and identity changes. */
export function perceiveVideo(video: Video): VideoPerception {
  if (video.frames.length === 0) throw new RangeError('perceiveVideo: a video needs frames');
  const frames = video.frames.map((f) => perceiveImage(f));
  const middle = Math.floor((frames.length - 1) / 2);
  const anchors = (frames[middle] as ImagePerception).objects;
  const objects: FactObject[] = [];
  let identity = 0;
  let jitterSum = 0;
  let jitterCount = 0;
  const tracks: { x: number; y: number }[][] = [];
  for (const anchor of anchors) {
    const track: { x: number; y: number }[] = [];
    const seenColours: Colour[] = [];
    let previous = { x: anchor.x, y: anchor.y };
    for (let f = 0; f < frames.length; f++) {
      const candidates = (frames[f] as ImagePerception).objects;
      let best: PerceivedObject | undefined;
      let bestDistance = Infinity;
      for (const o of candidates) {
        const d = Math.hypot(o.x - previous.x, o.y - previous.y) + (o.shape === anchor.shape ? 0 : 0.1) + (o.colour === anchor.colour ? 0 : 0.05);
        if (d < bestDistance) {
          bestDistance = d;
          best = o;
        }
      }
      const point = best !== undefined && bestDistance < 0.35 ? { x: best.x, y: best.y } : previous;
      if (best !== undefined && bestDistance < 0.35) seenColours.push(best.colour);
      track.push(point);
      previous = point;
    }
    // Re-anchor from the middle outwards is implicit: the tracker walks from frame 0 starting at the anchor's spot.
    tracks.push(track);
    const { motion, speed, jitter } = motionOf(track);
    if (motion !== 'still' && jitter > 0) {
      jitterSum += jitter;
      jitterCount++;
    }
    const firstColour = seenColours[0] ?? anchor.colour;
    const lastColour = seenColours[seenColours.length - 1] ?? anchor.colour;
    const change = identitySeverity(firstColour, lastColour);
    identity = Math.max(identity, change);
    objects.push({ shape: anchor.shape, colour: firstColour, size: anchor.size, x: anchor.x, y: anchor.y, motion, speed, ...(change > 0 ? { becomes: lastColour } : {}) });
  }
  // Flicker: alternating changes of the mean brightness.
  const brightness = video.frames.map((f) => {
    let s = 0;
    for (let i = 0; i < f.data.length; i++) s += f.data[i] as number;
    return s / f.data.length;
  });
  const meanBrightness = brightness.reduce((a, b) => a + b, 0) / brightness.length;
  let swing = 0;
  for (let i = 1; i < brightness.length; i++) swing += Math.abs((brightness[i] as number) - (brightness[i - 1] as number));
  swing /= Math.max(1, brightness.length - 1);
  const flicker = clamp01((swing / Math.max(0.05, meanBrightness) - 0.03) / 0.6);
  // Frozen: trailing frames where nothing moves although things moved before.
  let movedBefore = false;
  let trailingStill = 0;
  for (let f = 1; f < frames.length; f++) {
    const moved = tracks.some((t) => Math.hypot((t[f] as { x: number }).x - (t[f - 1] as { x: number }).x, (t[f] as { y: number }).y - (t[f - 1] as { y: number }).y) > 0.006);
    if (moved) {
      movedBefore = true;
      trailingStill = 0;
    } else if (movedBefore) trailingStill++;
  }
  const frozen = movedBefore ? clamp01(trailingStill / ((frames.length - 1) * 0.5)) : 0;
  const average = (key: EffectKind) => frames.reduce((a, f) => a + (f.facts.effects[key] ?? 0), 0) / frames.length;
  const first = frames[0] as ImagePerception;
  const effects = {
    ...noEffects(),
    noise: average('noise'),
    blur: average('blur'),
    block: average('block'),
    clip: average('clip'),
    muted: average('muted'),
    dim: average('dim'),
    clutter: average('clutter'),
    flicker,
    jitter: jitterCount > 0 ? clamp01((jitterSum / jitterCount - 0.01) / 0.08) : 0,
    frozen,
    identity,
  };
  return { facts: { modality: 'video', objects, background: first.facts.background, effects }, frames };
}

/** Recover scene facts from any media (image or video). */
export function perceiveMedia(media: Media): SceneFacts {
  return isVideo(media) ? perceiveVideo(media).facts : perceiveImage(media).facts;
}

/** Options of {@link scoreGeneration}. */
export const scoreGenerationOptionsSchema = z.object({
  /** The prompt spec the media was generated for. */
  spec: promptSpecSchema,
  /** The generated image or video. */
  media: z.custom<Media>((v) => typeof v === 'object' && v !== null && ('frames' in v || 'data' in v), 'media must be an RgbImage or a Video'),
  /** Score under this context instead of the prompt's (null: none). */
  context: z.string().nullable().optional(),
});
/** Input of {@link scoreGeneration}. */
export type ScoreGenerationOptions = { spec: PromptSpecInput; media: Media; context?: string | null };

/** The pixel-level oracle's score of a generation. */
export interface GenerationScore {
  /** Context-weighted utility in [0, 1] (the oracle's utility, computed on facts recovered from pixels). */
  readonly utility: number;
  /** Per-category scores in [0, 1] (D only when the context brings one). */
  readonly categories: Readonly<Partial<Record<WorldCategoryId, number>>>;
  /** The recovered facts and their description. */
  readonly facts: SceneFacts;
  readonly description: string;
  /** Full criterion-level scores (categories other than A already scaled by `presence`). */
  readonly detail: CandidateScore;
  /**
   * How much of what the prompt asks for is shown, and nothing else ({@link generationPresence}: asked-for instances
   * matched one-to-one by perceived objects of the asked colour and shape, over the larger of the asked count and the
   * perceived count; in [0, 1]): the factor on every category but A (semantic alignment), so that a generation that
   * draws nothing — or colour blobs or confetti instead of the asked-for objects — earns nothing for drawing it cleanly.
   */
  readonly presence: number;
}

/**
 * Score a generated image or video that has no scene: recover facts from pixels ({@link perceiveMedia}), then score
 * them as the oracle scores a scene (same criteria, same context weights), with categories B, C and D scaled by
 * `presence` ({@link generationPresence}: the asked-for instances matched by perceived objects of the asked colour and
 * shape, divided by the larger of the asked and perceived counts; about 1 for a correct render, near 0 for a blank
 * frame, blobs of unrelated shapes or a spray of fragments). Category A is not scaled.
 * Utility and categories in [0, 1].
 */
export function scoreGeneration(options: ScoreGenerationOptions): GenerationScore {
  const o = scoreGenerationOptionsSchema.parse(options);
  const facts = perceiveMedia(o.media);
  if (facts.modality !== o.spec.modality) throw new RangeError(`scoreGeneration: ${facts.modality} media for a ${o.spec.modality} prompt`);
  const presence = generationPresence(o.spec, facts);
  const detail = scaleByPresence(scoreFacts({ spec: o.spec, facts, ...(o.context !== undefined ? { context: o.context } : {}) }), presence);
  const categories: Partial<Record<WorldCategoryId, number>> = {};
  for (const c of detail.categories) categories[c.id] = c.score;
  return { utility: detail.utility, categories, facts, description: describeFacts(facts), detail, presence };
}

/**
 * How much of what a prompt asks for a generation shows — and nothing else —, in [0, 1]: every asked-for instance (a
 * subject of count 3 is three instances) is matched one-to-one with at most one perceived object, greedily by
 * descending `colourSimilarity × shapeSimilarity` (1 for the asked colour and shape, 0.4 for a hue neighbour or a
 * similar shape, 0.16 for both, 0 when either is unrelated); presence is the sum of the matches over the larger of the
 * asked count and the number of perceived objects. So per subject at most `count` objects count, one object never
 * stands for two instances, an object of the right colour but an unrelated shape — a colour blob — counts nothing,
 * and a frame sprayed with many fragments (in the hope that some match) is divided by their number. A render of a
 * scene shows its objects (presence ≈ 1); a generation may show none, only blobs, or confetti. Prompts asking for
 * nothing give 1.
 */
export function generationPresence(spec: Pick<PromptSpec, 'subjects'>, facts: Pick<SceneFacts, 'objects'>): number {
  const requested = spec.subjects.reduce((sum, s) => sum + s.count, 0);
  if (requested === 0) return 1;
  const pairs: { subject: number; object: number; value: number }[] = [];
  spec.subjects.forEach((s, i) =>
    facts.objects.forEach((o, j) => {
      const value = colourSimilarity(s.colour, o.colour) * shapeSimilarity(s.shape, o.shape);
      if (value > 0) pairs.push({ subject: i, object: j, value });
    }),
  );
  // Best matches first; ties in a fixed order (subject, then object), so the result never depends on sort stability.
  pairs.sort((a, b) => b.value - a.value || a.subject - b.subject || a.object - b.object);
  const open = spec.subjects.map((s) => s.count);
  const used = new Uint8Array(facts.objects.length);
  let matched = 0;
  for (const p of pairs) {
    if ((open[p.subject] as number) <= 0 || used[p.object] === 1) continue;
    open[p.subject] = (open[p.subject] as number) - 1;
    used[p.object] = 1;
    matched += p.value;
  }
  return Math.min(1, matched / Math.max(requested, facts.objects.length));
}

/**
 * Scales every category but A (semantic alignment) by `presence` and recomputes the utility with the same weights:
 * an empty frame must not earn full marks for being clean and tidy (it scored 0.49, above the pre-trained generators),
 * nor a frame of colour blobs (with a bare object count as the gate, GRPO learned to paint them).
 */
export function scaleByPresence(score: CandidateScore, presence: number): CandidateScore {
  const categories = score.categories.map((c) => (c.id === 'A' ? c : { ...c, score: c.score * presence }));
  let utility = 0;
  for (const c of categories) utility += score.weights[c.id] * c.score;
  return { ...score, categories, utility };
}
