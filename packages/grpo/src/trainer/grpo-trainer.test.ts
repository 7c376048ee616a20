import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Judge, Media, RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend } from '@flex/model';
import { createFlowPolicy, functionReward, GRPOTrainer, GrpoError, pairwiseJudgeReward, type GRPOMetrics } from '../index';
import { assessment } from '../rewards/fake-judges.test-helpers';

const generatorConfig = { modality: 'image' as const, size: 8, channels: 4, embeddingDim: 8, promptBuckets: 16, seed: 5 };
const brightness = (m: Media) => {
  const d = (m as RgbImage).data;
  return d.reduce((a, b) => a + b, 0) / d.length;
};
const brightnessReward = functionReward<string, Media>({ name: 'brightness', score: ({ sample }) => brightness(sample) });
const prompts = ['a bright square', 'a light field', 'white circles'];
const baseConfig = { maxSteps: 3, promptsPerStep: 2, groupSize: 3, learningRate: 3e-3, epsilonLow: 0.2, seed: 11 };

let folder: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  folder = await mkdtemp(join(tmpdir(), 'flex-grpo-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

const newPolicy = (extra: { reference?: boolean } = {}) =>
  createFlowPolicy({
    generator: createFlowGenerator(generatorConfig),
    ...(extra.reference ? { reference: createFlowGenerator(generatorConfig) } : {}),
    steps: 4,
  });

const withoutTimes = (m: GRPOMetrics) => Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('time/')));

