import { z } from 'zod';
import {
  assignCategoryIds,
  slotOfWinner,
  type Judge,
  type JudgeRequest,
  type JudgeResult,
  type Media,
  type Modality,
  modalityOf,
} from '@flex/criteria';
import { parseOptions } from '../errors';
import type { RewardFunction, RewardOutput, RewardRequest } from '../reward';
import { flexCategoryWeights, weightedCategoryMean, winRatesUnchecked, type PairOutcome } from './win-rates';

/**
 * The pairwise judge reward (Pref-GRPO with the Flex judge, REFERENCE.md §3): every unordered pair of a
 * group is judged once (or in both orders), each member's win rate overall and per category becomes its
 * reward, blended into the Flex reward. Works over any `Judge` from @flex/criteria.
 */

/** Options of {@link pairwiseJudgeReward}. */
export const pairwiseJudgeRewardOptionsSchema = z.object({
  /** The judge (the local Flex model, the scalar Bradley–Terry model, a remote judge…). */
  judge: z.custom<Judge>((v) => typeof v === 'object' && v !== null && typeof (v as Judge).judge === 'function', {
    message: 'expected a Judge (an object with a judge(requests) method)',
  }),
  /** Name in metric keys. Default `pairwise:<judge name>`. */
  name: z.string().min(1).optional(),
  /** Judge each pair in both orders and average, cancelling position bias (twice the calls). Default false. */
  bothOrders: z.boolean().default(false),
  /**
   * How a judgement becomes an outcome: `winner` (1 / 0 from the written winner; 0.5 when `probabilityA` is
   * exactly 0.5, a tie) or `probability` (the judge's `probabilityA`, and per category `categoryProbabilityA`
   * when given). Failures are always 0.5. Default `winner`.
   */
  outcome: z.enum(['winner', 'probability']).default('winner'),
  /** `flex` (the blend of overall and category win rates) or `overall` (the overall win rate alone). Default `flex`. */
  reward: z.enum(['flex', 'overall']).default('flex'),
  /** Weight of the overall win rate in the Flex blend; categories get 1 − this. Default 0.3. */
  overallWeight: z.number().min(0).max(1).default(0.3),
  /** Category weights by id. Default per modality: image A 1.0, B 0.7, C 0.7; video 1 / 1 / 1. */
  categoryWeights: z.record(z.string(), z.number().nonnegative()).optional(),
  /** Requests per `judge.judge` call. Default 64. */
  batchSize: z.number().int().positive().default(64),
  /** Turns a sample into media. Default: the sample is the media. */
  toMedia: z.custom<(sample: unknown) => Media>((v) => typeof v === 'function').optional(),
  /** Turns a prompt into the judge's text. Default: `String(prompt)`. */
  toPrompt: z.custom<(prompt: unknown) => string>((v) => typeof v === 'function').optional(),
});

/** Input of {@link pairwiseJudgeReward}. */
export type PairwiseJudgeRewardOptions<TPrompt = string, TSample = Media> = Omit<
  z.input<typeof pairwiseJudgeRewardOptionsSchema>,
  'toMedia' | 'toPrompt'
> & {
  toMedia?: (sample: TSample) => Media;
  toPrompt?: (prompt: TPrompt) => string;
};

/** Outcomes of one judgement for slot 1 (A): overall and per category id. */
export function judgementOutcomes(
  result: JudgeResult,
  modality: Modality,
  mode: 'winner' | 'probability',
): { overall: number; categories: Record<string, number>; failed: boolean; tie: boolean } {
  if (!result.ok) return { overall: 0.5, categories: {}, failed: true, tie: false };
  const tie = result.probabilityA === 0.5;
  const overall = mode === 'probability' ? result.probabilityA : tie ? 0.5 : slotOfWinner(result.assessment.winner) === 1 ? 1 : 0;
  const categories: Record<string, number> = {};
  // Stable ids from @flex/criteria: A/B/C by name (tolerant), self-generated ones from D in written order.
  const ids = assignCategoryIds(
    result.assessment.categories.map((c) => c.name),
    modality,
  );
  for (const [k, category] of result.assessment.categories.entries()) {
    const id = ids[k] as string;
    const p = result.categoryProbabilityA?.[id];
    categories[id] = mode === 'probability' && p !== undefined ? p : slotOfWinner(category.cat_winner) === 1 ? 1 : 0;
  }
  return { overall: Math.min(1, Math.max(0, overall)), categories, failed: false, tie };
}

