import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from './engine';
import { initBackend } from './backend';
import { ModelError } from './errors';

/** Runs `f` on a backend with fixed inputs and returns plain arrays of its outputs. */
async function on(backend: 'cpu' | 'wasm', inputs: Float32Array[][], shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor[]) {
  await tf.setBackend(backend);
  const xs = inputs.map((values, i) => tf.tensor(values[0] as Float32Array, shapes[i]));
  const ys = f(...xs);
  const out = ys.map((y) => Array.from(y.dataSync()));
  tf.dispose([...xs, ...ys]);
  return out;
}

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

function relativeError(a: number[], b: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += ((a[i] as number) - (b[i] as number)) ** 2;
    den += (b[i] as number) ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

async function compare(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor[]) {
  const inputs = shapes.map((s, i) => [random(s.reduce((p, d) => p * d, 1), 17 + i)]);
  const cpu = await on('cpu', inputs, shapes, f);
  const wasm = await on('wasm', inputs, shapes, f);
  await tf.setBackend('wasm');
  expect(wasm.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    expect(wasm[i]?.length).toBe(cpu[i]?.length);
    expect(relativeError(wasm[i] as number[], cpu[i] as number[])).toBeLessThan(1e-5);
  }
}

describe('fixed wasm kernels agree with cpu', () => {
  beforeAll(async () => {
    const report = await initBackend({ backend: 'wasm' });
    expect(report.fixedKernels).toBe(true);
  });

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`2-D matMul transposeA=${ta} transposeB=${tb}`, async () => {
      await compare([ta ? [24, 17] : [17, 24], tb ? [9, 24] : [24, 9]], (a, b) => [tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb)]);
    });
    it(`batched matMul (rank 4) transposeA=${ta} transposeB=${tb}`, async () => {
      await compare([ta ? [2, 3, 8, 5] : [2, 3, 5, 8], tb ? [2, 3, 6, 8] : [2, 3, 8, 6]], (a, b) => [tf.matMul(a as tf.Tensor4D, b as tf.Tensor4D, ta, tb)]);
    });
  }

  it('3-D x 2-D matMul, and 2-D gradients (the dense-layer form)', async () => {
    // The weight gradient of a 3-D x 2-D product has the wrong shape on every backend (TFJS.md): layers
    // reshape to 2-D first, which is what the gradient part checks.
    await compare([[3, 7, 8], [8, 5], [21, 5]], (a, b, dy) => {
      const g = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.matMul(x.reshape([21, 8]) as tf.Tensor2D, w as tf.Tensor2D));
      return [tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), ...g([a as tf.Tensor, b as tf.Tensor], dy)];
    });
  });

  it('broadcast 2-D x 3-D matMul', async () => {
    await compare([[5, 8], [4, 8, 3]], (a, b) => [tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D)]);
  });

  it('sum over leading axes (bias gradients)', async () => {
    await compare([[96, 7], [4, 40, 5]], (a, b) => [a!.sum(0), a!.sum(0, true), b!.sum([0, 1]), b!.sum([1, 0], true), b!.sum(-1), b!.sum()]);
  });

  // The wasm matMul caches its packed weights by the weight tensor's id only; a reshape shares that id. The fixed
  // Sum uses its input as the weight (reductions over 64 or more leading rows), so data reused later as a weight
  // under another shape must not hit the first shape's cache entry (it read out of bounds and aborted).
  it('sum over 64 leading rows, then a matMul with the same data under another shape (minimal repro)', async () => {
    await compare([[64, 16, 8], [4, 1024]], (y, a) => [tf.sum(y as tf.Tensor, 0), tf.matMul(a as tf.Tensor2D, y!.reshape([1024, 8]) as tf.Tensor2D)]);
  });

  it('one tensor as the matMul weight and the reduced operand under several shapes, in any order', async () => {
    await compare([[128, 4, 8], [3, 512], [5, 128], [2, 32]], (y, a, c, d) => {
      const w512 = () => y!.reshape([512, 8]) as tf.Tensor2D;
      return [
        tf.matMul(a as tf.Tensor2D, w512()), // first use as a weight: [512, 8]
        tf.sum(y as tf.Tensor, 0), // reduced as a [128, 32] weight
        tf.matMul(c as tf.Tensor2D, y!.reshape([128, 32]) as tf.Tensor2D),
        tf.matMul(d as tf.Tensor2D, y!.reshape([32, 128]) as tf.Tensor2D),
        tf.sum(y as tf.Tensor, [0, 1]), // [512, 8]: the first shape again
        tf.matMul(a as tf.Tensor2D, w512()), // the cached packing of the first shape is still right
        tf.matMul(a as tf.Tensor2D, y!.reshape([1, 512, 8]) as tf.Tensor3D), // a batch-1 3-D weight: same [512, 8]
      ];
    });
  });

  for (const batch of [64, 128]) {
    it(`training-step-like backward passes over ${batch} candidates`, async () => {
      // Candidates [B, 6, 8] -> dense 8 -> 12 with a per-position bias [6, 12] (its gradient sums B rows of the
      // same data that is the weight gradient's [B*6, 12] operand) -> dense 12 -> 1 with a scalar bias -> a
      // listwise softmax loss plus squared error over candidates; two steps, the second from updated parameters.
      await compare([[batch, 6, 8], [8, 12], [6, 12], [12, 1], [1], [batch]], (x, w1, b1, w2, b2, target) => {
        const loss = (p1: tf.Tensor, q1: tf.Tensor, p2: tf.Tensor, q2: tf.Tensor) => {
          const h = tf.tanh(x!.reshape([batch * 6, 8]).matMul(p1 as tf.Tensor2D).reshape([batch, 6, 12]).add(q1));
          const scores = h.reshape([batch * 6, 12]).matMul(p2 as tf.Tensor2D).add(q2).reshape([batch, 6]).sum(-1);
          const listwise = tf.logSoftmax(scores).mul(tf.softmax(target as tf.Tensor)).sum().neg();
          return listwise.add(scores.sub(target as tf.Tensor).square().mean()) as tf.Scalar; // (gives b2 a gradient)
        };
        const step = tf.valueAndGrads(loss);
        const first = step([w1, b1, w2, b2] as tf.Tensor[]);
        const updated = [w1, b1, w2, b2].map((p, i) => p!.sub((first.grads[i] as tf.Tensor).mul(0.1)));
        const second = step(updated);
        return [first.value, ...first.grads, second.value, ...second.grads];
      });
    });
  }

  it('gather gradient (UnsortedSegmentSum)', async () => {
    await compare([[11, 6], [7, 6]], (table, dy) => {
      const ids = tf.tensor1d([3, 0, 3, 10, 5, 3, 0], 'int32');
      const [g] = tf.grads((t: tf.Tensor) => tf.gather(t, ids))([table as tf.Tensor], dy);
      ids.dispose();
      return [g as tf.Tensor];
    });
  });

  for (const [stride, padding, size] of [
    [1, 'same', 3],
    [2, 'same', 3],
    [2, 'valid', 3],
    [2, 'same', 2],
    [1, 'valid', 1],
  ] as const) {
    it(`conv2d gradients stride ${stride} ${padding} ${size}x${size}`, async () => {
      const outSize = padding === 'same' ? Math.ceil(9 / stride) : Math.floor((9 - size) / stride) + 1;
      await compare([[2, 9, 9, 3], [size, size, 3, 4], [2, outSize, outSize, 4]], (x, w, dy) => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding));
        return g([x as tf.Tensor, w as tf.Tensor], dy);
      });
    });
  }

  it('comparisons have zero gradients inside where', async () => {
    await compare([[10]], (x) => {
      const f = (t: tf.Tensor) => tf.where(tf.greater(t, 0), t.mul(2), t.mul(-3)).sum();
      return [tf.grad(f)(x as tf.Tensor)];
    });
  });

  it('does not leak tensors', async () => {
    const a = tf.randomNormal([4, 6, 8]);
    const b = tf.randomNormal([4, 8, 6]);
    const ids = tf.tensor1d([1, 0, 1], 'int32');
    const x = tf.randomNormal([1, 6, 6, 2]);
    const w = tf.randomNormal([3, 3, 2, 3]);
    const y = tf.randomNormal([64, 4, 4]);
    const backend = tf.engine().backend as unknown as { numDataIds(): number };
    const before = [tf.memory().numTensors, backend.numDataIds()];
    for (let i = 0; i < 3; i++) {
      tf.dispose(
        tf.tidy(() => [
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p as tf.Tensor3D, q as tf.Tensor3D, false, true))([a, b.transpose([0, 2, 1])]),
          tf.grad((t: tf.Tensor) => tf.gather(t, ids).sum())(a),
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 2, 'same').sum())([x, w]),
          // A weight under a second shape takes a temporary copy.
          tf.sum(y, 0),
          tf.matMul(tf.ones([2, 256]), y.reshape([256, 4])),
          tf.matMul(tf.ones([2, 64]), y.reshape([64, 16])),
        ]),
      );
    }
    expect([tf.memory().numTensors, backend.numDataIds()]).toEqual(before);
    tf.dispose([ids, x, w, y]);
    tf.dispose([a, b]);
  });
});

