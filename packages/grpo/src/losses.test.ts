import { describe, expect, it } from 'vitest';
import { aggregateLoss, approximateKl, clippedSurrogate, gaussianStepKl, GrpoError, klK3 } from './index';

describe('clippedSurrogate', () => {
  it('matches the REFERENCE check values', () => {
    const up = clippedSurrogate({ logProbs: [-0.5], oldLogProbs: [-1.0], advantages: 1, epsilonLow: 0.2, epsilonHigh: 0.28 });
    expect(up.ratios[0]).toBeCloseTo(1.648721, 6);
    expect(up.losses[0]).toBeCloseTo(-1.28, 10);
    expect(up.clipped[0]).toBe(true);
    expect(up.highClipped[0]).toBe(true);
    const down = clippedSurrogate({ logProbs: [-0.5], oldLogProbs: [-1.0], advantages: [-1], epsilonLow: 0.2, epsilonHigh: 0.28 });
    expect(down.losses[0]).toBeCloseTo(1.648721, 6);
    expect(down.clipped[0]).toBe(false);
  });
  it('clips low only for negative advantages and uses ε_high above', () => {
    const r = clippedSurrogate({
      logProbs: [Math.log(0.5), Math.log(0.5), Math.log(1.25), Math.log(1.3), 0],
      oldLogProbs: [0, 0, 0, 0, 0],
      advantages: [-2, 2, 1, 1, 3],
      epsilonLow: 0.2,
      epsilonHigh: 0.28,
    });
    expect(r.lowClipped).toEqual([true, false, false, false, false]);
    expect(r.highClipped).toEqual([false, false, false, true, false]);
    expect(r.losses[0]).toBeCloseTo(1.6, 10); // −min(−1, 0.8·−2)
    expect(r.losses[1]).toBeCloseTo(-1, 10); // ρA is the min
    expect(r.losses[2]).toBeCloseTo(-1.25, 10);
    expect(r.losses[3]).toBeCloseTo(-1.28, 10);
    expect(r.losses[4]).toBeCloseTo(-3, 10);
  });
  it('defaults ε_high to ε_low and rejects mismatched lengths', () => {
    const r = clippedSurrogate({ logProbs: [Math.log(1.5)], oldLogProbs: [0], advantages: 1 });
    expect(r.losses[0]).toBeCloseTo(-1.2, 10);
    expect(() => clippedSurrogate({ logProbs: [0, 0], oldLogProbs: [0], advantages: 1 })).toThrow(GrpoError);
    expect(() => clippedSurrogate({ logProbs: [0], oldLogProbs: [0], advantages: [1, 2] })).toThrow(/advantages/);
  });
  it('approximates the KL to the sampling policy as Flow-GRPO logs it', () => {
    expect(approximateKl({ logProbs: [-0.5, -1], oldLogProbs: [-1, -1] })).toBeCloseTo(0.0625, 12);
  });
});

describe('KL terms', () => {
  it('k3 is zero at equality, positive otherwise, and exact', () => {
    const k = klK3({ logProbs: [-1, -1, -2], referenceLogProbs: [-1, -2, -1] });
    expect(k[0]).toBe(0);
    expect(k[1]).toBeCloseTo(Math.exp(-1) + 1 - 1, 12);
    expect(k[2]).toBeCloseTo(Math.exp(1) - 1 - 1, 12);
  });
  it('closed Gaussian KL of a flow step averages over elements', () => {
    expect(gaussianStepKl({ mean: [1, 2, 3, 4], referenceMean: [1, 2, 3, 4], std: 0.3 })).toBe(0);
    expect(gaussianStepKl({ mean: [1, 0], referenceMean: [0, 0], std: 0.5 })).toBeCloseTo(1 / (2 * 0.25) / 2, 12);
    expect(() => gaussianStepKl({ mean: [1], referenceMean: [1], std: 0 })).toThrow(GrpoError);
  });
});

describe('aggregateLoss', () => {
  const losses = [
    [1, 1, 1, 1],
    [4, 0],
  ];
  it('per-sequence mean, per-token mean and Dr.GRPO differ as in TRL', () => {
    expect(aggregateLoss({ losses })).toBeCloseTo((1 + 2) / 2, 12);
    expect(aggregateLoss({ losses, mode: 'token-mean' })).toBeCloseTo(8 / 6, 12);
    expect(aggregateLoss({ losses, mode: 'dr-grpo' })).toBeCloseTo(8 / (2 * 4), 12);
    expect(aggregateLoss({ losses, mode: 'dr-grpo', maxLength: 8 })).toBeCloseTo(8 / 16, 12);
  });
  it('honours a mask and ignores empty sequences', () => {
    const mask = [
      [1, 1, 0, 0],
      [0, 0],
    ];
    expect(aggregateLoss({ losses, mask })).toBe(1);
    expect(aggregateLoss({ losses, mask, mode: 'token-mean' })).toBe(1);
    expect(() => aggregateLoss({ losses, mask: [[1]] })).toThrow(GrpoError);
  });
});
