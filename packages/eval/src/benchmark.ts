import { z } from 'zod';
import {
  isVideo,
  assignCategoryIds,
  slotOfWinner,
  type Judge,
  type TeacherRequest,
  type JudgeResult,
  type Media,
  type Modality,
  type PairwiseAssessment,
} from '@flex/criteria';
import { EvalError, parseOptions } from './errors';
import {
  computePreferenceMetrics,
  verdictSchema,
  type PairOutcome,
  type PreferenceMetrics,
  type ShownOrder,
  type Verdict,
} from './metrics';
import { createRandom, hashSeed } from './random';

/**
 * The preference benchmark runner: streams labelled pairs through any `Judge` (on assessments the judge
 * generates, never teacher-forced), in an A/B order randomised by seed and optionally in both orders, keeps
 * one plain record per pair and a few samples with their media, and returns every metric.
 */

/** One labelled pair to judge. Verdicts are in the pair's own terms: `A` is `a`, `B` is `b`. */
export interface BenchmarkPair {
  /** Stable id (the A/B order of the pair depends on the seed and this id only). */
  readonly id: string;
  /** The generation prompt. */
  readonly prompt: string;
  /** `image` or `video`; must match the media. */
  readonly modality: Modality;
  /** Candidate A. */
  readonly a: Media;
  /** Candidate B. */
  readonly b: Media;
  /** The ground-truth preference. */
  readonly label: Verdict;
  /** The context the pair was labelled under (purpose, mood, style), for per-context accuracy. */
  readonly context?: string;
  /** The oracle's winner per category id (A, B, C, D…), for per-category agreement. */
  readonly oracleCategoryWinners?: Readonly<Record<string, Verdict>>;
  /**
   * The producer's own record of the pair, passed through on every request as `TeacherRequest.record`, so
   * judges that read the producer's facts (the simulated teacher, the oracle ceiling) can use it. Judges
   * that only look at media ignore it.
   */
  readonly record?: unknown;
}

/** What the runner keeps of one pair: the metric record plus the prompt and modality. */
export interface BenchmarkRecord extends PairOutcome {
  /** The generation prompt. */
  readonly prompt: string;
  /** The pair's modality. */
  readonly modality: Modality;
}

/** A pair kept with its media, for reports: the images and the judge's own assessment beside them. */
export interface BenchmarkSample {
  /** The pair's record (verdicts in dataset terms). */
  readonly record: BenchmarkRecord;
  /** Candidate A of the dataset. */
  readonly a: Media;
  /** Candidate B of the dataset. */
  readonly b: Media;
  /** The main call's assessment, in the slots the judge saw (`record.order`); absent when it failed. */
  readonly assessment?: PairwiseAssessment;
  /** The raw text of the main call, when the judge wrote text (useful for parse failures). */
  readonly raw?: string;
}

/** Progress of a running benchmark. */
export interface BenchmarkProgress {
  /** Pairs judged so far. */
  readonly pairsDone: number;
  /** Judge calls made so far (one or two per pair). */
  readonly callsDone: number;
  /** The expected number of pairs, when the caller passed `total`. */
  readonly total?: number;
}

const judgeSchema = z.custom<Judge>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Judge).name === 'string' &&
    typeof (value as Judge).judge === 'function',
  { message: 'expected a Judge ({ name, judge(requests) })' },
);

const pairsSchema = z.custom<AsyncIterable<BenchmarkPair> | Iterable<BenchmarkPair>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    (typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
      typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'),
  { message: 'expected an iterable or async iterable of pairs' },
);

