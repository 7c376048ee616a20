import type { JudgeExample } from './flex-judge';
import type { PreferencePair } from './bradley-terry';
import type { tf } from './engine';
import type { Parameters } from './layers';

/**
 * What a data-parallel worker computes: the loss of one share of a batch over a replica of the model's
 * parameters (same names and creation order as the main model).
 */
export interface DataParallelTask<Payload = unknown> {
  readonly parameters: Parameters;
  /** The mean loss of `payload` (a scalar built from the replica's forward pass). */
  loss(payload: Payload): tf.Scalar;
  dispose?(): void;
}

/**
 * Which task the workers run: the SFT loss of a Flex judge (payload: `JudgeExample[]`), the pairwise loss of a
 * Bradley–Terry model (payload: `PreferencePair[]`), or a module of your own that exports
 * `createTask(options): DataParallelTask | Promise<DataParallelTask>` (payload: anything structured-cloneable).
 */
export type DataParallelTaskSpec =
  | { readonly kind: 'flex-judge-loss'; readonly scoreWeight?: number }
  | { readonly kind: 'bradley-terry-loss' }
  | { readonly kind: 'module'; /** File URL or absolute path of the module. */ readonly module: string; readonly options?: unknown };

/** Payload types of the built-in tasks. */
export type FlexJudgeLossPayload = readonly JudgeExample[];
export type BradleyTerryLossPayload = readonly PreferencePair[];

/** Messages between the main thread and the workers. */
export type ToWorker =
  | { type: 'init'; task: DataParallelTaskSpec; model?: { kind: 'flex-judge' | 'bradley-terry'; config: unknown; tokenizer: unknown; layout?: string } }
  | { type: 'step'; id: number; weights?: Float32Array[]; payload: unknown };
export type FromWorker =
  | { type: 'ready'; names: string[] }
  | { type: 'grads'; id: number; loss: number; grads: Float32Array[] }
  | { type: 'error'; id?: number; message: string };
