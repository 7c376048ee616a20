import { z } from 'zod';

/**
 * Sizes of the main job per preset. `quick` proves every stage runs (minutes), `default` is the README's main
 * job (under 30 minutes on 2 cores), `full` trains as long as the best numbers need.
 */
export const pipelineConfigSchema = z.object({
  preset: z.enum(['quick', 'default', 'full']),
  seed: z.number().int().min(0),
  /** Image size the models see, in pixels. */
  imageSize: z.number().int().min(8),
  data: z.object({
    imageTrain: z.number().int().min(1),
    imageValidation: z.number().int().min(1),
    imageTest: z.number().int().min(1),
    imageHeldout: z.number().int().min(1),
    videoTrain: z.number().int().min(0),
    videoTest: z.number().int().min(0),
  }),
  /** Rebuild the base model instead of starting from the shipped checkpoint. */
  fromScratch: z.boolean(),
  /**
   * With --from-scratch: 'single' runs one pretraining phase of `steps`; 'shipped' runs the recipe that built the
   * shipped base (four phases, ~2 h on 2 cores; `steps` does not apply).
   */
  pretrain: z.object({ steps: z.number().int().min(1), recipe: z.enum(['single', 'shipped']) }),
  distill: z.object({ filter: z.enum(['none', 'correct', 'both-correct']) }),
  sft: z.object({ steps: z.number().int().min(1), batchSize: z.number().int().min(1) }),
  dpo: z.object({ steps: z.number().int().min(1), samplesPerPair: z.number().int().min(2), pairs: z.number().int().min(1) }),
  baselines: z.object({ btSteps: z.number().int().min(1), fixedRubricSteps: z.number().int().min(1) }),
  eval: z.object({ limit: z.number().int().min(1), bootstrapSamples: z.number().int().min(0) }),
  /**
   * GRPO of the shipped image generator with the pipeline's Flex judge (the DPO checkpoint) as the reward; 0 steps
   * skip the stage. The held-out oracle is scored before and after on `heldOut` prompts.
   */
  grpo: z.object({
    steps: z.number().int().min(0),
    groupSize: z.number().int().min(2),
    promptsPerStep: z.number().int().min(1),
    learningRate: z.number().positive(),
    heldOut: z.number().int().min(1),
  }),
});
/** The resolved configuration of a pipeline run. */
export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
/** A preset name. */
export type PresetName = PipelineConfig['preset'];

const presets: Record<PresetName, Omit<PipelineConfig, 'seed' | 'fromScratch'>> = {
  quick: {
    preset: 'quick',
    imageSize: 32,
    data: { imageTrain: 160, imageValidation: 20, imageTest: 40, imageHeldout: 40, videoTrain: 20, videoTest: 20 },
    pretrain: { steps: 60, recipe: 'single' },
    distill: { filter: 'correct' },
    sft: { steps: 20, batchSize: 8 },
    dpo: { steps: 10, samplesPerPair: 2, pairs: 16 },
    baselines: { btSteps: 20, fixedRubricSteps: 20 },
    eval: { limit: 40, bootstrapSamples: 200 },
    grpo: { steps: 2, groupSize: 4, promptsPerStep: 1, learningRate: 1e-4, heldOut: 64 },
  },
  default: {
    preset: 'default',
    imageSize: 32,
    data: { imageTrain: 2000, imageValidation: 100, imageTest: 250, imageHeldout: 250, videoTrain: 200, videoTest: 100 },
    pretrain: { steps: 2600, recipe: 'shipped' },
    distill: { filter: 'correct' },
    sft: { steps: 400, batchSize: 16 },
    dpo: { steps: 100, samplesPerPair: 4, pairs: 200 },
    baselines: { btSteps: 300, fixedRubricSteps: 400 },
    eval: { limit: 250, bootstrapSamples: 1000 },
    grpo: { steps: 10, groupSize: 4, promptsPerStep: 4, learningRate: 1e-4, heldOut: 64 },
  },
  full: {
    preset: 'full',
    imageSize: 32,
    data: { imageTrain: 20000, imageValidation: 500, imageTest: 2000, imageHeldout: 1000, videoTrain: 4000, videoTest: 600 },
    pretrain: { steps: 20000, recipe: 'shipped' },
    distill: { filter: 'correct' },
    sft: { steps: 12000, batchSize: 32 },
    dpo: { steps: 2000, samplesPerPair: 6, pairs: 4000 },
    baselines: { btSteps: 12000, fixedRubricSteps: 12000 },
    eval: { limit: 2000, bootstrapSamples: 1000 },
    grpo: { steps: 300, groupSize: 8, promptsPerStep: 4, learningRate: 1e-4, heldOut: 256 },
  },
};

/** The configuration of a preset, with the run's seed and options. */
export function presetConfig(preset: PresetName, options: { seed?: number; fromScratch?: boolean } = {}): PipelineConfig {
  return pipelineConfigSchema.parse({ ...presets[preset], seed: options.seed ?? 0, fromScratch: options.fromScratch ?? false });
}
