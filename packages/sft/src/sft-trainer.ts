import { z } from 'zod';
import {
  type FlexJudgeModel,
  type JudgeExample,
  type LossContext,
  type TrainerCallbacks,
  type TrainOptions,
  type TrainResult,
  type TrainingTask,
  TrainingLoop,
  crossEntropyLoss,
  encodeSequence,
  tf,
  tokenAccuracy,
  trainerConfigSchema,
} from '@flex/model';
import { SftError } from './errors';

/**
 * The SFT configuration: every field of the shared trainer config (learning rate, warm-up + cosine schedule, weight
 * decay, batch size, gradient accumulation, epochs or max steps, max grad norm, eval/save intervals, seed) plus the
 * weight of score and winner tokens.
 */
export const sftConfigSchema = trainerConfigSchema.extend({
  /** Loss weight of score and winner tokens relative to the other assessment tokens. Default 2 (TFJS.md: helped). */
  scoreWeight: z.number().positive().default(2),
  /**
   * Loss weight of the first token of a criterion column that falls short of the requirement (`…, wanted …`): the
   * rare tokens where the judge must read a flaw from the evidence instead of restating the requirement
   * (docs/sft.md, session 4). Default 1 (no extra weight).
   */
  shortfallWeight: z.number().positive().default(1),
  /**
   * Loss weight of the columns and score of every pairwise criterion whose two candidate columns differ: the criteria
   * that decide, where writing the requirement into both columns is wrong. Unlike `shortfallWeight` it also reaches
   * the semantic columns that fall short without `wanted` ("2 green star" for one green star). Default 1 (no extra weight).
   */
  decidingWeight: z.number().positive().default(1),
  /**
   * Loss weights of chosen target tokens, by their text in the model's vocabulary (e.g. `{ ' circle': 4, ' star': 4 }`
   * to weight the shape words of descriptions; `shapeTokenWeights(tokenizer, 4)`). Default none.
   */
  tokenWeights: z.record(z.string(), z.number().positive()).default({}),
});
/** Input of {@link sftConfigSchema}. */
export type SFTConfigInput = z.input<typeof sftConfigSchema>;
/** A validated SFT configuration. */
export type SFTConfig = z.output<typeof sftConfigSchema>;

/** Options of the {@link SFTTrainer} constructor. */
export interface SFTTrainerOptions {
  /** The judge to train (updated in place). */
  readonly model: FlexJudgeModel;
  readonly config: SFTConfigInput;
  /** Examples: media (0, 1 or 2 candidates), prompt, and the compact text to learn. */
  readonly trainDataset: readonly JudgeExample[];
  readonly evalDataset?: readonly JudgeExample[];
  readonly callbacks?: readonly TrainerCallbacks[];
  /**
   * An example longer than the model's `maxTextLength`: `'error'` (default) refuses the dataset before training;
   * `'drop'` leaves it out and counts it in {@link SFTTrainer.droppedTooLong}.
   */
  readonly tooLong?: 'error' | 'drop';
}

/** Text positions an example takes in the model (its layout; what `prepareBatch` checks against `maxTextLength`). */
export function exampleLength(model: FlexJudgeModel, example: JudgeExample): number {
  return encodeSequence(model.tokenizer, example.prompt, example.completion, model.layout, example.open ? { open: true } : {}).ids.length - 1;
}

/** Checks an example's shape and length (before training starts: one that cannot fit would otherwise stop the run when its batch comes); false when it is too long and `drop` is set. */
function checkExample(example: JudgeExample, index: number, which: string, model: FlexJudgeModel, drop: boolean): boolean {
  if (!example || typeof example.prompt !== 'string' || typeof example.completion !== 'string' || !Array.isArray(example.media)) {
    throw new SftError('invalid_dataset', `${which}[${index}] is not an example { media, prompt, completion }`);
  }
  if (example.media.length > 2) throw new SftError('invalid_dataset', `${which}[${index}] has ${example.media.length} candidates (at most 2)`);
  const length = exampleLength(model, example);
  if (length <= model.config.maxTextLength) return true;
  if (!drop) {
    throw new SftError('invalid_dataset', `${which}[${index}] is ${length} tokens long (${model.layout} layout), more than the model's maxTextLength of ${model.config.maxTextLength}: drop or shorten it (tooLong: 'drop' leaves such examples out)`);
  }
  return false;
}

