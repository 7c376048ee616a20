import { z } from 'zod';
import {
  defaultCategoryWeights,
  groupRewards,
  pairOutcomeFromResult,
  type Judge,
  type JudgeRequest,
  type JudgeResult,
  type Media,
  type Modality,
  modalityOf,
  type PairOutcome,
} from '@flex/criteria';
import { parseOptions } from '../errors';
import type { RewardFunction, RewardOutput, RewardRequest } from '../reward';

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
  /** Weight of the overall win rate in the Flex blend. Default 0.3. */
  overallWeight: z.number().nonnegative().default(0.3),
  /** Weight of the weighted mean of category win rates in the Flex blend. Default 0.7. */
  categoryWeight: z.number().nonnegative().default(0.7),
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
      // Outcomes via @flex/criteria (failures null → 0.5); a written tie (probabilityA exactly 0.5) is 0.5 overall.
      const perGroup = new Map<number[], PairOutcome[]>();
      let failures = 0;
      let ties = 0;
      const orderPairs = new Map<string, number[]>();
      jobs.forEach((job, k) => {
        const result = results[k] as JudgeResult;
        let outcome = pairOutcomeFromResult(result, { i: job.i, j: job.j, soft: o.outcome === 'probability' });
        if (!result.ok) failures++;
        else if (result.probabilityA === 0.5) {
          ties++;
          outcome = { ...outcome, overall: 0.5 };
        }
        const list = perGroup.get(job.group) ?? [];
        list.push(outcome);
        perGroup.set(job.group, list);
        if (o.bothOrders && result.ok && outcome.overall !== null) {
          const key = `${job.group[Math.min(job.i, job.j)]}:${job.group[Math.max(job.i, job.j)]}`;
          const forLow = job.i < job.j ? outcome.overall : 1 - outcome.overall;
          orderPairs.set(key, [...(orderPairs.get(key) ?? []), forLow]);
        }
      });
      const rewards: (number | null)[] = new Array(n).fill(null);
      const overallValues: (number | null)[] = new Array(n).fill(null);
      const categoryValues: (number | null)[] = new Array(n).fill(null);
      const details: Record<string, (number | null)[]> = { 'win_rate/overall': overallValues };
      for (const [members, outcomes] of perGroup) {
        const modality = modalityOf(media[members[0] as number] as Media);
        const weights: Record<string, number> = o.categoryWeights ?? defaultCategoryWeights(modality);
        // Every id seen is reported; only weighted ones enter the reward.
        const seen = new Set<string>(Object.keys(weights));
        for (const outcome of outcomes) for (const id of Object.keys(outcome.categories ?? {})) seen.add(id);
        const ids = [...seen].sort();
        const group = groupRewards({
          size: members.length,
          outcomes,
          modality,
          overallWeight: o.overallWeight,
          categoryWeight: o.categoryWeight,
          categories: ids,
          categoryWeights: Object.fromEntries(ids.map((id) => [id, weights[id] ?? 0])),
        });
        members.forEach((index, m) => {
          for (const id of ids) {
            const column = (details[`win_rate/${id}`] ??= new Array(n).fill(null));
            column[index] = (group.categories[id] as readonly number[])[m] as number;
          }
          const overall = group.overall[m] as number;
          overallValues[index] = overall;
          categoryValues[index] = group.categoryMean[m] as number;
          rewards[index] = o.reward === 'overall' ? overall : (group.reward[m] as number);
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
              { name: 'categories', values: categoryValues, weight: o.categoryWeight },
            ];
      return { rewards, components, details, metrics };
    },
  };
}
