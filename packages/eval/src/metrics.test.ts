import { describe, expect, it } from 'vitest';
import {
  bootstrapProportion,
  calibrationOf,
  computePreferenceMetrics,
  pairOutcomeSchema,
  quantile,
  tieCalibratedAccuracy,
  verdictFromProbability,
  type PairOutcomeInput,
} from './metrics';
import { createRandom, hashSeed } from './random';

// Six hand-made pairs; every expected number below is worked out by hand in the comments.
const records: PairOutcomeInput[] = [
  {
    id: '1', label: 'A', context: 'x', order: 'AB', prediction: 'A', probabilityA: 0.9,
    swappedPrediction: 'A', swappedProbabilityA: 0.8,
    categoryPredictions: { A: 'A', B: 'B' }, oracleCategoryWinners: { A: 'A', B: 'tie' },
  },
  {
    id: '2', label: 'B', context: 'x', order: 'BA', prediction: 'A', probabilityA: 0.6,
    swappedPrediction: 'B', swappedProbabilityA: 0.3,
    categoryPredictions: { A: 'A' }, oracleCategoryWinners: { A: 'B' },
  },
  {
    id: '3', label: 'tie', context: 'y', order: 'AB', prediction: 'A', probabilityA: 0.55,
    swappedPrediction: 'A', swappedProbabilityA: 0.52,
    categoryPredictions: { A: 'A' }, oracleCategoryWinners: { A: 'A', D: 'B' },
  },
  {
    id: '4', label: 'B', context: 'y', order: 'AB', prediction: 'B', probabilityA: 0.2,
    swappedPrediction: null, swappedProbabilityA: null, swappedError: { code: 'parse_error', message: 'bad' },
  },
  {
    id: '5', label: 'A', context: 'y', order: 'BA', prediction: null, probabilityA: null,
    error: { code: 'parse_error', message: 'bad' },
    swappedPrediction: 'A', swappedProbabilityA: 0.7, oracleCategoryWinners: { A: 'A' },
  },
  {
    id: '6', label: 'tie', order: 'AB', prediction: 'tie', probabilityA: 0.5,
    swappedPrediction: 'tie', swappedProbabilityA: 0.5,
  },
];

