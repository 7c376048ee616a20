/**
 * Big-batch GRPO updates of the shipped image generator with the pixel oracle itself as the reward (a diagnostic:
 * the best reward there is): IT updates of P prompts × G samples (default 16 × 16) with an SGD-like step (Adam ε = 1,
 * LR default 30), each followed by the held-out oracle on ODE samples (the bench's evaluation) and the oracle of SDE
 * samples of 32 fixed training prompts. FINAL=sde|euler, A (noise level), WEIGHT=variance (each step's surrogate
 * weighted by its noise variance, an experiment).
 *
 *   LR=3 A=0.7 node --conditions=@flex/source --import tsx scripts/big-batch-check.ts
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Media } from '@flex/criteria';
import { applyGradients, computeGradients, initBackend, loadFlowGenerator, runMain, tf } from '@flex/model';
import { scoreGeneration } from '@flex/synth';
import { createFlowPolicy, deriveSeed, flowSdeStdTerm, grpoConfigSchema, grpoLossTensor, grpoUpdate, groupAdvantages } from '../src/index';
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
    let m: Record<string, number>;
    if (process.env.WEIGHT === 'variance') {
      // Experimental: each step's surrogate weighted by its variance s_k² (relative to the mean), so the small-noise
      // last steps, whose log-prob gradients scale with 1/s, do not dominate the update.
      const steps = Array.from({ length: policy.stepCount() }, (_, k) => k);
      const variances = steps.map((k) => flowSdeStdTerm(policy.sigmas[k]!, policy.sigmas[k + 1]!, policy.options.noiseLevel).std ** 2);
      const meanVariance = variances.reduce((a, b) => a + b, 0) / variances.length;
      const weights = variances.map((v) => v / meanVariance);
      let grads: tf.Tensor[] | undefined;
      for (let from = 0; from < rollouts.length; from += 32) {
        const chunk = rollouts.slice(from, from + 32);
        const share = chunk.length / rollouts.length;
        const result = computeGradients(policy.parameters, () => {
          const out = policy.logProbTensors({ rollouts: chunk, steps, withKl: false });
          const adv = tf.tensor2d(chunk.map((_, i) => weights.map((w) => w * (advantages[from + i] as number))));
          const old = tf.tensor2d(chunk.map((r) => steps.map((k) => r.logProbs[k] as number)));
          return grpoLossTensor({ logProbs: out.logProbs, oldLogProbs: old, advantages: adv, epsilonLow: 0.99 }).loss.mul(share) as tf.Scalar;
        });
        result.loss.dispose();
        grads = grads ? grads.map((g, i) => { const s2 = g.add(result.grads[i]!); g.dispose(); result.grads[i]!.dispose(); return s2; }) : result.grads;
      }
      const applied = applyGradients(policy.parameters, optimizer, grads!, { maxGradNorm: 1e9 });
      m = { grad_norm: applied.gradNorm, approx_kl: 0 };
    } else m = grpoUpdate({ policy, optimizer, rollouts, advantages: advantages as number[], valid: rollouts.map(() => true), step: it, config });
    console.log(`it ${it}: batch ${(rewards.reduce((a, b) => a + b, 0) / rewards.length).toFixed(4)} grad ${(m.grad_norm ?? NaN).toExponential(2)} approx_kl ${(m.approx_kl ?? NaN).toExponential(1)} -> ${await measure()}`);
  }
});
