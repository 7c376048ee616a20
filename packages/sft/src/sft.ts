import { join } from 'node:path';
import { z } from 'zod';
import type { Media } from '@flex/criteria';
import { type JudgeExample, type TrainerCallbacks, type TrainResult, createRng, initBackend, loadCheckpoint, saveCheckpoint } from '@flex/model';
import { type PairRecord, loadCandidateMedia, readAllPairs } from '@flex/synth';
import { baseImageCheckpoint } from './assets';
import { SftError, parseSftOptions } from './errors';
import { lookupBlocks, openTextExamples, pairDescriptionExample, traceExample, traceOpening } from './examples';
import { type TraceFilter, type TraceRecord, keepTrace, readTraces, traceFilterSchema, tracesFileOf } from './distill';
import { SFTTrainer, type SFTConfigInput } from './sft-trainer';

/** A pair with its media loaded, as SFT and DPO need it. */
export interface LoadedPair {
  readonly record: PairRecord;
  readonly a: Media;
  readonly b: Media;
}

/** Loads every pair of a dataset with its media. */
export async function loadPairs(data: string, limit?: number): Promise<LoadedPair[]> {
  const records = await readAllPairs({ data, ...(limit ? { limit } : {}) });
  return records.map((record) => ({ record, a: loadCandidateMedia(data, record, 'a'), b: loadCandidateMedia(data, record, 'b') }));
}

/** Options of {@link judgeExamples}. */
export interface JudgeExamplesOptions {
  readonly pairs: readonly LoadedPair[];
  readonly traces: readonly TraceRecord[];
  /** Default 'correct'. */
  readonly filter?: TraceFilter;
  /** Pair-description examples per kept trace (the description loss kept during fine-tuning). Default 0.5. */
  readonly descriptionMix?: number;
  /** Also train on the reversed-order answer when it was asked and passes the filter. Default true. */
  readonly useReverse?: boolean;
  /** Seed of which pairs get a description example. Default 0. */
  readonly seed?: number;
  /**
   * Open intent examples per kept trace: the trace cut after its intent and evidence lines (no verdict, no `<eos>`),
   * more practice for the first step of the reasoning at a fifth of a trace's length. Default 0.
   */
  readonly intentMix?: number;
  /**
   * Lookup blocks ({@link lookupBlocks}, text only, open) per kept trace, drawn from the kept traces: practice at
   * reading a flaw from the evidence lines, which full traces alone let the judge unlearn (docs/sft.md, session 4).
   * Default 0.
   */
  readonly lookupMix?: number;
}

/**
 * SFT examples from kept teacher traces (in the order each was shown) plus pair descriptions of the same pairs (the
 * evidence the judge writes before it sees the prompt), so the description loss stays in the mix.
 */
export function judgeExamples(options: JudgeExamplesOptions): { examples: JudgeExample[]; traces: number; descriptions: number } {
  const filter = options.filter ?? 'correct';
  const byId = new Map(options.pairs.map((p) => [p.record.id, p]));
  const examples: JudgeExample[] = [];
  let traces = 0;
  for (const trace of options.traces) {
    const pair = byId.get(trace.id);
    if (!pair || !keepTrace(trace, filter)) continue;
    const [first, second] = trace.swapped ? [pair.b, pair.a] : [pair.a, pair.b];
    examples.push(traceExample(pair.record.prompt, first, second, trace.answer.text));
    traces++;
    if ((options.useReverse ?? true) && trace.reverse?.correct) {
      examples.push(traceExample(pair.record.prompt, second, first, trace.reverse.text));
      traces++;
    }
  }
  const mix = options.descriptionMix ?? 0.5;
  const rng = createRng(options.seed ?? 0);
  const wanted = Math.round(mix * traces);
  let descriptions = 0;
  const pool = [...options.pairs];
  for (let i = 0; i < wanted && pool.length > 0; i++) {
    const pair = pool[Math.floor(rng.next() * pool.length)] as LoadedPair;
    const swapped = rng.next() < 0.5;
    examples.push(
      swapped
        ? pairDescriptionExample(pair.b, pair.a, pair.record.b.scene, pair.record.a.scene)
        : pairDescriptionExample(pair.a, pair.b, pair.record.a.scene, pair.record.b.scene),
    );
    descriptions++;
  }
  const intentWanted = Math.round((options.intentMix ?? 0) * traces);
  const kept = examples.filter((e) => e.media.length === 2 && e.prompt !== '');
  for (let i = 0; i < intentWanted && kept.length > 0; i++) {
    const trace = kept[Math.floor(rng.next() * kept.length)] as JudgeExample;
    const cut = traceOpening(trace.completion);
    if (cut.length > 0) examples.push({ media: trace.media, prompt: trace.prompt, completion: `${cut.join('\n')}\n`, open: true });
  }
  const lookupWanted = Math.round((options.lookupMix ?? 0) * traces);
  const lookups = lookupWanted > 0 ? kept.flatMap((e) => lookupBlocks(e.completion)) : [];
  const drawn: string[] = [];
  for (let i = 0; i < lookupWanted && lookups.length > 0; i++) drawn.push(lookups[Math.floor(rng.next() * lookups.length)] as string);
  examples.push(...openTextExamples(drawn));
  return { examples, traces, descriptions };
}

