import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import {
  type Modality,
  type PairwiseAssessment,
  type PairwiseCategory,
  type Slot,
  assignCategoryIds,
  decodeCompact,
  encodeCompact,
  pairwiseSchemaFor,
  predefinedCategories,
  probabilityAFromScores,
  slotOfWinner,
  winnerLabel,
} from '@flex/criteria';
import { readAllPairs } from '@flex/synth';
import { EvalError, parseOptions } from './errors';

/**
 * The fixed-rubric reasoning judge's data (the UnifiedReward-Think family): teacher traces rewritten so every
 * assessment uses the same criteria for every prompt — a fixed list per mandatory category, no self-generated
 * category — while keeping the teacher's evidence, reasons and (by default) verdict. The rewritten file has the
 * format of @flex/sft's traces file, so the same `sft()` trainer trains the baseline on it.
 */

/** One fixed criterion: its name, and the words (or word beginnings) that send a teacher criterion to it. */
export interface FixedCriterion {
  /** The name written for every prompt. */
  readonly name: string;
  /** Lowercase words or word beginnings ("saturat") matched at word starts in the teacher's criterion name. */
  readonly keywords: readonly string[];
}

/** The fixed criteria of one mandatory category. */
export interface FixedRubricCategory {
  readonly id: 'A' | 'B' | 'C';
  /** In written order; a teacher criterion goes to the first whose keywords it matches. */
  readonly criteria: readonly FixedCriterion[];
  /** Where a teacher criterion of this category that matches no keyword goes (one of `criteria`' names). */
  readonly fallback: string;
}

/** A fixed rubric of one modality. */
export interface FixedRubric {
  readonly categories: readonly [FixedRubricCategory, FixedRubricCategory, FixedRubricCategory];
  /** Where the criteria of self-generated categories (D, E, …) go when they are folded in. */
  readonly foldInto: { readonly category: 'A' | 'B' | 'C'; readonly criterion: string };
}

const relationWords = ['left of', 'right of', 'above', 'below', 'beside', 'next to', 'behind', 'in front', 'relation', 'position', 'spatial', 'on top', 'under'];
const presenceWords = ['unrequested', 'extra', 'missing', 'presence', 'present', 'object', 'one', 'two', 'three', 'four', 'subject'];
const colourWords = ['colour', 'color', 'palette', 'vivid', 'saturat', 'hue', 'harmon', 'muted', 'tone'];
const compositionWords = ['composition', 'balance', 'layout', 'clutter', 'uncluttered', 'tidy', 'spacing', 'spread', 'framing', 'arrangement', 'symmetr', 'scale'];

/** Category A's criteria for images; videos add motion accuracy. */
const semanticCriteria: readonly FixedCriterion[] = [
          { name: 'Object presence', keywords: presenceWords },
          { name: 'Attribute accuracy', keywords: ['colour', 'color', 'shape', 'size', 'attribute', 'material', 'texture'] },
          { name: 'Count accuracy', keywords: ['count', 'number', 'how many', 'quantity'] },
          { name: 'Spatial relations', keywords: relationWords },
];

const aestheticCategory: FixedRubricCategory = {
  id: 'C',
  criteria: [
    { name: 'Colour harmony', keywords: colourWords },
    { name: 'Composition', keywords: compositionWords },
    { name: 'Visual appeal', keywords: ['appeal', 'pleasant', 'beaut', 'bright', 'style', 'mood', 'lighting', 'light', 'attractive'] },
  ],
  fallback: 'Visual appeal',
};

/**
 * The fixed rubrics: the same criterion names for every prompt of a modality (the criteria of UnifiedReward-Think's
 * family are fixed per category; these are the ones the embedded world's faults fall under).
 *
 * - image A: Object presence, Attribute accuracy, Count accuracy, Spatial relations;
 *   B: Sharpness, Noise and artifacts, Exposure; C: Colour harmony, Composition, Visual appeal.
 * - video A: the same plus Motion accuracy; B: Sharpness, Noise and artifacts, Temporal stability, Motion
 *   smoothness; C: the same as image.
 */
