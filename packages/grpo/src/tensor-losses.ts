import { tf, type Tensor } from '@flex/model';
import { z } from 'zod';
import { GrpoError, parseOptions } from './errors';
import { lossAggregationSchema, type LossAggregation } from './aggregation';

/**
 * The GRPO objective as differentiable TensorFlow.js ops, built with the engine @flex/model re-exports, for
 * use inside `tf.variableGrads` / `optimizer.minimize`. Written with `relu` instead of comparisons, because
 * gradients of comparison ops are missing on every backend (TFJS.md): `min(a, b) = a − relu(a − b)` and
 * `clip(ρ, lo, hi) = ρ − relu(ρ − hi) + relu(lo − ρ)` give exactly the clipped surrogate's gradient
 * (zero where the clipped branch is active).
 */

const tensorSchema = z.custom<Tensor>((v) => v instanceof tf.Tensor, { message: 'expected a tf.Tensor' });

/** Options of {@link grpoLossTensor}. */
export const grpoLossTensorOptionsSchema = z.object({
  /** Log-probs under the current parameters, `[B, T]` (sequences × tokens, or samples × flow steps). */
  logProbs: tensorSchema,
  /** Log-probs under the sampling parameters, `[B, T]` (constant). */
  oldLogProbs: tensorSchema,
  /** Advantages, `[B]` (one per sequence) or `[B, T]`. */
  advantages: tensorSchema,
  /** Optional 0/1 mask `[B, T]`; masked tokens count for nothing. */
  mask: tensorSchema.optional(),
  /** Lower clip range. Default 0.2. */
  epsilonLow: z.number().positive().lt(1).default(0.2),
  /** Upper clip range. Default: `epsilonLow`. */
  epsilonHigh: z.number().positive().optional(),
  /**
   * A per-token KL term `[B, T]` to add with weight `beta` (build it with {@link klK3Tensor} or
   * {@link gaussianKlTensor}). Default: none.
   */
  kl: tensorSchema.optional(),
  /** KL weight β. Default 0 (no KL, as current TRL). */
  beta: z.number().nonnegative().default(0),
  /** Aggregation of the per-token loss. Default `sequence-mean`. */
  aggregation: lossAggregationSchema.default('sequence-mean'),
  /** Dr.GRPO's constant length. Default: T. */
  maxLength: z.number().int().positive().optional(),
});

/** Input of {@link grpoLossTensor}. */
export type GrpoLossTensorOptions = z.input<typeof grpoLossTensorOptionsSchema>;

/** What {@link grpoLossTensor} returns (all tensors; the caller disposes what it keeps). */
export interface GrpoLossTensor {
  /** The scalar loss to minimise. */
  readonly loss: tf.Scalar;
  /** The per-token loss `[B, T]` before aggregation (surrogate + β·KL). */
  readonly perToken: Tensor;
  /** The ratios ρ `[B, T]`. */
  readonly ratio: Tensor;
}

/** The clipped surrogate `[B, T]`: `−min(ρA, clip(ρ, 1 − ε_low, 1 + ε_high)·A)`, differentiable in logProbs. */
export function clippedSurrogateTensor(
  logProbs: Tensor,
  oldLogProbs: Tensor,
  advantages: Tensor,
  epsilonLow: number,
  epsilonHigh: number,
): { loss: Tensor; ratio: Tensor } {
  return tf.tidy(() => {
    const ratio = tf.exp(tf.sub(logProbs, oldLogProbs));
    const a = advantages.rank === 1 ? advantages.expandDims(1) : advantages;
    const clippedRatio = ratio.sub(tf.relu(ratio.sub(1 + epsilonHigh))).add(tf.relu(tf.sub(1 - epsilonLow, ratio)));
    const unclippedTerm = ratio.mul(a);
    const clippedTerm = clippedRatio.mul(a);
    const minimum = unclippedTerm.sub(tf.relu(unclippedTerm.sub(clippedTerm)));
    return { loss: minimum.neg(), ratio };
  });
}

