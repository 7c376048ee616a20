import { Backbone, crossEntropyLoss, modelConfigSchema, tf, type Parameters } from '../src/index';

/** The reference model of the benchmarks: d 128, 4 layers, 4 heads, vocab 512, 128-token text, plus an output head. */
export function buildReference(): { parameters: Parameters; loss: (input: tf.Tensor2D, targets: tf.Tensor2D) => tf.Scalar; dispose: () => void } {
  const config = modelConfigSchema.parse({ kind: 'flex-judge', vocabSize: 512, dModel: 128, layers: 4, heads: 4, mlpRatio: 4, maxTextLength: 128, seed: 1 });
  const model = new Backbone(config);
  const head = model.params.create('bench.head', [128, 512], { kind: 'normal', std: 0.05 });
  return {
    parameters: model.params,
    loss: (input, targets) =>
      tf.tidy(() => {
        const [b, t] = input.shape;
        const { hidden } = model.forward({ text: model.embedText(input) });
        const logits = tf.matMul(hidden.reshape([b * t, 128]) as tf.Tensor2D, head as tf.Tensor2D).reshape([b, t, 512]) as tf.Tensor3D;
        return crossEntropyLoss(logits, targets, tf.onesLike(targets).toFloat() as tf.Tensor2D);
      }),
    dispose: () => model.dispose(),
  };
}

/** Deterministic token ids and next-token targets for `batch` × `length`. */
export function referenceBatch(batch: number, length: number, offset = 0): { ids: Int32Array; targets: Int32Array } {
  const ids = new Int32Array(batch * length);
  for (let i = 0; i < ids.length; i++) ids[i] = ((i + offset) * 7919 + ((i + offset) >> 7) * 31) % 512;
  return { ids, targets: ids.map((v) => (v * 3 + 1) % 512) };
}
