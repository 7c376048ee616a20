import { z } from 'zod';
import { parseOptions } from './errors';
import { nonEmptyFiniteArraySchema, type NumericArray } from './numeric';

/** KL penalties to the reference policy. */

/** Options of {@link klK3}. */
export const klK3OptionsSchema = z
  .object({
    /** Log-probs of the sampled tokens under the current policy. */
    logProbs: nonEmptyFiniteArraySchema,
    /** Log-probs of the same tokens under the reference policy. */
    referenceLogProbs: nonEmptyFiniteArraySchema,
  })
  .refine((v) => v.logProbs.length === v.referenceLogProbs.length, {
    message: 'logProbs and referenceLogProbs differ in length',
    path: ['referenceLogProbs'],
  });

/** Input of {@link klK3}. */
export type KlK3Options = z.input<typeof klK3OptionsSchema>;

/** The k3 estimator for one token, without validation: `exp(ref − logπ) − (ref − logπ) − 1` (≥ 0). */
export function klK3Term(logProb: number, referenceLogProb: number): number {
  const d = referenceLogProb - logProb;
  return Math.exp(d) - d - 1;
}

/**
 * Per-token KL to the reference by Schulman's unbiased, non-negative k3 estimator (as GRPO and TRL use):
 * `exp(logπ_ref − logπ) − (logπ_ref − logπ) − 1`.
 */
export function klK3(options: KlK3Options): number[] {
  const o = parseOptions(klK3OptionsSchema, options, 'klK3');
  const out: number[] = [];
  for (let i = 0; i < o.logProbs.length; i++) out.push(klK3Term(o.logProbs[i] as number, o.referenceLogProbs[i] as number));
  return out;
}

/** Options of {@link gaussianStepKl}. */
export const gaussianStepKlOptionsSchema = z
  .object({
    /** The step mean μθ under the current policy, all elements (channels, pixels, frames). */
    mean: nonEmptyFiniteArraySchema,
    /** The step mean μref under the reference policy, same shape. */
    referenceMean: nonEmptyFiniteArraySchema,
    /** The step's std s = σ_t·sqrt(−dt), shared by both (see `flowSdeStep`). Must be > 0. */
    std: z.number().positive(),
  })
  .refine((v) => v.mean.length === v.referenceMean.length, { message: 'mean and referenceMean differ in length', path: ['referenceMean'] });

/** Input of {@link gaussianStepKl}. */
export type GaussianStepKlOptions = z.input<typeof gaussianStepKlOptionsSchema>;

/**
 * The closed-form KL between two Gaussians of the same std for one flow step (Flow-GRPO):
 * mean over elements of `(μθ − μref)² / (2s²)`.
 */
export function gaussianStepKl(options: GaussianStepKlOptions): number {
  const o = parseOptions(gaussianStepKlOptionsSchema, options, 'gaussianStepKl');
  return gaussianKlMean(o.mean, o.referenceMean, o.std);
}

/** {@link gaussianStepKl} without validation. */
export function gaussianKlMean(mean: NumericArray, referenceMean: NumericArray, std: number): number {
  let sum = 0;
  for (let i = 0; i < mean.length; i++) {
    const d = (mean[i] as number) - (referenceMean[i] as number);
    sum += d * d;
  }
  return sum / (2 * std * std) / mean.length;
}