describe('GRPOTrainer', () => {
  it('logs TRL / Flow-GRPO metrics and calls its callbacks', async () => {
    const events: string[] = [];
    const trainer = new GRPOTrainer({
      policy: newPolicy({ reference: true }),
      reward: brightnessReward,
      prompts,
      config: { ...baseConfig, beta: 0.01, numIterations: 2, minibatches: 2, loggingSteps: 2, trainStepFraction: 0.5 },
      callbacks: [{ onStepEnd: ({ step }) => void events.push(`step ${step}`), onLog: ({ step }) => void events.push(`log ${step}`), onTrainEnd: () => void events.push('end') }],
    });
    const result = await trainer.train();
    expect(result.step).toBe(3);
    expect(events).toEqual(['step 1', 'step 2', 'log 2', 'step 3', 'log 3', 'end']);
    const m = result.history[2]!;
    for (const key of ['reward', 'reward_std', 'frac_reward_zero_std', 'kl', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'approx_kl', 'loss', 'grad_norm', 'time/sampling', 'time/judging', 'time/update', 'rewards/brightness/mean']) {
      expect(Number.isFinite(m[key]), key).toBe(true);
    }
    // Two passes × two minibatches: the later updates are off-policy, so the ratio moved.
    expect(m.num_updates).toBe(4);
    expect(m.approx_kl).toBeGreaterThan(0);
    expect(m.kl).toBeGreaterThanOrEqual(0);
  });

  it('raises a simple reward', async () => {
    const trainer = new GRPOTrainer({ policy: newPolicy(), reward: brightnessReward, prompts, config: { ...baseConfig, maxSteps: 24, groupSize: 4, learningRate: 1e-2 } });
    const { history } = await trainer.train();
    const mean = (xs: GRPOMetrics[]) => xs.reduce((a, m) => a + m.reward!, 0) / xs.length;
    expect(mean(history.slice(-6))).toBeGreaterThan(mean(history.slice(0, 6)) + 0.008);
  });

  it('resumes from a checkpoint bit for bit, on a learning-rate schedule', async () => {
    const scheduled = { ...baseConfig, lrSchedulerType: 'cosine' as const, warmupSteps: 2 };
    const straight = new GRPOTrainer({ policy: newPolicy(), reward: brightnessReward, prompts, config: { ...scheduled, maxSteps: 4 } });
    const full = await straight.train();
    const outputDir = join(folder, 'resume');
    // Interrupted after step 2 (the schedule still spans the 4 steps).
    const stop = new AbortController();
    const first = new GRPOTrainer({
      policy: newPolicy(),
      reward: brightnessReward,
      prompts,
      config: { ...scheduled, maxSteps: 4, outputDir },
      callbacks: [{ onStepEnd: ({ step }) => void (step === 2 && stop.abort()) }],
    });
    expect((await first.train({ signal: stop.signal })).step).toBe(2);
    expect(await readdir(outputDir)).toContain('checkpoint-2');
    const secondPolicy = newPolicy();
    const second = new GRPOTrainer({ policy: secondPolicy, reward: brightnessReward, prompts, config: { ...scheduled, maxSteps: 4, outputDir } });
    const resumed = await second.train({ resumeFrom: 'latest' });
    expect(resumed.step).toBe(4);
    expect(resumed.history.map(withoutTimes)).toEqual(full.history.slice(2).map(withoutTimes));
    // The schedule: two warm-up steps to the peak, then the cosine from it down to 10% of it at step 4.
    expect(full.history.map((m) => m.learning_rate)).toEqual([1.5e-3, 3e-3, 3e-3, 3e-4].map((v) => expect.closeTo(v, 12)));
    const a = straight.policy.parameters.variables().map((v) => Array.from(v.dataSync()));
    const b = secondPolicy.parameters.variables().map((v) => Array.from(v.dataSync()));
    expect(b).toEqual(a);
    const lines = (await readFile(join(outputDir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
    const other = new GRPOTrainer({ policy: createFlowPolicy({ generator: createFlowGenerator({ ...generatorConfig, channels: 8 }), steps: 4 }), reward: brightnessReward, prompts, config: { ...baseConfig, outputDir } });
    await expect(other.train({ resumeFrom: join(outputDir, 'checkpoint-2') })).rejects.toMatchObject({ code: 'checkpoint_error' });
    await expect(other.train({ resumeFrom: join(folder, 'nowhere') })).rejects.toMatchObject({ code: 'checkpoint_error' });
  });

  it('reports null and non-finite rewards and never trains on them; rejects a wrong length', async () => {
    let call = 0;
    const flaky = functionReward<string, Media>({ name: 'flaky', score: ({ index }) => (index === 0 ? null : index === 1 ? Number.NaN : (call++ % 5) / 5) });
    const trainer = new GRPOTrainer({ policy: newPolicy(), reward: flaky, prompts, config: { ...baseConfig, maxSteps: 1 } });
    const { history } = await trainer.train();
    expect(history[0]!.num_invalid_rewards).toBe(2);
    expect(history[0]!['rewards/flaky/null_count']).toBe(1);
    expect(history[0]!['rewards/flaky/non_finite_count']).toBe(1);
    const short = { name: 'short', score: async () => [1] };
    const broken = new GRPOTrainer({ policy: newPolicy(), reward: short, prompts, config: { ...baseConfig, maxSteps: 1 } });
    await expect(broken.train()).rejects.toSatisfy((e) => GrpoError.isInstance(e) && e.code === 'reward_length_mismatch');
  });

  it('trains on the pairwise Flex reward of a judge, with its components normalised apart', async () => {
    // A judge that prefers the brighter image: every category and the overall winner follow brightness.
    const judge: Judge = {
      name: 'brighter',
      async judge(requests) {
        return requests.map((r) => {
          const first = brightness(r.a) >= brightness(r.b);
          const a = assessment(r);
          const label = first ? 'Image 1' : 'Image 2';
          return { ok: true, assessment: { ...a, winner: label, categories: a.categories.map((c) => ({ ...c, cat_winner: label })) }, probabilityA: first ? 1 : 0 };
        });
      },
    };
    const trainer = new GRPOTrainer({
      policy: newPolicy(),
      reward: pairwiseJudgeReward({ judge }),
      prompts,
      config: { ...baseConfig, maxSteps: 2, groupSize: 4 },
      evalReward: brightnessReward,
      evalPrompts: ['a bright square'],
    });
    const { history, evaluations } = await trainer.train();
    expect(history[0]!['rewards/pairwise:brighter/judge_calls']).toBe(12);
    expect(history[0]!.reward).toBeCloseTo(0.5, 10); // win rates average 0.5 in every group
    expect(history[0]!['rewards/pairwise:brighter/win_rate/A']).toBeCloseTo(0.5, 10);
    expect(evaluations).toHaveLength(1);
    expect(Number.isFinite(evaluations[0]!.metrics['eval/reward'])).toBe(true);
  });

  it('keeps the number of live tensors flat across steps', async () => {
    const { tf } = await import('@flex/model');
    const trainer = new GRPOTrainer({ policy: newPolicy({ reference: true }), reward: brightnessReward, prompts, config: { ...baseConfig, maxSteps: 6, beta: 0.01, minibatches: 2 } });
    await trainer.trainStep();
    await trainer.trainStep(); // optimizer slots exist from here on
    const before = tf.memory().numTensors;
    await trainer.trainStep();
    await trainer.trainStep();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accumulates gradients over micro-batches to the same update', async () => {
    const whole = newPolicy({ reference: true });
    const chunked = newPolicy({ reference: true });
    const config = { ...baseConfig, maxSteps: 2, beta: 0.01, lossType: 'dr-grpo' as const };
    const a = await new GRPOTrainer({ policy: whole, reward: brightnessReward, prompts, config }).train();
    const b = await new GRPOTrainer({ policy: chunked, reward: brightnessReward, prompts, config: { ...config, microBatchSize: 2 } }).train();
    expect(b.history[0]!.loss).toBeCloseTo(a.history[0]!.loss!, 6);
    const wa = whole.parameters.variables().flatMap((v) => Array.from(v.dataSync()));
    const wb = chunked.parameters.variables().flatMap((v) => Array.from(v.dataSync()));
    wa.forEach((value, i) => expect(wb[i]).toBeCloseTo(value, 4));
  });

  it('validates its configuration', () => {
    expect(() => new GRPOTrainer({ policy: newPolicy(), reward: brightnessReward, prompts, config: { groupSize: 1 } })).toThrow(GrpoError);
    expect(() => new GRPOTrainer({ policy: newPolicy(), reward: brightnessReward, prompts, config: { beta: 0.1 } })).toThrow(/reference/);
    expect(() => new GRPOTrainer({ policy: newPolicy(), reward: brightnessReward, prompts, config: { unknownOption: 1 } as never })).toThrow(/unknownOption|Unrecognized/);
    expect(() => new GRPOTrainer({ policy: newPolicy(), reward: brightnessReward, prompts: [] })).toThrow(/prompts/);
  });
});
