import { describe, expect, it } from 'vitest';
import { dpoLoss, type DpoLossType } from './losses';

// REFERENCE.md §2 check values: (policy chosen, policy rejected, reference chosen, reference rejected; β).
const cases = [
  { lp: [-12, -15, -13, -14], beta: 0.1, expected: { sigmoid: 0.598139, hinge: 0.8, ipo: 9.0, conservative: 0.618139 }, rewards: [0.1, -0.1] },
  { lp: [-30, -25, -28, -27], beta: 0.5, expected: { sigmoid: 2.126928, hinge: 3.0, ipo: 25.0, conservative: 1.926928 }, rewards: [-1, 1] },
  { lp: [-8, -40, -10, -20], beta: 0.1, expected: { sigmoid: 0.105083, hinge: 0, ipo: 289, conservative: 0.325083 }, rewards: [0.2, -2] },
] as const;

describe('dpoLoss check values', () => {
  for (const c of cases) {
    const [policyChosen, policyRejected, referenceChosen, referenceRejected] = c.lp;
    const logProbs = { policyChosen, policyRejected, referenceChosen, referenceRejected };
    for (const lossType of Object.keys(c.expected) as DpoLossType[]) {
      it(`${lossType} on (${c.lp.join(', ')}; β ${c.beta})`, () => {
        const result = dpoLoss(logProbs, { lossType, beta: c.beta, labelSmoothing: 0.1 });
        expect(result.loss).toBeCloseTo(c.expected[lossType], 5);
        expect(result.rewardChosen).toBeCloseTo(c.rewards[0], 9);
        expect(result.rewardRejected).toBeCloseTo(c.rewards[1], 9);
        expect(result.margin).toBeCloseTo(c.rewards[0] - c.rewards[1], 9);
      });
    }
  }
  it('accuracy is 0 when the rejected reward is higher', () => {
    expect(dpoLoss({ policyChosen: -30, policyRejected: -25, referenceChosen: -28, referenceRejected: -27 }, { beta: 0.5 }).accuracy).toBe(0);
    expect(dpoLoss({ policyChosen: -12, policyRejected: -15, referenceChosen: -13, referenceRejected: -14 }).accuracy).toBe(1);
  });
  it('rejects non-finite log-probs and bad options', () => {
    expect(() => dpoLoss({ policyChosen: Number.NaN, policyRejected: 0, referenceChosen: 0, referenceRejected: 0 })).toThrow(/policyChosen/);
    expect(() => dpoLoss({ policyChosen: 0, policyRejected: 0, referenceChosen: 0, referenceRejected: 0 }, { beta: -1 })).toThrow();
  });
});
