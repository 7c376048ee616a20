import { tf } from './engine';
import { ModelError } from './errors';
import { namedRng } from './random';

/**
 * Layers written for the fast path of TensorFlow.js on wasm (TFJS.md): dense products on 2-D tensors,
 * attention with separate Q/K/V weights and rank-4 transposes only (K produced already transposed), GELU as
 * `x * sigmoid(…)`, reductions over the last axis, and a 2×2 space-to-depth before the first convolution.
 */

/** How a parameter is initialised. */
export type Initializer = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

/**
 * The trainable parameters of a model, in creation order. Each parameter's initial values come from a stream
 * derived from (seed, name), so they do not depend on creation order; the order itself is stable and is the
 * order of optimizer slots and of checkpoint weights.
 */
export class Parameters {
  readonly seed: number;
  readonly #variables = new Map<string, tf.Variable>();

  constructor(seed: number) {
    this.seed = seed;
  }

  /** Creates a parameter; names are unique. */
  create(name: string, shape: number[], init: Initializer, trainable = true): tf.Variable {
    if (this.#variables.has(name)) throw new ModelError('shape_error', `parameter ${name} already exists`);
    const size = shape.reduce((p, d) => p * d, 1);
    const values = new Float32Array(size);
    if (init.kind === 'ones') values.fill(1);
    else if (init.kind === 'normal') {
      const rng = namedRng(this.seed, name);
      for (let i = 0; i < size; i++) values[i] = rng.normal() * init.std;
    }
    // Inside tidy, so the initial tensor does not outlive the variable's copy of it.
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), trainable));
    this.#variables.set(name, variable);
    return variable;
  }

  /** The parameter named `name`. */
  get(name: string): tf.Variable {
    const v = this.#variables.get(name);
    if (!v) throw new ModelError('shape_error', `no parameter named ${name}`);
    return v;
  }

  /** Names in creation order. */
  names(): string[] {
    return [...this.#variables.keys()];
  }

  /** Variables in creation order. */
  variables(): tf.Variable[] {
    return [...this.#variables.values()];
  }

  /** Named variables in creation order (the form `optimizer.applyGradients` accepts). */
  entries(): [string, tf.Variable][] {
    return [...this.#variables.entries()];
  }

  /** Total number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.#variables.values()) n += v.size;
    return n;
  }

  /**
   * Overwrites every parameter from `values` (same names and shapes). A parameter missing from `values` is an error
   * unless `keepInitial(name)` says to keep its initial value (a model grown from a smaller checkpoint).
   */
  assign(values: Readonly<Record<string, tf.Tensor>>, keepInitial?: (name: string) => boolean): void {
    for (const [name, variable] of this.#variables) {
      const value = values[name];
      if (!value && keepInitial?.(name)) continue;
      if (!value) throw new ModelError('checkpoint_mismatch', `missing weight ${name}`);
      if (value.shape.join(',') !== variable.shape.join(',')) {
        throw new ModelError('checkpoint_mismatch', `weight ${name} has shape [${value.shape}], expected [${variable.shape}]`);
      }
      variable.assign(value);
    }
  }

  /** Disposes every variable. */
  dispose(): void {
    for (const v of this.#variables.values()) v.dispose();
    this.#variables.clear();
  }
}

/** GELU in its tanh form written with a sigmoid: x·σ(2√(2/π)(x + 0.044715x³)), exactly the tanh form. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const cube = x.mul(x).mul(x);
    return x.mul(tf.sigmoid(x.add(cube.mul(0.044715)).mul(1.5957691216057308)));
  });
}

/** Reshapes `[..., n]` to `[rows, n]`. */
function to2d(x: tf.Tensor): tf.Tensor2D {
  const n = x.shape[x.rank - 1] as number;
  return x.rank === 2 ? (x as tf.Tensor2D) : (x.reshape([-1, n]) as tf.Tensor2D);
}

/** A dense layer `y = x·W + b`, applied to the last axis of any rank through a 2-D product. */
export class Linear {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(params: Parameters, name: string, readonly inDim: number, readonly outDim: number, options: { bias?: boolean; std?: number } = {}) {
    this.weight = params.create(`${name}.weight`, [inDim, outDim], { kind: 'normal', std: options.std ?? 1 / Math.sqrt(inDim) });
    if (options.bias ?? true) this.bias = params.create(`${name}.bias`, [outDim], { kind: 'zeros' });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let y: tf.Tensor = tf.matMul(to2d(x), this.weight as tf.Tensor2D);
      if (this.bias) y = y.add(this.bias);
      return x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), this.outDim]);
    });
  }
}

