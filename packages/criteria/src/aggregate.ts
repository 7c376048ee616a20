import { z } from 'zod';
import { assignCategoryIds, isPredefinedCategoryId } from './categories';
import { CriteriaError, parseOptionsOrThrow } from './errors';
import type { JudgeResult } from './judge';
import type { Modality } from './media';
import { type PairwiseAssessment, type PointwiseAssessment, modalityOfAssessment, slotOfWinner } from './schemas';

/**
 * Aggregation: from assessments to numbers. The probability that A wins from the scores, consistency checks,
 * and the group rewards of Pref-GRPO / Flex (REFERENCE.md §3): win rates over all pairs of a group and the
 * blended Flex reward.
 */

/**
 * The published Flex reward's category weights: image A/B/C 1.0/0.7/0.7, video 1/1/1.
 * @param modality 'image' or 'video'.
 */
export function defaultCategoryWeights(modality: Modality): Record<'A' | 'B' | 'C', number> {
  return modality === 'image' ? { A: 1, B: 0.7, C: 0.7 } : { A: 1, B: 1, C: 1 };
}

const logistic = (x: number) => 1 / (1 + Math.exp(-x));

/** Options of {@link probabilityAFromScores}. */
export const probabilityOptionsSchema = z.object({
  /**
   * Temperature τ of the logistic, in units of the normalised score margin (which lies in [−1, 1]).
   * Default 0.25: a margin of 0.2 (criteria split 6/4 on average) gives P ≈ 0.69; 10/0 everywhere gives 0.98.
   */
  temperature: z.number().positive().default(0.25),
  /** Weights of categories by id; missing ids use the defaults (see {@link defaultCategoryWeights}). */
  categoryWeights: z.record(z.string(), z.number().nonnegative()).optional(),
  /** Weight of a self-generated category (D, E, …) with no weight of its own. Default 0.5. */
  selfGeneratedWeight: z.number().nonnegative().default(0.5),
});
/** Input type of {@link probabilityOptionsSchema}. */
export type ProbabilityOptions = z.input<typeof probabilityOptionsSchema>;

/** The probability that A wins, overall and per category, with the margins it comes from. */
export interface ScoreProbabilities {
  /** P(A wins overall) = σ(margin / τ). */
  readonly probabilityA: number;
  /** Weighted mean of the category margins, in [−1, 1] (positive favours A). */
  readonly margin: number;
  /** P(A wins) per category id = σ(categoryMargin / τ). */
  readonly categoryProbabilityA: Readonly<Record<string, number>>;
  /** Per category id: mean over its criteria of (score_1 − score_2) / 10, in [−1, 1]. */
  readonly categoryMargin: Readonly<Record<string, number>>;
}

function weightOf(id: string, modality: Modality, options: z.output<typeof probabilityOptionsSchema>): number {
  const explicit = options.categoryWeights?.[id];
  if (explicit !== undefined) return explicit;
  return isPredefinedCategoryId(id) ? defaultCategoryWeights(modality)[id] : options.selfGeneratedWeight;
}

/**
 * The probability that candidate A (slot 1) wins, from the criterion scores alone.
 *
 * Formula: for each category c, the margin d_c = mean over its criteria of (score_1 − score_2) / 10 ∈ [−1, 1];
 * P_c = σ(d_c / τ). Overall, d = Σ_c w_c·d_c / Σ_c w_c (0 when the weights sum to 0) and P = σ(d / τ), with
 * σ the logistic function, w_c the category weights (image A/B/C 1/0.7/0.7, video 1/1/1, self-generated 0.5 by
 * default) and τ the temperature (default 0.25). Categories are keyed by their registry id (A, B, C, D…).
 * @param assessment A pairwise assessment.
 * @param options See {@link probabilityOptionsSchema}.
 * @throws CriteriaError `invalid_options` on malformed options.
 */
export function probabilityAFromScores(assessment: PairwiseAssessment, options: ProbabilityOptions = {}): ScoreProbabilities {
  const o = parseOptionsOrThrow(probabilityOptionsSchema, options, 'probability options');
  const modality = modalityOfAssessment(assessment);
  const ids = assignCategoryIds(
    assessment.categories.map((c) => c.name),
    modality,
  );
  const categoryMargin: Record<string, number> = {};
  const categoryProbabilityA: Record<string, number> = {};
  let weighted = 0;
  let total = 0;
  assessment.categories.forEach((category, index) => {
    const id = ids[index] as string;
    const margin = category.dims.length === 0 ? 0 : category.dims.reduce((sum, d) => sum + (d.score_1 - d.score_2) / 10, 0) / category.dims.length;
    categoryMargin[id] = margin;
    categoryProbabilityA[id] = logistic(margin / o.temperature);
    const w = weightOf(id, modality, o);
    weighted += w * margin;
    total += w;
  });
  const margin = total > 0 ? weighted / total : 0;
  return { probabilityA: logistic(margin / o.temperature), margin, categoryProbabilityA, categoryMargin };
}

