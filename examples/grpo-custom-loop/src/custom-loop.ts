import type { Media, RgbImage } from '@flex/criteria';
import {
  aggregateLoss,
  clippedSurrogate,
  gaussianNoise,
  multiRewardAdvantages,
  pairwiseJudgeReward,
  type RewardOutput,
} from '@flex/grpo';
import { rednessJudge } from './redness-judge';

/**
 * A user-written GRPO loop with no tensors at all. The "generator" is a Gaussian policy over the RGB colour
 * of a 4×4 square: colour ~ N(μ, s²) per channel, with μ the trainable parameters. Its log-prob and the
 * gradient of the clipped surrogate are written by hand; @flex/grpo supplies the reward (every pair of a
 * group judged, win rates, the Flex blend), the advantages, the surrogate with its clip flags and the
 * aggregation.
 */

export interface CustomLoopOptions {
  /** GRPO steps. Default 40. */
  readonly steps?: number;
  /** Samples per prompt. Default 6. */
  readonly groupSize?: number;
  /** Seed. Default 0. */
  readonly seed?: number;
  /** Learning rate. Default 0.05. */
  readonly learningRate?: number;
}

export interface CustomLoopStep {
  readonly step: number;
  /** Mean Flex reward of the group (always 0.5 for win rates: the signal is in the spread). */
  readonly reward: number;
  /** The policy's mean colour after the step. */
  readonly mean: readonly number[];
  readonly loss: number;
  readonly clipFraction: number;
  readonly judgeCalls: number;
}

const SIDE = 4;
const STD = 0.15;
const EPSILON_LOW = 0.2;
const EPSILON_HIGH = 0.28;
const PASSES = 2;

function render(colour: readonly number[]): RgbImage {
  const data = new Float32Array(SIDE * SIDE * 3);
  for (let i = 0; i < SIDE * SIDE; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.min(1, Math.max(0, colour[c] as number));
  return { width: SIDE, height: SIDE, data };
}

function logProb(action: readonly number[], mean: readonly number[]): number {
  let sum = 0;
  for (let c = 0; c < 3; c++) sum += -(((action[c] as number) - (mean[c] as number)) ** 2) / (2 * STD * STD) - Math.log(STD) - 0.5 * Math.log(2 * Math.PI);
  return sum;
}

/** Runs the loop; returns one record per step. */
export async function runCustomLoop(options: CustomLoopOptions = {}): Promise<CustomLoopStep[]> {
  const steps = options.steps ?? 40;
  const groupSize = options.groupSize ?? 6;
  const seed = options.seed ?? 0;
  const learningRate = options.learningRate ?? 0.05;
  const reward = pairwiseJudgeReward<string, Media>({ judge: rednessJudge() });
  const mean = [0.4, 0.5, 0.5];
  const history: CustomLoopStep[] = [];
  for (let step = 0; step < steps; step++) {
    // 1. Sample a group and record the log-probs under the sampling parameters.
    const noise = gaussianNoise({ seed: seed * 100_003 + step, length: groupSize * 3 });
    const actions = Array.from({ length: groupSize }, (_, g) => mean.map((m, c) => m + STD * (noise[g * 3 + c] as number)));
    const oldLogProbs = actions.map((a) => logProb(a, mean));
    // 2. Judge every pair of the group: the Flex reward with its overall and category parts.
    const scored = (await reward.score({
      prompts: actions.map(() => 'a red square'),
      samples: actions.map(render),
      groupIds: actions.map(() => 0),
    })) as RewardOutput;
    // 3. Advantages: the parts z-scored separately, blended 0.3 / 0.7, re-normalised, clipped to ±5.
    const { advantages, valid } = multiRewardAdvantages({
      components: (scored.components ?? []).map((c) => ({ name: c.name, values: [...c.values], weight: c.weight })),
    });
    // 4. A few passes of the clipped surrogate; after the first the ratios move and clipping can bite.
    let loss = 0;
    let clipped = 0;
    for (let pass = 0; pass < PASSES; pass++) {
      const logProbs = actions.map((a) => logProb(a, mean));
      const surrogate = clippedSurrogate({ logProbs, oldLogProbs, advantages, epsilonLow: EPSILON_LOW, epsilonHigh: EPSILON_HIGH });
      loss = aggregateLoss({ losses: surrogate.losses.map((l) => [l]), mask: valid.map((v) => [v ? 1 : 0]), mode: 'sequence-mean' });
      clipped = surrogate.clipped.filter(Boolean).length / groupSize;
      // d(−ρA)/dμ = −A·ρ·(a − μ)/s² where the token is not clipped; averaged over the valid samples.
      const gradient = [0, 0, 0];
      const count = valid.filter(Boolean).length || 1;
      actions.forEach((a, i) => {
        if (!valid[i] || surrogate.clipped[i]) return;
        for (let c = 0; c < 3; c++) gradient[c]! += (-(advantages[i] as number) * (surrogate.ratios[i] as number) * ((a[c] as number) - (mean[c] as number))) / (STD * STD) / count;
      });
      for (let c = 0; c < 3; c++) mean[c] = (mean[c] as number) - learningRate * (gradient[c] as number) * STD * STD;
    }
    const rewards = scored.rewards.filter((r): r is number => r !== null);
    history.push({
      step: step + 1,
      reward: rewards.reduce((a, b) => a + b, 0) / rewards.length,
      mean: [...mean],
      loss,
      clipFraction: clipped,
      judgeCalls: scored.metrics?.judge_calls ?? 0,
    });
  }
  return history;
}
