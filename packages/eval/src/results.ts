import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { BenchmarkRecord, BenchmarkSettings, PreferenceBenchmarkResult } from './benchmark';
import { EvalError, parseOptions } from './errors';
import type { PreferenceMetrics } from './metrics';

/**
 * The `results.json` of a run folder: every number of every benchmark run (metrics, per-pair records), the
 * options and seeds that produced them, and the training curves, in one versioned document.
 */

/** The version of the results.json format this package writes and reads. */
export const resultsFormatVersion = 1;

/** A line of a training curve. */
export const curveSeriesSchema = z.object({
  /** Series name (a metric: `loss`, `rewards/margins`). */
  name: z.string(),
  /** Points, x usually the step. */
  points: z.array(z.object({ x: z.number().finite(), y: z.number().finite() })),
});

/** One chart of training curves (one stage: pretrain, sft, dpo, grpo). */
export const trainingCurveSchema = z.object({
  /** Chart title ("SFT loss"). */
  title: z.string().min(1),
  /** x-axis label. Default `step`. */
  xLabel: z.string().default('step'),
  /** y-axis label. Default none. */
  yLabel: z.string().default(''),
  /** The lines (a chart whose lines are all empty is left out of the report). */
  series: z.array(curveSeriesSchema),
});

/** One chart of training curves. */
export type TrainingCurve = z.input<typeof trainingCurveSchema>;

/** One benchmark run as results.json stores it (a {@link PreferenceBenchmarkResult} without its media samples). */
export interface BenchmarkRun {
  readonly benchmark: string;
  readonly judge: string;
  readonly settings: BenchmarkSettings;
  readonly seeds: Readonly<Record<string, number>>;
  readonly metrics: PreferenceMetrics;
  readonly records: readonly BenchmarkRecord[];
  /** Free notes on this row (how the baseline was built, what it starts from). */
  readonly notes?: string;
}

// Runs are checked for their shape at the top level only: they come from runPreferenceBenchmark.
const runSchema = z
  .object({
    benchmark: z.string(),
    judge: z.string(),
    settings: z.record(z.string(), z.unknown()),
    seeds: z.record(z.string(), z.number()),
    metrics: z.object({ pairs: z.number(), accuracyDiff: z.object({ value: z.number().nullable() }).loose() }).loose(),
    records: z.array(z.object({ id: z.string() }).loose()),
    notes: z.string().optional(),
  })
  .loose();

/** The results document's schema (what {@link readResults} accepts). */
export const resultsDocumentSchema = z.object({
  /** Format version; readers refuse newer ones. */
  formatVersion: z.literal(resultsFormatVersion),
  /** Title of the run. Default `Flex evaluation`. */
  title: z.string().default('Flex evaluation'),
  /** The git commit the run was made from, when the caller knows it. */
  commit: z.string().optional(),
  /** The run's top-level seed. */
  seed: z.number().int().optional(),
  /** The options of the run (preset, stage options), as the caller passes them. */
  options: z.record(z.string(), z.unknown()).default({}),
  /** Every benchmark run: one per judge and benchmark. */
  runs: z.array(runSchema),
  /** Training curves. */
  curves: z.array(trainingCurveSchema).default([]),
  /** Free notes shown under the results table. */
  notes: z.array(z.string()).default([]),
});

/** A results document as read back. */
export type ResultsDocument = Omit<z.output<typeof resultsDocumentSchema>, 'runs'> & { runs: BenchmarkRun[] };

/** What a caller passes to be written as results.json (`formatVersion` is added). */
export const resultsInputSchema = resultsDocumentSchema.omit({ formatVersion: true });

/** The input of {@link writeResults} and {@link writeReport}: runs (benchmark results) plus run metadata. */
export interface ResultsInput {
  /** Title. Default `Flex evaluation`. */
  readonly title?: string;
  /** Git commit. */
  readonly commit?: string;
  /** Top-level seed. */
  readonly seed?: number;
  /** Options of the run. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Benchmark results (samples are dropped from results.json; their media go in the report). */
  readonly runs: readonly (PreferenceBenchmarkResult | BenchmarkRun)[];
  /** Training curves. */
  readonly curves?: readonly TrainingCurve[];
  /** Notes under the results table. */
  readonly notes?: readonly string[];
}

/** Builds the results document from runs and metadata (drops media samples, validates, adds the version). */
export function toResultsDocument(input: ResultsInput): ResultsDocument {
  const runs = input.runs.map((run) => {
    const { samples: _samples, ...rest } = run as PreferenceBenchmarkResult;
    return rest as BenchmarkRun;
  });
  const parsed = parseOptions(resultsInputSchema, { ...input, runs }, 'results');
  return { formatVersion: resultsFormatVersion, ...parsed, runs } as ResultsDocument;
}

