import { z } from 'zod';
import type { Media, RgbImage, Video } from '@flex/criteria';
import { tf, type FlowGenerator, type Parameters, type Tensor } from '@flex/model';
import { GrpoError, parseOptions } from '../errors';
import { flowSchedule, flowSdeStdTerm, flowStepCoefficients, type FlowDynamics } from '../flow-sde';
import type { PolicyLogProbRequest, PolicySampleRequest, RolloutGroup } from '../policy';
import { deriveSeed, SeededRandom } from '../random';
import type { LogProbTensorRequest, TrainablePolicy } from '../trainable-policy';

/**
 * Flow-GRPO policies over @flex/model's flow-matching generators (REFERENCE.md §4). Training samples use the
 * SDE (noise level a) for every step (or, with `finalStep: 'euler'`, for every step but the last, which is then the
 * plain Euler step to a clean sample; with `sdeWindow`, for the window's steps only and the ODE elsewhere); the
 * members of a group share their starting noise and differ by the step noise. Evaluation samples use the
 * ODE (a = 0). Each stochastic step's log-prob is the Gaussian log density averaged over all elements. With
 * `dynamics: 'cps'` the stochastic steps are coefficients-preserving instead of Flow-GRPO's SDE (see `cpsStep`).
 */

const LOG_SQRT_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** What a flow rollout keeps to recompute its log-probs. */
export interface FlowRolloutState {
  /** The prompt text. */
  readonly prompt: string;
  /** The σ grid, `steps + 1` values from 1 to 0. */
  readonly sigmas: readonly number[];
  /** The latents x₀ (start noise) … x_K (the sample) in model space, `sampleSize` values each. */
  readonly latents: readonly Float32Array[];
  /** The noise level a the rollout was sampled with (0 for the ODE). */
  readonly noiseLevel: number;
  /**
   * The sampler steps that were SDE steps, one per entry of the rollout's `logProbs` (log-prob j is the transition
   * `latents[sdeSteps[j]] → latents[sdeSteps[j] + 1]`). Empty for an ODE (eval) rollout.
   */
  readonly sdeSteps: readonly number[];
  /** The stochastic steps' dynamics; absent in rollouts from before the option (Flow-GRPO's SDE). */
  readonly dynamics?: FlowDynamics;
}

/**
 * The SDE window of {@link createFlowPolicy}: the `length` consecutive sampler steps from `start` (0-based, step 0 is
 * the first, at σ = 1) are SDE steps with a log-prob; every other training step is the deterministic ODE (Euler) step.
 */
export const sdeWindowSchema = z
  .object({
    /** First SDE step (0-based). */
    start: z.number().int().min(0),
    /** Number of SDE steps (≥ 1). */
    length: z.number().int().min(1),
  })
  .strict();

/** An SDE window (see {@link sdeWindowSchema}). */
export type SdeWindow = z.infer<typeof sdeWindowSchema>;

