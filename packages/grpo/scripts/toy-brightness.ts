/**
 * A toy GRPO run for diagnosis: a tiny untrained image generator, reward = mean brightness (or its negation,
 * SIGN=-1), 30 steps (STEPS) of 2 prompts (P) × G 6 (G); prints the evaluation reward before and every 10 steps and the training
 * reward of the first and last 5 steps. Environment: SIGN, K (sampling steps), F / SEL (trainStepFraction /
 * trainStepSelection), LR, EPS (Adam ε; EPS=1 with LR≈3 makes Adam behave like SGD), MGN, GSEED (generator seed),
 * FINAL (the policy's last step: sde, the default, or euler), WINDOW (the policy's sdeWindow as START,LENGTH).
 *
 *   K=6 SIGN=-1 node --conditions=@flex/source --import tsx scripts/toy-brightness.ts
 */
import type { Media, RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend, runMain } from '@flex/model';
import { createFlowPolicy, functionReward, GRPOTrainer } from '../src/index';
const brightness = (m: Media) => { const d = (m as RgbImage).data; return d.reduce((a, b) => a + b, 0) / d.length; };
await runMain(async () => {
  await initBackend();
  const sign = Number(process.env.SIGN ?? 1);
  const window = process.env.WINDOW ? process.env.WINDOW.split(',').map(Number) : undefined;
  const config = { modality: 'image' as const, size: 8, channels: 8, embeddingDim: 8, promptBuckets: 16, seed: Number(process.env.GSEED ?? 5) };
  const reward = functionReward<string, Media>({ name: 'b', score: ({ sample }) => sign * brightness(sample) });
  const trainer = new GRPOTrainer({
    policy: createFlowPolicy({ generator: createFlowGenerator(config), steps: Number(process.env.K ?? 6), finalStep: (process.env.FINAL ?? 'sde') as 'sde' | 'euler', ...(window ? { sdeWindow: { start: window[0] as number, length: window[1] as number } } : {}) }),
    reward, prompts: ['a', 'b', 'c', 'd'], evalReward: reward, evalPrompts: ['a', 'b', 'c', 'd'],
    config: { maxSteps: Number(process.env.STEPS ?? 30), promptsPerStep: Number(process.env.P ?? 2), groupSize: Number(process.env.G ?? 6), learningRate: Number(process.env.LR ?? 3e-3), epsilonLow: 0.2, seed: 1, adamEpsilon: Number(process.env.EPS ?? 1e-8), maxGradNorm: Number(process.env.MGN ?? 1), evalSteps: 10, evalSeed: 0, trainStepFraction: Number(process.env.F ?? 1), trainStepSelection: (process.env.SEL ?? 'random') as 'random' | 'first', scaleRewards: (process.env.SCALE ?? 'group') as 'group' },
  });
  const before = (await trainer.evaluate())['eval/reward'] as number;
  const r = await trainer.train();
  const h = r.history.map((x) => x.reward as number);
  console.log(JSON.stringify({ env: { SIGN: sign, K: process.env.K, F: process.env.F, SEL: process.env.SEL, GSEED: process.env.GSEED, WINDOW: process.env.WINDOW }, before: before.toFixed(4), curve: r.evaluations.map((e) => (e.metrics['eval/reward'] as number).toFixed(4)), train: [h.slice(0, 5).reduce((a, b) => a + b) / 5, h.slice(-5).reduce((a, b) => a + b) / 5].map((v) => v.toFixed(4)) }));
});