/** Writes `text` to `path` through a temporary file and a rename, so a crash never leaves half a file. */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, path);
  } catch (cause) {
    throw new EvalError('io_error', `could not write ${path}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The results document as JSON text: pretty-printed, except that each per-pair record takes one line (a
 * benchmark of thousands of pairs stays a readable, diffable file of moderate size).
 */
export function stringifyResults(document: ResultsDocument): string {
  const indent = (text: string, spaces: number) => text.replace(/\n/g, `\n${' '.repeat(spaces)}`);
  const runs = document.runs.map((run) => {
    const { records, ...rest } = run;
    const head = JSON.stringify(rest, null, 2);
    const body = records.length ? `[\n${records.map((r) => `      ${JSON.stringify(r)}`).join(',\n')}\n    ]` : '[]';
    return `    ${indent(head.slice(0, -2), 4)},\n      "records": ${body}\n    }`;
  });
  const { runs: _runs, ...head } = document;
  const headText = JSON.stringify(head, null, 2);
  return `${headText.slice(0, -2)},\n  "runs": [${runs.length ? `\n${runs.join(',\n')}\n  ` : ''}]\n}\n`;
}

/** The options of {@link writeResults}. */
export const writeResultsOptionsSchema = z.object({
  /** The run folder (created when missing). */
  runDir: z.string().min(1),
  /** The runs and metadata. */
  results: z.custom<ResultsInput>((v) => typeof v === 'object' && v !== null && Array.isArray((v as ResultsInput).runs), {
    message: 'expected { runs: [...] }',
  }),
  /** File name inside the run folder. Default `results.json`. */
  fileName: z.string().min(1).default('results.json'),
});

/** Options of {@link writeResults}. */
export type WriteResultsOptions = z.input<typeof writeResultsOptionsSchema>;

/** Writes `results.json` (pretty-printed, atomically) into the run folder; returns its path and the document. */
export async function writeResults(options: WriteResultsOptions): Promise<{ path: string; document: ResultsDocument }> {
  const { runDir, results, fileName } = parseOptions(writeResultsOptionsSchema, options, 'writeResults');
  const document = toResultsDocument(results);
  await mkdir(runDir, { recursive: true }).catch((cause: unknown) => {
    throw new EvalError('io_error', `could not create ${runDir}: ${(cause as Error).message}`, { cause });
  });
  const path = join(runDir, fileName);
  await writeFileAtomic(path, stringifyResults(document));
  return { path, document };
}

/** Reads and validates a results.json; throws `EvalError('invalid_results')` when it is missing or malformed. */
export async function readResults(path: string): Promise<ResultsDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new EvalError('invalid_results', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new EvalError('invalid_results', `${path} is not JSON: ${(cause as Error).message}`, { cause });
  }
  const version = (json as { formatVersion?: unknown })?.formatVersion;
  if (typeof version === 'number' && version > resultsFormatVersion) {
    throw new EvalError('invalid_results', `${path} has format version ${version}; this @flex/eval reads ${resultsFormatVersion}`);
  }
  const parsed = resultsDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EvalError('invalid_results', `${path} is not a results document: ${issues.join('; ')}`);
  }
  return parsed.data as unknown as ResultsDocument;
}

/**
 * Training curves from metric JSON lines (`{"step": 10, "loss": 1.2, …}` per line, as the trainers append
 * them): one chart with one series per key in `keys` (lines lacking a key or its x are skipped).
 */
export function curveFromMetricLines(options: {
  /** Chart title. */
  title: string;
  /** Parsed metric lines. */
  lines: readonly Readonly<Record<string, unknown>>[];
  /** The keys to plot. */
  keys: readonly string[];
  /** The x key. Default `step`. */
  x?: string;
  /** y-axis label. Default the single key, or none. */
  yLabel?: string;
}): TrainingCurve {
  const xKey = options.x ?? 'step';
  return {
    title: options.title,
    xLabel: xKey,
    yLabel: options.yLabel ?? (options.keys.length === 1 ? (options.keys[0] as string) : ''),
    series: options.keys.map((key) => ({
      name: key,
      points: options.lines
        .filter((l) => typeof l[xKey] === 'number' && typeof l[key] === 'number' && Number.isFinite(l[key]))
        .map((l) => ({ x: l[xKey] as number, y: l[key] as number })),
    })),
  };
}

/** Parses a JSON-lines file into objects (blank lines skipped; a malformed line throws `invalid_results`). */
export async function readJsonLines(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new EvalError('invalid_results', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return text
    .split('\n')
    .map((line, i) => ({ line: line.trim(), i }))
    .filter(({ line }) => line !== '')
    .map(({ line, i }) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch (cause) {
        throw new EvalError('invalid_results', `${path}:${i + 1} is not JSON`, { cause });
      }
    });
}
