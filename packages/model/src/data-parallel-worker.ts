/**
 * The worker side of {@link DataParallelTrainer}: one TensorFlow.js engine (wasm) per thread, holding a
 * replica of the model's parameters and computing the gradients of its share of each batch.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { initBackend } from './backend';
import { tf } from './engine';
import { FlexJudgeModel, type JudgeExample } from './flex-judge';
import { BradleyTerryModel, type PreferencePair } from './bradley-terry';
import { modelConfigSchema } from './config';
import { Tokenizer } from './tokenizer';
import { computeGradients } from './training';
import type { DataParallelTask, FromWorker, ToWorker } from './data-parallel-protocol';

async function createTask(message: Extract<ToWorker, { type: 'init' }>): Promise<DataParallelTask> {
  const spec = message.task;
  if (spec.kind === 'module') {
    const specifier = spec.module.startsWith('file:') ? spec.module : pathToFileURL(spec.module).href;
    const module = (await import(/* @vite-ignore */ specifier)) as { createTask?: (options: unknown) => DataParallelTask | Promise<DataParallelTask> };
    if (typeof module.createTask !== 'function') throw new Error(`${spec.module} does not export createTask(options)`);
    return module.createTask(spec.options);
  }
  if (!message.model) throw new Error('the built-in tasks need the model description');
  const config = modelConfigSchema.parse(message.model.config);
  const tokenizer = Tokenizer.fromJSON(message.model.tokenizer);
  if (spec.kind === 'flex-judge-loss') {
    const model = new FlexJudgeModel(config, tokenizer, { layout: (message.model.layout as 'prompt-first' | 'evidence-first') ?? 'prompt-first' });
    return {
      parameters: model.parameters,
      loss: (payload) => {
        const batch = model.prepareBatch(payload as JudgeExample[], spec.scoreWeight === undefined ? {} : { scoreWeight: spec.scoreWeight });
        try {
          return model.loss(batch);
        } finally {
          batch.dispose();
        }
      },
      dispose: () => model.dispose(),
    };
  }
  const model = new BradleyTerryModel(config, tokenizer);
  return { parameters: model.parameters, loss: (payload) => model.pairLoss(payload as PreferencePair[]), dispose: () => model.dispose() };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  let task: DataParallelTask | undefined;
  port.on('message', async (message: ToWorker) => {
    try {
      if (message.type === 'init') {
        await initBackend({ backend: 'wasm' });
        task = await createTask(message);
        post({ type: 'ready', names: task.parameters.names() });
        return;
      }
      if (!task) throw new Error('step before init');
      const variables = task.parameters.variables();
      if (message.weights) {
        const weights = message.weights;
        tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(weights[i] as Float32Array, v.shape))));
      }
      const current = task;
      const { loss, grads } = computeGradients(current.parameters, () => current.loss(message.payload));
      // A copy: on some backends dataSync returns the stored array itself, which must not be transferred.
      const values = grads.map((g) => (g.dataSync() as Float32Array).slice());
      const value = loss.dataSync()[0] as number;
      tf.dispose([loss, ...grads]);
      post({ type: 'grads', id: message.id, loss: value, grads: values }, values.map((v) => v.buffer as ArrayBuffer));
    } catch (error) {
      post({ type: 'error', ...(message.type === 'step' ? { id: message.id } : {}), message: (error as Error).stack ?? String(error) });
    }
  });
}
