import { z } from 'zod';
import { isVideo, type Media, type RgbImage } from '@flex/criteria';
import { createOptimizer, setLearningRate, tf, trainStep, type FlowGenerator } from '@flex/model';
import { GrpoError, parseOptions } from '../errors';
import { deriveSeed, SeededRandom } from '../random';

/** One pre-training example: a prompt and a media that satisfies it. */
export interface PretrainExample {
  readonly prompt: string;
  readonly media: Media;
}

/** Options of {@link pretrainFlowGenerator}. */
export const pretrainFlowGeneratorOptionsSchema = z.object({
  /** The generator to train (in place). */
  generator: z.custom<FlowGenerator>((v) => typeof v === 'object' && v !== null && typeof (v as FlowGenerator).flowMatchingLoss === 'function', {
    message: 'expected a FlowGenerator from @flex/model',
  }),
  /** Training examples; media must match the generator (size, and frames for video). */
  examples: z.array(z.custom<PretrainExample>((v) => typeof v === 'object' && v !== null && typeof (v as PretrainExample).prompt === 'string')).min(1),
  /** Optimizer steps. Default 1000. */
  steps: z.number().int().positive().default(1000),
  /** Examples per step. Default 32. */
  batchSize: z.number().int().positive().default(32),
  /** Peak Adam learning rate (linear warm-up over 5% of the steps, then cosine decay to 10%). Default 2e-3. */
  learningRate: z.number().positive().default(2e-3),
  /** Global gradient-norm clip. Default 1. */
  maxGradNorm: z.number().positive().default(1),
  /** Seed of the batch order, σ and noise draws. Default 0. */
  seed: z.number().int().default(0),
  /** Called after each step. */
  onStep: z.custom<(event: { step: number; loss: number; learningRate: number }) => void>((v) => typeof v === 'function').optional(),
  /** Stops after the current step. */
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
});

/** Input of {@link pretrainFlowGenerator}. */
export type PretrainFlowGeneratorOptions = z.input<typeof pretrainFlowGeneratorOptionsSchema>;

/** The media of an example as model input pixels, checked against the generator's sample shape. */
function pixelsOf(media: Media, generator: FlowGenerator, index: number): Float32Array {
  const { size, modality, frames } = generator.config;
  const frameList: readonly RgbImage[] = isVideo(media) ? media.frames : [media];
  const expectedFrames = modality === 'video' ? frames : 1;
  if (isVideo(media) !== (modality === 'video') || frameList.length !== expectedFrames) {
    throw new GrpoError('invalid_options', `pretrainFlowGenerator: example ${index} is not a ${modality}${modality === 'video' ? ` of ${frames} frames` : ''}`);
  }
  const out = new Float32Array(generator.sampleSize);
  frameList.forEach((frame, f) => {
    if (frame.width !== size || frame.height !== size) {
      throw new GrpoError('invalid_options', `pretrainFlowGenerator: example ${index} is ${frame.width}×${frame.height}, the generator makes ${size}×${size}`);
    }
    out.set(frame.data, f * size * size * 3);
  });
  return out;
}

/**
 * Pre-trains a flow generator with the flow-matching loss on (prompt, media) examples, so that GRPO starts
 * from a policy that sometimes gets prompts right. Deterministic for a seed on one backend. Returns the
 * per-step losses.
 */
export function pretrainFlowGenerator(options: PretrainFlowGeneratorOptions): { losses: number[] } {
  const o = parseOptions(pretrainFlowGeneratorOptionsSchema, options, 'pretrainFlowGenerator');
  const generator = o.generator;
  const pixels = o.examples.map((e, i) => pixelsOf(e.media, generator, i));
  const optimizer = createOptimizer({ learningRate: o.learningRate });
  const n = o.examples.length;
  const losses: number[] = [];
  let order: number[] = [];
  let epoch = -1;
  const warmup = Math.max(1, Math.round(0.05 * o.steps));
  try {
    for (let step = 0; step < o.steps; step++) {
      if (o.signal?.aborted) break;
      const indices: number[] = [];
      for (let k = step * o.batchSize; k < (step + 1) * o.batchSize; k++) {
        const e = Math.floor(k / n);
        if (e !== epoch) {
          epoch = e;
          order = shuffled(n, deriveSeed(o.seed, e, 5));
        }
        indices.push(order[k % n] as number);
      }
      const progress = step < warmup ? (step + 1) / warmup : 1;
      const cosine = step < warmup ? 1 : 0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(1, o.steps - warmup)));
      const learningRate = o.learningRate * progress * cosine;
      setLearningRate(optimizer, learningRate);
      const batch = new Float32Array(indices.length * generator.sampleSize);
      indices.forEach((i, b) => batch.set(pixels[i] as Float32Array, b * generator.sampleSize));
      const data = tf.tensor(batch, [indices.length, ...generator.sampleShape]);
      const prompt = generator.promptFeatures(indices.map((i) => (o.examples[i] as PretrainExample).prompt));
      const result = trainStep({
        parameters: generator.parameters,
        optimizer,
        loss: () => generator.flowMatchingLoss(data, prompt, deriveSeed(o.seed, step, 6)),
        maxGradNorm: o.maxGradNorm,
      });
      tf.dispose([data, prompt]);
      losses.push(result.loss);
      o.onStep?.({ step: step + 1, loss: result.loss, learningRate });
    }
  } finally {
    optimizer.dispose();
  }
  return { losses };
}

function shuffled(n: number, seed: number): number[] {
  const random = new SeededRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.integer(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}
