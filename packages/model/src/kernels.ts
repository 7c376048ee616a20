import { tf } from './engine';
import { ModelError } from './errors';

/**
 * Fixed training kernels for the wasm backend (see TFJS.md). TensorFlow.js 4.22 on wasm runs only the plain
 * 2-D matMul through XNNPACK; every transposed or batched product falls to a naive loop, and the gradient
 * kernels of `gather` (UnsortedSegmentSum) and of conv2d's filter are missing. These are re-registered in
 * place, built only from the backend's own fast kernels and direct copies on the wasm heap.
 */

// The wasm backend's internals used here are stable across 4.x but not typed publicly.
interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
}
interface WasmBackend {
  /** The backend's record per data id; `id` is the number the C++ side (and its operator caches) keys by. */
  dataIdMap: { get(dataId: object): { id: number } | undefined };
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object): boolean;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> };
type KernelFunction = (args: KernelArgs) => TensorInfo;

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** The part of the wasm module the allocation guard wraps. */
interface WasmHeap {
  _malloc(bytes: number): number;
  HEAPU8: Uint8Array;
  /** The raw exports of the instance (Emscripten's `Module.asm`). */
  asm?: { malloc?: (bytes: number) => number };
}

const guardedHeaps = new WeakSet<object>();

/**
 * Makes a failed allocation on the wasm heap throw `ModelError('out_of_memory')` instead of corrupting the heap.
 * tfjs-backend-wasm 4.x never checks `_malloc`: when the heap cannot grow (it is capped at 4 GB and never
 * shrinks, so memory left fragmented by earlier stages in the same process counts), `_malloc` returns 0 and the
 * backend registers the new tensor at address 0 and writes over the module's static data (the tensor registry,
 * the allocator's state); a later, unrelated kernel or allocation then fails with "memory access out of bounds".
 * Idempotent per module. `wasm` defaults to the registered wasm backend's module; a no-op when there is none.
 */
export function installWasmAllocationGuard(wasm?: WasmHeap): void {
  const heap = wasm ?? (tf.findBackend('wasm') as unknown as { wasm?: WasmHeap } | null)?.wasm;
  if (!heap || typeof heap._malloc !== 'function' || guardedHeaps.has(heap)) return;
  // Emscripten exports `_malloc` as a stub that replaces itself with the raw export on its first call
  // (`Module._malloc = asm.malloc`), which would overwrite a wrapper of the stub: wrap the raw export.
  const raw = heap.asm?.malloc;
  const malloc: (bytes: number) => number = typeof raw === 'function' ? raw : heap._malloc.bind(heap);
  heap._malloc = (bytes: number): number => {
    const address = malloc(bytes);
    if (address === 0 && bytes > 0) {
      const heapMb = Math.round(heap.HEAPU8.buffer.byteLength / 2 ** 20);
      const requestMb = Math.round((bytes / 2 ** 20) * 10) / 10;
      throw new ModelError(
        'out_of_memory',
        `the wasm heap is full: ${requestMb} MB more could not be allocated (heap ${heapMb} MB, capped at 4 GB). ` +
          'Use a smaller batch (or gradient accumulation), or run memory-hungry stages in separate processes: the wasm heap never shrinks',
        { details: { requestedBytes: bytes, heapBytes: heap.HEAPU8.buffer.byteLength } },
      );
    }
    return address;
  };
  guardedHeaps.add(heap);
}

let installed = false;

/** True once {@link installWasmKernelFixes} has replaced the wasm kernels. */
export function wasmKernelFixesInstalled(): boolean {
  return installed;
}

function original(name: string): KernelFunction {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc as unknown as KernelFunction;
}

/** Copies `count` floats from `source` (at element `from`) into a fresh tensor of `shape`. */
function copyToFresh(backend: WasmBackend, source: TensorInfo, from: number, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  // Views are taken after the allocation: a growing heap detaches earlier views.
  const src = backend.typedArrayFromHeap(source) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  dst.set(src.subarray(from, from + sizeOf(shape)));
  return out;
}

/**
 * The `[k, n]` shape each data id was first handed to the fast matMul as its right (weight) operand, with the
 * backend's numeric id at that time. The wasm matMul packs its weights once and caches the packed operator by
 * the weight tensor's numeric id only, not its shape (tfjs-backend-wasm 4.x, `batch_mat_mul_impl.cc`); the
 * entry lives until that data is disposed. A reshape shares the data id, so the same data used as the weight
 * again under another shape would run the operator packed for the first shape: wrong values, or
 * "memory access out of bounds" when the new shape reads past the old one.
 */
const weightShapes = new WeakMap<object, { id: number; k: number; n: number }>();

