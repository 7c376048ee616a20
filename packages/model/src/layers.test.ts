import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from './engine';
import { initBackend } from './backend';
import { Attention, ConvStem, Embedding, LayerNorm, Linear, Mlp, Parameters, TransformerBlock, alibiBias, alibiSlopes, gelu, prefixCausalBias, spaceToDepth2 } from './layers';
import { createRng } from './random';

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal() * scale), shape);
}

/**
 * Checks d(sum(f(x) * r))/dθ by central differences at a few coordinates of every parameter (and of the input
 * when `input` is true). Float32 arithmetic: the step and the tolerance are sized for it.
 */
function gradientCheck(params: Parameters, f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, options: { input?: boolean; coordinates?: number; seed?: number } = {}) {
  const out = tf.tidy(() => f(x));
  const r = randomTensor(out.shape, 99);
  out.dispose();
  const loss = () => tf.tidy(() => f(x).mul(r).sum().dataSync()[0] as number);
  const { grads } = tf.variableGrads(() => f(x).mul(r).sum() as tf.Scalar, params.variables());
  const rng = createRng(options.seed ?? 7);
  const eps = 1e-2;
  let checked = 0;
  const check = (target: tf.Variable, analytic: Float32Array) => {
    const values = target.dataSync().slice();
    for (let c = 0; c < (options.coordinates ?? 3); c++) {
      const i = Math.floor(rng.next() * values.length);
      const original = values[i] as number;
      values[i] = original + eps;
      target.assign(tf.tensor(values, target.shape));
      const plus = loss();
      values[i] = original - eps;
      target.assign(tf.tensor(values, target.shape));
      const minus = loss();
      values[i] = original;
      target.assign(tf.tensor(values, target.shape));
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i] as number;
      expect(Math.abs(numeric - a)).toBeLessThan(2e-2 * Math.max(1, Math.abs(a), Math.abs(numeric)));
      checked++;
    }
  };
  for (const [, variable] of params.entries()) check(variable, grads[variable.name]?.dataSync() as Float32Array);
  if (options.input) {
    const xv = tf.variable(x.clone());
    const g = tf.grad((t: tf.Tensor) => f(t).mul(r).sum())(xv);
    const inputLoss = () => tf.tidy(() => f(xv).mul(r).sum().dataSync()[0] as number);
    const values = xv.dataSync().slice();
    const i = Math.floor(rng.next() * values.length);
    const original = values[i] as number;
    values[i] = original + eps;
    xv.assign(tf.tensor(values, xv.shape));
    const plus = inputLoss();
    values[i] = original - eps;
    xv.assign(tf.tensor(values, xv.shape));
    const minus = inputLoss();
    const numeric = (plus - minus) / (2 * eps);
    const a = g.dataSync()[i] as number;
    expect(Math.abs(numeric - a)).toBeLessThan(2e-2 * Math.max(1, Math.abs(a)));
    tf.dispose([xv, g]);
  }
  tf.dispose([r, ...Object.values(grads)]);
  return checked;
}