/** A lookup table of `count` vectors of size `dim`. */
export class Embedding {
  readonly table: tf.Variable;
  constructor(params: Parameters, name: string, readonly count: number, readonly dim: number, std = 0.02) {
    this.table = params.create(`${name}.table`, [count, dim], { kind: 'normal', std });
  }
  /** `ids` int32 of any shape → `[...shape, dim]`. */
  apply(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = ids.dtype === 'int32' ? ids.reshape([-1]) : ids.reshape([-1]).toInt();
      return tf.gather(this.table, flat).reshape([...ids.shape, this.dim]);
    });
  }
}

/** Layer normalisation over the last axis with a learned scale and shift. */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(params: Parameters, name: string, readonly dim: number, readonly epsilon = 1e-5) {
    this.gamma = params.create(`${name}.gamma`, [dim], { kind: 'ones' });
    this.beta = params.create(`${name}.beta`, [dim], { kind: 'zeros' });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const mean = x.mean(-1, true);
      const centered = x.sub(mean);
      const variance = centered.mul(centered).mean(-1, true);
      return centered.mul(tf.rsqrt(variance.add(this.epsilon))).mul(this.gamma).add(this.beta);
    });
  }
}

/** Keys and values of one attention layer for decoding: K as `[B, H, L, dh]`, V transposed as `[B, H, dh, L]`. */
export interface AttentionCache {
  keys: tf.Tensor4D;
  valuesT: tf.Tensor4D;
}

/**
 * Multi-head self-attention with separate Q, K, V projections. `bias` is added to the scores (0 where a key is
 * visible, a large negative number where it is masked) and broadcasts to `[B, H, Lq, Lk]`.
 */
export class Attention {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly output: Linear;
  readonly headDim: number;
  constructor(params: Parameters, name: string, readonly dim: number, readonly heads: number) {
    if (dim % heads !== 0) throw new ModelError('shape_error', `model width ${dim} is not divisible by ${heads} heads`);
    this.headDim = dim / heads;
    this.query = new Linear(params, `${name}.query`, dim, dim);
    this.key = new Linear(params, `${name}.key`, dim, dim);
    this.value = new Linear(params, `${name}.value`, dim, dim);
    this.output = new Linear(params, `${name}.output`, dim, dim, { std: 1 / Math.sqrt(dim) / 2 });
  }

  /** Full attention over `x` `[B, L, d]`; also returns the decoding cache when asked. */
  apply(x: tf.Tensor3D, bias: tf.Tensor, withCache = false): { y: tf.Tensor3D; cache?: AttentionCache } {
    const [b, l] = x.shape;
    const h = this.heads;
    const dh = this.headDim;
    const x2 = x.reshape([b * l, this.dim]);
    const split = (t: tf.Tensor) => t.reshape([b, l, h, dh]);
    const q = split(this.query.apply(x2)).transpose([0, 2, 1, 3]).mul(1 / Math.sqrt(dh)) as tf.Tensor4D;
    const k4 = split(this.key.apply(x2));
    const v4 = split(this.value.apply(x2));
    const keysT = k4.transpose([0, 2, 3, 1]) as tf.Tensor4D; // [B, H, dh, L]
    const values = v4.transpose([0, 2, 1, 3]) as tf.Tensor4D; // [B, H, L, dh]
    const scores = tf.matMul(q, keysT).add(bias);
    const weights = tf.softmax(scores);
    const mixed = tf.matMul(weights as tf.Tensor4D, values).transpose([0, 2, 1, 3]).reshape([b * l, this.dim]);
    const y = this.output.apply(mixed).reshape([b, l, this.dim]) as tf.Tensor3D;
    if (!withCache) return { y };
    return { y, cache: { keys: k4.transpose([0, 2, 1, 3]) as tf.Tensor4D, valuesT: v4.transpose([0, 2, 3, 1]) as tf.Tensor4D } };
  }

