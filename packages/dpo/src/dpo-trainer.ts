import { z } from 'zod';
import type { Media } from '@flex/criteria';
import { type FlexJudgeModel, type LossContext, type TrainerCallbacks, type TrainOptions, type TrainResult, type TrainingTask, TrainingLoop, tf, trainerConfigSchema } from '@flex/model';
import { DpoError } from './errors';
import { dpoLossTypeSchema } from './losses';
import { dpoLossTensor } from './tensor-losses';

/** The DPO configuration: the shared trainer config (with DPO-sized defaults) plus β, the loss type and ε. */
export const dpoConfigSchema = trainerConfigSchema.extend({
  /** Peak learning rate. Default 2e-4 (DPO moves a trained judge: small steps). */
  learningRate: z.number().positive().default(2e-4),
  /** Pairs per micro-batch (each pair is two sequences). Default 8. */
  batchSize: z.number().int().min(1).default(8),
  /** β, the strength of the implicit KL to the reference. Default 0.1. */
  beta: z.number().positive().default(0.1),
  /** Loss variant: sigmoid, hinge, ipo or conservative. Default 'sigmoid'. */
  lossType: dpoLossTypeSchema.default('sigmoid'),
  /** Label smoothing ε of the conservative loss. Default 0.1. */
  labelSmoothing: z.number().min(0).lt(0.5).default(0.1),
  /** Weight of the chosen completion's mean token NLL added to the loss (TRL's rpo_alpha); 0 = plain DPO. Default 0. */
  rpoAlpha: z.number().min(0).default(0),
});
/** Input of {@link dpoConfigSchema}. */
export type DPOConfigInput = z.input<typeof dpoConfigSchema>;
/** A validated DPO configuration. */
export type DPOConfig = z.output<typeof dpoConfigSchema>;

/** One DPO example: the input, the chosen and rejected completions, and their reference log-probs (sums). */
export interface DpoExample {
  readonly media: readonly Media[];
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
  /** log πref(chosen | input), summed over completion tokens; computed from `referenceModel` when absent. */
  readonly referenceChosen?: number;
  readonly referenceRejected?: number;
}

/** Options of the {@link DPOTrainer} constructor. */
export interface DPOTrainerOptions {
  /** The policy (updated in place), usually the SFT judge. */
  readonly model: FlexJudgeModel;
  readonly config: DPOConfigInput;
  readonly trainDataset: readonly DpoExample[];
  readonly evalDataset?: readonly DpoExample[];
  /** A frozen reference model, used once to fill in missing reference log-probs (it need not stay in memory after). */
  readonly referenceModel?: FlexJudgeModel;
  readonly callbacks?: readonly TrainerCallbacks[];
}

type ResolvedExample = Required<DpoExample>;

/** Reference log-prob sums of chosen and rejected completions under a model (no gradients), in batches. */
export function referenceLogProbs(model: FlexJudgeModel, examples: readonly Pick<DpoExample, 'media' | 'prompt' | 'chosen' | 'rejected'>[], options: { batchSize?: number } = {}): { chosen: number; rejected: number }[] {
  const size = options.batchSize ?? 16;
  const out: { chosen: number; rejected: number }[] = [];
  for (let i = 0; i < examples.length; i += size) {
    const slice = examples.slice(i, i + size);
    const chosen = model.scoreCompletions(slice.map((e) => ({ media: e.media, prompt: e.prompt, completion: e.chosen })), { batchSize: size });
    const rejected = model.scoreCompletions(slice.map((e) => ({ media: e.media, prompt: e.prompt, completion: e.rejected })), { batchSize: size });
    slice.forEach((_, j) => out.push({ chosen: (chosen[j] as { sum: number }).sum, rejected: (rejected[j] as { sum: number }).sum }));
  }
  return out;
}

