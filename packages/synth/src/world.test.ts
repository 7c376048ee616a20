import { describe, expect, it } from 'vitest';
import { applyFault, buildCandidate, referenceScene, sampleStyle } from './candidates';
import { contextDefinitions, heldOutContextIds } from './contexts';
import { checkCandidate, describeScene, sceneQuestions } from './describe';
import { sceneFacts } from './facts';
import { judgePair, oracleOptionsSchema } from './oracle';
import { describeRequirements, isHeldOutCombination, promptSpecSchema, promptText, samplePromptSpec } from './prompt';
import type { PromptSpec } from './prompt';
import { Rng } from './random';
import { scoreFacts } from './score';

const spec: PromptSpec = promptSpecSchema.parse({
  modality: 'image',
  subjects: [
    { count: 2, colour: 'red', shape: 'circle' },
    { count: 1, colour: 'blue', shape: 'square', size: 'large' },
  ],
  relation: 'left of',
  context: 'app-icon',
});
const style = { tone: 'light', kind: 'flat', sizes: ['medium', 'large'], motions: ['still', 'still'], speed: 'slow' } as const;

describe('prompts', () => {
  it('writes natural sentences with the context cue', () => {
    expect(promptText(spec)).toBe('two red circles to the left of a large blue square, for a minimalist app icon');
    expect(describeRequirements(spec)).toBe('2 red circle, 1 large blue square, red circle left of blue square, app icon: flat background, light background, large shapes');
  });
  it('samples deterministic, valid specs and respects held-out combinations', () => {
    for (let seed = 0; seed < 200; seed++) {
      const s = samplePromptSpec({ modality: 'image', seed });
      expect(promptSpecSchema.safeParse(s).success).toBe(true);
      expect(s.subjects.some((x) => isHeldOutCombination(x.colour, x.shape))).toBe(false);
      expect(heldOutContextIds).not.toContain(s.context);
    }
    expect(samplePromptSpec({ modality: 'video', seed: 3 })).toEqual(samplePromptSpec({ modality: 'video', seed: 3 }));
  });
  it('has at least 8 contexts, each with its own category of 3 criteria', () => {
    expect(contextDefinitions.length).toBeGreaterThanOrEqual(8);
    for (const c of contextDefinitions) {
      expect(c.category.criteria).toHaveLength(3);
      const sum = c.weights.A + c.weights.B + c.weights.C + c.weights.D;
      expect(sum).toBeCloseTo(1, 6);
    }
  });
});

describe('descriptions', () => {
  it('describes a correct scene canonically and briefly', () => {
    const scene = referenceScene(spec, style, 1);
    const text = describeScene(scene);
    expect(text).toBe('2 red circle left, 1 large blue square right, light flat background');
    expect(text.split(/\s+/).length).toBeLessThan(40);
  });
  it('names visible faults and answers grounded questions', () => {
    const scene = applyFault(referenceScene(spec, style, 1), spec, 'blur', 0.8, new Rng(1));
    expect(describeScene(scene)).toContain('blurred');
    const qa = sceneQuestions(scene);
    expect(qa).toContainEqual({ kind: 'count', question: 'how many red circle?', answer: '2' });
    expect(qa).toContainEqual({ kind: 'relation', question: 'is the red circle left of the blue square?', answer: 'yes' });
    expect(qa).toContainEqual({ kind: 'fault', question: 'is it blurred?', answer: 'yes' });
    expect(qa).toContainEqual({ kind: 'fault', question: 'is it noisy?', answer: 'no' });
  });
  it('checks a candidate against each requirement', () => {
    const good = checkCandidate({ spec, scene: referenceScene(spec, { ...style, sizes: ['large', 'large'] }, 1) });
    expect(good.filter((c) => !c.met)).toEqual([]);
    expect(good.map((c) => c.wanted)).toContain('large shapes');
    const swapped = applyFault(referenceScene(spec, style, 1), spec, 'relation', 0.9, new Rng(2));
    const checks = checkCandidate({ spec, scene: swapped });
    const relation = checks.find((c) => c.wanted === 'red circle left of blue square');
    expect(relation).toMatchObject({ met: false, seen: 'red circle right of blue square' });
  });
});

