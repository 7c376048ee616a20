import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCompact } from '@flex/criteria';
import { tf } from './engine';
import { initBackend } from './backend';
import { FlexJudgeModel, type JudgeExample } from './flex-judge';
import { DataParallelTrainer } from './data-parallel';
import { createOptimizer, trainStep } from './training';
import { sampleAssessment, sampleTokenizer, solidImage } from './test-helpers';

const tokenizer = sampleTokenizer();
const red = solidImage(0.9, 0.1, 0.1);
const grey = solidImage(0.5, 0.5, 0.5);
const examples: JudgeExample[] = [
  { media: [red, grey], prompt: 'a red square', completion: encodeCompact(sampleAssessment('a red square', 1)) },
  { media: [grey, red], prompt: 'a red square', completion: encodeCompact(sampleAssessment('a red square', 2)) },
];

describe('DataParallelTrainer', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('two workers on half a batch each give the single-thread full-batch step', async () => {
    const single = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 9 });
    const parallel = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 9 });
    // Plain SGD, so that the comparison is not blurred by Adam's normalisation of near-zero gradients.
    const singleOptimizer = tf.train.sgd(0.1);
    const parallelOptimizer = tf.train.sgd(0.1);
    const trainer = await DataParallelTrainer.create({ model: parallel, workers: 2 });
    try {
      const batch = single.prepareBatch(examples);
      for (let step = 0; step < 3; step++) {
        const a = trainStep({ parameters: single.parameters, optimizer: singleOptimizer, maxGradNorm: 1, loss: () => single.loss(batch) });
        const b = await trainer.step({ payloads: [[examples[0]], [examples[1]]], optimizer: parallelOptimizer, maxGradNorm: 1 });
        expect(b.applied).toBe(true);
        expect(b.loss).toBeCloseTo(a.loss, 4);
        expect(b.gradNorm).toBeCloseTo(a.gradNorm, 3);
      }
      batch.dispose();
      const difference = tf.tidy(() =>
        Math.max(...single.parameters.variables().map((v, i) => v.sub(parallel.parameters.variables()[i] as tf.Variable).abs().max().dataSync()[0] as number)),
      );
      expect(difference).toBeLessThan(1e-5);
    } finally {
      await trainer.close();
      single.dispose();
      parallel.dispose();
      singleOptimizer.dispose();
      parallelOptimizer.dispose();
    }
  });

  it('reports a worker failure as a typed error', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 });
    const trainer = await DataParallelTrainer.create({ model, workers: 1 });
    const optimizer = createOptimizer();
    try {
      await expect(trainer.step({ payloads: [[{ media: [red], prompt: 'x', completion: 'y' }, examples[0]]], optimizer })).rejects.toMatchObject({ code: 'backend_unavailable' });
      await expect(trainer.step({ payloads: [[], []], optimizer })).rejects.toMatchObject({ code: 'invalid_options' });
    } finally {
      await trainer.close();
      model.dispose();
      optimizer.dispose();
    }
  });
});
