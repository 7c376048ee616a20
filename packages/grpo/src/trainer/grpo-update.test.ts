import { beforeAll, describe, expect, it } from 'vitest';
import type { Media } from '@flex/criteria';
import { createFlowGenerator, initBackend } from '@flex/model';
import { createFlowPolicy, functionReward, GRPOTrainer, grpoConfigSchema, grpoLearningRate, trainedSteps } from '../index';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('trainedSteps', () => {
  it('picks a seeded subset per update, or the first steps', () => {
    const random = trainedSteps(9, 0.34, 7, 0);
    expect(random).toHaveLength(3);
    expect([...random].sort((a, b) => a - b)).toEqual(random);
    expect(new Set([0, 1, 2, 3, 4].map((step) => trainedSteps(9, 0.34, 7, step).join(','))).size).toBeGreaterThan(1);
    expect(trainedSteps(9, 0.34, 7, 0, 'first')).toEqual([0, 1, 2]);
    expect(trainedSteps(9, 0.34, 7, 5, 'first')).toEqual([0, 1, 2]);
    expect(trainedSteps(9, 1, 7, 0, 'first')).toHaveLength(9);
    expect(grpoConfigSchema.parse({}).trainStepSelection).toBe('random');
    expect(() => grpoConfigSchema.parse({ trainStepSelection: 'last' })).toThrow();
  });
});

describe('grpoLearningRate', () => {
  it('is constant by default, and follows a warm-up and a linear or cosine decay when asked', () => {
    const at = (input: object, step: number) => grpoLearningRate(grpoConfigSchema.parse({ learningRate: 1e-3, maxSteps: 5, ...input }), step);
    expect([0, 2, 4].map((step) => at({}, step))).toEqual([1e-3, 1e-3, 1e-3]);
    // Cosine from the peak at the first step to 10% of it at the last.
    expect(at({ lrSchedulerType: 'cosine' }, 0)).toBeCloseTo(1e-3, 12);
    expect(at({ lrSchedulerType: 'cosine' }, 2)).toBeCloseTo(0.55e-3, 12);
    expect(at({ lrSchedulerType: 'cosine' }, 4)).toBeCloseTo(1e-4, 12);
    expect(at({ lrSchedulerType: 'linear' }, 4)).toBeCloseTo(0, 9);
    // Two warm-up steps (given, or as a share of maxSteps), then the decay over the other three.
    expect([0, 1, 2, 4].map((step) => at({ lrSchedulerType: 'cosine', warmupSteps: 2 }, step))).toEqual([0.5e-3, 1e-3, 1e-3, 1e-4].map((v) => expect.closeTo(v, 12)));
    expect(at({ lrSchedulerType: 'cosine', warmupRatio: 0.4 }, 0)).toBeCloseTo(0.5e-3, 12);
    expect(() => grpoConfigSchema.parse({ lrSchedulerType: 'step' })).toThrow();
  });
});

describe('evalSeed', () => {
  it('gives runs with different seeds the same evaluation noise', async () => {
    const generatorConfig = { modality: 'image' as const, size: 8, channels: 4, embeddingDim: 8, promptBuckets: 16, seed: 5 };
    const mean = functionReward<string, Media>({ name: 'mean', score: ({ sample }) => ((sample as { data: Float32Array }).data.reduce((a, b) => a + b, 0)) });
    const evaluate = (seed: number, evalSeed?: number) =>
      new GRPOTrainer({
        policy: createFlowPolicy({ generator: createFlowGenerator(generatorConfig), steps: 3 }),
        reward: mean,
        prompts: ['a'],
        evalReward: mean,
        evalPrompts: ['a red circle', 'two blue squares'],
        config: { seed, ...(evalSeed === undefined ? {} : { evalSeed }) },
      }).evaluate();
    const [a, b, c] = await Promise.all([evaluate(1, 0), evaluate(2, 0), evaluate(2)]);
    expect(a['eval/reward']).toBe(b['eval/reward']);
    expect(c['eval/reward']).not.toBe(b['eval/reward']);
  });
});
