import { tf } from '@flex/model';
import { type DpoLossOptions, dpoLossOptionsSchema } from './losses';

/** Sequence log-probabilities of a batch of preference pairs, as `[B]` tensors. */
export interface PreferenceLogProbTensors {
  readonly policyChosen: tf.Tensor1D;
  readonly policyRejected: tf.Tensor1D;
  readonly referenceChosen: tf.Tensor1D;
  readonly referenceRejected: tf.Tensor1D;
}

/** The DPO loss of a batch on the engine, and the per-pair quantities TRL logs. */
export interface DpoLossTensors {
  /** Mean loss over the batch (differentiable). */
  readonly loss: tf.Scalar;
  /** Per-pair losses `[B]`. */
  readonly losses: tf.Tensor1D;
  /** β (log π − log πref) on chosen `[B]`. */
  readonly rewardsChosen: tf.Tensor1D;
  readonly rewardsRejected: tf.Tensor1D;
  /** 1 where the chosen reward is above the rejected `[B]`. */
  readonly accuracies: tf.Tensor1D;
}

/**
 * The DPO losses of REFERENCE.md §2 as tensors (the same formulas as {@link dpoLoss}, checked against it):
 * sigmoid −log σ(βh), hinge max(0, 1 − βh), IPO (h − 1/(2β))², conservative −(1−ε) log σ(βh) − ε log σ(−βh),
 * with h the difference of the policy/reference log-ratios of chosen and rejected. −log σ(z) is written softplus(−z)
 * (tf.logSigmoid crashed on wasm inside minimize, TFJS.md). Call inside `tf.tidy` or dispose the results.
 */
export function dpoLossTensor(logProbs: PreferenceLogProbTensors, options: DpoLossOptions = {}): DpoLossTensors {
  const { lossType, beta, labelSmoothing } = dpoLossOptionsSchema.parse(options);
  return tf.tidy(() => {
    const chosenRatio = logProbs.policyChosen.sub(logProbs.referenceChosen);
    const rejectedRatio = logProbs.policyRejected.sub(logProbs.referenceRejected);
    const h = chosenRatio.sub(rejectedRatio);
    const z = h.mul(beta);
    let losses: tf.Tensor;
    switch (lossType) {
      case 'sigmoid':
        losses = tf.softplus(z.neg());
        break;
      case 'hinge':
        losses = tf.relu(tf.scalar(1).sub(z));
        break;
      case 'ipo':
        losses = h.sub(1 / (2 * beta)).square();
        break;
      case 'conservative':
        losses = tf.softplus(z.neg()).mul(1 - labelSmoothing).add(tf.softplus(z).mul(labelSmoothing));
        break;
    }
    const rewardsChosen = chosenRatio.mul(beta);
    const rewardsRejected = rejectedRatio.mul(beta);
    return {
      loss: losses.mean() as tf.Scalar,
      losses: losses as tf.Tensor1D,
      rewardsChosen: rewardsChosen as tf.Tensor1D,
      rewardsRejected: rewardsRejected as tf.Tensor1D,
      accuracies: tf.greater(rewardsChosen, rewardsRejected).toFloat() as tf.Tensor1D,
    };
  });
}