/** The options of {@link runPreferenceBenchmark}. */
export const preferenceBenchmarkOptionsSchema = z.object({
  /** The judge to measure. */
  judge: judgeSchema,
  /** The labelled pairs, streamed (an async iterable such as a dataset reader, or an array). */
  pairs: pairsSchema,
  /** Name of the benchmark in results and reports. Default `benchmark`. */
  benchmark: z.string().min(1).default('benchmark'),
  /** Seed of the A/B order, the bootstrap and the choice of samples. Default 0. */
  seed: z.number().int().nonnegative().default(0),
  /** Ask every pair in both orders too (needed for position consistency; doubles the calls). Default true. */
  bothOrders: z.boolean().default(true),
  /** Judge requests per `judge()` call (a pair in both orders takes two). Default 16. */
  batchSize: z.number().int().min(1).max(4096).default(16),
  /**
   * The judge says "tie" when |P(slot 1 wins) − 0.5| < tieMargin, otherwise its assessment's winner stands.
   * Default 0: a Flex assessment always names a winner, so the judge never says tie.
   */
  tieMargin: z.number().min(0).max(0.5).default(0),
  /** Bootstrap resamples for the 95% intervals (0 turns them off). Default 1000. */
  bootstrapSamples: z.number().int().nonnegative().max(100_000).default(1000),
  /** Bins of the reliability diagram. Default 10. */
  calibrationBins: z.number().int().min(1).max(100).default(10),
  /** Pairs kept with their media for the report, chosen uniformly at random by seed. Default 8. */
  sampleCount: z.number().int().nonnegative().max(1000).default(8),
  /** Stop after this many pairs. Default: every pair. */
  limit: z.number().int().positive().optional(),
  /** The expected number of pairs, only passed back to `onProgress` (for progress bars). */
  total: z.number().int().nonnegative().optional(),
  /** Called after every judge call. */
  onProgress: z.custom<(progress: BenchmarkProgress) => void>((v) => typeof v === 'function').optional(),
  /** Cancels the run: the judge gets it too, and the runner throws the abort reason. */
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
});

/** Options of {@link runPreferenceBenchmark}. */
export type PreferenceBenchmarkOptions = z.input<typeof preferenceBenchmarkOptionsSchema>;

/** The resolved options a benchmark ran with (everything but the judge, the pairs and the callbacks). */
export interface BenchmarkSettings {
  readonly benchmark: string;
  readonly seed: number;
  readonly bothOrders: boolean;
  readonly batchSize: number;
  readonly tieMargin: number;
  readonly bootstrapSamples: number;
  readonly calibrationBins: number;
  readonly sampleCount: number;
  readonly limit?: number;
}

/** The result of one benchmark run: every metric, every pair's record, and a few samples with media. */
export interface PreferenceBenchmarkResult {
  /** The benchmark's name. */
  readonly benchmark: string;
  /** The judge's name. */
  readonly judge: string;
  /** The options that produced these numbers. */
  readonly settings: BenchmarkSettings;
  /** The seeds derived from `settings.seed` for each random stream. */
  readonly seeds: { readonly order: number; readonly bootstrap: number; readonly samples: number };
  /** Every metric. */
  readonly metrics: PreferenceMetrics;
  /** One record per pair, in the order the pairs came. */
  readonly records: readonly BenchmarkRecord[];
  /** Pairs kept with media, in the order the pairs came. */
  readonly samples: readonly BenchmarkSample[];
}

/** The order a pair is shown in for its main call: a fair coin from the seed and the pair id. */
export function shownOrderOf(seed: number, pairId: string): ShownOrder {
  return hashSeed(seed, `order/${pairId}`) & 1 ? 'BA' : 'AB';
}

/**
 * Category ids of an assessment's categories, as @flex/criteria assigns them (`assignCategoryIds`): a
 * predefined category (any reasonable spelling) gets A, B or C, every other one the next free id from D on.
 */
export function categoryIdsOf(assessment: PairwiseAssessment, modality: Modality): string[] {
  return assignCategoryIds(
    assessment.categories.map((category) => category.name),
    modality,
  );
}

/** The dataset-terms verdict of a slot under an order. */
function verdictOfSlot(slot: 1 | 2, order: ShownOrder): 'A' | 'B' {
  return (slot === 1) === (order === 'AB') ? 'A' : 'B';
}

interface ReadCall {
  prediction: Verdict | null;
  probabilityA: number | null;
  error?: { code: string; message: string };
  categoryPredictions?: Record<string, Verdict>;
}

