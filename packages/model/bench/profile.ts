import { Backbone, createOptimizer, crossEntropyLoss, initBackend, runMain, tf, trainStep, modelConfigSchema } from '../src/index';
await runMain(async () => {
  await initBackend();
  const config = modelConfigSchema.parse({ kind: 'flex-judge', vocabSize: 512, dModel: 128, layers: 4, heads: 4, mlpRatio: 4, maxTextLength: 128, seed: 1 });
  const model = new Backbone(config);
  const w = model.params.create('bench.head', [128, 512], { kind: 'normal', std: 0.05 });
  const optimizer = createOptimizer({ learningRate: 1e-3 });
  const input = tf.randomUniform([16, 128], 0, 512, 'int32') as tf.Tensor2D;
  const weights = tf.ones([16, 128]) as tf.Tensor2D;
  const step = () => trainStep({ parameters: model.params, optimizer, loss: () => {
    const { hidden } = model.forward({ text: model.embedText(input) });
    const logits = tf.matMul(hidden.reshape([2048, 128]) as tf.Tensor2D, w as tf.Tensor2D).reshape([16, 128, 512]) as tf.Tensor3D;
    return crossEntropyLoss(logits, input, weights);
  }});
  step(); step();
  const info = await tf.profile(() => { step(); });
  const by = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const key = k.name + ' ' + JSON.stringify(k.inputShapes);
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += k.kernelTimeMs as number; e.n++;
    by.set(key, e);
  }
  const total = [...by.values()].reduce((s, e) => s + e.ms, 0);
  console.log('total kernel ms', total.toFixed(1));
  for (const [k, e] of [...by.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) console.log(e.ms.toFixed(1).padStart(7), String(e.n).padStart(4), k);
});