describe('computePreferenceMetrics', () => {
  const metrics = computePreferenceMetrics({ records, bootstrapSamples: 200, seed: 7 });

  it('computes diff and tau accuracy (failed calls count as wrong)', () => {
    // diff: pairs 1 ✓, 2 ✗, 4 ✓, 5 ✗ (failed) → 2/4. tau: 1 ✓ 2 ✗ 3 ✗ 4 ✓ 5 ✗ 6 ✓ → 3/6.
    expect(metrics.pairs).toBe(6);
    expect(metrics.accuracyDiff.value).toBe(0.5);
    expect(metrics.accuracyDiff.count).toBe(4);
    expect(metrics.accuracyTau.value).toBe(0.5);
    expect(metrics.accuracyTau.count).toBe(6);
  });

  it('computes accuracy of the order-averaged probability', () => {
    // non-tie labels: 1 (0.9, 0.8 → A ✓), 2 (0.6, 0.3 → 0.45 B ✓), 4 (0.2, failed → B ✓), 5 (failed, 0.7 → A ✓).
    expect(metrics.accuracyDiffBothOrders.value).toBe(1);
    expect(metrics.accuracyDiffBothOrders.count).toBe(4);
  });

  it('computes position consistency over pairs where both calls succeeded', () => {
    // both succeeded: 1 (A,A) ✓, 2 (A,B) ✗, 3 (A,A) ✓, 6 (tie,tie) ✓ → 3/4.
    expect(metrics.positionConsistency.value).toBe(0.75);
    expect(metrics.positionConsistency.count).toBe(4);
  });

  it('computes the first-slot win rate over successful non-tie calls in both orders', () => {
    // main: 1 slot1, 2 slot2 (A shown second), 3 slot1, 4 slot2; swapped: 1 slot2, 2 slot2, 3 slot2, 5 slot1.
    expect(metrics.firstSlotWinRate.value).toBe(3 / 8);
    expect(metrics.firstSlotWinRate.count).toBe(8);
  });

  it('counts calls, failures and predicted ties', () => {
    expect(metrics.calls).toBe(12);
    expect(metrics.parseFailureRate).toBeCloseTo(2 / 12, 12);
    expect(metrics.failureRate).toBeCloseTo(2 / 12, 12);
    // successful main calls: 1, 2, 3, 4, 6 → one tie.
    expect(metrics.predictedTieRate).toBeCloseTo(0.2, 12);
  });

  it('computes agreement per category with the oracle, ignoring oracle ties', () => {
    // A: 1 ✓, 2 ✗, 3 ✓, 5 ✗ (failed → missing) → 2/4, one missing. B: only a tie → empty. D: 3 missing → 0/1.
    expect(metrics.perCategory.A?.agreement.value).toBe(0.5);
    expect(metrics.perCategory.A?.agreement.count).toBe(4);
    expect(metrics.perCategory.A?.missing).toBe(1);
    expect(metrics.perCategory.B?.agreement.value).toBeNull();
    expect(metrics.perCategory.B?.agreement.count).toBe(0);
    expect(metrics.perCategory.D?.agreement.value).toBe(0);
    expect(metrics.perCategory.D?.missing).toBe(1);
  });

  it('computes accuracy per context', () => {
    expect(Object.keys(metrics.perContext)).toEqual(['(none)', 'x', 'y']);
    expect(metrics.perContext.x).toMatchObject({ pairs: 2, accuracyDiff: { value: 0.5 }, accuracyTau: { value: 0.5 } });
    expect(metrics.perContext.y?.accuracyDiff.value).toBe(0.5);
    expect(metrics.perContext.y?.accuracyTau.value).toBeCloseTo(1 / 3, 12);
    expect(metrics.perContext['(none)']).toMatchObject({ pairs: 1, accuracyDiff: { value: null, count: 0 } });
    expect(metrics.perContext['(none)']?.accuracyTau.value).toBe(1);
  });

  it('computes the calibration error and the reliability bins', () => {
    // non-tie labels with a probability: (0.9, A won), (0.6, B won), (0.2, B won).
    // ECE = (|1 − 0.9| + |0 − 0.6| + |0 − 0.2|) / 3 = 0.3; Brier = (0.01 + 0.36 + 0.04) / 3.
    expect(metrics.calibration.count).toBe(3);
    expect(metrics.calibration.ece).toBeCloseTo(0.3, 12);
    expect(metrics.calibration.brier).toBeCloseTo(0.41 / 3, 12);
    expect(metrics.calibration.bins).toHaveLength(10);
    expect(metrics.calibration.bins[9]).toMatchObject({ count: 1, frequency: 1 });
    expect(metrics.calibration.bins[9]?.meanProbability).toBeCloseTo(0.9, 12);
    expect(metrics.calibration.bins[6]).toMatchObject({ count: 1, frequency: 0 });
    expect(metrics.calibration.bins[0]).toMatchObject({ count: 0, frequency: null, meanProbability: null });
  });

  it('fits the tie margin that maximises tau', () => {
    // margin 0.075 turns pair 3 (|0.55 − 0.5| = 0.05, label tie) into a right tie: 4/6. Larger margins lose pair 4.
    expect(metrics.tieCalibrated.accuracyTau).toBeCloseTo(4 / 6, 12);
    expect(metrics.tieCalibrated.margin).toBeCloseTo(0.075, 12);
  });

  it('gives bootstrap intervals that bracket the value and repeat with the seed', () => {
    for (const e of [metrics.accuracyDiff, metrics.accuracyTau, metrics.positionConsistency]) {
      expect(e.lower).not.toBeNull();
      expect(e.lower as number).toBeLessThanOrEqual(e.value as number);
      expect(e.upper as number).toBeGreaterThanOrEqual(e.value as number);
    }
    expect(computePreferenceMetrics({ records, bootstrapSamples: 200, seed: 7 })).toEqual(metrics);
  });

  it('handles an empty benchmark and rejects malformed records', () => {
    const empty = computePreferenceMetrics({ records: [] });
    expect(empty.pairs).toBe(0);
    expect(empty.accuracyDiff.value).toBeNull();
    expect(empty.calibration.ece).toBeNull();
    expect(empty.parseFailureRate).toBeNull();
    expect(() => computePreferenceMetrics({ records: [{ ...records[0]!, probabilityA: 1.5 }] })).toThrow();
    expect(() => pairOutcomeSchema.parse({ id: 'x', label: 'C', prediction: 'A', probabilityA: 0.5 })).toThrow();
  });

  it('reports no position consistency when only one order was asked', () => {
    const one = computePreferenceMetrics({
      records: [{ id: 'a', label: 'A', prediction: 'A', probabilityA: 0.7 }],
      bootstrapSamples: 0,
    });
    expect(one.positionConsistency).toEqual({ value: null, lower: null, upper: null, count: 0 });
    expect(one.accuracyDiff).toEqual({ value: 1, lower: null, upper: null, count: 1 });
    expect(one.calls).toBe(1);
    expect(one.perContext).toEqual({});
  });
});

