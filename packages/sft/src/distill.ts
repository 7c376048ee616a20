import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type JudgeResult, type Media, type PairwiseAssessment, type Teacher, encodeCompact } from '@flex/criteria';
import { createRng, hashString } from '@flex/model';
import { type PairRecord, loadCandidateMedia, readAllPairs } from '@flex/synth';
import { SftError, parseSftOptions } from './errors';

/** Which traces distillation keeps: all, those whose winner agrees with the label, or those right in both orders. */
export const traceFilterSchema = z.enum(['none', 'correct', 'both-correct']);
/** A trace filter. */
export type TraceFilter = z.output<typeof traceFilterSchema>;

/** One teacher answer in a given order. */
export interface TraceAnswer {
  /** The compact text of the assessment, in the order shown (candidate 1 first). */
  readonly text: string;
  /** The winner in the record's terms ('A' or 'B'). */
  readonly winner: 'A' | 'B';
  /** The winner agrees with the label. */
  readonly correct: boolean;
  /** The teacher's P(record's A wins). */
  readonly probabilityA: number;
}

/** One line of the traces file: a pair, the order it was shown in, the teacher's answer (and the swapped one). */
export interface TraceRecord {
  readonly id: string;
  /** True when the record's B was shown first (A/B order randomised per pair by the seed). */
  readonly swapped: boolean;
  readonly label: 'A' | 'B' | 'tie';
  readonly answer: TraceAnswer;
  /** The answer with the order reversed, asked for the `both-correct` filter. */
  readonly reverse?: TraceAnswer;
}

/** Statistics of a distillation run (written to `<traces>.stats.json`). */
export interface DistillStats {
  readonly teacher: string;
  readonly filter: TraceFilter;
  /** Pairs in the dataset (after `limit`). */
  readonly pairs: number;
  /** Teacher calls made in this run (each order counts). */
  readonly asked: number;
  /** Pairs skipped because they were already answered (resume). */
  readonly skipped: number;
  /** Teacher failures (parse errors, timeouts…) in this run. */
  readonly failed: number;
  /** Pairs with an answer in the traces file. */
  readonly answered: number;
  /** Share of answered pairs with a non-tie label whose winner agrees with it. */
  readonly agreement: number;
  /** Share of pairs right in both orders, among those asked in both orders. */
  readonly bothOrdersAgreement: number | null;
  /** Pairs kept under each filter (`both-correct` is null unless the reverse order was asked). */
  readonly kept: { readonly none: number; readonly correct: number; readonly 'both-correct': number | null };
}

/** Options of {@link distill} (what `flex distill` passes). */
export const distillOptionsSchema = z.object({
  /** The dataset folder (`manifest.json`, `pairs.jsonl`, `media/`) of @flex/synth. */
  data: z.string().min(1),
  /** The teacher (a @flex/synth `SimulatedTeacher`, a `RemoteJudge`, …). */
  teacher: z.custom<Teacher<PairRecord>>((t) => typeof t === 'object' && t !== null && typeof (t as Teacher).assess === 'function', 'a Teacher'),
  /** Filter whose kept count the statistics report first; `both-correct` also asks the reverse order. Default 'correct'. */
  filter: traceFilterSchema.default('correct'),
  /** The traces file. Default `<data>/traces.jsonl`. */
  out: z.string().min(1).optional(),
  /** Randomise the A/B order shown to the teacher per pair (by the seed). Default true. */
  randomOrder: z.boolean().default(true),
  /** Seed of the order. Default 0. */
  seed: z.number().int().default(0),
  /** Requests per teacher call. Default 16. */
  batchSize: z.number().int().min(1).default(16),
  /** Use only the first this many pairs. Default: all. */
  limit: z.number().int().min(1).optional(),
  /** Called after each batch with (done, total). */
  onProgress: z.custom<(done: number, total: number) => void>((f) => typeof f === 'function').optional(),
  /** Cancels between batches. */
  signal: z.custom<AbortSignal>((s) => typeof s === 'object' && s !== null).optional(),
});
/** Input of {@link distillOptionsSchema}. */
export type DistillOptions = z.input<typeof distillOptionsSchema>;

/** The default traces file of a dataset. */
export function tracesFileOf(data: string): string {
  return join(data, 'traces.jsonl');
}

/** Whether a pair is shown swapped (B first) under a seed: a stable coin per pair id. */
export function isShownSwapped(id: string, seed: number): boolean {
  return createRng((hashString(id) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0).next() < 0.5;
}

/** Reads a traces file; a later line for the same pair replaces an earlier one. Throws `missing_traces`. */
export function readTraces(file: string): TraceRecord[] {
  if (!existsSync(file)) throw new SftError('missing_traces', `no traces file at ${file} (run distill first)`);
  const byId = new Map<string, TraceRecord>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let value: TraceRecord;
      try {
        value = JSON.parse(line) as TraceRecord;
      } catch (cause) {
        throw new SftError('invalid_dataset', `${file}:${i + 1}: not JSON`, { cause });
      }
      if (typeof value?.id !== 'string' || typeof value.answer?.text !== 'string') throw new SftError('invalid_dataset', `${file}:${i + 1}: not a trace record`);
      byId.set(value.id, value);
    });
  return [...byId.values()];
}

