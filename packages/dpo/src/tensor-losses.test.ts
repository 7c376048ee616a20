import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@flex/model';
import { dpoLoss, type DpoLossType } from './losses';
import { dpoLossTensor } from './tensor-losses';

const cases = [
  { lp: [-12, -15, -13, -14], beta: 0.1 },
  { lp: [-30, -25, -28, -27], beta: 0.5 },
  { lp: [-8, -40, -10, -20], beta: 0.1 },
] as const;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('dpoLossTensor', () => {
  for (const lossType of ['sigmoid', 'hinge', 'ipo', 'conservative'] as DpoLossType[]) {
    for (const beta of [0.1, 0.5]) {
      it(`${lossType} (β ${beta}) matches the number version on the REFERENCE check values, as one batch`, () => {
        const column = (k: number) => tf.tensor1d(cases.map((c) => c.lp[k] as number));
        const [pc, pr, rc, rr] = [0, 1, 2, 3].map(column) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const out = dpoLossTensor({ policyChosen: pc, policyRejected: pr, referenceChosen: rc, referenceRejected: rr }, { lossType, beta, labelSmoothing: 0.1 });
        const losses = out.losses.arraySync();
        const chosen = out.rewardsChosen.arraySync();
        const accuracies = out.accuracies.arraySync();
        const expected = cases.map((c) => dpoLoss({ policyChosen: c.lp[0], policyRejected: c.lp[1], referenceChosen: c.lp[2], referenceRejected: c.lp[3] }, { lossType, beta, labelSmoothing: 0.1 }));
        expected.forEach((e, i) => {
          expect(losses[i]).toBeCloseTo(e.loss, 4);
          expect(chosen[i]).toBeCloseTo(e.rewardChosen, 5);
          expect(accuracies[i]).toBe(e.accuracy);
        });
        expect(out.loss.dataSync()[0]).toBeCloseTo(expected.reduce((s, e) => s + e.loss, 0) / 3, 4);
        tf.dispose([pc, pr, rc, rr, out.loss, out.losses, out.rewardsChosen, out.rewardsRejected, out.accuracies]);
      });
    }
  }
  it('has the gradient of the sigmoid loss: d/dπc = −β σ(−βh)', () => {
    const pc = tf.variable(tf.tensor1d([-12]));
    const grads = tf.variableGrads(() => dpoLossTensor({ policyChosen: pc as unknown as tf.Tensor1D, policyRejected: tf.tensor1d([-15]), referenceChosen: tf.tensor1d([-13]), referenceRejected: tf.tensor1d([-14]) }, { beta: 0.1 }).loss, [pc]);
    const h = 2;
    expect(grads.grads[pc.name]?.dataSync()[0]).toBeCloseTo(-0.1 / (1 + Math.exp(0.1 * h)), 5);
    tf.dispose([pc, grads.value, ...Object.values(grads.grads)]);
  });
});
