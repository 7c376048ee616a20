import { join } from 'node:path';
import { z } from 'zod';
import type { Media } from '@flex/criteria';
import type { BradleyTerryModel, LossContext, PreferencePair, TrainResult, TrainerCallbacks, TrainerConfigInput, tf as TensorFlow } from '@flex/model';
import { type PairRecord, loadCandidateMedia, readAllPairs } from '@flex/synth';
import { EvalError, parseOptions } from './errors';

/**
 * Training of the scalar Bradley–Terry baseline (the HPS / PickScore / ImageReward family): a scalar score head on
 * the same pretrained base as the Flex judge (its vision encoder, prompt embeddings and transformer copied from the
 * base checkpoint by parameter name), trained on the same training pairs with the pairwise loss
 * −log σ(s_winner − s_loser), through @flex/model's `TrainingLoop` (schedule, clipping, checkpoints, bit-exact resume).
 */

/** Options of {@link trainBradleyTerry}. */
export const trainBradleyTerryOptionsSchema = z.object({
  /**
   * The pretrained base: a `flex-judge` checkpoint folder (the pipeline passes @flex/sft's `baseImageCheckpoint`, the
   * one the Flex judge starts from). Its config and tokenizer are reused and every parameter whose name and shape
   * match is copied. Without it the model starts from random weights of `preset` with a tokenizer built from the
   * dataset's prompts (not a fair baseline; for tests and ablations).
   */
  base: z.string().min(1).optional(),
  /** Size preset when there is no `base`. Default 'small'. */
  preset: z.enum(['tiny', 'small', 'base']).default('small'),
  /** The training dataset folder of @flex/synth (`pairs.jsonl`, `media/`). */
  data: z.string().min(1),
  /** Output folder: `metrics.jsonl`, `checkpoint-<step>` folders, and `final/` (the trained model). */
  out: z.string().min(1),
  /** Optimizer steps. Default 600. */
  steps: z.number().int().min(1).default(600),
  /** Pairs per step (each pair is two forward candidates). Default 32. */
  batchSize: z.number().int().min(1).default(32),
  /**
   * Pairs per forward pass; a step of `batchSize` pairs accumulates the gradients of ⌈batchSize / microBatchSize⌉
   * equal micro-batches (so the effective batch is rounded up to a multiple of them). Default 16. Kept under 32
   * pairs (64 candidates): at 64 candidates in one backward pass @flex/model's fixed wasm kernels abort with
   * "memory access out of bounds" (measured; the cpu backend is fine), below it the wasm gradients match the cpu
   * backend's to 1e-5.
   */
  microBatchSize: z.number().int().min(1).max(31).default(16),
  /** Peak learning rate (linear warm-up then cosine to 10 %). Default 1e-3. */
  learningRate: z.number().positive().default(1e-3),
  /** Seed of the data order, the held-out draw and the score head. Default 0. */
  seed: z.number().int().default(0),
  /** Share of the pairs held out for `eval_loss` / `eval_accuracy` (logged at the end). Default 0.05. */
  evalShare: z.number().min(0).max(0.5).default(0.05),
  /** Use only the first this many pairs of the dataset. Default: all. */
  limit: z.number().int().min(1).optional(),
  /**
   * Further `TrainerConfig` fields of @flex/model (`loggingSteps`, `saveSteps`, `warmupSteps`, `weightDecay`,
   * `maxGradNorm`, `lrSchedulerType`, …); `outputDir`, `maxSteps`, `batchSize`, `learningRate` and `seed` come from
   * the options above.
   */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Trainer callbacks (`onLog`, `onStepEnd`, `onSave`, …). */
  callbacks: z.array(z.custom<TrainerCallbacks>((v) => typeof v === 'object' && v !== null)).default([]),
  /** Called after every optimizer step with (step, total steps). */
  onProgress: z.custom<(step: number, total: number) => void>((v) => typeof v === 'function').optional(),
  /** Resume from the latest `checkpoint-<step>` in `out` (starts afresh when there is none). Default false. */
  resume: z.boolean().default(false),
  /** Stops after the current step (a checkpoint is saved; the result's status is 'aborted'). */
  signal: z.custom<AbortSignal>((v) => typeof v === 'object' && v !== null).optional(),
});
/** Input of {@link trainBradleyTerry}. */
export type TrainBradleyTerryOptions = z.input<typeof trainBradleyTerryOptionsSchema>;

