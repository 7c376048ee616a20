import { describe, expect, it } from 'vitest';
import { heldOutContextIds } from './contexts';
import { candidateSupervision, renderReference, sampleGenerationPrompts } from './generation';
import { scoreGeneration } from './perceive';
import { isHeldOutCombination } from './prompt';
import type { RgbImage } from '@flex/criteria';

describe('generation prompts', () => {
  it('draws deterministic prompts with correct references', () => {
    const prompts = sampleGenerationPrompts({ count: 12, seed: 4 });
    expect(sampleGenerationPrompts({ count: 12, seed: 4 })).toEqual(prompts);
    for (const p of prompts) {
      expect(p.referenceUtility).toBeGreaterThan(0.6);
      expect(p.spec.subjects.some((s) => isHeldOutCombination(s.colour, s.shape))).toBe(false);
      expect(heldOutContextIds).not.toContain(p.spec.context);
      const checks = candidateSupervision({ spec: p.spec, scene: p.reference }).checks.filter((c) => c.category === 'A');
      expect(checks.every((c) => c.met), JSON.stringify(checks)).toBe(true);
    }
  });
  it('has held-out sets', () => {
    const contexts = sampleGenerationPrompts({ count: 10, seed: 1, set: 'heldout-contexts' });
    expect(contexts.every((p) => p.spec.context !== null && heldOutContextIds.includes(p.spec.context))).toBe(true);
    const combos = sampleGenerationPrompts({ count: 10, seed: 1, set: 'heldout-combinations' });
    expect(combos.every((p) => p.spec.subjects.some((s) => isHeldOutCombination(s.colour, s.shape)))).toBe(true);
  });
  it('renders references that the pixel-level oracle scores well', () => {
    const prompts = sampleGenerationPrompts({ count: 6, seed: 8 });
    for (const p of prompts) {
      const image = renderReference(p, { width: 48 }) as RgbImage;
      expect(image.width).toBe(48);
      const score = scoreGeneration({ spec: p.spec, media: image });
      expect(score.categories.A, `${p.prompt} → ${score.description}`).toBeGreaterThan(0.6);
    }
  });
  it('keeps descriptions short at default scene sizes', () => {
    for (const p of sampleGenerationPrompts({ count: 50, seed: 2, modality: 'video' })) {
      const s = candidateSupervision({ spec: p.spec, scene: p.reference });
      expect(s.description.split(/\s+/).length).toBeLessThan(40);
      expect(s.intent.split(/\s+/).length).toBeLessThan(40);
      expect(s.questions.length).toBeGreaterThan(5);
    }
  });
});