  /**
   * One decoding step: `x` `[B, 1, d]` attends to the cache plus itself. `keyBias` `[B, L+1]` masks padded keys
   * (or `[B, H, L+1]` with a per-head distance bias added).
   * Returns the output and the grown cache (the caller disposes the old one).
   */
  step(x: tf.Tensor3D, cache: AttentionCache, keyBias: tf.Tensor2D | tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache } {
    const [b] = x.shape;
    const h = this.heads;
    const dh = this.headDim;
    const x2 = x.reshape([b, this.dim]);
    const q = this.query.apply(x2).reshape([b, h, 1, dh]).mul(1 / Math.sqrt(dh));
    const k = this.key.apply(x2).reshape([b, h, 1, dh]);
    const v = this.value.apply(x2).reshape([b, h, dh, 1]);
    const keys = tf.concat([cache.keys, k], 2) as tf.Tensor4D;
    const valuesT = tf.concat([cache.valuesT, v], 3) as tf.Tensor4D;
    const length = keys.shape[2];
    // One query: products as broadcast multiplies reduced over the last axis (no per-slice matMul overhead).
    // keyBias is [B, L] (the same for every head) or [B, H, L] (a per-head distance bias).
    const scores = keys.mul(q).sum(-1).add(keyBias.rank === 3 ? keyBias : keyBias.reshape([b, 1, length])); // [B, H, L]
    const weights = tf.softmax(scores).reshape([b, h, 1, length]);
    const mixed = valuesT.mul(weights).sum(-1).reshape([b, this.dim]);
    const y = this.output.apply(mixed).reshape([b, 1, this.dim]) as tf.Tensor3D;
    return { y, cache: { keys, valuesT } };
  }
}

/** The feed-forward block: Linear → GELU → Linear. */
export class Mlp {
  readonly up: Linear;
  readonly down: Linear;
  constructor(params: Parameters, name: string, dim: number, hidden: number) {
    this.up = new Linear(params, `${name}.up`, dim, hidden);
    this.down = new Linear(params, `${name}.down`, hidden, dim, { std: 1 / Math.sqrt(hidden) / 2 });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.down.apply(gelu(this.up.apply(x))));
  }
}

/** A pre-norm transformer block. */
export class TransformerBlock {
  readonly norm1: LayerNorm;
  readonly attention: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  constructor(params: Parameters, name: string, dim: number, heads: number, mlpRatio: number) {
    this.norm1 = new LayerNorm(params, `${name}.norm1`, dim);
    this.attention = new Attention(params, `${name}.attention`, dim, heads);
    this.norm2 = new LayerNorm(params, `${name}.norm2`, dim);
    this.mlp = new Mlp(params, `${name}.mlp`, dim, dim * mlpRatio);
  }
  apply(x: tf.Tensor3D, bias: tf.Tensor, withCache = false): { y: tf.Tensor3D; cache?: AttentionCache } {
    const { y: attended, cache } = this.attention.apply(this.norm1.apply(x) as tf.Tensor3D, bias, withCache);
    const h = x.add(attended);
    const y = h.add(this.mlp.apply(this.norm2.apply(h))) as tf.Tensor3D;
    return cache ? { y, cache } : { y };
  }
  step(x: tf.Tensor3D, cache: AttentionCache, keyBias: tf.Tensor2D | tf.Tensor3D): { y: tf.Tensor3D; cache: AttentionCache } {
    const { y: attended, cache: next } = this.attention.step(this.norm1.apply(x) as tf.Tensor3D, cache, keyBias);
    const h = x.add(attended);
    return { y: h.add(this.mlp.apply(this.norm2.apply(h))) as tf.Tensor3D, cache: next };
  }
}

/** Value added to masked attention scores. */
export const maskValue = -1e9;

/**
 * The attention bias of a prefix-LM: `prefix` positions (media) see each other bidirectionally, every later
 * position sees the whole prefix and the positions before it. Shape `[L, L]`.
 */
export function prefixCausalBias(prefix: number, length: number): tf.Tensor2D {
  const values = new Float32Array(length * length);
  for (let i = 0; i < length; i++) {
    for (let j = 0; j < length; j++) values[i * length + j] = j < prefix || j <= i ? 0 : maskValue;
  }
  return tf.tensor2d(values, [length, length]);
}

/** ALiBi slopes of `heads` heads: 2^(−8h/H) for h = 1…H (the first head most local). */
export function alibiSlopes(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => 2 ** ((-8 * (h + 1)) / heads));
}

