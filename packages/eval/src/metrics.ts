import { z } from 'zod';
import { parseOptions } from './errors';
import { createRandom, hashSeed } from './random';

/**
 * Preference metrics as pure functions over plain per-pair records (no media, no judges): accuracy without
 * ties ("diff") and with them ("tau"), position consistency, agreement per category with the oracle,
 * accuracy per context, calibration of P(A wins) and parse failures, with seeded bootstrap intervals.
 *
 * Conventions (also in docs/eval.md):
 * - Every verdict is in the dataset's terms: `A` is the dataset's candidate A, whatever slot the judge saw
 *   it in (the runner maps the judge's slots back).
 * - A pair whose judge call failed (`prediction: null`) counts as wrong in both accuracies; the failure is
 *   also reported on its own as the parse-failure / failure rate.
 * - "diff" accuracy: over pairs whose label is not a tie, the share predicted exactly right (a predicted tie
 *   is wrong). "tau" accuracy: over every pair, the share predicted exactly right, so a tie label is only
 *   won by a tie prediction (a judge that never says tie loses every tie pair).
 */

/** A verdict on a pair: candidate A wins, candidate B wins, or neither. */
export type Verdict = 'A' | 'B' | 'tie';

/** The zod schema of a {@link Verdict}. */
export const verdictSchema = z.enum(['A', 'B', 'tie']);

/** The order a judge saw the pair in: `AB` (A in slot 1) or `BA` (B in slot 1). */
export type ShownOrder = 'AB' | 'BA';

/** Codes of failed judge calls that count as parse failures (the output could not be read). */
export const parseFailureCodes: readonly string[] = ['parse_error', 'invalid_assessment'];

const failureSchema = z.object({ code: z.string(), message: z.string() });

/** The schema of one {@link PairOutcome}. */
export const pairOutcomeSchema = z.object({
  /** The pair's id. */
  id: z.string(),
  /** The ground-truth label (the oracle's noisy-person label). */
  label: verdictSchema,
  /** The context the pair was labelled under, when the dataset has one (used for per-context accuracy). */
  context: z.string().optional(),
  /** The order the judge saw the pair in for the main call. Default `AB`. */
  order: z.enum(['AB', 'BA']).default('AB'),
  /** The judge's verdict (main call), in dataset terms; `null` when the call failed. */
  prediction: verdictSchema.nullable(),
  /** The judge's P(dataset candidate A wins) (main call), in [0, 1]; `null` when the call failed. */
  probabilityA: z.number().min(0).max(1).nullable(),
  /** The failure of the main call, when it failed. */
  error: failureSchema.optional(),
  /** The verdict with the two candidates swapped, in dataset terms; absent when only one order was asked. */
  swappedPrediction: verdictSchema.nullable().optional(),
  /** P(A wins) from the swapped call, in dataset terms. */
  swappedProbabilityA: z.number().min(0).max(1).nullable().optional(),
  /** The failure of the swapped call, when it failed. */
  swappedError: failureSchema.optional(),
  /** The judge's winner per category id (A, B, C, D…), in dataset terms (main call). */
  categoryPredictions: z.record(z.string(), verdictSchema).optional(),
  /** The oracle's winner per category id, in dataset terms (ground truth for per-category agreement). */
  oracleCategoryWinners: z.record(z.string(), verdictSchema).optional(),
});

/** One judged pair, as the metrics read it. See {@link pairOutcomeSchema} for each field. */
export type PairOutcome = z.output<typeof pairOutcomeSchema>;
/** Input type of {@link pairOutcomeSchema} (`order` may be omitted). */
export type PairOutcomeInput = z.input<typeof pairOutcomeSchema>;

/** The options of {@link computePreferenceMetrics}. */
export const preferenceMetricsOptionsSchema = z.object({
  /** The judged pairs. */
  records: z.array(pairOutcomeSchema),
  /** Seed of the bootstrap resampling. Default 0. */
  seed: z.number().int().nonnegative().default(0),
  /** Number of bootstrap resamples for the 95% intervals; 0 turns intervals off. Default 1000. */
  bootstrapSamples: z.number().int().nonnegative().max(100_000).default(1000),
  /** Equal-width bins on [0, 1] of the reliability diagram. Default 10. */
  calibrationBins: z.number().int().min(1).max(100).default(10),
});

