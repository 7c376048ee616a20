import { z } from 'zod';
import { type Media, type Modality, type PairwiseAssessment, decodeCompact } from '@flex/criteria';
import { type FlexJudgeModel, createRng, encodeSequence, hashString } from '@flex/model';
import { DpoError, parseDpoOptions } from './errors';

/** One training pair to curate preferences for, its media in the record's order. */
export interface CurationPair {
  readonly id: string;
  readonly prompt: string;
  readonly modality: Modality;
  /** The record's candidate A. */
  readonly a: Media;
  readonly b: Media;
  /** The human (oracle) label in the record's terms. */
  readonly label: 'A' | 'B' | 'tie';
  /** Show B first (the A/B order is randomised per pair; reuse the order the teacher saw). */
  readonly swapped: boolean;
  /** The teacher's trace for the same order, when there is one. */
  readonly teacher?: { readonly text: string; readonly correct: boolean };
}

/** One preference pair: two completions for the same input. */
export interface PreferenceRecord {
  /** The training pair's id. */
  readonly id: string;
  readonly swapped: boolean;
  readonly prompt: string;
  /** The compact text preferred (right winner, well-formed). */
  readonly chosen: string;
  /** The compact text rejected (wrong winner, or malformed). */
  readonly rejected: string;
  /** Where chosen came from: the judge's own sample, or the teacher. */
  readonly kind: 'model-model' | 'teacher-model';
  /** Why the rejected one is rejected. */
  readonly rejectedReason: 'wrong_winner' | 'malformed';
}

/** Options of {@link curatePreferences}: how to sample and the rules that form pairs. */
export const curationOptionsSchema = z.object({
  /** Assessments sampled per training pair. Default 4. */
  samples: z.number().int().min(2).default(4),
  /** Sampling temperature. Default 1. */
  temperature: z.number().positive().default(1),
  /** Top-k (0 = all tokens). Default 0. */
  topK: z.number().int().min(0).default(0),
  /** Seed of the sampling. Default 0. */
  seed: z.number().int().default(0),
  /** Grammar-constrained decoding (every finished output decodes). Default true. */
  constrained: z.boolean().default(true),
  /** Token budget per sample. Default: the model's. */
  maxNewTokens: z.number().int().min(1).optional(),
  /** Most preference pairs formed per training pair. Default 2. */
  maxPairsPerPrompt: z.number().int().min(1).default(2),
  /** Teacher-vs-model pairs: 'never', 'when-no-chosen' (the judge had no right sample; default), or 'always'. */
  teacherPairs: z.enum(['never', 'when-no-chosen', 'always']).default('when-no-chosen'),
  /** Use malformed outputs (unparseable, or cut by the budget) as rejected. Default true. */
  malformedAsRejected: z.boolean().default(true),
  /** Requests per generation batch. Default 32. */
  batchSize: z.number().int().min(1).default(32),
});
/** Input of {@link curationOptionsSchema}. */
export type CurationOptions = z.input<typeof curationOptionsSchema>;

/** Statistics of a curation. */
export interface CurationStats {
  /** Training pairs seen. */
  readonly pairs: number;
  /** Pairs skipped because their label is a tie. */
  readonly ties: number;
  /** Samples drawn. */
  readonly samples: number;
  /** Share of samples that decode and finished (not cut by the budget). */
  readonly parseRate: number;
  /** Share of well-formed samples whose winner is right. */
  readonly sampleAccuracy: number;
  /** Pairs with at least one right, well-formed sample. */
  readonly pairsWithChosen: number;
  /** Pairs with at least one wrong or malformed sample. */
  readonly pairsWithRejected: number;
  /** Samples left out because, re-encoded, they exceed the model's maxTextLength. */
  readonly tooLong: number;
  /** Preference pairs formed, by kind and by the rejected one's fault. */
  readonly formed: { readonly total: number; readonly modelModel: number; readonly teacherModel: number; readonly wrongWinner: number; readonly malformed: number };
}

interface Sample {
  readonly text: string;
  readonly wellFormed: boolean;
  readonly correct: boolean;
  /** Re-encoded, it fits the model's text length (a sampled text can re-tokenise longer than it was written). */
  readonly fits: boolean;
}