/** Whether a trace passes a filter. */
export function keepTrace(trace: TraceRecord, filter: TraceFilter): boolean {
  if (filter === 'none') return true;
  if (filter === 'correct') return trace.answer.correct;
  return trace.answer.correct && trace.reverse?.correct === true;
}

function answerOf(result: JudgeResult, swapped: boolean, label: PairRecord['label']): TraceAnswer | undefined {
  if (!result.ok) return undefined;
  const assessment: PairwiseAssessment = result.assessment;
  const firstWins = assessment.winner.endsWith('1');
  const winner: 'A' | 'B' = firstWins !== swapped ? 'A' : 'B';
  const probabilityFirst = result.probabilityA;
  return { text: encodeCompact(assessment), winner, correct: winner === label, probabilityA: swapped ? 1 - probabilityFirst : probabilityFirst };
}

/** Statistics of a traces file. */
export function traceStatistics(traces: readonly TraceRecord[]): Pick<DistillStats, 'answered' | 'agreement' | 'bothOrdersAgreement' | 'kept'> {
  const decided = traces.filter((t) => t.label !== 'tie');
  const both = traces.filter((t) => t.reverse !== undefined);
  return {
    answered: traces.length,
    agreement: decided.length === 0 ? 0 : decided.filter((t) => t.answer.correct).length / decided.length,
    bothOrdersAgreement: both.length === 0 ? null : both.filter((t) => keepTrace(t, 'both-correct')).length / both.length,
    kept: {
      none: traces.length,
      correct: traces.filter((t) => keepTrace(t, 'correct')).length,
      'both-correct': both.length === 0 ? null : traces.filter((t) => keepTrace(t, 'both-correct')).length,
    },
  };
}

/**
 * Distillation: asks a teacher for an assessment of every pair of a dataset (A/B order randomised per pair), in
 * batches, and appends each answer as a JSON line to the traces file beside the dataset; with the `both-correct`
 * filter it also asks the reversed order. Resumable: pairs already answered (in the orders the filter needs) are
 * skipped. Writes the statistics (asked, kept, agreement, per filter) to `<traces>.stats.json` and returns them.
 */
export async function distill(options: DistillOptions): Promise<DistillStats & { readonly file: string }> {
  const o = parseSftOptions(distillOptionsSchema, options, 'distill options');
  const file = o.out ?? tracesFileOf(o.data);
  const records = await readAllPairs({ data: o.data, ...(o.limit ? { limit: o.limit } : {}) });
  const previous = existsSync(file) ? readTraces(file) : [];
  const done = new Map(previous.map((t) => [t.id, t]));
  const needsReverse = o.filter === 'both-correct';
  const todo = records.filter((r) => {
    const t = done.get(r.id);
    return !t || (needsReverse && !t.reverse);
  });
  let asked = 0;
  let failed = 0;
  for (let start = 0; start < todo.length; start += o.batchSize) {
    if (o.signal?.aborted) break;
    const batch = todo.slice(start, start + o.batchSize);
    const shown = batch.map((record) => {
      const a = loadCandidateMedia(o.data, record, 'a');
      const b = loadCandidateMedia(o.data, record, 'b');
      const swapped = o.randomOrder ? isShownSwapped(record.id, o.seed) : false;
      return { record, a, b, swapped };
    });
    const request = (x: (typeof shown)[number], reverse: boolean) => {
      const swapped = x.swapped !== reverse;
      const [first, second]: [Media, Media] = swapped ? [x.b, x.a] : [x.a, x.b];
      return { id: x.record.id, prompt: x.record.prompt, modality: x.record.modality, a: first, b: second, record: x.record };
    };
    const forward = await o.teacher.assess(shown.map((x) => request(x, false)), o.signal ? { signal: o.signal } : {});
    const backward = needsReverse ? await o.teacher.assess(shown.map((x) => request(x, true)), o.signal ? { signal: o.signal } : {}) : undefined;
    asked += shown.length * (needsReverse ? 2 : 1);
    const lines: string[] = [];
    shown.forEach((x, i) => {
      const earlier = done.get(x.record.id);
      const answer = earlier?.answer ?? answerOf(forward[i] as JudgeResult, x.swapped, x.record.label);
      const reverse = backward ? answerOf(backward[i] as JudgeResult, !x.swapped, x.record.label) : earlier?.reverse;
      if (!answer || (backward && !reverse)) {
        failed++;
        return;
      }
      const trace: TraceRecord = { id: x.record.id, swapped: x.swapped, label: x.record.label, answer, ...(reverse ? { reverse } : {}) };
      done.set(trace.id, trace);
      lines.push(JSON.stringify(trace));
    });
    if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
    o.onProgress?.(Math.min(start + batch.length, todo.length), todo.length);
  }
  const ids = new Set(records.map((r) => r.id));
  const traces = [...done.values()].filter((t) => ids.has(t.id));
  const stats: DistillStats = {
    teacher: o.teacher.name,
    filter: o.filter,
    pairs: records.length,
    asked,
    skipped: records.length - todo.length,
    failed,
    ...traceStatistics(traces),
  };
  writeFileSync(`${file.replace(/\.jsonl$/, '')}.stats.json`, `${JSON.stringify(stats, null, 2)}\n`);
  return { ...stats, file };
}