describe('a full wasm heap', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    await tf.setBackend('wasm');
  });

  // tfjs-backend-wasm does not check _malloc: at the 4 GB cap it returns 0, the new tensor was registered at
  // address 0 and its kernel wrote over the module's static data, and a later kernel aborted with "memory access
  // out of bounds" (the pipeline's DPO stage after SFT in one process). The heap is filled with outputs that are
  // never written, so the test reserves address space but touches almost no memory.
  it('an allocation past the cap throws out_of_memory, not address 0, and the backend keeps working', async () => {
    const backend = tf.engine().backend as unknown as {
      makeOutput(shape: number[], dtype: string): { dataId: object };
      dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
      disposeData(dataId: object): boolean;
    };
    const chunk = 2 ** 26; // floats: 256 MB
    const fill: { dataId: object }[] = [];
    let error: unknown;
    try {
      for (let i = 0; i < 20 && error === undefined; i++) {
        const info = backend.makeOutput([chunk], 'float32');
        fill.push(info);
        if (backend.dataIdMap.get(info.dataId)?.memoryOffset === 0) error = new Error('a tensor was registered at address 0');
      }
    } catch (e) {
      error = e;
    }
    try {
      expect(ModelError.isInstance(error) ? (error as ModelError).code : String(error) + ' after ' + fill.map((f) => backend.dataIdMap.get(f.dataId)?.memoryOffset).join(',')).toBe('out_of_memory');
      const before = tf.memory().numTensors;
      const one = tf.ones([1]);
      expect(() => tf.tile(one, [chunk])).toThrow(/wasm heap is full/);
      one.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      fill.forEach((info) => backend.disposeData(info.dataId));
    }
    await compare([[70, 9], [5, 70]], (a, b) => [tf.matMul(b as tf.Tensor2D, a as tf.Tensor2D), a!.sum(0)]);
  });
});