/** Options of {@link createFlowPolicy}. */
export const flowPolicyOptionsSchema = z.object({
  /** The generator to train (its parameters are the policy's). */
  generator: z.custom<FlowGenerator>((v) => typeof v === 'object' && v !== null && typeof (v as FlowGenerator).velocity === 'function', {
    message: 'expected a FlowGenerator from @flex/model',
  }),
  /** A frozen generator of the same architecture, for the KL term (β > 0). Default: none. */
  reference: z.custom<FlowGenerator>((v) => typeof v === 'object' && v !== null && typeof (v as FlowGenerator).velocity === 'function').optional(),
  /** Sampling steps K. Default 10. */
  steps: z.number().int().min(2).default(10),
  /** Noise level of the training samples' stochastic steps: a for `'flow-sde'`, η ∈ (0, 1] for `'cps'`. Default 0.7. */
  noiseLevel: z.number().positive().default(0.7),
  /**
   * The stochastic steps' dynamics (see `FlowDynamics`): `'flow-sde'` (default, Flow-GRPO) or `'cps'`
   * (coefficients-preserving: each stochastic step lands on the flow's own mix of clean sample and noise at the next σ,
   * where Flow-GRPO's SDE overshoots the noise). With `'cps'` the last step (to σ = 0) is deterministic by
   * construction, so it is never an SDE step whatever `finalStep` says.
   */
  dynamics: z.enum(['flow-sde', 'cps']).default('flow-sde'),
  /** Time shift of the σ grid. Default 1 (uniform). */
  shift: z.number().positive().default(1),
  /**
   * The last training step: `'sde'` (default) an SDE step like the others (Flow-GRPO), with a log-prob, so an update
   * that trains every step sees every step the sample depends on; `'euler'` a plain Euler step to a clean sample, with
   * no log-prob, never trained. With `'euler'` the final denoising step x_K = x̂₀(x_{K−1}) changes with every update
   * but no gradient accounts for it, and a reward on the sample then fell whichever way it pointed (a brightness reward
   * and its negation both, with 256 samples per update; docs/grpo.md). With `'sde'` training samples carry the last
   * step's small noise (s ≈ 0.07 in model space at 10 steps, a = 0.7); evaluation (the ODE) is unchanged.
   */
  finalStep: z.enum(['euler', 'sde']).default('sde'),
  /**
   * Sample training rollouts with the SDE only on this window of steps and the deterministic ODE (Euler) step
   * everywhere else (MixGRPO / Flow-GRPO-Fast); only the window's steps get a log-prob, so the trainer trains exactly
   * them, and every difference between the members of a group comes from the trained steps' noise. With
   * `sameStartNoise` the members are identical until the window starts. The window must lie in `[0, steps)` and, with
   * `finalStep: 'euler'`, must not contain the last step. Default: none (every step is an SDE step, as Flow-GRPO; the
   * last one per `finalStep`). Note: the ODE steps after the window still change with every update, and no log-prob
   * accounts for that (the same kind of term as the final-step bias, docs/grpo.md).
   */
  sdeWindow: sdeWindowSchema.optional(),
  /** Give every member of a group the same starting noise (Flow-GRPO). Default true. */
  sameStartNoise: z.boolean().default(true),
  /** Frames per second of the videos produced. Default 8. */
  fps: z.number().positive().default(8),
  /** Name for logs. Default `flow-<modality>`. */
  name: z.string().min(1).optional(),
});

/** Input of {@link createFlowPolicy}. */
export type FlowPolicyOptions = z.input<typeof flowPolicyOptionsSchema>;

/** A Flow-GRPO policy over a flow generator; prompts are strings, samples are media. */
export class FlowPolicy implements TrainablePolicy<string, Media, FlowRolloutState> {
  readonly name: string;
  readonly generator: FlowGenerator;
  readonly reference: FlowGenerator | undefined;
  readonly options: Omit<z.output<typeof flowPolicyOptionsSchema>, 'generator' | 'reference'>;
  readonly sigmas: readonly number[];
  /** The sampler steps that are SDE steps in training (ascending); their count is {@link stepCount}. */
  readonly sdeSteps: readonly number[];

  constructor(options: FlowPolicyOptions) {
    const o = parseOptions(flowPolicyOptionsSchema, options, 'createFlowPolicy');
    this.generator = o.generator;
    this.reference = o.reference;
    if (o.reference && JSON.stringify({ ...o.reference.config, seed: 0 }) !== JSON.stringify({ ...o.generator.config, seed: 0 })) {
      throw new GrpoError('invalid_options', 'createFlowPolicy: the reference generator must have the same architecture as the generator');
    }
    const { generator: _g, reference: _r, ...rest } = o;
    this.options = rest;
    this.name = o.name ?? `flow-${o.generator.config.modality}`;
    this.sigmas = flowSchedule({ steps: o.steps, shift: o.shift });
    if (o.dynamics === 'cps' && o.noiseLevel > 1) throw new GrpoError('invalid_options', `createFlowPolicy: with dynamics 'cps' the noise level is η in (0, 1], got ${o.noiseLevel}`, { option: 'noiseLevel' });
    // A CPS step to σ = 0 has no noise, so the last step can be stochastic only with Flow-GRPO's SDE.
    const stochasticEnd = o.finalStep === 'sde' && o.dynamics === 'flow-sde' ? o.steps : o.steps - 1;
    if (o.sdeWindow) {
      const { start, length } = o.sdeWindow;
      if (start + length > stochasticEnd) {
        throw new GrpoError(
          'invalid_options',
          `createFlowPolicy: sdeWindow {start: ${start}, length: ${length}} ends after step ${stochasticEnd - 1}, the last step that can be stochastic (steps ${o.steps}, finalStep '${o.finalStep}', dynamics '${o.dynamics}')`,
          { option: 'sdeWindow' },
        );
      }
      this.sdeSteps = Array.from({ length }, (_, j) => start + j);
    } else {
      this.sdeSteps = Array.from({ length: stochasticEnd }, (_, k) => k);
    }
  }

