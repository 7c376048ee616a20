import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { activeBackend, tf } from '@flex/model';
import { GrpoError } from '../errors';
import type { FlowPolicy, FlowRolloutState } from '../flow/flow-policy';
import type { Rollout } from '../policy';
import type { GRPOCheckpointState } from './checkpoint';
import type { GRPOConfig } from './grpo-config';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

type Pending = { resolve: (response: WorkerResponse) => void; reject: (error: unknown) => void };

/**
 * Runs the GRPO update of a flow policy in a worker thread (its own TensorFlow.js backend, so its own core)
 * while the calling thread samples and judges. The worker keeps the optimizer; the caller's policy receives
 * the new weights after each update.
 */
export class WorkerUpdater {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #failure: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (response: WorkerResponse) => {
      const pending = this.#pending.get(response.id);
      if (!pending) return;
      this.#pending.delete(response.id);
      if (response.type === 'error') pending.reject(new GrpoError(response.code === 'checkpoint_error' ? 'checkpoint_error' : 'worker_error', `update worker: ${response.message}`));
      else pending.resolve(response);
    });
    const fail = (error: Error) => {
      this.#failure = error;
      for (const p of this.#pending.values()) p.reject(new GrpoError('worker_error', `update worker stopped: ${error.message}`, { cause: error }));
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.#pending.size > 0) fail(new Error(`exited with code ${code}`));
    });
  }

  /** Starts a worker holding a copy of `policy` (and its reference) with a fresh Adam optimizer from `config`. */
  static async start(policy: FlowPolicy, config: GRPOConfig): Promise<WorkerUpdater> {
    const worker = spawnUpdateWorker();
    const updater = new WorkerUpdater(worker);
    await updater.#request({
      type: 'init',
      id: 0,
      backend: activeBackend(),
      policy: policy.describe(),
      weights: weightsOf(policy.generator),
      ...(policy.reference ? { referenceWeights: weightsOf(policy.reference) } : {}),
      config,
    });
    return updater;
  }

  /** Runs one update on the worker; resolves with the new weights and the update metrics. */
  async update(options: {
    step: number;
    rollouts: readonly Rollout<unknown, FlowRolloutState>[];
    advantages: number[];
    valid: boolean[];
  }): Promise<{ weights: Float32Array[]; metrics: Record<string, number>; seconds: number }> {
    const response = await this.#request({
      type: 'update',
      id: 0,
      step: options.step,
      rollouts: options.rollouts.map((r) => ({ logProbs: r.logProbs, state: r.state })),
      advantages: options.advantages,
      valid: options.valid,
    });
    if (response.type !== 'updated') throw new GrpoError('worker_error', `update worker answered ${response.type} to an update`);
    return { weights: response.weights, metrics: response.metrics, seconds: response.seconds };
  }

  /** Writes a checkpoint of the worker's parameters and optimizer. */
  async save(folder: string, state: GRPOCheckpointState): Promise<void> {
    await this.#request({ type: 'save', id: 0, folder, state });
  }

  /** Loads a checkpoint into the worker; returns the weights (for the caller's policy) and the step. */
  async load(folder: string): Promise<{ weights: Float32Array[]; step: number; policy: Record<string, unknown> }> {
    const response = await this.#request({ type: 'load', id: 0, folder });
    if (response.type !== 'loaded') throw new GrpoError('worker_error', `update worker answered ${response.type} to a load`);
    return { weights: response.weights, step: response.step, policy: response.policy };
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    if (!this.#failure) {
      try {
        await this.#request({ type: 'close', id: 0 });
      } catch {
        // already gone
      }
    }
    await this.#worker.terminate();
  }

  #request(message: WorkerRequest): Promise<WorkerResponse> {
    if (this.#failure) return Promise.reject(new GrpoError('worker_error', `update worker stopped: ${this.#failure.message}`));
    const id = ++this.#next;
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id });
    });
  }
}

/**
 * Starts the worker script. From the built package it is `update-worker.js` beside this module; when running
 * from TypeScript source (tests, scripts under tsx) a `.ts` worker needs the tsx loader registered inside the
 * worker before its entry is imported (a `--import tsx` flag is not applied to worker entries on Node 20).
 */
function spawnUpdateWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./update-worker.js', here));
  const entry = new URL('./update-worker.ts', here).href;
  let api: string;
  try {
    // The ESM entry of tsx's register API, located through its package.json (works under any loader).
    const require = createRequire(here);
    const manifest = require.resolve('tsx/package.json');
    const exportsMap = (require(manifest) as { exports: Record<string, { import?: { default?: string } }> }).exports;
    const relative = exportsMap['./esm/api']?.import?.default;
    if (!relative) throw new Error('tsx has no ./esm/api export');
    api = pathToFileURL(join(dirname(manifest), relative)).href;
  } catch (error) {
    throw new GrpoError('not_available', 'updateInWorker from TypeScript source needs the tsx package', { cause: error });
  }
  const bootstrap = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); }).catch((error) => process.nextTick(() => { throw error; }));`;
  return new Worker(bootstrap, { eval: true, execArgv: ['--conditions=@flex/source'] });
}

function weightsOf(generator: FlowPolicy['generator']): Float32Array[] {
  return generator.parameters.variables().map((v) => v.dataSync() as Float32Array);
}

/** Overwrites a flow policy's generator weights (parameter order). */
export function assignFlowWeights(policy: FlowPolicy, weights: readonly Float32Array[]): void {
  const variables = policy.generator.parameters.variables();
  if (weights.length !== variables.length) throw new GrpoError('worker_error', `received ${weights.length} weights for ${variables.length} parameters`);
  tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(weights[i] as Float32Array, v.shape))));
}
