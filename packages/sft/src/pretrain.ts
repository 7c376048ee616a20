import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { encodeCompact, type Media } from '@flex/criteria';
import { FlexJudgeModel, type JudgeExample, type MetricsEntry, type TrainerCallbacks, buildJudgeTokenizer, initBackend, loadCheckpoint, saveCheckpoint, splitEvidence } from '@flex/model';
import { type Scene, SimulatedTeacher, describeScene } from '@flex/synth';
import { parseSftOptions } from './errors';
import { type CaptionAccuracy, aggregationExamples, lookupBlocks, openTextExamples, checkExample, compareDescriptions, descriptionExample, intentExample, pairDescriptionExample, pairIntentExample, questionExamples } from './examples';
import { SFTTrainer, type SFTConfigInput } from './sft-trainer';
import { type WorldPair, drawWorldPairs } from './world';

/** Options of {@link pretrain} (what `flex pretrain --out DIR --seed S --preset P` passes). */
export const pretrainOptionsSchema = z.object({
  /** Output folder: the trainer's checkpoints, `metrics.jsonl`, `pretrain-report.json`, and `final/` (the base checkpoint). */
  out: z.string().min(1),
  /** Seed of the world draw, the initial parameters and the data order. Default 0. */
  seed: z.number().int().min(0).default(0),
  /** Model size preset. Default 'small'. */
  preset: z.enum(['tiny', 'small', 'base']).default('small'),
  /** Overrides of the preset (e.g. `{ vision: { imageSize: 64 } }`). Default: maxTextLength 576 (traces run to ~500 tokens). */
  modelConfig: z.record(z.string(), z.unknown()).default({ maxTextLength: 576 }),
  /** World pairs drawn for training (each gives 2 images). Default 4000. */
  pairs: z.number().int().min(1).default(4000),
  /** Held-out (test split) images for the caption accuracy. Default 200. */
  evalImages: z.number().int().min(0).default(200),
  /** Rendered image side in pixels (the datasets' default is 32). Default 32. */
  imageSize: z.number().int().min(8).default(32),
  /** Tokenizer size. Default 768. */
  vocabSize: z.number().int().min(64).default(768),
  /** Grounded questions per training image pair. Default 2. */
  questionsPerPair: z.number().int().min(0).default(2),
  /** Include prompt-conditioned pointwise checks of single candidates (the curriculum before pairs). Default true. */
  checks: z.boolean().default(true),
  /** Intent examples (evidence, prompt, the intent line; open) of each image and of the pair. Default true. */
  intents: z.boolean().default(true),
  /**
   * Intent examples whose evidence belongs to another pair's images (the prompt of pair i, the media and evidence of
   * pair i + 1): only the prompt tells the intent, so the model cannot restate it by copying the evidence lines, the
   * shortcut the judge took when writing intents in full traces (docs/sft.md, session 4). Default false.
   */
  intentDistractors: z.boolean().default(false),
  /** Descriptions of each image and of the pair (the perception examples). Default true. */
  descriptions: z.boolean().default(true),
  /**
   * Aggregation blocks per pair, cut from the simulated teacher's pairwise trace of it (text only, open): the overall
   * step, then each category's criteria → verdict ({@link aggregationExamples}). Default 0 (none).
   */
  aggregation: z.number().int().min(0).default(0),
  /** Put the trace's intent and evidence lines in front of each category block. Default false. */
  aggregationEvidence: z.boolean().default(false),
  /**
   * Lookup blocks per pair ({@link lookupBlocks}: the intent and evidence lines, the categories before, then the criteria
   * of each category in which a candidate falls short; text only, open), cut from the simulated teacher's trace. Default false.
   */
  lookups: z.boolean().default(false),
  /** Share of pairs that get a check (checks are long: ~330 tokens against ~30 for a description). Default 1. */
  checkRate: z.number().min(0).max(1).default(1),
  /** Start from this checkpoint's weights and tokenizer (a second pretraining phase) instead of from scratch. */
  initFrom: z.string().min(1).optional(),
  /**
   * Switch the text position bias of the `initFrom` model (`'alibi'`: ALiBi, docs/model.md; it has no parameters, so
   * the phase adapts the weights to it). From scratch, set it in `modelConfig` instead. Default: the checkpoint's own.
   */
  positionBias: z.enum(['none', 'alibi']).optional(),
  /**
   * Grow the `initFrom` model's vision stem to this many residual blocks per conv (they start as the identity;
   * `loadCheckpoint({ residualBlocks })`, docs/model.md). From scratch, set `vision.residualBlocks` in `modelConfig`. Default: the checkpoint's own.
   */
  residualBlocks: z.number().int().min(0).optional(),
  /**
   * Switch on the `initFrom` model's candidate tags (`loadCheckpoint({ candidateTags: true })`, docs/model.md; they
   * start at zero). From scratch, set `candidateTags` in `modelConfig`. Default: the checkpoint's own.
   */
  candidateTags: z.boolean().optional(),
  /** Offset of the world draw (a later phase can draw fresh pairs). Default 0. */
  drawOffset: z.number().int().min(0).default(0),
  /** SFT config overrides (learning rate, steps, batch size…); `outputDir` defaults to `out`. */
  trainer: z.record(z.string(), z.unknown()).default({}),
  /** Trainer callbacks (progress, logging). */
  callbacks: z.array(z.custom<TrainerCallbacks>((v) => typeof v === 'object' && v !== null)).default([]),
  /** Resume from the latest checkpoint in `out`. Default false. */
  resume: z.boolean().default(false),
  /** Stop after this many steps of a longer schedule (the data order and learning rates stay those of `maxSteps`). Default: run to the end. */
  stopAfterSteps: z.number().int().min(1).optional(),
  /** Use an existing checkpoint of this run instead of training (e.g. `<out>/checkpoint-1500`): only measure and save `final`. */
  fromCheckpoint: z.string().min(1).optional(),
});
/** Input of {@link pretrainOptionsSchema}. */
export type PretrainOptions = z.input<typeof pretrainOptionsSchema>;