/**
 * A `RewardFunction` from a pairwise judge. Its output carries the Flex reward (or the overall win rate) as
 * `rewards`, the `overall` and `categories` parts as components (weights 0.3 / 0.7) for
 * `multiRewardAdvantages`, per-sample `win_rate/<id>` details, and metrics `judge_calls`, `judge_failures`,
 * `judge_failure_rate`, `judge_ties`, and with both orders `position_consistency`.
 * Groups of one sample get null (no pair to judge).
 */
export function pairwiseJudgeReward<TPrompt = string, TSample = Media>(
  options: PairwiseJudgeRewardOptions<TPrompt, TSample>,
): RewardFunction<TPrompt, TSample> {
  const o = parseOptions(pairwiseJudgeRewardOptionsSchema, options, 'pairwiseJudgeReward');
  const toMedia = (o.toMedia ?? ((s: unknown) => s as Media)) as (sample: TSample) => Media;
  const toPrompt = (o.toPrompt ?? ((p: unknown) => String(p))) as (prompt: TPrompt) => string;
  const name = o.name ?? `pairwise:${o.judge.name}`;
  return {
    name,
    async score(request: RewardRequest<TPrompt, TSample>): Promise<RewardOutput> {
      const n = request.samples.length;
      const groups = new Map<number, number[]>();
      request.groupIds.forEach((g, i) => {
        const list = groups.get(g) ?? [];
        list.push(i);
        groups.set(g, list);
      });
      const media = request.samples.map(toMedia);
      // One request per (group, i, j) in order; both orders add (j, i).
      const jobs: { group: number[]; i: number; j: number; modality: Modality }[] = [];
      const requests: JudgeRequest[] = [];
      for (const members of groups.values()) {
        for (let i = 0; i < members.length; i++) {
          for (let j = i + 1; j < members.length; j++) {
            const orders = o.bothOrders ? [[i, j], [j, i]] : [[i, j]];
            for (const [a, b] of orders as [number, number][]) {
              const ia = members[a] as number;
              const ib = members[b] as number;
              const modality = modalityOf(media[ia] as Media);
              jobs.push({ group: members, i: a, j: b, modality });
              requests.push({ id: `${ia}:${ib}`, prompt: toPrompt(request.prompts[ia] as TPrompt), modality, a: media[ia] as Media, b: media[ib] as Media });
            }
          }
        }
      }
      const results: JudgeResult[] = [];
      for (let start = 0; start < requests.length; start += o.batchSize) {
        const chunk = requests.slice(start, start + o.batchSize);
        let answered: JudgeResult[];
        try {
          answered = await o.judge.judge(chunk, request.signal ? { signal: request.signal } : {});
        } catch (error) {
          // A judge that throws fails the whole chunk; its pairs count as ties, reported as failures.
          answered = chunk.map(() => ({ ok: false, error: { code: 'model_error', message: (error as Error)?.message ?? String(error) } }));
        }
        for (let k = 0; k < chunk.length; k++) {
          results.push(
            answered[k] ?? { ok: false, error: { code: 'model_error', message: `judge returned ${answered.length} results for ${chunk.length} requests` } },
          );
        }
      }
      // Gather outcomes per group, overall and per category.
      const perGroup = new Map<number[], { overall: PairOutcome[]; categories: Map<string, PairOutcome[]> }>();
      let failures = 0;
      let ties = 0;
      const orderPairs = new Map<string, number[]>();
      jobs.forEach((job, k) => {
        const judged = judgementOutcomes(results[k] as JudgeResult, job.modality, o.outcome);
        if (judged.failed) failures++;
        if (judged.tie) ties++;
        let entry = perGroup.get(job.group);
        if (!entry) {
          entry = { overall: [], categories: new Map() };
          perGroup.set(job.group, entry);
        }
        entry.overall.push({ i: job.i, j: job.j, outcome: judged.overall });
        const weightsFor = o.categoryWeights ?? flexCategoryWeights[job.modality];
        const ids = new Set([...Object.keys(weightsFor), ...Object.keys(judged.categories)]);
        for (const id of ids) {
          const outcome = judged.categories[id];
          // A weighted category the judge left out (or a failure) is a tie; an unweighted one is simply absent.
          if (outcome === undefined && !(id in weightsFor)) continue;
          const list = entry.categories.get(id) ?? [];
          list.push({ i: job.i, j: job.j, outcome: outcome ?? 0.5 });
          entry.categories.set(id, list);
        }
        if (o.bothOrders && !judged.failed) {
          const key = `${job.group[Math.min(job.i, job.j)]}:${job.group[Math.max(job.i, job.j)]}`;
          const forLow = job.i < job.j ? judged.overall : 1 - judged.overall;
          orderPairs.set(key, [...(orderPairs.get(key) ?? []), forLow]);
        }
      });
      const rewards: (number | null)[] = new Array(n).fill(null);
      const overallValues: (number | null)[] = new Array(n).fill(null);
      const categoryValues: (number | null)[] = new Array(n).fill(null);
      const details: Record<string, (number | null)[]> = { 'win_rate/overall': overallValues };
      for (const [members, entry] of perGroup) {
        const modality = modalityOf(media[members[0] as number] as Media);
        const weights = o.categoryWeights ?? flexCategoryWeights[modality];
        const overall = winRatesUnchecked(members.length, entry.overall);
        const perCategory: Record<string, number[]> = {};
        for (const [id, pairs] of entry.categories) {
          // Self-generated categories are rated over the pairs that had them; weighted ones over all pairs.
          perCategory[id] = id in weights ? winRatesUnchecked(members.length, pairs) : partialWinRates(members.length, pairs);
        }
        members.forEach((index, m) => {
          const o1 = overall[m] as number;
          const rates: Record<string, number> = {};
          for (const [id, values] of Object.entries(perCategory)) {
            const v = values[m] as number;
            rates[id] = v;
            const column = (details[`win_rate/${id}`] ??= new Array(n).fill(null));
            column[index] = Number.isNaN(v) ? null : v;
          }
          const categoryMean = weightedCategoryMean(rates, weights);
          overallValues[index] = o1;
          categoryValues[index] = categoryMean;
          rewards[index] = o.reward === 'overall' ? o1 : o.overallWeight * o1 + (1 - o.overallWeight) * categoryMean;
        });
      }
      const metrics: Record<string, number> = {
        judge_calls: requests.length,
        judge_failures: failures,
        judge_failure_rate: requests.length > 0 ? failures / requests.length : 0,
        judge_ties: ties,
      };
      if (o.bothOrders) {
        const agreements = [...orderPairs.values()].filter((v) => v.length === 2).map((v) => (Math.round(v[0] as number) === Math.round(v[1] as number) ? 1 : 0));
        metrics.position_consistency = agreements.length > 0 ? agreements.reduce((a: number, b) => a + b, 0) / agreements.length : Number.NaN;
      }
      const components =
        o.reward === 'overall'
          ? [{ name: 'overall', values: overallValues, weight: 1 }]
          : [
              { name: 'overall', values: overallValues, weight: o.overallWeight },
              { name: 'categories', values: categoryValues, weight: 1 - o.overallWeight },
            ];
      return { rewards, components, details, metrics };
    },
  };
}

/** Win rates over only the pairs that were judged for a category: wins / judged pairs (NaN if none). */
function partialWinRates(groupSize: number, pairs: readonly PairOutcome[]): number[] {
  const wins = new Array<number>(groupSize).fill(0);
  const counts = new Array<number>(groupSize).fill(0);
  for (const { i, j, outcome } of pairs) {
    wins[i]! += outcome;
    wins[j]! += 1 - outcome;
    counts[i]! += 1;
    counts[j]! += 1;
  }
  return wins.map((w, k) => ((counts[k] as number) > 0 ? w / (counts[k] as number) : Number.NaN));
}