export const fixedRubrics: Readonly<Record<Modality, FixedRubric>> = {
  image: {
    categories: [
      {
        id: 'A',
        criteria: semanticCriteria,
        fallback: 'Object presence',
      },
      {
        id: 'B',
        criteria: [
          { name: 'Sharpness', keywords: ['sharp', 'blur', 'focus', 'edge', 'crisp', 'clarity', 'detail'] },
          { name: 'Noise and artifacts', keywords: ['noise', 'noisy', 'grain', 'artifact', 'artefact', 'block', 'compression', 'jpeg'] },
          { name: 'Exposure', keywords: ['exposure', 'exposed', 'bright', 'dark', 'clip', 'highlight', 'contrast'] },
        ],
        fallback: 'Noise and artifacts',
      },
      aestheticCategory,
    ],
    foldInto: { category: 'C', criterion: 'Visual appeal' },
  },
  video: {
    categories: [
      {
        id: 'A',
        criteria: [
          ...semanticCriteria,
          { name: 'Motion accuracy', keywords: ['motion', 'moving', 'move', 'movement', 'speed', 'direction', 'action'] },
        ],
        fallback: 'Object presence',
      },
      {
        id: 'B',
        criteria: [
          { name: 'Sharpness', keywords: ['sharp', 'blur', 'focus', 'edge', 'crisp', 'clarity', 'detail'] },
          { name: 'Noise and artifacts', keywords: ['noise', 'noisy', 'grain', 'artifact', 'artefact', 'block', 'compression', 'highlight', 'exposure'] },
          { name: 'Temporal stability', keywords: ['flicker', 'stable', 'stability', 'identity', 'consistent', 'consistency', 'temporal', 'over time'] },
          { name: 'Motion smoothness', keywords: ['motion', 'smooth', 'jitter', 'frozen', 'stutter', 'fluid'] },
        ],
        fallback: 'Noise and artifacts',
      },
      aestheticCategory,
    ],
    foldInto: { category: 'C', criterion: 'Visual appeal' },
  },
};

/** Matching precedence inside a category: the more specific criteria are tried first. */
const precedence: Readonly<Record<string, number>> = {
  'Spatial relations': 0,
  'Motion accuracy': 1,
  'Count accuracy': 2,
  'Attribute accuracy': 3,
  'Object presence': 4,
  'Temporal stability': 0,
  'Motion smoothness': 1,
  Exposure: 2,
  'Noise and artifacts': 3,
  Sharpness: 4,
  'Colour harmony': 0,
  Composition: 1,
  'Visual appeal': 2,
};

