import { describe, expect, it } from 'vitest';
import type { Media } from '@flex/criteria';
import {
  checkRewards,
  combineRewards,
  functionReward,
  GrpoError,
  multiRewardAdvantages,
  pairwiseJudgeReward,
  pointwiseJudgeReward,
  scoreRewards,
  type RewardOutput,
} from '../index';
import { biasedJudge, image, scriptedJudge, scriptedPointwiseJudge, throwingJudge } from './fake-judges.test-helpers';

const request = (samples: Media[], groupSize = samples.length) => ({
  prompts: samples.map((_, i) => `prompt ${Math.floor(i / groupSize)}`),
  samples,
  groupIds: samples.map((_, i) => Math.floor(i / groupSize)),
});

// The published blend, written out: 0.3 · overall + 0.7 · (1·A + 0.7·B + 0.7·C) / 2.4.
const flexReward = (o: { overall: number; categories: { A: number; B: number; C: number } }) =>
  0.3 * o.overall + (0.7 * (o.categories.A + 0.7 * o.categories.B + 0.7 * o.categories.C)) / 2.4;

describe('pairwiseJudgeReward', () => {
  it('judges every unordered pair once and turns wins into win rates', async () => {
    const judge = scriptedJudge();
    const reward = pairwiseJudgeReward({ judge, reward: 'overall' });
    const out = (await reward.score(request([image(0.1), image(0.9), image(0.5), image(0.3)]))) as RewardOutput;
    expect(judge.calls).toHaveLength(6);
    expect(out.rewards).toEqual([0, 1, 2 / 3, 1 / 3]);
    expect(out.metrics?.judge_calls).toBe(6);
    expect(reward.name).toBe('pairwise:scripted');
  });
  it('gives ties and failures 0.5 and counts them', async () => {
    const judge = scriptedJudge({ fail: (r) => (r.a as { data: Float32Array }).data[0] === Math.fround(0.2) });
    const out = (await pairwiseJudgeReward({ judge, reward: 'overall' }).score(request([image(0.2), image(0.5), image(0.5)]))) as RewardOutput;
    // 0.2 fails both its pairs (ties), 0.5 vs 0.5 is a tie: everybody at 0.5.
    expect(out.rewards).toEqual([0.5, 0.5, 0.5]);
    expect(out.metrics).toMatchObject({ judge_failures: 2, judge_ties: 1, judge_calls: 3 });
    const thrown = (await pairwiseJudgeReward({ judge: throwingJudge() }).score(request([image(0.2), image(0.5)]))) as RewardOutput;
    expect(thrown.rewards).toEqual([0.5, 0.5]);
    expect(thrown.metrics?.judge_failure_rate).toBe(1);
  });
  it('computes per-category win rates and the blended Flex reward with the published weights', async () => {
    // Overall and category A follow channel 0; B follows channel 1; C channel 2.
    const samples = [image(0.9, 0.1, 0.1), image(0.1, 0.9, 0.9), image(0.5, 0.5, 0.5)];
    const out = (await pairwiseJudgeReward({ judge: scriptedJudge() }).score(request(samples))) as RewardOutput;
    expect(out.details?.['win_rate/A']).toEqual([1, 0, 0.5]);
    expect(out.details?.['win_rate/B']).toEqual([0, 1, 0.5]);
    const expected = [
      flexReward({ overall: 1, categories: { A: 1, B: 0, C: 0 } }),
      flexReward({ overall: 0, categories: { A: 0, B: 1, C: 1 } }),
      flexReward({ overall: 0.5, categories: { A: 0.5, B: 0.5, C: 0.5 } }),
    ];
    out.rewards.forEach((r, i) => expect(r).toBeCloseTo(expected[i]!, 12));
    expect(out.components?.map((c) => [c.name, c.weight])).toEqual([
      ['overall', 0.3],
      ['categories', 0.7],
    ]);
    // The components feed the separately-normalised advantages.
    const advantages = multiRewardAdvantages({ components: out.components!.map((c) => ({ values: [...c.values], weight: c.weight })) });
    // The category part (weight 0.7) favours sample 1, the overall part sample 0.
    expect(advantages.advantages[1]).toBeGreaterThan(advantages.advantages[2]!);
    expect(advantages.advantages[2]).toBeGreaterThan(advantages.advantages[0]!);
  });
  it('uses custom weights and keys self-generated categories from D', async () => {
    const out = (await pairwiseJudgeReward({ judge: scriptedJudge({ extra: true }), categoryWeights: { B: 1 }, overallWeight: 0, categoryWeight: 1 }).score(
      request([image(0.9, 0.1, 0.1), image(0.1, 0.9, 0.9)]),
    )) as RewardOutput;
    expect(out.rewards).toEqual([0, 1]);
    expect(out.details?.['win_rate/D']).toEqual([1, 0]);
  });
  it('both orders cancel a judge’s position bias and report its consistency', async () => {
    const samples = [image(0.1), image(0.9), image(0.5), image(0.3)];
    const once = (await pairwiseJudgeReward({ judge: biasedJudge(), reward: 'overall' }).score(request(samples))) as RewardOutput;
    expect(once.rewards).toEqual([1, 2 / 3, 1 / 3, 0]);
    const both = (await pairwiseJudgeReward({ judge: biasedJudge(), reward: 'overall', bothOrders: true }).score(request(samples))) as RewardOutput;
    expect(both.rewards).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(both.metrics).toMatchObject({ judge_calls: 12, position_consistency: 0 });
    const fair = (await pairwiseJudgeReward({ judge: scriptedJudge(), reward: 'overall', bothOrders: true }).score(request(samples))) as RewardOutput;
    expect(fair.rewards).toEqual([0, 1, 2 / 3, 1 / 3]);
    expect(fair.metrics?.position_consistency).toBe(1);
  });
  it('keeps groups apart, batches calls, and gives singleton groups null', async () => {
    const judge = scriptedJudge();
    const samples = [image(0.1), image(0.9), image(0.5), image(0.3), image(0.7)];
    const out = (await pairwiseJudgeReward({ judge, reward: 'overall', batchSize: 1 }).score({
      prompts: ['p', 'p', 'q', 'q', 'r'],
      samples,
      groupIds: [0, 0, 1, 1, 2],
    })) as RewardOutput;
    expect(out.rewards).toEqual([0, 1, 1, 0, null]);
    expect(judge.calls.map((c) => c.prompt)).toEqual(['p', 'q']);
  });
  it('rejects options that are not a judge', () => {
    expect(() => pairwiseJudgeReward({ judge: {} as never })).toThrow(/Judge/);
  });
});

