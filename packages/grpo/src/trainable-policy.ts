import type { Parameters, Tensor } from '@flex/model';
import type { Policy, Rollout } from './policy';

/** What {@link TrainablePolicy.logProbTensors} is asked for. */
export interface LogProbTensorRequest<TSample, TState> {
  readonly rollouts: readonly Rollout<TSample, TState>[];
  /** The step indices to compute (the same for every rollout), in order. */
  readonly steps: readonly number[];
  /** Also return the per-step KL to the reference policy. */
  readonly withKl: boolean;
}

/**
 * A policy the trainer can update: a {@link Policy} whose log-probs can be built as differentiable tensors
 * over its parameters (from @flex/model). The flow-matching policies implement it; so can a user's own.
 */
export interface TrainablePolicy<TPrompt, TSample, TState = unknown> extends Policy<TPrompt, TSample, TState> {
  /** The trainable parameters (their order is the order of optimizer slots and checkpoint weights). */
  readonly parameters: Parameters;
  /** Whether {@link logProbTensors} can return a KL to a reference policy. */
  readonly hasReference: boolean;
  /** Number of steps with a log-prob in one rollout (the same for every rollout of this policy). */
  stepCount(): number;
  /**
   * Differentiable log-probs `[B, S]` of the rollouts' recorded steps under the current parameters, and with
   * `withKl` the per-step KL `[B, S]` to the reference policy. Called inside `tf.variableGrads`.
   */
  logProbTensors(request: LogProbTensorRequest<TSample, TState>): { logProbs: Tensor; kl?: Tensor };
  /** A JSON description stored in checkpoints (kind, config), checked on resume. */
  describe(): Record<string, unknown>;
}
