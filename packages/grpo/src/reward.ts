import { z } from 'zod';
import { GrpoError } from './errors';

/**
 * The `RewardFunction` contract: a batch of prompts and samples in, one number or null per sample out.
 * The trainer (and {@link scoreRewards}) checks the length and turns nulls and non-finite values into
 * metrics and masked samples, never into training signal.
 */

/** What a reward function is given. */
export interface RewardRequest<TPrompt, TSample> {
  /** The prompt of each sample (repeated within a group). */
  readonly prompts: readonly TPrompt[];
  /** The samples, in order. */
  readonly samples: readonly TSample[];
  /** The group of each sample: samples with the same id answer the same prompt (pairwise rewards need this). */
  readonly groupIds: readonly number[];
  readonly signal?: AbortSignal;
}

/** One named reward component, kept apart so advantages can normalise it separately. */
export interface RewardComponent {
  readonly name: string;
  readonly values: readonly (number | null)[];
  /** Its weight in the blend. */
  readonly weight: number;
}

/** The full form of a reward function's answer. */
export interface RewardOutput {
  /** One reward per sample; null when the sample could not be scored. */
  readonly rewards: readonly (number | null)[];
  /**
   * Optional parts that make up the reward (e.g. the Flex reward's overall and category win rates), for
   * {@link multiRewardAdvantages}: normalised separately, then blended with their weights.
   */
  readonly components?: readonly RewardComponent[];
  /** Extra per-sample values worth logging (e.g. `win_rate/A`), averaged by the trainer. */
  readonly details?: Readonly<Record<string, readonly (number | null)[]>>;
  /** Batch-level figures (judge calls, failures, ties), logged as they are. */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** A reward function may answer with the bare array or the full form. */
export type RewardFunctionResult = readonly (number | null)[] | RewardOutput;

/** A reward function over prompts of type `TPrompt` and samples of type `TSample`. */
export interface RewardFunction<TPrompt = string, TSample = unknown> {
  /** Name used in metric keys (`rewards/<name>/mean`). */
  readonly name: string;
  score(request: RewardRequest<TPrompt, TSample>): Promise<RewardFunctionResult>;
}

/** A reward output after checking: every value a finite number or null. */
export interface CheckedRewards {
  readonly rewards: (number | null)[];
  readonly components: RewardComponent[];
  readonly details: Record<string, (number | null)[]>;
  /** Metrics: `rewards/<name>/null_count`, `…/non_finite_count`, `…/mean`, `…/std`, plus the function's own. */
  readonly metrics: Record<string, number>;
  /** Samples whose reward was null. */
  readonly nullCount: number;
  /** Samples whose reward was NaN or ±Infinity (now null). */
  readonly nonFiniteCount: number;
}

function isOutput(result: RewardFunctionResult): result is RewardOutput {
  return !Array.isArray(result) && typeof result === 'object' && result !== null && 'rewards' in result;
}

function sanitize(values: readonly unknown[]): { values: (number | null)[]; nulls: number; nonFinite: number } {
  let nulls = 0;
  let nonFinite = 0;
  const out = values.map((v) => {
    if (v === null || v === undefined) {
      nulls++;
      return null;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      nonFinite++;
      return null;
    }
    return v;
  });
  return { values: out, nulls, nonFinite };
}

/** Options of {@link checkRewards}. */
export const checkRewardsOptionsSchema = z.object({
  /** What the reward function returned. */
  result: z.custom<RewardFunctionResult>((v) => Array.isArray(v) || (typeof v === 'object' && v !== null && 'rewards' in v), {
    message: 'expected an array of rewards or { rewards }',
  }),
  /** The number of samples that were scored. */
  expected: z.number().int().nonnegative(),
  /** The reward's name, for metric keys and errors. */
  name: z.string().min(1),
});

/**
 * Checks a reward function's answer: the length must match (else `GrpoError('reward_length_mismatch')`);
 * null, undefined, NaN and ±Infinity become null and are counted in the metrics.
 */
export function checkRewards(options: z.input<typeof checkRewardsOptionsSchema>): CheckedRewards {
  const parsed = checkRewardsOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new GrpoError('reward_error', `reward "${String((options as { name?: unknown }).name)}" returned neither an array nor { rewards }`);
  }
  const { result, expected, name } = parsed.data;
  const output: RewardOutput = isOutput(result) ? result : { rewards: result as readonly (number | null)[] };
  if (!Array.isArray(output.rewards) || output.rewards.length !== expected) {
    throw new GrpoError(
      'reward_length_mismatch',
      `reward "${name}" returned ${Array.isArray(output.rewards) ? output.rewards.length : 'no'} values for ${expected} samples`,
    );
  }
  const main = sanitize(output.rewards);
  const components = (output.components ?? []).map((c) => {
    if (c.values.length !== expected) {
      throw new GrpoError('reward_length_mismatch', `reward "${name}" component "${c.name}" has ${c.values.length} values for ${expected} samples`);
    }
    return { name: c.name, weight: c.weight, values: sanitize(c.values).values };
  });
  const details: Record<string, (number | null)[]> = {};
  for (const [key, values] of Object.entries(output.details ?? {})) {
    if (values.length === expected) details[key] = sanitize(values).values;
  }
  const valid = main.values.filter((v): v is number => v !== null);
  const m = valid.length > 0 ? valid.reduce((a, b) => a + b, 0) / valid.length : Number.NaN;
  const s = valid.length > 1 ? Math.sqrt(valid.reduce((a, b) => a + (b - m) ** 2, 0) / (valid.length - 1)) : 0;
  const metrics: Record<string, number> = {
    [`rewards/${name}/mean`]: m,
    [`rewards/${name}/std`]: s,
    [`rewards/${name}/null_count`]: main.nulls,
    [`rewards/${name}/non_finite_count`]: main.nonFinite,
  };
  for (const [key, value] of Object.entries(output.metrics ?? {})) {
    if (typeof value === 'number') metrics[`rewards/${name}/${key}`] = value;
  }
  return { rewards: main.values, components, details, metrics, nullCount: main.nulls, nonFiniteCount: main.nonFinite };
}

/**
 * Calls a reward function and checks its answer. A thrown error becomes `GrpoError('reward_error')` with the
 * cause attached; a wrong length `GrpoError('reward_length_mismatch')`.
 */
export async function scoreRewards<TPrompt, TSample>(
  reward: RewardFunction<TPrompt, TSample>,
  request: RewardRequest<TPrompt, TSample>,
): Promise<CheckedRewards> {
  if (request.prompts.length !== request.samples.length || request.groupIds.length !== request.samples.length) {
    throw new GrpoError('invalid_options', 'scoreRewards: prompts, samples and groupIds must have the same length');
  }
  let result: RewardFunctionResult;
  try {
    result = await reward.score(request);
  } catch (error) {
    if (GrpoError.isInstance(error)) throw error;
    throw new GrpoError('reward_error', `reward "${reward.name}" threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  return checkRewards({ result, expected: request.samples.length, name: reward.name });
}
