import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { applyGradients, computeGradients, tf, type Tensor } from '@flex/model';
import { groupAdvantages, multiRewardAdvantages } from '../advantages';
import { GrpoError, parseOptions } from '../errors';
import type { Rollout } from '../policy';
import { deriveSeed, SeededRandom } from '../random';
import { scoreRewards, type CheckedRewards, type RewardFunction } from '../reward';
import { combineRewards } from '../rewards/combine';
import { clippedSurrogateTerm } from '../surrogate';
import { grpoLossTensor } from '../tensor-losses';
import type { TrainablePolicy } from '../trainable-policy';
import { grpoConfigSchema, type GRPOConfig, type GRPOConfigInput } from './grpo-config';
import { latestGrpoCheckpoint, loadGrpoCheckpoint, saveGrpoCheckpoint } from './checkpoint';

/** Metrics of one step or one logging interval: stable names (TRL / Flow-GRPO), numbers only. */
export type GRPOMetrics = Record<string, number>;

/** Hooks called by the trainer (TRL's callbacks). Each may be async; the trainer awaits it. */
export interface GRPOCallbacks {
  /** After every update step, with that step's metrics. */
  onStepEnd?(event: { step: number; metrics: GRPOMetrics }): void | Promise<void>;
  /** Every `loggingSteps`, with the metrics averaged over the interval (also written to metrics.jsonl). */
  onLog?(event: { step: number; logs: GRPOMetrics }): void | Promise<void>;
  /** After an evaluation, with its metrics (`eval/…`). */
  onEvaluate?(event: { step: number; metrics: GRPOMetrics }): void | Promise<void>;
  /** After a checkpoint was written. */
  onSave?(event: { step: number; path: string }): void | Promise<void>;
  /** At the end of `train`. */
  onTrainEnd?(event: { step: number; history: readonly GRPOMetrics[] }): void | Promise<void>;
}

/** A reward and its weight, for a weighted combination. */
export interface WeightedReward<TPrompt, TSample> {
  readonly reward: RewardFunction<TPrompt, TSample>;
  readonly weight?: number;
}

/** Options of {@link GRPOTrainer}. */
export interface GRPOTrainerOptions<TPrompt, TSample, TState> {
  /** The policy to train. */
  readonly policy: TrainablePolicy<TPrompt, TSample, TState>;
  /** The training reward: one function, or several with weights (summed; each normalised apart in the advantages). */
  readonly reward: RewardFunction<TPrompt, TSample> | readonly WeightedReward<TPrompt, TSample>[];
  /** Training prompts, visited in a seeded order, epoch after epoch. */
  readonly prompts: readonly TPrompt[];
  /** The configuration (validated). */
  readonly config?: GRPOConfigInput;
  /** Callbacks. */
  readonly callbacks?: readonly GRPOCallbacks[];
  /** An evaluation reward (e.g. an oracle never used in training) scored on ODE samples of `evalPrompts`. */
  readonly evalReward?: RewardFunction<TPrompt, TSample>;
  /** Held-out prompts for evaluation. */
  readonly evalPrompts?: readonly TPrompt[];
}

/** Options of {@link GRPOTrainer.train}. */
export interface GRPOTrainOptions {
  /** A checkpoint folder to resume from, or `latest` for the newest in `outputDir`. */
  readonly resumeFrom?: string;
  /** Stops after the current step (a checkpoint is written when outputDir is set). */
  readonly signal?: AbortSignal;
}

/** What {@link GRPOTrainer.train} returns. */
export interface GRPOTrainResult {
  /** Steps completed in total (including those before a resume). */
  readonly step: number;
  /** Per-step metrics of this run. */
  readonly history: GRPOMetrics[];
  /** Evaluations made (step and metrics). */
  readonly evaluations: { step: number; metrics: GRPOMetrics }[];
  /** The last checkpoint written, if any. */
  readonly checkpoint?: string;
}

const now = (): number => performance.now() / 1000;