/**
 * `b` as the `[k, n]` weight operand of a fast 2-D matMul. The first use of a data id (and every later use
 * under the same shape, which may reuse the packed weights) passes the tensor itself, with no copy; a use
 * under a different shape gets a fresh copy, whose new id cannot hit a stale cache entry. `fresh` tells the
 * caller to dispose the result.
 */
function asWeight(backend: WasmBackend, b: TensorInfo, k: number, n: number): { weight: TensorInfo; fresh: boolean } {
  const id = backend.dataIdMap.get(b.dataId)?.id;
  const seen = weightShapes.get(b.dataId);
  if (id === undefined || seen === undefined || seen.id !== id) {
    if (id !== undefined) weightShapes.set(b.dataId, { id, k, n });
    return { weight: { ...b, shape: [k, n] }, fresh: false };
  }
  if (seen.k === k && seen.n === n) return { weight: { ...b, shape: [k, n] }, fresh: false };
  return { weight: copyToFresh(backend, b, 0, [k, n]), fresh: true };
}

/**
 * Replaces the wasm kernels BatchMatMul (explicit transposes, then one fast 2-D call for the whole batch when
 * the right operand is shared, else one fast call per slice on fresh tensors), adds UnsortedSegmentSum and
 * Conv2DBackpropFilter, replaces Conv2DBackpropInput (a forward convolution of the zero-inserted gradient), and registers zero gradients for comparison ops on every backend. Idempotent.
 * Call after the wasm backend is registered (importing @tensorflow/tfjs-backend-wasm does that).
 */
