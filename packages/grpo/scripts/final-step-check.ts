/**
 * Does one GRPO update raise the expected reward it was computed for? A tiny untrained image generator (8×8), reward
 * = mean brightness × SIGN, IT updates of 4 prompts × G (default 64) with an SGD-like step (Adam ε = 1, LR default
 * 0.1; try 10), each followed by E[reward] on fresh sampling seeds (the same seeds before and after) and on the ODE.
 * FINAL=euler|sde (the policy's last step), PRE=1 (the reward reads the last stochastic latent x_{K−1} instead of the
 * sample; with WINDOW, the latent right after the window), F / SEL (trainStepFraction / trainStepSelection), K (steps), A (noise
 * level), GSEED, WINDOW=START,LENGTH (the policy's sdeWindow: the SDE only on those steps, the ODE elsewhere).
 *
 *   FINAL=euler SIGN=-1 LR=10 node --conditions=@flex/source --import tsx scripts/final-step-check.ts
 *
 * Found with it (docs/grpo.md): with the untrained Euler ending the reward fell for SIGN=1 and for SIGN=-1 alike;
 * with PRE=1, or with FINAL=sde and every step trained, it rose both ways.
 */
import type { Media, RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend, runMain, tf } from '@flex/model';
import { createFlowPolicy, grpoConfigSchema, grpoUpdate, groupAdvantages } from '../src/index';
const brightness = (m: Media) => { const d = (m as RgbImage).data; return d.reduce((a, b) => a + b, 0) / d.length; };
const PRE = process.env.PRE === '1';
const WINDOW = process.env.WINDOW ? process.env.WINDOW.split(',').map(Number) : undefined;
// PRE=1: the reward reads the last stochastic latent x_{K-1} (before the deterministic final step) instead of the sample;
// with WINDOW, the latent the window ends on, x_{start+length} (before the ODE steps after it).
const rewardOf = (r: { sample: Media; state: { latents: readonly Float32Array[] } }) => {
  if (!PRE) return brightness(r.sample);
  const l = r.state.latents[WINDOW ? (WINDOW[0] as number) + (WINDOW[1] as number) : r.state.latents.length - 2] as Float32Array;
  let s = 0; for (const v of l) s += (v + 1) / 2; return s / l.length;
};
await runMain(async () => {
  await initBackend();
  const sign = Number(process.env.SIGN ?? 1);
  const generator = createFlowGenerator({ modality: 'image', size: 8, channels: 8, embeddingDim: 8, promptBuckets: 16, seed: Number(process.env.GSEED ?? 5) });
  const policy = createFlowPolicy({ generator, steps: Number(process.env.K ?? 10), noiseLevel: Number(process.env.A ?? 0.7), finalStep: (process.env.FINAL ?? 'sde') as 'euler' | 'sde', ...(WINDOW ? { sdeWindow: { start: WINDOW[0] as number, length: WINDOW[1] as number } } : {}) });
  const prompts = ['a', 'b', 'c', 'd'];
  const G = Number(process.env.G ?? 64);
  const evalR = async (seed: number) => {
    const groups = await policy.sample({ prompts, groupSize: G, seed, mode: 'train' });
    return groups.flatMap((g) => g.rollouts.map((r) => sign * rewardOf(r))).reduce((a, b) => a + b, 0) / (prompts.length * G);
  };
  const odeR = async () => {
    const groups = await policy.sample({ prompts, groupSize: 1, seed: 99, mode: 'eval' });
    return groups.map((g) => sign * brightness(g.rollouts[0]!.sample)).reduce((a, b) => a + b, 0) / prompts.length;
  };
  const config = grpoConfigSchema.parse({ learningRate: Number(process.env.LR ?? 0.1), adamEpsilon: 1, epsilonLow: 0.2, maxGradNorm: 1e9, trainStepFraction: Number(process.env.F ?? 1), trainStepSelection: (process.env.SEL ?? 'random') as 'random' | 'first' });
  const optimizer = tf.train.adam(config.learningRate, config.adamBeta1, config.adamBeta2, config.adamEpsilon);
  for (let it = 0; it < Number(process.env.IT ?? 3); it++) {
    const groups = await policy.sample({ prompts, groupSize: G, seed: 1000 + it, mode: 'train' });
    const rollouts = groups.flatMap((g) => g.rollouts);
    const rewards = rollouts.map((r) => sign * rewardOf(r));
    const { advantages } = groupAdvantages({ rewards, groupSize: G });
    const before = [await evalR(1), await evalR(2)];
    const ode0 = await odeR();
    const m = grpoUpdate({ policy, optimizer, rollouts, advantages: advantages as number[], valid: rollouts.map(() => true), step: it, config });
    const after = [await evalR(1), await evalR(2)];
    const ode1 = await odeR();
    console.log(`it ${it}: batch reward ${(rewards.reduce((a, b) => a + b, 0) / rewards.length).toFixed(4)} grad ${(m.grad_norm ?? NaN).toExponential(2)}; E[R] (fresh seeds) ${before.map((v) => v.toFixed(4))} -> ${after.map((v) => v.toFixed(4))}; ODE ${ode0.toFixed(4)} -> ${ode1.toFixed(4)}`);
  }
});