  get parameters(): Parameters {
    return this.generator.parameters;
  }

  get hasReference(): boolean {
    return this.reference !== undefined;
  }

  /**
   * Stochastic steps with a log-prob: the window's length with `sdeWindow`, else every step but the last
   * (`finalStep: 'euler'`) or every step (`'sde'`). The trainer's step indices 0…stepCount()−1 index these (see
   * {@link sdeSteps}), not the sampler's steps.
   */
  stepCount(): number {
    return this.sdeSteps.length;
  }

  describe(): Record<string, unknown> {
    return {
      kind: 'flow-policy',
      generator: this.generator.config,
      steps: this.options.steps,
      noiseLevel: this.options.noiseLevel,
      shift: this.options.shift,
      finalStep: this.options.finalStep,
      // Only when set, so checkpoints written before the option existed still resume.
      ...(this.options.sdeWindow ? { sdeWindow: this.options.sdeWindow } : {}),
      ...(this.options.dynamics !== 'flow-sde' ? { dynamics: this.options.dynamics } : {}),
    };
  }

  async sample(request: PolicySampleRequest<string>): Promise<RolloutGroup<string, Media, FlowRolloutState>[]> {
    const { prompts, groupSize, seed } = request;
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new GrpoError('invalid_options', `sample: groupSize must be a positive integer, got ${groupSize}`);
    if (prompts.length === 0) return [];
    const mode = request.mode ?? 'train';
    const a = mode === 'train' ? this.options.noiseLevel : 0;
    const size = this.generator.sampleSize;
    const shape = this.generator.sampleShape;
    const b = prompts.length * groupSize;
    const allPrompts = prompts.flatMap((p) => new Array<string>(groupSize).fill(p));
    // Start noise: per prompt (shared by its group) or per member.
    let x: Float32Array = new Float32Array(b * size);
    for (let p = 0; p < prompts.length; p++) {
      for (let g = 0; g < groupSize; g++) {
        const random = new SeededRandom(deriveSeed(seed, p, this.options.sameStartNoise ? 0 : g + 1, 0));
        const offset = (p * groupSize + g) * size;
        for (let i = 0; i < size; i++) x[offset + i] = random.normal();
      }
    }
    const latents: Float32Array[][] = Array.from({ length: b }, (_, i) => [x.slice(i * size, (i + 1) * size)]);
    const logProbs: number[][] = Array.from({ length: b }, () => []);
    const sdeSet = new Set(this.sdeSteps);
    const promptFeatures = this.generator.promptFeatures(allPrompts);
    try {
      for (let k = 0; k < this.options.steps; k++) {
        request.signal?.throwIfAborted();
        const sigma = this.sigmas[k] as number;
        const sigmaNext = this.sigmas[k + 1] as number;
        const stochastic = a > 0 && sdeSet.has(k);
        const { std, mean: stepMeanOf } = this.step(sigma, sigmaNext, stochastic ? a : 0);
        const noise = new Float32Array(b * size);
        if (stochastic) {
          for (let r = 0; r < b; r++) {
            const p = Math.floor(r / groupSize);
            const random = new SeededRandom(deriveSeed(seed, p, (r % groupSize) + 1, k + 1));
            for (let i = 0; i < size; i++) noise[r * size + i] = random.normal();
          }
        }
        const out = tf.tidy(() => {
          const xt = tf.tensor(x, [b, ...shape]);
          const v = this.generator.velocity(xt, tf.fill([b], sigma) as tf.Tensor1D, promptFeatures);
          const mean = stepMeanOf(xt, v);
          if (!stochastic) return { next: mean, logProb: undefined };
          const next = mean.add(tf.tensor(noise, [b, ...shape]).mul(std));
          return { next, logProb: gaussianLogProb(next, mean, std) };
        });
        x = out.next.dataSync() as Float32Array;
        const lp = out.logProb?.dataSync();
        tf.dispose([out.next, out.logProb]);
        for (let r = 0; r < b; r++) {
          latents[r]!.push(x.slice(r * size, (r + 1) * size));
          if (lp) logProbs[r]!.push(lp[r] as number);
        }
      }
    } finally {
      promptFeatures.dispose();
    }
    return prompts.map((prompt, p) => ({
      prompt,
      promptIndex: p,
      rollouts: Array.from({ length: groupSize }, (_, g) => {
        const r = p * groupSize + g;
        const rollLatents = latents[r] as Float32Array[];
        return {
          sample: this.toMedia(rollLatents[rollLatents.length - 1] as Float32Array),
          logProbs: logProbs[r] as number[],
          state: { prompt, sigmas: this.sigmas, latents: rollLatents, noiseLevel: a, sdeSteps: a > 0 ? this.sdeSteps : [], dynamics: this.options.dynamics },
        };
      }),
    }));
  }