/** Options of {@link computePreferenceMetrics}. */
export type PreferenceMetricsOptions = z.input<typeof preferenceMetricsOptionsSchema>;

/** A proportion with its bootstrap 95% interval. */
export interface Estimate {
  /** The proportion in [0, 1]; `null` when `count` is 0. */
  readonly value: number | null;
  /** Lower end of the percentile-bootstrap 95% interval; `null` when not computed. */
  readonly lower: number | null;
  /** Upper end of the interval; `null` when not computed. */
  readonly upper: number | null;
  /** How many pairs (or calls) the proportion is over. */
  readonly count: number;
}

/** One bin of the reliability diagram of P(A wins). */
export interface ReliabilityBin {
  /** Lower edge of the bin (inclusive). */
  readonly lower: number;
  /** Upper edge (exclusive, except the last bin which includes 1). */
  readonly upper: number;
  /** Pairs whose P(A) fell in the bin. */
  readonly count: number;
  /** Mean P(A) of those pairs; `null` when empty. */
  readonly meanProbability: number | null;
  /** Share of those pairs that A actually won; `null` when empty. */
  readonly frequency: number | null;
}

/** Calibration of P(A wins) against the non-tie labels. */
export interface Calibration {
  /** Expected calibration error: Σ_b (n_b / N) · |frequency_b − meanProbability_b|; `null` when N is 0. */
  readonly ece: number | null;
  /** Brier score: mean of (P(A) − 1[A won])²; `null` when N is 0. */
  readonly brier: number | null;
  /** N: pairs with a probability and a non-tie label. */
  readonly count: number;
  /** The reliability diagram. */
  readonly bins: readonly ReliabilityBin[];
}

/** Accuracy within one context. */
export interface ContextMetrics {
  /** Accuracy without ties in this context, with its interval. */
  readonly accuracyDiff: Estimate;
  /** Accuracy with ties in this context. */
  readonly accuracyTau: Estimate;
  /** Pairs in this context. */
  readonly pairs: number;
}

/** Agreement with the oracle on one category. */
export interface CategoryMetrics {
  /** Share of pairs (oracle category winner not a tie) where the judge named the same winner. */
  readonly agreement: Estimate;
  /** Of those pairs, how many had no judge verdict for this category (failed call or category absent). */
  readonly missing: number;
}

/** Tau accuracy with the tie margin chosen to maximise it (tie calibration, Deutsch et al. 2023). */
export interface TieCalibration {
  /** The best tau accuracy reachable by declaring a tie when |P(A) − 0.5| < margin. */
  readonly accuracyTau: number | null;
  /** The margin that reaches it (the smallest one when several do). */
  readonly margin: number;
}

/** Every preference metric of one judge on one benchmark. */
export interface PreferenceMetrics {
  /** Pairs judged. */
  readonly pairs: number;
  /** Accuracy excluding tie labels ("diff"). */
  readonly accuracyDiff: Estimate;
  /** Accuracy including tie labels ("tau"). */
  readonly accuracyTau: Estimate;
  /**
   * Accuracy without ties of the order-averaged verdict: P(A) averaged over the two orders (the side above
   * 0.5 wins; exactly 0.5 is a tie), the common remedy for position bias. Uses the one readable call when
   * the other failed; `count` 0 when only one order was asked.
   */
  readonly accuracyDiffBothOrders: Estimate;
  /**
   * Tau with the tie margin fitted on these same pairs: an optimistic figure (the margin is chosen on the
   * test set), shown beside `accuracyTau` for judges that never say tie.
   */
  readonly tieCalibrated: TieCalibration;
  /** Share of pairs judged the same in both orders, over pairs where both calls succeeded; `count` 0 when only one order was asked. */
  readonly positionConsistency: Estimate;
  /** Share of successful non-tie calls (both orders) whose winner was the first slot shown: 0.5 is unbiased. */
  readonly firstSlotWinRate: Estimate;
  /** Share of successful main calls that predicted a tie. */
  readonly predictedTieRate: number | null;
  /** Share of judge calls (both orders) that failed with a parse failure code. */
  readonly parseFailureRate: number | null;
  /** Share of judge calls (both orders) that failed for any reason. */
  readonly failureRate: number | null;
  /** Judge calls made (1 or 2 per pair). */
  readonly calls: number;
  /** Agreement with the oracle's category winners, per category id (only categories the oracle names). */
  readonly perCategory: Readonly<Record<string, CategoryMetrics>>;
  /** Accuracy per context (pairs without a context are grouped under `(none)` only if some pair has one). */
  readonly perContext: Readonly<Record<string, ContextMetrics>>;
  /** Calibration of P(A wins). */
  readonly calibration: Calibration;
}