export function installWasmKernelFixes(): void {
  if (installed) return;
  installWasmAllocationGuard();
  installZeroComparisonGradients();
  const batchMatMul = original('BatchMatMul');
  const transpose = original('Transpose');
  const conv2d = original('Conv2D');
  const pad = original('PadV2');
  const slice = original('Slice');

  // A cache-blocked transpose of the last two axes in JavaScript on the wasm heap: several times faster than
  // the backend's generic Transpose kernel for these shapes.
  const transposeLastTwo = (backend: WasmBackend, x: TensorInfo): TensorInfo => {
    const rank = x.shape.length;
    const rows = x.shape[rank - 2] as number;
    const cols = x.shape[rank - 1] as number;
    const batch = sizeOf(x.shape.slice(0, -2));
    const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], 'float32');
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const block = 16;
    for (let b = 0; b < batch; b++) {
      const base = b * rows * cols;
      for (let j0 = 0; j0 < cols; j0 += block) {
        const j1 = Math.min(j0 + block, cols);
        for (let i0 = 0; i0 < rows; i0 += block) {
          const i1 = Math.min(i0 + block, rows);
          for (let j = j0; j < j1; j++) {
            const to = base + j * rows;
            for (let i = i0; i < i1; i++) dst[to + i] = src[base + i * cols + j] as number;
          }
        }
      }
    }
    return out;
  };

  const fixedBatchMatMul: KernelFunction = ({ inputs, backend, attrs }) => {
    let a = inputs.a as TensorInfo;
    let b = inputs.b as TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return batchMatMul({ inputs, backend, attrs });
    const temporaries: TensorInfo[] = [];
    if (attrs.transposeA) {
      a = transposeLastTwo(backend, a);
      temporaries.push(a);
    }
    if (attrs.transposeB) {
      b = transposeLastTwo(backend, b);
      temporaries.push(b);
    }
    const rankA = a.shape.length;
    const rankB = b.shape.length;
    const m = a.shape[rankA - 2] as number;
    const k = a.shape[rankA - 1] as number;
    const n = b.shape[rankB - 1] as number;
    if (b.shape[rankB - 2] !== k) {
      temporaries.forEach((t) => backend.disposeData(t.dataId));
      throw new Error(`matMul: inner shapes ${a.shape} and ${b.shape} do not match`);
    }
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = sizeOf(outerA);
    const batchB = sizeOf(outerB);
    const outer = outerA.length >= outerB.length ? outerA : outerB;
    const outShape = [...outer, m, n];
    const plain = { transposeA: false, transposeB: false };
    let out: TensorInfo;
    if (batchB === 1) {
      // One fast call: the rows of every batch of A stacked against the shared B. A caller's B may have been
      // a weight under another shape already (a reshape shares its data id): asWeight guards the cache.
      const weight = b === inputs.b ? asWeight(backend, b, k, n) : { weight: { ...b, shape: [k, n] }, fresh: false };
      out = batchMatMul({
        inputs: { a: { ...a, shape: [batchA * m, k] }, b: weight.weight },
        backend,
        attrs: plain,
      });
      if (weight.fresh) backend.disposeData(weight.weight.dataId);
      out.shape = outShape;
    } else if (batchA === batchB || batchA === 1) {
      out = backend.makeOutput(outShape, 'float32');
      for (let i = 0; i < batchB; i++) {
        // Fresh tensors per slice: the kernel caches packed weights by tensor id.
        const bi = copyToFresh(backend, b, i * k * n, [k, n]);
        const ai = batchA === 1 ? { ...a, shape: [m, k] } : copyToFresh(backend, a, i * m * k, [m, k]);
        const ri = batchMatMul({ inputs: { a: ai, b: bi }, backend, attrs: plain });
        const dst = backend.typedArrayFromHeap(out) as Float32Array;
        dst.set(backend.typedArrayFromHeap({ ...ri, shape: [m * n] }) as Float32Array, i * m * n);
        backend.disposeData(ri.dataId);
        backend.disposeData(bi.dataId);
        if (batchA !== 1) backend.disposeData(ai.dataId);
      }
    } else {
      out = batchMatMul({ inputs: { a, b }, backend, attrs: plain });
    }
    temporaries.forEach((t) => backend.disposeData(t.dataId));
    return out;
  };

  const unsortedSegmentSum: KernelFunction = ({ inputs, backend, attrs }) => {
    const x = inputs.x as TensorInfo;
    const ids = inputs.segmentIds as TensorInfo;
    const numSegments = attrs.numSegments as number;
    const count = sizeOf(ids.shape);
    const innerShape = x.shape.slice(ids.shape.length);
    const inner = sizeOf(innerShape);
    const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
    const dst = backend.typedArrayFromHeap(out);
    dst.fill(0);
    const src = backend.typedArrayFromHeap(x);
    const segment = backend.typedArrayFromHeap(ids);
    for (let i = 0; i < count; i++) {
      const s = segment[i] as number;
      if (s < 0 || s >= numSegments) continue;
      const from = i * inner;
      const to = s * inner;
      for (let j = 0; j < inner; j++) dst[to + j] = (dst[to + j] as number) + (src[from + j] as number);
    }
    return out;
  };

  const conv2dBackpropFilter: KernelFunction = ({ inputs, backend, attrs }) => {
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const filterShape = attrs.filterShape as [number, number, number, number];
    const strides = attrs.strides as number | [number, number];
    if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter: only NHWC');
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      attrs.pad as 'same' | 'valid' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const [kh, kw, ci, co] = filterShape;
    // dW[p, q, c, o] = sum_{b, i, j} xPadded[b, i*s + p, j*s + q, c] * dy[b, i, j, o]:
    // a convolution of x (channels as batch) with dy (batch as channels), dilated by the stride.
    const xt = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }); // [ci, H, W, B]
    const { top, bottom, left, right } = info.padInfo;
    const padded =
      top || bottom || left || right
        ? pad({
            inputs: { x: xt },
            backend,
            attrs: { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 },
          })
        : xt;
    const filter = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [oh, ow, B, co]
    const conv = conv2d({
      inputs: { x: padded, filter },
      backend,
      attrs: {
        strides: [1, 1],
        pad: 'valid',
        dataFormat: 'NHWC',
        dilations: [info.strideHeight, info.strideWidth],
        dimRoundingMode: undefined,
      },
    }); // [ci, >=kh, >=kw, co]
    const cropped =
      conv.shape[1] === kh && conv.shape[2] === kw
        ? conv
        : slice({ inputs: { x: conv }, backend, attrs: { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] } });
    const out = transpose({ inputs: { x: cropped }, backend, attrs: { perm: [1, 2, 0, 3] } });
    for (const t of new Set([xt, padded, filter, conv, cropped])) backend.disposeData(t.dataId);
    return out;
  };

  // The input gradient of a convolution, dx[i] = Σ_t dy[(i + pad − t) / s] · w[t], is a stride-1 convolution of dy
  // (zeros inserted between its rows and columns for a stride s > 1, then padded) with the filter flipped in space
  // and its in/out channels swapped: the fast forward kernel instead of the shipped ~4 GFLOP/s loop.
  const conv2dBackpropInputOriginal = original('Conv2DBackpropInput');
  const conv2dBackpropInput: KernelFunction = (args) => {
    const { inputs, backend, attrs } = args;
    const dy = inputs.dy as TensorInfo;
    const w = inputs.filter as TensorInfo;
    const inputShape = attrs.inputShape as [number, number, number, number];
    if ((attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') || dy.dtype !== 'float32' || w.dtype !== 'float32') return conv2dBackpropInputOriginal(args);
    const [kh, kw, ci, co] = w.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(inputShape, [kh, kw, ci, co], attrs.strides as number | [number, number], 1, attrs.pad as 'same' | 'valid' | number, attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
    const [b, oh, ow] = dy.shape as [number, number, number, number];
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [zh, zw] = [(oh - 1) * sh + 1, (ow - 1) * sw + 1];
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = inputShape[1] - zh - top + kh - 1;
    const right = inputShape[2] - zw - left + kw - 1;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return conv2dBackpropInputOriginal(args);
    const filter = backend.makeOutput([kh, kw, co, ci], 'float32');
    {
      const src = backend.typedArrayFromHeap(w) as Float32Array;
      const dst = backend.typedArrayFromHeap(filter) as Float32Array;
      for (let u = 0; u < kh; u++)
        for (let v = 0; v < kw; v++) {
          const from = ((kh - 1 - u) * kw + (kw - 1 - v)) * ci * co;
          const to = (u * kw + v) * co * ci;
          for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) dst[to + o * ci + c] = src[from + c * co + o] as number;
        }
    }
    // Zero insertion and padding in one copy into a zeroed [b, top + zh + bottom, left + zw + right, co] tensor.
    const [ph, pw] = [top + zh + bottom, left + zw + right];
    const padded = backend.makeOutput([b, ph, pw, co], 'float32');
    {
      const src = backend.typedArrayFromHeap(dy) as Float32Array;
      const dst = backend.typedArrayFromHeap(padded) as Float32Array;
      dst.fill(0);
      for (let n = 0; n < b; n++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            const from = ((n * oh + i) * ow + j) * co;
            dst.set(src.subarray(from, from + co), ((n * ph + top + i * sh) * pw + left + j * sw) * co);
          }
    }
    const out = conv2d({
      inputs: { x: padded, filter },
      backend,
      attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined },
    });
    backend.disposeData(padded.dataId);
    backend.disposeData(filter.dataId);
    return out;
  };

  const replace = (kernelName: string, kernelFunc: KernelFunction) => {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };
  const sum = original('Sum');
  // Reductions over leading axes (bias and layer-norm gradients) transpose first on wasm; as a product with
  // a row of ones they take the fast 2-D path instead.
  const fixedSum: KernelFunction = ({ inputs, backend, attrs }) => {
    const x = inputs.x as TensorInfo;
    const rank = x.shape.length;
    const axes = (Array.isArray(attrs.axis) ? (attrs.axis as number[]) : [attrs.axis as number]).map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const rows = sizeOf(x.shape.slice(0, axes.length));
    if (x.dtype !== 'float32' || !leading || rows < 64) return sum({ inputs, backend, attrs });
    const rest = x.shape.slice(axes.length);
    const ones = backend.makeOutput([1, rows], 'float32');
    (backend.typedArrayFromHeap(ones) as Float32Array).fill(1);
    // x is the weight operand here: its packed form stays cached under x's id, so a later matMul with x (or a
    // reshape of it) under another shape must not reuse it; asWeight records the shape and copies on a clash.
    const weight = asWeight(backend, x, rows, sizeOf(rest));
    const out = batchMatMul({ inputs: { a: ones, b: weight.weight }, backend, attrs: { transposeA: false, transposeB: false } });
    backend.disposeData(ones.dataId);
    if (weight.fresh) backend.disposeData(weight.weight.dataId);
    out.shape = attrs.keepDims ? [...axes.map(() => 1), ...rest] : rest;
    return out;
  };
  replace('Sum', fixedSum);
  replace('BatchMatMul', fixedBatchMatMul);
  replace('UnsortedSegmentSum', unsortedSegmentSum);
  replace('Conv2DBackpropFilter', conv2dBackpropFilter);
  replace('Conv2DBackpropInput', conv2dBackpropInput);
  installed = true;
}

/** Registers zero gradients for comparison ops (missing on every backend), so `where(greater(…))` trains. */
export function installZeroComparisonGradients(): void {
  for (const kernelName of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalNot', 'IsNan', 'IsFinite']) {
    if (tf.getGradient(kernelName)) continue;
    const unary = kernelName === 'LogicalNot' || kernelName === 'IsNan' || kernelName === 'IsFinite';
    tf.registerGradient({
      kernelName,
      inputsToSave: unary ? ['x'] : ['a', 'b'],
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Record<string, () => tf.Tensor> =>
        unary
          ? { x: () => tf.zerosLike(saved[0] as tf.Tensor) }
          : { a: () => tf.zerosLike(saved[0] as tf.Tensor), b: () => tf.zerosLike(saved[1] as tf.Tensor) },
    });
  }
}
