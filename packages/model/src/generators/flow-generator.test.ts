import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine';
import { initBackend } from '../backend';
import { spaceToDepth2 } from '../layers';
import { createFlowGenerator, depthToSpace2, promptFeatures } from './index';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('flow generators', () => {
  it('depthToSpace2 inverts spaceToDepth2', () => {
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const back = depthToSpace2(spaceToDepth2(x));
    expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
  });

  it('prompt features are deterministic, normalised and tell prompts apart', () => {
    const a = promptFeatures({ prompt: 'two red circles', buckets: 64 });
    expect(Array.from(a)).toEqual(Array.from(promptFeatures({ prompt: 'Two red circles!', buckets: 64 })));
    expect(a.reduce((s, v) => s + v * v, 0)).toBeCloseTo(1, 5);
    expect(Array.from(a)).not.toEqual(Array.from(promptFeatures({ prompt: 'two blue circles', buckets: 64 })));
  });

  it('image and video velocities have the input shape, are seeded, and depend on the prompt', () => {
    for (const modality of ['image', 'video'] as const) {
      const g = createFlowGenerator({ modality, size: 16, frames: 4, channels: 8, embeddingDim: 16, promptBuckets: 32, seed: 3 });
      const x = tf.randomNormal([2, ...g.sampleShape], 0, 1, 'float32', 2);
      const sigma = tf.tensor1d([0.9, 0.3]);
      const v1 = g.velocity(x, sigma, g.promptFeatures(['a red square', 'a red square']));
      const v2 = g.velocity(x, sigma, g.promptFeatures(['a red square', 'three blue circles']));
      expect(v1.shape).toEqual(x.shape);
      const d1 = v1.dataSync();
      const d2 = v2.dataSync();
      const half = d1.length / 2;
      expect(Array.from(d1.slice(0, half))).toEqual(Array.from(d2.slice(0, half)));
      expect(Array.from(d1.slice(half))).not.toEqual(Array.from(d2.slice(half)));
      const again = createFlowGenerator({ modality, size: 16, frames: 4, channels: 8, embeddingDim: 16, promptBuckets: 32, seed: 3 });
      expect(Array.from(again.velocity(x, sigma, again.promptFeatures(['a red square', 'a red square'])).dataSync())).toEqual(Array.from(d1));
      g.dispose();
      again.dispose();
    }
  });

  it('the flow-matching loss trains on wasm without leaking tensors', () => {
    const g = createFlowGenerator({ modality: 'image', size: 16, channels: 8, embeddingDim: 16, promptBuckets: 32, seed: 1 });
    const data = tf.tidy(() => tf.concat([tf.zeros([4, 16, 8, 3]), tf.ones([4, 16, 8, 3])], 2));
    const prompt = g.promptFeatures(['left dark', 'left dark', 'left dark', 'left dark']);
    const optimizer = tf.train.adam(3e-3);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const loss = optimizer.minimize(() => g.flowMatchingLoss(data, prompt, step % 3), true, g.parameters.variables()) as tf.Scalar;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
    }
    const after = tf.memory().numTensors;
    expect(after - before).toBeLessThan(200); // optimizer slots only, not per-step growth
    const early = (losses[0]! + losses[1]! + losses[2]!) / 3;
    const late = (losses[27]! + losses[28]! + losses[29]!) / 3;
    expect(late).toBeLessThan(early);
    expect(() => g.velocity(tf.zeros([1, 8, 8, 3]), tf.tensor1d([0.5]), prompt.slice([0, 0], [1, 32]))).toThrow(/shape|x must be/);
    g.dispose();
  });
});

describe('flow generator checkpoints', () => {
  it('round-trip bit for bit and reject other kinds', async () => {
    const { mkdtemp, rm, writeFile, mkdir } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { saveFlowGenerator, loadFlowGenerator } = await import('./index');
    const folder = await mkdtemp(join(tmpdir(), 'flex-gen-'));
    try {
      const g = createFlowGenerator({ modality: 'video', size: 8, frames: 2, channels: 4, embeddingDim: 8, promptBuckets: 16, seed: 9 });
      await saveFlowGenerator({ generator: g, folder: join(folder, 'g'), provenance: { command: 'test' } });
      const { generator, provenance } = await loadFlowGenerator({ folder: join(folder, 'g') });
      expect(provenance).toEqual({ command: 'test' });
      expect(generator.config).toEqual(g.config);
      expect(generator.parameters.variables().map((v) => Array.from(v.dataSync()))).toEqual(g.parameters.variables().map((v) => Array.from(v.dataSync())));
      await mkdir(join(folder, 'other'));
      await writeFile(join(folder, 'other', 'config.json'), JSON.stringify({ kind: 'flex-judge', version: 1 }));
      await expect(loadFlowGenerator({ folder: join(folder, 'other') })).rejects.toMatchObject({ code: 'checkpoint_wrong_kind' });
      await expect(loadFlowGenerator({ folder: join(folder, 'missing') })).rejects.toMatchObject({ code: 'checkpoint_not_found' });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('SameConv2d', () => {
  it('has the gradients of tf.conv2d', async () => {
    const { SameConv2d } = await import('./same-conv');
    const { Parameters } = await import('../layers');
    const params = new Parameters(3);
    const conv = new SameConv2d(params, 'c', 3, 5);
    const x = tf.variable(tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 4));
    const w = tf.randomNormal([2, 6, 6, 5], 0, 1, 'float32', 5);
    const ours = tf.variableGrads(() => conv.apply(x as unknown as tf.Tensor4D).mul(w).sum() as tf.Scalar, [x, conv.filter]);
    const theirs = tf.variableGrads(() => tf.conv2d(x as unknown as tf.Tensor4D, conv.filter as tf.Tensor4D, 1, 'same').add(conv.bias).mul(w).sum() as tf.Scalar, [x, conv.filter]);
    expect(ours.value.dataSync()[0]).toBeCloseTo(theirs.value.dataSync()[0]!, 3);
    for (const v of [x, conv.filter]) {
      const a = ours.grads[v.name]!.dataSync();
      const b = theirs.grads[v.name]!.dataSync();
      a.forEach((value, i) => expect(value).toBeCloseTo(b[i]!, 3));
    }
  });
});
