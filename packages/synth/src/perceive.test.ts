import { describe, expect, it } from 'vitest';
import { applyFault, referenceScene } from './candidates';
import { describeFacts } from './describe';
import { sceneFacts } from './facts';
import { estimateNoise, perceiveImage, perceiveVideo, scoreGeneration } from './perceive';
import { promptSpecSchema } from './prompt';
import type { PromptSpec } from './prompt';
import { Rng } from './random';
import { renderScene } from './render';
import type { RgbImage, Video } from '@flex/criteria';

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
    expect(empty.utility).toBeLessThan(0.3);
    const scene = referenceScene(spec, style, 2);
    const good = scoreGeneration({ spec, media: renderScene({ scene, width: 32 }) });
    expect(good.presence).toBe(1);
    for (const [kind, severity] of [['colour', 0.9], ['count', 0.9], ['blur', 0.9], ['dim', 0.9]] as const) {
      const bad = scoreGeneration({ spec, media: renderScene({ scene: applyFault(scene, spec, kind, severity, new Rng(3)), width: 32 }) });
      expect(empty.utility, kind).toBeLessThan(bad.utility);
    }
  });

  it('rejects media of the wrong modality', () => {
    const scene = referenceScene(spec, style, 2);
    expect(() => scoreGeneration({ spec: { ...spec, modality: 'video' }, media: renderScene({ scene, width: 32 }) })).toThrow(RangeError);
  });
});
