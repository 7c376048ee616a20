import { z } from 'zod';
import { GrpoError, parseOptions } from './errors';
import { nonEmptyFiniteArraySchema, type NumericArray } from './numeric';
import { gaussianNoise } from './random';

/**
 * Flow-GRPO's stochastic sampler for flow-matching policies (REFERENCE.md §4). Time runs from σ = 1 (noise)
 * to σ = 0 (data), the network predicts a velocity v, and each step is a Gaussian whose log-prob, averaged
 * over every element (channels, pixels, frames), is the policy's per-step log-prob.
 */

const LOG_SQRT_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** Options of {@link flowSchedule}. */
export const flowScheduleOptionsSchema = z.object({
  /** Number of sampling steps. */
  steps: z.number().int().positive(),
  /** Time shift (SD3): σ' = shift·σ / (1 + (shift − 1)·σ); 1 keeps the uniform grid. Default 1. */
  shift: z.number().positive().default(1),
});

/** The σ grid from 1 down to 0, `steps + 1` values. */
export function flowSchedule(options: z.input<typeof flowScheduleOptionsSchema>): number[] {
  const o = parseOptions(flowScheduleOptionsSchema, options, 'flowSchedule');
  return Array.from({ length: o.steps + 1 }, (_, i) => {
    const s = 1 - i / o.steps;
    return (o.shift * s) / (1 + (o.shift - 1) * s);
  });
}

const stepShape = {
  /** σ of the current step, in (0, 1]. */
  sigma: z.number().gt(0).max(1),
  /** σ of the next step, in [0, σ). */
  sigmaNext: z.number().min(0).max(1),
  /** Noise level a: σ_t = a·sqrt(σ / (1 − σ)). 0 gives the deterministic ODE (Euler). Default 0.7. */
  noiseLevel: z.number().min(0).default(0.7),
};

/** Options of {@link flowSdeStd}. */
export const flowSdeStdOptionsSchema = z
  .object(stepShape)
  .refine((v) => v.sigmaNext < v.sigma, { message: 'sigmaNext must be below sigma', path: ['sigmaNext'] });

/** σ_t and the step std s, without validation. At σ = 1 the denominator uses σ_next (Flow-GRPO's σ_max). */
export function flowSdeStdTerm(sigma: number, sigmaNext: number, noiseLevel: number): { sigmaT: number; std: number; dt: number } {
  const dt = sigmaNext - sigma;
  const denominator = 1 - (sigma >= 1 ? sigmaNext : sigma);
  const sigmaT = noiseLevel * Math.sqrt(sigma / denominator);
  return { sigmaT, std: sigmaT * Math.sqrt(-dt), dt };
}

/** σ_t = a·sqrt(σ/(1 − σ)) (σ_next in the denominator at σ = 1) and the step std s = σ_t·sqrt(−dt). */
export function flowSdeStd(options: z.input<typeof flowSdeStdOptionsSchema>): { sigmaT: number; std: number; dt: number } {
  const o = parseOptions(flowSdeStdOptionsSchema, options, 'flowSdeStd');
  return flowSdeStdTerm(o.sigma, o.sigmaNext, o.noiseLevel);
}

/** A step's options: σ must go down, and every given array must have the sample's length. */
function refineStep(
  v: { sample: ArrayLike<number>; sigma: number; sigmaNext: number; velocity: ArrayLike<number>; noise?: ArrayLike<number> | undefined; nextSample?: ArrayLike<number> | undefined },
  context: z.RefinementCtx,
): void {
  if (v.sigmaNext >= v.sigma) context.addIssue({ code: 'custom', message: 'sigmaNext must be below sigma', path: ['sigmaNext'] });
  const n = v.sample.length;
  for (const key of ['velocity', 'noise', 'nextSample'] as const) {
    const value = v[key];
    if (value !== undefined && value.length !== n) {
      context.addIssue({ code: 'custom', message: `${key} has ${value.length} elements, sample ${n}`, path: [key] });
    }
  }
}

/**
 * The next latent of a stochastic step: the given `nextSample` (a recorded transition), else μ + s·ε with the given
 * `noise` or the seed's. Throws `invalid_options` when there is neither.
 */
function drawNext(name: string, mean: Float64Array, std: number, o: { noise?: ArrayLike<number> | undefined; seed?: number | undefined; nextSample?: ArrayLike<number> | undefined }): Float64Array {
  if (o.nextSample !== undefined) return Float64Array.from(o.nextSample);
  const noise = o.noise ?? (o.seed !== undefined ? gaussianNoise({ seed: o.seed, length: mean.length }) : undefined);
  if (noise === undefined) throw new GrpoError('invalid_options', `${name}: a stochastic step needs \`noise\`, \`seed\` or \`nextSample\``);
  const next = new Float64Array(mean.length);
  for (let i = 0; i < mean.length; i++) next[i] = (mean[i] as number) + std * (noise[i] as number);
  return next;
}