function matchesKeyword(name: string, keyword: string): boolean {
  const escaped = keyword.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^a-z])${escaped}`).test(name);
}

/**
 * The fixed criterion a teacher criterion goes to, given the category id the teacher put it in (A, B, C; any
 * other id is a self-generated category and goes to the rubric's `foldInto` criterion).
 */
export function fixedCriterionOf(criterionName: string, categoryId: string, modality: Modality, rubric: FixedRubric = fixedRubrics[modality]): { category: 'A' | 'B' | 'C'; criterion: string } {
  const category = rubric.categories.find((c) => c.id === categoryId);
  if (category === undefined) return rubric.foldInto;
  const name = criterionName.toLowerCase();
  const ordered = [...category.criteria].sort((a, b) => (precedence[a.name] ?? 9) - (precedence[b.name] ?? 9));
  const found = ordered.find((c) => c.keywords.some((k) => matchesKeyword(name, k)));
  return { category: category.id, criterion: found?.name ?? category.fallback };
}

/** How the overall winner of a rewritten trace is chosen. */
export const fixedRubricWinnerPolicies = ['teacher', 'rubric'] as const;

/** Options of {@link rewriteAssessmentToFixedRubric}. */
export interface FixedRubricRewriteOptions {
  /**
   * 'teacher' (default): keep the teacher's overall winner and reason (as UnifiedReward-Think keeps the verdicts that
   * agree with people). 'rubric': decide it from the fixed scores (the published image/video category weights), the
   * teacher's winner when they balance.
   */
  readonly winner?: (typeof fixedRubricWinnerPolicies)[number];
  /** 'fold' (default): criteria of self-generated categories go to the rubric's `foldInto` criterion; 'drop': ignored. */
  readonly extraCategories?: 'fold' | 'drop';
  /** Reasons longer than this many characters are cut at a `; ` boundary. Default 240. */
  readonly maxReasonLength?: number;
  /** The reason written for a fixed criterion no teacher criterion maps to (scored 5/5). Default 'not applicable'. */
  readonly unmatchedReason?: string;
  /** The rubric. Default {@link fixedRubrics} of the assessment's modality. */
  readonly rubric?: FixedRubric;
}

/** What one rewrite did. */
export interface FixedRubricRewrite {
  readonly assessment: PairwiseAssessment;
  /** The fixed-score margin (probabilityAFromScores' margin) points the other way than the teacher's winner. */
  readonly ambiguous: boolean;
  /** The overall winner differs from the teacher's (only with the 'rubric' policy). */
  readonly winnerChanged: boolean;
  /** Teacher criteria of self-generated categories folded in (or dropped). */
  readonly extraCriteria: number;
}

/** Rounds half to even (swap-symmetric: slot 1's 5.5 → 6 exactly when slot 2's 4.5 → 4). */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (Math.abs(fraction - 0.5) < 1e-9) return floor % 2 === 0 ? floor : floor + 1;
  return Math.round(value);
}

function joinReasons(reasons: readonly string[], max: number, empty: string): string {
  const unique = [...new Set(reasons.map((r) => r.trim()).filter((r) => r !== ''))];
  if (unique.length === 0) return empty;
  let out = '';
  for (const reason of unique) {
    const next = out === '' ? reason : `${out}; ${reason}`;
    if (next.length > max) return out === '' ? reason.slice(0, max) : out;
    out = next;
  }
  return out;
}

const categoryWords: Readonly<Record<'A' | 'B' | 'C', string>> = { A: 'prompt alignment', B: 'quality', C: 'aesthetics' };

/**
 * Rewrites one pairwise assessment to the fixed rubric of its modality: each teacher criterion goes to a fixed
 * criterion (keywords within its category; self-generated categories folded into `foldInto` or dropped); a fixed
 * criterion's score is the mean of its teacher criteria's `score_1` rounded half to even (5/5 with
 * `unmatchedReason` when none maps to it), its reasons the teacher's, joined. Category winners follow the written
 * scores (the teacher's category winner when they balance), with a reason naming the decisive fixed criterion (and
 * its two reasons when together they fit in 80 characters);
 * intent and evidence are kept; the overall winner follows `winner`.
 */
export function rewriteAssessmentToFixedRubric(assessment: PairwiseAssessment, options: FixedRubricRewriteOptions = {}): FixedRubricRewrite {
  const modality: Modality = assessment.winner.startsWith('Video') ? 'video' : 'image';
  const rubric = options.rubric ?? fixedRubrics[modality];
  const maxReason = options.maxReasonLength ?? 240;
  const unmatched = options.unmatchedReason ?? 'not applicable';
  const fold = (options.extraCategories ?? 'fold') === 'fold';
  const ids = assignCategoryIds(
    assessment.categories.map((c) => c.name),
    modality,
  );
  const buckets = new Map<string, { scores: number[]; reasons1: string[]; reasons2: string[] }>();
  const key = (category: string, criterion: string) => `${category}\u0000${criterion}`;
  let extraCriteria = 0;
  const teacherCategoryWinner: Partial<Record<'A' | 'B' | 'C', Slot>> = {};
  assessment.categories.forEach((category: PairwiseCategory, index) => {
    const id = ids[index] as string;
    const predefined = rubric.categories.some((c) => c.id === id);
    if (predefined) teacherCategoryWinner[id as 'A' | 'B' | 'C'] = slotOfWinner(category.cat_winner);
    else {
      extraCriteria += category.dims.length;
      if (!fold) return;
    }
    for (const dim of category.dims) {
      const target = fixedCriterionOf(dim.name, id, modality, rubric);
      const bucket = buckets.get(key(target.category, target.criterion)) ?? { scores: [], reasons1: [], reasons2: [] };
      bucket.scores.push(dim.score_1);
      bucket.reasons1.push(dim.reason_1);
      bucket.reasons2.push(dim.reason_2);
      buckets.set(key(target.category, target.criterion), bucket);
    }
  });
  const teacherSlot = slotOfWinner(assessment.winner);
  const categories = rubric.categories.map((fixed) => {
    const dims = fixed.criteria.map((criterion) => {
      const bucket = buckets.get(key(fixed.id, criterion.name));
      if (bucket === undefined) return { name: criterion.name, reason_1: unmatched, reason_2: unmatched, score_1: 5, score_2: 5 };
      const score1 = Math.min(10, Math.max(0, roundHalfEven(bucket.scores.reduce((a, b) => a + b, 0) / bucket.scores.length)));
      return {
        name: criterion.name,
        reason_1: joinReasons(bucket.reasons1, maxReason, unmatched),
        reason_2: joinReasons(bucket.reasons2, maxReason, unmatched),
        score_1: score1,
        score_2: 10 - score1,
      };
    });
    const margin = dims.reduce((sum, d) => sum + d.score_1 - d.score_2, 0);
    const slot: Slot = margin > 0 ? 1 : margin < 0 ? 2 : (teacherCategoryWinner[fixed.id] ?? teacherSlot);
    let decisive = dims[0] as (typeof dims)[number];
    for (const d of dims) if (Math.abs(d.score_1 - 5) > Math.abs(decisive.score_1 - 5)) decisive = d;
    const label = winnerLabel(modality, slot);
    const reasonOf = (d: (typeof dims)[number], s: Slot) => (s === 1 ? d.reason_1 : d.reason_2);
    const catReason =
      decisive.score_1 === 5
        ? `both are equal on ${categoryWords[fixed.id]}`
        : (decisive.score_1 > 5 ? 1 : 2) !== slot
          ? `${label} is better overall on ${categoryWords[fixed.id]}`
          : reasonOf(decisive, 1).length + reasonOf(decisive, 2).length <= 80
            ? `${label} is better on ${decisive.name.toLowerCase()}: ${reasonOf(decisive, slot)} against ${reasonOf(decisive, slot === 1 ? 2 : 1)}`
            : `${label} is better on ${decisive.name.toLowerCase()}`;
    return { name: predefinedCategories[modality].find((c) => c.id === fixed.id)?.name ?? fixed.id, dims, cat_reason: catReason, cat_winner: label };
  });
  const draft = { ...assessment, categories, winner: assessment.winner } as PairwiseAssessment;
  const { margin } = probabilityAFromScores(draft);
  const rubricSlot: Slot = margin > 0 ? 1 : margin < 0 ? 2 : teacherSlot;
  const ambiguous = rubricSlot !== teacherSlot;
  const policy = options.winner ?? 'teacher';
  const slot = policy === 'teacher' ? teacherSlot : rubricSlot;
  const winnerChanged = slot !== teacherSlot;
  const reason = winnerChanged ? `${winnerLabel(modality, slot)} wins on the fixed rubric's scores` : assessment.reason;
  const rewritten = pairwiseSchemaFor(modality).parse({ ...draft, reason, winner: winnerLabel(modality, slot) }) as PairwiseAssessment;
  return { assessment: rewritten, ambiguous, winnerChanged, extraCriteria };
}

