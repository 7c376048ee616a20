import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairwiseArbitrary, publishedExample } from './arbitraries.test-helpers';
import { CriteriaError, checkConsistency, defaultCategoryWeights, groupRewards, pairOutcomeFromResult, probabilityAFromScores } from './index';
import type { PairOutcome, PairwiseAssessment, PointwiseAssessment } from './index';

const logistic = (x: number) => 1 / (1 + Math.exp(-x));

describe('probabilityAFromScores', () => {
  it('follows the documented formula on the published example', () => {
    // Category margins: A (8-2, 6-4, 7-3)/10 → (0.6+0.2+0.4)/3 = 0.4; B (−0.2, −0.4, 0.2)/3 = −0.1333;
    // C (0.4, 0.2, 0.2)/3 = 0.2667; D (0.4, 0.2)/2 = 0.3 (self-generated weight 0.5).
    const r = probabilityAFromScores(publishedExample);
    expect(r.categoryMargin.A).toBeCloseTo(0.4, 12);
    expect(r.categoryMargin.B).toBeCloseTo(-0.4 / 3, 12);
    expect(r.categoryMargin.C).toBeCloseTo(0.8 / 3, 12);
    expect(r.categoryMargin.D).toBeCloseTo(0.3, 12);
    const margin = (1 * 0.4 + 0.7 * (-0.4 / 3) + 0.7 * (0.8 / 3) + 0.5 * 0.3) / (1 + 0.7 + 0.7 + 0.5);
    expect(r.margin).toBeCloseTo(margin, 12);
    expect(r.probabilityA).toBeCloseTo(logistic(margin / 0.25), 12);
    expect(r.categoryProbabilityA.B).toBeCloseTo(logistic(-0.4 / 3 / 0.25), 12);
  });
  it('is 1 − P for the swapped assessment and respects the temperature and weights', () => {
    fc.assert(
      fc.property(pairwiseArbitrary(), fc.double({ min: 0.05, max: 5, noNaN: true }), (a, temperature) => {
        const swapped: PairwiseAssessment = {
          ...a,
          categories: a.categories.map((c) => ({ ...c, dims: c.dims.map((d) => ({ ...d, score_1: d.score_2, score_2: d.score_1 })) })),
        };
        const p = probabilityAFromScores(a, { temperature }).probabilityA;
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        expect(p + probabilityAFromScores(swapped, { temperature }).probabilityA).toBeCloseTo(1, 9);
      }),
    );
    const onlyA = probabilityAFromScores(publishedExample, { categoryWeights: { B: 0, C: 0 }, selfGeneratedWeight: 0 });
    expect(onlyA.margin).toBeCloseTo(0.4, 12);
  });
});

describe('checkConsistency', () => {
  it('finds nothing wrong with a consistent assessment', () => {
    expect(checkConsistency(publishedExample)).toEqual([]);
  });
  it('flags a category winner against its own scores and an overall winner against the majority and margin', () => {
    const bad = structuredClone(publishedExample);
    (bad.categories[1] as { cat_winner: string }).cat_winner = 'Image 1';
    bad.winner = 'Image 2';
    const codes = checkConsistency(bad).map((w) => [w.code, w.path]);
    expect(codes).toEqual([
      ['category_winner_contradicts_scores', '$.categories[1].cat_winner'],
      ['overall_winner_contradicts_categories', '$.winner'],
      ['overall_winner_contradicts_scores', '$.winner'],
    ]);
  });
  it('counts votes with weights on request', () => {
    const split = structuredClone(publishedExample);
    split.categories = split.categories.slice(0, 2);
    (split.categories[1] as { cat_winner: string }).cat_winner = 'Image 2';
    split.winner = 'Image 2';
    // One vote each: 1 vs 1, no contradiction; weighted: A (1.0) beats B (0.7).
    expect(checkConsistency(split).map((w) => w.code)).toEqual(['overall_winner_contradicts_scores']);
    expect(checkConsistency(split, { weightedMajority: true }).map((w) => w.code)).toContain('overall_winner_contradicts_categories');
  });
  it('checks pointwise scores against their criteria', () => {
    const p: PointwiseAssessment = {
      prompt: 'p',
      categories: [{ name: 'A', dims: [{ name: 'n', reason: 'r', score: 2 }], cat_reason: 'c', cat_score: 9 }],
      reason: 'r',
      score: 3,
    };
    expect(checkConsistency(p).map((w) => w.code)).toEqual(['category_score_contradicts_criteria', 'overall_score_contradicts_categories']);
  });
});