/** Options of {@link flowSdeStep}. */
export const flowSdeStepOptionsSchema = z
  .object({
    /** The current latent x (any layout; every element is treated alike). */
    sample: nonEmptyFiniteArraySchema,
    /** The predicted velocity v, same length. */
    velocity: nonEmptyFiniteArraySchema,
    ...stepShape,
    /** Standard normal noise ε, same length: x' = μ + s·ε. */
    noise: nonEmptyFiniteArraySchema.optional(),
    /** Seed for ε when `noise` is not given. */
    seed: z.number().int().optional(),
    /** A given next latent (to recompute its log-prob under new parameters); overrides `noise` / `seed`. */
    nextSample: nonEmptyFiniteArraySchema.optional(),
  })
  .superRefine(refineStep);

/** Input of {@link flowSdeStep}. */
export type FlowSdeStepOptions = z.input<typeof flowSdeStepOptionsSchema>;

/** What {@link flowSdeStep} returns. */
export interface FlowSdeStep {
  /** The step mean μ. */
  readonly mean: Float64Array;
  /** The step std s (0 for the ODE). */
  readonly std: number;
  /** σ_t. */
  readonly sigmaT: number;
  /** The next latent x'. */
  readonly nextSample: Float64Array;
  /** Mean over elements of log N(x'; μ, s²); null for the deterministic ODE step (s = 0). */
  readonly logProb: number | null;
}

/** The step mean μ = x + [v + σ_t²/(2σ)·(x + (1 − σ)·v)]·dt, without validation. */
export function flowSdeMean(sample: NumericArray, velocity: NumericArray, sigma: number, sigmaT: number, dt: number): Float64Array {
  const out = new Float64Array(sample.length);
  const c = (sigmaT * sigmaT) / (2 * sigma);
  for (let i = 0; i < sample.length; i++) {
    const x = sample[i] as number;
    const v = velocity[i] as number;
    out[i] = x + (v + c * (x + (1 - sigma) * v)) * dt;
  }
  return out;
}

/** Mean over elements of log N(x'; μ, s²), without validation. */
export function gaussianLogProbMean(nextSample: NumericArray, mean: NumericArray, std: number): number {
  let sum = 0;
  for (let i = 0; i < nextSample.length; i++) {
    const d = (nextSample[i] as number) - (mean[i] as number);
    sum += d * d;
  }
  return -sum / (2 * std * std) / nextSample.length - Math.log(std) - LOG_SQRT_TWO_PI;
}

/**
 * One Flow-GRPO SDE step: μ, s, x' and the step log-prob (averaged over elements).
 * REFERENCE.md check (scalar): x 0.5, v −1.2, σ 0.8 → 0.7, a 0.7, ε 0.3 → μ 0.588150, s 0.442719,
 * x' 0.720966, log p −0.149118. With `noiseLevel: 0` it is the plain Euler ODE step.
 */
export function flowSdeStep(options: FlowSdeStepOptions): FlowSdeStep {
  const o = parseOptions(flowSdeStepOptionsSchema, options, 'flowSdeStep');
  const { sigmaT, std, dt } = flowSdeStdTerm(o.sigma, o.sigmaNext, o.noiseLevel);
  const mean = flowSdeMean(o.sample, o.velocity, o.sigma, sigmaT, dt);
  if (std === 0) return { mean, std, sigmaT, nextSample: Float64Array.from(mean), logProb: null };
  const nextSample = drawNext('flowSdeStep', mean, std, o);
  return { mean, std, sigmaT, nextSample, logProb: gaussianLogProbMean(nextSample, mean, std) };
}

/** Options of {@link flowSdeLogProb}. */
export const flowSdeLogProbOptionsSchema = z
  .object({
    sample: nonEmptyFiniteArraySchema,
    velocity: nonEmptyFiniteArraySchema,
    nextSample: nonEmptyFiniteArraySchema,
    ...stepShape,
    noiseLevel: z.number().positive().default(0.7),
  })
  .superRefine((v, context) => {
    if (v.sigmaNext >= v.sigma) context.addIssue({ code: 'custom', message: 'sigmaNext must be below sigma', path: ['sigmaNext'] });
    if (v.velocity.length !== v.sample.length || v.nextSample.length !== v.sample.length) {
      context.addIssue({ code: 'custom', message: 'sample, velocity and nextSample must have the same length' });
    }
  });

/**
 * The log-prob of a recorded transition x → x' under a (possibly new) velocity: the quantity Flow-GRPO
 * recomputes under the current parameters for the ratio ρ. Averaged over elements; needs a noise level > 0.
 */
