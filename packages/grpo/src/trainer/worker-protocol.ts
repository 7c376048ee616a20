import type { FlowRolloutState } from '../flow/flow-policy';
import type { GRPOCheckpointState } from './checkpoint';
import type { GRPOConfig } from './grpo-config';

/** Messages from the trainer to the update worker. */
export type WorkerRequest =
  | {
      type: 'init';
      id: number;
      backend: string;
      policy: Record<string, unknown>;
      weights: Float32Array[];
      referenceWeights?: Float32Array[];
      config: GRPOConfig;
    }
  | {
      type: 'update';
      id: number;
      step: number;
      rollouts: { logProbs: readonly number[]; state: FlowRolloutState }[];
      advantages: number[];
      valid: boolean[];
    }
  | { type: 'save'; id: number; folder: string; state: GRPOCheckpointState }
  | { type: 'load'; id: number; folder: string }
  | { type: 'close'; id: number };

/** Messages from the update worker back to the trainer. */
export type WorkerResponse =
  | { type: 'ready'; id: number }
  | { type: 'updated'; id: number; weights: Float32Array[]; metrics: Record<string, number>; seconds: number }
  | { type: 'saved'; id: number }
  | { type: 'loaded'; id: number; weights: Float32Array[]; step: number; policy: Record<string, unknown> }
  | { type: 'closed'; id: number }
  | { type: 'error'; id: number; message: string; code?: string };