describe('oracle', () => {
  const oracle = oracleOptionsSchema.parse({});
  it('scores every semantic fault below the correct scene', () => {
    const reference = referenceScene(spec, style, 1);
    const base = scoreFacts({ spec, facts: sceneFacts(reference) });
    for (const kind of ['count', 'colour', 'shape', 'size', 'relation', 'missing', 'extra'] as const) {
      const faulty = scoreFacts({ spec, facts: sceneFacts(applyFault(reference, spec, kind, 0.9, new Rng(5))) });
      expect(faulty.categories[0]!.score, kind).toBeLessThan(base.categories[0]!.score);
    }
  });
  it('grades severity: a severe fault costs more than a mild one', () => {
    const reference = referenceScene(spec, style, 1);
    const neutral = { ...spec, context: null };
    const base = scoreFacts({ spec: neutral, facts: sceneFacts(reference) }).utility;
    for (const kind of ['count', 'colour', 'noise', 'blur', 'muted', 'balance'] as const) {
      const mild = scoreFacts({ spec: neutral, facts: sceneFacts(applyFault(reference, spec, kind, 0.3, new Rng(5))) }).utility;
      const severe = scoreFacts({ spec: neutral, facts: sceneFacts(applyFault(reference, spec, kind, 1, new Rng(5))) }).utility;
      expect(mild, kind).toBeLessThan(base);
      // A shift of the composition is capped by the frame, so a severe imbalance can equal a mild one.
      if (kind === 'balance') expect(severe, kind).toBeLessThanOrEqual(mild);
      else expect(severe, kind).toBeLessThan(mild);
    }
  });
  it('flips a preference when the context changes', () => {
    const dark = buildCandidate(spec, { ...style, tone: 'dark' }, [], 3);
    const light = buildCandidate(spec, { ...style, tone: 'light' }, [], 3);
    const iconView = judgePair(spec, sceneFacts(dark.scene), sceneFacts(light.scene), oracle);
    const nightView = judgePair(spec, sceneFacts(dark.scene), sceneFacts(light.scene), oracle, 'night-wallpaper');
    expect(iconView.preferred).toBe('B');
    expect(nightView.preferred).toBe('A');
    expect(iconView.categoryWinners.D).toBe('B');
  });
  it('calls identical candidates a tie', () => {
    const c = buildCandidate(spec, sampleStyle(spec, new Rng(1)), [], 4);
    expect(judgePair(spec, sceneFacts(c.scene), sceneFacts(c.scene), oracle).preferred).toBe('tie');
  });
});

describe('splits', () => {
  const oracle = oracleOptionsSchema.parse({});
  it('keep held-out contexts and combinations out of training, and use them in the held-out split', async () => {
    const { samplePair } = await import('./pair');
    for (let i = 0; i < 150; i++) {
      const train = samplePair({ modality: 'image', seed: 1, split: 'train', oracle, sharedStyleRate: 0.3 }, i);
      expect(train.heldOutCombination).toBe(false);
      expect(heldOutContextIds).not.toContain(train.spec.context);
      const held = samplePair({ modality: 'image', seed: 1, split: 'heldout-contexts', oracle, sharedStyleRate: 0.3 }, i);
      expect(heldOutContextIds).toContain(held.spec.context);
    }
    const test = Array.from({ length: 150 }, (_, i) => samplePair({ modality: 'image', seed: 1, split: 'test', oracle, sharedStyleRate: 0.3 }, i));
    expect(test.some((d) => d.heldOutCombination)).toBe(true);
    // Splits draw different pairs from the same seed.
    expect(test[0]!.prompt === samplePair({ modality: 'image', seed: 1, split: 'validation', oracle, sharedStyleRate: 0.3 }, 0).prompt && test[1]!.prompt === samplePair({ modality: 'image', seed: 1, split: 'validation', oracle, sharedStyleRate: 0.3 }, 1).prompt).toBe(false);
  });
  it('draws labels like noisy people: mostly, not always, the noiseless preference', async () => {
    const { samplePair } = await import('./pair');
    let decisive = 0;
    let agree = 0;
    for (let i = 0; i < 400; i++) {
      const d = samplePair({ modality: 'image', seed: 2, split: 'train', oracle, sharedStyleRate: 0.3 }, i);
      expect(d.label === 'tie').toBe(d.judgement.preferred === 'tie');
      if (d.label === 'tie') continue;
      decisive++;
      if (d.label === d.judgement.preferred) agree++;
    }
    expect(agree / decisive).toBeGreaterThan(0.8);
    expect(agree / decisive).toBeLessThan(0.97);
  });
});