export function flowSdeLogProb(options: z.input<typeof flowSdeLogProbOptionsSchema>): number {
  const o = parseOptions(flowSdeLogProbOptionsSchema, options, 'flowSdeLogProb');
  const { sigmaT, std, dt } = flowSdeStdTerm(o.sigma, o.sigmaNext, o.noiseLevel);
  return gaussianLogProbMean(o.nextSample, flowSdeMean(o.sample, o.velocity, o.sigma, sigmaT, dt), std);
}

/**
 * The dynamics of a stochastic flow step:
 * - `'flow-sde'`: Flow-GRPO's SDE, σ_t = a·sqrt(σ/(1 − σ)), std σ_t·sqrt(−dt) (see {@link flowSdeStep});
 * - `'cps'`: coefficients-preserving sampling (Flow-CPS, Wang & Yu 2025). From x̂₀ = x − σ·v and ε̂ = x + (1 − σ)·v,
 *   x' = (1 − σ')·x̂₀ + sqrt(σ'² − s²)·ε̂ + s·ε with s = σ'·sin(η·π/2): the next latent keeps the coefficients of
 *   clean sample and noise that the flow has at σ', so the step adds no excess noise (Flow-GRPO's first step at 10
 *   steps, a = 0.7, leaves 1.13× the noise variance the flow has at σ' = 0.9). η ∈ (0, 1]; η = 0 is the Euler step.
 *   A step to σ' = 0 has s = 0: the last step is deterministic.
 */
export type FlowDynamics = 'flow-sde' | 'cps';

/** The step as μ = cx·x + cv·v with std s, without validation. */
export function flowStepCoefficients(dynamics: FlowDynamics, sigma: number, sigmaNext: number, noiseLevel: number): { cx: number; cv: number; std: number } {
  if (dynamics === 'cps') {
    const std = noiseLevel === 0 ? 0 : sigmaNext * Math.sin((noiseLevel * Math.PI) / 2);
    const r = Math.sqrt(Math.max(0, sigmaNext * sigmaNext - std * std));
    return { cx: 1 - sigmaNext + r, cv: -sigma * (1 - sigmaNext) + r * (1 - sigma), std };
  }
  const { sigmaT, std, dt } = flowSdeStdTerm(sigma, sigmaNext, noiseLevel);
  const c = (sigmaT * sigmaT) / (2 * sigma);
  return { cx: 1 + c * dt, cv: (1 + c * (1 - sigma)) * dt, std };
}

/** Options of {@link cpsStep}. */
export const cpsStepOptionsSchema = z
  .object({
    ...flowSdeStepOptionsSchema.shape,
    /** η ∈ [0, 1]: s = σ'·sin(η·π/2). 0 gives the Euler step. Default 0.7. */
    noiseLevel: z.number().min(0).max(1).default(0.7),
  })
  .superRefine(refineStep);

/** What {@link cpsStep} returns. */
export interface CpsStep {
  /** The step mean μ = (1 − σ')·x̂₀ + sqrt(σ'² − s²)·ε̂. */
  readonly mean: Float64Array;
  /** The step std s = σ'·sin(η·π/2) (0 for η = 0 or σ' = 0). */
  readonly std: number;
  /** The next latent x'. */
  readonly nextSample: Float64Array;
  /** Mean over elements of log N(x'; μ, s²); null for a deterministic step (s = 0). */
  readonly logProb: number | null;
}

/**
 * One coefficients-preserving (Flow-CPS) step: μ, s, x' and the step log-prob (averaged over elements).
 * Check (scalar, docs/grpo.md): x 0.5, v −1.2, σ 0.8 → 0.7, η 0.5, ε 0.3 → μ 0.566693, s 0.494975, x' 0.715186,
 * log p −0.260690. With `nextSample` it recomputes the log-prob of a recorded transition under `velocity`.
 */
export function cpsStep(options: z.input<typeof cpsStepOptionsSchema>): CpsStep {
  const o = parseOptions(cpsStepOptionsSchema, options, 'cpsStep');
  const { cx, cv, std } = flowStepCoefficients('cps', o.sigma, o.sigmaNext, o.noiseLevel);
  const mean = new Float64Array(o.sample.length);
  for (let i = 0; i < mean.length; i++) mean[i] = cx * (o.sample[i] as number) + cv * (o.velocity[i] as number);
  if (std === 0) return { mean, std, nextSample: Float64Array.from(mean), logProb: null };
  const nextSample = drawNext('cpsStep', mean, std, o);
  return { mean, std, nextSample, logProb: gaussianLogProbMean(nextSample, mean, std) };
}