/** One teacher answer in a traces file (the format of @flex/sft's distill, `TraceAnswer`). */
export interface FixedRubricTraceAnswer {
  /** The compact text, in the order shown (candidate 1 first). */
  readonly text: string;
  /** The winner in the record's terms. */
  readonly winner: 'A' | 'B';
  /** The winner agrees with the label. */
  readonly correct: boolean;
  /** P(record's A wins). */
  readonly probabilityA: number;
}

/** One line of a traces file (the format of @flex/sft's distill, `TraceRecord`). */
export interface FixedRubricTraceRecord {
  readonly id: string;
  /** The record's B was shown first. */
  readonly swapped: boolean;
  readonly label: 'A' | 'B' | 'tie';
  readonly answer: FixedRubricTraceAnswer;
  readonly reverse?: FixedRubricTraceAnswer;
}

/** Options of {@link rewriteFixedRubric}. */
export const rewriteFixedRubricOptionsSchema = z.object({
  /** The dataset folder the traces belong to (prompts and modalities are read from its `pairs.jsonl`). */
  data: z.string().min(1),
  /** The teacher traces file (@flex/sft's distill output). Default `<data>/traces.jsonl`. */
  traces: z.string().min(1).optional(),
  /** The rewritten traces file to write (replaced). Pass it as `traces` to @flex/sft's `sft()`. */
  out: z.string().min(1),
  /** Overall winner: 'teacher' (default) or 'rubric'; see {@link FixedRubricRewriteOptions}. */
  winner: z.enum(fixedRubricWinnerPolicies).default('teacher'),
  /** Self-generated categories: 'fold' (default) into the rubric's `foldInto` criterion, or 'drop'. */
  extraCategories: z.enum(['fold', 'drop']).default('fold'),
  /** Longest joined reason in characters. Default 240. */
  maxReasonLength: z.number().int().min(8).default(240),
});
/** Input of {@link rewriteFixedRubric}. */
export type RewriteFixedRubricOptions = z.input<typeof rewriteFixedRubricOptionsSchema>;

