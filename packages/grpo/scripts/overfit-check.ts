/**
 * Overfit check (issue #6): can the GRPO update raise a reward on the very prompts it trains on? The shipped image
 * generator, the pixel oracle itself as the reward (`oracleScore`), P training prompts (default 1) × G 16, the
 * library's update (`grpoUpdate`, every step trained, SDE final step, Adam) in a plain loop on this thread.
 *
 * Logged per step: the group's mean reward (fresh SDE samples), its within-group std, approx_kl and the clip fraction
 * of the update's own forward pass (0 with one iteration: ρ = 1 there), `kl_after` (the same approx_kl after the step:
 * how far the update moved the policy on its batch),
 * the gradient norm, the update's direction check `dlp·A` (after the update, the change of each rollout's summed
 * log-prob times its advantage, averaged: > 0 when the update moved probability towards the better samples) and the
 * first-pass ratio check `max|Δ|` (the largest |log-prob recomputed − log-prob at sampling| before the update: ρ = 1
 * means 0 up to float error). Every EVAL steps: the oracle of M ODE samples per prompt and of G SDE samples per prompt,
 * both from FIXED noise (the same before and after, so changes are paired, not resampling noise).
 *
 *   nice -n 5 node --conditions=@flex/source --import tsx scripts/overfit-check.ts -- --prompts 1 --steps 50 --lr 1e-4
 *     [--group 16] [--clip 1e-2] [--noise 0.7] [--eval-every 10] [--ode-noises 8] [--seed 0] [--prompt-offset 0]
 *     [--adam-eps 1e-8] [--max-grad-norm 1] [--fraction 1] [--reward oracle|shuffled] [--window START,LENGTH]
 *
 * `--window S,L` samples training rollouts with the SDE only on sampler steps S … S+L−1 (the policy's `sdeWindow`; the
 * deterministic ODE step elsewhere) and trains exactly those steps; without it every step is an SDE step.
 *
 * `--snr B` instead measures whether one batch's gradient is signal or noise (see {@link gradientSignal}).
 *
 * The last line is one JSON object: the settings, the per-step rows and the fixed-noise evaluations.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeGradients, initBackend, loadFlowGenerator, runMain, tf } from '@flex/model';
import { createFlowPolicy, deriveSeed, flowSdeStdTerm, grpoConfigSchema, grpoLossTensor, grpoUpdate, groupAdvantages, type FlowPolicy } from '../src/index';
import { permutation } from '../src/trainer/grpo-update';
import { oracleScore, worldPrompts, type WorldPrompt } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}
const mean = (v: readonly number[]): number => (v.length === 0 ? Number.NaN : v.reduce((a, b) => a + b, 0) / v.length);
const std = (v: readonly number[]): number => {
  const m = mean(v);
  return Math.sqrt(mean(v.map((x) => (x - m) ** 2)));
};

await runMain(async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const P = Number(argument('prompts', '1'));
  const G = Number(argument('group', '16'));
  const steps = Number(argument('steps', '50'));
  const seed = Number(argument('seed', '0'));
  const evalEvery = Number(argument('eval-every', '10'));
  const M = Number(argument('ode-noises', '8'));
  const offset = Number(argument('prompt-offset', '0'));
  await initBackend();
  const { generator } = await loadFlowGenerator({ folder: join(here, '..', 'generators', 'image-32') });
  // `--window S,L`: the SDE only on sampler steps S … S+L−1 (the ODE elsewhere), only those recorded and trained.
  const windowArg = process.argv.includes('--window') ? argument('window', '').split(',').map(Number) : undefined;
  const sdeWindow = windowArg ? { start: windowArg[0] as number, length: windowArg[1] as number } : undefined;
  const policy = createFlowPolicy({ generator, steps: 10, noiseLevel: Number(argument('noise', '0.7')), finalStep: 'sde', ...(sdeWindow ? { sdeWindow } : {}) });
  const prompts = worldPrompts({ modality: 'image', count: offset + P, seed: 1 }).slice(offset);
  const texts = prompts.map((p) => p.text);
  const byText = new Map<string, WorldPrompt>(prompts.map((p) => [p.text, p]));
  const score = (prompt: string, sample: Parameters<typeof oracleScore>[1]) => oracleScore(byText.get(prompt) as WorldPrompt, sample);
  const config = grpoConfigSchema.parse({
    seed,
    learningRate: Number(argument('lr', '1e-4')),
    epsilonLow: Number(argument('clip', '1e-2')),
    adamEpsilon: Number(argument('adam-eps', '1e-8')),
    maxGradNorm: Number(argument('max-grad-norm', '1')),
    trainStepFraction: Number(argument('fraction', '1')),
    microBatchSize: 16,
  });
  if (process.argv.includes('--snr')) {
    await gradientSignal(policy, texts, G, Number(argument('snr', '6')), seed, score, sdeWindow);
    return;
  }
  const control = argument('reward', 'oracle') === 'shuffled';
  const optimizer = tf.train.adam(config.learningRate, config.adamBeta1, config.adamBeta2, config.adamEpsilon);

  // Fixed-noise evaluation: M ODE samples per prompt (the prompt list repeated, so each copy has its own start noise)
  // and G SDE samples per prompt, with seeds that never change.
  const evaluate = async () => {
    const repeated = Array.from({ length: M }, () => texts).flat();
    const ode = await policy.sample({ prompts: repeated, groupSize: 1, seed: deriveSeed(seed, 7, 1), mode: 'eval' });
    const sde = await policy.sample({ prompts: texts, groupSize: G, seed: deriveSeed(seed, 7, 2), mode: 'train' });
    return {
      ode: mean(ode.map((g) => score(g.prompt, g.rollouts[0]!.sample))),
      sde: mean(sde.flatMap((g) => g.rollouts.map((r) => score(g.prompt, r.sample)))),
    };
  };
  const evaluations: { step: number; ode: number; sde: number }[] = [];
  const first = await evaluate();
  evaluations.push({ step: 0, ...first });
  console.log(`prompts: ${texts.join(' | ')}`);
  console.log(`eval @0: ODE ${first.ode.toFixed(4)} SDE(fixed) ${first.sde.toFixed(4)}`);
  const rows: Record<string, number>[] = [];
  for (let step = 0; step < steps; step++) {
    const t0 = Date.now();
    const groups = await policy.sample({ prompts: texts, groupSize: G, seed: deriveSeed(seed, step, 11) });
    const rollouts = groups.flatMap((g) => g.rollouts);
    const rewards = groups.flatMap((g) => g.rollouts.map((r) => score(g.prompt, r.sample)));
    // `--reward shuffled` (a control): the oracle's rewards permuted within each group (seeded) — the same advantage
    // distribution, no information about the samples; what the oracle then does is the update's noise alone.
    const trained = control ? rewards.map((_, i) => rewards[Math.floor(i / G) * G + (permutation(G, deriveSeed(seed, step, 31 + Math.floor(i / G)))[i % G] as number)] as number) : rewards;
    const { advantages } = groupAdvantages({ rewards: trained, groupSize: G });
    const adv = advantages as number[];
    // Ratio check: the log-probs recomputed under the sampling parameters must equal the recorded ones.
    const recomputed = await policy.logProbs({ rollouts });
    let maxDelta = 0;
    recomputed.forEach((row, r) => row.forEach((lp, k) => (maxDelta = Math.max(maxDelta, Math.abs(lp - (rollouts[r]!.logProbs[k] as number))))));
    const m = grpoUpdate({ policy, optimizer, rollouts, advantages: adv, valid: rollouts.map(() => true), step, config });
    // Direction check: did the update raise the log-probs of the positive-advantage rollouts?
    const after = await policy.logProbs({ rollouts });
    // How far the update moved the policy on this batch (approx_kl after the step; the metric from grpoUpdate is
    // measured on the forward pass before it, where ρ = 1 exactly with one iteration, so it reads 0).
    const klAfter = mean(after.flatMap((row, r) => row.map((lp, k) => 0.5 * (lp - (recomputed[r]![k] as number)) ** 2)));
    const dlpA = mean(after.map((row, r) => row.reduce((s, lp, k) => s + lp - (recomputed[r]![k] as number), 0) * (adv[r] as number)));
    const row = {
      step,
      reward: mean(rewards),
      group_std: mean(groups.map((_, p) => std(rewards.slice(p * G, (p + 1) * G)))),
      approx_kl: m.approx_kl as number,
      clip: m['clip_ratio/region_mean'] as number,
      grad_norm: m.grad_norm as number,
      dlp_a: dlpA,
      kl_after: klAfter,
      ratio_max_delta: maxDelta,
      seconds: (Date.now() - t0) / 1000,
    };
    rows.push(row);
    console.log(
      `step ${step}: reward ${row.reward.toFixed(4)} std ${row.group_std.toFixed(3)} approx_kl ${row.approx_kl.toExponential(1)} clip ${row.clip.toFixed(3)} ` +
        `grad ${row.grad_norm.toExponential(2)} kl_after ${row.kl_after.toExponential(1)} dlp·A ${row.dlp_a.toExponential(2)} max|Δ| ${row.ratio_max_delta.toExponential(1)} ${row.seconds.toFixed(1)} s`,
    );
    if ((step + 1) % evalEvery === 0 || step === steps - 1) {
      const e = await evaluate();
      evaluations.push({ step: step + 1, ...e });
      console.log(`eval @${step + 1}: ODE ${e.ode.toFixed(4)} SDE(fixed) ${e.sde.toFixed(4)}`);
    }
  }
  const tenth = Math.max(1, Math.floor(steps / 5));
  const col = (key: string, from: number, to: number) => mean(rows.slice(from, to).map((r) => r[key] as number));
  console.log(
    JSON.stringify({
      prompts: P,
      reward: control ? 'shuffled' : 'oracle',
      window: sdeWindow ?? 'every step',
      group: G,
      steps,
      lr: config.learningRate,
      clip: config.epsilonLow,
      adam_eps: config.adamEpsilon,
      noise: policy.options.noiseLevel,
      reward_first_fifth: col('reward', 0, tenth),
      reward_last_fifth: col('reward', steps - tenth, steps),
      approx_kl: col('approx_kl', 0, steps),
      kl_after: col('kl_after', 0, steps),
      clip_frac: col('clip', 0, steps),
      grad_norm: col('grad_norm', 0, steps),
      dlp_a_mean: col('dlp_a', 0, steps),
      dlp_a_positive: rows.filter((r) => (r.dlp_a as number) > 0).length / rows.length,
      ratio_max_delta: Math.max(...rows.map((r) => r.ratio_max_delta as number)),
      evaluations: evaluations.map((e) => ({ step: e.step, ode: Number(e.ode.toFixed(4)), sde: Number(e.sde.toFixed(4)) })),
      rows: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toPrecision(4))]))),
    }),
  );
});

/**
 * `--snr B`: is one update's gradient signal or noise? At the current parameters, B independent batches (fresh noise)
 * of the same prompts × G, the oracle as the reward; the gradient of the GRPO loss of each step k separately (the
 * library's loss is the mean over steps, so the full gradient is the mean of these). Prints per step the gradient
 * norm and the mean cosine between the gradients of different batches (≈ 0 when a batch's gradient is noise; with a
 * per-batch signal-to-noise ratio r it is r² / (1 + r²)), and the same for the full gradient, the first and last half
 * of the steps and the steps weighted by their noise variance s_k².
 */
