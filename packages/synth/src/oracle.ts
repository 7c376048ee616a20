import { z } from 'zod';
import type { SceneFacts } from './facts';
import type { PromptSpec } from './prompt';
import { Rng } from './random';
import { scoreFacts } from './score';
import type { CandidateScore, WorldCategoryId } from './score';

/** Options of the oracle (the simulated people). */
export const oracleOptionsSchema = z.object({
  /** Bradley–Terry temperature on the utility difference: P(A) = σ(ΔU / temperature). Default 0.03. */
  temperature: z.number().positive().default(0.03),
  /** Utility differences below this are labelled a tie. Default 0.012. */
  tieMargin: z.number().min(0).default(0.012),
});
/** Oracle options (input). */
export type OracleOptions = z.input<typeof oracleOptionsSchema>;
/** Resolved oracle options. */
export type ResolvedOracleOptions = z.output<typeof oracleOptionsSchema>;

/** A preference: A, B or tie. */
export type Preference = 'A' | 'B' | 'tie';

/** The oracle's noiseless view of a pair. */
export interface OracleJudgement {
  readonly utilityA: number;
  readonly utilityB: number;
  /** Per-category scores of A and B, and the category weight under the context. */
  readonly categories: Readonly<Partial<Record<WorldCategoryId, { readonly a: number; readonly b: number; readonly weight: number }>>>;
  /** Noiseless preference: the side with the higher utility, a tie when the difference is below the tie margin. */
  readonly preferred: Preference;
  /** P(A wins) under Bradley–Terry with the temperature (0.5 for a tie). */
  readonly probabilityA: number;
  /** Ideal per-category winners (tie when the category difference is below the tie margin). */
  readonly categoryWinners: Readonly<Partial<Record<WorldCategoryId, Preference>>>;
  readonly scoreA: CandidateScore;
  readonly scoreB: CandidateScore;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The preference implied by a utility difference and a tie margin. */
export function preferenceOf(difference: number, tieMargin: number): Preference {
  if (Math.abs(difference) < tieMargin) return 'tie';
  return difference > 0 ? 'A' : 'B';
}

/** Judge a pair noiselessly from facts (optionally under a replaced context). */
export function judgePair(spec: PromptSpec, a: SceneFacts, b: SceneFacts, options: ResolvedOracleOptions, context?: string | null): OracleJudgement {
  const scoreA = scoreFacts({ spec, facts: a, ...(context !== undefined ? { context } : {}) });
  const scoreB = scoreFacts({ spec, facts: b, ...(context !== undefined ? { context } : {}) });
  const categories: Partial<Record<WorldCategoryId, { a: number; b: number; weight: number }>> = {};
  const categoryWinners: Partial<Record<WorldCategoryId, Preference>> = {};
  for (const ca of scoreA.categories) {
    const cb = scoreB.categories.find((c) => c.id === ca.id);
    if (cb === undefined) continue;
    categories[ca.id] = { a: ca.score, b: cb.score, weight: scoreA.weights[ca.id] };
    categoryWinners[ca.id] = preferenceOf(ca.score - cb.score, options.tieMargin);
  }
  const difference = scoreA.utility - scoreB.utility;
  const preferred = preferenceOf(difference, options.tieMargin);
  return {
    utilityA: scoreA.utility,
    utilityB: scoreB.utility,
    categories,
    preferred,
    probabilityA: preferred === 'tie' ? 0.5 : sigmoid(difference / options.temperature),
    categoryWinners,
    scoreA,
    scoreB,
  };
}

/** Draw the label a noisy person gives: a tie when the difference is tiny, else Bradley–Terry with the temperature. */
export function drawLabel(judgement: OracleJudgement, seed: number): Preference {
  if (judgement.preferred === 'tie') return 'tie';
  return new Rng(seed).next() < judgement.probabilityA ? 'A' : 'B';
}