/**
 * GRPO for generators in the shape of TRL's `GRPOTrainer`: each step samples `groupSize` outputs for
 * `promptsPerStep` prompts, scores them (nulls and non-finite rewards are reported, never trained on),
 * computes group-relative advantages, and updates the policy with the clipped surrogate (+ β·KL).
 * Everything random derives from (seed, step), so a resumed run reproduces an uninterrupted one bit for bit.
 */
export class GRPOTrainer<TPrompt, TSample, TState = unknown> {
  readonly config: GRPOConfig;
  readonly policy: TrainablePolicy<TPrompt, TSample, TState>;
  readonly reward: RewardFunction<TPrompt, TSample>;
  readonly prompts: readonly TPrompt[];
  readonly callbacks: readonly GRPOCallbacks[];
  readonly evalReward: RewardFunction<TPrompt, TSample> | undefined;
  readonly evalPrompts: readonly TPrompt[];
  readonly optimizer: tf.AdamOptimizer;
  #step = 0;

  constructor(options: GRPOTrainerOptions<TPrompt, TSample, TState>) {
    this.config = parseOptions(grpoConfigSchema, options.config ?? {}, 'GRPOTrainer config');
    if (!options.policy || typeof options.policy.logProbTensors !== 'function' || typeof options.policy.sample !== 'function') {
      throw new GrpoError('invalid_options', 'GRPOTrainer: policy must be a TrainablePolicy');
    }
    if (!Array.isArray(options.prompts) || options.prompts.length === 0) throw new GrpoError('invalid_options', 'GRPOTrainer: prompts must be a non-empty array');
    if (this.config.beta > 0 && !options.policy.hasReference) {
      throw new GrpoError('invalid_options', 'GRPOTrainer: beta > 0 needs a policy with a reference (e.g. createFlowPolicy({ reference }))');
    }
    if (options.evalReward && (!options.evalPrompts || options.evalPrompts.length === 0)) {
      throw new GrpoError('invalid_options', 'GRPOTrainer: evalReward needs evalPrompts');
    }
    this.policy = options.policy;
    this.reward = Array.isArray(options.reward)
      ? combineRewards({ rewards: options.reward as readonly WeightedReward<TPrompt, TSample>[] })
      : (options.reward as RewardFunction<TPrompt, TSample>);
    if (typeof this.reward?.score !== 'function') throw new GrpoError('invalid_options', 'GRPOTrainer: reward must be a RewardFunction or a list of { reward, weight }');
    this.prompts = options.prompts;
    this.callbacks = options.callbacks ?? [];
    this.evalReward = options.evalReward;
    this.evalPrompts = options.evalPrompts ?? [];
    const c = this.config;
    this.optimizer = tf.train.adam(c.learningRate, c.adamBeta1, c.adamBeta2, c.adamEpsilon) as tf.AdamOptimizer;
  }

  /** Steps completed so far. */
  get step(): number {
    return this.#step;
  }

  /** The prompts of step `step` (0-based): a seeded permutation per epoch, sliced in order. */
  promptsForStep(step: number): TPrompt[] {
    const n = this.prompts.length;
    const p = this.config.promptsPerStep;
    const out: TPrompt[] = [];
    let cachedEpoch = -1;
    let order: number[] = [];
    for (let k = step * p; k < (step + 1) * p; k++) {
      const epoch = Math.floor(k / n);
      if (epoch !== cachedEpoch) {
        order = permutation(n, deriveSeed(this.config.seed, epoch, 3));
        cachedEpoch = epoch;
      }
      out.push(this.prompts[order[k % n] as number] as TPrompt);
    }
    return out;
  }