function resolve(examples: readonly DpoExample[], which: string, reference: FlexJudgeModel | undefined): ResolvedExample[] {
  examples.forEach((e, i) => {
    if (!e || typeof e.prompt !== 'string' || typeof e.chosen !== 'string' || typeof e.rejected !== 'string' || !Array.isArray(e.media)) {
      throw new DpoError('invalid_dataset', `${which}[${i}] is not a DPO example { media, prompt, chosen, rejected }`);
    }
  });
  const missing = examples.map((e, i) => ({ e, i })).filter(({ e }) => !Number.isFinite(e.referenceChosen) || !Number.isFinite(e.referenceRejected));
  const computed = new Map<number, { chosen: number; rejected: number }>();
  if (missing.length > 0) {
    if (!reference) throw new DpoError('missing_reference', `${missing.length} ${which} examples have no reference log-probs and no referenceModel was given`);
    const values = referenceLogProbs(reference, missing.map(({ e }) => e));
    missing.forEach(({ i }, k) => computed.set(i, values[k] as { chosen: number; rejected: number }));
  }
  return examples.map((e, i) => {
    const c = computed.get(i);
    return { ...e, referenceChosen: c ? c.chosen : (e.referenceChosen as number), referenceRejected: c ? c.rejected : (e.referenceRejected as number) };
  });
}

/**
 * Direct preference optimisation in TRL's shape: `new DPOTrainer({ model, config, trainDataset, evalDataset,
 * callbacks }).train({ resumeFrom })`. Sequence log-probs are sums over completion tokens (prompt and media masked);
 * reference log-probs are precomputed (given with the data, or computed once from `referenceModel`). Logs `loss`,
 * `rewards/chosen`, `rewards/rejected`, `rewards/margins`, `rewards/accuracies`, `logps/chosen`, `logps/rejected`,
 * `grad_norm`, `learning_rate`, `tokens/s`; checkpoints, keep-last-K and bit-exact resume as the SFT trainer.
 */
export class DPOTrainer {
  readonly model: FlexJudgeModel;
  readonly config: DPOConfig;
  readonly loop: TrainingLoop<ResolvedExample>;

  constructor(options: DPOTrainerOptions) {
    const parsed = dpoConfigSchema.safeParse(options.config);
    if (!parsed.success) throw new DpoError('invalid_options', `DPO config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.config = parsed.data;
    this.model = options.model;
    const train = resolve(options.trainDataset, 'trainDataset', options.referenceModel);
    const evaluation = resolve(options.evalDataset ?? [], 'evalDataset', options.referenceModel);
    const { beta, lossType, labelSmoothing, rpoAlpha, ...loopConfig } = this.config;
    const model = this.model;
    const task: TrainingTask<ResolvedExample> = {
      model,
      batchKey: (e) => `${e.media.length}:${e.media.some((m) => 'frames' in m) ? 'video' : 'image'}`,
      loss(examples: readonly ResolvedExample[], context: LossContext): tf.Scalar {
        const b = examples.length;
        const batch = model.prepareBatch([
          ...examples.map((e) => ({ media: e.media, prompt: e.prompt, completion: e.chosen })),
          ...examples.map((e) => ({ media: e.media, prompt: e.prompt, completion: e.rejected })),
        ]);
        context.defer(() => batch.dispose());
        context.tokens(batch.tokenCount);
        const { sum, mean } = model.completionLogProbs(batch);
        const policyChosen = sum.slice(0, b) as tf.Tensor1D;
        const policyRejected = sum.slice(b, b) as tf.Tensor1D;
        const out = dpoLossTensor(
          {
            policyChosen,
            policyRejected,
            referenceChosen: tf.tensor1d(examples.map((e) => e.referenceChosen)),
            referenceRejected: tf.tensor1d(examples.map((e) => e.referenceRejected)),
          },
          { beta, lossType, labelSmoothing },
        );
        context.report('rewards/chosen', out.rewardsChosen.mean());
        context.report('rewards/rejected', out.rewardsRejected.mean());
        context.report('rewards/margins', out.rewardsChosen.sub(out.rewardsRejected).mean());
        context.report('rewards/accuracies', out.accuracies.mean());
        context.report('logps/chosen', policyChosen.mean());
        context.report('logps/rejected', policyRejected.mean());
        if (rpoAlpha > 0) return out.loss.sub(mean.slice(0, b).mean().mul(rpoAlpha)) as tf.Scalar;
        return out.loss;
      },
    };
    this.loop = new TrainingLoop({ task, config: loopConfig, trainDataset: train, evalDataset: evaluation, ...(options.callbacks ? { callbacks: options.callbacks } : {}) });
  }

  /** Trains to the end (or until stopped); resumes from a checkpoint when asked. */
  train(options: TrainOptions = {}): Promise<TrainResult> {
    return this.loop.train(options);
  }

  /** Eval-set loss and rewards (`eval_loss`, `eval_rewards/accuracies`, …). */
  evaluate(): Record<string, number> {
    return this.loop.evaluate();
  }
}
