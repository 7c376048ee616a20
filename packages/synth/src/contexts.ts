import type { BackgroundKind, BackgroundTone } from './vocabulary';

/**
 * Contexts: the purpose, mood or style a prompt's cue names. Each one weights the categories differently, may
 * tolerate some quality or aesthetic faults (a retro arcade likes blocks, a vintage photo likes grain), and brings
 * a self-generated category D with its own three criteria, scored on scene facts.
 */

/** What a D criterion reads: style facts of a candidate, each in [0, 1] unless said otherwise. */
export interface StyleFacts {
  readonly tone: BackgroundTone;
  readonly kind: BackgroundKind;
  /** Mean object size: 0 small, 0.5 medium, 1 large (0.5 when there are no objects). */
  readonly scale: number;
  /** How spread the objects are over the frame. */
  readonly spread: number;
  /** Number of objects. */
  readonly count: number;
  /** Severities of effects. */
  readonly noise: number;
  readonly blur: number;
  readonly block: number;
  readonly muted: number;
  readonly clutter: number;
  readonly dim: number;
  readonly imbalance: number;
  /** Mean speed of moving objects: 0 still, 0.5 slow, 1 fast (video; 0 for images). */
  readonly speed: number;
}

/** One criterion of a context's own category. */
export interface ContextCriterion {
  /** Criterion name as the judge writes it. */
  readonly name: string;
  /** The words a requirement list uses for what is wanted. */
  readonly wanted: string;
  /** Score in [0, 1] of a candidate's style facts. */
  readonly score: (facts: StyleFacts) => number;
  /** What a candidate shows for this criterion, in description words. */
  readonly seen: (facts: StyleFacts) => string;
}

/** Weights of the categories A (semantic), B (quality), C (aesthetic), D (the context's own). Sum to 1. */
export interface CategoryWeights {
  readonly A: number;
  readonly B: number;
  readonly C: number;
  readonly D: number;
}

/** A context cue with its taste. */
export interface ContextDefinition {
  /** Stable id. */
  readonly id: string;
  /** The cue as it appears at the end of a prompt sentence. */
  readonly cue: string;
  /** Short words for requirement lists ("app icon"). */
  readonly short: string;
  readonly weights: CategoryWeights;
  /** Multiplier of each fault's severity in B and C criteria (1 = counts fully, 0 = tolerated). */
  readonly tolerance: Readonly<Partial<Record<'noise' | 'blur' | 'block' | 'clip' | 'muted' | 'clutter' | 'dim', number>>>;
  /** The self-generated category D: its name, why a judge adds it, its criteria. */
  readonly category: { readonly name: string; readonly reason: string; readonly criteria: readonly ContextCriterion[] };
}

const toneScore = (values: Partial<Record<BackgroundTone, number>>) => (f: StyleFacts) => values[f.tone] ?? 0;
const kindScore = (values: Partial<Record<BackgroundKind, number>>) => (f: StyleFacts) => values[f.kind] ?? 0;
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const seenBackground = (f: StyleFacts) => `${f.tone} ${f.kind} background`;
const seenScale = (f: StyleFacts) => (f.scale >= 0.7 ? 'large shapes' : f.scale <= 0.3 ? 'small shapes' : 'medium shapes');
const seenColour = (f: StyleFacts) => (f.muted >= 0.25 ? 'muted colour' : f.dim >= 0.25 ? 'dim colour' : 'vivid colour');
const seenLayout = (f: StyleFacts) => (f.imbalance >= 0.3 ? 'off-center' : f.clutter >= 0.25 ? 'cluttered' : f.spread >= 0.5 ? 'spread out' : 'compact');
const peak = (value: number, at: number, width: number) => clamp01(1 - Math.abs(value - at) / width);