/** Reads one judge result into dataset terms. */
function readCall(result: JudgeResult, order: ShownOrder, modality: Modality, tieMargin: number, judgeName: string): ReadCall {
  if (typeof result !== 'object' || result === null) {
    throw new EvalError('judge_contract', `judge ${judgeName} returned ${String(result)} instead of a result`);
  }
  if (!result.ok) {
    return { prediction: null, probabilityA: null, error: { code: String(result.error?.code ?? 'model_error'), message: String(result.error?.message ?? '') } };
  }
  const assessment = result.assessment as PairwiseAssessment | undefined;
  if (typeof assessment?.winner !== 'string' || !/^(Image|Video) [12]$/.test(assessment.winner) || !Array.isArray(assessment.categories)) {
    throw new EvalError('judge_contract', `judge ${judgeName} returned a success without a readable assessment (winner ${JSON.stringify(assessment?.winner)})`);
  }
  const p = result.probabilityA;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new EvalError('judge_contract', `judge ${judgeName} returned probabilityA ${String(p)} outside [0, 1]`);
  }
  const slot = slotOfWinner(result.assessment.winner);
  const prediction: Verdict = Math.abs(p - 0.5) < tieMargin ? 'tie' : verdictOfSlot(slot, order);
  const categoryPredictions: Record<string, Verdict> = {};
  const ids = categoryIdsOf(result.assessment, modality);
  result.assessment.categories.forEach((category, index) => {
    categoryPredictions[ids[index] as string] = verdictOfSlot(slotOfWinner(category.cat_winner), order);
  });
  return { prediction, probabilityA: order === 'AB' ? p : 1 - p, categoryPredictions };
}

function checkPair(pair: BenchmarkPair, index: number): void {
  const where = `pair ${index}${typeof pair?.id === 'string' ? ` (${pair.id})` : ''}`;
  if (typeof pair !== 'object' || pair === null) throw new EvalError('invalid_pair', `${where}: not an object`);
  if (typeof pair.id !== 'string' || pair.id === '') throw new EvalError('invalid_pair', `${where}: id must be a non-empty string`);
  if (typeof pair.prompt !== 'string') throw new EvalError('invalid_pair', `${where}: prompt must be a string`);
  if (!verdictSchema.safeParse(pair.label).success) {
    throw new EvalError('invalid_pair', `${where}: label must be 'A', 'B' or 'tie', got ${JSON.stringify(pair.label)}`);
  }
  if (pair.modality !== 'image' && pair.modality !== 'video') {
    throw new EvalError('invalid_pair', `${where}: modality must be 'image' or 'video'`);
  }
  for (const side of ['a', 'b'] as const) {
    const media = pair[side];
    if (typeof media !== 'object' || media === null) throw new EvalError('invalid_pair', `${where}: media ${side} is missing`);
    if (isVideo(media) !== (pair.modality === 'video')) {
      throw new EvalError('invalid_pair', `${where}: media ${side} is not of modality ${pair.modality}`);
    }
  }
  if (pair.oracleCategoryWinners !== undefined) {
    for (const [id, winner] of Object.entries(pair.oracleCategoryWinners)) {
      if (!verdictSchema.safeParse(winner).success) {
        throw new EvalError('invalid_pair', `${where}: oracle winner of category ${id} must be 'A', 'B' or 'tie'`);
      }
    }
  }
}

async function* iterate<T>(source: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  for await (const item of source as AsyncIterable<T>) yield item;
}

/**
 * Runs a preference benchmark: every pair is shown to the judge in an order chosen by a seeded coin (per pair
 * id), and with `bothOrders` also in the other order; the verdicts are mapped back to the dataset's A/B and
 * scored with {@link computePreferenceMetrics}. A judge failure on a pair is a value (counted, never thrown);
 * a judge that breaks its contract throws `EvalError('judge_contract')`.
 */
