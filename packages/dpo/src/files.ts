import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Media } from '@flex/criteria';
import { type TrainerCallbacks, type TrainResult, initBackend, loadCheckpoint, saveCheckpoint } from '@flex/model';
import { type PairRecord, loadCandidateMedia, readAllPairs } from '@flex/synth';
import { type CurationPair, type CurationStats, type PreferenceRecord, curatePreferences, curationOptionsSchema, shownSwapped } from './curate';
import { DPOTrainer, type DPOConfigInput, type DpoExample, referenceLogProbs } from './dpo-trainer';
import { DpoError, parseDpoOptions } from './errors';

/** File names inside a preferences folder written by {@link curate}. */
export const preferenceFiles = { preferences: 'preferences.jsonl', stats: 'curation-stats.json', reference: 'reference-logps.jsonl' } as const;

interface TraceLine {
  readonly id: string;
  readonly swapped: boolean;
  readonly answer: { readonly text: string; readonly correct: boolean };
}

function readJsonLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (cause) {
        throw new DpoError('invalid_dataset', `${file}:${i + 1}: not JSON`, { cause });
      }
    });
}

async function loadDataset(data: string, limit?: number): Promise<{ record: PairRecord; a: Media; b: Media }[]> {
  const records = await readAllPairs({ data, ...(limit ? { limit } : {}) });
  return records.map((record) => ({ record, a: loadCandidateMedia(data, record, 'a'), b: loadCandidateMedia(data, record, 'b') }));
}

/** Options of {@link curate} (what `flex curate` passes). */
export const curateOptionsSchema = curationOptionsSchema.extend({
  /** The SFT judge checkpoint to sample from (also the DPO reference). */
  model: z.string().min(1),
  /** The training dataset folder (@flex/synth format). */
  data: z.string().min(1),
  /** Teacher traces of the dataset (@flex/sft `distill`), for the A/B order and teacher-vs-model pairs. Default `<data>/traces.jsonl` when it exists. */
  traces: z.string().min(1).optional(),
  /** Output folder: `preferences.jsonl`, `curation-stats.json`, `reference-logps.jsonl`. */
  out: z.string().min(1),
  /** Use only the first this many pairs. Default: all. */
  limit: z.number().int().min(1).optional(),
});
/** Input of {@link curateOptionsSchema}. */
export type CurateOptions = z.input<typeof curateOptionsSchema>;

/**
 * Curates preference pairs from a judge's own samples on a dataset ({@link curatePreferences}), writes them with the
 * statistics, and precomputes the reference log-probs once with the same judge (saved beside the pairs, so DPO does
 * not keep a reference model in memory).
 */
export async function curate(options: CurateOptions): Promise<{ out: string; stats: CurationStats; preferences: number }> {
  const o = parseDpoOptions(curateOptionsSchema, options, 'curate options');
  await initBackend();
  const { model: path, data, traces: tracesFile, out, limit, ...curation } = o;
  const pairs = await loadDataset(data, limit);
  const traceFile = tracesFile ?? join(data, 'traces.jsonl');
  const traces = new Map(existsSync(traceFile) ? readJsonLines<TraceLine>(traceFile).map((t) => [t.id, t]) : []);
  const { model } = await loadCheckpoint({ directory: path, kind: 'flex-judge' });
  try {
    const curationPairs: CurationPair[] = pairs.map(({ record, a, b }) => {
      const trace = traces.get(record.id);
      return {
        id: record.id,
        prompt: record.prompt,
        modality: record.modality,
        a,
        b,
        label: record.label,
        swapped: trace ? trace.swapped : shownSwapped(record.id, curation.seed),
        ...(trace ? { teacher: { text: trace.answer.text, correct: trace.answer.correct } } : {}),
      };
    });
    const { preferences, stats } = curatePreferences({ model, pairs: curationPairs, ...curation });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, preferenceFiles.preferences), preferences.map((p) => `${JSON.stringify(p)}\n`).join(''));
    writeFileSync(join(out, preferenceFiles.stats), `${JSON.stringify({ ...stats, model: path, data, options: curation }, null, 2)}\n`);
    const byId = new Map(pairs.map((p) => [p.record.id, p]));
    const reference = referenceLogProbs(model, preferences.map((p) => toExample(p, byId)));
    writeFileSync(join(out, preferenceFiles.reference), reference.map((r, index) => `${JSON.stringify({ index, id: preferences[index]?.id, ...r })}\n`).join(''));
    return { out, stats, preferences: preferences.length };
  } finally {
    model.dispose();
  }
}

