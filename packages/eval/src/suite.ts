import { z } from 'zod';
import type { Judge } from '@flex/criteria';
import { preferenceBenchmarkOptionsSchema, type BenchmarkProgress, type PreferenceBenchmarkResult } from './benchmark';
import { parseOptions } from './errors';
import { runDatasetBenchmark } from './synth-dataset';

/**
 * Every judge on every dataset folder: the comparison table of a run (Flex against the baselines on the
 * image, video and held-out-context benchmarks), as one call.
 */

/** Progress of a suite: which judge on which dataset, and that benchmark's own progress. */
export interface SuiteProgress extends BenchmarkProgress {
  /** The judge's name. */
  readonly judge: string;
  /** The dataset folder. */
  readonly data: string;
  /** Index of the current (judge, dataset) run, from 0. */
  readonly run: number;
  /** Number of runs in the suite. */
  readonly runs: number;
}

/** The options of {@link runBenchmarkSuite}. */
export const benchmarkSuiteOptionsSchema = preferenceBenchmarkOptionsSchema
  .pick({ seed: true, bothOrders: true, batchSize: true, tieMargin: true, bootstrapSamples: true, calibrationBins: true, sampleCount: true, limit: true, signal: true })
  .extend({
    /** The judges, in row order. A judge may also be a function that loads it (called once, when its turn comes). */
    judges: z
      .array(
        z.custom<Judge | (() => Promise<Judge>)>(
          (v) => typeof v === 'function' || (typeof v === 'object' && v !== null && typeof (v as Judge).judge === 'function'),
          { message: 'expected a Judge or a function returning one' },
        ),
      )
      .min(1),
    /** The dataset folders (synth format), one benchmark each. */
    datasets: z.array(z.string().min(1)).min(1),
    /** Called after every judge call, with the run's position in the suite. */
    onProgress: z.custom<(progress: SuiteProgress) => void>((v) => typeof v === 'function').optional(),
  });

/** Options of {@link runBenchmarkSuite}. */
export type BenchmarkSuiteOptions = z.input<typeof benchmarkSuiteOptionsSchema>;

/**
 * Runs every judge on every dataset (judge-major order, the same seed everywhere so every judge sees every
 * pair in the same order) and returns the results in that order, ready for `writeReport`.
 */
export async function runBenchmarkSuite(options: BenchmarkSuiteOptions): Promise<PreferenceBenchmarkResult[]> {
  const { judges, datasets, onProgress, ...rest } = parseOptions(benchmarkSuiteOptionsSchema, options, 'runBenchmarkSuite');
  const results: PreferenceBenchmarkResult[] = [];
  const runs = judges.length * datasets.length;
  for (const entry of judges) {
    const judge = typeof entry === 'function' ? await entry() : entry;
    for (const data of datasets) {
      const run = results.length;
      results.push(
        await runDatasetBenchmark({
          ...rest,
          judge,
          data,
          ...(onProgress ? { onProgress: (p: BenchmarkProgress) => onProgress({ ...p, judge: judge.name, data, run, runs }) } : {}),
        }),
      );
    }
  }
  return results;
}