/** What {@link pretrain} returns (also written to `<out>/pretrain-report.json`). */
export interface PretrainResult {
  /** The base checkpoint (`<out>/final`). */
  readonly checkpoint: string;
  readonly steps: number;
  readonly status: string;
  /** Held-out per-attribute accuracy of generated descriptions. */
  readonly captionAccuracy: CaptionAccuracy;
  readonly parameters: number;
  readonly vocabSize: number;
  readonly lastLog?: Record<string, number>;
}

/** Which kinds of pretraining example a phase draws, and how many (the mix options of {@link pretrainOptionsSchema}). */
export type PretrainMix = Partial<Pick<z.output<typeof pretrainOptionsSchema>, 'questionsPerPair' | 'checks' | 'checkRate' | 'intents' | 'intentDistractors' | 'descriptions' | 'aggregation' | 'aggregationEvidence' | 'lookups'>>;

/** The pretraining examples of a list of world pairs (descriptions, pair descriptions, grounded questions, checks). */
export function pretrainExamples(pairs: readonly WorldPair[], options: PretrainMix = {}): JudgeExample[] {
  const rate = options.checkRate ?? 1;
  const out: JudgeExample[] = [];
  const teacher = (options.aggregation ?? 0) > 0 || options.lookups ? new SimulatedTeacher() : undefined;
  pairs.forEach((p, i) => {
    const { record } = p;
    if (options.descriptions ?? true) {
      out.push(pairDescriptionExample(p.a, p.b, record.a.scene, record.b.scene));
      out.push(descriptionExample(p.a, record.a.scene), descriptionExample(p.b, record.b.scene));
    }
    if (teacher) {
      // The teacher's pairwise trace of the pair (shown in alternating order), cut into its aggregation steps.
      const trace = teacher.assessRecord(record, i % 2 === 1);
      const text = trace.ok ? encodeCompact(trace.assessment) : undefined;
      if (text && (options.aggregation ?? 0) > 0) out.push(...aggregationExamples(text, { withEvidence: options.aggregationEvidence ?? false, limit: options.aggregation }));
      if (text && options.lookups) out.push(...openTextExamples(lookupBlocks(text)));
    }
    const which = i % 2 === 0 ? 'a' : 'b';
    const media = which === 'a' ? p.a : p.b;
    out.push(...questionExamples(media, record[which].scene, { limit: options.questionsPerPair ?? 2, offset: i }));
    // A low-discrepancy choice of which pairs get a check (deterministic, evenly spread).
    if ((options.checks ?? true) && ((i * 0.6180339887498949) % 1) < rate) out.push(checkExample(record, media, record[which].scene));
    if (options.intents ?? true) {
      out.push(intentExample(record, p.a, record.a.scene), intentExample(record, p.b, record.b.scene));
      out.push(i % 2 === 0 ? pairIntentExample(record, p.a, p.b, record.a.scene, record.b.scene) : pairIntentExample(record, p.b, p.a, record.b.scene, record.a.scene));
    }
    if (options.intentDistractors && pairs.length > 1) {
      const other = pairs[(i + 1) % pairs.length] as WorldPair;
      out.push(pairIntentExample(record, other.a, other.b, other.record.a.scene, other.record.b.scene));
    }
  });
  return out;
}