function toExample(p: PreferenceRecord, byId: ReadonlyMap<string, { a: Media; b: Media }>): DpoExample {
  const pair = byId.get(p.id);
  if (!pair) throw new DpoError('invalid_dataset', `preference for ${p.id} has no pair in the dataset`);
  return { media: p.swapped ? [pair.b, pair.a] : [pair.a, pair.b], prompt: p.prompt, chosen: p.chosen, rejected: p.rejected };
}

/** Reads a preferences folder into DPO examples (media from the dataset, reference log-probs from the saved file). */
export async function readPreferenceExamples(options: { preferences: string; data: string }): Promise<DpoExample[]> {
  const file = join(options.preferences, preferenceFiles.preferences);
  if (!existsSync(file)) throw new DpoError('missing_preferences', `no ${preferenceFiles.preferences} in ${options.preferences} (run curate first)`);
  const records = readJsonLines<PreferenceRecord>(file);
  const referenceFile = join(options.preferences, preferenceFiles.reference);
  const reference = existsSync(referenceFile) ? readJsonLines<{ index: number; chosen: number; rejected: number }>(referenceFile) : [];
  const pairs = await loadDataset(options.data);
  const byId = new Map(pairs.map((p) => [p.record.id, p]));
  return records.map((p, i) => {
    const r = reference[i];
    const example = toExample(p, byId);
    return r && r.index === i ? { ...example, referenceChosen: r.chosen, referenceRejected: r.rejected } : example;
  });
}

/** Options of {@link dpo} (what `flex dpo` passes). */
export const dpoOptionsSchema = z.object({
  /** The checkpoint to start from (the SFT judge; also the reference when log-probs are missing). */
  model: z.string().min(1),
  /** The training dataset folder (for the media). */
  data: z.string().min(1),
  /** The preferences folder written by {@link curate}. */
  preferences: z.string().min(1),
  /** Output folder: checkpoints, `metrics.jsonl`, `final/`. */
  out: z.string().min(1),
  /** DPO config overrides (β, loss type, learning rate, steps…); `outputDir` defaults to `out`. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Share of the preference pairs held out for eval metrics. Default 0.05. */
  evalShare: z.number().min(0).max(0.5).default(0.05),
  /** Seed of the data order. Default 0. */
  seed: z.number().int().default(0),
  /** Trainer callbacks. */
  callbacks: z.array(z.custom<TrainerCallbacks>((v) => typeof v === 'object' && v !== null)).default([]),
  /** Resume from the latest checkpoint in `out`. Default false. */
  resume: z.boolean().default(false),
});
/** Input of {@link dpoOptionsSchema}. */
export type DpoOptions = z.input<typeof dpoOptionsSchema>;

/** Trains a judge with DPO on curated preferences; saves it to `<out>/final`. */
export async function dpo(options: DpoOptions): Promise<{ checkpoint: string; train: TrainResult; pairs: number }> {
  const o = parseDpoOptions(dpoOptionsSchema, options, 'dpo options');
  await initBackend();
  const examples = await readPreferenceExamples({ preferences: o.preferences, data: o.data });
  if (examples.length === 0) throw new DpoError('invalid_dataset', `no preference pairs in ${o.preferences}`);
  const evalCount = Math.floor(examples.length * o.evalShare);
  const { model } = await loadCheckpoint({ directory: o.model, kind: 'flex-judge' });
  const needsReference = examples.some((e) => e.referenceChosen === undefined);
  const reference = needsReference ? (await loadCheckpoint({ directory: o.model, kind: 'flex-judge' })).model : undefined;
  try {
    const config = { outputDir: o.out, seed: o.seed, ...o.config } as DPOConfigInput;
    const trainer = new DPOTrainer({
      model,
      config,
      trainDataset: examples.slice(evalCount),
      evalDataset: examples.slice(0, evalCount),
      ...(reference ? { referenceModel: reference } : {}),
      callbacks: o.callbacks,
    });
    reference?.dispose();
    const train = await trainer.train(o.resume ? { resumeFrom: true } : {});
    const checkpoint = join(o.out, 'final');
    await saveCheckpoint({ directory: checkpoint, model });
    return { checkpoint, train, pairs: examples.length };
  } finally {
    model.dispose();
  }
}
