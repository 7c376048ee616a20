/**
 * Benchmarks of @flex/model (`npm run bench -w @flex/model`). The last line is one JSON object:
 * tokens_per_s (reference training step: batch 16 × 128 tokens, d 128, 4 layers, 4 heads, vocab 512),
 * matmul_gflops (plain 2-D matMul measured in the same run), judge_per_s_cache / judge_per_s_nocache
 * (assessments per second for 32 image pairs, small preset, constrained greedy decoding), parse_rate, and
 * peak memory.
 */
import { Backbone, createOptimizer, crossEntropyLoss, initBackend, presetConfig, runMain, tf, trainStep, modelConfigSchema } from '../src/index';
import { judgeBench } from './judge-bench';

let peakRss = 0;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const sampler = setInterval(sample, 50);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function matmulGflops(): number {
  const [m, k, n] = [1024, 512, 512];
  const a = tf.randomNormal([m, k]) as tf.Tensor2D;
  const b = tf.randomNormal([k, n]) as tf.Tensor2D;
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    times.push(performance.now() - t0);
    c.dispose();
    sample();
  }
  tf.dispose([a, b]);
  return (2 * m * k * n) / (median(times.slice(2)) / 1000) / 1e9;
}

function referenceStep(): { tokensPerSecond: number; stepSeconds: number; parameters: number; peakWasmBytes: number } {
  const config = modelConfigSchema.parse({ kind: 'flex-judge', vocabSize: 512, dModel: 128, layers: 4, heads: 4, mlpRatio: 4, maxTextLength: 128, seed: 1 });
  const model = new Backbone(config);
  const head = new (class {
    weight = model.params.create('bench.head', [128, 512], { kind: 'normal', std: 0.05 });
  })();
  const optimizer = createOptimizer({ learningRate: 1e-3 });
  const [batch, length] = [16, 128];
  const ids = new Int32Array(batch * length);
  for (let i = 0; i < ids.length; i++) ids[i] = (i * 7919 + (i >> 7) * 31) % 512;
  const input = tf.tensor2d(ids, [batch, length], 'int32');
  const targets = tf.tensor2d(ids.map((v) => (v * 3 + 1) % 512), [batch, length], 'int32');
  const weights = tf.ones([batch, length]) as tf.Tensor2D;
  const times: number[] = [];
  let peakWasmBytes = 0;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    trainStep({
      parameters: model.params,
      optimizer,
      maxGradNorm: 1,
      loss: () => {
        const { hidden } = model.forward({ text: model.embedText(input) });
        const logits = tf.matMul(hidden.reshape([batch * length, 128]) as tf.Tensor2D, head.weight as tf.Tensor2D).reshape([batch, length, 512]) as tf.Tensor3D;
        return crossEntropyLoss(logits, targets, weights);
      },
    });
    times.push(performance.now() - t0);
    peakWasmBytes = Math.max(peakWasmBytes, tf.memory().numBytes);
    sample();
  }
  const parameters = model.params.count();
  tf.dispose([input, targets, weights]);
  optimizer.dispose();
  model.dispose();
  const stepSeconds = median(times.slice(2)) / 1000;
  return { tokensPerSecond: (batch * length) / stepSeconds, stepSeconds, parameters, peakWasmBytes };
}

await runMain(async () => {
  const backend = await initBackend();
  console.log(`backend ${backend.backend}${backend.fixedKernels ? ' (fixed kernels)' : ''}`);
  const gflops = matmulGflops();
  console.log(`plain 2-D matMul 1024x512x512: ${gflops.toFixed(1)} GFLOP/s`);
  const ref = referenceStep();
  const flopsPerToken = 6 * ref.parameters; // forward + backward, weights only (attention scores excluded)
  const modelGflops = (flopsPerToken * ref.tokensPerSecond) / 1e9;
  console.log(
    `reference step (16x128 tokens, d128, 4 layers, 4 heads, vocab 512, ${(ref.parameters / 1e6).toFixed(2)} M params): ` +
      `${ref.stepSeconds.toFixed(3)} s/step, ${Math.round(ref.tokensPerSecond)} tokens/s, ~${modelGflops.toFixed(1)} GFLOP/s = ${((100 * modelGflops) / gflops).toFixed(0)}% of matMul`,
  );
  const referencePeakRss = peakRss;
  const judge = await judgeBench({ sample });
  clearInterval(sampler);
  sample();
  console.log(
    JSON.stringify({
      backend: backend.backend,
      tokens_per_s: Math.round(ref.tokensPerSecond),
      matmul_gflops: Number(gflops.toFixed(2)),
      model_gflops: Number(modelGflops.toFixed(2)),
      model_to_matmul: Number((modelGflops / gflops).toFixed(3)),
      reference_step_s: Number(ref.stepSeconds.toFixed(4)),
      judge_per_s_cache: Number(judge.perSecondCache.toFixed(2)),
      judge_per_s_nocache: Number(judge.perSecondNoCache.toFixed(2)),
      cache_speedup: Number((judge.perSecondCache / judge.perSecondNoCache).toFixed(2)),
      parse_rate: judge.parseRate,
      reference_peak_rss_mb: Math.round(referencePeakRss / 2 ** 20),
      reference_peak_tensor_mb: Math.round(ref.peakWasmBytes / 2 ** 20),
      judge_peak_rss_mb: Math.round(peakRss / 2 ** 20),
    }),
  );
});