describe('pointwise, function and combined rewards', () => {
  it('adapts a pointwise judge and turns failures into null', async () => {
    const out = (await pointwiseJudgeReward({ judge: scriptedPointwiseJudge() }).score(request([image(0.8), image(0.01)]))) as RewardOutput;
    expect(out.rewards[0]).toBeCloseTo(0.8, 6);
    expect(out.rewards[1]).toBeNull();
    expect(out.metrics?.judge_failures).toBe(1);
  });
  it('combines weighted rewards with one component each', async () => {
    const length = functionReward<string, Media>({ name: 'brightness', score: ({ sample }) => ((sample as { data: Float32Array }).data[0] ?? 0) * 2 });
    const combined = combineRewards({ rewards: [{ reward: pairwiseJudgeReward({ judge: scriptedJudge(), reward: 'overall' }), weight: 1 }, { reward: length, weight: 0.5 }] });
    const out = (await combined.score(request([image(0.1), image(0.9)]))) as RewardOutput;
    expect(out.rewards[0]).toBeCloseTo(0 + 0.5 * 0.2, 6);
    expect(out.rewards[1]).toBeCloseTo(1 + 0.5 * 1.8, 6);
    expect(out.components?.map((c) => c.name)).toEqual(['pairwise:scripted', 'brightness']);
    expect(out.metrics?.['pairwise:scripted/judge_calls']).toBe(1);
    expect(combined.name).toBe('pairwise:scripted+brightness');
  });
  it('makes the combination null when a part is missing, or counts it as zero', async () => {
    const sometimes = functionReward<string, Media>({ name: 's', score: ({ index }) => (index === 0 ? null : 1) });
    const always = functionReward<string, Media>({ name: 'a', score: () => 2 });
    const strict = (await combineRewards({ rewards: [{ reward: sometimes }, { reward: always }] }).score(request([image(0), image(0)]))) as RewardOutput;
    expect(strict.rewards).toEqual([null, 3]);
    const lenient = (await combineRewards({ rewards: [{ reward: sometimes }, { reward: always }], missing: 'zero' }).score(request([image(0), image(0)]))) as RewardOutput;
    expect(lenient.rewards).toEqual([2, 3]);
    expect(() => combineRewards({ rewards: [{ reward: always }, { reward: always }] })).toThrow(/distinct/);
  });
});

describe('checking reward outputs', () => {
  it('turns nulls and non-finite values into null and counts them', () => {
    const checked = checkRewards({ result: [1, null, Number.NaN, Number.POSITIVE_INFINITY, 0], expected: 5, name: 'r' });
    expect(checked.rewards).toEqual([1, null, null, null, 0]);
    expect(checked.nullCount).toBe(1);
    expect(checked.nonFiniteCount).toBe(2);
    expect(checked.metrics['rewards/r/mean']).toBe(0.5);
  });
  it('throws typed errors for a wrong length or a throwing reward', async () => {
    expect(() => checkRewards({ result: [1], expected: 2, name: 'r' })).toThrow(expect.objectContaining({ code: 'reward_length_mismatch' }));
    const broken = { name: 'broken', score: async () => Promise.reject(new Error('boom')) };
    await expect(scoreRewards(broken, request([image(0)]))).rejects.toMatchObject({ code: 'reward_error' });
    const short = { name: 'short', score: async () => ({ rewards: [] }) };
    await expect(scoreRewards(short, request([image(0)]))).rejects.toMatchObject({ code: 'reward_length_mismatch' });
  });
});
