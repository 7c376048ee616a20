import { z } from 'zod';
import { modalityOf, type Media, type PointwiseJudge, type PointwiseRequest, type PointwiseResult } from '@flex/criteria';
import { parseOptions } from '../errors';
import type { RewardFunction, RewardOutput, RewardRequest } from '../reward';

/** Options of {@link pointwiseJudgeReward}. */
export const pointwiseJudgeRewardOptionsSchema = z.object({
  /** A pointwise judge (scores one candidate 0–10). */
  judge: z.custom<PointwiseJudge>((v) => typeof v === 'object' && v !== null && typeof (v as PointwiseJudge).score === 'function', {
    message: 'expected a PointwiseJudge (an object with a score(requests) method)',
  }),
  /** Name in metric keys. Default `pointwise:<judge name>`. */
  name: z.string().min(1).optional(),
  /** The score is divided by this, so the reward is in [0, 1] for the 0–10 scale. Default 10. */
  scale: z.number().positive().default(10),
  /** Requests per `judge.score` call. Default 64. */
  batchSize: z.number().int().positive().default(64),
  toMedia: z.custom<(sample: unknown) => Media>((v) => typeof v === 'function').optional(),
  toPrompt: z.custom<(prompt: unknown) => string>((v) => typeof v === 'function').optional(),
});

/** Input of {@link pointwiseJudgeReward}. */
export type PointwiseJudgeRewardOptions<TPrompt = string, TSample = Media> = Omit<
  z.input<typeof pointwiseJudgeRewardOptionsSchema>,
  'toMedia' | 'toPrompt'
> & {
  toMedia?: (sample: TSample) => Media;
  toPrompt?: (prompt: TPrompt) => string;
};

/**
 * Adapts a pointwise judge into a `RewardFunction`: reward = score / `scale`; a failed judgement gives null
 * (counted, never trained on). Metrics: `judge_calls`, `judge_failures`.
 */
export function pointwiseJudgeReward<TPrompt = string, TSample = Media>(
  options: PointwiseJudgeRewardOptions<TPrompt, TSample>,
): RewardFunction<TPrompt, TSample> {
  const o = parseOptions(pointwiseJudgeRewardOptionsSchema, options, 'pointwiseJudgeReward');
  const toMedia = (o.toMedia ?? ((s: unknown) => s as Media)) as (sample: TSample) => Media;
  const toPrompt = (o.toPrompt ?? ((p: unknown) => String(p))) as (prompt: TPrompt) => string;
  return {
    name: o.name ?? `pointwise:${o.judge.name}`,
    async score(request: RewardRequest<TPrompt, TSample>): Promise<RewardOutput> {
      const requests: PointwiseRequest[] = request.samples.map((sample, i) => {
        const media = toMedia(sample);
        return { id: String(i), prompt: toPrompt(request.prompts[i] as TPrompt), modality: modalityOf(media), media };
      });
      const results: (PointwiseResult | undefined)[] = [];
      for (let start = 0; start < requests.length; start += o.batchSize) {
        const chunk = requests.slice(start, start + o.batchSize);
        try {
          const answered = await o.judge.score(chunk, request.signal ? { signal: request.signal } : {});
          for (let k = 0; k < chunk.length; k++) results.push(answered[k]);
        } catch {
          for (let k = 0; k < chunk.length; k++) results.push(undefined);
        }
      }
      let failures = 0;
      const rewards = results.map((r) => {
        if (r === undefined || !r.ok || !Number.isFinite(r.score)) {
          failures++;
          return null;
        }
        return r.score / o.scale;
      });
      return { rewards, metrics: { judge_calls: requests.length, judge_failures: failures } };
    },
  };
}

/** Options of {@link functionReward}. */
export interface FunctionRewardOptions<TPrompt, TSample> {
  /** Name in metric keys. */
  readonly name: string;
  /** Scores one sample; null (or a throw) marks it unscorable. */
  readonly score: (input: { prompt: TPrompt; sample: TSample; index: number }) => number | null | Promise<number | null>;
}

const functionRewardOptionsSchema = z.object({
  name: z.string().min(1),
  score: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', { message: 'expected a function' }),
});

/** A `RewardFunction` from a per-sample scoring function (e.g. a rule, an oracle, a classifier). */
export function functionReward<TPrompt = string, TSample = unknown>(options: FunctionRewardOptions<TPrompt, TSample>): RewardFunction<TPrompt, TSample> {
  parseOptions(functionRewardOptionsSchema, options, 'functionReward');
  return {
    name: options.name,
    async score(request) {
      const rewards: (number | null)[] = [];
      for (let index = 0; index < request.samples.length; index++) {
        try {
          rewards.push(await options.score({ prompt: request.prompts[index] as TPrompt, sample: request.samples[index] as TSample, index }));
        } catch {
          rewards.push(null);
        }
      }
      return rewards;
    },
  };
}
