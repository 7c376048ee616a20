import { z } from 'zod';

/** Sizes of the vision encoder. */
export const visionConfigSchema = z.object({
  /** Side in pixels that every image and video frame is resized to (even). Default 32. */
  imageSize: z.number().int().min(4).multipleOf(2).default(32),
  /** Channels of the conv stem: a 3×3 conv after a 2×2 space-to-depth, then one stride-2 conv per extra entry. */
  channels: z.array(z.number().int().min(1)).min(1).default([24, 48, 64]),
  /** Frames a video is sampled to (evenly spaced). Default 8, as the published judge. */
  videoFrames: z.number().int().min(1).default(8),
  /** Each video frame's grid is average-pooled to this side (tokens per frame = side²). Default 2. */
  videoTokensPerSide: z.number().int().min(1).default(2),
  /**
   * Residual blocks after each conv of the stem (two 3×3 convs with a GELU between, added to their input; the second
   * starts at zero): depth for shapes at the same grid and cost, since the stem is otherwise three convs. A
   * checkpoint can be grown to more blocks with `loadCheckpoint({ residualBlocks })`; it computes what it did until
   * trained. Default 0.
   */
  residualBlocks: z.number().int().min(0).default(0),
});
/** Sizes of the vision encoder. */
export type VisionConfig = z.output<typeof visionConfigSchema>;

/** The architecture shared by the Flex judge and the scalar Bradley–Terry model. */
export const modelConfigSchema = z
  .object({
    /** Which model: the generative Flex judge or the scalar Bradley–Terry model. */
    kind: z.enum(['flex-judge', 'bradley-terry']),
    /** Vocabulary size (must equal the tokenizer's). */
    vocabSize: z.number().int().min(8),
    /** Model width. */
    dModel: z.number().int().min(4),
    /** Transformer blocks. */
    layers: z.number().int().min(1),
    /** Attention heads (divide dModel). */
    heads: z.number().int().min(1),
    /** MLP hidden width as a multiple of dModel. Default 4. */
    mlpRatio: z.number().int().min(1).default(4),
    /** Longest text (prompt + assessment + specials) in tokens. Default 384. */
    maxTextLength: z.number().int().min(4).default(384),
    /**
     * A distance bias on attention between text tokens: `alibi` subtracts `slope_h · (i − j)` from the score of query
     * `i` on key `j` (one slope per head, 2^(−8h/H): some heads local, some near-global), so a token can find the
     * nearest earlier mention — the line it is writing — which learned absolute positions alone do badly over
     * 500-token answers. Media keys get no distance penalty. No parameters: a checkpoint can be switched on and
     * fine-tuned. Default `none` (what older checkpoints were trained with).
     */
    positionBias: z.enum(['none', 'alibi']).default('none'),
    /**
     * Tag each text token with the candidate it speaks of, as a learned embedding added to it: the tokens of
     * `evidence N:` lines get tag N, and in a `criterion:` line the tokens of the N-th candidate's column (after its
     * N-th unescaped `|`) get tag N; everything else 0 ({@link candidateTag}). Without it, a small model must count
     * the `|` of a line to know whose column it writes and find that candidate's evidence line by position — the
     * binding the judge failed at (docs/sft.md, session 5). The tags follow from the text, so generation computes
     * them as it writes. The embedding starts at zero: a checkpoint can be switched on (`loadCheckpoint({
     * candidateTags: true })`) and fine-tuned. Default false.
     */
    candidateTags: z.boolean().default(false),
    /** The vision encoder. */
    vision: visionConfigSchema.default(visionConfigSchema.parse({})),
    /** Seed of the initial parameters. Default 0. */
    seed: z.number().int().default(0),
  })
  .refine((c) => c.dModel % c.heads === 0, { message: 'dModel must be divisible by heads', path: ['heads'] })
  .refine((c) => Number.isInteger(c.vision.imageSize / 2 / 2 ** (c.vision.channels.length - 1)), {
    message: 'imageSize / 2 / 2^(channels.length - 1) must be an integer',
    path: ['vision', 'imageSize'],
  });
/** Input of {@link modelConfigSchema}. */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
/** A validated model configuration. */
export type ModelConfig = z.output<typeof modelConfigSchema>;

/** Size presets: tiny for tests, small for judges trained here, base for the reference model. */
export const modelPresets = {
  tiny: { dModel: 32, layers: 2, heads: 2, mlpRatio: 2, maxTextLength: 256, vision: { imageSize: 16, channels: [8, 16], videoFrames: 4, videoTokensPerSide: 2 } },
  small: { dModel: 96, layers: 3, heads: 4, mlpRatio: 4, maxTextLength: 384, vision: { imageSize: 32, channels: [24, 48, 64], videoFrames: 8, videoTokensPerSide: 2 } },
  base: { dModel: 128, layers: 4, heads: 4, mlpRatio: 4, maxTextLength: 512, vision: { imageSize: 32, channels: [32, 64, 96], videoFrames: 8, videoTokensPerSide: 2 } },
} as const;
/** A preset name. */
export type ModelPreset = keyof typeof modelPresets;

/** A config from a preset plus overrides, validated. */
export function presetConfig(preset: ModelPreset, overrides: Partial<ModelConfigInput> & Pick<ModelConfigInput, 'kind' | 'vocabSize'>): ModelConfig {
  const base = modelPresets[preset];
  return modelConfigSchema.parse({ ...base, ...overrides, vision: { ...base.vision, ...(overrides.vision ?? {}) } });
}