async function gradientSignal(
  policy: FlowPolicy,
  texts: string[],
  G: number,
  B: number,
  seed: number,
  score: (prompt: string, sample: Parameters<typeof oracleScore>[1]) => number,
  sdeWindow: { start: number; length: number } | undefined,
): Promise<void> {
  const K = policy.stepCount();
  const perBatch: Float32Array[][] = [];
  for (let b = 0; b < B; b++) {
    const groups = await policy.sample({ prompts: texts, groupSize: G, seed: deriveSeed(seed, b, 23) });
    const rollouts = groups.flatMap((g) => g.rollouts);
    const rewards = groups.flatMap((g) => g.rollouts.map((r) => score(g.prompt, r.sample)));
    const advantages = groupAdvantages({ rewards, groupSize: G }).advantages as number[];
    const steps: Float32Array[] = [];
    for (let k = 0; k < K; k++) {
      let flat: Float32Array | undefined;
      for (let from = 0; from < rollouts.length; from += 16) {
        const chunk = rollouts.slice(from, from + 16);
        const { loss, grads } = computeGradients(policy.parameters, () => {
          const out = policy.logProbTensors({ rollouts: chunk, steps: [k], withKl: false });
          return grpoLossTensor({
            logProbs: out.logProbs,
            oldLogProbs: tf.tensor2d(chunk.map((r) => [r.logProbs[k] as number])),
            advantages: tf.tensor1d(advantages.slice(from, from + 16)),
            epsilonLow: 0.01,
          }).loss.mul(chunk.length / rollouts.length) as tf.Scalar;
        });
        loss.dispose();
        const parts = grads.map((g) => g.dataSync() as Float32Array);
        const total = parts.reduce((n, p) => n + p.length, 0);
        flat ??= new Float32Array(total);
        let o = 0;
        for (const part of parts) {
          for (let i = 0; i < part.length; i++) flat[o + i] = (flat[o + i] as number) + (part[i] as number);
          o += part.length;
        }
        tf.dispose(grads);
      }
      steps.push(flat as Float32Array);
    }
    perBatch.push(steps);
    console.log(`batch ${b}: reward ${(rewards.reduce((a, c) => a + c, 0) / rewards.length).toFixed(4)}`);
  }
  const combine = (steps: Float32Array[], weights: readonly number[]): Float32Array => {
    const out = new Float32Array((steps[0] as Float32Array).length);
    steps.forEach((g, k) => {
      const w = weights[k] as number;
      if (w !== 0) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + w * (g[i] as number);
    });
    return out;
  };
  const dot = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
    return s;
  };
  const report = (name: string, weights: readonly number[]) => {
    const vectors = perBatch.map((steps) => combine(steps, weights));
    const norms = vectors.map((v) => Math.sqrt(dot(v, v)));
    const cosines: number[] = [];
    for (let i = 0; i < B; i++) for (let j = i + 1; j < B; j++) cosines.push(dot(vectors[i]!, vectors[j]!) / ((norms[i] as number) * (norms[j] as number)));
    const m = cosines.reduce((a, c) => a + c, 0) / cosines.length;
    const se = Math.sqrt(cosines.reduce((a, c) => a + (c - m) ** 2, 0) / cosines.length / cosines.length);
    const normMean = norms.reduce((a, c) => a + c, 0) / B;
    console.log(`${name}: |g| ${normMean.toExponential(2)} cos(batch, batch) ${m.toFixed(4)} ± ${se.toFixed(4)}`);
    return { name, norm: normMean, cos: m };
  };
  const out: { name: string; norm: number; cos: number }[] = [];
  // Index k of the recorded log-probs is sampler step policy.sdeSteps[k].
  const stdOf = (k: number) => flowSdeStdTerm(policy.sigmas[policy.sdeSteps[k]!]!, policy.sigmas[policy.sdeSteps[k]! + 1]!, policy.options.noiseLevel).std;
  for (let k = 0; k < K; k++) out.push(report(`step ${policy.sdeSteps[k]} (s ${stdOf(k).toFixed(3)})`, Array.from({ length: K }, (_, j) => (j === k ? 1 : 0))));
  out.push(report('all steps (the library)', Array.from({ length: K }, () => 1 / K)));
  const half = Math.floor(K / 2);
  out.push(report('first half', Array.from({ length: K }, (_, j) => (j < half ? 1 : 0))));
  out.push(report('last half', Array.from({ length: K }, (_, j) => (j >= half ? 1 : 0))));
  const variances = Array.from({ length: K }, (_, k) => stdOf(k) ** 2);
  out.push(report('variance-weighted', variances));
  console.log(JSON.stringify({ mode: 'snr', window: sdeWindow ?? 'every step', prompts: texts.length, group: G, batches: B, rows: out.map((r) => ({ ...r, norm: Number(r.norm.toPrecision(3)), cos: Number(r.cos.toFixed(4)) })) }));
}
