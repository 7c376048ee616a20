/**
 * The world's controlled vocabulary. Prompts, requirement lists, dense descriptions, questions and the teacher's
 * evidence all use exactly these words, so a small model reads and writes one language.
 */

/** The shapes of the world. */
export const shapes = ['circle', 'square', 'triangle', 'diamond', 'star', 'ring', 'cross'] as const;
/** A shape name. */
export type Shape = (typeof shapes)[number];

/** Plural forms used in natural prompt sentences. */
export const shapePlurals: Readonly<Record<Shape, string>> = {
  circle: 'circles',
  square: 'squares',
  triangle: 'triangles',
  diamond: 'diamonds',
  star: 'stars',
  ring: 'rings',
  cross: 'crosses',
};

/** The named object colours (saturated; backgrounds are never saturated, so objects stand out). */
export const colours = ['red', 'orange', 'yellow', 'green', 'cyan', 'blue', 'purple', 'pink'] as const;
/** A colour name. */
export type Colour = (typeof colours)[number];

/** RGB in [0, 1] of every named colour. No channel reaches 1, so clipping is measurable. */
export const colourRgb: Readonly<Record<Colour, readonly [number, number, number]>> = {
  red: [0.9, 0.13, 0.13],
  orange: [0.95, 0.52, 0.08],
  yellow: [0.93, 0.86, 0.1],
  green: [0.15, 0.72, 0.2],
  cyan: [0.08, 0.78, 0.85],
  blue: [0.14, 0.28, 0.92],
  purple: [0.55, 0.18, 0.82],
  pink: [0.95, 0.42, 0.72],
};

/** Object sizes; the value is the half-extent as a fraction of the image's shorter side. */
export const sizes = ['small', 'medium', 'large'] as const;
/** A size name. */
export type Size = (typeof sizes)[number];
/** Half-extent of each size, as a fraction of the image's shorter side. */
export const sizeRadius: Readonly<Record<Size, number>> = { small: 0.08, medium: 0.11, large: 0.145 };

/** Background kinds. */
export const backgroundKinds = ['flat', 'gradient', 'texture'] as const;
/** A background kind. */
export type BackgroundKind = (typeof backgroundKinds)[number];
/** Background tones (all desaturated). */
export const backgroundTones = ['dark', 'light', 'warm', 'cool'] as const;
/** A background tone. */
export type BackgroundTone = (typeof backgroundTones)[number];
/** Base RGB of every background tone. */
export const toneRgb: Readonly<Record<BackgroundTone, readonly [number, number, number]>> = {
  dark: [0.1, 0.1, 0.12],
  light: [0.88, 0.88, 0.86],
  warm: [0.84, 0.76, 0.64],
  cool: [0.36, 0.38, 0.43],
};

/** Motion labels of the video world (linear directions, a vertical bounce, an orbit around the centre). */
export const motions = ['still', 'left', 'right', 'up', 'down', 'bounce', 'orbit'] as const;
/** A motion label. */
export type Motion = (typeof motions)[number];
/** Motion speeds. */
export const speeds = ['slow', 'fast'] as const;
/** A motion speed. */
export type Speed = (typeof speeds)[number];

/** Spatial relations a prompt can ask for between two subjects. */
export const relations = ['left of', 'right of', 'above', 'below'] as const;
/** A spatial relation. */
export type Relation = (typeof relations)[number];

/** Number words for natural prompts (descriptions use digits). */
export const countWords = ['no', 'one', 'two', 'three', 'four', 'five', 'six'] as const;

/**
 * Faults that are not positional: quality faults (image and video) and aesthetic faults. Positional and
 * semantic faults (count, colour, shape, size, relation, missing, extra, motion, balance) change the scene itself.
 */
export const effectKinds = ['noise', 'blur', 'block', 'clip', 'muted', 'clutter', 'dim', 'flicker', 'jitter', 'frozen'] as const;
/** A render-time effect (a fault applied as post-processing or a global style change). */
export type EffectKind = (typeof effectKinds)[number];

/** Every kind of fault a candidate can carry, by category. */
export const faultKinds = {
  semantic: ['count', 'colour', 'shape', 'size', 'relation', 'missing', 'extra', 'motion'],
  quality: ['noise', 'blur', 'block', 'clip', 'flicker', 'jitter', 'identity', 'frozen'],
  aesthetic: ['muted', 'clutter', 'balance', 'dim'],
} as const;
/** A semantic fault. */
export type SemanticFault = (typeof faultKinds.semantic)[number];
/** A quality fault. */
export type QualityFault = (typeof faultKinds.quality)[number];
/** An aesthetic fault. */
export type AestheticFault = (typeof faultKinds.aesthetic)[number];
/** Any fault kind. */
export type FaultKind = SemanticFault | QualityFault | AestheticFault;
/** Quality faults that only exist in video. */
export const videoOnlyFaults: readonly FaultKind[] = ['flicker', 'jitter', 'identity', 'frozen', 'motion'];

/** The words a description uses for a visible effect. */
export const effectWords: Readonly<Record<EffectKind | 'identity', string>> = {
  noise: 'noisy',
  blur: 'blurred',
  block: 'blocky',
  clip: 'overexposed',
  muted: 'muted colour',
  clutter: 'cluttered',
  dim: 'dim',
  flicker: 'flicker',
  jitter: 'jitter',
  frozen: 'frozen',
  identity: 'changing',
};

/** Hue of each colour in degrees (for nearest-colour perception and colour similarity). */
export const colourHue: Readonly<Record<Colour, number>> = Object.fromEntries(
  colours.map((c) => [c, hueOf(colourRgb[c])]),
) as Record<Colour, number>;

/** The hue of an RGB triple in degrees [0, 360). */
export function hueOf(rgb: readonly [number, number, number] | readonly number[]): number {
  const r = rgb[0] ?? 0;
  const g = rgb[1] ?? 0;
  const b = rgb[2] ?? 0;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  if (d === 0) return 0;
  let h: number;
  if (max === r) h = ((g - b) / d) % 6;
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  h *= 60;
  return h < 0 ? h + 360 : h;
}

/** Similarity of two colours in [0, 1]: 1 same, 0.4 hue neighbours, 0 otherwise. */
export function colourSimilarity(a: Colour, b: Colour): number {
  if (a === b) return 1;
  return neighbourColours(a).includes(b) ? 0.4 : 0;
}

/** The two hue neighbours of a colour (what a perceiver confuses it with). */
export function neighbourColours(colour: Colour): Colour[] {
  const hue = colourHue[colour];
  const sorted = colours
    .filter((c) => c !== colour)
    .map((c) => ({ c, d: hueDistance(hue, colourHue[c]) }))
    .sort((x, y) => x.d - y.d);
  return sorted.slice(0, 2).map((x) => x.c);
}

/** Angular distance of two hues in degrees, in [0, 180]. */
export function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}

const similarShapes: Readonly<Record<Shape, readonly Shape[]>> = {
  circle: ['ring', 'square'],
  square: ['diamond', 'circle'],
  triangle: ['diamond', 'star'],
  diamond: ['square', 'triangle'],
  star: ['cross', 'triangle'],
  ring: ['circle'],
  cross: ['star'],
};

/** Shapes a perceiver confuses with this one. */
export function neighbourShapes(shape: Shape): readonly Shape[] {
  return similarShapes[shape];
}

/** Similarity of two shapes in [0, 1]: 1 same, 0.4 similar, 0 otherwise. */
export function shapeSimilarity(a: Shape, b: Shape): number {
  if (a === b) return 1;
  return similarShapes[a].includes(b) ? 0.4 : 0;
}