/** Codes of the consistency findings. */
export type ConsistencyCode =
  | 'category_winner_contradicts_scores' // a category's winner has the lower criterion score total
  | 'overall_winner_contradicts_categories' // the overall winner lost the majority of categories
  | 'overall_winner_contradicts_scores' // the overall winner has the lower weighted score margin
  | 'category_score_contradicts_criteria' // pointwise: a category score far from the mean of its criteria
  | 'overall_score_contradicts_categories'; // pointwise: the overall score far from the mean of the categories

/** One consistency finding: a warning, never an error (the published judge writes such assessments). */
export interface ConsistencyWarning {
  readonly code: ConsistencyCode;
  readonly message: string;
  /** JSON path of the field that contradicts the others. */
  readonly path: string;
}

/** Options of {@link checkConsistency}. */
export const consistencyOptionsSchema = probabilityOptionsSchema.extend({
  /** Weigh category winners by the category weights when counting the majority. Default false (one vote each). */
  weightedMajority: z.boolean().default(false),
  /** Pointwise: largest allowed distance between a score and the mean it summarises. Default 2.5 points. */
  tolerance: z.number().nonnegative().default(2.5),
});
/** Input type of {@link consistencyOptionsSchema}. */
export type ConsistencyOptions = z.input<typeof consistencyOptionsSchema>;

/**
 * Checks an assessment against itself. Pairwise: a category winner whose criteria scores favour the other
 * candidate; an overall winner that lost the (weighted, on request) majority of category winners, or whose
 * weighted score margin favours the other candidate. Pointwise: category and overall scores further than
 * `tolerance` from the mean of what they summarise. Ties in a count or margin contradict nothing.
 * @param assessment A pairwise or pointwise assessment.
 * @param options See {@link consistencyOptionsSchema}.
 * @throws CriteriaError `invalid_options` on malformed options.
 */
export function checkConsistency(assessment: PairwiseAssessment | PointwiseAssessment, options: ConsistencyOptions = {}): ConsistencyWarning[] {
  const o = parseOptionsOrThrow(consistencyOptionsSchema, options, 'consistency options');
  const warnings: ConsistencyWarning[] = [];
  if (!('winner' in assessment)) {
    const p = assessment as PointwiseAssessment;
    const means: number[] = [];
    p.categories.forEach((category, index) => {
      const mean = category.dims.reduce((s, d) => s + d.score, 0) / Math.max(1, category.dims.length);
      means.push(category.cat_score);
      if (Math.abs(category.cat_score - mean) > o.tolerance) {
        warnings.push({ code: 'category_score_contradicts_criteria', message: `category score ${category.cat_score} is far from its criteria's mean ${mean.toFixed(2)}`, path: `$.categories[${index}].cat_score` });
      }
    });
    const overallMean = means.reduce((a, b) => a + b, 0) / Math.max(1, means.length);
    if (Math.abs(p.score - overallMean) > o.tolerance) {
      warnings.push({ code: 'overall_score_contradicts_categories', message: `overall score ${p.score} is far from the categories' mean ${overallMean.toFixed(2)}`, path: '$.score' });
    }
    return warnings;
  }
  const a = assessment as PairwiseAssessment;
  const modality = modalityOfAssessment(a);
  const ids = assignCategoryIds(
    a.categories.map((c) => c.name),
    modality,
  );
  let votes = 0;
  a.categories.forEach((category, index) => {
    const total = category.dims.reduce((s, d) => s + d.score_1 - d.score_2, 0);
    const slot = slotOfWinner(category.cat_winner);
    if ((slot === 1 && total < 0) || (slot === 2 && total > 0)) {
      warnings.push({ code: 'category_winner_contradicts_scores', message: `${category.cat_winner} wins "${category.name}" but its criteria favour the other (margin ${total})`, path: `$.categories[${index}].cat_winner` });
    }
    const w = o.weightedMajority ? weightOf(ids[index] as string, modality, o) : 1;
    votes += slot === 1 ? w : -w;
  });
  const winner = slotOfWinner(a.winner);
  if ((winner === 1 && votes < 0) || (winner === 2 && votes > 0)) {
    warnings.push({ code: 'overall_winner_contradicts_categories', message: `${a.winner} wins overall but lost the majority of categories`, path: '$.winner' });
  }
  const { margin } = probabilityAFromScores(a, o);
  if ((winner === 1 && margin < 0) || (winner === 2 && margin > 0)) {
    warnings.push({ code: 'overall_winner_contradicts_scores', message: `${a.winner} wins overall but the weighted score margin is ${margin.toFixed(3)}`, path: '$.winner' });
  }
  return warnings;
}

