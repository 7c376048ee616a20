import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '@flex/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineDefinitions, baselineIds, checkClaimedOrdering, loadBaselineJudge } from './baselines';
import { runPreferenceBenchmark } from './benchmark';
import { runBenchmarkSuite, type SuiteProgress } from './suite';
import { readDatasetPairs, runDatasetBenchmark } from './synth-dataset';
import { firstSlotJudge, perfectJudge } from './testing.test-helpers';

let dir: string;
let images: string;
let videos: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flex-eval-synth-'));
  images = join(dir, 'images');
  videos = join(dir, 'videos');
  await synthesize({ out: images, pairs: 60, seed: 3, split: 'test', width: 16, samples: 1 });
  await synthesize({ out: videos, pairs: 6, seed: 4, split: 'test', modality: 'video', width: 12, samples: 1 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('synth datasets', () => {
  it('streams pairs with media, labels, contexts and oracle category winners', async () => {
    const pairs = [];
    for await (const pair of readDatasetPairs({ data: images, limit: 5 })) pairs.push(pair);
    expect(pairs).toHaveLength(5);
    const first = pairs[0]!;
    expect(first.modality).toBe('image');
    expect('width' in first.a && first.a.width).toBe(16);
    expect(['A', 'B', 'tie']).toContain(first.label);
    expect(Object.keys(first.oracleCategoryWinners ?? {})).toEqual(expect.arrayContaining(['A', 'B', 'C']));
    expect(first.record.id).toBe(first.id);
  });

  it('puts the oracle ceiling near the top, consistent in both orders, agreeing with its own categories', async () => {
    const judge = await loadBaselineJudge({ id: 'oracle' });
    const result = await runDatasetBenchmark({ judge, data: images, seed: 1, bootstrapSamples: 100 });
    const m = result.metrics;
    expect(result.benchmark).toBe('image/test');
    expect(result.judge).toBe('oracle ceiling');
    expect(m.pairs).toBe(60);
    expect(m.parseFailureRate).toBe(0);
    expect(m.accuracyDiff.value as number).toBeGreaterThan(0.75);
    expect(m.positionConsistency.value as number).toBeGreaterThan(0.9);
    expect(m.perCategory.A?.agreement.value as number).toBeGreaterThan(0.9);
    expect(Object.keys(m.perContext).length).toBeGreaterThan(1);
  });

  it('runs the simulated teacher and scripted judges on the same pairs', async () => {
    const teacher = await loadBaselineJudge({ id: 'teacher' });
    const t = await runDatasetBenchmark({ judge: teacher, data: images, seed: 1, bootstrapSamples: 0 });
    expect(t.judge).toBe('teacher');
    expect(t.metrics.accuracyDiff.value as number).toBeGreaterThan(0.6);
    const biased = await runDatasetBenchmark({ judge: firstSlotJudge(), data: images, seed: 1, bootstrapSamples: 0, limit: 20 });
    expect(biased.metrics.pairs).toBe(20);
    expect(biased.metrics.positionConsistency.value).toBe(0);
  });

  it('judges video datasets', async () => {
    const oracle = await loadBaselineJudge({ id: 'oracle' });
    const result = await runDatasetBenchmark({ judge: oracle, data: videos, bootstrapSamples: 0 });
    expect(result.benchmark).toBe('video/test');
    expect(result.metrics.failureRate).toBe(0);
  });

  it('reports missing datasets and records clearly', async () => {
    await expect(runDatasetBenchmark({ judge: perfectJudge(), data: join(dir, 'nope') })).rejects.toMatchObject({
      code: 'invalid_dataset',
    });
    const oracle = await loadBaselineJudge({ id: 'oracle' });
    // Pairs without synth records: the oracle answers with typed failures, never a throw.
    const result = await runPreferenceBenchmark({ judge: oracle, pairs: (await import('./testing.test-helpers')).makePairs(4), bootstrapSamples: 0 });
    expect(result.metrics.failureRate).toBe(1);
    expect(result.records[0]?.error?.code).toBe('invalid_request');
    const broken = join(dir, 'broken');
    await rm(broken, { recursive: true, force: true });
    await synthesize({ out: broken, pairs: 2, seed: 1, width: 8, samples: 1 });
    await writeFile(join(broken, 'pairs.jsonl'), '{"id": 1}\n');
    await expect(runDatasetBenchmark({ judge: perfectJudge(), data: broken })).rejects.toMatchObject({ code: 'invalid_dataset' });
  });
});

describe('runBenchmarkSuite', () => {
  it('runs every judge on every dataset, loading lazy judges once', async () => {
    let loads = 0;
    const progress: SuiteProgress[] = [];
    const results = await runBenchmarkSuite({
      judges: [firstSlotJudge(), async () => { loads++; return loadBaselineJudge({ id: 'oracle' }); }],
      datasets: [images, videos],
      limit: 6,
      bootstrapSamples: 0,
      onProgress: (p) => progress.push(p),
    });
    expect(loads).toBe(1);
    expect(results.map((r) => `${r.judge} ${r.benchmark}`)).toEqual([
      'first-slot image/test',
      'first-slot video/test',
      'oracle ceiling image/test',
      'oracle ceiling video/test',
    ]);
    expect(progress.at(-1)).toMatchObject({ judge: 'oracle ceiling', data: videos, run: 3, runs: 4, pairsDone: 6, total: 6 });
    // The same seed everywhere: every judge saw each pair in the same order.
    expect(results[0]!.records.map((r) => r.order)).toEqual(results[2]!.records.map((r) => r.order));
  });
});

describe('baselines', () => {
  it('lists every row in the claimed order', () => {
    expect(baselineDefinitions.map((b) => b.id)).toEqual([...baselineIds]);
    expect(baselineIds).toEqual(['scalar-bt', 'fixed-rubric', 'flex-sft', 'flex-sft-dpo', 'teacher', 'oracle']);
  });

  it('loads checkpoint baselines through the given loader and says what is missing otherwise', async () => {
    await expect(loadBaselineJudge({ id: 'flex-sft' })).rejects.toThrow(/checkpoint/);
    const seen: unknown[] = [];
    const judge = await loadBaselineJudge({
      id: 'flex-sft-dpo',
      checkpoint: '/ckpt',
      loadCheckpointJudge: async (o) => {
        seen.push(o);
        return perfectJudge();
      },
    });
    expect(seen).toEqual([{ dir: '/ckpt', kind: 'flex-sft-dpo' }]);
    expect(judge.name).toBe('Flex SFT+DPO');
    await expect(loadBaselineJudge({ id: 'nope' as never })).rejects.toMatchObject({ code: 'invalid_options' });
  });
});

describe('checkClaimedOrdering', () => {
  const run = (judge: string, value: number, benchmark = 'image/test') => ({
    benchmark,
    judge,
    metrics: { accuracyDiff: { value, lower: value - 0.05, upper: value + 0.05 } },
  });
  it('says whether accuracy increases along the claimed rows', () => {
    const checks = checkClaimedOrdering([
      run('scalar Bradley–Terry', 0.6),
      run('fixed-rubric judge', 0.65),
      run('Flex SFT', 0.7),
      run('Flex SFT+DPO', 0.68),
      run('teacher', 0.9),
      run('scalar Bradley–Terry', 0.5, 'video/test'),
      run('Flex SFT+DPO', 0.7, 'video/test'),
      run('Flex SFT', 0.6, 'other'),
    ]);
    expect(checks.map((c) => [c.benchmark, c.holds])).toEqual([
      ['image/test', false],
      ['video/test', true],
      ['other', null],
    ]);
    expect(checks[0]?.violations).toEqual(['Flex SFT+DPO 68.0 ≤ Flex SFT 70.0, intervals overlap']);
    expect(checks[0]?.rows.map((r) => r.id)).toEqual(['scalar-bt', 'fixed-rubric', 'flex-sft', 'flex-sft-dpo']);
  });
});
