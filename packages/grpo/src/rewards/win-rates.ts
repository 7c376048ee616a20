import { z } from 'zod';
import { parseOptions } from '../errors';

/**
 * Win rates from pairwise outcomes (Pref-GRPO, REFERENCE.md §3): each unordered pair of a group contributes
 * one outcome in [0, 1] for its first member (1 win, 0 loss, 0.5 tie or failure) and the complement for the
 * second; a member's win rate is its total / (G − 1).
 */

/** One judged pair: members `i` and `j` of a group, and `i`'s outcome in [0, 1]. */
export const pairOutcomeSchema = z.object({
  i: z.number().int().nonnegative(),
  j: z.number().int().nonnegative(),
  /** i's share of the win: 1 when i won, 0 when j won, 0.5 for a tie or a failed judgement. */
  outcome: z.number().min(0).max(1),
});
/** See {@link pairOutcomeSchema}. */
export type PairOutcome = z.output<typeof pairOutcomeSchema>;

/** Options of {@link winRates}. */
export const winRatesOptionsSchema = z
  .object({
    /** Group size G (≥ 2). */
    groupSize: z.number().int().min(2),
    /**
     * Outcomes of the judged pairs. Every unordered pair must appear at least once; a pair judged several
     * times (both orders) is averaged. Pairs never judged count as ties.
     */
    pairs: z.array(pairOutcomeSchema),
  })
  .superRefine((v, context) => {
    v.pairs.forEach((p, k) => {
      if (p.i === p.j || p.i >= v.groupSize || p.j >= v.groupSize) {
        context.addIssue({ code: 'custom', message: `pair ${k} (${p.i}, ${p.j}) is not two distinct members of a group of ${v.groupSize}`, path: ['pairs', k] });
      }
    });
  });

/** Input of {@link winRates}. */
export type WinRatesOptions = z.input<typeof winRatesOptionsSchema>;

/** Each member's win rate: Σ_j outcome(i beats j) / (G − 1), repeated judgements of a pair averaged. */
export function winRates(options: WinRatesOptions): number[] {
  const o = parseOptions(winRatesOptionsSchema, options, 'winRates');
  return winRatesUnchecked(o.groupSize, o.pairs);
}

/** {@link winRates} without validation. */
export function winRatesUnchecked(groupSize: number, pairs: readonly PairOutcome[]): number[] {
  const sum = new Float64Array(groupSize * groupSize);
  const count = new Float64Array(groupSize * groupSize);
  for (const { i, j, outcome } of pairs) {
    const [lo, hi, o] = i < j ? [i, j, outcome] : [j, i, 1 - outcome];
    sum[lo * groupSize + hi]! += o;
    count[lo * groupSize + hi]! += 1;
  }
  const wins = new Array<number>(groupSize).fill(0);
  for (let lo = 0; lo < groupSize; lo++) {
    for (let hi = lo + 1; hi < groupSize; hi++) {
      const c = count[lo * groupSize + hi] as number;
      const share = c > 0 ? (sum[lo * groupSize + hi] as number) / c : 0.5;
      wins[lo]! += share;
      wins[hi]! += 1 - share;
    }
  }
  return wins.map((w) => w / (groupSize - 1));
}

/** Options of {@link flexReward}. */
export const flexRewardOptionsSchema = z.object({
  /** The overall win rate, in [0, 1]. */
  overall: z.number().min(0).max(1),
  /** Win rate per category id, in [0, 1]; a weighted category missing here counts as 0.5. */
  categories: z.record(z.string(), z.number().min(0).max(1)),
  /** Weight per category id in the category mean. Default image weights: A 1.0, B 0.7, C 0.7. */
  categoryWeights: z.record(z.string(), z.number().nonnegative()).optional(),
  /** Weight of the overall win rate; the category mean gets 1 − this. Default 0.3. */
  overallWeight: z.number().min(0).max(1).default(0.3),
});

/** The published category weights of the Flex reward (REFERENCE.md §3). */
export const flexCategoryWeights = {
  image: { A: 1, B: 0.7, C: 0.7 },
  video: { A: 1, B: 1, C: 1 },
} as const;

/** Weighted mean of category win rates; categories without a rate count as 0.5. */
export function weightedCategoryMean(categories: Readonly<Record<string, number | null | undefined>>, weights: Readonly<Record<string, number>>): number {
  let sum = 0;
  let total = 0;
  for (const [id, w] of Object.entries(weights)) {
    const r = categories[id];
    sum += w * (r === null || r === undefined ? 0.5 : r);
    total += w;
  }
  return total > 0 ? sum / total : 0.5;
}

/**
 * The blended Flex reward: `overallWeight · overall + (1 − overallWeight) · weighted category mean`
 * (published: 0.3 / 0.7 with weights A 1.0, B 0.7, C 0.7 for images, 1 / 1 / 1 for video).
 */
export function flexReward(options: z.input<typeof flexRewardOptionsSchema>): number {
  const o = parseOptions(flexRewardOptionsSchema, options, 'flexReward');
  const weights = o.categoryWeights ?? flexCategoryWeights.image;
  return o.overallWeight * o.overall + (1 - o.overallWeight) * weightedCategoryMean(o.categories, weights);
}