/** What {@link rewriteFixedRubric} returns (also written to `<out>.stats.json`). */
export interface RewriteFixedRubricStats {
  /** The file written. */
  readonly file: string;
  /** Trace lines read (one per pair; a later line for a pair replaces an earlier one, as @flex/sft reads them). */
  readonly traces: number;
  /** Trace lines written. */
  readonly rewritten: number;
  /** Traces left out: their pair is not in the dataset, or an answer does not decode (each with a reason). */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  /** Answers (both orders counted) whose fixed-score margin points away from the teacher's winner. */
  readonly ambiguous: number;
  /** Answers whose overall winner changed (only with `winner: 'rubric'`). */
  readonly winnerChanged: number;
  /** Answers whose `correct` flag changed (only with `winner: 'rubric'`). */
  readonly correctChanged: number;
  /** Criteria of self-generated categories folded in (or dropped). */
  readonly extraCriteria: number;
  /** Answers (both orders) rewritten. */
  readonly answers: number;
}

function readTraceLines(file: string): FixedRubricTraceRecord[] {
  if (!existsSync(file)) throw new EvalError('invalid_dataset', `rewriteFixedRubric: no traces file at ${file} (run distill first)`);
  const byId = new Map<string, FixedRubricTraceRecord>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let value: FixedRubricTraceRecord;
      try {
        value = JSON.parse(line) as FixedRubricTraceRecord;
      } catch (cause) {
        throw new EvalError('invalid_dataset', `${file}:${i + 1}: not JSON`, { cause });
      }
      if (typeof value?.id !== 'string' || typeof value.answer?.text !== 'string' || typeof value.swapped !== 'boolean') {
        throw new EvalError('invalid_dataset', `${file}:${i + 1}: not a trace record`);
      }
      byId.set(value.id, value);
    });
  return [...byId.values()];
}

/**
 * Rewrites a teacher traces file (written by @flex/sft's `distill`) to the fixed rubric: every answer (and its
 * reversed-order answer) is decoded with the pair's prompt and modality, rewritten by
 * {@link rewriteAssessmentToFixedRubric}, and encoded back; `winner`, `correct` and (with the 'rubric' policy)
 * `probabilityA` are recomputed in the record's terms. Writes a traces file in the same format (train the
 * fixed-rubric baseline with `sft({ data, traces: out })`) and `<out>.stats.json`.
 * @throws EvalError `invalid_options`, `invalid_dataset` (no traces file, a malformed line, nothing rewritable), `io_error`.
 */
