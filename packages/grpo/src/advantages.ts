import { z } from 'zod';
import { parseOptions } from './errors';
import { mean, standardDeviation } from './numeric';

/**
 * Group-relative advantages (GRPO, REFERENCE.md §3).
 *
 * Rewards come one per sample; samples are grouped per prompt (consecutive runs of `groupSize`, TRL's layout,
 * or explicit `groupIds`). A `null` reward (the reward function failed on that sample) is left out of every
 * statistic and gets advantage 0 with `valid[i] === false`: the trainer masks it out of the loss.
 */

/**
 * How the centred rewards are scaled (TRL's `scale_rewards`):
 * - `group`: divide by the group's std (+ ε) — the classic z-score;
 * - `batch`: divide by the std of the whole batch (+ ε), keeping the group mean;
 * - `none`: no scaling (Dr.GRPO), only the group mean is subtracted.
 */
export const advantageScalingSchema = z.enum(['group', 'batch', 'none']);
/** See {@link advantageScalingSchema}. */
export type AdvantageScaling = z.output<typeof advantageScalingSchema>;

const rewardValueSchema = z.number().refine(Number.isFinite, { message: 'expected a finite number or null' }).nullable();

const groupingShape = {
  /** Size of each group; rewards are laid out as consecutive groups. Mutually exclusive with `groupIds`. */
  groupSize: z.number().int().positive().optional(),
  /** Group id of each sample (same length as the rewards). Mutually exclusive with `groupSize`. Default: one group. */
  groupIds: z.array(z.number().int()).optional(),
};

const statisticsShape = {
  /** Scaling of the centred rewards. Default `group`. */
  scale: advantageScalingSchema.default('group'),
  /** Added to the std before dividing. Default 1e-4 (TRL, Flow-GRPO). */
  epsilon: z.number().nonnegative().default(1e-4),
  /** Unbiased (n − 1) std, as `torch.std`. Default true. */
  unbiased: z.boolean().default(true),
  /** Clip the advantages to ±clip when set. Default: no clipping. */
  clip: z.number().positive().optional(),
};

/** Options of {@link groupAdvantages}. */
export const groupAdvantagesOptionsSchema = z
  .object({
    /** One reward per sample; `null` marks a sample that must not be trained on. */
    rewards: z.array(rewardValueSchema).min(1),
    ...groupingShape,
    ...statisticsShape,
  })
  .superRefine(checkGrouping);

/** Input of {@link groupAdvantages}. */
export type GroupAdvantagesOptions = z.input<typeof groupAdvantagesOptionsSchema>;

/** What {@link groupAdvantages} returns. */
export interface GroupAdvantages {
  /** One advantage per sample (0 for invalid samples). */
  readonly advantages: number[];
  /** False where the reward was null. */
  readonly valid: boolean[];
  /** Group index (0-based, order of first appearance) of each sample. */
  readonly groupIndex: number[];
  /** Mean reward of each group over its valid samples (NaN when a group has none). */
  readonly groupMeans: number[];
  /** Std of each group's valid rewards (same `unbiased` choice; 0 with fewer than two). */
  readonly groupStds: number[];
  /** Fraction of groups whose rewards have zero std (no learning signal): TRL's `frac_reward_zero_std`. */
  readonly fractionZeroStd: number;
}

function checkGrouping(
  value: { rewards?: readonly unknown[]; groupSize?: number | undefined; groupIds?: readonly number[] | undefined },
  context: z.RefinementCtx,
  length = value.rewards?.length ?? 0,
): void {
  if (value.groupSize !== undefined && value.groupIds !== undefined) {
    context.addIssue({ code: 'custom', message: 'give groupSize or groupIds, not both', path: ['groupIds'] });
  }
  if (value.groupSize !== undefined && length % value.groupSize !== 0) {
    context.addIssue({ code: 'custom', message: `${length} samples do not split into groups of ${value.groupSize}`, path: ['groupSize'] });
  }
  if (value.groupIds !== undefined && value.groupIds.length !== length) {
    context.addIssue({ code: 'custom', message: `groupIds has ${value.groupIds.length} entries for ${length} samples`, path: ['groupIds'] });
  }
}

