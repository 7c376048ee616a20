import { z } from 'zod';
import { tf } from '../engine';
import { ModelError, parseOptions } from '../errors';
import { gelu, Linear, Parameters, spaceToDepth2 } from '../layers';
import { SameConv2d } from './same-conv';
import { createRng } from '../random';
import { promptFeaturesUnchecked } from './prompt-features';

/**
 * Small flow-matching velocity networks for images (16×16 or 32×32) and videos (8+ frames), conditioned on a
 * prompt. Convention (rectified flow, SD3, Flow-GRPO): x_σ = (1 − σ)·x₀ + σ·ε with σ from 1 (noise) to 0
 * (data), the network predicts v = ε − x₀, and a step is x' = x + v·(σ_next − σ). Pixels in [0, 1] are
 * mapped to [−1, 1] for the model.
 *
 * Architecture (all on the wasm fast path): coordinate channels + 2×2 space-to-depth, a 3×3 conv, a second
 * space-to-depth and 3×3 conv, a bottleneck conv, nearest upsampling + skip, and an output conv whose 12 channels are rearranged
 * back to pixels; every block is modulated (FiLM) by an embedding of σ and the prompt features. Videos run
 * their frames through the same convs with a learned frame embedding in the modulation and, at the
 * bottleneck, a mix of the mean over frames (so frames agree on content while differing in motion). A global
 * context (the bottleneck's spatial mean, mixed and added back) lets distant parts of the layout agree.
 */

/** Configuration of a {@link FlowGenerator} (stored in checkpoints). */
export const flowGeneratorConfigSchema = z
  .object({
    /** Image or video generator. */
    modality: z.enum(['image', 'video']),
    /** Side in pixels (divisible by 4). Default 16. */
    size: z.number().int().min(4).multipleOf(4).default(16),
    /** Frames of a video (ignored for images). Default 8. */
    frames: z.number().int().min(1).default(8),
    /** Base channel count C (the bottleneck has 2C). Default 32. */
    channels: z.number().int().min(4).default(32),
    /** Width of the σ + prompt embedding. Default 64. */
    embeddingDim: z.number().int().min(4).default(64),
    /** Hash buckets of the prompt features. Default 256. */
    promptBuckets: z.number().int().min(8).default(256),
    /** Seed of the initial parameters. Default 0. */
    seed: z.number().int().default(0),
  })
  .strict();
/** Input of {@link flowGeneratorConfigSchema}. */
export type FlowGeneratorConfigInput = z.input<typeof flowGeneratorConfigSchema>;
/** A validated generator configuration. */
export type FlowGeneratorConfig = z.output<typeof flowGeneratorConfigSchema>;

const TIME_FREQUENCIES = 16;

/** A FiLM modulation: per-channel scale and shift from the embedding. */
class Film {
  readonly linear: Linear;
  constructor(params: Parameters, name: string, embeddingDim: number, readonly channels: number) {
    this.linear = new Linear(params, name, embeddingDim, 2 * channels, { std: 0.02 });
  }
  /** `x` `[N, h, w, C]`, `embedding` `[N, E]`. */
  apply(x: tf.Tensor4D, embedding: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const n = x.shape[0];
      const [scale, shift] = tf.split(this.linear.apply(embedding).reshape([n, 1, 1, 2 * this.channels]), 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      return x.mul(scale.add(1)).add(shift) as tf.Tensor4D;
    });
  }
}