  /** Runs training to `maxSteps` (or until aborted); resumes from a checkpoint when asked. */
  async train(options: GRPOTrainOptions = {}): Promise<GRPOTrainResult> {
    const c = this.config;
    if (options.resumeFrom !== undefined) await this.#resume(options.resumeFrom);
    if (c.outputDir) await mkdir(c.outputDir, { recursive: true });
    const history: GRPOMetrics[] = [];
    const evaluations: { step: number; metrics: GRPOMetrics }[] = [];
    let interval: GRPOMetrics[] = [];
    let checkpoint: string | undefined;
    let lastSaved = -1;
    while (this.#step < c.maxSteps) {
      const metrics = await this.trainStep();
      history.push(metrics);
      interval.push(metrics);
      for (const cb of this.callbacks) await cb.onStepEnd?.({ step: this.#step, metrics });
      if (this.#step % c.loggingSteps === 0 || this.#step === c.maxSteps) {
        const logs = averageMetrics(interval);
        interval = [];
        if (c.outputDir) await appendFile(join(c.outputDir, 'metrics.jsonl'), `${JSON.stringify({ step: this.#step, ...logs })}\n`);
        for (const cb of this.callbacks) await cb.onLog?.({ step: this.#step, logs });
      }
      if (this.evalReward && c.evalSteps > 0 && this.#step % c.evalSteps === 0) evaluations.push(await this.#evaluateAndReport());
      const aborted = options.signal?.aborted === true;
      if (c.outputDir && ((c.saveSteps > 0 && this.#step % c.saveSteps === 0) || this.#step === c.maxSteps || aborted)) {
        checkpoint = await this.save();
        lastSaved = this.#step;
      }
      if (aborted) break;
    }
    if (this.evalReward && (c.evalSteps === 0 || this.#step % c.evalSteps !== 0)) evaluations.push(await this.#evaluateAndReport());
    if (c.outputDir && lastSaved !== this.#step) checkpoint = await this.save();
    for (const cb of this.callbacks) await cb.onTrainEnd?.({ step: this.#step, history });
    return { step: this.#step, history, evaluations, ...(checkpoint ? { checkpoint } : {}) };
  }

  /** One step: sample, score, advantages, update. Returns the step's metrics. */
  async trainStep(): Promise<GRPOMetrics> {
    const c = this.config;
    const step = this.#step;
    const t0 = now();
    const prompts = this.promptsForStep(step);
    const groups = await this.policy.sample({ prompts, groupSize: c.groupSize, seed: deriveSeed(c.seed, step, 1), mode: 'train' });
    const rollouts: Rollout<TSample, TState>[] = [];
    const rolloutPrompts: TPrompt[] = [];
    const groupIds: number[] = [];
    if (groups.length !== prompts.length) throw new GrpoError('policy_error', `policy returned ${groups.length} groups for ${prompts.length} prompts`);
    groups.forEach((group, g) => {
      if (group.rollouts.length !== c.groupSize) throw new GrpoError('policy_error', `policy returned ${group.rollouts.length} rollouts for a group of ${c.groupSize}`);
      for (const rollout of group.rollouts) {
        rollouts.push(rollout);
        rolloutPrompts.push(prompts[g] as TPrompt);
        groupIds.push(g);
      }
    });
    const t1 = now();
    const checked = await scoreRewards(this.reward, { prompts: rolloutPrompts, samples: rollouts.map((r) => r.sample), groupIds });
    const t2 = now();
    const { advantages, valid, fractionZeroStd, groupStds } = this.#advantages(checked, groupIds);
    const update = this.#update(rollouts, advantages, valid, step);
    const t3 = now();
    this.#step = step + 1;
    const rewards = checked.rewards.filter((r): r is number => r !== null);
    const metrics: GRPOMetrics = {
      step: this.#step,
      epoch: ((step + 1) * c.promptsPerStep) / this.prompts.length,
      reward: rewards.length > 0 ? rewards.reduce((a, b) => a + b, 0) / rewards.length : Number.NaN,
      reward_std: groupStds.length > 0 ? groupStds.reduce((a, b) => a + b, 0) / groupStds.length : 0,
      frac_reward_zero_std: fractionZeroStd,
      num_invalid_rewards: checked.nullCount + checked.nonFiniteCount,
      ...update,
      learning_rate: c.learningRate,
      ...checked.metrics,
      'time/sampling': t1 - t0,
      'time/judging': t2 - t1,
      'time/update': t3 - t2,
      'time/step': t3 - t0,
    };
    for (const [key, values] of Object.entries(checked.details)) {
      const present = values.filter((v): v is number => v !== null);
      if (present.length > 0) metrics[`rewards/${this.reward.name}/${key}`] = present.reduce((a, b) => a + b, 0) / present.length;
    }
    return metrics;
  }

  /** Samples `evalPrompts` with the ODE (one sample each) and scores them with the evaluation reward. */
  async evaluate(seed = this.config.seed): Promise<GRPOMetrics> {
    if (!this.evalReward) throw new GrpoError('invalid_options', 'evaluate: no evalReward was given');
    const groups = await this.policy.sample({ prompts: this.evalPrompts, groupSize: 1, seed: deriveSeed(seed, 0, 4), mode: 'eval' });
    const samples = groups.map((g) => (g.rollouts[0] as Rollout<TSample, TState>).sample);
    const checked = await scoreRewards(this.evalReward, { prompts: [...this.evalPrompts], samples, groupIds: samples.map((_, i) => i) });
    const present = checked.rewards.filter((v): v is number => v !== null);
    const metrics: GRPOMetrics = { 'eval/reward': present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : Number.NaN };
    for (const [key, value] of Object.entries(checked.metrics)) metrics[`eval/${key}`] = value;
    return metrics;
  }

  /** Writes `checkpoint-<step>` in `outputDir` and returns its path. */
  async save(): Promise<string> {
    if (!this.config.outputDir) throw new GrpoError('invalid_options', 'save: no outputDir in the config');
    const folder = join(this.config.outputDir, `checkpoint-${this.#step}`);
    await saveGrpoCheckpoint({
      folder,
      parameters: this.policy.parameters,
      optimizer: this.optimizer,
      state: { step: this.#step, policy: this.policy.describe(), config: { ...this.config }, trainerState: { step: this.#step } },
    });
    for (const cb of this.callbacks) await cb.onSave?.({ step: this.#step, path: folder });
    return folder;
  }

  async #resume(resumeFrom: string): Promise<void> {
    let folder = resumeFrom;
    if (resumeFrom === 'latest') {
      if (!this.config.outputDir) throw new GrpoError('invalid_options', 'resumeFrom "latest" needs outputDir');
      const latest = await latestGrpoCheckpoint(this.config.outputDir);
      if (!latest) throw new GrpoError('checkpoint_error', `no checkpoint in ${this.config.outputDir}`);
      folder = latest;
    }
    const { config } = await loadGrpoCheckpoint({ folder, parameters: this.policy.parameters, optimizer: this.optimizer });
    if (JSON.stringify(config.policy) !== JSON.stringify(this.policy.describe())) {
      throw new GrpoError('checkpoint_error', `checkpoint ${folder} was written for another policy: ${JSON.stringify(config.policy)}`);
    }
    this.#step = config.step;
  }

  async #evaluateAndReport(): Promise<{ step: number; metrics: GRPOMetrics }> {
    const metrics = await this.evaluate();
    if (this.config.outputDir) await appendFile(join(this.config.outputDir, 'metrics.jsonl'), `${JSON.stringify({ step: this.#step, ...metrics })}\n`);
    for (const cb of this.callbacks) await cb.onEvaluate?.({ step: this.#step, metrics });
    return { step: this.#step, metrics };
  }

  #advantages(checked: CheckedRewards, groupIds: number[]) {
    const c = this.config;
    const common = { groupIds, scale: c.scaleRewards, epsilon: c.advantageEpsilon };
    const plain = groupAdvantages({ rewards: checked.rewards, ...common, clip: c.advantageClip });
    if (c.advantageMode === 'components' && checked.components.length > 0) {
      const blended = multiRewardAdvantages({
        components: checked.components.map((k) => ({ name: k.name, values: k.values.map((v, i) => (checked.rewards[i] === null ? null : v)), weight: k.weight })),
        ...common,
        clip: c.advantageClip,
      });
      return { advantages: blended.advantages, valid: blended.valid, fractionZeroStd: plain.fractionZeroStd, groupStds: plain.groupStds };
    }
    return { advantages: plain.advantages, valid: plain.valid, fractionZeroStd: plain.fractionZeroStd, groupStds: plain.groupStds };
  }

  #update(rollouts: Rollout<TSample, TState>[], advantages: number[], valid: boolean[], step: number): GRPOMetrics {
    const c = this.config;
    const total = this.policy.stepCount();
    const count = Math.max(1, Math.round(c.trainStepFraction * total));
    const steps = permutation(total, deriveSeed(c.seed, step, 2))
      .slice(0, count)
      .sort((a, b) => a - b);
    const trainable = rollouts.map((_, i) => i).filter((i) => valid[i]);
    const sums = { loss: 0, gradNorm: 0, updates: 0, low: 0, high: 0, region: 0, tokens: 0, approxKl: 0, kl: 0, klCount: 0 };
    if (trainable.length > 0) {
      const size = Math.ceil(trainable.length / c.minibatches);
      const epsilonHigh = c.epsilonHigh ?? c.epsilonLow;
      for (let iteration = 0; iteration < c.numIterations; iteration++) {
        for (let start = 0; start < trainable.length; start += size) {
          const indices = trainable.slice(start, start + size);
          const batch = indices.map((i) => rollouts[i] as Rollout<TSample, TState>);
          const old = batch.map((r) => steps.map((k) => {
            const v = r.logProbs[k];
            if (v === undefined) throw new GrpoError('policy_error', `rollout has no log-prob for step ${k}`);
            return v;
          }));
          const advantage = indices.map((i) => advantages[i] as number);
          let kept: { ratio: Tensor; logProbs: Tensor; kl?: Tensor } | undefined;
          const { loss, grads } = computeGradients(this.policy.parameters, () => {
            const out = this.policy.logProbTensors({ rollouts: batch, steps, withKl: c.beta > 0 });
            const result = grpoLossTensor({
              logProbs: out.logProbs,
              oldLogProbs: tf.tensor2d(old),
              advantages: tf.tensor1d(advantage),
              epsilonLow: c.epsilonLow,
              epsilonHigh,
              ...(out.kl ? { kl: out.kl } : {}),
              beta: c.beta,
              aggregation: c.lossType,
            });
            kept = { ratio: tf.keep(result.ratio), logProbs: tf.keep(out.logProbs), ...(out.kl ? { kl: tf.keep(out.kl) } : {}) };
            return result.loss;
          });
          const lossValue = loss.dataSync()[0] as number;
          loss.dispose();
          const applied = applyGradients(this.policy.parameters, this.optimizer, grads, { maxGradNorm: c.maxGradNorm });
          sums.loss += lossValue;
          sums.gradNorm += applied.gradNorm;
          sums.updates += 1;
          if (kept) {
            const newLogProbs = kept.logProbs.arraySync() as number[][];
            const kl = kept.kl?.dataSync();
            tf.dispose([kept.ratio, kept.logProbs, kept.kl].filter((t): t is Tensor => t !== undefined));
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
    const metrics: GRPOMetrics = {
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
}

/** Averages each metric over the steps that have it (finite values only). */
export function averageMetrics(steps: readonly GRPOMetrics[]): GRPOMetrics {
  const sums: Record<string, { sum: number; count: number }> = {};
  for (const m of steps) {
    for (const [k, v] of Object.entries(m)) {
      if (!Number.isFinite(v)) continue;
      const e = (sums[k] ??= { sum: 0, count: 0 });
      e.sum += v;
      e.count += 1;
    }
  }
  const out: GRPOMetrics = {};
  for (const [k, { sum, count }] of Object.entries(sums)) out[k] = k === 'step' ? sum / count : sum / count;
  return out;
}

function permutation(n: number, seed: number): number[] {
  const random = new SeededRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.integer(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}