/** Group index per sample, numbered by first appearance. */
function resolveGroups(length: number, groupSize: number | undefined, groupIds: readonly number[] | undefined): { index: number[]; count: number } {
  if (groupSize !== undefined) {
    return { index: Array.from({ length }, (_, i) => Math.floor(i / groupSize)), count: length / groupSize };
  }
  if (groupIds === undefined) return { index: new Array<number>(length).fill(0), count: 1 };
  const seen = new Map<number, number>();
  const index = groupIds.map((id) => {
    let g = seen.get(id);
    if (g === undefined) {
      g = seen.size;
      seen.set(id, g);
    }
    return g;
  });
  return { index, count: seen.size };
}

interface Statistics {
  scale: AdvantageScaling;
  epsilon: number;
  unbiased: boolean;
  clip?: number | undefined;
}

function computeGroupAdvantages(
  rewards: readonly (number | null)[],
  groups: { index: number[]; count: number },
  statistics: Statistics,
): GroupAdvantages {
  const n = rewards.length;
  const valid = rewards.map((r) => r !== null);
  const members: number[][] = Array.from({ length: groups.count }, () => []);
  for (let i = 0; i < n; i++) {
    const r = rewards[i];
    if (r !== null && r !== undefined) (members[groups.index[i] as number] as number[]).push(r);
  }
  // A constant group gets its value as the mean exactly, so its advantages are exactly 0 (float sums drift).
  const groupMeans = members.map((m) => (m.length === 0 ? Number.NaN : m.every((v) => v === m[0]) ? (m[0] as number) : mean(m)));
  const groupStds = members.map((m) => standardDeviation(m, statistics.unbiased));
  const batchValid = rewards.filter((r): r is number => r !== null);
  const batchStd = standardDeviation(batchValid, statistics.unbiased);
  const advantages = rewards.map((r, i) => {
    if (r === null) return 0;
    const g = groups.index[i] as number;
    const centred = r - (groupMeans[g] as number);
    let a: number;
    if (statistics.scale === 'group') a = centred / ((groupStds[g] as number) + statistics.epsilon);
    else if (statistics.scale === 'batch') a = centred / (batchStd + statistics.epsilon);
    else a = centred;
    if (statistics.clip !== undefined) a = Math.max(-statistics.clip, Math.min(statistics.clip, a));
    // A zero-std group with epsilon 0 would give 0/0.
    return Number.isNaN(a) ? 0 : a;
  });
  const nonEmpty = members.filter((m) => m.length > 0);
  const zero = nonEmpty.filter((m) => m.every((v) => v === m[0])).length;
  return {
    advantages,
    valid,
    groupIndex: groups.index,
    groupMeans,
    groupStds,
    fractionZeroStd: nonEmpty.length > 0 ? zero / nonEmpty.length : 0,
  };
}

/**
 * Group-relative advantages: `(r − mean_group) / (std + ε)` (scaling per `scale`), optionally clipped.
 * REFERENCE.md check: rewards [0, 1, 0.5, 1], unbiased std + 1e-4 → [−1.305310, 0.783186, −0.261062, 0.783186].
 */
export function groupAdvantages(options: GroupAdvantagesOptions): GroupAdvantages {
  const o = parseOptions(groupAdvantagesOptionsSchema, options, 'groupAdvantages');
  return computeGroupAdvantages(o.rewards, resolveGroups(o.rewards.length, o.groupSize, o.groupIds), o);
}

/** One reward component of {@link multiRewardAdvantages}. */
export const rewardComponentSchema = z.object({
  /** A name for metrics. */
  name: z.string().min(1).optional(),
  /** One value per sample; null for a sample the component could not score. */
  values: z.array(rewardValueSchema).min(1),
  /** Weight in the blend. Default 1. */
  weight: z.number().refine(Number.isFinite).default(1),
});