export async function rewriteFixedRubric(options: RewriteFixedRubricOptions): Promise<RewriteFixedRubricStats> {
  const o = parseOptions(rewriteFixedRubricOptionsSchema, options, 'rewriteFixedRubric');
  const tracesFile = o.traces ?? join(o.data, 'traces.jsonl');
  const traces = readTraceLines(tracesFile);
  let records: Awaited<ReturnType<typeof readAllPairs>>;
  try {
    records = await readAllPairs({ data: o.data });
  } catch (cause) {
    throw new EvalError('invalid_dataset', `rewriteFixedRubric: cannot read the dataset ${o.data}: ${(cause as Error).message}`, { cause });
  }
  const byId = new Map(records.map((r) => [r.id, r]));
  const skipped: { id: string; reason: string }[] = [];
  const lines: string[] = [];
  let ambiguous = 0;
  let winnerChanged = 0;
  let correctChanged = 0;
  let extraCriteria = 0;
  let answers = 0;
  const rewriteOptions: FixedRubricRewriteOptions = { winner: o.winner, extraCategories: o.extraCategories, maxReasonLength: o.maxReasonLength };
  for (const trace of traces) {
    const record = byId.get(trace.id);
    if (record === undefined) {
      skipped.push({ id: trace.id, reason: 'the pair is not in the dataset' });
      continue;
    }
    const rewrite = (answer: FixedRubricTraceAnswer, shownSwapped: boolean): FixedRubricTraceAnswer | string => {
      const decoded = decodeCompact(answer.text, { prompt: record.prompt, modality: record.modality, mode: 'pairwise' });
      if (!decoded.ok) return `${decoded.error.code}: ${decoded.error.message}`;
      const result = rewriteAssessmentToFixedRubric(decoded.value, rewriteOptions);
      const firstWins = result.assessment.winner.endsWith('1');
      const winner: 'A' | 'B' = firstWins !== shownSwapped ? 'A' : 'B';
      const correct = winner === trace.label;
      let probabilityA = answer.probabilityA;
      if (o.winner === 'rubric') {
        const first = probabilityAFromScores(result.assessment).probabilityA;
        probabilityA = shownSwapped ? 1 - first : first;
      }
      answers++;
      if (result.ambiguous) ambiguous++;
      if (result.winnerChanged) winnerChanged++;
      if (correct !== answer.correct) correctChanged++;
      extraCriteria += result.extraCriteria;
      return { text: encodeCompact(result.assessment), winner, correct, probabilityA };
    };
    const answer = rewrite(trace.answer, trace.swapped);
    if (typeof answer === 'string') {
      skipped.push({ id: trace.id, reason: answer });
      continue;
    }
    const reverse = trace.reverse === undefined ? undefined : rewrite(trace.reverse, !trace.swapped);
    if (typeof reverse === 'string') {
      skipped.push({ id: trace.id, reason: `reverse: ${reverse}` });
      continue;
    }
    const out: FixedRubricTraceRecord = { id: trace.id, swapped: trace.swapped, label: trace.label, answer, ...(reverse ? { reverse } : {}) };
    lines.push(JSON.stringify(out));
  }
  if (lines.length === 0) throw new EvalError('invalid_dataset', `rewriteFixedRubric: no trace of ${tracesFile} could be rewritten${skipped[0] ? ` (first: ${skipped[0].reason})` : ''}`);
  const stats: RewriteFixedRubricStats = { file: o.out, traces: traces.length, rewritten: lines.length, skipped, ambiguous, winnerChanged, correctChanged, extraCriteria, answers };
  try {
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, `${lines.join('\n')}\n`);
    writeFileSync(`${o.out}.stats.json`, `${JSON.stringify({ ...stats, options: { winner: o.winner, extraCategories: o.extraCategories, maxReasonLength: o.maxReasonLength } }, null, 2)}\n`);
  } catch (cause) {
    throw new EvalError('io_error', `rewriteFixedRubric: cannot write ${o.out}: ${(cause as Error).message}`, { cause });
  }
  return stats;
}
