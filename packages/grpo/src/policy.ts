/**
 * The `Policy` contract: what the trainer needs from a generator. Types only; the flow-matching image and video
 * policies implement it over @flex/model's generator networks, and users can plug in their own.
 */

/** One sampled output and what is needed to recompute its log-probs. */
export interface Rollout<TSample, TState = unknown> {
  /** The output itself (an image, a video, a token sequence). */
  readonly sample: TSample;
  /** Per-step log-probs under the parameters that sampled (the "old" log-probs of the ratio ρ). */
  readonly logProbs: readonly number[];
  /**
   * Whatever the policy needs to recompute the log-probs under new parameters: for a flow policy the latents
   * before and after each step and the σ grid; for a token policy the token ids. Opaque to the trainer.
   */
  readonly state: TState;
}

/** The rollouts of one prompt: a group of `groupSize` outputs. */
export interface RolloutGroup<TPrompt, TSample, TState = unknown> {
  readonly prompt: TPrompt;
  /** Index of the prompt in the request. */
  readonly promptIndex: number;
  readonly rollouts: readonly Rollout<TSample, TState>[];
}

/** What {@link Policy.sample} is asked for. */
export interface PolicySampleRequest<TPrompt> {
  readonly prompts: readonly TPrompt[];
  /** Outputs per prompt (G). */
  readonly groupSize: number;
  /** Seed of the sampling noise: same seed, same rollouts. */
  readonly seed: number;
  /** `train` samples stochastically with log-probs (Flow-GRPO SDE); `eval` deterministically (the ODE). Default `train`. */
  readonly mode?: 'train' | 'eval';
  readonly signal?: AbortSignal;
}

/** What {@link Policy.logProbs} is asked for. */
export interface PolicyLogProbRequest<TSample, TState = unknown> {
  readonly rollouts: readonly Rollout<TSample, TState>[];
  /** The steps to recompute (indices into `logProbs`). Default: every step. */
  readonly steps?: readonly number[];
}

/**
 * A policy: samples groups of outputs per prompt with per-step log-probs, and recomputes those log-probs
 * under its current parameters.
 */
export interface Policy<TPrompt, TSample, TState = unknown> {
  /** A short name for logs. */
  readonly name: string;
  /** Samples `groupSize` outputs for each prompt, in prompt order. */
  sample(request: PolicySampleRequest<TPrompt>): Promise<RolloutGroup<TPrompt, TSample, TState>[]>;
  /** The log-probs of each rollout's recorded steps under the current parameters: one row per rollout. */
  logProbs(request: PolicyLogProbRequest<TSample, TState>): Promise<number[][]>;
}
