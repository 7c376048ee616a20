import { describe, expect, it } from 'vitest';
import { applyFault, referenceScene } from './candidates';
import { describeFacts } from './describe';
import { sceneFacts } from './facts';
import { estimateNoise, generationPresence, perceiveImage, perceiveMedia, perceiveVideo, scaleByPresence, scoreGeneration } from './perceive';
import { promptSpecSchema, samplePromptSpec } from './prompt';
import type { PromptSpec } from './prompt';
import { Rng } from './random';
import { renderScene } from './render';
import { sampleStyle } from './candidates';
import { scoreFacts } from './score';
import { colourRgb, shapes, shapeSimilarity, toneRgb } from './vocabulary';
import type { FactObject } from './facts';
import type { Media, RgbImage, Video } from '@flex/criteria';

const spec: PromptSpec = promptSpecSchema.parse({
  modality: 'image',
  subjects: [
    { count: 2, colour: 'red', shape: 'circle' },
    { count: 1, colour: 'blue', shape: 'square' },
  ],
  relation: 'left of',
  context: null,
});
const style = { tone: 'dark', kind: 'flat', sizes: ['medium', 'medium'], motions: ['still', 'still'], speed: 'slow' } as const;

describe('pixel-level perception', () => {
  it('recovers objects, colours, shapes, positions and background from a 32×32 render', () => {
    const scene = referenceScene(spec, style, 2);
    const { facts } = perceiveImage(renderScene({ scene, width: 32 }) as RgbImage);
    expect(describeFacts(facts)).toBe(describeFacts(sceneFacts(scene)));
  });
  it('recovers every shape at 48×48', () => {
    for (const shape of ['circle', 'square', 'triangle', 'diamond', 'star', 'ring', 'cross'] as const) {
      const s = promptSpecSchema.parse({ ...spec, subjects: [{ count: 1, colour: 'green', shape }], relation: undefined });
      const scene = referenceScene(s, { ...style, sizes: ['large'] }, 3);
      const { facts } = perceiveImage(renderScene({ scene, width: 48 }) as RgbImage);
      expect(facts.objects.map((o) => o.shape), shape).toEqual([shape]);
    }
  });
  it('measures noise and notices blur', () => {
    const scene = referenceScene(spec, style, 2);
    const clean = renderScene({ scene, width: 32 }) as RgbImage;
    const noisy = renderScene({ scene: applyFault(scene, spec, 'noise', 0.6, new Rng(1)), width: 32 }) as RgbImage;
    expect(estimateNoise(clean)).toBeLessThan(0.01);
    expect(estimateNoise(noisy)).toBeGreaterThan(0.06);
    const blurred = perceiveImage(renderScene({ scene: applyFault(scene, spec, 'blur', 1, new Rng(1)), width: 32 }) as RgbImage);
    expect(blurred.facts.effects.blur).toBeGreaterThan(0.4);
    expect(perceiveImage(clean).facts.effects.blur).toBeLessThan(0.2);
  });
  it('recovers motion from a video', () => {
    const video = promptSpecSchema.parse({ modality: 'video', subjects: [{ count: 1, colour: 'yellow', shape: 'star', motion: 'left' }], context: null });
    const scene = { ...referenceScene(video, { ...style, sizes: ['medium'], motions: ['left'], speed: 'fast' }, 4), frames: 8 };
    const { facts } = perceiveVideo(renderScene({ scene, width: 32 }) as Video);
    expect(facts.objects).toHaveLength(1);
    expect(facts.objects[0]).toMatchObject({ colour: 'yellow', shape: 'star', motion: 'left', speed: 'fast' });
  });
  it('scores a correct video above a frozen one and one with the wrong motion', () => {
    const video = promptSpecSchema.parse({ modality: 'video', subjects: [{ count: 1, colour: 'green', shape: 'square', motion: 'right' }], context: null });
    const scene = { ...referenceScene(video, { ...style, sizes: ['large'], motions: ['right'], speed: 'fast' }, 6), frames: 8 };
    const good = scoreGeneration({ spec: video, media: renderScene({ scene, width: 32 }) });
    expect(good.categories.A).toBeGreaterThan(0.9);
    for (const kind of ['motion', 'frozen', 'flicker'] as const) {
      const bad = scoreGeneration({ spec: video, media: renderScene({ scene: applyFault(scene, video, kind, 0.9, new Rng(2)), width: 32 }) });
      expect(bad.utility, kind).toBeLessThan(good.utility - 0.05);
    }
  });
  it('scores a correct render above faulty ones (semantic, quality, aesthetic)', () => {
    const scene = referenceScene(spec, style, 2);
    const good = scoreGeneration({ spec, media: renderScene({ scene, width: 32 }) });
    expect(good.utility).toBeGreaterThan(0.9);
    for (const [kind, severity] of [['colour', 0.9], ['count', 0.9], ['relation', 0.9], ['noise', 0.8], ['blur', 0.9], ['muted', 0.9], ['dim', 0.9]] as const) {
      const bad = scoreGeneration({ spec, media: renderScene({ scene: applyFault(scene, spec, kind, severity, new Rng(3)), width: 32 }) });
      expect(bad.utility, kind).toBeLessThan(good.utility - 0.05);
    }
    expect(Object.keys(good.categories).sort()).toEqual(['A', 'B', 'C']);
    const withContext = scoreGeneration({ spec, media: renderScene({ scene, width: 32 }), context: 'night-wallpaper' });
    expect(withContext.categories.D).toBeGreaterThan(0);
  });
  it('an empty frame earns nothing for quality, aesthetics or context, and scores below every faulty render', () => {
    const blank = { width: 32, height: 32, data: new Float32Array(32 * 32 * 3).fill(0.5) };
    const empty = scoreGeneration({ spec, media: blank, context: 'night-wallpaper' });
    expect(empty.presence).toBe(0);
    expect(empty.categories.B).toBe(0);
    expect(empty.categories.C).toBe(0);
    expect(empty.categories.D).toBe(0);
    expect(empty.utility).toBeLessThan(0.1);
    const scene = referenceScene(spec, style, 2);
    const good = scoreGeneration({ spec, media: renderScene({ scene, width: 32 }) });
    expect(good.presence).toBe(1);
    for (const [kind, severity] of [['colour', 0.9], ['count', 0.9], ['blur', 0.9], ['dim', 0.9]] as const) {
      const bad = scoreGeneration({ spec, media: renderScene({ scene: applyFault(scene, spec, kind, severity, new Rng(3)), width: 32 }) });
      expect(empty.utility, kind).toBeLessThan(bad.utility);
    }
  });

  describe('the presence gate (asked-for objects, not any blob)', () => {
    const object = (colour: FactObject['colour'], shape: FactObject['shape']): FactObject => ({ colour, shape, size: 'medium', x: 0.5, y: 0.5, motion: 'still', speed: 'slow' });
    const two = promptSpecSchema.parse({ modality: 'image', subjects: [{ count: 2, colour: 'red', shape: 'circle' }, { count: 1, colour: 'blue', shape: 'square' }], context: null });

    it('matches asked-for instances one-to-one by colour × shape similarity, at most count per subject, over max(asked, perceived)', () => {
      expect(generationPresence(two, { objects: [] })).toBe(0);
      expect(generationPresence(two, { objects: [object('red', 'circle'), object('red', 'circle'), object('blue', 'square')] })).toBe(1);
      // More red circles than asked do not stand in for the missing blue square, and the surplus divides.
      expect(generationPresence(two, { objects: [object('red', 'circle'), object('red', 'circle')] })).toBeCloseTo(2 / 3, 10);
      expect(generationPresence(two, { objects: [object('red', 'circle'), object('red', 'circle'), object('red', 'circle'), object('red', 'circle')] })).toBeCloseTo(2 / 4, 10);
      // Spraying fragments: the asked objects plus five unrelated ones.
      const spray = [object('red', 'circle'), object('red', 'circle'), object('blue', 'square'), ...['green', 'yellow', 'purple', 'pink', 'cyan'].map((c) => object(c as FactObject['colour'], 'star'))];
      expect(generationPresence(two, { objects: spray })).toBeCloseTo(3 / 8, 10);
      // Right colour, unrelated shape: nothing. Hue neighbour (orange) of a similar shape (ring): 0.4 × 0.4.
      expect(generationPresence(two, { objects: [object('red', 'triangle'), object('blue', 'star')] })).toBe(0);
      expect(generationPresence(two, { objects: [object('orange', 'ring')] })).toBeCloseTo(0.16 / 3, 10);
      // One object never counts for two instances, and the better match is kept.
      expect(generationPresence(two, { objects: [object('red', 'ring'), object('red', 'circle')] })).toBeCloseTo((1 + 0.4) / 3, 10);
      expect(generationPresence(two, { objects: [object('red', 'circle')] })).toBeCloseTo(1 / 3, 10);
      expect(generationPresence({ subjects: [] }, { objects: [] })).toBe(1);
    });

    // A spread of prompts (one to three subjects' worth of objects, with and without relations) and styles.
    const cases = Array.from({ length: 40 }, (_, i) => {
      const s = samplePromptSpec({ modality: 'image', seed: 500 + i });
      return { spec: s, scene: referenceScene(s, sampleStyle(s, new Rng(i)), i + 7919) };
    });
    const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const countGate = (s: PromptSpec, objects: readonly unknown[]) => Math.min(1, objects.length / s.subjects.reduce((a, x) => a + x.count, 0));
    const wrongShapes = (i: number): Media => {
      const { scene } = cases[i] as (typeof cases)[number];
      const objects = scene.objects.map((o, k) => {
        const unrelated = shapes.filter((x) => shapeSimilarity(x, o.shape) === 0);
        return { ...o, shape: unrelated[(i + k) % unrelated.length] as (typeof shapes)[number] };
      });
      return renderScene({ scene: { ...scene, objects }, width: 32 });
    };
    /** The reward hack of the GRPO bench: one large ellipse of each asked colour, side by side. */
    const blobs = (i: number): RgbImage => {
      const { spec: s } = cases[i] as (typeof cases)[number];
      const size = 32;
      const data = new Float32Array(size * size * 3);
      const n = s.subjects.length;
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        let rgb: readonly number[] = toneRgb[(['dark', 'light', 'warm', 'cool'] as const)[i % 4] ?? 'dark'];
        s.subjects.forEach((subject, k) => {
          const u = ((x + 0.5) / size - (k + 0.5) / n) / (0.5 / n + 0.03);
          const v = ((y + 0.5) / size - 0.5) / 0.38;
          if (u * u + v * v <= 1) rgb = colourRgb[subject.colour];
        });
        for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = rgb[c] as number;
      }
      return { width: size, height: size, data };
    };

    /** The second reward hack: a spray of small fragments in every palette colour (4×4 patches on a 4×4 grid). */
    const confetti = (i: number): RgbImage => {
      const size = 32;
      const data = new Float32Array(size * size * 3);
      const tone = toneRgb[(['dark', 'light', 'warm', 'cool'] as const)[i % 4] ?? 'dark'];
      const palette = Object.values(colourRgb);
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        const cell = Math.floor(y / 8) * 4 + Math.floor(x / 8);
        const inside = x % 8 >= 2 && x % 8 < 6 && y % 8 >= 2 && y % 8 < 6;
        const rgb = inside ? (palette[(cell + i) % palette.length] as readonly number[]) : tone;
        for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = rgb[c] as number;
      }
      return { width: size, height: size, data };
    };

    it('leaves correct renders where the object-count gate had them, and A untouched', () => {
      const before: number[] = [];
      const after: number[] = [];
      cases.forEach(({ spec: s, scene }) => {
        const media = renderScene({ scene, width: 32 });
        const facts = perceiveMedia(media);
        const raw = scoreFacts({ spec: s, facts });
        const scored = scoreGeneration({ spec: s, media });
        before.push(scaleByPresence(raw, countGate(s, facts.objects)).utility);
        after.push(scored.utility);
        expect(scored.categories.A).toBe(raw.categories.find((c) => c.id === 'A')?.score);
      });
      expect(mean(after)).toBeGreaterThan(0.7);
      expect(Math.abs(mean(after) - mean(before))).toBeLessThan(0.01);
    });

    it('gives blobs of the asked colours, confetti and the asked objects in unrelated shapes clearly less than a correct render', () => {
      const correct = mean(cases.map(({ spec: s, scene }) => scoreGeneration({ spec: s, media: renderScene({ scene, width: 32 }) }).utility));
      for (const [name, make] of [['wrong shapes', wrongShapes], ['blobs', blobs], ['confetti', confetti]] as const) {
        const scored = cases.map(({ spec: s }, i) => ({ s, media: make(i), score: scoreGeneration({ spec: s, media: make(i) }) }));
        expect(mean(scored.map((x) => x.score.presence)), name).toBeLessThan(0.25);
        expect(mean(scored.map((x) => x.score.utility)), name).toBeLessThan(correct - 0.35);
        // Under the object-count gate the same frames kept most of a correct render's score; A is the same under both.
        const counted = scored.map(({ s, media, score }) => {
          const facts = perceiveMedia(media);
          const raw = scoreFacts({ spec: s, facts });
          expect(score.categories.A).toBe(raw.categories.find((c) => c.id === 'A')?.score);
          return scaleByPresence(raw, countGate(s, facts.objects)).utility;
        });
        expect(mean(counted), name).toBeGreaterThan(mean(scored.map((x) => x.score.utility)) + 0.2);
      }
    });
  });

  it('rejects media of the wrong modality', () => {
    const scene = referenceScene(spec, style, 2);
    expect(() => scoreGeneration({ spec: { ...spec, modality: 'video' }, media: renderScene({ scene, width: 32 }) })).toThrow(RangeError);
  });
});