/** The text corpus a judge tokenizer is built from: prompts, teacher traces, checks, descriptions and questions. */
export function tokenizerCorpus(pairs: readonly WorldPair[]): { prompts: string[]; texts: string[] } {
  const teacher = new SimulatedTeacher();
  const texts: string[] = [];
  for (const p of pairs) {
    const trace = teacher.assessRecord(p.record);
    if (trace.ok) texts.push(encodeCompact(trace.assessment));
    texts.push(checkExample(p.record, p.b, p.record.b.scene).completion);
    for (const q of questionExamples(p.a, p.record.a.scene)) texts.push(q.prompt, q.completion);
  }
  return { prompts: pairs.map((p) => p.record.prompt), texts };
}

/**
 * Generates a description of each image (greedy, unconstrained, evidence-first: written from the image alone) and
 * returns the `evidence:` text of each.
 */
export function generateDescriptions(model: FlexJudgeModel, images: readonly Media[], options: { batchSize?: number } = {}): string[] {
  const outputs = model.generate(
    images.map((m) => ({ media: [m], prompt: '' })),
    { constrained: false, temperature: 0, maxNewTokens: 64, batchSize: options.batchSize ?? 32, layout: 'evidence-first' },
  );
  return outputs.map((o) => {
    const { evidence } = splitEvidence(o.text);
    const line = evidence.split('\n')[0] ?? '';
    return line.replace(/^evidence( [12])?: /, '').trim();
  });
}

/** Held-out caption accuracy of a model on images with known scenes. */
export function captionAccuracy(model: FlexJudgeModel, items: readonly { media: Media; scene: Scene }[]): CaptionAccuracy {
  const written = generateDescriptions(model, items.map((i) => i.media));
  return compareDescriptions(items.map((item, i) => ({ written: written[i] as string, truth: describeScene(item.scene) })));
}