  logProbTensors(request: LogProbTensorRequest<Media, FlowRolloutState>): { logProbs: Tensor; kl?: Tensor } {
    const { rollouts, steps, withKl } = request;
    if (withKl && !this.reference) throw new GrpoError('invalid_options', 'logProbTensors: a KL needs a reference generator');
    const b = rollouts.length;
    const shape = this.generator.sampleShape;
    const size = this.generator.sampleSize;
    for (const rollout of rollouts) {
      if (rollout.state.noiseLevel <= 0) throw new GrpoError('policy_error', 'logProbTensors: an ODE (eval) rollout has no log-probs');
      const recorded = rollout.state.sdeSteps;
      // Rollouts from before the option (no sdeSteps) used every stochastic step.
      if (recorded !== undefined && (recorded.length !== this.sdeSteps.length || recorded.some((k, j) => k !== this.sdeSteps[j]))) {
        throw new GrpoError('policy_error', `logProbTensors: the rollout's SDE steps [${recorded.join(', ')}] are not this policy's [${this.sdeSteps.join(', ')}]`);
      }
      const dynamics = rollout.state.dynamics ?? 'flow-sde';
      if (dynamics !== this.options.dynamics) throw new GrpoError('policy_error', `logProbTensors: the rollout was sampled with dynamics '${dynamics}', this policy uses '${this.options.dynamics}'`);
    }
    for (const k of steps) {
      if (!Number.isInteger(k) || k < 0 || k >= this.stepCount()) throw new GrpoError('invalid_options', `logProbTensors: step ${k} is not in [0, ${this.stepCount()})`);
    }
    const promptFeatures = this.generator.promptFeatures(rollouts.map((r) => r.state.prompt));
    const gather = (k: number): { current: Float32Array; next: Float32Array } => {
      const current = new Float32Array(b * size);
      const next = new Float32Array(b * size);
      rollouts.forEach((r, i) => {
        current.set(r.state.latents[k] as Float32Array, i * size);
        next.set(r.state.latents[k + 1] as Float32Array, i * size);
      });
      return { current, next };
    };
    const noiseLevel = (rollouts[0] as { state: FlowRolloutState }).state.noiseLevel;
    const perStep = steps.map((j) => {
      // j indexes the recorded log-probs; k is the sampler step it belongs to.
      const k = this.sdeSteps[j] as number;
      const sigma = this.sigmas[k] as number;
      const { std, mean: stepMeanOf } = this.step(sigma, this.sigmas[k + 1] as number, noiseLevel);
      const { current, next } = gather(k);
      return tf.tidy(() => {
        const xt = tf.tensor(current, [b, ...shape]);
        const xNext = tf.tensor(next, [b, ...shape]);
        const sigmaTensor = tf.fill([b], sigma) as tf.Tensor1D;
        const mean = stepMeanOf(xt, this.generator.velocity(xt, sigmaTensor, promptFeatures));
        const logProb = gaussianLogProb(xNext, mean, std);
        if (!withKl || !this.reference) return { logProb };
        const referenceMean = stepMeanOf(xt, this.reference.velocity(xt, sigmaTensor, promptFeatures));
        const kl = tf.square(mean.sub(referenceMean)).reshape([b, -1]).mean(1).div(2 * std * std);
        return { logProb, kl };
      });
    });
    promptFeatures.dispose();
    return tf.tidy(() => {
      const logProbs = tf.stack(perStep.map((s) => s.logProb), 1);
      const kl = withKl ? tf.stack(perStep.map((s) => s.kl as Tensor), 1) : undefined;
      tf.dispose(perStep.flatMap((s) => [s.logProb, s.kl]).filter((t): t is Tensor => t !== undefined));
      return kl ? { logProbs, kl } : { logProbs };
    });
  }

