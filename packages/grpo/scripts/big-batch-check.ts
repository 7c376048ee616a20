/**
 * Big-batch GRPO updates of the shipped image generator with the pixel oracle itself as the reward (a diagnostic:
 * the best reward there is): IT updates of P prompts × G samples (default 16 × 16) with an SGD-like step (Adam ε = 1,
 * LR default 30), each followed by the held-out oracle on ODE samples (the bench's evaluation) and the oracle of SDE
 * samples of 32 fixed training prompts. FINAL=sde|euler, A (noise level).
 *
 *   LR=3 A=0.7 node --conditions=@flex/source --import tsx scripts/big-batch-check.ts
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Media } from '@flex/criteria';
import { initBackend, loadFlowGenerator, runMain, tf } from '@flex/model';
import { scoreGeneration } from '@flex/synth';
import { createFlowPolicy, deriveSeed, grpoConfigSchema, grpoUpdate, groupAdvantages } from '../src/index';
import { worldPrompts } from './world';
const here = dirname(fileURLToPath(import.meta.url));
await runMain(async () => {
  await initBackend();
  const { generator } = await loadFlowGenerator({ folder: join(here, '..', 'generators', 'image-32') });
  const policy = createFlowPolicy({ generator, steps: 10, noiseLevel: Number(process.env.A ?? 0.7), finalStep: (process.env.FINAL ?? 'sde') as 'sde' | 'euler' });
  const train = worldPrompts({ modality: 'image', count: 256, seed: 1 });
  const held = worldPrompts({ modality: 'image', count: 128, seed: 0, heldOut: true });
  const spec = new Map([...train, ...held].map((p) => [p.text, p.spec]));
  const score = (prompt: string, m: Media) => scoreGeneration({ spec: spec.get(prompt)!, media: m });
  const P = Number(process.env.P ?? 16);
  const G = Number(process.env.G ?? 16);
  const fixed = train.slice(200, 232).map((p) => p.text);
  const measure = async () => {
    const ode = await policy.sample({ prompts: held.map((p) => p.text), groupSize: 1, seed: deriveSeed(0, 0, 4), mode: 'eval' });
    const o = ode.map((g) => score(g.prompt, g.rollouts[0]!.sample));
    const sde = await policy.sample({ prompts: fixed, groupSize: 4, seed: 999 });
    const s = sde.flatMap((g) => g.rollouts.map((r) => score(g.prompt, r.sample).utility));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    return `ODE held-out ${mean(o.map((x) => x.utility)).toFixed(4)} (A ${mean(o.map((x) => x.categories.A ?? 0)).toFixed(3)}), SDE fixed ${mean(s).toFixed(4)}`;
  };
  const config = grpoConfigSchema.parse({ learningRate: Number(process.env.LR ?? 30), adamEpsilon: Number(process.env.EPS ?? 1), maxGradNorm: 1e9, epsilonLow: Number(process.env.CLIP ?? 0.99), trainStepFraction: 1, microBatchSize: 32 });
  const optimizer = tf.train.adam(config.learningRate, config.adamBeta1, config.adamBeta2, config.adamEpsilon);
  console.log(`before: ${await measure()}`);
  for (let it = 0; it < Number(process.env.IT ?? 4); it++) {
    const prompts = train.slice(it * P, (it + 1) * P).map((p) => p.text);
    const groups = await policy.sample({ prompts, groupSize: G, seed: 100 + it });
    const rollouts = groups.flatMap((g) => g.rollouts);
    const rewards = groups.flatMap((g) => g.rollouts.map((r) => score(g.prompt, r.sample).utility));
    const { advantages } = groupAdvantages({ rewards, groupSize: G });
    const m = grpoUpdate({ policy, optimizer, rollouts, advantages: advantages as number[], valid: rollouts.map(() => true), step: it, config });
    console.log(`it ${it}: batch ${(rewards.reduce((a, b) => a + b, 0) / rewards.length).toFixed(4)} grad ${(m.grad_norm ?? NaN).toExponential(2)} approx_kl ${(m.approx_kl ?? NaN).toExponential(1)} -> ${await measure()}`);
  }
});
