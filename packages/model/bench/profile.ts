/** Kernels of one reference training step by time: `node ../../scripts/run-ts.mjs bench/profile.ts`. */
import { createOptimizer, initBackend, runMain, tf, trainStep } from '../src/index';
import { buildReference, referenceBatch } from './reference-model';

await runMain(async () => {
  await initBackend();
  const model = buildReference();
  const optimizer = createOptimizer({ learningRate: 1e-3 });
  const { ids, targets } = referenceBatch(16, 128);
  const input = tf.tensor2d(ids, [16, 128], 'int32');
  const target = tf.tensor2d(targets, [16, 128], 'int32');
  const step = () => trainStep({ parameters: model.parameters, optimizer, loss: () => model.loss(input, target) });
  step();
  step();
  const info = await tf.profile(() => {
    step();
  });
  const byKernel = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const entry = byKernel.get(key) ?? { ms: 0, n: 0 };
    entry.ms += k.kernelTimeMs as number;
    entry.n++;
    byKernel.set(key, entry);
  }
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  console.log(`total kernel time ${total.toFixed(1)} ms`);
  for (const [k, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(e.ms.toFixed(1).padStart(7), String(e.n).padStart(4), k);
});
