import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '@flex/model';
import { groupAdvantages, multiRewardAdvantages } from '../advantages';
import { GrpoError, parseOptions } from '../errors';
import type { Rollout } from '../policy';
import { deriveSeed } from '../random';
import { scoreRewards, type CheckedRewards, type RewardFunction } from '../reward';
import { combineRewards } from '../rewards/combine';
import type { TrainablePolicy } from '../trainable-policy';
import { grpoConfigSchema, type GRPOConfig, type GRPOConfigInput } from './grpo-config';
import { latestGrpoCheckpoint, loadGrpoCheckpoint, readGrpoCheckpointConfig, saveGrpoCheckpoint, type GRPOCheckpointState } from './checkpoint';
import { assignFlowWeights, WorkerUpdater } from './worker-updater';
import type { FlowPolicy, FlowRolloutState } from '../flow/flow-policy';
import { grpoLearningRate, grpoUpdate, permutation } from './grpo-update';

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

/** What one step collected before its update. */
interface Collected<TSample, TState> {
  readonly rollouts: Rollout<TSample, TState>[];
  readonly checked: CheckedRewards;
  readonly advantages: number[];
  readonly valid: boolean[];
  readonly fractionZeroStd: number;
  readonly groupStds: number[];
  readonly samplingSeconds: number;
  readonly judgingSeconds: number;
}