/** The k3 KL per token `[B, T]`: `exp(ref − logπ) − (ref − logπ) − 1`. */
export function klK3Tensor(logProbs: Tensor, referenceLogProbs: Tensor): Tensor {
  return tf.tidy(() => {
    const d = tf.sub(referenceLogProbs, logProbs);
    return tf.exp(d).sub(d).sub(1);
  });
}

/**
 * The closed Gaussian KL of flow steps: mean over the element axes of `(μθ − μref)² / (2s²)`.
 * `mean` and `referenceMean` are `[B, ...elements]`, `std` a number or a `[B]` tensor; the result is `[B]`.
 */
export function gaussianKlTensor(mean: Tensor, referenceMean: Tensor, std: number | Tensor): Tensor {
  return tf.tidy(() => {
    const b = mean.shape[0] as number;
    const squared = tf.square(tf.sub(mean, referenceMean)).reshape([b, -1]).mean(1);
    const s = typeof std === 'number' ? tf.scalar(std) : std.reshape([b]);
    return squared.div(tf.square(s).mul(2));
  });
}

/** Aggregates a `[B, T]` per-token loss with an optional mask (see `aggregateLoss` for the modes). */
export function aggregateLossTensor(perToken: Tensor, mask: Tensor | undefined, mode: LossAggregation, maxLength?: number): tf.Scalar {
  return tf.tidy(() => {
    const [b, t] = perToken.shape as [number, number];
    const m = mask ?? tf.onesLike(perToken);
    const masked = perToken.mul(m);
    if (mode === 'sequence-mean') {
      const counts = m.sum(1);
      const present = tf.minimum(counts, 1);
      const perSequence = masked.sum(1).div(tf.maximum(counts, 1));
      return perSequence.sum().div(tf.maximum(present.sum(), 1)) as tf.Scalar;
    }
    if (mode === 'token-mean') return masked.sum().div(tf.maximum(m.sum(), 1)) as tf.Scalar;
    return masked.sum().div(b * (maxLength ?? t)) as tf.Scalar;
  });
}

/**
 * The GRPO loss: clipped surrogate (+ β·KL), aggregated. Differentiable in `logProbs` (and in `kl`).
 * Its value agrees with the pure functions `clippedSurrogate` + `aggregateLoss`.
 */
export function grpoLossTensor(options: GrpoLossTensorOptions): GrpoLossTensor {
  const o = parseOptions(grpoLossTensorOptionsSchema, options, 'grpoLossTensor');
  if (o.logProbs.rank !== 2 || o.logProbs.shape.join() !== o.oldLogProbs.shape.join()) {
    throw new GrpoError('invalid_options', `grpoLossTensor: logProbs and oldLogProbs must both be [B, T]; got [${o.logProbs.shape}] and [${o.oldLogProbs.shape}]`);
  }
  const [b, t] = o.logProbs.shape as [number, number];
  if (o.advantages.shape[0] !== b || (o.advantages.rank === 2 && o.advantages.shape[1] !== t) || o.advantages.rank > 2) {
    throw new GrpoError('invalid_options', `grpoLossTensor: advantages must be [${b}] or [${b}, ${t}], got [${o.advantages.shape}]`);
  }
  for (const [key, value] of [['mask', o.mask], ['kl', o.kl]] as const) {
    if (value !== undefined && value.shape.join() !== o.logProbs.shape.join()) {
      throw new GrpoError('invalid_options', `grpoLossTensor: ${key} must be [${b}, ${t}], got [${value.shape}]`);
    }
  }
  const epsilonHigh = o.epsilonHigh ?? o.epsilonLow;
  return tf.tidy(() => {
    const { loss: surrogate, ratio } = clippedSurrogateTensor(o.logProbs, o.oldLogProbs, o.advantages, o.epsilonLow, epsilonHigh);
    const perToken = o.kl !== undefined && o.beta > 0 ? surrogate.add(o.kl.mul(o.beta)) : surrogate;
    const loss = aggregateLossTensor(perToken, o.mask, o.aggregation, o.maxLength);
    return { loss, perToken, ratio };
  });
}
