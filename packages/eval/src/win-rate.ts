import { z } from 'zod';
import type { Media, Modality } from '@flex/criteria';
import { preferenceBenchmarkOptionsSchema, runPreferenceBenchmark, type BenchmarkRecord } from './benchmark';
import { parseOptions } from './errors';
import { bootstrapProportion, type Estimate, type Verdict } from './metrics';
import { hashSeed } from './random';

/**
 * Generation scores: how often a judge prefers one generator's output to another's on the same prompts
 * (a policy after GRPO against its starting point, or against a reference generator). Unlabelled pairs,
 * A/B order randomised by seed and asked in both orders; a tie counts half.
 */

/** One comparison: the candidate under test (`a`) and the reference (`b`) for one prompt. */
export interface GenerationPair {
  readonly id: string;
  readonly prompt: string;
  readonly modality: Modality;
  /** The output under test. */
  readonly a: Media;
  /** The reference output. */
  readonly b: Media;
  /** The producer's record, passed to judges that read it. */
  readonly record?: unknown;
}

/** The options of {@link generationWinRate}. */
export const generationWinRateOptionsSchema = preferenceBenchmarkOptionsSchema
  .pick({ judge: true, seed: true, bothOrders: true, batchSize: true, tieMargin: true, bootstrapSamples: true, limit: true, total: true, onProgress: true, signal: true })
  .extend({
    /** The comparisons, streamed or as an array. */
    pairs: z.custom<AsyncIterable<GenerationPair> | Iterable<GenerationPair>>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        (typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
          typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function'),
      { message: 'expected an iterable or async iterable of pairs' },
    ),
  });

/** Options of {@link generationWinRate}. */
export type GenerationWinRateOptions = z.input<typeof generationWinRateOptionsSchema>;

/** How a judge rated the outputs under test against the reference. */
export interface GenerationWinRate {
  /** The judge's name. */
  readonly judge: string;
  /** Mean per-pair score of the output under test (win 1, tie 0.5, loss 0; averaged over the readable orders), with its bootstrap interval; pairs with no readable call are left out. */
  readonly winRate: Estimate;
  /** Pairs whose score is above 0.5. */
  readonly wins: number;
  /** Pairs whose score is 0.5. */
  readonly ties: number;
  /** Pairs whose score is below 0.5. */
  readonly losses: number;
  /** Pairs with no readable call. */
  readonly failed: number;
  /** Share of pairs with both calls readable that got the same verdict in both orders. */
  readonly positionConsistency: Estimate;
  /** One record per pair (verdicts: `A` = the output under test won). */
  readonly records: readonly BenchmarkRecord[];
}

const scoreOf: Record<Verdict, number> = { A: 1, tie: 0.5, B: 0 };

/** Runs the judge over the comparisons and returns the win rate of the outputs under test. */
export async function generationWinRate(options: GenerationWinRateOptions): Promise<GenerationWinRate> {
  const o = parseOptions(generationWinRateOptionsSchema, options, 'generationWinRate');
  const { pairs, bootstrapSamples, ...rest } = o;
  async function* labelled() {
    // The runner needs a label; it is unused here (the win rate is computed from the verdicts).
    for await (const pair of pairs as AsyncIterable<GenerationPair>) yield { ...pair, label: 'A' as const };
  }
  const result = await runPreferenceBenchmark({ ...rest, pairs: labelled(), bootstrapSamples: 0, sampleCount: 0 });
  const scores: number[] = [];
  let wins = 0;
  let ties = 0;
  let losses = 0;
  let failed = 0;
  for (const record of result.records) {
    const verdicts = [record.prediction, record.swappedPrediction].filter((v): v is Verdict => v !== null && v !== undefined);
    if (verdicts.length === 0) {
      failed++;
      continue;
    }
    const score = verdicts.reduce((sum, v) => sum + scoreOf[v], 0) / verdicts.length;
    scores.push(score);
    if (score > 0.5) wins++;
    else if (score < 0.5) losses++;
    else ties++;
  }
  return {
    judge: result.judge,
    winRate: bootstrapProportion(scores, bootstrapSamples, hashSeed(o.seed, 'win-rate')),
    wins,
    ties,
    losses,
    failed,
    positionConsistency: result.metrics.positionConsistency,
    records: result.records,
  };
}