/**
 * The ALiBi distance term for queries `rows` (absolute indices) over `length` keys: `−slope_h · (i − j)` where both
 * `i` and `j` are text positions (`≥ prefix`) and `j ≤ i`, else 0 (media keys, masked keys). Shape `[H, rows, L]`.
 */
export function alibiBias(prefix: number, length: number, heads: number, rows: readonly number[] = Array.from({ length }, (_, i) => i)): tf.Tensor3D {
  const slopes = alibiSlopes(heads);
  const values = new Float32Array(heads * rows.length * length);
  for (let h = 0; h < heads; h++) {
    const slope = slopes[h] as number;
    rows.forEach((i, r) => {
      if (i < prefix) return;
      for (let j = prefix; j <= Math.min(i, length - 1); j++) values[(h * rows.length + r) * length + j] = -slope * (i - j);
    });
  }
  return tf.tensor3d(values, [heads, rows.length, length]);
}

/** Rearranges `[N, H, W, C]` to `[N, H/2, W/2, 4C]` with rank-4 transposes only. */
export function spaceToDepth2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    if (h % 2 || w % 2) throw new ModelError('shape_error', `space-to-depth needs even sizes, got ${h}x${w}`);
    return x
      .reshape([n * (h / 2), 2, w / 2, 2 * c])
      .transpose([0, 2, 1, 3])
      .reshape([n, h / 2, w / 2, 4 * c]) as tf.Tensor4D;
  });
}

/** A 2-D convolution with bias (NHWC, 'same' padding). */
export class Conv2d {
  readonly filter: tf.Variable;
  readonly bias: tf.Variable;
  constructor(params: Parameters, name: string, inChannels: number, outChannels: number, readonly size: number, readonly stride: number, options: { zero?: boolean } = {}) {
    this.filter = params.create(`${name}.filter`, [size, size, inChannels, outChannels], options.zero ? { kind: 'zeros' } : { kind: 'normal', std: Math.sqrt(2 / (size * size * inChannels)) });
    this.bias = params.create(`${name}.bias`, [outChannels], { kind: 'zeros' });
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.conv2d(x, this.filter as tf.Tensor4D, this.stride, 'same').add(this.bias) as tf.Tensor4D);
  }
}

/** The residual block a stem parameter belongs to (`vision.stem.conv<i>.block<k>.…` → k), else undefined. */
export function stemBlockIndex(name: string): number | undefined {
  const match = /^vision\.stem\.conv\d+\.block(\d+)\./.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * The convolutional stem of the vision encoder: 2×2 space-to-depth, a 3×3 convolution, then stride-2 3×3
 * convolutions (one per further channel count), GELU after each; after each conv, `residualBlocks` blocks
 * `x + conv_b(gelu(conv_a(x)))` whose `conv_b` starts at zero. `[N, S, S, 3]` → `[N, S/2^k, S/2^k, C]`.
 */
export class ConvStem {
  readonly convs: Conv2d[];
  readonly blocks: [Conv2d, Conv2d][][];
  constructor(params: Parameters, name: string, channels: readonly number[], residualBlocks = 0) {
    if (channels.length < 1) throw new ModelError('shape_error', 'the conv stem needs at least one channel count');
    this.convs = [];
    this.blocks = [];
    channels.forEach((c, i) => {
      this.convs.push(new Conv2d(params, `${name}.conv${i}`, i === 0 ? 12 : (channels[i - 1] as number), c, 3, i === 0 ? 1 : 2));
      this.blocks.push(
        Array.from({ length: residualBlocks }, (_, k) => [
          new Conv2d(params, `${name}.conv${i}.block${k}.a`, c, c, 3, 1),
          new Conv2d(params, `${name}.conv${i}.block${k}.b`, c, c, 3, 1, { zero: true }),
        ]),
      );
    });
  }
  /** Side length of the output grid for an input of side `size`. */
  outputSide(size: number): number {
    return size / 2 / 2 ** (this.convs.length - 1);
  }
  apply(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let x = spaceToDepth2(images);
      this.convs.forEach((conv, i) => {
        x = gelu(conv.apply(x)) as tf.Tensor4D;
        for (const [a, b] of this.blocks[i] ?? []) x = x.add(b.apply(gelu(a.apply(x)) as tf.Tensor4D)) as tf.Tensor4D;
      });
      return x;
    });
  }
}
