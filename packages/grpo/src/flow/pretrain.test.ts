import { beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend } from '@flex/model';
import { createFlowPolicy, GrpoError, pretrainFlowGenerator } from '../index';

const config = { modality: 'image' as const, size: 8, channels: 8, embeddingDim: 16, promptBuckets: 32, seed: 2 };
const solid = (r: number, g: number, b: number): RgbImage => {
  const data = new Float32Array(8 * 8 * 3);
  for (let i = 0; i < 64; i++) data.set([r, g, b], i * 3);
  return { width: 8, height: 8, data };
};

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('pretrainFlowGenerator', () => {
  it('learns prompt-conditioned samples with the flow-matching loss, deterministically', async () => {
    const examples = [
      { prompt: 'red', media: solid(0.9, 0.1, 0.1) },
      { prompt: 'blue', media: solid(0.1, 0.1, 0.9) },
    ];
    const generator = createFlowGenerator(config);
    const { losses } = pretrainFlowGenerator({ generator, examples, steps: 60, batchSize: 8, learningRate: 1e-2, seed: 1 });
    expect(losses).toHaveLength(60);
    expect(losses.slice(-5).reduce((a, b) => a + b, 0)).toBeLessThan(losses.slice(0, 5).reduce((a, b) => a + b, 0));
    const policy = createFlowPolicy({ generator, steps: 8 });
    const groups = await policy.sample({ prompts: ['red', 'blue'], groupSize: 1, seed: 0, mode: 'eval' });
    const mean = (m: RgbImage, c: number) => m.data.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0) / 64;
    const red = groups[0]!.rollouts[0]!.sample as RgbImage;
    const blue = groups[1]!.rollouts[0]!.sample as RgbImage;
    expect(mean(red, 0) - mean(red, 2)).toBeGreaterThan(0.3);
    expect(mean(blue, 2) - mean(blue, 0)).toBeGreaterThan(0.3);
    const again = createFlowGenerator(config);
    // Same seed, same schedule: the same losses (stopped after three steps through the signal).
    const controller = new AbortController();
    const onStep = ({ step }: { step: number }) => (step === 3 ? controller.abort() : undefined);
    const partial = pretrainFlowGenerator({ generator: again, examples, steps: 60, batchSize: 8, learningRate: 1e-2, seed: 1, onStep, signal: controller.signal });
    expect(partial.losses).toEqual(losses.slice(0, 3));
  });
  it('rejects media that do not fit the generator', () => {
    const generator = createFlowGenerator(config);
    expect(() => pretrainFlowGenerator({ generator, examples: [{ prompt: 'x', media: { width: 4, height: 4, data: new Float32Array(48) } }], steps: 1 })).toThrow(GrpoError);
    expect(() => pretrainFlowGenerator({ generator, examples: [{ prompt: 'x', media: { frames: [solid(0, 0, 0)], fps: 8 } }], steps: 1 })).toThrow(/not a image|not a/);
  });
});