/** Name of the group of pairs that carry no context, in {@link PreferenceMetrics.perContext}. */
export const noContext = '(none)';

/**
 * A percentile of sorted numbers with linear interpolation between order statistics (type 7, as numpy's
 * default). `q` in [0, 1].
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty list');
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (position - low);
}

/**
 * The mean of `outcomes` (0/1, or any scores in [0, 1]) with a seeded percentile-bootstrap 95% interval
 * (resampling the outcomes with replacement `samples` times). With `samples` 0 or no outcomes the interval
 * is `null`.
 */
export function bootstrapProportion(outcomes: readonly number[], samples: number, seed: number): Estimate {
  const n = outcomes.length;
  if (n === 0) return { value: null, lower: null, upper: null, count: 0 };
  let total = 0;
  for (const o of outcomes) total += o;
  const value = total / n;
  if (samples === 0) return { value, lower: null, upper: null, count: n };
  const random = createRandom(seed);
  const means = new Array<number>(samples);
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += outcomes[Math.floor(random() * n)] as number;
    means[s] = sum / n;
  }
  means.sort((x, y) => x - y);
  return { value, lower: quantile(means, 0.025), upper: quantile(means, 0.975), count: n };
}

/** Mean of a list, or null when it is empty. */
function meanOrNull(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** 1 when the prediction matches the label exactly, else 0 (a failed call is wrong). */
function correct(prediction: Verdict | null | undefined, label: Verdict): number {
  return prediction === label ? 1 : 0;
}

/** The verdict of P(A) averaged over both orders (or the one readable call); null when neither is readable. */
function averagedVerdict(r: PairOutcome): Verdict | null {
  const probabilities = [r.prediction !== null ? r.probabilityA : null, r.swappedPrediction != null ? r.swappedProbabilityA : null].filter(
    (p): p is number => typeof p === 'number',
  );
  if (probabilities.length === 0) return null;
  const mean = probabilities.reduce((sum, p) => sum + p, 0) / probabilities.length;
  return mean > 0.5 ? 'A' : mean < 0.5 ? 'B' : 'tie';
}

/** Accuracy without ties: 0/1 outcomes over the pairs whose label is not a tie. */
function diffOutcomes(records: readonly PairOutcome[]): number[] {
  return records.filter((r) => r.label !== 'tie').map((r) => correct(r.prediction, r.label));
}

/** Accuracy with ties: 0/1 outcomes over every pair. */
function tauOutcomes(records: readonly PairOutcome[]): number[] {
  return records.map((r) => correct(r.prediction, r.label));
}

/**
 * The verdict a probability gives under a tie margin: a tie when |P(A) − 0.5| < margin, otherwise the more
 * likely side (A when P(A) > 0.5, B when below, a tie at exactly 0.5).
 */
export function verdictFromProbability(probabilityA: number, tieMargin: number): Verdict {
  if (Math.abs(probabilityA - 0.5) < tieMargin || probabilityA === 0.5) return 'tie';
  return probabilityA > 0.5 ? 'A' : 'B';
}

/**
 * Tie calibration: the tau accuracy reached when the judge's verdict is replaced by a tie whenever
 * |P(A) − 0.5| < ε, with ε chosen among the midpoints between consecutive observed |P(A) − 0.5| values
 * (and 0, which keeps the verdicts as they are). Pairs whose call failed stay wrong.
 */
export function tieCalibratedAccuracy(records: readonly PairOutcome[]): TieCalibration {
  if (records.length === 0) return { accuracyTau: null, margin: 0 };
  let right = 0;
  const flippable: { distance: number; gain: number }[] = [];
  for (const r of records) {
    const isRight = r.prediction !== null && r.prediction === r.label ? 1 : 0;
    right += isRight;
    if (r.probabilityA !== null && r.prediction !== null) {
      // Turning this verdict into a tie gains 1 on a tie label and loses what it had.
      // Rounded so that 0.45 and 0.55 (which differ in the last bits) sit at the same distance.
      flippable.push({ distance: Math.round(Math.abs(r.probabilityA - 0.5) * 1e12) / 1e12, gain: (r.label === 'tie' ? 1 : 0) - isRight });
    }
  }
  flippable.sort((a, b) => a.distance - b.distance);
  // Sweep the margin upwards: past each group of equal distances, those verdicts become ties.
  let best = { right, margin: 0 };
  let current = right;
  for (let i = 0; i < flippable.length; ) {
    const distance = (flippable[i] as { distance: number }).distance;
    while (i < flippable.length && (flippable[i] as { distance: number }).distance === distance) {
      current += (flippable[i] as { gain: number }).gain;
      i++;
    }
    const next = i < flippable.length ? (flippable[i] as { distance: number }).distance : undefined;
    const margin = next === undefined ? distance + 1e-9 : (distance + next) / 2;
    if (current > best.right) best = { right: current, margin };
  }
  return { accuracyTau: best.right / records.length, margin: best.margin };
}

/**
 * The reliability diagram and calibration error of P(A wins) over pairs with a probability and a non-tie
 * label, with `bins` equal-width bins on [0, 1] (P(A) = 1 falls in the last bin).
 */
export function calibrationOf(records: readonly PairOutcome[], bins: number): Calibration {
  const points = records
    .filter((r) => r.probabilityA !== null && r.label !== 'tie')
    .map((r) => ({ p: r.probabilityA as number, y: r.label === 'A' ? 1 : 0 }));
  const groups = Array.from({ length: bins }, () => ({ count: 0, sumP: 0, sumY: 0 }));
  let brier = 0;
  for (const { p, y } of points) {
    const index = Math.min(bins - 1, Math.floor(p * bins));
    const group = groups[index] as { count: number; sumP: number; sumY: number };
    group.count++;
    group.sumP += p;
    group.sumY += y;
    brier += (p - y) ** 2;
  }
  const n = points.length;
  let ece = 0;
  const reliability: ReliabilityBin[] = groups.map((g, i) => {
    const meanProbability = g.count ? g.sumP / g.count : null;
    const frequency = g.count ? g.sumY / g.count : null;
    if (g.count) ece += (g.count / n) * Math.abs((frequency as number) - (meanProbability as number));
    return { lower: i / bins, upper: (i + 1) / bins, count: g.count, meanProbability, frequency };
  });
  return { ece: n ? ece : null, brier: n ? brier / n : null, count: n, bins: reliability };
}

/** The slot (1 or 2) that a dataset-terms verdict names, given the order shown. */
function slotOf(verdict: 'A' | 'B', order: ShownOrder): 1 | 2 {
  return (verdict === 'A') === (order === 'AB') ? 1 : 2;
}

/**
 * Computes every preference metric over judged pairs. Pure and deterministic: the bootstrap uses `seed`
 * (each metric its own stream derived from it).
 */
export function computePreferenceMetrics(options: PreferenceMetricsOptions): PreferenceMetrics {
  const { records, seed, bootstrapSamples, calibrationBins } = parseOptions(
    preferenceMetricsOptionsSchema,
    options,
    'computePreferenceMetrics',
  );
  const stream = (label: string) => hashSeed(seed, label);

  const accuracyDiff = bootstrapProportion(diffOutcomes(records), bootstrapSamples, stream('accuracy/diff'));
  const accuracyTau = bootstrapProportion(tauOutcomes(records), bootstrapSamples, stream('accuracy/tau'));

  const bothAsked = records.filter((r) => r.swappedPrediction !== undefined);
  const accuracyDiffBothOrders = bootstrapProportion(
    bothAsked.filter((r) => r.label !== 'tie').map((r) => correct(averagedVerdict(r), r.label)),
    bootstrapSamples,
    stream('accuracy/diff-both-orders'),
  );
  const bothSucceeded = bothAsked.filter((r) => r.prediction !== null && r.swappedPrediction != null);
  const positionConsistency = bootstrapProportion(
    bothSucceeded.map((r) => (r.prediction === r.swappedPrediction ? 1 : 0)),
    bootstrapSamples,
    stream('position-consistency'),
  );

  const firstSlot: number[] = [];
  let calls = 0;
  let parseFailures = 0;
  let failures = 0;
  for (const r of records) {
    calls++;
    if (r.prediction === null) {
      failures++;
      if (r.error && parseFailureCodes.includes(r.error.code)) parseFailures++;
    } else if (r.prediction !== 'tie') {
      firstSlot.push(slotOf(r.prediction, r.order) === 1 ? 1 : 0);
    }
    if (r.swappedPrediction !== undefined) {
      calls++;
      const swappedOrder: ShownOrder = r.order === 'AB' ? 'BA' : 'AB';
      if (r.swappedPrediction === null) {
        failures++;
        if (r.swappedError && parseFailureCodes.includes(r.swappedError.code)) parseFailures++;
      } else if (r.swappedPrediction !== 'tie') {
        firstSlot.push(slotOf(r.swappedPrediction, swappedOrder) === 1 ? 1 : 0);
      }
    }
  }
  const firstSlotWinRate = bootstrapProportion(firstSlot, bootstrapSamples, stream('first-slot'));
  const succeeded = records.filter((r) => r.prediction !== null);
  const predictedTieRate = meanOrNull(succeeded.map((r) => (r.prediction === 'tie' ? 1 : 0)));

  const categoryIds = new Set<string>();
  for (const r of records) for (const id of Object.keys(r.oracleCategoryWinners ?? {})) categoryIds.add(id);
  const perCategory: Record<string, CategoryMetrics> = {};
  for (const id of [...categoryIds].sort()) {
    const outcomes: number[] = [];
    let missing = 0;
    for (const r of records) {
      const truth = r.oracleCategoryWinners?.[id];
      if (truth === undefined || truth === 'tie') continue;
      const predicted = r.prediction === null ? undefined : r.categoryPredictions?.[id];
      if (predicted === undefined) missing++;
      outcomes.push(predicted === truth ? 1 : 0);
    }
    perCategory[id] = { agreement: bootstrapProportion(outcomes, bootstrapSamples, stream(`category/${id}`)), missing };
  }

  const perContext: Record<string, ContextMetrics> = {};
  if (records.some((r) => r.context !== undefined)) {
    const groups = new Map<string, PairOutcome[]>();
    for (const r of records) {
      const key = r.context ?? noContext;
      const list = groups.get(key);
      if (list) list.push(r);
      else groups.set(key, [r]);
    }
    for (const key of [...groups.keys()].sort()) {
      const group = groups.get(key) as PairOutcome[];
      perContext[key] = {
        accuracyDiff: bootstrapProportion(diffOutcomes(group), bootstrapSamples, stream(`context/${key}/diff`)),
        accuracyTau: bootstrapProportion(tauOutcomes(group), bootstrapSamples, stream(`context/${key}/tau`)),
        pairs: group.length,
      };
    }
  }

  return {
    pairs: records.length,
    accuracyDiff,
    accuracyTau,
    accuracyDiffBothOrders,
    tieCalibrated: tieCalibratedAccuracy(records),
    positionConsistency,
    firstSlotWinRate,
    predictedTieRate,
    parseFailureRate: calls ? parseFailures / calls : null,
    failureRate: calls ? failures / calls : null,
    calls,
    perCategory,
    perContext,
    calibration: calibrationOf(records, calibrationBins),
  };
}