  async logProbs(request: PolicyLogProbRequest<Media, FlowRolloutState>): Promise<number[][]> {
    const steps = request.steps ?? Array.from({ length: this.stepCount() }, (_, k) => k);
    if (request.rollouts.length === 0) return [];
    const { logProbs } = this.logProbTensors({ rollouts: request.rollouts, steps, withKl: false });
    const values = logProbs.arraySync() as number[][];
    logProbs.dispose();
    return values;
  }

  /**
   * The sampler step σ → σ_next at noise level a under this policy's dynamics: its std (0 for a = 0) and its mean as
   * tensor ops. At a = 0 both dynamics are the same Euler step.
   */
  private step(sigma: number, sigmaNext: number, a: number): { std: number; mean: (x: Tensor, v: Tensor) => Tensor } {
    if (this.options.dynamics === 'cps' && a > 0) {
      const { cx, cv, std } = flowStepCoefficients('cps', sigma, sigmaNext, a);
      return { std, mean: (x, v) => x.mul(cx).add(v.mul(cv)) };
    }
    const { sigmaT, std, dt } = flowSdeStdTerm(sigma, sigmaNext, a);
    return { std, mean: (x, v) => stepMean(x, v, sigma, sigmaT, dt) };
  }

  /** Model-space latent → media (pixels clipped to [0, 1]). */
  toMedia(latent: Float32Array): Media {
    const s = this.generator.config.size;
    const frameSize = s * s * 3;
    const pixels = new Float32Array(latent.length);
    for (let i = 0; i < latent.length; i++) pixels[i] = Math.min(1, Math.max(0, ((latent[i] as number) + 1) / 2));
    if (this.generator.config.modality === 'image') return { width: s, height: s, data: pixels } satisfies RgbImage;
    const frames: RgbImage[] = [];
    for (let f = 0; f < this.generator.config.frames; f++) frames.push({ width: s, height: s, data: pixels.slice(f * frameSize, (f + 1) * frameSize) });
    return { frames, fps: this.options.fps } satisfies Video;
  }
}

/** μ = x + [v + σ_t²/(2σ)(x + (1 − σ)v)]·dt as tensor ops. */
function stepMean(x: Tensor, v: Tensor, sigma: number, sigmaT: number, dt: number): Tensor {
  const c = (sigmaT * sigmaT) / (2 * sigma);
  if (c === 0) return x.add(v.mul(dt));
  return x.add(v.add(x.add(v.mul(1 - sigma)).mul(c)).mul(dt));
}

/** Mean over elements of log N(x'; μ, s²), per sample: `[B]`. */
function gaussianLogProb(next: Tensor, mean: Tensor, std: number): Tensor {
  const b = next.shape[0] as number;
  return tf
    .square(next.sub(mean))
    .reshape([b, -1])
    .mean(1)
    .div(-2 * std * std)
    .sub(Math.log(std) + LOG_SQRT_TWO_PI);
}

/** Creates a Flow-GRPO policy over a flow generator (see {@link FlowPolicy}). */
export function createFlowPolicy(options: FlowPolicyOptions): FlowPolicy {
  return new FlowPolicy(options);
}