/** Whether a pair is shown swapped under a seed when no teacher order is known: a stable coin per id. */
export function shownSwapped(id: string, seed: number): boolean {
  return createRng((hashString(id) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0).next() < 0.5;
}

/**
 * Curation: samples `samples` assessments per training pair from the (SFT) judge with temperature and seed, parses
 * them, and forms (chosen, rejected) pairs — chosen: right winner and well-formed; rejected: wrong winner or
 * malformed — plus teacher-vs-model pairs by the rules in the options. Returns the pairs and statistics.
 */
export function curatePreferences(options: { model: FlexJudgeModel; pairs: readonly CurationPair[] } & CurationOptions): { preferences: PreferenceRecord[]; stats: CurationStats } {
  const { model, pairs, ...rest } = options;
  if (!model || typeof model.generate !== 'function') throw new DpoError('invalid_options', 'curatePreferences needs a FlexJudgeModel');
  const o = parseDpoOptions(curationOptionsSchema, rest, 'curation options');
  const decided = pairs.filter((p) => p.label !== 'tie');
  const requests = decided.flatMap((p) => Array.from({ length: o.samples }, () => ({ media: p.swapped ? [p.b, p.a] : [p.a, p.b], prompt: p.prompt })));
  const outputs = model.generate(requests, {
    temperature: o.temperature,
    topK: o.topK,
    seed: o.seed,
    constrained: o.constrained,
    batchSize: o.batchSize,
    ...(o.maxNewTokens ? { maxNewTokens: o.maxNewTokens } : {}),
  });
  const preferences: PreferenceRecord[] = [];
  let wellFormed = 0;
  let correct = 0;
  let withChosen = 0;
  let withRejected = 0;
  let tooLong = 0;
  const formed = { total: 0, modelModel: 0, teacherModel: 0, wrongWinner: 0, malformed: 0 };
  decided.forEach((pair, p) => {
    const drawn: Sample[] = outputs.slice(p * o.samples, (p + 1) * o.samples).map((out) => {
      const fits = encodeSequence(model.tokenizer, pair.prompt, out.text, model.layout).ids.length <= model.config.maxTextLength;
      const decoded = decodeCompact(out.text, { prompt: pair.prompt, modality: pair.modality, mode: 'pairwise' });
      if (!decoded.ok || out.finishReason !== 'eos') return { text: out.text, wellFormed: false, correct: false, fits };
      const firstWins = (decoded.value as PairwiseAssessment).winner.endsWith('1');
      const winner = firstWins !== pair.swapped ? 'A' : 'B';
      return { text: out.text, wellFormed: true, correct: winner === pair.label, fits };
    });
    tooLong += drawn.filter((s) => !s.fits).length;
    const samples = drawn.filter((s) => s.fits);
    wellFormed += drawn.filter((s) => s.wellFormed).length;
    correct += drawn.filter((s) => s.correct).length;
    const chosen = dedupe(samples.filter((s) => s.correct));
    const rejected = dedupe(samples.filter((s) => (s.wellFormed ? !s.correct : o.malformedAsRejected)));
    if (chosen.length > 0) withChosen++;
    if (rejected.length > 0) withRejected++;
    const add = (c: string, r: Sample, kind: PreferenceRecord['kind']) => {
      const rejectedReason = r.wellFormed ? 'wrong_winner' : 'malformed';
      preferences.push({ id: pair.id, swapped: pair.swapped, prompt: pair.prompt, chosen: c, rejected: r.text, kind, rejectedReason });
      formed.total++;
      if (kind === 'model-model') formed.modelModel++;
      else formed.teacherModel++;
      if (rejectedReason === 'malformed') formed.malformed++;
      else formed.wrongWinner++;
    };
    let made = 0;
    for (let i = 0; i < Math.min(chosen.length, rejected.length) && made < o.maxPairsPerPrompt; i++, made++) add((chosen[i] as Sample).text, rejected[i] as Sample, 'model-model');
    const teacherOk = pair.teacher?.correct === true && (o.teacherPairs === 'always' || (o.teacherPairs === 'when-no-chosen' && chosen.length === 0));
    if (teacherOk) {
      for (let i = 0; i < rejected.length && made < o.maxPairsPerPrompt; i++) {
        const r = rejected[i] as Sample;
        if (r.text === pair.teacher?.text) continue;
        if (o.teacherPairs === 'always' && i < Math.min(chosen.length, rejected.length)) continue;
        add((pair.teacher as { text: string }).text, r, 'teacher-model');
        made++;
      }
    }
  });
  const total = requests.length;
  return {
    preferences,
    stats: {
      pairs: pairs.length,
      ties: pairs.length - decided.length,
      samples: total,
      parseRate: total === 0 ? 0 : wellFormed / total,
      sampleAccuracy: wellFormed === 0 ? 0 : correct / wellFormed,
      pairsWithChosen: withChosen,
      pairsWithRejected: withRejected,
      tooLong,
      formed,
    },
  };
}

function dedupe(samples: readonly Sample[]): Sample[] {
  const seen = new Set<string>();
  return samples.filter((s) => (seen.has(s.text) ? false : (seen.add(s.text), true)));
}