/** Bookkeeping of one `train` call. */
interface RunState {
  history: GRPOMetrics[];
  evaluations: { step: number; metrics: GRPOMetrics }[];
  interval: GRPOMetrics[];
  lastSaved: number;
  checkpoint?: string;
}

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
    const worker = c.updateInWorker ? await this.#startWorker() : undefined;
    try {
      if (options.resumeFrom !== undefined) await this.#resume(options.resumeFrom, worker);
      if (c.outputDir) await mkdir(c.outputDir, { recursive: true });
      const run: RunState = { history: [], evaluations: [], interval: [], lastSaved: -1 };
      if (worker) await this.#trainWithWorker(worker, run, options.signal);
      else {
        while (this.#step < c.maxSteps) {
          const metrics = await this.trainStep();
          if (await this.#afterStep(metrics, run, options.signal, undefined)) break;
        }
      }
      if (this.evalReward && (c.evalSteps === 0 || this.#step % c.evalSteps !== 0)) run.evaluations.push(await this.#evaluateAndReport());
      if (c.outputDir && run.lastSaved !== this.#step) run.checkpoint = await this.#save(worker);
      for (const cb of this.callbacks) await cb.onTrainEnd?.({ step: this.#step, history: run.history });
      return { step: this.#step, history: run.history, evaluations: run.evaluations, ...(run.checkpoint ? { checkpoint: run.checkpoint } : {}) };
    } finally {
      await worker?.close();
    }
  }

  /** Whether the step count `completed` is followed by a checkpoint or an evaluation (the pipeline drains). */
  #drainsAfter(completed: number): boolean {
    const c = this.config;
    const saves = c.outputDir !== undefined && ((c.saveSteps > 0 && completed % c.saveSteps === 0) || completed === c.maxSteps);
    const evaluates = this.evalReward !== undefined && c.evalSteps > 0 && completed % c.evalSteps === 0;
    return saves || evaluates;
  }

  /**
   * Logging, evaluation and checkpoints after a completed step. Returns whether the run was aborted (checked after
   * the `onStepEnd` callbacks, so a callback that aborts stops the run at this step, with a checkpoint).
   */
  async #afterStep(metrics: GRPOMetrics, run: RunState, signal: AbortSignal | undefined, worker: WorkerUpdater | undefined): Promise<boolean> {
    const c = this.config;
    run.history.push(metrics);
    run.interval.push(metrics);
    for (const cb of this.callbacks) await cb.onStepEnd?.({ step: this.#step, metrics });
    const aborted = signal?.aborted === true;
    if (this.#step % c.loggingSteps === 0 || this.#step === c.maxSteps) {
      const logs = averageMetrics(run.interval);
      run.interval = [];
      if (c.outputDir) await appendFile(join(c.outputDir, 'metrics.jsonl'), `${JSON.stringify({ step: this.#step, ...logs })}\n`);
      for (const cb of this.callbacks) await cb.onLog?.({ step: this.#step, logs });
    }
    if (this.evalReward && c.evalSteps > 0 && this.#step % c.evalSteps === 0) run.evaluations.push(await this.#evaluateAndReport());
    if (c.outputDir && ((c.saveSteps > 0 && this.#step % c.saveSteps === 0) || this.#step === c.maxSteps || aborted)) {
      run.checkpoint = await this.#save(worker);
      run.lastSaved = this.#step;
    }
    return aborted;
  }

  /**
   * The pipelined loop: while the worker updates with batch t, this thread samples and judges batch t + 1
   * (with the weights of update t − 1). Steps followed by a checkpoint or an evaluation drain the pipeline.
   */
  async #trainWithWorker(worker: WorkerUpdater, run: RunState, signal: AbortSignal | undefined): Promise<void> {
    const c = this.config;
    let next = this.#step;
    let inflight: { step: number; collected: Collected<TSample, TState>; promise: ReturnType<WorkerUpdater['update']>; started: number } | undefined;
    let stepStart = now();
    for (;;) {
      const aborted = signal?.aborted === true;
      const canCollect = next < c.maxSteps && !aborted && !(inflight && this.#drainsAfter(inflight.step + 1));
      const collected = canCollect ? await this.#collect(next) : undefined;
      if (inflight) {
        const result = await inflight.promise;
        assignFlowWeights(this.policy as unknown as FlowPolicy, result.weights);
        this.#step = inflight.step + 1;
        const finished = now();
        const metrics = this.#stepMetrics(inflight.step, inflight.collected, result.metrics, result.seconds, finished - stepStart);
        stepStart = finished;
        inflight = undefined;
        await this.#afterStep(metrics, run, signal, worker);
      }
      if (!collected) {
        if (next >= c.maxSteps || signal?.aborted === true) break;
        continue;
      }
      inflight = {
        step: next,
        collected,
        started: now(),
        promise: worker.update({
          step: next,
          rollouts: collected.rollouts as unknown as Rollout<unknown, FlowRolloutState>[],
          advantages: collected.advantages,
          valid: collected.valid,
        }),
      };
      next += 1;
    }
  }

  async #startWorker(): Promise<WorkerUpdater> {
    const described = this.policy.describe();
    if (described.kind !== 'flow-policy' || !(this.policy as unknown as FlowPolicy).generator) {
      throw new GrpoError('invalid_options', 'GRPOTrainer: updateInWorker needs a flow policy (createFlowPolicy)');
    }
    return WorkerUpdater.start(this.policy as unknown as FlowPolicy, this.config);
  }

  /** One step: sample, score, advantages, update (in this thread). Returns the step's metrics. */
  async trainStep(): Promise<GRPOMetrics> {
    const step = this.#step;
    const t0 = now();
    const collected = await this.#collect(step);
    const t1 = now();
    const update = grpoUpdate({ policy: this.policy, optimizer: this.optimizer, rollouts: collected.rollouts, advantages: collected.advantages, valid: collected.valid, step, config: this.config });
    const t2 = now();
    this.#step = step + 1;
    return this.#stepMetrics(step, collected, update, t2 - t1, t2 - t0);
  }

  /** Samples the step's groups, scores them and computes the advantages. */
  async #collect(step: number): Promise<Collected<TSample, TState>> {
    const c = this.config;
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
    return { rollouts, checked, ...this.#advantages(checked, groupIds), samplingSeconds: t1 - t0, judgingSeconds: t2 - t1 };
  }

  #stepMetrics(step: number, collected: Collected<TSample, TState>, update: GRPOMetrics, updateSeconds: number, stepSeconds: number): GRPOMetrics {
    const c = this.config;
    const { checked, groupStds, fractionZeroStd } = collected;
    const rewards = checked.rewards.filter((r): r is number => r !== null);
    const metrics: GRPOMetrics = {
      step: step + 1,
      epoch: ((step + 1) * c.promptsPerStep) / this.prompts.length,
      reward: rewards.length > 0 ? rewards.reduce((a, b) => a + b, 0) / rewards.length : Number.NaN,
      reward_std: groupStds.length > 0 ? groupStds.reduce((a, b) => a + b, 0) / groupStds.length : 0,
      frac_reward_zero_std: fractionZeroStd,
      num_invalid_rewards: checked.nullCount + checked.nonFiniteCount,
      ...update,
      learning_rate: grpoLearningRate(c, step),
      ...checked.metrics,
      'time/sampling': collected.samplingSeconds,
      'time/judging': collected.judgingSeconds,
      'time/update': updateSeconds,
      'time/step': stepSeconds,
    };
    for (const [key, values] of Object.entries(checked.details)) {
      const present = values.filter((v): v is number => v !== null);
      if (present.length > 0) metrics[`rewards/${this.reward.name}/${key}`] = present.reduce((a, b) => a + b, 0) / present.length;
    }
    return metrics;
  }

  /**
   * Samples `evalPrompts` with the ODE (one sample each, starting noise from `seed`, default `evalSeed` or `seed`)
   * and scores them with the evaluation reward.
   */
  async evaluate(seed = this.config.evalSeed ?? this.config.seed): Promise<GRPOMetrics> {
    if (!this.evalReward) throw new GrpoError('invalid_options', 'evaluate: no evalReward was given');
    const groups = await this.policy.sample({ prompts: this.evalPrompts, groupSize: 1, seed: deriveSeed(seed, 0, 4), mode: 'eval' });
    const samples = groups.map((g) => (g.rollouts[0] as Rollout<TSample, TState>).sample);
    const checked = await scoreRewards(this.evalReward, { prompts: [...this.evalPrompts], samples, groupIds: samples.map((_, i) => i) });
    const present = checked.rewards.filter((v): v is number => v !== null);
    const metrics: GRPOMetrics = { 'eval/reward': present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : Number.NaN };
    for (const [key, value] of Object.entries(checked.metrics)) metrics[`eval/${key}`] = value;
    return metrics;
  }

  /** Writes `checkpoint-<step>` in `outputDir` and returns its path (outside `train` with `updateInWorker` off). */
  async save(): Promise<string> {
    return this.#save(undefined);
  }

  async #save(worker: WorkerUpdater | undefined): Promise<string> {
    if (!this.config.outputDir) throw new GrpoError('invalid_options', 'save: no outputDir in the config');
    const folder = join(this.config.outputDir, `checkpoint-${this.#step}`);
    const state: GRPOCheckpointState = { step: this.#step, policy: this.policy.describe(), config: { ...this.config }, trainerState: { step: this.#step } };
    if (worker) await worker.save(folder, state);
    else await saveGrpoCheckpoint({ folder, parameters: this.policy.parameters, optimizer: this.optimizer, state });
    for (const cb of this.callbacks) await cb.onSave?.({ step: this.#step, path: folder });
    return folder;
  }

  async #resume(resumeFrom: string, worker: WorkerUpdater | undefined): Promise<void> {
    let folder = resumeFrom;
    if (resumeFrom === 'latest') {
      if (!this.config.outputDir) throw new GrpoError('invalid_options', 'resumeFrom "latest" needs outputDir');
      const latest = await latestGrpoCheckpoint(this.config.outputDir);
      if (!latest) throw new GrpoError('checkpoint_error', `no checkpoint in ${this.config.outputDir}`);
      folder = latest;
    }
    // Check the kind of policy before touching any weights.
    const header = await readGrpoCheckpointConfig(folder);
    if (JSON.stringify(header.policy) !== JSON.stringify(this.policy.describe())) {
      throw new GrpoError('checkpoint_error', `checkpoint ${folder} was written for another policy: ${JSON.stringify(header.policy)}`);
    }
    if (worker) {
      const loaded = await worker.load(folder);
      assignFlowWeights(this.policy as unknown as FlowPolicy, loaded.weights);
      this.#step = loaded.step;
      return;
    }
    const { config } = await loadGrpoCheckpoint({ folder, parameters: this.policy.parameters, optimizer: this.optimizer });
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
