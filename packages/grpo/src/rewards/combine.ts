import { z } from 'zod';
import { parseOptions } from '../errors';
import { scoreRewards, type RewardComponent, type RewardFunction, type RewardOutput } from '../reward';

/** Options of {@link combineRewards}. */
export const combineRewardsOptionsSchema = z.object({
  /** The rewards and their weights. Names must be distinct. */
  rewards: z
    .array(
      z.object({
        reward: z.custom<RewardFunction<unknown, unknown>>((v) => typeof v === 'object' && v !== null && typeof (v as RewardFunction).score === 'function', {
          message: 'expected a RewardFunction',
        }),
        weight: z.number().refine(Number.isFinite, { message: 'expected a finite weight' }).default(1),
      }),
    )
    .min(1)
    .refine((list) => new Set(list.map((r) => r.reward.name)).size === list.length, { message: 'reward names must be distinct' }),
  /** Name in metric keys. Default: the names joined with `+`. */
  name: z.string().min(1).optional(),
  /**
   * What a missing (null) part does: `null` makes the combined reward null; `zero` counts it as 0 (TRL's
   * nansum), null only when every part is missing. Default `null`.
   */
  missing: z.enum(['null', 'zero']).default('null'),
});

/** Input of {@link combineRewards}. */
export interface CombineRewardsOptions<TPrompt, TSample> {
  readonly rewards: readonly { reward: RewardFunction<TPrompt, TSample>; weight?: number }[];
  readonly name?: string;
  readonly missing?: 'null' | 'zero';
}

/**
 * A weighted sum of reward functions. Each part is checked (length, non-finite values); the output keeps one
 * component per part (so advantages can normalise them separately) and prefixes each part's metrics and
 * details with its name.
 */
export function combineRewards<TPrompt, TSample>(options: CombineRewardsOptions<TPrompt, TSample>): RewardFunction<TPrompt, TSample> {
  const o = parseOptions(combineRewardsOptionsSchema, options, 'combineRewards');
  const parts = o.rewards as unknown as { reward: RewardFunction<TPrompt, TSample>; weight: number }[];
  return {
    name: o.name ?? parts.map((p) => p.reward.name).join('+'),
    async score(request): Promise<RewardOutput> {
      const checked = await Promise.all(parts.map((p) => scoreRewards(p.reward, request)));
      const n = request.samples.length;
      const rewards: (number | null)[] = [];
      for (let i = 0; i < n; i++) {
        let sum = 0;
        let present = 0;
        parts.forEach((p, k) => {
          const v = checked[k]?.rewards[i];
          if (v !== null && v !== undefined) {
            sum += p.weight * v;
            present++;
          }
        });
        rewards.push(present === 0 || (o.missing === 'null' && present < parts.length) ? null : sum);
      }
      const components: RewardComponent[] = parts.map((p, k) => ({ name: p.reward.name, values: checked[k]?.rewards ?? [], weight: p.weight }));
      const metrics: Record<string, number> = {};
      const details: Record<string, (number | null)[]> = {};
      checked.forEach((c) => {
        // checkRewards already prefixed these with rewards/<part name>/.
        for (const [key, value] of Object.entries(c.metrics)) metrics[key.replace(/^rewards\//, '')] = value;
      });
      parts.forEach((p, k) => {
        for (const [key, values] of Object.entries(checked[k]?.details ?? {})) details[`${p.reward.name}/${key}`] = values;
      });
      return { rewards, components, metrics, details };
    },
  };
}