/** Every context of the world. Two are held out of training splits (see {@link heldOutContextIds}). */
export const contextDefinitions: readonly ContextDefinition[] = [
  {
    id: 'app-icon',
    cue: 'for a minimalist app icon',
    short: 'app icon',
    weights: { A: 0.3, B: 0.15, C: 0.15, D: 0.4 },
    tolerance: {},
    category: {
      name: 'Minimalism & Iconic Clarity',
      reason: 'an app icon must read at a glance',
      criteria: [
        { name: 'Plain flat backdrop', wanted: 'flat background', score: kindScore({ flat: 1, gradient: 0.4, texture: 0 }), seen: seenBackground },
        { name: 'Light backdrop', wanted: 'light background', score: toneScore({ light: 1, warm: 0.6, cool: 0.2, dark: 0 }), seen: seenBackground },
        { name: 'Bold large shapes', wanted: 'large shapes', score: (f) => f.scale, seen: seenScale },
      ],
    },
  },
  {
    id: 'night-wallpaper',
    cue: 'as a calm night wallpaper',
    short: 'night wallpaper',
    weights: { A: 0.25, B: 0.15, C: 0.15, D: 0.45 },
    tolerance: { dim: 0.1 },
    category: {
      name: 'Calm Night Mood',
      reason: 'a night wallpaper should feel dark and quiet',
      criteria: [
        { name: 'Dark night backdrop', wanted: 'dark background', score: toneScore({ dark: 1, cool: 0.7, warm: 0.1, light: 0 }), seen: seenBackground },
        { name: 'Quiet uncluttered scene', wanted: 'few quiet objects', score: (f) => clamp01(1 - f.clutter) * clamp01(1.2 - f.count / 6), seen: (f) => `${f.count} objects${f.clutter >= 0.25 ? ', cluttered' : ''}` },
        { name: 'Small gentle shapes', wanted: 'small slow shapes', score: (f) => clamp01(1 - f.scale) * (1 - 0.5 * f.speed), seen: (f) => `${seenScale(f)}${f.speed > 0.6 ? ', fast' : ''}` },
      ],
    },
  },
  {
    id: 'concert-poster',
    cue: 'for a vivid concert poster',
    short: 'concert poster',
    weights: { A: 0.25, B: 0.15, C: 0.2, D: 0.4 },
    tolerance: { clip: 0.3 },
    category: {
      name: 'Vivid Poster Impact',
      reason: 'a poster has to grab attention',
      criteria: [
        { name: 'Dark contrasting backdrop', wanted: 'dark background', score: toneScore({ dark: 1, cool: 0.6, warm: 0.2, light: 0 }), seen: seenBackground },
        { name: 'Vivid saturated colour', wanted: 'vivid colour', score: (f) => clamp01(1 - f.muted) * clamp01(1 - f.dim), seen: seenColour },
        { name: 'Large dominant shapes', wanted: 'large shapes', score: (f) => f.scale, seen: seenScale },
      ],
    },
  },
  {
    id: 'childrens-book',
    cue: "for a cheerful children's book",
    short: "children's book",
    weights: { A: 0.3, B: 0.15, C: 0.15, D: 0.4 },
    tolerance: {},
    category: {
      name: 'Cheerful Warmth',
      reason: "a children's book should feel warm and playful",
      criteria: [
        { name: 'Warm light backdrop', wanted: 'warm background', score: toneScore({ warm: 1, light: 0.6, cool: 0.1, dark: 0 }), seen: seenBackground },
        { name: 'Bright happy colour', wanted: 'bright colour', score: (f) => clamp01(1 - f.muted) * clamp01(1 - f.dim), seen: seenColour },
        { name: 'Storybook texture', wanted: 'textured background', score: kindScore({ texture: 1, gradient: 0.5, flat: 0 }), seen: seenBackground },
      ],
    },
  },
  {
    id: 'retro-arcade',
    cue: 'in a retro arcade style',
    short: 'retro arcade',
    weights: { A: 0.3, B: 0.1, C: 0.15, D: 0.45 },
    tolerance: { block: 0.1 },
    category: {
      name: 'Retro Pixel Style',
      reason: 'the prompt asks for an arcade look',
      criteria: [
        { name: 'Chunky pixel blocks', wanted: 'blocky pixels', score: (f) => peak(f.block, 0.7, 0.7), seen: (f) => (f.block >= 0.25 ? 'blocky' : 'smooth pixels') },
        { name: 'Dark screen backdrop', wanted: 'dark background', score: toneScore({ dark: 1, cool: 0.5, warm: 0, light: 0 }), seen: seenBackground },
        { name: 'Flat arcade backdrop', wanted: 'flat background', score: kindScore({ flat: 1, gradient: 0.3, texture: 0.2 }), seen: seenBackground },
      ],
    },
  },
  {
    id: 'vintage-photo',
    cue: 'like a faded vintage photo',
    short: 'vintage photo',
    weights: { A: 0.3, B: 0.1, C: 0.15, D: 0.45 },
    tolerance: { noise: 0.1, muted: 0, dim: 0.3 },
    category: {
      name: 'Faded Vintage Feel',
      reason: 'a vintage photo should look aged',
      criteria: [
        { name: 'Film grain', wanted: 'grain', score: (f) => peak(f.noise, 0.6, 0.6), seen: (f) => (f.noise >= 0.25 ? 'grainy' : 'no grain') },
        { name: 'Faded muted colour', wanted: 'muted colour', score: (f) => peak(f.muted, 0.7, 0.7), seen: seenColour },
        { name: 'Warm paper tone', wanted: 'warm background', score: toneScore({ warm: 1, light: 0.5, cool: 0.2, dark: 0.1 }), seen: seenBackground },
      ],
    },
  },
  {
    id: 'technical-diagram',
    cue: 'for a precise technical diagram',
    short: 'technical diagram',
    weights: { A: 0.5, B: 0.2, C: 0.05, D: 0.25 },
    tolerance: {},
    category: {
      name: 'Precision & Legibility',
      reason: 'a diagram must be exact and easy to read',
      criteria: [
        { name: 'Plain light page', wanted: 'light flat background', score: (f) => toneScore({ light: 1, warm: 0.5 })(f) * kindScore({ flat: 1, gradient: 0.5, texture: 0 })(f), seen: seenBackground },
        { name: 'Crisp clean edges', wanted: 'crisp edges', score: (f) => clamp01(1 - f.blur - f.block) * clamp01(1 - f.noise), seen: (f) => (f.blur >= 0.25 ? 'blurred' : f.noise >= 0.25 ? 'noisy' : f.block >= 0.25 ? 'blocky' : 'crisp') },
        { name: 'Even spacing', wanted: 'even spacing', score: (f) => clamp01(1 - f.imbalance) * clamp01(1 - f.clutter), seen: seenLayout },
      ],
    },
  },
  {
    id: 'abstract-art',
    cue: 'as bold abstract art',
    short: 'abstract art',
    weights: { A: 0.15, B: 0.15, C: 0.25, D: 0.45 },
    tolerance: { clutter: 0.3 },
    category: {
      name: 'Expressive Boldness',
      reason: 'abstract art is judged on its expression',
      criteria: [
        { name: 'Rich textured ground', wanted: 'textured background', score: kindScore({ texture: 1, gradient: 0.5, flat: 0 }), seen: seenBackground },
        { name: 'Intense colour', wanted: 'vivid colour', score: (f) => clamp01(1 - f.muted), seen: seenColour },
        { name: 'Dynamic spread', wanted: 'spread shapes', score: (f) => f.spread, seen: seenLayout },
      ],
    },
  },
  {
    id: 'dreamy-painting',
    cue: 'as a soft dreamy painting',
    short: 'dreamy painting',
    weights: { A: 0.2, B: 0.1, C: 0.25, D: 0.45 },
    tolerance: { blur: 0.1 },
    category: {
      name: 'Soft Dreamy Atmosphere',
      reason: 'the prompt asks for a dreamy mood',
      criteria: [
        { name: 'Soft focus', wanted: 'soft focus', score: (f) => peak(f.blur, 0.5, 0.5), seen: (f) => (f.blur >= 0.25 ? 'soft' : 'crisp') },
        { name: 'Gradient haze', wanted: 'gradient background', score: kindScore({ gradient: 1, flat: 0.3, texture: 0 }), seen: seenBackground },
        { name: 'Cool twilight tone', wanted: 'cool background', score: toneScore({ cool: 1, dark: 0.5, light: 0.3, warm: 0.2 }), seen: seenBackground },
      ],
    },
  },
  {
    id: 'corporate-slide',
    cue: 'for a clean corporate slide',
    short: 'corporate slide',
    weights: { A: 0.4, B: 0.2, C: 0.1, D: 0.3 },
    tolerance: {},
    category: {
      name: 'Clean Professional Look',
      reason: 'a slide should look tidy and restrained',
      criteria: [
        { name: 'Light neutral backdrop', wanted: 'light background', score: toneScore({ light: 1, cool: 0.4, warm: 0.4, dark: 0 }), seen: seenBackground },
        { name: 'Balanced layout', wanted: 'balanced layout', score: (f) => clamp01(1 - f.imbalance) * clamp01(1 - f.clutter), seen: seenLayout },
        { name: 'Restrained medium scale', wanted: 'medium shapes', score: (f) => peak(f.scale, 0.5, 0.6), seen: seenScale },
      ],
    },
  },
];

/** Weights when a prompt has no context cue (no category D). */
export const neutralWeights: CategoryWeights = { A: 0.5, B: 0.3, C: 0.2, D: 0 };

/** Contexts never used in train or validation splits; the held-out-contexts split uses only these. */
export const heldOutContextIds: readonly string[] = ['dreamy-painting', 'corporate-slide'];

/** Ids of every context. */
export const contextIds: readonly string[] = contextDefinitions.map((c) => c.id);

/** The definition of a context id, or undefined for none/unknown. */
export function contextById(id: string | null | undefined): ContextDefinition | undefined {
  if (id === null || id === undefined) return undefined;
  return contextDefinitions.find((c) => c.id === id);
}