/**
 * The outcome of judging candidate `i` (shown first, as A) against candidate `j` (second, B), from `i`'s side:
 * 1 = i wins, 0 = j wins, 0.5 = tie, values between = a soft outcome (a probability), `null` = the judgement
 * failed (counted as 0.5, as the published reward does).
 */
export interface PairOutcome {
  /** Index of the candidate shown first (A), 0-based within the group. */
  readonly i: number;
  /** Index of the candidate shown second (B). */
  readonly j: number;
  /** Overall outcome for `i`. */
  readonly overall: number | null;
  /** Per category id (A, B, C, D…): the outcome for `i`; a missing id counts as `null` (0.5). */
  readonly categories?: Readonly<Record<string, number | null>>;
}

/** Options of {@link pairOutcomeFromResult}. */
export interface PairOutcomeOptions {
  /** Index of the candidate shown first. */
  readonly i: number;
  /** Index of the candidate shown second. */
  readonly j: number;
  /**
   * false (default): hard outcomes from the winner labels (1 or 0); true: the judge's probabilities
   * (`probabilityA`, `categoryProbabilityA`, else those of {@link probabilityAFromScores}).
   */
  readonly soft?: boolean;
}

/**
 * Turns one judge result into a {@link PairOutcome}: a failure gives `null` everywhere (0.5 each side); a success
 * gives the overall and per-category outcomes for `i`, categories keyed by registry id.
 * @param result The judge's result for the request (i as A, j as B).
 * @param options Indices and hard/soft.
 */
export function pairOutcomeFromResult(result: JudgeResult, options: PairOutcomeOptions): PairOutcome {
  const { i, j, soft = false } = options;
  if (!result.ok) return { i, j, overall: null, categories: {} };
  const assessment = result.assessment;
  const modality = modalityOfAssessment(assessment);
  const ids = assignCategoryIds(
    assessment.categories.map((c) => c.name),
    modality,
  );
  const categories: Record<string, number | null> = {};
  if (soft) {
    const fromScores = result.categoryProbabilityA === undefined ? probabilityAFromScores(assessment).categoryProbabilityA : undefined;
    for (const id of ids) categories[id] = result.categoryProbabilityA?.[id] ?? fromScores?.[id] ?? null;
    return { i, j, overall: result.probabilityA, categories };
  }
  assessment.categories.forEach((category, index) => {
    categories[ids[index] as string] = slotOfWinner(category.cat_winner) === 1 ? 1 : 0;
  });
  return { i, j, overall: slotOfWinner(assessment.winner) === 1 ? 1 : 0, categories };
}

/** Options of {@link groupRewards}. */
export const groupRewardsOptionsSchema = z.object({
  /** Group size G (candidates 0…G−1), at least 2. */
  size: z.number().int().min(2),
  /** Outcomes for every unordered pair (or both orders; repeated judgements of a pair are averaged). */
  outcomes: z.array(
    z.object({
      i: z.number().int().nonnegative(),
      j: z.number().int().nonnegative(),
      overall: z.number().min(0).max(1).nullable(),
      categories: z.record(z.string(), z.number().min(0).max(1).nullable()).optional(),
    }),
  ),
  /** 'image' or 'video': the default category weights. */
  modality: z.enum(['image', 'video']),
  /** Weight of the overall win rate in the blended reward. Default 0.3. */
  overallWeight: z.number().nonnegative().default(0.3),
  /** Weight of the weighted mean of category win rates. Default 0.7. */
  categoryWeight: z.number().nonnegative().default(0.7),
  /** Category ids that enter the reward. Default A, B, C (the published reward ignores D). */
  categories: z.array(z.string().min(1)).min(1).default(['A', 'B', 'C']),
  /** Category weights by id; default image A/B/C 1/0.7/0.7, video 1/1/1, others 1. */
  categoryWeights: z.record(z.string(), z.number().nonnegative()).optional(),
});
/** Input type of {@link groupRewardsOptionsSchema}. */
export type GroupRewardsOptions = z.input<typeof groupRewardsOptionsSchema>;

