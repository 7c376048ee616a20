import { accumulateGradients, applyGradients, computeGradients, scheduledLearningRate, setLearningRate, tf, warmupStepCount, type Tensor } from '@flex/model';
import { GrpoError } from '../errors';
import type { Rollout } from '../policy';
import { deriveSeed, SeededRandom } from '../random';
import { clippedSurrogateTerm } from '../surrogate';
import { grpoLossTensor } from '../tensor-losses';
import type { TrainablePolicy } from '../trainable-policy';
import type { GRPOConfig } from './grpo-config';

/** A seeded permutation of 0…n−1 (Fisher–Yates). */
export function permutation(n: number, seed: number): number[] {
  const random = new SeededRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.integer(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/**
 * The steps trained at `step`: `trainStepFraction` of the policy's steps, in order — a seeded subset
 * (`selection: 'random'`, Flow-GRPO's `timestep_fraction`) or the first ones (`'first'`: the high-noise steps,
 * where a flow sampler decides layout and colour).
 */
export function trainedSteps(total: number, fraction: number, seed: number, step: number, selection: 'random' | 'first' = 'random'): number[] {
  const count = Math.max(1, Math.round(fraction * total));
  if (selection === 'first') return Array.from({ length: Math.min(count, total) }, (_, k) => k);
  return permutation(total, deriveSeed(seed, step, 2))
    .slice(0, count)
    .sort((a, b) => a - b);
}

/** The learning rate of the update at `step` (0-based): `learningRate` under the config's warm-up and schedule. */
export function grpoLearningRate(config: Pick<GRPOConfig, 'learningRate' | 'lrSchedulerType' | 'warmupSteps' | 'warmupRatio' | 'minLearningRateRatio' | 'maxSteps'>, step: number): number {
  return scheduledLearningRate(config, step, warmupStepCount(config, config.maxSteps), config.maxSteps);
}

/** Options of {@link grpoUpdate}. */
export interface GrpoUpdateOptions<TPrompt, TSample, TState> {
  readonly policy: TrainablePolicy<TPrompt, TSample, TState>;
  readonly optimizer: tf.Optimizer;
  readonly rollouts: readonly Rollout<TSample, TState>[];
  readonly advantages: readonly number[];
  readonly valid: readonly boolean[];
  /** The trainer step (seeds the choice of trained steps). */
  readonly step: number;
  readonly config: GRPOConfig;
}

/**
 * The update of one GRPO step: `numIterations` passes over the valid rollouts in `minibatches`, each an
 * optimizer update of the clipped surrogate (+ β·KL) with gradient clipping. Returns the update metrics
 * (`loss`, `grad_norm`, `clip_ratio/*`, `approx_kl`, `kl`, `num_updates`), measured on the same forward pass
 * that produced the gradients.
 */
export function grpoUpdate<TPrompt, TSample, TState>(options: GrpoUpdateOptions<TPrompt, TSample, TState>): Record<string, number> {
  const { policy, optimizer, rollouts, advantages, valid, step, config: c } = options;
  setLearningRate(optimizer as tf.AdamOptimizer, grpoLearningRate(c, step));
  const steps = trainedSteps(policy.stepCount(), c.trainStepFraction, c.seed, step, c.trainStepSelection);
  const trainable = rollouts.map((_, i) => i).filter((i) => valid[i]);
  const sums = { loss: 0, gradNorm: 0, updates: 0, low: 0, high: 0, region: 0, tokens: 0, approxKl: 0, kl: 0, klCount: 0 };
  if (trainable.length > 0) {
    const size = Math.ceil(trainable.length / c.minibatches);
    const epsilonHigh = c.epsilonHigh ?? c.epsilonLow;
    for (let iteration = 0; iteration < c.numIterations; iteration++) {
      for (let start = 0; start < trainable.length; start += size) {
        const indices = trainable.slice(start, start + size);
        const batch = indices.map((i) => rollouts[i] as Rollout<TSample, TState>);
        const old = batch.map((r) =>
          steps.map((k) => {
            const v = r.logProbs[k];
            if (v === undefined) throw new GrpoError('policy_error', `rollout has no log-prob for step ${k}`);
            return v;
          }),
        );
        const advantage = indices.map((i) => advantages[i] as number);
        // Gradient accumulation over chunks of at most microBatchSize rollouts; each chunk's loss is scaled by
        // its share of the minibatch, so the summed gradient is the minibatch's (every rollout has the same
        // number of steps and there is no mask, so this holds for every aggregation).
        let grads: Tensor[] | undefined;
        let lossValue = 0;
        const keptChunks: { logProbs: Tensor; kl?: Tensor }[] = [];
        for (let from = 0; from < batch.length; from += c.microBatchSize) {
          const chunk = batch.slice(from, from + c.microBatchSize);
          const share = chunk.length / batch.length;
          let kept: { logProbs: Tensor; kl?: Tensor } | undefined;
          const result = computeGradients(policy.parameters, () => {
            const out = policy.logProbTensors({ rollouts: chunk, steps, withKl: c.beta > 0 });
            const loss = grpoLossTensor({
              logProbs: out.logProbs,
              oldLogProbs: tf.tensor2d(old.slice(from, from + c.microBatchSize)),
              advantages: tf.tensor1d(advantage.slice(from, from + c.microBatchSize)),
              epsilonLow: c.epsilonLow,
              epsilonHigh,
              ...(out.kl ? { kl: out.kl } : {}),
              beta: c.beta,
              aggregation: c.lossType,
              maxLength: steps.length,
            });
            kept = { logProbs: tf.keep(out.logProbs), ...(out.kl ? { kl: tf.keep(out.kl) } : {}) };
            return (share === 1 ? loss.loss : loss.loss.mul(share)) as tf.Scalar;
          });
          lossValue += result.loss.dataSync()[0] as number;
          result.loss.dispose();
          if (kept) keptChunks.push(kept);
          grads = accumulateGradients(grads, result.grads);
        }
        const kept =
          keptChunks.length === 0
            ? undefined
            : keptChunks.length === 1
              ? keptChunks[0]
              : tf.tidy(() => ({
                  logProbs: tf.concat(keptChunks.map((k) => k.logProbs)),
                  ...(keptChunks[0]?.kl ? { kl: tf.concat(keptChunks.map((k) => k.kl as Tensor)) } : {}),
                }));
        if (keptChunks.length > 1) tf.dispose(keptChunks.flatMap((k) => [k.logProbs, k.kl]).filter((t): t is Tensor => t !== undefined));
        const applied = applyGradients(policy.parameters, optimizer, grads as Tensor[], { maxGradNorm: c.maxGradNorm });
        sums.loss += lossValue;
        sums.gradNorm += applied.gradNorm;
        sums.updates += 1;
        if (kept) {
          const newLogProbs = kept.logProbs.arraySync() as number[][];
          const kl = kept.kl?.dataSync();
          tf.dispose([kept.logProbs, kept.kl].filter((t): t is Tensor => t !== undefined));
          newLogProbs.forEach((row, r) =>
            row.forEach((lp, k) => {
              const o = (old[r] as number[])[k] as number;
              const term = clippedSurrogateTerm(lp, o, advantage[r] as number, c.epsilonLow, epsilonHigh);
              sums.low += term.lowClipped ? 1 : 0;
              sums.high += term.highClipped ? 1 : 0;
              sums.region += term.lowClipped || term.highClipped ? 1 : 0;
              sums.approxKl += 0.5 * (lp - o) ** 2;
              sums.tokens += 1;
            }),
          );
          if (kl) {
            for (const v of kl) sums.kl += v;
            sums.klCount += kl.length;
          }
        }
      }
    }
  }
  const metrics: Record<string, number> = {
    loss: sums.updates > 0 ? sums.loss / sums.updates : 0,
    grad_norm: sums.updates > 0 ? sums.gradNorm / sums.updates : 0,
    'clip_ratio/low_mean': sums.tokens > 0 ? sums.low / sums.tokens : 0,
    'clip_ratio/high_mean': sums.tokens > 0 ? sums.high / sums.tokens : 0,
    'clip_ratio/region_mean': sums.tokens > 0 ? sums.region / sums.tokens : 0,
    approx_kl: sums.tokens > 0 ? sums.approxKl / sums.tokens : 0,
    num_updates: sums.updates,
  };
  if (c.beta > 0) metrics.kl = sums.klCount > 0 ? sums.kl / sums.klCount : 0;
  return metrics;
}