/** Options of {@link sft} (what `flex sft` passes). */
export const sftOptionsSchema = z.object({
  /** The base checkpoint to start from. Default: the shipped image base ({@link baseImageCheckpoint}). */
  base: z.string().min(1).optional(),
  /** The training dataset folder. */
  data: z.string().min(1),
  /** Its traces file. Default `<data>/traces.jsonl`. */
  traces: z.string().min(1).optional(),
  /** Which traces to learn from. Default 'correct'. */
  filter: traceFilterSchema.default('correct'),
  /** Output folder: checkpoints, `metrics.jsonl`, and `final/` (the judge). */
  out: z.string().min(1),
  /** Pair-description examples per trace. Default 0.5. */
  descriptionMix: z.number().min(0).default(0.5),
  /** Open intent examples (a trace cut after its intent and evidence lines) per trace. Default 0. */
  intentMix: z.number().min(0).default(0),
  /** Lookup blocks (the evidence, then the criteria of a category where a candidate falls short) per trace. Default 0. */
  lookupMix: z.number().min(0).default(0),
  /** Share of the kept traces held out as the eval set (eval_loss). Default 0.05. */
  evalShare: z.number().min(0).max(0.5).default(0.05),
  /** SFT config overrides; `outputDir` defaults to `out`. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Seed of the data order and the description draw. Default 0. */
  seed: z.number().int().default(0),
  /** Trainer callbacks. */
  callbacks: z.array(z.custom<TrainerCallbacks>((v) => typeof v === 'object' && v !== null)).default([]),
  /** Resume from the latest checkpoint in `out`. Default false. */
  resume: z.boolean().default(false),
  /** Sequence layout of the judge: 'evidence-first' (the evidence is written before the prompt is visible; default) or 'prompt-first'. */
  layout: z.enum(['evidence-first', 'prompt-first']).default('evidence-first'),
});
/** Input of {@link sftOptionsSchema}. */
export type SftOptions = z.input<typeof sftOptionsSchema>;

/** What {@link sft} returns. */
export interface SftResult {
  /** The trained judge (`<out>/final`). */
  readonly checkpoint: string;
  readonly train: TrainResult;
  readonly traces: number;
  readonly descriptions: number;
  readonly evalExamples: number;
  /** Examples dropped because they are longer than the model's `maxTextLength` (with a process warning). */
  readonly tooLong: number;
}

/**
 * Trains a judge from a base checkpoint on a dataset's teacher traces (filtered) with pair descriptions mixed in,
 * with the {@link SFTTrainer}; saves the judge to `<out>/final`.
 */
export async function sft(options: SftOptions): Promise<SftResult> {
  const o = parseSftOptions(sftOptionsSchema, options, 'sft options');
  await initBackend();
  const pairs = await loadPairs(o.data);
  const traces = readTraces(o.traces ?? tracesFileOf(o.data));
  const rng = createRng(o.seed + 17);
  const evalIds = new Set(traces.filter(() => rng.next() < o.evalShare).map((t) => t.id));
  const trainSet = judgeExamples({ pairs, traces: traces.filter((t) => !evalIds.has(t.id)), filter: o.filter, descriptionMix: o.descriptionMix, intentMix: o.intentMix, lookupMix: o.lookupMix, seed: o.seed });
  const evalSet = judgeExamples({ pairs, traces: traces.filter((t) => evalIds.has(t.id)), filter: o.filter, descriptionMix: 0, seed: o.seed });
  if (trainSet.traces === 0) throw new SftError('invalid_dataset', `no trace passes the '${o.filter}' filter in ${o.traces ?? tracesFileOf(o.data)}`);
  const { model } = await loadCheckpoint({ directory: o.base ?? baseImageCheckpoint, kind: 'flex-judge' });
  model.layout = o.layout;
  const config = { outputDir: o.out, seed: o.seed, ...o.config } as SFTConfigInput;
  // Examples longer than the model's text positions (a rare long trace) are dropped and counted, not left to stop the run.
  const trainer = new SFTTrainer({ model, config, trainDataset: trainSet.examples, evalDataset: evalSet.examples, callbacks: o.callbacks, tooLong: 'drop' });
  const tooLong = trainer.droppedTooLong;
  if (tooLong > 0) process.emitWarning(`sft: dropped ${tooLong} example(s) longer than the model's maxTextLength of ${model.config.maxTextLength}`, { code: 'FLEX_SFT_TOO_LONG' });
  const train = await trainer.train(o.resume ? { resumeFrom: true } : {});
  const checkpoint = join(o.out, 'final');
  await saveCheckpoint({ directory: checkpoint, model });
  model.dispose();
  return { checkpoint, train, traces: trainSet.traces, descriptions: trainSet.descriptions, evalExamples: trainer.evalDataset.length, tooLong };
}