/** Win rates and rewards of one group. */
export interface GroupRewards {
  /** Overall win rate per candidate: (wins + 0.5 × ties and failures) / (G − 1). */
  readonly overall: readonly number[];
  /** Win rate per candidate for each category id in `categories`. */
  readonly categories: Readonly<Record<string, readonly number[]>>;
  /** Weighted mean of the category win rates per candidate. */
  readonly categoryMean: readonly number[];
  /** The blended Flex reward: overallWeight × overall + categoryWeight × categoryMean. */
  readonly reward: readonly number[];
  /** Unordered pairs with no outcome at all (counted as 0.5 each side). */
  readonly missingPairs: readonly (readonly [number, number])[];
}

/**
 * The group rewards of Pref-GRPO with a Flex judge (REFERENCE.md §3). For candidates i ≠ j, s_ij is the mean
 * outcome for i over every judgement of the pair (an outcome x of (j, i) counts as 1 − x for i; a failure or a
 * missing category as 0.5); the win rate of i is Σ_j s_ij / (G − 1). The blended reward is
 * `overallWeight × overall + categoryWeight × Σ_c w_c·rate_c / Σ_c w_c` over `categories`.
 * @param options See {@link groupRewardsOptionsSchema}.
 * @throws CriteriaError `invalid_options` on malformed options or an outcome whose indices are out of range
 *   or equal.
 */
export function groupRewards(options: GroupRewardsOptions): GroupRewards {
  const o = parseOptionsOrThrow(groupRewardsOptionsSchema, options, 'group reward options');
  const g = o.size;
  const keys = ['overall', ...o.categories];
  // sums[k][i*g+j]: total outcome for i against j under key k; counts[i*g+j]: judgements of the unordered pair.
  const sums = keys.map(() => new Float64Array(g * g));
  const counts = new Float64Array(g * g);
  for (const outcome of o.outcomes) {
    const { i, j } = outcome;
    if (i >= g || j >= g || i === j) throw new CriteriaError('invalid_options', `outcome (${i}, ${j}) is not a pair of a group of ${g}`);
    keys.forEach((key, k) => {
      const raw = key === 'overall' ? outcome.overall : (outcome.categories?.[key] ?? null);
      const value = raw ?? 0.5;
      const sum = sums[k] as Float64Array;
      sum[i * g + j] = (sum[i * g + j] as number) + value;
      sum[j * g + i] = (sum[j * g + i] as number) + 1 - value;
    });
    counts[i * g + j] = (counts[i * g + j] as number) + 1;
    counts[j * g + i] = (counts[j * g + i] as number) + 1;
  }
  const missingPairs: [number, number][] = [];
  for (let i = 0; i < g; i++) for (let j = i + 1; j < g; j++) if (counts[i * g + j] === 0) missingPairs.push([i, j]);
  const rates = keys.map((_, k) =>
    Array.from({ length: g }, (_, i) => {
      let total = 0;
      for (let j = 0; j < g; j++) {
        if (j === i) continue;
        const n = counts[i * g + j] as number;
        total += n === 0 ? 0.5 : ((sums[k] as Float64Array)[i * g + j] as number) / n;
      }
      return total / (g - 1);
    }),
  );
  const overall = rates[0] as number[];
  const defaults = defaultCategoryWeights(o.modality) as Record<string, number>;
  const weights = o.categories.map((id) => o.categoryWeights?.[id] ?? defaults[id] ?? 1);
  const weightTotal = weights.reduce((a, b) => a + b, 0);
  const categories: Record<string, number[]> = {};
  o.categories.forEach((id, c) => {
    categories[id] = rates[c + 1] as number[];
  });
  const categoryMean = Array.from({ length: g }, (_, i) =>
    weightTotal > 0 ? o.categories.reduce((sum, id, c) => sum + (weights[c] as number) * ((categories[id] as number[])[i] as number), 0) / weightTotal : 0.5,
  );
  const reward = overall.map((r, i) => o.overallWeight * r + o.categoryWeight * (categoryMean[i] as number));
  return { overall, categories, categoryMean, reward, missingPairs };
}
