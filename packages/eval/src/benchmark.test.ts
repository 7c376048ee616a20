import { describe, expect, it } from 'vitest';
import { categoryIdsOf, runPreferenceBenchmark, shownOrderOf, type BenchmarkProgress } from './benchmark';
import { EvalError } from './errors';
import { assessment, failingJudge, firstSlotJudge, makePairs, perfectJudge, scriptedJudge } from './testing.test-helpers';

async function* stream<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

describe('runPreferenceBenchmark', () => {
  const pairs = makePairs(60);

  it('scores a perfect judge 1.0 and consistent', async () => {
    const result = await runPreferenceBenchmark({ judge: perfectJudge(), pairs: stream(pairs), seed: 3, bootstrapSamples: 100 });
    const m = result.metrics;
    expect(m.pairs).toBe(60);
    expect(m.accuracyDiff.value).toBe(1);
    expect(m.accuracyDiff.count).toBe(54); // every 10th pair is a tie
    // A never-tie judge loses the 6 tie pairs in tau.
    expect(m.accuracyTau.value).toBeCloseTo(54 / 60, 12);
    expect(m.parseFailureRate).toBe(0);
    expect(m.perCategory.A?.agreement.value).toBe(1);
    expect(m.perContext.calm?.accuracyDiff.value).toBe(1);
    // On the 54 non-tie pairs both orders agree; on ties it names slot 1 both times, i.e. different candidates.
    expect(m.positionConsistency.value).toBeCloseTo(54 / 60, 12);
    expect(m.calibration.ece).toBeCloseTo(0.1, 12);
    expect(result.records).toHaveLength(60);
    expect(result.records[0]).toMatchObject({ id: 'pair-0', prompt: 'prompt 0', modality: 'image' });
  });

  it('says tie under a tie margin, which wins the tie pairs in tau', async () => {
    const result = await runPreferenceBenchmark({
      judge: perfectJudge(),
      pairs,
      seed: 3,
      tieMargin: 0.05,
      bootstrapSamples: 0,
    });
    expect(result.metrics.accuracyTau.value).toBe(1);
    expect(result.metrics.positionConsistency.value).toBe(1);
    expect(result.metrics.predictedTieRate).toBeCloseTo(0.1, 12);
  });

  it('shows the low consistency of a position-biased judge', async () => {
    const result = await runPreferenceBenchmark({ judge: firstSlotJudge(), pairs, seed: 3, bootstrapSamples: 100 });
    const m = result.metrics;
    expect(m.positionConsistency.value).toBe(0);
    expect(m.positionConsistency.count).toBe(60);
    expect(m.firstSlotWinRate.value).toBe(1);
    // With the order randomised its accuracy is near chance, not the share of A labels.
    expect(m.accuracyDiff.value as number).toBeGreaterThan(0.2);
    expect(m.accuracyDiff.value as number).toBeLessThan(0.8);
  });

  it('reports a parse-failure rate of 1 for a judge that never parses', async () => {
    const result = await runPreferenceBenchmark({ judge: failingJudge(), pairs, seed: 3, bootstrapSamples: 0, sampleCount: 2 });
    const m = result.metrics;
    expect(m.parseFailureRate).toBe(1);
    expect(m.failureRate).toBe(1);
    expect(m.accuracyDiff.value).toBe(0);
    expect(m.positionConsistency.count).toBe(0);
    expect(m.calibration.count).toBe(0);
    expect(m.perCategory.A?.missing).toBe(54);
    expect(result.samples).toHaveLength(2);
    expect(result.samples[0]?.raw).toBe('garbage');
    expect(result.samples[0]?.assessment).toBeUndefined();
  });

  it('randomises the A/B order by seed and pair id, and repeats with the same seed', async () => {
    const a = await runPreferenceBenchmark({ judge: firstSlotJudge(), pairs, seed: 5, bootstrapSamples: 50 });
    const b = await runPreferenceBenchmark({ judge: firstSlotJudge(), pairs: stream(pairs), seed: 5, bootstrapSamples: 50 });
    const c = await runPreferenceBenchmark({ judge: firstSlotJudge(), pairs, seed: 6, bootstrapSamples: 50 });
    expect(b.metrics).toEqual(a.metrics);
    expect(b.records).toEqual(a.records);
    const flipped = a.records.filter((r) => r.order === 'BA').length;
    expect(flipped).toBeGreaterThan(15);
    expect(flipped).toBeLessThan(45);
    expect(c.records.map((r) => r.order)).not.toEqual(a.records.map((r) => r.order));
    expect(a.records[7]?.order).toBe(shownOrderOf(a.seeds.order, 'pair-7'));
    expect(a.settings).toMatchObject({ seed: 5, bothOrders: true, batchSize: 16, tieMargin: 0 });
  });

  it('batches requests, keeps both orders of a pair in one call, and reports progress', async () => {
    const judge = perfectJudge();
    const progress: BenchmarkProgress[] = [];
    await runPreferenceBenchmark({
      judge,
      pairs: pairs.slice(0, 10),
      batchSize: 6,
      bootstrapSamples: 0,
      total: 10,
      onProgress: (p) => progress.push(p),
    });
    expect(judge.batches).toEqual([6, 6, 6, 2]);
    expect(progress.at(-1)).toEqual({ pairsDone: 10, callsDone: 20, total: 10 });

    const single = perfectJudge();
    const result = await runPreferenceBenchmark({ judge: single, pairs: pairs.slice(0, 10), bothOrders: false, batchSize: 4, bootstrapSamples: 0, limit: 9 });
    expect(single.batches).toEqual([4, 4, 1]);
    expect(result.metrics.calls).toBe(9);
    expect(result.records[0]?.swappedPrediction).toBeUndefined();
  });

  it('keeps seeded samples with their media and assessment', async () => {
    const result = await runPreferenceBenchmark({ judge: perfectJudge(), pairs, seed: 9, bootstrapSamples: 0, sampleCount: 5 });
    expect(result.samples).toHaveLength(5);
    const ids = result.samples.map((s) => s.record.id);
    expect(new Set(ids).size).toBe(5);
    const again = await runPreferenceBenchmark({ judge: perfectJudge(), pairs, seed: 9, bootstrapSamples: 0, sampleCount: 5 });
    expect(again.samples.map((s) => s.record.id)).toEqual(ids);
    const first = result.samples[0]!;
    expect(first.assessment?.categories).toHaveLength(3);
    expect(first.a).toBe(pairs.find((p) => p.id === first.record.id)?.a);
  });

  it('judges videos', async () => {
    const result = await runPreferenceBenchmark({ judge: perfectJudge(), pairs: makePairs(10, 2, 'video'), bootstrapSamples: 0 });
    expect(result.metrics.accuracyDiff.value).toBe(1);
  });

  it('rejects bad options, bad pairs and judges that break the contract', async () => {
    await expect(runPreferenceBenchmark({ judge: perfectJudge(), pairs, batchSize: 0 })).rejects.toMatchObject({
      code: 'invalid_options',
    });
    await expect(runPreferenceBenchmark({ judge: {} as never, pairs })).rejects.toThrow(/judge/);
    const bad = [{ ...pairs[0]!, label: 'C' as never }];
    await expect(runPreferenceBenchmark({ judge: perfectJudge(), pairs: bad })).rejects.toMatchObject({ code: 'invalid_pair' });
    const mixed = [{ ...pairs[0]!, modality: 'video' as const }];
    await expect(runPreferenceBenchmark({ judge: perfectJudge(), pairs: mixed })).rejects.toThrow(/modality video/);
    const duplicate = [pairs[0]!, pairs[0]!];
    await expect(runPreferenceBenchmark({ judge: perfectJudge(), pairs: duplicate })).rejects.toThrow(/duplicate/);
    const short = { name: 'short', judge: async () => [] };
    const error = await runPreferenceBenchmark({ judge: short, pairs }).catch((e: unknown) => e);
    expect(EvalError.isInstance(error)).toBe(true);
    expect((error as EvalError).code).toBe('judge_contract');
    const outOfRange = scriptedJudge('nan', (r) => ({ ok: true, assessment: assessment(r.modality, 1), probabilityA: Number.NaN }));
    await expect(runPreferenceBenchmark({ judge: outOfRange, pairs })).rejects.toMatchObject({ code: 'judge_contract' });
    const noAssessment = scriptedJudge('empty', () => ({ ok: true, probabilityA: 0.5 }) as never);
    await expect(runPreferenceBenchmark({ judge: noAssessment, pairs })).rejects.toThrow(/readable assessment/);
    const undefinedResults = { name: 'holes', judge: async (requests: readonly unknown[]) => requests.map(() => undefined) as never };
    await expect(runPreferenceBenchmark({ judge: undefinedResults, pairs })).rejects.toMatchObject({ code: 'judge_contract' });
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(runPreferenceBenchmark({ judge: perfectJudge(), pairs, signal: controller.signal })).rejects.toThrow('stop');
  });
});

describe('categoryIdsOf', () => {
  it('maps predefined names to their ids and other categories to their position letter', () => {
    const a = assessment('image', 1, [1, 2, 1, 2]);
    expect(categoryIdsOf(a, 'image')).toEqual(['A', 'B', 'C', 'D']);
    const renamed = { ...a, categories: [a.categories[1]!, a.categories[0]!] };
    expect(categoryIdsOf(renamed, 'image')).toEqual(['B', 'A']);
  });
});
