import { describe, expect, it } from 'vitest';
import { GrpoError, groupAdvantages, multiRewardAdvantages } from './index';

const close = (actual: number[], expected: number[], digits = 6) => {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i] as number, digits));
};

describe('groupAdvantages', () => {
  it('matches the REFERENCE check values', () => {
    close(groupAdvantages({ rewards: [0, 1, 0.5, 1] }).advantages, [-1.30531, 0.783186, -0.261062, 0.783186]);
    close(groupAdvantages({ rewards: [5 / 6, 0, 2 / 3, 0.5], epsilon: 1e-8 }).advantages, [0.92582, -1.38873, 0.46291, 0]);
    const equal = groupAdvantages({ rewards: [0.4, 0.4, 0.4] });
    expect(equal.advantages).toEqual([0, 0, 0]);
    expect(equal.fractionZeroStd).toBe(1);
  });
  it('normalises each group on its own and reports zero-std groups', () => {
    const r = groupAdvantages({ rewards: [0, 1, 0.5, 1, 3, 3, 3, 3], groupSize: 4 });
    close(r.advantages.slice(0, 4), [-1.30531, 0.783186, -0.261062, 0.783186]);
    expect(r.advantages.slice(4)).toEqual([0, 0, 0, 0]);
    expect(r.fractionZeroStd).toBe(0.5);
    expect(r.groupMeans).toEqual([0.625, 3]);
  });
  it('accepts explicit group ids in any order', () => {
    const a = groupAdvantages({ rewards: [0, 3, 1, 3, 0.5, 3, 1, 3], groupIds: [7, 2, 7, 2, 7, 2, 7, 2] });
    close([a.advantages[0]!, a.advantages[2]!, a.advantages[4]!, a.advantages[6]!], [-1.30531, 0.783186, -0.261062, 0.783186]);
  });
  it('scales by the batch std or not at all', () => {
    const rewards = [0, 2, 1, 1];
    const none = groupAdvantages({ rewards, groupSize: 2, scale: 'none' });
    expect(none.advantages).toEqual([-1, 1, 0, 0]);
    const batch = groupAdvantages({ rewards, groupSize: 2, scale: 'batch', epsilon: 0 });
    const std = Math.sqrt(((1 + 1 + 0 + 0) as number) / 3);
    close(batch.advantages, [-1 / std, 1 / std, 0, 0]);
    const population = groupAdvantages({ rewards: [0, 1], unbiased: false, epsilon: 0 });
    close(population.advantages, [-1, 1]);
  });
  it('leaves null rewards out of the statistics and gives them advantage 0', () => {
    const r = groupAdvantages({ rewards: [0, null, 1, 0.5, 1] });
    expect(r.valid).toEqual([true, false, true, true, true]);
    close(r.advantages, [-1.30531, 0, 0.783186, -0.261062, 0.783186]);
  });
  it('clips when asked', () => {
    const r = groupAdvantages({ rewards: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], epsilon: 0, clip: 2 });
    expect(r.advantages[9]).toBe(2);
  });
  it('rejects bad input with a typed error', () => {
    expect(() => groupAdvantages({ rewards: [0, 1, 2], groupSize: 2 })).toThrow(GrpoError);
    expect(() => groupAdvantages({ rewards: [0, Number.NaN] })).toThrow(/NaN|finite/);
    expect(() => groupAdvantages({ rewards: [] })).toThrow(GrpoError);
    try {
      groupAdvantages({ rewards: [1], groupIds: [1, 2] });
    } catch (error) {
      expect(GrpoError.isInstance(error) && error.code).toBe('invalid_options');
    }
  });
});

describe('multiRewardAdvantages', () => {
  it('normalises the components separately, blends, re-normalises over the batch and clips', () => {
    const overall = [5 / 6, 0, 2 / 3, 0.5];
    const category = [0, 1, 0.5, 1];
    const r = multiRewardAdvantages({
      components: [
        { name: 'overall', values: overall, weight: 0.3 },
        { name: 'category', values: category, weight: 0.7 },
      ],
      epsilon: 1e-4,
    });
    const zo = [0.92582, -1.38873, 0.46291, 0].map((v) => v * (0.36004 / (0.36004 + 1e-4)));
    const zc = [-1.30531, 0.783186, -0.261062, 0.783186];
    const blended = zo.map((v, i) => 0.3 * v + 0.7 * zc[i]!);
    const m = blended.reduce((a, b) => a + b, 0) / 4;
    const s = Math.sqrt(blended.reduce((a, b) => a + (b - m) ** 2, 0) / 3);
    close(r.advantages, blended.map((b) => (b - m) / (s + 1e-4)), 3);
    close(r.componentAdvantages[1]!, zc);
    // Re-normalised over the batch: unit std.
    const rm = r.advantages.reduce((a, b) => a + b, 0) / 4;
    expect(rm).toBeCloseTo(0, 9);
  });
  it('clips to ±5 by default and marks samples invalid when any component is null', () => {
    const n = 40;
    const values = Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 0));
    const r = multiRewardAdvantages({ components: [{ values }], epsilon: 0 });
    expect(r.advantages[0]).toBe(5);
    const withNull = multiRewardAdvantages({ components: [{ values: [0, 1, 0.5] }, { values: [1, null, 0] }] });
    expect(withNull.valid).toEqual([true, false, true]);
    expect(withNull.advantages[1]).toBe(0);
  });
  it('rejects components of different lengths', () => {
    expect(() => multiRewardAdvantages({ components: [{ values: [0, 1] }, { values: [1] }] })).toThrow(/component 1/);
  });
});
