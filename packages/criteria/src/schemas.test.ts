import { describe, expect, it } from 'vitest';
import { imagePairwiseAssessmentSchema, pointwiseAssessmentSchema, slotOfWinner, videoPairwiseAssessmentSchema } from './index';

const valid = {
  prompt: 'two red circles',
  categories: [
    {
      name: 'Semantic Alignment & Accuracy',
      dims: [{ name: 'Count of red circles', reason_1: 'two', reason_2: 'one', score_1: 8, score_2: 2 }],
      cat_reason: 'Image 1 has the right count',
      cat_winner: 'Image 1',
    },
  ],
  reason: 'Image 1 follows the prompt',
  winner: 'Image 1',
};

describe('schemas', () => {
  it('accepts the published image format and rejects video labels in it', () => {
    expect(imagePairwiseAssessmentSchema.safeParse(valid).success).toBe(true);
    expect(videoPairwiseAssessmentSchema.safeParse(valid).success).toBe(false);
  });
  it('enforces the sum of 10', () => {
    const bad = structuredClone(valid);
    bad.categories[0]!.dims[0]!.score_2 = 3;
    const r = imagePairwiseAssessmentSchema.safeParse(bad);
    expect(r.success).toBe(false);
  });
  it('validates pointwise assessments', () => {
    const p = { prompt: 'x', categories: [{ name: 'A', dims: [{ name: 'n', reason: 'r', score: 7 }], cat_reason: 'c', cat_score: 7 }], reason: 'r', score: 7 };
    expect(pointwiseAssessmentSchema.safeParse(p).success).toBe(true);
    expect(pointwiseAssessmentSchema.safeParse({ ...p, score: 11 }).success).toBe(false);
  });
  it('maps winners to slots', () => {
    expect(slotOfWinner('Image 2')).toBe(2);
    expect(slotOfWinner('Video 1')).toBe(1);
  });
});
