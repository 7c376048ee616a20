/** A data-parallel worker: one wasm engine per thread, computing gradients of its share of the batch. */
import { isMainThread, parentPort } from 'node:worker_threads';
import { computeGradients, initBackend, runMain, tf } from '../src/index';
import { buildReference } from './reference-model';

if (!isMainThread && parentPort) {
  const port = parentPort;
  await runMain(async () => {
    await initBackend({ backend: 'wasm' });
    const model = buildReference();
    const variables = model.parameters.variables();
    port.on('message', (message: { type: 'weights'; values: Float32Array[] } | { type: 'step'; ids: Int32Array; targets: Int32Array; batch: number; length: number }) => {
      if (message.type === 'weights') {
        variables.forEach((v, i) => v.assign(tf.tensor(message.values[i] as Float32Array, v.shape)));
        port.postMessage({ type: 'ready' });
        return;
      }
      const input = tf.tensor2d(message.ids, [message.batch, message.length], 'int32');
      const targets = tf.tensor2d(message.targets, [message.batch, message.length], 'int32');
      const { loss, grads } = computeGradients(model.parameters, () => model.loss(input, targets));
      const values = grads.map((g) => g.dataSync() as Float32Array);
      const lossValue = loss.dataSync()[0];
      tf.dispose([loss, ...grads, input, targets]);
      port.postMessage({ type: 'grads', loss: lossValue, values }, values.map((v) => v.buffer as ArrayBuffer));
    });
    port.postMessage({ type: 'ready' });
  });
}