describe('bootstrapProportion', () => {
  it('is exact for constant outcomes', () => {
    expect(bootstrapProportion([1, 1, 1], 100, 1)).toEqual({ value: 1, lower: 1, upper: 1, count: 3 });
  });

  it('has about the normal-approximation width for a fair coin', () => {
    const random = createRandom(3);
    const outcomes = Array.from({ length: 400 }, () => (random() < 0.5 ? 1 : 0));
    const e = bootstrapProportion(outcomes, 2000, 11);
    // 95% half-width ≈ 1.96 · sqrt(0.25 / 400) = 0.049.
    const width = (e.upper as number) - (e.lower as number);
    expect(width).toBeGreaterThan(0.08);
    expect(width).toBeLessThan(0.12);
    expect(bootstrapProportion(outcomes, 2000, 12)).not.toEqual(e);
  });
});

describe('helpers', () => {
  it('interpolates quantiles like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([5], 0.975)).toBe(5);
    expect(() => quantile([], 0.5)).toThrow(RangeError);
  });

  it('maps probabilities to verdicts with a tie margin', () => {
    expect(verdictFromProbability(0.7, 0)).toBe('A');
    expect(verdictFromProbability(0.3, 0)).toBe('B');
    expect(verdictFromProbability(0.5, 0)).toBe('tie');
    expect(verdictFromProbability(0.54, 0.05)).toBe('tie');
    expect(verdictFromProbability(0.56, 0.05)).toBe('A');
  });

  it('bins P(A) = 1 into the last bin', () => {
    const c = calibrationOf([{ id: 'a', label: 'A', order: 'AB', prediction: 'A', probabilityA: 1 }], 4);
    expect(c.bins[3]).toMatchObject({ count: 1, meanProbability: 1, frequency: 1 });
    expect(c.ece).toBe(0);
  });

  it('keeps tau unchanged at margin 0 when no probability helps', () => {
    const t = tieCalibratedAccuracy([
      { id: 'a', label: 'A', order: 'AB', prediction: 'A', probabilityA: 0.9 },
      { id: 'b', label: 'B', order: 'AB', prediction: 'B', probabilityA: 0.1 },
    ]);
    expect(t).toEqual({ accuracyTau: 1, margin: 0 });
  });

  it('finds the same best tie margin as a brute-force search', () => {
    const random = createRandom(5);
    for (let trial = 0; trial < 20; trial++) {
      const rs = Array.from({ length: 30 }, (_, i) => {
        const p = Math.round(random() * 20) / 20;
        const label = (['A', 'B', 'tie'] as const)[Math.floor(random() * 3)]!;
        return pairOutcomeSchema.parse({ id: String(i), label, prediction: p >= 0.5 ? 'A' : 'B', probabilityA: p });
      });
      let brute = 0;
      for (const margin of [0, ...rs.map((r) => Math.abs(r.probabilityA! - 0.5) + 1e-9)]) {
        const right = rs.filter((r) => (Math.abs(r.probabilityA! - 0.5) < margin ? 'tie' : r.prediction) === r.label).length;
        brute = Math.max(brute, right / rs.length);
      }
      expect(tieCalibratedAccuracy(rs).accuracyTau).toBeCloseTo(brute, 12);
    }
  });

  it('derives seeds deterministically and differently per label', () => {
    expect(hashSeed(1, 'a')).toBe(hashSeed(1, 'a'));
    expect(hashSeed(1, 'a')).not.toBe(hashSeed(1, 'b'));
    expect(hashSeed(1, 'a')).not.toBe(hashSeed(2, 'a'));
    const random = createRandom(42);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += random();
    expect(sum / 10_000).toBeGreaterThan(0.48);
    expect(sum / 10_000).toBeLessThan(0.52);
  });
});