/**
 * Supervised fine-tuning in TRL's shape: `new SFTTrainer({ model, config, trainDataset, evalDataset, callbacks })
 * .train({ resumeFrom })`. Teacher-forced cross-entropy on the completion tokens only (prompt and media masked),
 * metrics `loss`, `mean_token_accuracy`, `grad_norm`, `learning_rate`, `tokens/s` appended to
 * `<outputDir>/metrics.jsonl`, checkpoints `<outputDir>/checkpoint-<step>` (the last `saveTotalLimit` kept), resume
 * bit for bit. A non-finite loss skips the step with a warning; `maxNonFiniteSteps` in a row stop the run.
 * The same trainer pretrains the base model (descriptions, grounded questions, pointwise checks) and fine-tunes the
 * judge (teacher traces with descriptions mixed in).
 */
export class SFTTrainer {
  readonly model: FlexJudgeModel;
  readonly config: SFTConfig;
  readonly loop: TrainingLoop<JudgeExample>;
  /** Examples left out for being longer than the model's `maxTextLength` (`tooLong: 'drop'`). */
  readonly droppedTooLong: number;
  /** The examples evaluated on (after any drop). */
  readonly evalDataset: readonly JudgeExample[];

  constructor(options: SFTTrainerOptions) {
    const parsed = sftConfigSchema.safeParse(options.config);
    if (!parsed.success) throw new SftError('invalid_options', `SFT config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.config = parsed.data;
    this.model = options.model;
    const drop = options.tooLong === 'drop';
    const trainDataset = options.trainDataset.filter((e, i) => checkExample(e, i, 'trainDataset', options.model, drop));
    const evalDataset = options.evalDataset?.filter((e, i) => checkExample(e, i, 'evalDataset', options.model, drop));
    this.droppedTooLong = options.trainDataset.length - trainDataset.length + (options.evalDataset?.length ?? 0) - (evalDataset?.length ?? 0);
    this.evalDataset = evalDataset ?? [];
    const { scoreWeight, shortfallWeight, decidingWeight, tokenWeights, ...loopConfig } = this.config;
    const model = this.model;
    const task: TrainingTask<JudgeExample> = {
      model,
      // Same number and kind of candidates, and similar lengths (a short description padded to a long trace wastes compute).
      batchKey: (e) => `${e.media.length}:${e.media.some((m) => 'frames' in m) ? 'video' : 'image'}:${e.completion.length + e.prompt.length > 400 ? 'long' : 'short'}`,
      loss(examples: readonly JudgeExample[], context: LossContext): tf.Scalar {
        const batch = model.prepareBatch(examples, { scoreWeight, shortfallWeight, decidingWeight, tokenWeights });
        context.defer(() => batch.dispose());
        context.tokens(batch.tokenCount);
        const logits = model.logits(batch);
        context.report('mean_token_accuracy', tf.tidy(() => tokenAccuracy(logits, batch.targets, batch.lossMask)));
        return crossEntropyLoss(logits, batch.targets, batch.weights);
      },
    };
    this.loop = new TrainingLoop({
      task,
      config: loopConfig,
      trainDataset,
      ...(evalDataset ? { evalDataset } : {}),
      ...(options.callbacks ? { callbacks: options.callbacks } : {}),
    });
  }

  /** Trains to the end (or until a callback stops it, the signal aborts it, or non-finite losses pile up). */
  train(options: TrainOptions = {}): Promise<TrainResult> {
    return this.loop.train(options);
  }

  /** Eval-set loss and token accuracy (`eval_loss`, `eval_mean_token_accuracy`). */
  evaluate(): Record<string, number> {
    return this.loop.evaluate();
  }
}
