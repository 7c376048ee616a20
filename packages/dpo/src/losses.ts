import { z } from 'zod';

/** The DPO loss variants of REFERENCE.md §2. */
export const dpoLossTypeSchema = z.enum(['sigmoid', 'hinge', 'ipo', 'conservative']);
/** A DPO loss variant. */
export type DpoLossType = z.output<typeof dpoLossTypeSchema>;

/** Options of the DPO loss. */
export const dpoLossOptionsSchema = z.object({
  /** Loss variant. Default 'sigmoid'. */
  lossType: dpoLossTypeSchema.default('sigmoid'),
  /** β, the strength of the implicit KL to the reference. Default 0.1. */
  beta: z.number().positive().default(0.1),
  /** Label smoothing ε for the conservative loss (0 ≤ ε < 0.5). Default 0.1. */
  labelSmoothing: z.number().min(0).lt(0.5).default(0.1),
});
/** Input of {@link dpoLossOptionsSchema}. */
export type DpoLossOptions = z.input<typeof dpoLossOptionsSchema>;

/** Sequence log-probabilities (sums over completion tokens) of one preference pair. */
export interface PreferenceLogProbs {
  /** log π(y+ | x) under the policy being trained. */
  readonly policyChosen: number;
  /** log π(y− | x) under the policy. */
  readonly policyRejected: number;
  /** log πref(y+ | x) under the frozen reference. */
  readonly referenceChosen: number;
  /** log πref(y− | x) under the reference. */
  readonly referenceRejected: number;
}

/** The loss of one pair and the metrics TRL logs for it. */
export interface DpoPairLoss {
  readonly loss: number;
  /** β (log π − log πref) on the chosen completion (`rewards/chosen`). */
  readonly rewardChosen: number;
  /** β (log π − log πref) on the rejected completion (`rewards/rejected`). */
  readonly rewardRejected: number;
  /** `rewards/margins` = chosen − rejected. */
  readonly margin: number;
  /** `rewards/accuracies`: 1 when the chosen reward is above the rejected one, else 0. */
  readonly accuracy: number;
}

/** log(1 + e^x), computed without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * The DPO loss of one preference pair, as a pure function on numbers. With
 * h = (logπ(y+) − logπref(y+)) − (logπ(y−) − logπref(y−)):
 * sigmoid −log σ(βh); hinge max(0, 1 − βh); IPO (h − 1/(2β))²; conservative −(1−ε) log σ(βh) − ε log σ(−βh).
 */
export function dpoLoss(logProbs: PreferenceLogProbs, options: DpoLossOptions = {}): DpoPairLoss {
  const { lossType, beta, labelSmoothing } = dpoLossOptionsSchema.parse(options);
  for (const [name, value] of Object.entries(logProbs)) {
    if (!Number.isFinite(value)) throw new RangeError(`dpoLoss: ${name} must be finite, got ${value}`);
  }
  const chosenRatio = logProbs.policyChosen - logProbs.referenceChosen;
  const rejectedRatio = logProbs.policyRejected - logProbs.referenceRejected;
  const h = chosenRatio - rejectedRatio;
  let loss: number;
  switch (lossType) {
    case 'sigmoid':
      loss = softplus(-beta * h);
      break;
    case 'hinge':
      loss = Math.max(0, 1 - beta * h);
      break;
    case 'ipo':
      loss = (h - 1 / (2 * beta)) ** 2;
      break;
    case 'conservative':
      loss = (1 - labelSmoothing) * softplus(-beta * h) + labelSmoothing * softplus(beta * h);
      break;
  }
  const rewardChosen = beta * chosenRatio;
  const rewardRejected = beta * rejectedRatio;
  return {
    loss,
    rewardChosen,
    rewardRejected,
    margin: rewardChosen - rewardRejected,
    accuracy: rewardChosen > rewardRejected ? 1 : 0,
  };
}
