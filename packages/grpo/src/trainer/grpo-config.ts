import { z } from 'zod';
import { advantageScalingSchema } from '../advantages';
import { lossAggregationSchema } from '../aggregation';

/**
 * The trainer's configuration, in the shape of TRL's `GRPOConfig` (names in camelCase; the TRL name is given
 * where one exists). Defaults follow Flow-GRPO where generators differ from language models (a tiny ratio
 * clip, because a flow step's log-prob is a mean over thousands of elements).
 */
export const grpoConfigSchema = z
  .object({
    /** Folder for metrics (`metrics.jsonl`) and checkpoints (`checkpoint-<step>`). Default: none (nothing written). */
    outputDir: z.string().min(1).optional(),
    /** Seed of everything stochastic (prompt order, sampling, step choice). Default 0. */
    seed: z.number().int().default(0),
    /** Update steps to run (TRL `max_steps`); each samples, judges and updates once. Default 100. */
    maxSteps: z.number().int().positive().default(100),
    /** Prompts per step. Default 4. */
    promptsPerStep: z.number().int().positive().default(4),
    /** Samples per prompt, G (TRL `num_generations`). Default 8. */
    groupSize: z.number().int().min(2).default(8),
    /** Adam learning rate. Default 1e-4. */
    learningRate: z.number().positive().default(1e-4),
    /**
     * Learning-rate schedule over `maxSteps` (TRL `lr_scheduler_type`), after the warm-up: `constant`
     * (Flow-GRPO), `linear` (to 0) or `cosine` (to `minLearningRateRatio` of the peak). Default `constant`.
     */
    lrSchedulerType: z.enum(['constant', 'linear', 'cosine']).default('constant'),
    /** Linear warm-up steps (TRL `warmup_steps`). Default 0 (then `warmupRatio` applies). */
    warmupSteps: z.number().int().min(0).default(0),
    /** Warm-up as a share of `maxSteps` (TRL `warmup_ratio`), used when `warmupSteps` is 0. Default 0. */
    warmupRatio: z.number().min(0).max(1).default(0),
    /** Floor of the cosine schedule as a share of the peak. Default 0.1. */
    minLearningRateRatio: z.number().min(0).max(1).default(0.1),
    /** Adam β1. Default 0.9. */
    adamBeta1: z.number().min(0).max(1).default(0.9),
    /** Adam β2. Default 0.999. */
    adamBeta2: z.number().min(0).max(1).default(0.999),
    /** Adam ε. Default 1e-8. */
    adamEpsilon: z.number().positive().default(1e-8),
    /** Clip the gradients to this global norm (TRL `max_grad_norm`). Default 1. */
    maxGradNorm: z.number().positive().default(1),
    /** KL weight β (TRL `beta`); > 0 needs a policy with a reference. Default 0. */
    beta: z.number().nonnegative().default(0),
    /** Lower ratio clip ε_low (TRL `epsilon`). Default 1e-3 (Flow-GRPO range 1e-4 to 1e-3; TRL uses 0.2 for tokens). */
    epsilonLow: z.number().positive().lt(1).default(1e-3),
    /** Upper ratio clip ε_high (TRL `epsilon_high`). Default: `epsilonLow`. */
    epsilonHigh: z.number().positive().optional(),
    /** Passes over each sampled batch (TRL `num_iterations`, μ). Default 1. */
    numIterations: z.number().int().positive().default(1),
    /** Optimizer updates per pass: the batch's samples are split into this many minibatches. Default 1. */
    minibatches: z.number().int().positive().default(1),
    /**
     * Rollouts per forward/backward pass: a minibatch larger than this is processed in chunks whose gradients
     * are summed before the one optimizer update (gradient accumulation; bounds memory, e.g. for video).
     * Default 16.
     */
    microBatchSize: z.number().int().positive().default(16),
    /** Reward scaling of the advantages (TRL `scale_rewards`). Default `group`. */
    scaleRewards: advantageScalingSchema.default('group'),
    /** ε added to the std in the advantages. Default 1e-4. */
    advantageEpsilon: z.number().nonnegative().default(1e-4),
    /** Clip the advantages to ±this. Default 5. */
    advantageClip: z.number().positive().default(5),
    /**
     * `components`: when the reward reports components (the Flex reward's overall and category parts),
     * normalise each within its group, blend, re-normalise over the batch (REFERENCE.md §3);
     * `total`: normalise the total reward only. Default `components`.
     */
    advantageMode: z.enum(['components', 'total']).default('components'),
    /** Loss aggregation (TRL `loss_type`). Default `sequence-mean`. */
    lossType: lossAggregationSchema.default('sequence-mean'),
    /** Fraction of a rollout's stochastic steps trained per update (Flow-GRPO `timestep_fraction`). Default 1. */
    trainStepFraction: z.number().gt(0).max(1).default(1),
    /**
     * Which steps `trainStepFraction` picks: `random` (a seeded subset per update, Flow-GRPO) or `first` (the
     * earliest, high-noise steps, where layout and colour are decided). Default `random`. With `first` the later
     * steps change with every update but are never trained, which biases the update for a reward on the sample (on a
     * brightness toy the reward fell whichever way it pointed; docs/grpo.md).
     */
    trainStepSelection: z.enum(['random', 'first']).default('random'),
    /** Log (average and emit) every this many steps (TRL `logging_steps`). Default 1. */
    loggingSteps: z.number().int().positive().default(1),
    /** Save a checkpoint every this many steps (TRL `save_steps`); 0 never (the last step is saved when outputDir is set). Default 0. */
    saveSteps: z.number().int().nonnegative().default(0),
    /**
     * Seed of the evaluation samples' starting noise. Give the same value to runs with different `seed`s (and to
     * an evaluation of the starting policy) so their evaluations see the same noise and compare pairwise.
     * Default: `seed`.
     */
    evalSeed: z.number().int().optional(),
    /** Evaluate every this many steps when an evaluation reward is given; 0 only at the end. Default 0. */
    evalSteps: z.number().int().nonnegative().default(0),
    /**
     * Run the update in a worker thread (its own backend, so its own core) while this thread samples and judges
     * the next batch: sampling then runs one update behind (the ratio ρ corrects for it). Flow policies only.
     * Checkpoint and evaluation steps wait for the update, so a resumed run still matches an uninterrupted one.
     * Default false.
     */
    updateInWorker: z.boolean().default(false),
  })
  .strict();

/** Input of {@link grpoConfigSchema}. */
export type GRPOConfigInput = z.input<typeof grpoConfigSchema>;
/** A validated trainer configuration. */
export type GRPOConfig = z.output<typeof grpoConfigSchema>;