/** Options of {@link multiRewardAdvantages}. */
export const multiRewardAdvantagesOptionsSchema = z
  .object({
    /** The reward components, each normalised separately within its groups before blending. */
    components: z.array(rewardComponentSchema).min(1),
    ...groupingShape,
    ...statisticsShape,
    /** Re-normalise the blended advantages over the whole batch (z-score). Default true. */
    batchNormalize: z.boolean().default(true),
    /** Clip after the batch re-normalisation. Default 5 (REFERENCE.md §3–4). */
    clip: z.number().positive().default(5),
  })
  .superRefine((value, context) => {
    const length = value.components[0]?.values.length ?? 0;
    value.components.forEach((c, k) => {
      if (c.values.length !== length) {
        context.addIssue({ code: 'custom', message: `component ${k} has ${c.values.length} values, expected ${length}`, path: ['components', k, 'values'] });
      }
    });
    checkGrouping(value, context, length);
  });

/** Input of {@link multiRewardAdvantages}. */
export type MultiRewardAdvantagesOptions = z.input<typeof multiRewardAdvantagesOptionsSchema>;

/** What {@link multiRewardAdvantages} returns. */
export interface MultiRewardAdvantages {
  /** Final advantages (0 where invalid). */
  readonly advantages: number[];
  /** False where any component was null. */
  readonly valid: boolean[];
  /** The group-normalised advantages of each component, before blending. */
  readonly componentAdvantages: number[][];
  /** Fraction of groups whose blended raw reward has zero std in every component. */
  readonly fractionZeroStd: number;
}

/**
 * Several rewards normalised separately within each group, blended with their weights, then re-normalised
 * over the batch and clipped (default ±5): the Flex reward's advantage, where the overall win rate and the
 * category win rates are z-scored separately before the 0.3 / 0.7 blend (REFERENCE.md §3).
 */
export function multiRewardAdvantages(options: MultiRewardAdvantagesOptions): MultiRewardAdvantages {
  const o = parseOptions(multiRewardAdvantagesOptionsSchema, options, 'multiRewardAdvantages');
  const length = (o.components[0] as { values: unknown[] }).values.length;
  const groups = resolveGroups(length, o.groupSize, o.groupIds);
  const valid = Array.from({ length }, (_, i) => o.components.every((c) => c.values[i] !== null));
  const perComponent = o.components.map((c) =>
    computeGroupAdvantages(
      c.values.map((v, i) => (valid[i] ? v : null)),
      groups,
      { scale: o.scale, epsilon: o.epsilon, unbiased: o.unbiased },
    ),
  );
  const blended = Array.from({ length }, (_, i) =>
    valid[i] ? o.components.reduce((sum, c, k) => sum + c.weight * ((perComponent[k] as GroupAdvantages).advantages[i] as number), 0) : 0,
  );
  let advantages = blended;
  if (o.batchNormalize) {
    const validValues = blended.filter((_, i) => valid[i]);
    const m = validValues.length > 0 ? mean(validValues) : 0;
    const s = standardDeviation(validValues, o.unbiased);
    advantages = blended.map((a, i) => (valid[i] ? (a - m) / (s + o.epsilon) : 0));
  }
  advantages = advantages.map((a) => (Number.isNaN(a) ? 0 : Math.max(-o.clip, Math.min(o.clip, a))));
  // A group carries no signal when every component is constant within it.
  let zero = 0;
  let nonEmpty = 0;
  for (let g = 0; g < groups.count; g++) {
    const idx = groups.index.map((gi, i) => (gi === g && valid[i] ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) continue;
    nonEmpty++;
    if (o.components.every((c) => idx.every((i) => c.values[i] === c.values[idx[0] as number]))) zero++;
  }
  return {
    advantages,
    valid,
    componentAdvantages: perComponent.map((p) => p.advantages),
    fractionZeroStd: nonEmpty > 0 ? zero / nonEmpty : 0,
  };
}
