/**
 * Benchmarks of @flex/model (`npm run bench -w @flex/model`). The last line is one JSON object:
 * tokens_per_s (reference training step: batch 16 × 128 tokens, d 128, 4 layers, 4 heads, vocab 512),
 * matmul_gflops (plain 2-D matMul measured in the same run), judge_per_s_cache / judge_per_s_nocache
 * (assessments per second for 32 image pairs, small preset, constrained greedy decoding), parse_rate, and
 * peak memory.
 */
import { Worker } from 'node:worker_threads';
import { applyGradients, createOptimizer, initBackend, runMain, tf, trainStep } from '../src/index';
import { judgeBench } from './judge-bench';
import { buildReference, referenceBatch } from './reference-model';

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

/** GFLOP/s of a 3×3 conv's forward pass and of its input and filter gradients (48 × 16×16 × 24 → 24, the stem's first size). */
function convGflops(): { forward: number; inputGradient: number; filterGradient: number } {
  const x = tf.randomNormal([48, 16, 16, 24]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 24, 24]) as tf.Tensor4D;
  const dy = tf.randomNormal([48, 16, 16, 24]) as tf.Tensor4D;
  const flops = 2 * 48 * 16 * 16 * 24 * 24 * 9;
  const time = (op: () => tf.Tensor) => {
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const out = op();
      out.dataSync();
      times.push(performance.now() - t0);
      out.dispose();
    }
    return flops / (median(times.slice(2)) / 1000) / 1e9;
  };
  const result = {
    forward: time(() => tf.conv2d(x, w, 1, 'same')),
    inputGradient: time(() => tf.conv2dTranspose(dy, w, x.shape, 1, 'same')),
    filterGradient: time(() => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, 1, 'same').mul(dy).sum())(w))),
  };
  tf.dispose([x, w, dy]);
  return result;
}

function referenceStep(): { tokensPerSecond: number; stepSeconds: number; parameters: number; peakWasmBytes: number } {
  const model = buildReference();
  const optimizer = createOptimizer({ learningRate: 1e-3 });
  const [batch, length] = [16, 128];
  const { ids, targets: next } = referenceBatch(batch, length);
  const input = tf.tensor2d(ids, [batch, length], 'int32');
  const targets = tf.tensor2d(next, [batch, length], 'int32');
  const times: number[] = [];
  let peakWasmBytes = 0;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    trainStep({ parameters: model.parameters, optimizer, maxGradNorm: 1, loss: () => model.loss(input, targets) });
    times.push(performance.now() - t0);
    peakWasmBytes = Math.max(peakWasmBytes, tf.memory().numBytes);
    sample();
  }
  const parameters = model.parameters.count();
  tf.dispose([input, targets]);
  optimizer.dispose();
  model.dispose();
  const stepSeconds = median(times.slice(2)) / 1000;
  return { tokensPerSecond: (batch * length) / stepSeconds, stepSeconds, parameters, peakWasmBytes };
}

/**
 * Data-parallel reference step on 2 worker threads (one wasm engine each): each computes the gradients of
 * half the batch, the main thread averages them, applies Adam and sends the new weights back.
 */
