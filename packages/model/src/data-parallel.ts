import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { tf } from './engine';
import { ModelError, parseOptions } from './errors';
import { FlexJudgeModel } from './flex-judge';
import { BradleyTerryModel } from './bradley-terry';
import type { Parameters } from './layers';
import { applyGradients, type TrainStepResult } from './training';
import type { DataParallelTaskSpec, FromWorker, ToWorker } from './data-parallel-protocol';

/**
 * Data-parallel training on worker threads (TFJS.md: threads are off in the wasm backend under Node, but one
 * wasm engine per worker thread uses every core). Each worker holds a replica of the parameters and computes
 * the gradients of its share of the batch; the main thread averages them (weighted by share), applies one
 * optimizer update to the main model, and sends the new weights with the next step — so the main model and
 * its optimizer stay the single source of truth (checkpoints, evaluation) and a run equals a single-thread
 * run with the same batch up to float rounding of the average.
 */

const moduleUrl: string = import.meta.url;

function startWorker(): Worker {
  for (const extension of ['.js', '.mjs', '.ts']) {
    const url = new URL(`./data-parallel-worker${extension}`, moduleUrl);
    if (!existsSync(fileURLToPath(url))) continue;
    if (extension !== '.ts') return new Worker(url);
    // From source (tests, scripts run with tsx): register tsx's loader inside the worker, then load the
    // TypeScript entry with sibling packages resolved to their source too.
    const tsx = pathToFileURL(createRequire(moduleUrl).resolve('tsx/esm/api')).href;
    const code = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(url.href)});`;
    return new Worker(code, { eval: true, execArgv: ['--conditions=@flex/source'] });
  }
  throw new ModelError('backend_unavailable', 'the data-parallel worker script is missing next to @flex/model');
}

/** Options of {@link DataParallelTrainer.create}. */
export const dataParallelOptionsSchema = z.object({
  /** The main model: its parameters receive the updates; its config and tokenizer build the replicas. */
  model: z.custom<FlexJudgeModel | BradleyTerryModel | { parameters: Parameters }>((m) => typeof m === 'object' && m !== null && 'parameters' in m, 'a model with parameters'),
  /** What the workers compute. Default: the model's own loss (SFT loss for a Flex judge, pairwise loss for Bradley–Terry). */
  task: z.custom<DataParallelTaskSpec>((t) => typeof t === 'object' && t !== null && 'kind' in t).optional(),
  /** Worker threads. Default 2 (one per core here). */
  workers: z.number().int().min(1).max(64).default(2),
});
/** Input of {@link DataParallelTrainer.create}. */
export type DataParallelOptions = z.input<typeof dataParallelOptionsSchema>;

/** Data-parallel gradient computation over worker threads, updates on the main model. */
export class DataParallelTrainer {
  readonly workers: number;
  readonly #pool: Worker[];
  readonly #parameters: Parameters;
  readonly #pending = new Map<Worker, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  #stepId = 0;
  #closed = false;

  private constructor(pool: Worker[], parameters: Parameters) {
    this.#pool = pool;
    this.#parameters = parameters;
    this.workers = pool.length;
    for (const worker of pool) {
      worker.on('message', (message: FromWorker) => {
        const waiting = this.#pending.get(worker);
        this.#pending.delete(worker);
        if (!waiting) return;
        if (message.type === 'error') waiting.reject(new ModelError('backend_unavailable', `data-parallel worker failed: ${message.message}`));
        else waiting.resolve(message);
      });
      worker.on('error', (error) => {
        const waiting = this.#pending.get(worker);
        this.#pending.delete(worker);
        waiting?.reject(error);
      });
    }
  }

  #request(worker: Worker, message: ToWorker): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.#pending.set(worker, { resolve, reject });
      worker.postMessage(message);
    });
  }

  /** Starts the workers and builds a replica in each. */
  static async create(options: DataParallelOptions): Promise<DataParallelTrainer> {
    const o = parseOptions(dataParallelOptionsSchema, options, 'DataParallelTrainer options');
    const model = o.model;
    let task = o.task;
    let description: Extract<ToWorker, { type: 'init' }>['model'];
    if (model instanceof FlexJudgeModel || model instanceof BradleyTerryModel) {
      description = { kind: model.kind, config: model.config, tokenizer: model.tokenizer.toJSON(), ...(model instanceof FlexJudgeModel ? { layout: model.layout } : {}) };
      task ??= model instanceof FlexJudgeModel ? { kind: 'flex-judge-loss' } : { kind: 'bradley-terry-loss' };
    }
    if (!task) throw new ModelError('invalid_options', 'a custom model needs a task of kind "module"');
    const pool = Array.from({ length: o.workers }, () => startWorker());
    const trainer = new DataParallelTrainer(pool, model.parameters);
    try {
      const names = model.parameters.names();
      const replies = await Promise.all(pool.map((w) => trainer.#request(w, { type: 'init', task: task as DataParallelTaskSpec, ...(description ? { model: description } : {}) })));
      for (const reply of replies) {
        if (reply.type !== 'ready' || reply.names.join('\n') !== names.join('\n')) {
          throw new ModelError('checkpoint_mismatch', 'a worker replica has different parameters from the main model');
        }
      }
    } catch (error) {
      await trainer.close();
      throw error;
    }
    return trainer;
  }

  /**
   * One optimisation step: `payloads[k]` goes to worker k (fewer payloads than workers leave the rest idle);
   * gradients are averaged with `weights` (default: equal, which matches a full-batch mean loss when the
   * shares have equal token counts), clipped to `maxGradNorm`, and applied to the main model.
   */
  async step(options: { payloads: readonly unknown[]; optimizer: tf.Optimizer; maxGradNorm?: number; weights?: readonly number[] }): Promise<TrainStepResult> {
    if (this.#closed) throw new ModelError('invalid_options', 'the trainer is closed');
    const { payloads, optimizer } = options;
    if (payloads.length === 0 || payloads.length > this.workers) throw new ModelError('invalid_options', `between 1 and ${this.workers} payloads per step`);
    const weights = options.weights ?? payloads.map(() => 1 / payloads.length);
    const variables = this.#parameters.variables();
    const current = variables.map((v) => v.dataSync() as Float32Array);
    const id = this.#stepId++;
    const replies = await Promise.all(payloads.map((payload, k) => this.#request(this.#pool[k] as Worker, { type: 'step', id, weights: current, payload })));
    let loss = 0;
    const sums = variables.map((v) => new Float32Array(v.size));
    replies.forEach((reply, k) => {
      if (reply.type !== 'grads') throw new ModelError('backend_unavailable', 'unexpected reply from a worker');
      const w = weights[k] as number;
      loss += w * reply.loss;
      reply.grads.forEach((g, i) => {
        const sum = sums[i] as Float32Array;
        for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + w * (g[j] as number);
      });
    });
    if (!Number.isFinite(loss)) return { loss, gradNorm: Number.NaN, applied: false };
    const grads = variables.map((v, i) => tf.tensor(sums[i] as Float32Array, v.shape));
    const { gradNorm, applied } = applyGradients(this.#parameters, optimizer, grads, options.maxGradNorm === undefined ? {} : { maxGradNorm: options.maxGradNorm });
    return { loss, gradNorm, applied };
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#pool.map((w) => w.terminate()));
  }
}