export async function runPreferenceBenchmark(options: PreferenceBenchmarkOptions): Promise<PreferenceBenchmarkResult> {
  const parsed = parseOptions(preferenceBenchmarkOptionsSchema, options, 'runPreferenceBenchmark');
  const { judge, pairs, benchmark, seed, bothOrders, batchSize, tieMargin, bootstrapSamples, calibrationBins, sampleCount } =
    parsed;
  const seeds = { order: hashSeed(seed, 'order'), bootstrap: hashSeed(seed, 'bootstrap'), samples: hashSeed(seed, 'samples') };
  const ordersPerPair = bothOrders ? 2 : 1;
  const pairsPerCall = Math.max(1, Math.floor(batchSize / ordersPerPair));
  const sampleRandom = createRandom(seeds.samples);

  const records: BenchmarkRecord[] = [];
  // Reservoir of samples (index in the stream, sample), so every pair is equally likely to be shown.
  const reservoir: { index: number; sample: BenchmarkSample }[] = [];
  let callsDone = 0;
  const seenIds = new Set<string>();

  const flush = async (batch: BenchmarkPair[]) => {
    if (batch.length === 0) return;
    parsed.signal?.throwIfAborted();
    const orders = batch.map((pair) => shownOrderOf(seeds.order, pair.id));
    const requests: TeacherRequest[] = [];
    batch.forEach((pair, i) => {
      const order = orders[i] as ShownOrder;
      const request = (o: ShownOrder): TeacherRequest => ({
        id: pair.id,
        prompt: pair.prompt,
        modality: pair.modality,
        a: o === 'AB' ? pair.a : pair.b,
        b: o === 'AB' ? pair.b : pair.a,
        ...(pair.record !== undefined ? { record: pair.record } : {}),
      });
      requests.push(request(order));
      if (bothOrders) requests.push(request(order === 'AB' ? 'BA' : 'AB'));
    });
    const results = await judge.judge(requests, parsed.signal ? { signal: parsed.signal } : undefined);
    if (!Array.isArray(results) || results.length !== requests.length) {
      throw new EvalError(
        'judge_contract',
        `judge ${judge.name} returned ${Array.isArray(results) ? results.length : 'no'} results for ${requests.length} requests`,
      );
    }
    parsed.signal?.throwIfAborted();
    batch.forEach((pair, i) => {
      const order = orders[i] as ShownOrder;
      const mainResult = results[i * ordersPerPair] as JudgeResult;
      const main = readCall(mainResult, order, pair.modality, tieMargin, judge.name);
      const record: BenchmarkRecord = {
        id: pair.id,
        prompt: pair.prompt,
        modality: pair.modality,
        label: pair.label,
        order,
        prediction: main.prediction,
        probabilityA: main.probabilityA,
        ...(pair.context !== undefined ? { context: pair.context } : {}),
        ...(main.error ? { error: main.error } : {}),
        ...(main.categoryPredictions ? { categoryPredictions: main.categoryPredictions } : {}),
        ...(pair.oracleCategoryWinners ? { oracleCategoryWinners: { ...pair.oracleCategoryWinners } } : {}),
        ...(() => {
          if (!bothOrders) return {};
          const swapped = readCall(
            results[i * ordersPerPair + 1] as JudgeResult,
            order === 'AB' ? 'BA' : 'AB',
            pair.modality,
            tieMargin,
            judge.name,
          );
          return {
            swappedPrediction: swapped.prediction,
            swappedProbabilityA: swapped.probabilityA,
            ...(swapped.error ? { swappedError: swapped.error } : {}),
          };
        })(),
      };
      const index = records.length;
      records.push(record);
      if (sampleCount > 0) {
        const sample: BenchmarkSample = {
          record,
          a: pair.a,
          b: pair.b,
          ...(mainResult.ok ? { assessment: mainResult.assessment } : {}),
          ...(mainResult.ok ? (mainResult.raw !== undefined ? { raw: mainResult.raw } : {}) : mainResult.error.raw !== undefined ? { raw: mainResult.error.raw } : {}),
        };
        if (reservoir.length < sampleCount) reservoir.push({ index, sample });
        else {
          const j = Math.floor(sampleRandom() * (index + 1));
          if (j < sampleCount) reservoir[j] = { index, sample };
        }
      }
    });
    callsDone += requests.length;
    parsed.onProgress?.({
      pairsDone: records.length,
      callsDone,
      ...(parsed.total !== undefined ? { total: parsed.total } : {}),
    });
  };

  let batch: BenchmarkPair[] = [];
  let index = 0;
  for await (const pair of iterate(pairs)) {
    if (parsed.limit !== undefined && index >= parsed.limit) break;
    checkPair(pair, index);
    if (seenIds.has(pair.id)) throw new EvalError('invalid_pair', `pair ${index}: duplicate id ${pair.id}`);
    seenIds.add(pair.id);
    index++;
    batch.push(pair);
    if (batch.length >= pairsPerCall) {
      await flush(batch);
      batch = [];
    }
  }
  await flush(batch);

  const metrics = computePreferenceMetrics({ records, seed: seeds.bootstrap, bootstrapSamples, calibrationBins });
  const settings: BenchmarkSettings = {
    benchmark,
    seed,
    bothOrders,
    batchSize,
    tieMargin,
    bootstrapSamples,
    calibrationBins,
    sampleCount,
    ...(parsed.limit !== undefined ? { limit: parsed.limit } : {}),
  };
  return {
    benchmark,
    judge: judge.name,
    settings,
    seeds,
    metrics,
    records,
    samples: reservoir.sort((x, y) => x.index - y.index).map((entry) => entry.sample),
  };
}