/** The inverse of `spaceToDepth2`: `[N, H/2, W/2, 4C]` → `[N, H, W, C]`, rank-4 transposes only. */
export function depthToSpace2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c4] = x.shape;
    const c = c4 / 4;
    return x
      .reshape([n * h, w, 2, 2 * c])
      .transpose([0, 2, 1, 3])
      .reshape([n, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}

/** A flow-matching velocity network. Create with {@link createFlowGenerator}. */
export class FlowGenerator {
  readonly config: FlowGeneratorConfig;
  readonly parameters: Parameters;
  readonly #embed1: Linear;
  readonly #embed2: Linear;
  readonly #frameEmbedding?: tf.Variable;
  readonly #convIn: SameConv2d;
  readonly #convDown: SameConv2d;
  readonly #convMid: SameConv2d;
  readonly #convUp: SameConv2d;
  readonly #convOut: SameConv2d;
  readonly #temporal?: Linear;
  readonly #global: Linear;
  readonly #films: Film[];
  readonly #coordinates: tf.Tensor4D;

  constructor(config: FlowGeneratorConfig) {
    this.config = config;
    const { channels: c, embeddingDim: e, promptBuckets } = config;
    const p = new Parameters(config.seed);
    this.parameters = p;
    this.#embed1 = new Linear(p, 'embed1', 2 * TIME_FREQUENCIES + promptBuckets, e);
    this.#embed2 = new Linear(p, 'embed2', e, e);
    if (config.modality === 'video') this.#frameEmbedding = p.create('frame_embedding', [config.frames, e], { kind: 'normal', std: 0.5 });
    this.#convIn = new SameConv2d(p, 'conv_in', 20, c);
    // Downsampling is a space-to-depth then a stride-1 conv: every convolution stays stride 1 (fast gradients).
    this.#convDown = new SameConv2d(p, 'conv_down', 4 * c, 2 * c);
    this.#convMid = new SameConv2d(p, 'conv_mid', 2 * c, 2 * c);
    if (config.modality === 'video') this.#temporal = new Linear(p, 'temporal', 2 * c, 2 * c, { std: 0.02 });
    this.#global = new Linear(p, 'global', 2 * c, 2 * c, { std: 0.02 });
    this.#convUp = new SameConv2d(p, 'conv_up', 3 * c, c);
    this.#convOut = new SameConv2d(p, 'conv_out', c, 12);
    this.#films = [
      new Film(p, 'film_in', e, c),
      new Film(p, 'film_down', e, 2 * c),
      new Film(p, 'film_mid', e, 2 * c),
      new Film(p, 'film_up', e, c),
    ];
    // Two coordinate channels in [−1, 1], so the convolutions know where they are (positions in prompts).
    const s = config.size;
    const coords = new Float32Array(s * s * 2);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        coords[(y * s + x) * 2] = (2 * x) / (s - 1) - 1;
        coords[(y * s + x) * 2 + 1] = (2 * y) / (s - 1) - 1;
      }
    }
    this.#coordinates = tf.tensor4d(coords, [1, s, s, 2]);
  }

  /** Shape of one sample: `[H, W, 3]` or `[F, H, W, 3]`. */
  get sampleShape(): number[] {
    const s = this.config.size;
    return this.config.modality === 'video' ? [this.config.frames, s, s, 3] : [s, s, 3];
  }

  /** Elements of one sample. */
  get sampleSize(): number {
    return this.sampleShape.reduce((a, b) => a * b, 1);
  }

  /** The prompt features `[B, promptBuckets]` of a batch of prompts. */
  promptFeatures(prompts: readonly string[]): tf.Tensor2D {
    const b = this.config.promptBuckets;
    const values = new Float32Array(prompts.length * b);
    prompts.forEach((p, i) => values.set(promptFeaturesUnchecked(p, b), i * b));
    return tf.tensor2d(values, [prompts.length, b]);
  }

  /**
   * The predicted velocity v = (x − x̂₀)/σ, from the network's prediction x̂₀ of the clean sample (see
   * {@link predictData}). `x` `[B, ...sampleShape]` (model space, [−1, 1] at σ = 0), `sigma` `[B]` in (0, 1],
   * `prompt` `[B, promptBuckets]` (from {@link promptFeatures}). Returns a tensor shaped like `x`.
   * With this parametrisation the last Euler step to σ = 0 lands exactly on x̂₀, a clean sample, where a
   * small network predicting v directly leaves high-frequency noise (it cannot reproduce ε at low σ).
   */
  velocity(x: tf.Tensor, sigma: tf.Tensor1D, prompt: tf.Tensor2D): tf.Tensor {
    return tf.tidy(() => {
      const b = x.shape[0] as number;
      const s = tf.maximum(sigma, 1e-3).reshape([b, ...x.shape.slice(1).map(() => 1)]);
      return x.sub(this.predictData(x, sigma, prompt)).div(s);
    });
  }

  /** The network's prediction x̂₀ of the clean sample from x_σ (model space), shaped like `x`. */
  predictData(x: tf.Tensor, sigma: tf.Tensor1D, prompt: tf.Tensor2D): tf.Tensor {
    const { size: s, frames, modality, channels: c } = this.config;
    const expected = [x.shape[0] as number, ...this.sampleShape];
    if (x.shape.join() !== expected.join()) throw new ModelError('shape_error', `velocity: x must be [${expected}], got [${x.shape}]`);
    const b = expected[0] as number;
    if (sigma.shape[0] !== b || prompt.shape[0] !== b || prompt.shape[1] !== this.config.promptBuckets) {
      throw new ModelError('shape_error', `velocity: sigma [${sigma.shape}] and prompt [${prompt.shape}] must have batch ${b} (prompt width ${this.config.promptBuckets})`);
    }
    return tf.tidy(() => {
      const f = modality === 'video' ? frames : 1;
      const n = b * f;
      // σ features: sin/cos of σ at geometric frequencies.
      const freqs = tf.tensor1d(Array.from({ length: TIME_FREQUENCIES }, (_, k) => Math.PI * 2 ** (k / 2)));
      const angles = sigma.reshape([b, 1]).mul(freqs.reshape([1, TIME_FREQUENCIES]));
      const features = tf.concat([tf.sin(angles), tf.cos(angles), prompt], 1);
      let embedding = gelu(this.#embed2.apply(gelu(this.#embed1.apply(features)))) as tf.Tensor2D;
      if (this.#frameEmbedding) {
        embedding = embedding
          .reshape([b, 1, -1])
          .add(this.#frameEmbedding.reshape([1, f, -1]))
          .reshape([n, -1]) as tf.Tensor2D;
      }
      const images = x.reshape([n, s, s, 3]) as tf.Tensor4D;
      const withCoords = tf.concat([images, tf.tile(this.#coordinates, [n, 1, 1, 1])], 3) as tf.Tensor4D;
      const [filmIn, filmDown, filmMid, filmUp] = this.#films as [Film, Film, Film, Film];
      const h1 = gelu(filmIn.apply(this.#convIn.apply(spaceToDepth2(withCoords)), embedding)) as tf.Tensor4D;
      const h2 = gelu(filmDown.apply(this.#convDown.apply(spaceToDepth2(h1)), embedding)) as tf.Tensor4D;
      let h3 = gelu(filmMid.apply(this.#convMid.apply(h2), embedding)) as tf.Tensor4D;
      const q = s / 4;
      // Global context: the mean over the grid, mixed and added back everywhere (layout needs the whole image).
      const pooled = h3.reshape([n, q * q, 2 * c]).mean(1);
      h3 = h3.add(this.#global.apply(pooled).reshape([n, 1, 1, 2 * c])) as tf.Tensor4D;
      if (this.#temporal) {
        const perFrame = h3.reshape([b, f, q * q, 2 * c]);
        const context = this.#temporal.apply(perFrame.mean(1)).reshape([b, 1, q * q, 2 * c]);
        h3 = perFrame.add(context).reshape([n, q, q, 2 * c]) as tf.Tensor4D;
      }
      const up = tf.image.resizeNearestNeighbor(h3, [s / 2, s / 2]);
      const h4 = gelu(filmUp.apply(this.#convUp.apply(tf.concat([up, h1], 3) as tf.Tensor4D), embedding)) as tf.Tensor4D;
      const out = depthToSpace2(this.#convOut.apply(h4));
      return out.reshape(x.shape);
    });
  }

  /**
   * The flow-matching (rectified flow) training loss on a batch of clean samples: draws σ ~ U(0, 1) and
   * ε ~ N(0, 1) from `seed`, builds x_σ = (1 − σ)x₀ + σε and returns ‖x̂₀ − x₀‖² weighted by
   * 1/(σ + 0.5)², between the x₀ error (equal weight at every σ, where the prompt-dependent layout at high σ
   * is learnt) and the velocity error (weight 1/σ², dominated by the easy low σ).
   * `data` `[B, ...sampleShape]` in pixel space [0, 1].
   */
  flowMatchingLoss(data: tf.Tensor, prompt: tf.Tensor2D, seed: number): tf.Scalar {
    return tf.tidy(() => {
      const b = data.shape[0] as number;
      const rng = createRng(seed);
      const sigmas = new Float32Array(b);
      for (let i = 0; i < b; i++) sigmas[i] = rng.next();
      const noiseValues = new Float32Array(data.size);
      for (let i = 0; i < noiseValues.length; i++) noiseValues[i] = rng.normal();
      const x0 = toModelSpace(data);
      const noise = tf.tensor(noiseValues, data.shape);
      const sigma = tf.tensor1d(sigmas);
      const sb = sigma.reshape([b, ...data.shape.slice(1).map(() => 1)]);
      const xt = x0.mul(tf.sub(1, sb)).add(noise.mul(sb));
      const squared = tf.square(this.predictData(xt, sigma, prompt).sub(x0)).reshape([b, -1]).mean(1);
      return squared.div(tf.square(sigma.add(0.5))).mean() as tf.Scalar;
    });
  }

  /** Disposes the parameters and constants. */
  dispose(): void {
    this.parameters.dispose();
    this.#coordinates.dispose();
  }
}

/** Pixels [0, 1] → model space [−1, 1]. */
export function toModelSpace(pixels: tf.Tensor): tf.Tensor {
  return tf.tidy(() => pixels.mul(2).sub(1));
}

/** Model space → pixels, clipped to [0, 1]. */
export function toPixelSpace(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(x.add(1).div(2), 0, 1));
}

/** Creates a generator from a (partial) configuration, validated. */
export function createFlowGenerator(config: FlowGeneratorConfigInput): FlowGenerator {
  const parsed = parseOptions(flowGeneratorConfigSchema, config, 'flow generator config');
  if (parsed.size % 4 !== 0) throw new ModelError('invalid_options', 'size must be divisible by 4');
  return new FlowGenerator(parsed);
}