describe('layers', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('creates parameters from a seed, independent of creation order', () => {
    const a = new Parameters(3);
    a.create('x', [4], { kind: 'normal', std: 1 });
    a.create('y', [4], { kind: 'normal', std: 1 });
    const b = new Parameters(3);
    b.create('y', [4], { kind: 'normal', std: 1 });
    b.create('x', [4], { kind: 'normal', std: 1 });
    expect(Array.from(a.get('x').dataSync())).toEqual(Array.from(b.get('x').dataSync()));
    expect(a.names()).toEqual(['x', 'y']);
    const c = new Parameters(4);
    c.create('x', [4], { kind: 'normal', std: 1 });
    expect(Array.from(c.get('x').dataSync())).not.toEqual(Array.from(a.get('x').dataSync()));
    [a, b, c].forEach((p) => p.dispose());
  });

  it('gelu matches the tanh form', () => {
    const x = tf.linspace(-4, 4, 41);
    const reference = x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
    const diff = gelu(x).sub(reference).abs().max().dataSync()[0] as number;
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([x, reference]);
  });

  it('space-to-depth moves each 2x2 block into channels', () => {
    const x = tf.range(0, 2 * 4 * 4 * 3).reshape([2, 4, 4, 3]) as tf.Tensor4D;
    const y = spaceToDepth2(x);
    expect(y.shape).toEqual([2, 2, 2, 12]);
    // Block (0,0) of image 0: pixels (0,0), (0,1), (1,0), (1,1) — row-major within the block.
    const expected = [0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17];
    expect(Array.from(y.slice([0, 0, 0, 0], [1, 1, 1, 12]).dataSync())).toEqual(expected);
    tf.dispose([x, y]);
  });

  it('linear and layer norm gradients match finite differences', () => {
    const params = new Parameters(1);
    const linear = new Linear(params, 'l', 5, 4);
    const norm = new LayerNorm(params, 'n', 4);
    const x = randomTensor([3, 2, 5], 2);
    expect(gradientCheck(params, (t) => norm.apply(linear.apply(t)), x, { input: true })).toBe(12);
    params.dispose();
    x.dispose();
  });

  it('embedding gradient matches finite differences (gather gradient kernel)', () => {
    const params = new Parameters(1);
    const embedding = new Embedding(params, 'e', 7, 4, 1);
    const ids = tf.tensor2d([[1, 3, 1], [6, 0, 1]], [2, 3], 'int32');
    gradientCheck(params, () => embedding.apply(ids), ids, { coordinates: 8 });
    params.dispose();
    ids.dispose();
  });

  it('ALiBi: slopes halve per head pair, distances count between text tokens only, masked keys stay masked', () => {
    expect(alibiSlopes(4)).toEqual([0.25, 0.0625, 0.015625, 0.00390625]);
    const bias = alibiBias(2, 5, 2).arraySync();
    const slope = alibiSlopes(2)[0] as number;
    expect(bias[0]![4]![2]).toBeCloseTo(-slope * 2, 6); // text query 4 on text key 2
    expect(bias[0]![4]![0]).toBe(0); // media keys: no distance
    expect(bias[0]![1]![0]).toBe(0); // media queries: none
    expect(bias[0]![3]![4]).toBe(0); // a later key (masked by the causal bias) gets no term
    expect(bias[1]![4]![3]).toBeCloseTo(-(alibiSlopes(2)[1] as number), 6);
    const row = alibiBias(2, 5, 2, [4]).arraySync();
    expect(row[0]![0]).toEqual(bias[0]![4]);
  });

  it('attention with a prefix-causal mask: gradients, masking, and the cached step agrees', () => {
    const params = new Parameters(5);
    const attention = new Attention(params, 'a', 8, 2);
    const bias = prefixCausalBias(2, 5);
    const x = randomTensor([2, 5, 8], 3) as tf.Tensor3D;
    gradientCheck(params, (t) => attention.apply(t as tf.Tensor3D, bias).y, x, { input: true });
    // Changing a later position must not change earlier outputs (after the prefix), and the prefix sees itself only.
    const y1 = attention.apply(x, bias).y;
    const x2 = x.add(tf.oneHot([4], 5).reshape([1, 5, 1]).mul(3)) as tf.Tensor3D;
    const y2 = attention.apply(x2, bias).y;
    const before = y1.slice([0, 0, 0], [2, 4, 8]).sub(y2.slice([0, 0, 0], [2, 4, 8])).abs().max().dataSync()[0] as number;
    expect(before).toBeLessThan(1e-6);
    // The incremental step with a cache reproduces the full pass.
    const prefix = x.slice([0, 0, 0], [2, 4, 8]) as tf.Tensor3D;
    const { cache } = attention.apply(prefix, prefixCausalBias(2, 4), true);
    const step = attention.step(x.slice([0, 4, 0], [2, 1, 8]) as tf.Tensor3D, cache!, tf.zeros([2, 5]) as tf.Tensor2D);
    const full = y1.slice([0, 4, 0], [2, 1, 8]);
    expect(step.y.sub(full).abs().max().dataSync()[0]).toBeLessThan(1e-5);
    params.dispose();
  });

  it('mlp and a transformer block gradients match finite differences', () => {
    const params = new Parameters(9);
    const mlp = new Mlp(params, 'm', 6, 12);
    gradientCheck(params, (t) => mlp.apply(t), randomTensor([4, 6], 4), { input: true });
    params.dispose();
    const p2 = new Parameters(10);
    const block = new TransformerBlock(p2, 'b', 8, 2, 2);
    const bias = prefixCausalBias(0, 4);
    gradientCheck(p2, (t) => block.apply(t as tf.Tensor3D, bias).y, randomTensor([2, 4, 8], 5), { coordinates: 2 });
    p2.dispose();
  });

  it('conv stem: shapes and gradients (filter gradient kernel)', () => {
    const params = new Parameters(11);
    const stem = new ConvStem(params, 's', [4, 6]);
    const images = randomTensor([2, 8, 8, 3], 6, 0.5) as tf.Tensor4D;
    expect(stem.apply(images).shape).toEqual([2, 2, 2, 6]);
    expect(stem.outputSide(8)).toBe(2);
    gradientCheck(params, (t) => stem.apply(t as tf.Tensor4D), images, { coordinates: 3 });
    params.dispose();
  });
});