async function dataParallelStep(workers = 2): Promise<{ tokensPerSecond: number; stepSeconds: number; overheadSeconds: number }> {
  const model = buildReference();
  const optimizer = createOptimizer({ learningRate: 1e-3 });
  const [batch, length] = [16, 128];
  const share = batch / workers;
  const pool = Array.from({ length: workers }, () => new Worker(new URL('./dp-worker.mjs', import.meta.url)));
  type Reply = { type: string; loss?: number; values?: Float32Array[] };
  const waiting = new Map<Worker, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  for (const w of pool) {
    w.on('message', (r: Reply) => waiting.get(w)?.resolve(r));
    w.on('error', (e) => waiting.get(w)?.reject(e));
  }
  const next = (w: Worker) => new Promise<Reply>((resolve, reject) => waiting.set(w, { resolve, reject }));
  await Promise.all(pool.map(next));
  const sendWeights = async () => {
    const values = model.parameters.variables().map((v) => v.dataSync() as Float32Array);
    await Promise.all(pool.map((w) => { const ready = next(w); w.postMessage({ type: 'weights', values }); return ready; }));
  };
  await sendWeights();
  const times: number[] = [];
  const overheads: number[] = [];
  try {
    // Workers warm up over their first steps (JIT tiers, operator caches): measure after four.
    for (let step = 0; step < 9; step++) {
      const t0 = performance.now();
      const replies = await Promise.all(
        pool.map((w, k) => {
          const { ids, targets } = referenceBatch(share, length, k * share * length);
          const reply = next(w);
          w.postMessage({ type: 'step', ids, targets, batch: share, length });
          return reply;
        }),
      );
      const t1 = performance.now();
      const grads = model.parameters.variables().map((v, i) => {
        const sum = new Float32Array(v.size);
        for (const r of replies) {
          const g = r.values?.[i] as Float32Array;
          for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + (g[j] as number) / workers;
        }
        return tf.tensor(sum, v.shape);
      });
      applyGradients(model.parameters, optimizer, grads, { maxGradNorm: 1 });
      await sendWeights();
      const t2 = performance.now();
      times.push(t2 - t0);
      overheads.push(t2 - t1);
      sample();
    }
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
    optimizer.dispose();
    model.dispose();
  }
  const stepSeconds = median(times.slice(4)) / 1000;
  return { tokensPerSecond: (batch * length) / stepSeconds, stepSeconds, overheadSeconds: median(overheads.slice(4)) / 1000 };
}

await runMain(async () => {
  const backend = await initBackend();
  console.log(`backend ${backend.backend}${backend.fixedKernels ? ' (fixed kernels)' : ''}`);
  const gflops = matmulGflops();
  console.log(`plain 2-D matMul 1024x512x512: ${gflops.toFixed(1)} GFLOP/s`);
  const conv = convGflops();
  console.log(
    `3x3 conv 48x16x16x24: forward ${conv.forward.toFixed(1)} GFLOP/s, input gradient ${conv.inputGradient.toFixed(1)} (${(conv.inputGradient / conv.forward).toFixed(2)}x forward), ` +
      `filter gradient (with its forward) ${conv.filterGradient.toFixed(1)} (${(conv.filterGradient / conv.forward).toFixed(2)}x)`,
  );
  const ref = referenceStep();
  const flopsPerToken = 6 * ref.parameters; // forward + backward, weights only (attention scores excluded)
  const modelGflops = (flopsPerToken * ref.tokensPerSecond) / 1e9;
  console.log(
    `reference step (16x128 tokens, d128, 4 layers, 4 heads, vocab 512, ${(ref.parameters / 1e6).toFixed(2)} M params): ` +
      `${ref.stepSeconds.toFixed(3)} s/step, ${Math.round(ref.tokensPerSecond)} tokens/s, ~${modelGflops.toFixed(1)} GFLOP/s = ${((100 * modelGflops) / gflops).toFixed(0)}% of matMul`,
  );
  const parallel = await dataParallelStep();
  console.log(`data-parallel reference step on 2 worker threads: ${parallel.stepSeconds.toFixed(3)} s/step, ${Math.round(parallel.tokensPerSecond)} tokens/s (${(parallel.tokensPerSecond / ref.tokensPerSecond).toFixed(2)}x one thread; averaging + Adam + weight broadcast ${parallel.overheadSeconds.toFixed(3)} s of it)`);
  const referencePeakRss = peakRss;
  const judge = await judgeBench({ sample });
  clearInterval(sampler);
  sample();
  console.log(
    JSON.stringify({
      backend: backend.backend,
      tokens_per_s: Math.round(ref.tokensPerSecond),
      tokens_per_s_2_workers: Math.round(parallel.tokensPerSecond),
      matmul_gflops: Number(gflops.toFixed(2)),
      conv_input_grad_to_forward: Number((conv.inputGradient / conv.forward).toFixed(3)),
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
