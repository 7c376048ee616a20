/**
 * @flex/eval bench: the cost of the metrics (with 1000 bootstrap resamples), of the runner around a judge, and
 * of writing a report. Prints ratios against references measured in the same run; the last line is one JSON
 * object of the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Judge, JudgeRequest, RgbImage } from '@flex/criteria';
import { winnerLabel } from '@flex/criteria';
import { computePreferenceMetrics, createRandom, runPreferenceBenchmark, writeReport, type BenchmarkPair, type PairOutcomeInput } from '../src/index';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
async function time(repeats: number, run: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return median(times);
}

const random = createRandom(1);
const pairsCount = 5000;
const records: PairOutcomeInput[] = Array.from({ length: pairsCount }, (_, i) => {
  const p = random();
  const label = random() < 0.1 ? 'tie' : random() < p ? 'A' : 'B';
  return {
    id: String(i), label, context: `c${i % 8}`, order: i % 2 ? 'AB' : 'BA',
    prediction: p > 0.5 ? 'A' : 'B', probabilityA: p, swappedPrediction: random() < 0.8 ? (p > 0.5 ? 'A' : 'B') : 'A',
    swappedProbabilityA: p, categoryPredictions: { A: 'A', B: 'B', C: 'A' }, oracleCategoryWinners: { A: 'A', B: 'A', C: 'tie' },
  };
});

// Reference: one pass computing plain accuracy over the same records.
const reference = await time(5, () => {
  let right = 0;
  for (const r of records) if (r.prediction === r.label) right++;
  return right / records.length;
});
const metricsMs = await time(5, () => computePreferenceMetrics({ records, bootstrapSamples: 1000 }));
const metricsNoBootstrapMs = await time(5, () => computePreferenceMetrics({ records, bootstrapSamples: 0 }));

const image = (v: number): RgbImage => ({ width: 32, height: 32, data: new Float32Array(32 * 32 * 3).fill(v) });
const pairs: BenchmarkPair[] = Array.from({ length: 2000 }, (_, i) => ({
  id: `p${i}`, prompt: 'a red circle', modality: 'image', a: image(random()), b: image(random()), label: i % 2 ? 'A' : 'B', context: `c${i % 4}`,
}));
const assessment = (r: JudgeRequest, slot: 1 | 2) => ({
  prompt: r.prompt,
  categories: [{ name: 'Semantic Alignment & Accuracy', dims: [{ name: 'x', reason_1: '', reason_2: '', score_1: 5, score_2: 5 }], cat_reason: '', cat_winner: winnerLabel('image', slot) }],
  reason: '', winner: winnerLabel('image', slot),
});
const judge: Judge = {
  name: 'instant',
  async judge(requests) {
    return requests.map((r) => {
      const slot = (r.a as RgbImage).data[0]! >= (r.b as RgbImage).data[0]! ? 1 : 2;
      return { ok: true as const, assessment: assessment(r, slot) as never, probabilityA: slot === 1 ? 0.8 : 0.2 };
    });
  },
};
// Reference: calling the judge directly on every pair in both orders, batches of 16.
const directMs = await time(3, async () => {
  for (let i = 0; i < pairs.length; i += 8) {
    const batch = pairs.slice(i, i + 8);
    await judge.judge(batch.flatMap((p) => [{ prompt: p.prompt, modality: p.modality, a: p.a, b: p.b }, { prompt: p.prompt, modality: p.modality, a: p.b, b: p.a }]));
  }
});
const runnerMs = await time(3, () => runPreferenceBenchmark({ judge, pairs, bootstrapSamples: 0, sampleCount: 8 }));

const result = await runPreferenceBenchmark({ judge, pairs, bootstrapSamples: 1000, sampleCount: 8 });
const dir = mkdtempSync(join(tmpdir(), 'flex-eval-bench-'));
const reportMs = await time(3, () => writeReport({ runDir: dir, results: { runs: [result, { ...result, judge: 'copy' }] } }));
rmSync(dir, { recursive: true, force: true });

const figures = {
  metrics_ms_5k_pairs_1000_bootstrap: Number(metricsMs.toFixed(1)),
  metrics_ms_5k_pairs_no_bootstrap: Number(metricsNoBootstrapMs.toFixed(1)),
  metrics_vs_plain_accuracy_ratio: Number((metricsNoBootstrapMs / reference).toFixed(1)),
  runner_ms_2k_pairs_both_orders: Number(runnerMs.toFixed(1)),
  runner_overhead_vs_direct_judge_calls: Number((runnerMs / directMs).toFixed(2)),
  report_ms_2_runs_2k_pairs: Number(reportMs.toFixed(1)),
};
console.log(`metrics: ${figures.metrics_ms_5k_pairs_1000_bootstrap} ms for 5k pairs with 1000 bootstrap resamples`);
console.log(`runner: ${figures.runner_overhead_vs_direct_judge_calls}× the time of calling the judge directly`);
console.log(JSON.stringify(figures));
