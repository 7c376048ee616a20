import { beforeAll, describe, expect, it } from 'vitest';
import { pairwiseAssessmentSchema } from '@flex/criteria';
import { tf } from './engine';
import { initBackend } from './backend';
import { BradleyTerryModel, type PreferencePair } from './bradley-terry';
import { createOptimizer, trainStep } from './training';
import { randomImage, randomVideo, sampleTokenizer, solidImage } from './test-helpers';

describe('BradleyTerryModel', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('learns a preference (red over grey) with the softplus pairwise loss, memory flat', () => {
    const model = BradleyTerryModel.create({ preset: 'tiny', tokenizer: sampleTokenizer(), seed: 1 });
    const red = solidImage(0.9, 0.1, 0.1);
    const grey = solidImage(0.5, 0.5, 0.5);
    const pairs: PreferencePair[] = [
      { prompt: 'a red square', a: red, b: grey, label: 'A' },
      { prompt: 'a red square', a: grey, b: red, label: 'B' },
      { prompt: 'a red square', a: grey, b: grey, label: 'tie' },
    ];
    const optimizer = createOptimizer({ learningRate: 1e-2 });
    const first = trainStep({ parameters: model.parameters, optimizer, loss: () => model.pairLoss(pairs) }).loss;
    expect(first).toBeCloseTo(Math.log(2), 1);
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 15; i++) last = trainStep({ parameters: model.parameters, optimizer, loss: () => model.pairLoss(pairs) }).loss;
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first / 2);
    const [sRed, sGrey] = model.score([
      { media: red, prompt: 'a red square' },
      { media: grey, prompt: 'a red square' },
    ]);
    expect(sRed).toBeGreaterThan(sGrey as number);
    optimizer.dispose();
    model.dispose();
  });

  it('pads prompts without changing scores, and judges images and videos', async () => {
    const model = BradleyTerryModel.create({ preset: 'tiny', tokenizer: sampleTokenizer(), seed: 2 });
    const image = randomImage(1);
    const alone = model.score([{ media: image, prompt: 'a red square' }])[0] as number;
    const padded = model.score([
      { media: image, prompt: 'a red square' },
      { media: randomImage(2), prompt: 'a blue square next to a green square and another red square' },
    ])[0] as number;
    expect(padded).toBeCloseTo(alone, 4);
    const results = await model.judge([
      { prompt: 'a red square', modality: 'image', a: image, b: randomImage(3) },
      { prompt: 'a red square', modality: 'video', a: randomVideo(1), b: randomVideo(2) },
      { prompt: 'a red square', modality: 'video', a: image, b: image },
    ]);
    for (const r of results.slice(0, 2)) {
      expect(r.ok).toBe(true);
      if (r.ok) {
        expect(pairwiseAssessmentSchema.safeParse(r.assessment).success).toBe(true);
        expect(r.probabilityA > 0.5).toBe(r.assessment.winner.endsWith('1'));
      }
    }
    expect(results[2]).toEqual({ ok: false, error: expect.objectContaining({ code: 'invalid_request' }) });
    model.dispose();
  });
});
