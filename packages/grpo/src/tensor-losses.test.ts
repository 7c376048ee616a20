import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@flex/model';
import { aggregateLoss, clippedSurrogate, gaussianKlTensor, gaussianStepKl, GrpoError, grpoLossTensor, klK3, klK3Tensor } from './index';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('tensor losses', () => {
  it('match the REFERENCE check values and the pure functions, with the right gradients', () => {
    const logProbs = tf.variable(tf.tensor2d([[-0.5, -0.5]]));
    const old = tf.tensor2d([[-1, -1]]);
    for (const a of [1, -1]) {
      const advantages = tf.tensor1d([a]);
      const { value, grads } = tf.variableGrads(() => grpoLossTensor({ logProbs, oldLogProbs: old, advantages, epsilonLow: 0.2, epsilonHigh: 0.28 }).loss, [logProbs]);
      const expected = a > 0 ? -1.28 : 1.648721;
      expect(value.dataSync()[0]).toBeCloseTo(expected, 5);
      const grad = grads[logProbs.name]!.dataSync();
      // Clipped (A > 0): no gradient. A < 0: d(−ρA)/dlogπ = ρ, averaged over the two tokens.
      if (a > 0) expect(Array.from(grad)).toEqual([0, 0]);
      else grad.forEach((g) => expect(g).toBeCloseTo(1.648721 / 2, 5));
    }
  });
  it('agrees with clippedSurrogate + aggregateLoss on random inputs in every mode', () => {
    const lp = [
      [-0.3, -1.2, -0.9],
      [-2.0, -0.1, -0.7],
    ];
    const old = [
      [-0.5, -1.0, -0.2],
      [-1.5, -0.6, -0.7],
    ];
    const adv = [0.8, -1.3];
    const mask = [
      [1, 1, 0],
      [1, 1, 1],
    ];
    const losses = lp.map((row, i) => clippedSurrogate({ logProbs: row, oldLogProbs: old[i]!, advantages: adv[i]!, epsilonLow: 0.2, epsilonHigh: 0.28 }).losses);
    for (const mode of ['sequence-mean', 'token-mean', 'dr-grpo'] as const) {
      const expected = aggregateLoss({ losses, mask, mode, maxLength: 4 });
      const got = grpoLossTensor({ logProbs: tf.tensor2d(lp), oldLogProbs: tf.tensor2d(old), advantages: tf.tensor1d(adv), mask: tf.tensor2d(mask), aggregation: mode, maxLength: 4, epsilonHigh: 0.28 });
      expect(got.loss.dataSync()[0]).toBeCloseTo(expected, 5);
    }
  });
  it('adds β times the KL and the KL tensors match the pure ones', () => {
    const k = klK3Tensor(tf.tensor2d([[-1, -2]]), tf.tensor2d([[-2, -1]])).dataSync();
    const expected = klK3({ logProbs: [-1, -2], referenceLogProbs: [-2, -1] });
    expect(k[0]).toBeCloseTo(expected[0]!, 5);
    expect(k[1]).toBeCloseTo(expected[1]!, 5);
    const g = gaussianKlTensor(tf.tensor2d([[1, 0], [0, 0]]), tf.tensor2d([[0, 0], [0, 0]]), tf.tensor1d([0.5, 0.5])).dataSync();
    expect(g[0]).toBeCloseTo(gaussianStepKl({ mean: [1, 0], referenceMean: [0, 0], std: 0.5 }), 5);
    expect(g[1]).toBe(0);
    const kl = tf.tensor2d([[0.5, 0.5]]);
    const base = grpoLossTensor({ logProbs: tf.tensor2d([[0, 0]]), oldLogProbs: tf.tensor2d([[0, 0]]), advantages: tf.tensor1d([1]) }).loss.dataSync()[0]!;
    const withKl = grpoLossTensor({ logProbs: tf.tensor2d([[0, 0]]), oldLogProbs: tf.tensor2d([[0, 0]]), advantages: tf.tensor1d([1]), kl, beta: 0.1 }).loss.dataSync()[0]!;
    expect(withKl - base).toBeCloseTo(0.05, 6);
  });
  it('rejects mismatched shapes with a typed error', () => {
    expect(() => grpoLossTensor({ logProbs: tf.tensor2d([[0, 0]]), oldLogProbs: tf.tensor2d([[0]]), advantages: tf.tensor1d([1]) })).toThrow(GrpoError);
    expect(() => grpoLossTensor({ logProbs: tf.tensor2d([[0, 0]]), oldLogProbs: tf.tensor2d([[0, 0]]), advantages: tf.tensor1d([1, 2]) })).toThrow(/advantages/);
    expect(() => grpoLossTensor({ logProbs: [[0]] as never, oldLogProbs: tf.tensor2d([[0]]), advantages: tf.tensor1d([1]) })).toThrow(/tf.Tensor/);
  });
});