/**
 * Stage 0: pretrains the base vision-language model from scratch on the embedded world — single-image and two-image
 * descriptions (the evidence vocabulary, written before any prompt is visible), grounded questions, and
 * prompt-conditioned pointwise checks — with the {@link SFTTrainer}; then measures held-out per-attribute caption
 * accuracy (count, colour, shape, position) on generated descriptions and saves the base checkpoint to `<out>/final`.
 */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const o = parseSftOptions(pretrainOptionsSchema, options, 'pretrain options');
  const mix: PretrainMix = { questionsPerPair: o.questionsPerPair, checks: o.checks, checkRate: o.checkRate, intents: o.intents, intentDistractors: o.intentDistractors, descriptions: o.descriptions, aggregation: o.aggregation, aggregationEvidence: o.aggregationEvidence, lookups: o.lookups };
  await initBackend();
  const heldOut = drawWorldPairs({ seed: o.seed + 1, split: 'test', count: Math.ceil(o.evalImages / 2), size: o.imageSize });
  const config: SFTConfigInput = { outputDir: o.out, seed: o.seed, learningRate: 2e-3, warmupSteps: 50, batchSize: 16, numTrainEpochs: 1, loggingSteps: 20, saveSteps: 200, saveTotalLimit: 2, ...o.trainer } as SFTConfigInput;
  let model: FlexJudgeModel;
  let result: { globalStep: number; status: string; lastLog?: MetricsEntry };
  if (o.fromCheckpoint) {
    // Measure and finalise a checkpoint of an earlier (possibly stopped) run: its own tokenizer and weights.
    const loaded = await loadCheckpoint({ directory: o.fromCheckpoint, kind: 'flex-judge' });
    model = loaded.model;
    model.layout = 'evidence-first';
    loaded.optimizer?.dispose();
    const state = loaded.trainerState as { globalStep?: number; lastLog?: MetricsEntry } | undefined;
    result = { globalStep: state?.globalStep ?? 0, status: 'from_checkpoint', ...(state?.lastLog ? { lastLog: state.lastLog } : {}) };
  } else {
    const train = drawWorldPairs({ seed: o.seed, split: 'train', count: o.pairs, size: o.imageSize, start: o.drawOffset });
    if (o.initFrom) {
      const loaded = await loadCheckpoint({ directory: o.initFrom, kind: 'flex-judge', positionBias: o.positionBias, residualBlocks: o.residualBlocks, candidateTags: o.candidateTags });
      loaded.optimizer?.dispose();
      model = loaded.model;
      model.layout = 'evidence-first';
    } else {
      const corpus = tokenizerCorpus(train.slice(0, Math.min(train.length, 800)));
      const tokenizer = buildJudgeTokenizer({ prompts: corpus.prompts, texts: corpus.texts, vocabSize: o.vocabSize });
      model = FlexJudgeModel.create({ preset: o.preset, config: o.modelConfig, tokenizer, seed: o.seed, layout: 'evidence-first', name: 'flex-base' });
    }
    const examples = pretrainExamples(train, mix);
    const evalExamples = pretrainExamples(heldOut.slice(0, 16), { questionsPerPair: 1, checks: o.checks });
    const stop: TrainerCallbacks = { onStepEnd: (state) => (o.stopAfterSteps !== undefined && state.globalStep >= o.stopAfterSteps ? 'stop' : undefined) };
    const trainer = new SFTTrainer({ model, config, trainDataset: examples, evalDataset: evalExamples, callbacks: [...o.callbacks, stop] });
    result = await trainer.train(o.resume ? { resumeFrom: true } : {});
  }
  const items = heldOut.flatMap((p) => [
    { media: p.a, scene: p.record.a.scene },
    { media: p.b, scene: p.record.b.scene },
  ]);
  const accuracy = captionAccuracy(model, items.slice(0, o.evalImages));
  const checkpoint = join(o.out, 'final');
  mkdirSync(o.out, { recursive: true });
  await saveCheckpoint({ directory: checkpoint, model });
  const report: PretrainResult = {
    checkpoint,
    steps: result.globalStep,
    status: result.status,
    captionAccuracy: accuracy,
    parameters: model.parameters.count(),
    vocabSize: model.tokenizer.size,
    ...(result.lastLog ? { lastLog: { ...result.lastLog } } : {}),
  };
  writeFileSync(
    join(o.out, 'pretrain-report.json'),
    `${JSON.stringify({ ...report, options: { seed: o.seed, preset: o.preset, pairs: o.pairs, imageSize: o.imageSize, vocabSize: o.vocabSize, modelConfig: o.modelConfig, trainer: config, ...mix, initFrom: o.initFrom, positionBias: o.positionBias, residualBlocks: o.residualBlocks, candidateTags: o.candidateTags, drawOffset: o.drawOffset, stopAfterSteps: o.stopAfterSteps, fromCheckpoint: o.fromCheckpoint } }, null, 2)}\n`,
  );
  model.dispose();
  return report;
}
