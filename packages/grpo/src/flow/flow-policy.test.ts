import { beforeAll, describe, expect, it } from 'vitest';
import { isVideo, type RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend, tf } from '@flex/model';
import { createFlowPolicy, flowSdeLogProb, GrpoError } from '../index';

const tiny = { size: 8, frames: 3, channels: 4, embeddingDim: 8, promptBuckets: 16 } as const;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('FlowPolicy', () => {
  it('samples groups that share their start noise, with per-step log-probs that recompute exactly', async () => {
    const policy = createFlowPolicy({ generator: createFlowGenerator({ modality: 'image', ...tiny, seed: 1 }), steps: 4 });
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
