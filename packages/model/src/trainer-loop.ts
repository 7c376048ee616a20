import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import { tf } from './engine';
import { ModelError, parseOptions } from './errors';
import { createRng, hashString } from './random';
import { type CheckpointModel, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { accumulateGradients, applyGradients, computeGradients, createOptimizer, scaleGradients, setLearningRate } from './training';

/**
 * The training loop shared by `SFTTrainer` (@flex/sft) and `DPOTrainer` (@flex/dpo), in the shape users know
 * from TRL: a validated config, a task that builds the loss of a micro-batch, callbacks, metrics appended as JSON
 * lines, checkpoints every N steps keeping the last K, and bit-exact resume. Added for issue 8; the trainers
 * themselves live in their packages.
 */

/** The configuration every trainer shares (TRL's `TrainingArguments`, camel-cased). */
export const trainerConfigSchema = z
  .object({
    /** Folder of `metrics.jsonl` and the `checkpoint-<step>` folders (created). */
    outputDir: z.string().min(1),
    /** Peak learning rate. Default 2e-3 (what helped the small judge, TFJS.md). */
    learningRate: z.number().positive().default(2e-3),
    /** Schedule after the warm-up: 'cosine' (to `minLearningRateRatio` × peak), 'linear' (to 0) or 'constant'. Default 'cosine'. */
    lrSchedulerType: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
    /** Linear warm-up steps. Default 0 (then `warmupRatio` applies). */
    warmupSteps: z.number().int().min(0).default(0),
    /** Warm-up as a share of the total steps, used when `warmupSteps` is 0. Default 0.05. */
    warmupRatio: z.number().min(0).max(1).default(0.05),
    /** Floor of the cosine schedule as a share of the peak. Default 0.1. */
    minLearningRateRatio: z.number().min(0).max(1).default(0.1),
    /** Decoupled (AdamW) weight decay on matrices (rank ≥ 2). Default 0. */
    weightDecay: z.number().min(0).default(0),
    /** Adam β1. Default 0.9. */
    adamBeta1: z.number().min(0).max(1).default(0.9),
    /** Adam β2. Default 0.999. */
    adamBeta2: z.number().min(0).max(1).default(0.999),
    /** Adam ε. Default 1e-8. */
    adamEpsilon: z.number().positive().default(1e-8),
    /** Examples per micro-batch (one forward pass). Default 16. */
    batchSize: z.number().int().min(1).default(16),
    /** Micro-batches whose gradients are averaged into one optimizer step. Default 1. */
    gradientAccumulationSteps: z.number().int().min(1).default(1),
    /** Passes over the training set (may be fractional), when `maxSteps` is 0. Default 1. */
    numTrainEpochs: z.number().positive().default(1),
    /** Optimizer steps to run; 0 = from `numTrainEpochs`. Default 0. */
    maxSteps: z.number().int().min(0).default(0),
    /** Clip the global gradient norm to this; 0 = no clipping. Default 1. */
    maxGradNorm: z.number().min(0).default(1),
    /** Average and append metrics every this many steps. Default 10. */
    loggingSteps: z.number().int().min(1).default(10),
    /** Evaluate on the eval set every this many steps; 0 = only at the end (when there is an eval set). Default 0. */
    evalSteps: z.number().int().min(0).default(0),
    /** Examples per evaluation batch. Default: `batchSize`. */
    evalBatchSize: z.number().int().min(1).optional(),
    /** Save a checkpoint every this many steps; 0 = only at the end. Default 0. */
    saveSteps: z.number().int().min(0).default(0),
    /** Keep the last this many `checkpoint-<step>` folders. Default 2. */
    saveTotalLimit: z.number().int().min(1).default(2),
    /** Save a checkpoint after the last step. Default true. */
    saveFinal: z.boolean().default(true),
    /** Seed of the data order. Default 0. */
    seed: z.number().int().default(0),
    /** Stop after this many consecutive steps with a non-finite loss (each is skipped with a warning). Default 5. */
    maxNonFiniteSteps: z.number().int().min(1).default(5),
  })
  .strict();
/** Input of {@link trainerConfigSchema}. */
export type TrainerConfigInput = z.input<typeof trainerConfigSchema>;
/** A validated trainer configuration. */
export type TrainerConfig = z.output<typeof trainerConfigSchema>;

/** What a task's loss can tell the loop about a micro-batch. */
export interface LossContext {
  /** Reports a scalar metric of this micro-batch (averaged over micro-batches and logging steps). Keep it cheap. */
  report(name: string, value: tf.Scalar): void;
  /** The number of trained tokens in this micro-batch (for tokens/s). */
  tokens(count: number): void;
  /** Registers a clean-up to run after the gradients are computed (e.g. disposing a prepared batch). */
  defer(cleanup: () => void): void;
}

/** What a trainer trains: the model, how examples group into batches, and the loss of a micro-batch. */
export interface TrainingTask<E> {
  readonly model: CheckpointModel;
  /** Examples with equal keys may share a micro-batch (e.g. their number of candidates). */
  batchKey(example: E): string;
  /** The loss of a micro-batch as a scalar tensor (called under the gradient tape, and without it for evaluation). */
  loss(examples: readonly E[], context: LossContext): tf.Scalar;
}

/** One line of `metrics.jsonl`: averages over the logging interval. */
export interface MetricsEntry {
  readonly step: number;
  readonly epoch: number;
  readonly [name: string]: number;
}

/** The loop's state (saved in each checkpoint's trainer.json). */
export interface TrainerState {
  /** Optimizer steps done (skipped non-finite steps included). */
  globalStep: number;
  /** Total steps of this run. */
  maxSteps: number;
  /** Steps per pass over the training set. */
  stepsPerEpoch: number;
  /** Consecutive non-finite steps. */
  nonFiniteRun: number;
  /** All skipped steps. */
  skippedSteps: number;
  /** The last logged entry. */
  lastLog?: MetricsEntry;
  /** The last evaluation. */
  lastEval?: Record<string, number>;
  /** Sums of the current logging interval. */
  interval: { steps: number; sums: Record<string, number> };
}

/** Callbacks (TRL's `TrainerCallback`). Returning 'stop' from `onStepEnd` ends the run after that step. */
export interface TrainerCallbacks {
  onLog?(entry: MetricsEntry, state: Readonly<TrainerState>): void;
  onStepEnd?(state: Readonly<TrainerState>): void | 'stop';
  onEvaluate?(metrics: Readonly<Record<string, number>>, state: Readonly<TrainerState>): void;
  onSave?(info: { directory: string; step: number }): void;
  onWarning?(warning: { code: 'non_finite_loss'; message: string; step: number }): void;
}

/** Options of {@link TrainingLoop.train}. */
export interface TrainOptions {
  /** A checkpoint folder to resume from, or true for the latest `checkpoint-<step>` in `outputDir`. */
  readonly resumeFrom?: string | boolean;
  /** Stops after the current step; the result's status is 'aborted'. */
  readonly signal?: AbortSignal;
}

/** What a run did. */
export interface TrainResult {
  /** 'completed', 'stopped' (a callback asked), 'aborted' (signal) or 'non_finite' (too many non-finite steps). */
  readonly status: 'completed' | 'stopped' | 'aborted' | 'non_finite';
  readonly globalStep: number;
  readonly skippedSteps: number;
  /** The last logged metrics. */
  readonly lastLog?: MetricsEntry;
  /** The last evaluation metrics. */
  readonly lastEval?: Record<string, number>;
  /** The last checkpoint written, if any. */
  readonly checkpoint?: string;
  /** The metrics file. */
  readonly metricsFile: string;
}

const checkpointPattern = /^checkpoint-(\d+)$/;

/** Checkpoint folders `checkpoint-<step>` under a folder, sorted by step. */
export function listCheckpoints(outputDir: string): { directory: string; step: number }[] {
  if (!existsSync(outputDir)) return [];
  return readdirSync(outputDir)
    .map((name) => ({ name, match: checkpointPattern.exec(name) }))
    .filter((x) => x.match !== null && existsSync(join(outputDir, x.name, 'config.json')))
    .map((x) => ({ directory: join(outputDir, x.name), step: Number((x.match as RegExpExecArray)[1]) }))
    .sort((a, b) => a.step - b.step);
}

/** The warm-up length of a run of `total` steps: `warmupSteps` when given, else `warmupRatio` of the steps. */
export function warmupStepCount(config: Pick<TrainerConfig, 'warmupSteps' | 'warmupRatio'>, total: number): number {
  return config.warmupSteps > 0 ? config.warmupSteps : Math.floor(config.warmupRatio * total);
}

/** The learning rate at a step (0-based) of a schedule with linear warm-up. */
export function scheduledLearningRate(config: Pick<TrainerConfig, 'learningRate' | 'lrSchedulerType' | 'minLearningRateRatio'>, step: number, warmup: number, total: number): number {
  const peak = config.learningRate;
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  if (config.lrSchedulerType === 'constant') return peak;
  const progress = total - warmup <= 1 ? 1 : Math.min(1, (step - warmup) / (total - warmup - 1));
  if (config.lrSchedulerType === 'linear') return peak * (1 - progress) + 1e-12;
  const floor = config.minLearningRateRatio;
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/**
 * The deterministic micro-batches of one epoch: examples shuffled by (seed, epoch), grouped by batch key in that
 * order, cut into micro-batches, and the micro-batches shuffled again. Returns example indices.
 */
export function epochMicroBatches(keys: readonly string[], batchSize: number, seed: number, epoch: number): number[][] {
  const rng = createRng((hashString(`epoch:${epoch}`) ^ Math.imul(seed >>> 0, 0x27d4eb2d)) >>> 0);
  const order = keys.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const buckets = new Map<string, number[]>();
  for (const i of order) {
    const key = keys[i] as string;
    const bucket = buckets.get(key);
    if (bucket) bucket.push(i);
    else buckets.set(key, [i]);
  }
  const batches: number[][] = [];
  for (const bucket of buckets.values()) for (let i = 0; i < bucket.length; i += batchSize) batches.push(bucket.slice(i, i + batchSize));
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [batches[i], batches[j]] = [batches[j] as number[], batches[i] as number[]];
  }
  return batches;
}

/**
 * The loop itself. `SFTTrainer` and `DPOTrainer` wrap it with their task; use it directly for a custom loss.
 */
export class TrainingLoop<E> {
  readonly config: TrainerConfig;
  readonly task: TrainingTask<E>;
  readonly trainDataset: readonly E[];
  readonly evalDataset: readonly E[];
  readonly callbacks: readonly TrainerCallbacks[];
  optimizer: tf.AdamOptimizer;

  constructor(options: { task: TrainingTask<E>; config: TrainerConfigInput; trainDataset: readonly E[]; evalDataset?: readonly E[]; callbacks?: readonly TrainerCallbacks[] }) {
    this.config = parseOptions(trainerConfigSchema, options.config, 'trainer config');
    if (options.trainDataset.length === 0) throw new ModelError('invalid_options', 'the training dataset is empty');
    this.task = options.task;
    this.trainDataset = options.trainDataset;
    this.evalDataset = options.evalDataset ?? [];
    this.callbacks = options.callbacks ?? [];
    this.optimizer = createOptimizer({ learningRate: this.config.learningRate, beta1: this.config.adamBeta1, beta2: this.config.adamBeta2, epsilon: this.config.adamEpsilon });
  }

  /** Optimizer steps per pass over the training set. */
  stepsPerEpoch(): number {
    const keys = this.trainDataset.map((e) => this.task.batchKey(e));
    const micro = epochMicroBatches(keys, this.config.batchSize, this.config.seed, 0).length;
    return Math.max(1, Math.ceil(micro / this.config.gradientAccumulationSteps));
  }

  #emit<K extends keyof TrainerCallbacks>(name: K, ...args: Parameters<NonNullable<TrainerCallbacks[K]>>): unknown[] {
    const out: unknown[] = [];
    for (const callback of this.callbacks) {
      const f = callback[name] as ((...a: unknown[]) => unknown) | undefined;
      if (f) out.push(f.apply(callback, args));
    }
    return out;
  }

  /** Runs a micro-batch forward (and backward when `withGradients`), returning loss, metrics, tokens and gradients. */
  #microBatch(examples: readonly E[], withGradients: boolean): { loss: number; metrics: Record<string, number>; tokens: number; grads?: tf.Tensor[] } {
    const reported: Record<string, tf.Scalar> = {};
    const cleanups: (() => void)[] = [];
    let tokens = 0;
    const context: LossContext = {
      report: (name, value) => {
        reported[name]?.dispose();
        reported[name] = tf.keep(value);
      },
      tokens: (count) => {
        tokens += count;
      },
      defer: (cleanup) => cleanups.push(cleanup),
    };
    try {
      let loss: number;
      let grads: tf.Tensor[] | undefined;
      if (withGradients) {
        const result = computeGradients(this.task.model.parameters, () => this.task.loss(examples, context));
        loss = result.loss.dataSync()[0] as number;
        result.loss.dispose();
        grads = result.grads;
      } else {
        const value = tf.tidy(() => this.task.loss(examples, context));
        loss = value.dataSync()[0] as number;
        value.dispose();
      }
      const metrics: Record<string, number> = {};
      for (const [name, value] of Object.entries(reported)) metrics[name] = value.dataSync()[0] as number;
      return { loss, metrics, tokens, ...(grads ? { grads } : {}) };
    } finally {
      tf.dispose(Object.values(reported));
      for (const cleanup of cleanups) cleanup();
    }
  }

  /** Loss and metrics on the eval set (no gradients), named `eval_loss`, `eval_<metric>`. */
  evaluate(): Record<string, number> {
    if (this.evalDataset.length === 0) return {};
    const size = this.config.evalBatchSize ?? this.config.batchSize;
    const keys = this.evalDataset.map((e) => this.task.batchKey(e));
    const groups = new Map<string, number[]>();
    keys.forEach((k, i) => groups.set(k, [...(groups.get(k) ?? []), i]));
    const sums: Record<string, number> = {};
    let count = 0;
    for (const indices of groups.values()) {
      for (let i = 0; i < indices.length; i += size) {
        const batch = indices.slice(i, i + size).map((j) => this.evalDataset[j] as E);
        const { loss, metrics } = this.#microBatch(batch, false);
        sums.loss = (sums.loss ?? 0) + loss * batch.length;
        for (const [name, value] of Object.entries(metrics)) sums[name] = (sums[name] ?? 0) + value * batch.length;
        count += batch.length;
      }
    }
    return Object.fromEntries(Object.entries(sums).map(([name, value]) => [`eval_${name}`, value / count]));
  }

  async #save(state: TrainerState): Promise<string> {
    const directory = join(this.config.outputDir, `checkpoint-${state.globalStep}`);
    await saveCheckpoint({ directory, model: this.task.model, optimizer: this.optimizer, trainerState: { ...state, config: this.config } });
    const all = listCheckpoints(this.config.outputDir);
    for (const old of all.slice(0, Math.max(0, all.length - this.config.saveTotalLimit))) rmSync(old.directory, { recursive: true, force: true });
    this.#emit('onSave', { directory, step: state.globalStep });
    return directory;
  }

  async #resume(from: string | true): Promise<TrainerState | undefined> {
    let directory: string;
    if (from === true) {
      const latest = listCheckpoints(this.config.outputDir).at(-1);
      if (!latest) return undefined;
      directory = latest.directory;
    } else directory = from;
    const loaded = await loadCheckpoint({ directory, kind: this.task.model.kind });
    try {
      this.task.model.parameters.assign(Object.fromEntries(loaded.model.parameters.entries()));
    } finally {
      loaded.model.dispose();
    }
    if (!loaded.optimizer) throw new ModelError('invalid_options', `checkpoint ${directory} has no optimizer state to resume from`);
    this.optimizer.dispose();
    this.optimizer = loaded.optimizer;
    const state = loaded.trainerState as TrainerState | undefined;
    if (!state || typeof state.globalStep !== 'number') throw new ModelError('invalid_options', `checkpoint ${directory} has no trainer state to resume from`);
    return state;
  }

  /** Trains to the end (or until stopped), resuming when asked. */
  async train(options: TrainOptions = {}): Promise<TrainResult> {
    const c = this.config;
    mkdirSync(c.outputDir, { recursive: true });
    const metricsFile = join(c.outputDir, 'metrics.jsonl');
    const stepsPerEpoch = this.stepsPerEpoch();
    const maxSteps = c.maxSteps > 0 ? c.maxSteps : Math.max(1, Math.ceil(c.numTrainEpochs * stepsPerEpoch));
    const warmup = warmupStepCount(c, maxSteps);
    let state: TrainerState = { globalStep: 0, maxSteps, stepsPerEpoch, nonFiniteRun: 0, skippedSteps: 0, interval: { steps: 0, sums: {} } };
    const resumed = options.resumeFrom ? await this.#resume(options.resumeFrom) : undefined;
    if (resumed) {
      state = { ...resumed, maxSteps, stepsPerEpoch };
      // Metrics written after the checkpoint belong to the run being replaced.
      if (existsSync(metricsFile)) {
        const kept = readFileSync(metricsFile, 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '' && (JSON.parse(line) as { step: number }).step <= state.globalStep);
        writeFileSync(metricsFile, kept.map((l) => `${l}\n`).join(''));
      }
    } else writeFileSync(metricsFile, '');
    const keys = this.trainDataset.map((e) => this.task.batchKey(e));
    const parameters = this.task.model.parameters;
    const decayed = parameters.variables().filter((v) => v.shape.length >= 2);
    let status: TrainResult['status'] = 'completed';
    let checkpoint: string | undefined;
    let intervalStart = performance.now();
    let intervalTokens = 0;
    let epoch = -1;
    let micro: number[][] = [];
    while (state.globalStep < maxSteps) {
      // Let timers, signal handlers and pending process warnings run between steps: a step is synchronous tensor work,
      // so without this an abort from a timer (or a warning emitted before training) would wait for the next save.
      await yieldToEventLoop();
      const step = state.globalStep;
      const stepEpoch = Math.floor(step / stepsPerEpoch);
      if (stepEpoch !== epoch) {
        epoch = stepEpoch;
        micro = epochMicroBatches(keys, c.batchSize, c.seed, epoch);
      }
      const first = (step % stepsPerEpoch) * c.gradientAccumulationSteps;
      const batches = micro.slice(first, first + c.gradientAccumulationSteps);
      const learningRate = scheduledLearningRate(c, step, warmup, maxSteps);
      let grads: tf.Tensor[] | undefined;
      let lossSum = 0;
      const metricSums: Record<string, number> = {};
      let finite = true;
      for (const indices of batches) {
        const result = this.#microBatch(
          indices.map((i) => this.trainDataset[i] as E),
          true,
        );
        intervalTokens += result.tokens;
        if (!Number.isFinite(result.loss)) finite = false;
        lossSum += result.loss;
        for (const [name, value] of Object.entries(result.metrics)) metricSums[name] = (metricSums[name] ?? 0) + value;
        grads = accumulateGradients(grads, result.grads as tf.Tensor[]);
      }
      let gradNorm = Number.NaN;
      let applied = false;
      if (finite && grads) {
        setLearningRate(this.optimizer, learningRate);
        const scaled = scaleGradients(grads, 1 / batches.length);
        if (c.weightDecay > 0) {
          tf.tidy(() => {
            for (const v of decayed) v.assign(v.mul(1 - learningRate * c.weightDecay));
          });
        }
        ({ gradNorm, applied } = applyGradients(parameters, this.optimizer, scaled, c.maxGradNorm > 0 ? { maxGradNorm: c.maxGradNorm } : {}));
      } else if (grads) tf.dispose(grads);
      state.globalStep++;
      if (!applied) {
        state.nonFiniteRun++;
        state.skippedSteps++;
        const message = `step ${state.globalStep}: non-finite loss or gradient (loss ${lossSum / batches.length}); the step was skipped`;
        const warned = this.#emit('onWarning', { code: 'non_finite_loss', message, step: state.globalStep });
        if (warned.length === 0) process.emitWarning(message, { code: 'FLEX_NON_FINITE_LOSS' });
        if (state.nonFiniteRun >= c.maxNonFiniteSteps) status = 'non_finite';
      } else {
        state.nonFiniteRun = 0;
        const sums = state.interval.sums;
        sums.loss = (sums.loss ?? 0) + lossSum / batches.length;
        sums.grad_norm = (sums.grad_norm ?? 0) + gradNorm;
        for (const [name, value] of Object.entries(metricSums)) sums[name] = (sums[name] ?? 0) + value / batches.length;
        state.interval.steps++;
      }
      const last = state.globalStep >= maxSteps || status !== 'completed';
      if (state.globalStep % c.loggingSteps === 0 || last) {
        const seconds = (performance.now() - intervalStart) / 1000;
        const n = Math.max(1, state.interval.steps);
        const averaged = Object.fromEntries(Object.entries(state.interval.sums).map(([k, v]) => [k, v / n]));
        const entry: MetricsEntry = {
          step: state.globalStep,
          epoch: Math.round((state.globalStep / stepsPerEpoch) * 1e4) / 1e4,
          ...averaged,
          learning_rate: learningRate,
          'tokens/s': seconds > 0 ? Math.round(intervalTokens / seconds) : 0,
        };
        if (state.interval.steps > 0) {
          appendFileSync(metricsFile, `${JSON.stringify(entry)}\n`);
          state.lastLog = entry;
          this.#emit('onLog', entry, state);
        }
        state.interval = { steps: 0, sums: {} };
        intervalStart = performance.now();
        intervalTokens = 0;
      }
      if (this.evalDataset.length > 0 && ((c.evalSteps > 0 && state.globalStep % c.evalSteps === 0) || (last && status === 'completed'))) {
        const metrics = { step: state.globalStep, ...this.evaluate() };
        state.lastEval = metrics;
        appendFileSync(metricsFile, `${JSON.stringify(metrics)}\n`);
        this.#emit('onEvaluate', metrics, state);
      }
      if ((c.saveSteps > 0 && state.globalStep % c.saveSteps === 0) || (last && c.saveFinal)) checkpoint = await this.#save(state);
      const answers = this.#emit('onStepEnd', state);
      if (status !== 'completed') break;
      if (answers.includes('stop')) status = 'stopped';
      else if (options.signal?.aborted) status = 'aborted';
      if (status !== 'completed') {
        if (!checkpoint?.endsWith(`checkpoint-${state.globalStep}`) && c.saveFinal) checkpoint = await this.#save(state);
        break;
      }
    }
    return {
      status,
      globalStep: state.globalStep,
      skippedSteps: state.skippedSteps,
      ...(state.lastLog ? { lastLog: state.lastLog } : {}),
      ...(state.lastEval ? { lastEval: state.lastEval } : {}),
      ...(checkpoint ? { checkpoint } : {}),
      metricsFile,
    };
  }
}