/** What {@link trainBradleyTerry} returns. */
export interface TrainBradleyTerryResult {
  /** The trained model, a `bradley-terry` checkpoint (`<out>/final`); load it with `loadBaselineJudge({ id: 'scalar-bt' })`. */
  readonly checkpoint: string;
  /** What the training loop did (status, steps, last metrics, metrics file). */
  readonly train: TrainResult;
  /** Pairs trained on (ties excluded). */
  readonly trainPairs: number;
  /** Held-out pairs (ties excluded). */
  readonly evalPairs: number;
  /** Pairs left out because their label is a tie (the Bradley–Terry loss has no term for them). */
  readonly skippedTies: number;
  /** Parameters copied from the base (empty without a base). */
  readonly copiedParameters: readonly string[];
  /** Parameters of the model that kept their fresh initialisation (the score head, and anything the base lacks). */
  readonly initialisedParameters: readonly string[];
}

/** One training example: a loaded pair and its modality (pairs of one modality share a micro-batch). */
interface LoadedPreferencePair extends PreferencePair {
  readonly modality: 'image' | 'video';
}

/**
 * Copies into `to` every parameter of `from` whose name and shape match (the backbone the Flex judge and the
 * Bradley–Terry model share: vision stem, projections, position and slot embeddings, token embeddings, transformer
 * blocks, final norm). Returns the names copied and the names of `to` left as they were.
 */
export function copyMatchingParameters(
  from: { readonly parameters: BradleyTerryModel['parameters'] },
  to: { readonly parameters: BradleyTerryModel['parameters'] },
): { copied: string[]; kept: string[] } {
  const source = new Map(from.parameters.entries());
  const copied: string[] = [];
  const kept: string[] = [];
  for (const [name, variable] of to.parameters.entries()) {
    const value = source.get(name);
    if (value !== undefined && value.shape.join(',') === variable.shape.join(',')) {
      variable.assign(value);
      copied.push(name);
    } else kept.push(name);
  }
  return { copied, kept };
}

/** Fisher–Yates shuffle with a seeded stream (mulberry32). */
function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Trains the scalar Bradley–Terry baseline on a @flex/synth dataset, starting from the Flex judge's pretrained base,
 * and saves it to `<out>/final` (kind `bradley-terry`). Pairs labelled `tie` are skipped (the loss would give them
 * weight 0). `metrics.jsonl` gets one line per logging interval with `loss`, `accuracy` (share of training pairs
 * whose higher score is the preferred candidate), `grad_norm` and `learning_rate`, and a final line with
 * `eval_loss` / `eval_accuracy` on the held-out share. With `resume` it continues from the latest checkpoint in
 * `out`, reproducing an uninterrupted run.
 * @throws EvalError `invalid_options`, `invalid_dataset` (no usable pair), `checkpoint_error` (the base), `not_available`.
 */