describe('groupRewards', () => {
  it('reproduces the win rates [5/6, 0, 2/3, 0.5] of a group of four (REFERENCE.md §3), tie = 0.5 each', () => {
    const outcomes: PairOutcome[] = [
      { i: 0, j: 1, overall: 1 },
      { i: 0, j: 2, overall: 1 },
      { i: 3, j: 0, overall: 0.5 },
      { i: 1, j: 2, overall: 0 },
      { i: 1, j: 3, overall: 0 },
      { i: 2, j: 3, overall: 1 },
    ];
    const r = groupRewards({ size: 4, outcomes, modality: 'image' });
    expect(r.overall.map((x) => x * 6)).toEqual([5, 0, 4, 3].map((x) => expect.closeTo(x, 12)));
    expect(r.missingPairs).toEqual([]);
    // No category outcomes: every category rate is 0.5, so reward = 0.3 × overall + 0.7 × 0.5.
    expect(r.reward).toEqual(r.overall.map((x) => expect.closeTo(0.3 * x + 0.35, 12)));
  });
  it('blends 0.3 × overall + 0.7 × the weighted category mean (image A/B/C 1/0.7/0.7, video 1/1/1)', () => {
    const outcomes: PairOutcome[] = [{ i: 0, j: 1, overall: 1, categories: { A: 1, B: 0, C: null, D: 1 } }];
    const image = groupRewards({ size: 2, outcomes, modality: 'image' });
    expect(image.categories).toEqual({ A: [1, 0], B: [0, 1], C: [0.5, 0.5] });
    const mean0 = (1 * 1 + 0.7 * 0 + 0.7 * 0.5) / 2.4;
    expect(image.categoryMean[0]).toBeCloseTo(mean0, 12);
    expect(image.reward[0]).toBeCloseTo(0.3 + 0.7 * mean0, 12);
    expect(image.reward[1]).toBeCloseTo(0.7 * (1 - mean0), 12);
    const video = groupRewards({ size: 2, outcomes, modality: 'video' });
    expect(video.categoryMean[0]).toBeCloseTo(1.5 / 3, 12);
    expect(defaultCategoryWeights('video')).toEqual({ A: 1, B: 1, C: 1 });
    const custom = groupRewards({ size: 2, outcomes, modality: 'image', overallWeight: 1, categoryWeight: 0, categories: ['A', 'D'] });
    expect(custom.reward).toEqual([1, 0]);
    expect(custom.categories.D).toEqual([1, 0]);
  });
  it('averages both orders of a pair and counts failures and missing pairs as 0.5', () => {
    const r = groupRewards({
      size: 3,
      outcomes: [
        { i: 0, j: 1, overall: 1 },
        { i: 1, j: 0, overall: 1 },
        { i: 0, j: 2, overall: null },
      ],
      modality: 'video',
    });
    expect(r.overall).toEqual([0.5, 0.5, 0.5]);
    expect(r.missingPairs).toEqual([[1, 2]]);
  });
  it('gives win rates in [0, 1] that sum to G/2 when every pair is judged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 7 }).chain((g) => {
          const pairs: [number, number][] = [];
          for (let i = 0; i < g; i++) for (let j = i + 1; j < g; j++) pairs.push([i, j]);
          return fc.tuple(
            fc.constant(g),
            fc.tuple(...pairs.map(([i, j]) => fc.record({ flip: fc.boolean(), overall: fc.option(fc.double({ min: 0, max: 1, noNaN: true })) }).map((o) => (o.flip ? { i: j, j: i, overall: o.overall } : { i, j, overall: o.overall })))),
          );
        }),
        ([g, outcomes]) => {
          const r = groupRewards({ size: g, outcomes, modality: 'image' });
          for (const x of [...r.overall, ...r.reward]) {
            expect(x).toBeGreaterThanOrEqual(-1e-12);
            expect(x).toBeLessThanOrEqual(1 + 1e-12);
          }
          expect(r.overall.reduce((a, b) => a + b, 0)).toBeCloseTo(g / 2, 9);
        },
      ),
    );
  });
  it('rejects outcomes outside the group', () => {
    expect(() => groupRewards({ size: 2, outcomes: [{ i: 0, j: 2, overall: 1 }], modality: 'image' })).toThrow(CriteriaError);
    expect(() => groupRewards({ size: 2, outcomes: [{ i: 1, j: 1, overall: 1 }], modality: 'image' })).toThrow(/not a pair/);
  });
});

describe('pairOutcomeFromResult', () => {
  it('turns failures into 0.5 and successes into hard or soft outcomes keyed by category id', () => {
    expect(pairOutcomeFromResult({ ok: false, error: { code: 'parse_error', message: 'x' } }, { i: 0, j: 1 })).toEqual({ i: 0, j: 1, overall: null, categories: {} });
    const renamed = structuredClone(publishedExample);
    (renamed.categories[0] as { name: string }).name = 'semantic alignment';
    const hard = pairOutcomeFromResult({ ok: true, assessment: renamed, probabilityA: 0.8 }, { i: 2, j: 0 });
    expect(hard).toEqual({ i: 2, j: 0, overall: 1, categories: { A: 1, B: 0, C: 1, D: 1 } });
    const soft = pairOutcomeFromResult({ ok: true, assessment: renamed, probabilityA: 0.8, categoryProbabilityA: { A: 0.9 } }, { i: 2, j: 0, soft: true });
    expect(soft.overall).toBe(0.8);
    expect(soft.categories).toEqual({ A: 0.9, B: null, C: null, D: null });
    const fromScores = pairOutcomeFromResult({ ok: true, assessment: renamed, probabilityA: 0.8 }, { i: 2, j: 0, soft: true });
    expect(fromScores.categories?.A).toBeCloseTo(logistic(0.4 / 0.25), 12);
  });
});
