import { beforeAll, describe, expect, it } from 'vitest';
import { isVideo, type RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend, tf } from '@flex/model';
import type { Media } from '@flex/criteria';
import { cpsStep, createFlowPolicy, flowSdeLogProb, grpoConfigSchema, grpoUpdate, groupAdvantages, GrpoError } from '../index';

const tiny = { size: 8, frames: 3, channels: 4, embeddingDim: 8, promptBuckets: 16 } as const;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('FlowPolicy', () => {
  it('samples groups that share their start noise, with per-step log-probs that recompute exactly', async () => {
    const policy = createFlowPolicy({ generator: createFlowGenerator({ modality: 'image', ...tiny, seed: 1 }), steps: 4, finalStep: 'euler' });
    const groups = await policy.sample({ prompts: ['a red square', 'two blue circles'], groupSize: 3, seed: 7 });
    expect(groups).toHaveLength(2);
    const [first, second] = groups as [(typeof groups)[0], (typeof groups)[0]];
    expect(first.rollouts).toHaveLength(3);
    const start = (g: typeof first, i: number) => Array.from(g.rollouts[i]!.state.latents[0]!);
    expect(start(first, 0)).toEqual(start(first, 2));
    expect(start(first, 0)).not.toEqual(start(second, 0));
    expect(Array.from((first.rollouts[0]!.sample as RgbImage).data)).not.toEqual(Array.from((first.rollouts[1]!.sample as RgbImage).data));
    const rollout = first.rollouts[1]!;
    expect(rollout.logProbs).toHaveLength(3);
    expect(rollout.state.latents).toHaveLength(5);
    const image = rollout.sample as RgbImage;
    expect(image.width).toBe(8);
    expect(image.data.every((v) => v >= 0 && v <= 1)).toBe(true);

    const recomputed = await policy.logProbs({ rollouts: first.rollouts });
    recomputed.forEach((row, i) => row.forEach((v, k) => expect(v).toBeCloseTo(first.rollouts[i]!.logProbs[k]!, 4)));

    // The tensor log-prob is the pure Flow-GRPO step log-prob.
    const k = 1;
    const velocity = tf.tidy(() =>
      policy.generator.velocity(tf.tensor(rollout.state.latents[k]!, [1, 8, 8, 3]), tf.tensor1d([policy.sigmas[k]!]), policy.generator.promptFeatures([rollout.state.prompt])).dataSync(),
    );
    const pure = flowSdeLogProb({
      sample: rollout.state.latents[k]!,
      velocity,
      nextSample: rollout.state.latents[k + 1]!,
      sigma: policy.sigmas[k]!,
      sigmaNext: policy.sigmas[k + 1]!,
      noiseLevel: 0.7,
    });
    expect(rollout.logProbs[k]).toBeCloseTo(pure, 3);

    const again = await policy.sample({ prompts: ['a red square', 'two blue circles'], groupSize: 3, seed: 7 });
    expect(again[1]!.rollouts[2]!.logProbs).toEqual(second.rollouts[2]!.logProbs);
  });

  it("with dynamics 'cps' samples coefficients-preserving steps whose log-probs are the pure cpsStep's, the last step deterministic", async () => {
    const generator = createFlowGenerator({ modality: 'image', ...tiny, seed: 1 });
    const policy = createFlowPolicy({ generator, steps: 4, dynamics: 'cps', noiseLevel: 0.5 });
    expect(policy.stepCount()).toBe(3);
    expect(policy.describe()).toMatchObject({ dynamics: 'cps' });
    expect(createFlowPolicy({ generator, steps: 4 }).describe()).not.toHaveProperty('dynamics');
    const [group] = await policy.sample({ prompts: ['a red square'], groupSize: 2, seed: 7 });
    const rollout = group!.rollouts[0]!;
    expect(rollout.logProbs).toHaveLength(3);
    expect(rollout.logProbs.every(Number.isFinite)).toBe(true);
    const recomputed = await policy.logProbs({ rollouts: group!.rollouts });
    recomputed.forEach((row, i) => row.forEach((v, k) => expect(v).toBeCloseTo(group!.rollouts[i]!.logProbs[k]!, 4)));
    const k = 1;
    const velocity = tf.tidy(() =>
      generator.velocity(tf.tensor(rollout.state.latents[k]!, [1, 8, 8, 3]), tf.tensor1d([policy.sigmas[k]!]), generator.promptFeatures([rollout.state.prompt])).dataSync(),
    );
    const pure = cpsStep({ sample: rollout.state.latents[k]!, velocity, nextSample: rollout.state.latents[k + 1]!, sigma: policy.sigmas[k]!, sigmaNext: policy.sigmas[k + 1]!, noiseLevel: 0.5 });
    expect(rollout.logProbs[k]).toBeCloseTo(pure.logProb!, 3);
    // Evaluation is the same ODE as Flow-GRPO's policy.
    const [a] = await policy.sample({ prompts: ['a red square'], groupSize: 1, seed: 7, mode: 'eval' });
    const [b] = await createFlowPolicy({ generator, steps: 4 }).sample({ prompts: ['a red square'], groupSize: 1, seed: 7, mode: 'eval' });
    expect(Array.from((a!.rollouts[0]!.sample as RgbImage).data)).toEqual(Array.from((b!.rollouts[0]!.sample as RgbImage).data));
    // A rollout of the other dynamics is refused; so are η > 1 and a window on the (deterministic) last step.
    await expect(createFlowPolicy({ generator, steps: 4, finalStep: 'euler' }).logProbs({ rollouts: group!.rollouts })).rejects.toThrow(/dynamics 'cps'/);
    expect(() => createFlowPolicy({ generator, steps: 4, dynamics: 'cps', noiseLevel: 1.2 })).toThrow(GrpoError);
    expect(() => createFlowPolicy({ generator, steps: 4, dynamics: 'cps', sdeWindow: { start: 2, length: 2 } })).toThrow(/dynamics 'cps'/);
  });

  it("by default (finalStep 'sde') makes the last step stochastic too, with a log-prob, and keeps the ODE for evaluation", async () => {
    const generator = createFlowGenerator({ modality: 'image', ...tiny, seed: 1 });
    const euler = createFlowPolicy({ generator, steps: 4, finalStep: 'euler' });
    const sde = createFlowPolicy({ generator, steps: 4 });
    expect(euler.stepCount()).toBe(3);
    expect(sde.stepCount()).toBe(4);
    expect(sde.describe()).toMatchObject({ finalStep: 'sde' });
    const [group] = await sde.sample({ prompts: ['a red square'], groupSize: 2, seed: 7 });
    const rollout = group!.rollouts[0]!;
    expect(rollout.logProbs).toHaveLength(4);
    const recomputed = await sde.logProbs({ rollouts: group!.rollouts });
    recomputed.forEach((row, i) => row.forEach((v, k) => expect(v).toBeCloseTo(group!.rollouts[i]!.logProbs[k]!, 4)));
    // The first three steps are the same draws as with the Euler ending; only the last one differs.
    const [eulerGroup] = await euler.sample({ prompts: ['a red square'], groupSize: 2, seed: 7 });
    expect(Array.from(eulerGroup!.rollouts[0]!.state.latents[3]!)).toEqual(Array.from(rollout.state.latents[3]!));
    expect(Array.from(eulerGroup!.rollouts[0]!.state.latents[4]!)).not.toEqual(Array.from(rollout.state.latents[4]!));
    const [a] = await euler.sample({ prompts: ['a red square'], groupSize: 1, seed: 7, mode: 'eval' });
    const [b] = await sde.sample({ prompts: ['a red square'], groupSize: 1, seed: 7, mode: 'eval' });
    expect(Array.from((b!.rollouts[0]!.sample as RgbImage).data)).toEqual(Array.from((a!.rollouts[0]!.sample as RgbImage).data));
  });

  it("raises a reward on the sample, whichever way it points, when every step is trained (finalStep 'sde'; with 'euler' it fell)", async () => {
    // A large batch and an SGD-like step (Adam ε = 1), so one update follows the gradient estimate, not its noise.
    const brightness = (m: Media) => {
      const d = (m as RgbImage).data;
      return d.reduce((x, y) => x + y, 0) / d.length;
    };
    const prompts = ['a', 'b'];
    for (const sign of [1, -1]) {
      const policy = createFlowPolicy({ generator: createFlowGenerator({ modality: 'image', ...tiny, seed: 5 }), steps: 4, finalStep: 'sde' });
      const expected = async () => {
        const groups = await policy.sample({ prompts, groupSize: 32, seed: 1 });
        const values = groups.flatMap((g) => g.rollouts.map((r) => sign * brightness(r.sample)));
        return values.reduce((x, y) => x + y, 0) / values.length;
      };
      const config = grpoConfigSchema.parse({ learningRate: 10, adamEpsilon: 1, maxGradNorm: 1e9, epsilonLow: 0.2 });
      const optimizer = tf.train.adam(config.learningRate, config.adamBeta1, config.adamBeta2, config.adamEpsilon);
      const before = await expected();
      for (let step = 0; step < 2; step++) {
        const rollouts = (await policy.sample({ prompts, groupSize: 32, seed: 100 + step })).flatMap((g) => g.rollouts);
        const { advantages } = groupAdvantages({ rewards: rollouts.map((r) => sign * brightness(r.sample)), groupSize: 32 });
        grpoUpdate({ policy, optimizer, rollouts, advantages: advantages as number[], valid: rollouts.map(() => true), step, config });
      }
      expect(await expected(), `sign ${sign}`).toBeGreaterThan(before + 0.01);
      optimizer.dispose();
    }
  }, 60_000);

  it('with an sdeWindow samples the SDE only on the window, records one log-prob per window step and recomputes them exactly', async () => {
    const generator = createFlowGenerator({ modality: 'image', ...tiny, seed: 1 });
    const policy = createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 1, length: 2 } });
    expect(policy.stepCount()).toBe(2);
    expect(policy.sdeSteps).toEqual([1, 2]);
    expect(policy.describe()).toMatchObject({ sdeWindow: { start: 1, length: 2 } });
    expect(createFlowPolicy({ generator, steps: 4 }).describe()).not.toHaveProperty('sdeWindow');
    const [group] = await policy.sample({ prompts: ['a red square'], groupSize: 3, seed: 7 });
    const rollouts = group!.rollouts;
    const latent = (i: number, k: number) => Array.from(rollouts[i]!.state.latents[k]!);
    // Same start noise and an ODE step 0: the members are identical until the window starts, and differ after it.
    expect(latent(0, 1)).toEqual(latent(1, 1));
    expect(latent(0, 1)).toEqual(latent(2, 1));
    expect(latent(0, 2)).not.toEqual(latent(1, 2));
    expect(latent(0, 4)).not.toEqual(latent(1, 4));
    for (const rollout of rollouts) {
      expect(rollout.logProbs).toHaveLength(2);
      expect(rollout.state.sdeSteps).toEqual([1, 2]);
      expect(rollout.state.latents).toHaveLength(5);
    }
    // Step 3 (after the window) is the deterministic Euler step: x₄ = x₃ + v(x₃, σ₃)·(σ₄ − σ₃).
    const r0 = rollouts[0]!;
    const euler = tf.tidy(() => {
      const x3 = tf.tensor(r0.state.latents[3]!, [1, 8, 8, 3]);
      const v = policy.generator.velocity(x3, tf.tensor1d([policy.sigmas[3]!]), policy.generator.promptFeatures([r0.state.prompt]));
      return x3.add(v.mul(policy.sigmas[4]! - policy.sigmas[3]!)).dataSync();
    });
    Array.from(euler).forEach((v, i) => expect(r0.state.latents[4]![i]).toBeCloseTo(v, 5));
    // Log-prob j is the pure Flow-GRPO log-prob of sampler step sdeSteps[j].
    for (const [j, k] of [
      [0, 1],
      [1, 2],
    ] as const) {
      const velocity = tf.tidy(() =>
        policy.generator.velocity(tf.tensor(r0.state.latents[k]!, [1, 8, 8, 3]), tf.tensor1d([policy.sigmas[k]!]), policy.generator.promptFeatures([r0.state.prompt])).dataSync(),
      );
      const pure = flowSdeLogProb({ sample: r0.state.latents[k]!, velocity, nextSample: r0.state.latents[k + 1]!, sigma: policy.sigmas[k]!, sigmaNext: policy.sigmas[k + 1]!, noiseLevel: 0.7 });
      expect(r0.logProbs[j]).toBeCloseTo(pure, 3);
    }
    // Recomputed under the sampling parameters, on the same batch: exactly the recorded values (ρ = 1).
    expect(await policy.logProbs({ rollouts })).toEqual(rollouts.map((r) => [...r.logProbs]));
    expect(await policy.logProbs({ rollouts, steps: [1] })).toEqual(rollouts.map((r) => [r.logProbs[1]]));
    expect(() => policy.logProbTensors({ rollouts, steps: [2], withKl: false })).toThrow(/not in \[0, 2\)/);
    // A rollout of another window cannot be recomputed by this policy.
    const [other] = await createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 0, length: 2 } }).sample({ prompts: ['a red square'], groupSize: 1, seed: 7 });
    expect(() => policy.logProbTensors({ rollouts: other!.rollouts, steps: [0], withKl: false })).toThrow(/SDE steps/);
    // Evaluation is the ODE, the same with or without a window.
    const [a] = await policy.sample({ prompts: ['a red square'], groupSize: 1, seed: 7, mode: 'eval' });
    const [b] = await createFlowPolicy({ generator, steps: 4 }).sample({ prompts: ['a red square'], groupSize: 1, seed: 7, mode: 'eval' });
    expect(Array.from((a!.rollouts[0]!.sample as RgbImage).data)).toEqual(Array.from((b!.rollouts[0]!.sample as RgbImage).data));
    expect(a!.rollouts[0]!.state.sdeSteps).toEqual([]);
  });

  it('rejects an sdeWindow outside the stochastic steps', () => {
    const generator = createFlowGenerator({ modality: 'image', ...tiny, seed: 1 });
    expect(createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 3, length: 1 } }).sdeSteps).toEqual([3]);
    expect(() => createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 3, length: 2 } })).toThrow(/ends after step 3/);
    expect(() => createFlowPolicy({ generator, steps: 4, finalStep: 'euler', sdeWindow: { start: 2, length: 2 } })).toThrow(GrpoError);
    expect(() => createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 0, length: 0 } })).toThrow(/sdeWindow/);
    expect(() => createFlowPolicy({ generator, steps: 4, sdeWindow: { start: -1, length: 1 } })).toThrow(GrpoError);
    expect(() => createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 0, length: 1, end: 2 } as never })).toThrow(GrpoError);
    // The error names the option at fault, from the policy's own check and from the schema alike.
    expect(() => createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 3, length: 2 } })).toThrow(expect.objectContaining({ option: 'sdeWindow' }));
    expect(() => createFlowPolicy({ generator, steps: 4, sdeWindow: { start: -1, length: 1 } })).toThrow(expect.objectContaining({ option: 'sdeWindow' }));
    expect(() => createFlowPolicy({ generator, steps: 4, dynamics: 'cps', noiseLevel: 1.2 })).toThrow(expect.objectContaining({ option: 'noiseLevel' }));
  });

  it('grpoUpdate trains exactly the window steps the rollouts recorded', async () => {
    const generator = createFlowGenerator({ modality: 'image', ...tiny, seed: 3 });
    const policy = createFlowPolicy({ generator, steps: 4, sdeWindow: { start: 0, length: 2 } });
    const requested: number[][] = [];
    const original = policy.logProbTensors.bind(policy);
    policy.logProbTensors = (request) => {
      requested.push([...request.steps]);
      return original(request);
    };
    const rollouts = (await policy.sample({ prompts: ['a', 'b'], groupSize: 4, seed: 2 })).flatMap((g) => g.rollouts);
    const { advantages } = groupAdvantages({ rewards: rollouts.map((_, i) => (i * 7) % 5), groupSize: 4 });
    const before = await policy.logProbs({ rollouts });
    requested.length = 0;
    const config = grpoConfigSchema.parse({ learningRate: 1e-2 });
    const optimizer = tf.train.adam(config.learningRate);
    const metrics = grpoUpdate({ policy, optimizer, rollouts, advantages: advantages as number[], valid: rollouts.map(() => true), step: 0, config });
    expect(requested).toEqual([[0, 1]]);
    expect(metrics.num_updates).toBe(1);
    const after = await policy.logProbs({ rollouts });
    expect(after.flat().some((v, i) => v !== before.flat()[i])).toBe(true);
    optimizer.dispose();
  });

  it('samples the ODE for evaluation, and videos as frames', async () => {
    const policy = createFlowPolicy({ generator: createFlowGenerator({ modality: 'video', ...tiny, seed: 2 }), steps: 3, fps: 4 });
    const [group] = await policy.sample({ prompts: ['a ball moving right'], groupSize: 2, seed: 1, mode: 'eval' });
    const rollout = group!.rollouts[0]!;
    expect(rollout.logProbs).toEqual([]);
    // Same start noise and no step noise: the two members are identical.
    expect(Array.from(rollout.state.latents[3]!)).toEqual(Array.from(group!.rollouts[1]!.state.latents[3]!));
    expect(isVideo(rollout.sample) && rollout.sample.frames.length).toBe(3);
    expect(() => policy.logProbTensors({ rollouts: [rollout], steps: [0], withKl: false })).toThrow(GrpoError);
  });

  it('gives a zero KL to an identical reference and differentiable log-probs', async () => {
    const config = { modality: 'image' as const, ...tiny, seed: 4 };
    const policy = createFlowPolicy({ generator: createFlowGenerator(config), reference: createFlowGenerator(config), steps: 3 });
    const [group] = await policy.sample({ prompts: ['x'], groupSize: 2, seed: 3 });
    const out = policy.logProbTensors({ rollouts: group!.rollouts, steps: [0, 1], withKl: true });
    expect(out.logProbs.shape).toEqual([2, 2]);
    expect(Array.from(out.kl!.dataSync()).every((v) => Math.abs(v) < 1e-10)).toBe(true);
    const variables = policy.parameters.variables();
    const { grads } = tf.variableGrads(() => policy.logProbTensors({ rollouts: group!.rollouts, steps: [1], withKl: false }).logProbs.sum() as tf.Scalar, variables);
    const norm = Object.values(grads).reduce((s, g) => s + (g.square().sum().dataSync()[0] as number), 0);
    expect(norm).toBeGreaterThan(0);
    expect(() => createFlowPolicy({ generator: createFlowGenerator(config), reference: createFlowGenerator({ ...config, channels: 8 }) })).toThrow(/architecture/);
  });
});
