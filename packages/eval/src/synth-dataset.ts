import { z } from 'zod';
import type { Judge, JudgeCallOptions, JudgeResult, Teacher, TeacherRequest } from '@flex/criteria';
import { idealAssessment, isSwapped, loadCandidateMedia, readManifest, readPairs, type Manifest, type PairRecord } from '@flex/synth';
import { preferenceBenchmarkOptionsSchema, runPreferenceBenchmark, type BenchmarkPair, type PreferenceBenchmarkResult } from './benchmark';
import { EvalError, parseOptions } from './errors';

/**
 * Glue between @flex/synth datasets (a folder of manifest.json + pairs.jsonl + PNGs, or any dataset in the
 * same format) and the benchmark runner, plus the two judges that read the producer's records: the
 * simulated teacher and the oracle's own ceiling.
 */

/** A benchmark pair read from a synth dataset, carrying its full record. */
export interface DatasetPair extends BenchmarkPair {
  readonly record: PairRecord;
}

function datasetError(data: string, cause: unknown): EvalError {
  if (EvalError.isInstance(cause)) return cause;
  return new EvalError('invalid_dataset', `dataset ${data}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/** Reads a dataset's manifest; a missing or malformed one is an `EvalError('invalid_dataset')`. */
export function readDatasetManifest(data: string): Manifest {
  try {
    return readManifest(data);
  } catch (cause) {
    throw datasetError(data, cause);
  }
}

/** The benchmark name of a dataset: `<modality>/<split>` (`image/test`, `video/heldout-contexts`). */
export function benchmarkNameOf(manifest: Manifest): string {
  return `${manifest.modality}/${manifest.split}`;
}

/** The options of {@link readDatasetPairs}. */
export const readDatasetPairsOptionsSchema = z.object({
  /** The dataset folder. */
  data: z.string().min(1),
  /** Stop after this many pairs. Default: all. */
  limit: z.number().int().positive().optional(),
});

/** Options of {@link readDatasetPairs}. */
export type ReadDatasetPairsOptions = z.input<typeof readDatasetPairsOptionsSchema>;

/**
 * Streams a dataset folder as benchmark pairs: media decoded from the PNGs one pair at a time, the label, the
 * context (pairs without a cue have none), the oracle's category winners and the full record.
 */
export async function* readDatasetPairs(options: ReadDatasetPairsOptions): AsyncGenerator<DatasetPair> {
  const { data, limit } = parseOptions(readDatasetPairsOptionsSchema, options, 'readDatasetPairs');
  const manifest = readDatasetManifest(data);
  try {
    for await (const record of readPairs({ data, ...(limit !== undefined ? { limit } : {}) })) {
      const pair: DatasetPair = {
        id: record.id,
        prompt: record.prompt,
        modality: record.modality,
        a: loadCandidateMedia(data, record, 'a', manifest.fps),
        b: loadCandidateMedia(data, record, 'b', manifest.fps),
        label: record.label,
        ...(record.context !== null ? { context: record.context } : {}),
        oracleCategoryWinners: { ...record.oracle.categoryWinners },
        record,
      };
      yield pair;
    }
  } catch (cause) {
    throw datasetError(data, cause);
  }
}

/** The options of {@link runDatasetBenchmark}: the runner's options with a dataset folder instead of pairs. */
export const datasetBenchmarkOptionsSchema = preferenceBenchmarkOptionsSchema.omit({ pairs: true, benchmark: true }).extend({
  /** The dataset folder. */
  data: z.string().min(1),
  /** Name of the benchmark. Default `<modality>/<split>` from the manifest. */
  benchmark: z.string().min(1).optional(),
});

/** Options of {@link runDatasetBenchmark}. */
export type DatasetBenchmarkOptions = z.input<typeof datasetBenchmarkOptionsSchema>;

/**
 * Runs the preference benchmark on a dataset folder (see {@link runPreferenceBenchmark}); the progress total
 * defaults to the manifest's pair count (or the limit).
 */
export async function runDatasetBenchmark(options: DatasetBenchmarkOptions): Promise<PreferenceBenchmarkResult> {
  const { data, benchmark, ...rest } = parseOptions(datasetBenchmarkOptionsSchema, options, 'runDatasetBenchmark');
  const manifest = readDatasetManifest(data);
  const total = rest.total ?? (rest.limit !== undefined ? Math.min(rest.limit, manifest.pairs) : manifest.pairs);
  return runPreferenceBenchmark({
    ...rest,
    total,
    benchmark: benchmark ?? benchmarkNameOf(manifest),
    pairs: readDatasetPairs({ data, ...(rest.limit !== undefined ? { limit: rest.limit } : {}) }),
  });
}

/** The record a request carries, when it is a synth pair record. */
function recordOf(request: TeacherRequest): PairRecord | undefined {
  const record = request.record as PairRecord | undefined;
  return record && typeof record === 'object' && typeof record.id === 'string' && record.oracle ? record : undefined;
}

/**
 * Any `Teacher` as a `Judge` (the "teacher itself" baseline): requests go through unchanged, including the
 * pair record the runner passes along. Name: the teacher's name unless given.
 */
export function teacherAsJudge(teacher: Teacher<PairRecord>, name?: string): Judge {
  return {
    name: name ?? teacher.name,
    judge: (requests, options?: JudgeCallOptions) => teacher.assess(requests as readonly TeacherRequest<PairRecord>[], options),
  };
}

/**
 * The oracle's own ceiling: a judge that knows the oracle's noiseless preference (its Bradley–Terry P(A) and
 * its ideal per-category assessment) and is scored against the noisy labels. Its accuracy is the best any
 * judge can expect on the dataset. Needs the pair record on each request (pairs from {@link readDatasetPairs}).
 */
export function oracleCeilingJudge(name = 'oracle ceiling'): Judge {
  return {
    name,
    async judge(requests, options?: JudgeCallOptions): Promise<JudgeResult[]> {
      return requests.map((request) => {
        if (options?.signal?.aborted) return { ok: false, error: { code: 'aborted', message: 'aborted' } };
        const record = recordOf(request as TeacherRequest);
        if (!record) {
          return { ok: false, error: { code: 'invalid_request', message: 'the oracle ceiling needs the synth pair record of each request' } };
        }
        const swapped = isSwapped(request as TeacherRequest<PairRecord>, record);
        const ideal = idealAssessment(record, { swapped });
        if (!ideal.ok) return ideal;
        const probabilityA = swapped ? 1 - record.oracle.probabilityA : record.oracle.probabilityA;
        return { ok: true, assessment: ideal.assessment, probabilityA };
      });
    },
  };
}