export async function trainBradleyTerry(options: TrainBradleyTerryOptions): Promise<TrainBradleyTerryResult> {
  const o = parseOptions(trainBradleyTerryOptionsSchema, options, 'trainBradleyTerry');
  let model: typeof import('@flex/model');
  try {
    model = await import('@flex/model');
  } catch (cause) {
    throw new EvalError('not_available', `trainBradleyTerry needs @flex/model, which could not be loaded: ${(cause as Error).message}`, { cause });
  }
  await model.initBackend();
  const tf = model.tf;

  let records: PairRecord[];
  try {
    records = await readAllPairs({ data: o.data, ...(o.limit !== undefined ? { limit: o.limit } : {}) });
  } catch (cause) {
    throw new EvalError('invalid_dataset', `trainBradleyTerry: cannot read the dataset ${o.data}: ${(cause as Error).message}`, { cause });
  }
  const decided = records.filter((r) => r.label !== 'tie');
  const skippedTies = records.length - decided.length;
  if (decided.length === 0) throw new EvalError('invalid_dataset', `trainBradleyTerry: ${o.data} has no pair with a non-tie label`);
  let loaded: LoadedPreferencePair[];
  try {
    loaded = decided.map((r) => ({
      prompt: r.prompt,
      modality: r.modality,
      a: loadCandidateMedia(o.data, r, 'a') as Media,
      b: loadCandidateMedia(o.data, r, 'b') as Media,
      label: r.label,
    }));
  } catch (cause) {
    throw new EvalError('invalid_dataset', `trainBradleyTerry: ${(cause as Error).message}`, { cause });
  }
  const shuffled = seededShuffle(loaded, o.seed ^ 0x5bd1e995);
  const evalCount = loaded.length > 1 ? Math.min(loaded.length - 1, Math.round(o.evalShare * loaded.length)) : 0;
  const evalSet = shuffled.slice(0, evalCount);
  const trainSet = shuffled.slice(evalCount);

  let bt: BradleyTerryModel;
  let copied: string[] = [];
  let kept: string[];
  if (o.base !== undefined) {
    let base: Awaited<ReturnType<typeof model.loadCheckpoint>>;
    try {
      base = await model.loadCheckpoint({ directory: o.base });
    } catch (cause) {
      throw new EvalError('checkpoint_error', `trainBradleyTerry: base ${o.base}: ${(cause as Error).message}`, { cause });
    }
    try {
      const config = model.modelConfigSchema.parse({ ...base.model.config, kind: 'bradley-terry', seed: o.seed });
      bt = new model.BradleyTerryModel(config, base.model.tokenizer, { name: 'scalar Bradley–Terry' });
      ({ copied, kept } = copyMatchingParameters(base.model, bt));
    } finally {
      base.model.dispose();
      base.optimizer?.dispose();
    }
  } else {
    const tokenizer = model.buildJudgeTokenizer({ prompts: records.map((r) => r.prompt), minCount: 1 });
    bt = model.BradleyTerryModel.create({ preset: o.preset, tokenizer, seed: o.seed, name: 'scalar Bradley–Terry' });
    kept = bt.parameters.names();
  }

  const task = {
    model: bt,
    batchKey: (pair: LoadedPreferencePair) => pair.modality,
    loss(pairs: readonly LoadedPreferencePair[], context: LossContext): TensorFlow.Scalar {
      const n = pairs.length;
      const all = bt.scores([...pairs.map((p) => ({ media: p.a, prompt: p.prompt })), ...pairs.map((p) => ({ media: p.b, prompt: p.prompt }))]);
      const a = all.slice(0, n) as TensorFlow.Tensor1D;
      const b = all.slice(n, n) as TensorFlow.Tensor1D;
      const preferA = tf.tensor1d(pairs.map((p) => (p.label === 'A' ? 1 : 0)));
      const sign = preferA.mul(2).sub(1);
      // A pair counts as right when the preferred candidate scores strictly higher.
      context.report('accuracy', tf.tidy(() => tf.step(a.sub(b).mul(sign), 0).mean() as TensorFlow.Scalar));
      context.report('score_margin', tf.tidy(() => a.sub(b).mul(sign).mean() as TensorFlow.Scalar));
      return model.bradleyTerryLoss(a, b, preferA);
    },
  };
  const accumulation = Math.ceil(o.batchSize / o.microBatchSize);
  const micro = Math.ceil(o.batchSize / accumulation);
  const config = {
    loggingSteps: 10,
    warmupRatio: 0.05,
    ...o.config,
    outputDir: o.out,
    maxSteps: o.steps,
    batchSize: micro,
    gradientAccumulationSteps: accumulation,
    evalBatchSize: micro,
    learningRate: o.learningRate,
    seed: o.seed,
  } as TrainerConfigInput;
  const progress: TrainerCallbacks[] = o.onProgress
    ? [
        {
          onStepEnd: (state) => {
            o.onProgress?.(state.globalStep, state.maxSteps);
          },
        },
      ]
    : [];
  let loop: InstanceType<typeof model.TrainingLoop<LoadedPreferencePair>>;
  try {
    loop = new model.TrainingLoop<LoadedPreferencePair>({ task, config, trainDataset: trainSet, evalDataset: evalSet, callbacks: [...o.callbacks, ...progress] });
  } catch (cause) {
    bt.dispose();
    throw new EvalError('invalid_options', `trainBradleyTerry: ${(cause as Error).message}`, { cause });
  }
  try {
    const train = await loop.train({ ...(o.resume ? { resumeFrom: true } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    const checkpoint = join(o.out, 'final');
    await model.saveCheckpoint({ directory: checkpoint, model: bt });
    return { checkpoint, train, trainPairs: trainSet.length, evalPairs: evalSet.length, skippedTies, copiedParameters: copied, initialisedParameters: kept };
  } finally {
    loop.optimizer.dispose();
    bt.dispose();
  }
}
