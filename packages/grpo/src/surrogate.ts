import { z } from 'zod';
import { GrpoError, parseOptions } from './errors';
import { finiteNumberSchema, nonEmptyFiniteArraySchema, type NumericArray } from './numeric';

/**
 * The clipped surrogate of PPO/GRPO with separate low and high ε (DAPO's "clip-higher"), per token or per
 * flow step: `loss = −min(ρA, clip(ρ, 1 − ε_low, 1 + ε_high)·A)`, `ρ = exp(logπ − logπ_old)`.
 */

/** Options of {@link clippedSurrogate}. */
export const clippedSurrogateOptionsSchema = z
  .object({
    /** Log-probs under the current parameters, one per token / step. */
    logProbs: nonEmptyFiniteArraySchema,
    /** Log-probs under the parameters that sampled (same length). */
    oldLogProbs: nonEmptyFiniteArraySchema,
    /** One advantage per token, or one number for all. */
    advantages: z.union([finiteNumberSchema, nonEmptyFiniteArraySchema]),
    /** Lower clip range: ρ is clipped below at 1 − ε_low. Default 0.2. */
    epsilonLow: z.number().positive().default(0.2),
    /** Upper clip range: ρ is clipped above at 1 + ε_high. Default: `epsilonLow` (DAPO uses 0.28). */
    epsilonHigh: z.number().positive().optional(),
  })
  .superRefine((v, context) => {
    if (v.logProbs.length !== v.oldLogProbs.length) {
      context.addIssue({ code: 'custom', message: `oldLogProbs has ${v.oldLogProbs.length} entries, logProbs ${v.logProbs.length}`, path: ['oldLogProbs'] });
    }
    if (typeof v.advantages !== 'number' && v.advantages.length !== v.logProbs.length) {
      context.addIssue({ code: 'custom', message: `advantages has ${v.advantages.length} entries, logProbs ${v.logProbs.length}`, path: ['advantages'] });
    }
  });

/** Input of {@link clippedSurrogate}. */
export type ClippedSurrogateOptions = z.input<typeof clippedSurrogateOptionsSchema>;

/** What {@link clippedSurrogate} returns, one entry per token / step. */
export interface ClippedSurrogate {
  /** The per-token loss `−min(ρA, clip(ρ)·A)` (to be minimised). */
  readonly losses: number[];
  /** The ratios ρ. */
  readonly ratios: number[];
  /** True where the clipped branch is active, so the token contributes no gradient. */
  readonly clipped: boolean[];
  /** ρ < 1 − ε_low with A < 0 (TRL's `clip_ratio/low_*`). */
  readonly lowClipped: boolean[];
  /** ρ > 1 + ε_high with A > 0 (TRL's `clip_ratio/high_*`). */
  readonly highClipped: boolean[];
}

/** One term of the clipped surrogate, without validation (for inner loops). */
export function clippedSurrogateTerm(
  logProb: number,
  oldLogProb: number,
  advantage: number,
  epsilonLow: number,
  epsilonHigh: number,
): { loss: number; ratio: number; lowClipped: boolean; highClipped: boolean } {
  const ratio = Math.exp(logProb - oldLogProb);
  const clippedRatio = Math.min(Math.max(ratio, 1 - epsilonLow), 1 + epsilonHigh);
  const loss = -Math.min(ratio * advantage, clippedRatio * advantage);
  return { loss, ratio, lowClipped: ratio < 1 - epsilonLow && advantage < 0, highClipped: ratio > 1 + epsilonHigh && advantage > 0 };
}

/**
 * The clipped surrogate per token. REFERENCE.md check (ε_low 0.2, ε_high 0.28): logπ −0.5 vs old −1.0,
 * A +1 → ρ 1.648721, loss −1.28, clipped; A −1 → loss 1.648721, not clipped.
 */
export function clippedSurrogate(options: ClippedSurrogateOptions): ClippedSurrogate {
  const o = parseOptions(clippedSurrogateOptionsSchema, options, 'clippedSurrogate');
  const epsilonHigh = o.epsilonHigh ?? o.epsilonLow;
  if (o.epsilonLow >= 1) throw new GrpoError('invalid_options', `clippedSurrogate: epsilonLow must be below 1, got ${o.epsilonLow}`);
  const n = o.logProbs.length;
  const out: ClippedSurrogate = { losses: [], ratios: [], clipped: [], lowClipped: [], highClipped: [] };
  for (let i = 0; i < n; i++) {
    const a = typeof o.advantages === 'number' ? o.advantages : ((o.advantages as NumericArray)[i] as number);
    const t = clippedSurrogateTerm(o.logProbs[i] as number, o.oldLogProbs[i] as number, a, o.epsilonLow, epsilonHigh);
    out.losses.push(t.loss);
    out.ratios.push(t.ratio);
    out.lowClipped.push(t.lowClipped);
    out.highClipped.push(t.highClipped);
    out.clipped.push(t.lowClipped || t.highClipped);
  }
  return out;
}

/** Options of {@link approximateKl}. */
export const approximateKlOptionsSchema = z
  .object({
    logProbs: nonEmptyFiniteArraySchema,
    oldLogProbs: nonEmptyFiniteArraySchema,
  })
  .refine((v) => v.logProbs.length === v.oldLogProbs.length, { message: 'logProbs and oldLogProbs differ in length', path: ['oldLogProbs'] });

/**
 * `approx_kl` as Flow-GRPO logs it: `0.5 · mean((logπ − logπ_old)²)`, a cheap estimate of how far the update
 * moved the policy from the one that sampled.
 */
export function approximateKl(options: z.input<typeof approximateKlOptionsSchema>): number {
  const o = parseOptions(approximateKlOptionsSchema, options, 'approximateKl');
  let sum = 0;
  for (let i = 0; i < o.logProbs.length; i++) {
    const d = (o.logProbs[i] as number) - (o.oldLogProbs[i] as number);
    sum += d * d;
  }
  return (0.5 * sum) / o.logProbs.length;
}
