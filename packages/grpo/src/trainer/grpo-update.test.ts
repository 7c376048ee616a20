import { beforeAll, describe, expect, it } from 'vitest';
import type { Media } from '@flex/criteria';
import { createFlowGenerator, initBackend } from '@flex/model';
import { createFlowPolicy, functionReward, GRPOTrainer, grpoConfigSchema, trainedSteps } from '../index';

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
