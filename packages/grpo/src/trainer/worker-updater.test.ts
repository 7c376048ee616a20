import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Media, RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend } from '@flex/model';
import { createFlowPolicy, functionReward, GRPOTrainer, type GRPOMetrics } from '../index';

const generatorConfig = { modality: 'image' as const, size: 8, channels: 4, embeddingDim: 8, promptBuckets: 16, seed: 5 };
const brightness = functionReward<string, Media>({
  name: 'brightness',
  score: ({ sample }) => (sample as RgbImage).data.reduce((a, b) => a + b, 0) / (sample as RgbImage).data.length,
});
const prompts = ['a bright square', 'a light field', 'white circles'];
const config = { maxSteps: 4, promptsPerStep: 2, groupSize: 3, learningRate: 3e-3, epsilonLow: 0.2, seed: 11 };
const newPolicy = () => createFlowPolicy({ generator: createFlowGenerator(generatorConfig), reference: createFlowGenerator(generatorConfig), steps: 4 });
const withoutTimes = (m: GRPOMetrics) => Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('time/')));
const weights = (p: ReturnType<typeof newPolicy>) => p.parameters.variables().map((v) => Array.from(v.dataSync()));

let folder: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  folder = await mkdtemp(join(tmpdir(), 'flex-grpo-worker-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('update in a worker thread', () => {
  /** Trains two fresh policies, in the thread and with the update in a worker (a checkpoint every step), and checks they agree. */
  async function expectSameInWorker(makePolicy: () => ReturnType<typeof newPolicy>, name: string, overrides: Record<string, unknown>) {
    const sequential = makePolicy();
    const a = await new GRPOTrainer({ policy: sequential, reward: brightness, prompts, config: { ...config, ...overrides, outputDir: join(folder, `${name}-a`), saveSteps: 1 } }).train();
    const inWorker = makePolicy();
    const b = await new GRPOTrainer({ policy: inWorker, reward: brightness, prompts, config: { ...config, ...overrides, outputDir: join(folder, `${name}-b`), saveSteps: 1, updateInWorker: true } }).train();
    expect(b.history.map(withoutTimes)).toEqual(a.history.map(withoutTimes));
    expect(weights(inWorker)).toEqual(weights(sequential));
    return inWorker;
  }

  it('matches the in-thread trainer bit for bit when every step drains', async () => {
    await expectSameInWorker(newPolicy, 'drain', { beta: 0.01 });
  });

  it('trains the same sdeWindow in the worker as in the thread', async () => {
    const windowed = () => createFlowPolicy({ generator: createFlowGenerator(generatorConfig), steps: 4, sdeWindow: { start: 1, length: 2 } });
    const inWorker = await expectSameInWorker(windowed, 'window', { maxSteps: 2 });
    expect(weights(inWorker)).not.toEqual(weights(windowed()));
  });

  it("trains CPS dynamics in the worker as in the thread, KL included", async () => {
    const cps = () => createFlowPolicy({ generator: createFlowGenerator(generatorConfig), reference: createFlowGenerator(generatorConfig), steps: 4, dynamics: 'cps', noiseLevel: 0.5 });
    const inWorker = await expectSameInWorker(cps, 'cps', { maxSteps: 2, beta: 0.01 });
    expect(weights(inWorker)).not.toEqual(weights(cps()));
  });

  it('pipelines sampling one update behind, and resumes bit for bit', async () => {
    // Checkpoints after steps 2 and 4 drain the pipeline; steps 2 and 4 were sampled while an update ran.
    const straight = newPolicy();
    const full = await new GRPOTrainer({ policy: straight, reward: brightness, prompts, config: { ...config, outputDir: join(folder, 'full'), saveSteps: 2, updateInWorker: true } }).train();
    expect(full.history).toHaveLength(4);
    expect(full.history[1]!['time/update']).toBeGreaterThan(0);
    expect(full.history[1]!.approx_kl).toBeGreaterThan(0); // off-policy by one update
    const outputDir = join(folder, 'resumed');
    await new GRPOTrainer({ policy: newPolicy(), reward: brightness, prompts, config: { ...config, maxSteps: 2, outputDir, saveSteps: 2, updateInWorker: true } }).train();
    const resumedPolicy = newPolicy();
    const resumed = await new GRPOTrainer({ policy: resumedPolicy, reward: brightness, prompts, config: { ...config, outputDir, saveSteps: 2, updateInWorker: true } }).train({ resumeFrom: 'latest' });
    expect(resumed.history.map(withoutTimes)).toEqual(full.history.slice(2).map(withoutTimes));
    expect(weights(resumedPolicy)).toEqual(weights(straight));
  });
});
