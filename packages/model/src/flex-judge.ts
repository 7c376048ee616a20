import { z } from 'zod';
import {
  type CompactGrammarOptions,
  type Judge,
  type JudgeCallOptions,
  type JudgeRequest,
  type JudgeResult,
  type Media,
  type Modality,
  type PairwiseAssessment,
  type PointwiseAssessment,
  type PointwiseJudge,
  type PointwiseRequest,
  type PointwiseResult,
  decodeCompact,
  isVideo,
} from '@flex/criteria';
import { tf } from './engine';
import { ModelError, parseOptions } from './errors';
import { Backbone, type MediaBatch, type MediaSlot, mediaBatch } from './backbone';
import { type ModelConfig, type ModelConfigInput, modelConfigSchema, modelPresets } from './config';
import { Linear, type Parameters } from './layers';
import { Tokenizer, PAD } from './tokenizer';
import { type SequenceLayout, LineTracker, encodeSequence, generationPrefix, tagCandidates } from './sequence';
import { SequenceDecoder, grammarFor } from './generation';
import { crossEntropyLoss, sequenceLogProbs, tokenLogProbs } from './training';

/** One training or scoring example: the candidates, the prompt and the compact assessment. */
export interface JudgeExample {
  /** 0 candidates (text only), 1 (descriptions, pointwise checks) or 2 (pairwise), in slot order. */
  readonly media: readonly Media[];
  readonly prompt: string;
  /** The compact-codec text the model should write (no prompt). */
  readonly completion: string;
  /**
   * The completion is only the start of an answer (for example a check cut after its intent line): no `<eos>` is
   * trained after it. Default false.
   */
  readonly open?: boolean;
}

/** Tensors of a prepared batch; call `dispose()` when done. */
export interface PreparedBatch {
  readonly size: number;
  readonly media?: MediaBatch;
  readonly slots: readonly MediaSlot[];
  /** Input ids `[B, T]` (int32), right-padded. */
  readonly input: tf.Tensor2D;
  /** Next-token targets `[B, T]` (int32). */
  readonly targets: tf.Tensor2D;
  /** 1 where the target is part of the assessment `[B, T]`. */
  readonly lossMask: tf.Tensor2D;
  /** Loss weights `[B, T]`: the mask, times `scoreWeight`, `shortfallWeight`, `decidingWeight` and `tokenWeights` where they apply. */
  readonly weights: tf.Tensor2D;
  /** Candidate tags of the input tokens `[B, T]` (int32), for a model with `candidateTags`. */
  readonly tags?: tf.Tensor2D;
  /** Number of trained target tokens. */
  readonly tokenCount: number;
  dispose(): void;
}

/** Options of {@link FlexJudgeModel.create}. */
export const flexJudgeCreateOptionsSchema = z.object({
  /** Size preset. Default 'small'. */
  preset: z.enum(['tiny', 'small', 'base']).default('small'),
  /** Overrides of the preset (dModel, layers, heads, vision, …). */
  config: z.record(z.string(), z.unknown()).default({}),
  /** The tokenizer (its size becomes vocabSize). */
  tokenizer: z.instanceof(Tokenizer),
  /** Seed of the initial parameters. Default 0. */
  seed: z.number().int().default(0),
  /** Sequence layout used for training and generation. Default 'prompt-first'. */
  layout: z.enum(['prompt-first', 'evidence-first']).default('prompt-first'),
  /** Name reported by the Judge interface. Default 'flex'. */
  name: z.string().default('flex'),
});
/** Input of {@link FlexJudgeModel.create}. */
export type FlexJudgeCreateOptions = z.input<typeof flexJudgeCreateOptionsSchema>;

/** One generation request. */
export interface GenerationRequest {
  /** 1 or 2 candidates (slot order), or none. */
  readonly media: readonly Media[];
  readonly prompt: string;
  /**
   * Evidence-first layout only: evidence lines to use instead of writing them (`evidence 1: …\nevidence 2: …\n`,
   * e.g. from another captioner, or the true descriptions to measure the reasoning alone). The decoder forces them,
   * then the prompt, and writes the rest; the output text includes them.
   */
  readonly evidence?: string;
}

/** Options of {@link FlexJudgeModel.generate}. */
export const generateOptionsSchema = z.object({
  /**
   * Most tokens to write per request (forced prompt tokens and `<eos>` included). Each request's budget is also
   * capped by the room its own prompt leaves (maxTextLength − its prefix). Default: that room. Below
   * {@link FlexJudgeModel.minimumNewTokens} a constrained request gets an output with `error.code` 'budget_too_small'.
   */
  maxNewTokens: z.number().int().min(1).optional(),
  /** 0 = greedy (default). */
  temperature: z.number().min(0).default(0),
  /** Sample among the k most likely allowed tokens; 0 = all (default). */
  topK: z.number().int().min(0).default(0),
  /** Seed of sampling; request i uses seed + i. Default 0. */
  seed: z.number().int().default(0),
  /** Decode with the KV cache (default true) or recompute the whole sequence each step. */
  useCache: z.boolean().default(true),
  /**
   * Follow the compact grammar so that every output is a complete assessment that decodes: the decoder never takes a
   * token after which the shortest completion no longer fits the budget, and closes along a shortest completion when
   * the budget runs low. Default true.
   */
  constrained: z.boolean().default(true),
  /** Grammar options (minCriteria, maxCriteria, maxExtraCategories, maxFieldLength, intent, evidence…). */
  grammar: z.record(z.string(), z.unknown()).default({}),
  /** Layout; default the model's. */
  layout: z.enum(['prompt-first', 'evidence-first']).optional(),
  /** Requests per forward batch. Default 32. */
  batchSize: z.number().int().min(1).default(32),
});
/** Input of {@link FlexJudgeModel.generate}. */
export type GenerateOptions = z.input<typeof generateOptionsSchema>;

/** Why a request was not generated (its output has empty text). */
export interface GenerationError {
  /**
   * `prompt_too_long`: the prompt leaves too few of the model's text positions (maxTextLength) for a complete
   * assessment; `budget_too_small`: `maxNewTokens` is below the shortest complete assessment.
   */
  readonly code: 'prompt_too_long' | 'budget_too_small';
  readonly message: string;
  /** The fewest new tokens a complete output of this request needs. */
  readonly minimumTokens: number;
}

/** Options of {@link FlexJudgeModel.minimumNewTokens}. */
export const minimumNewTokensOptionsSchema = z.object({
  /** 'pairwise' (default) or 'pointwise'. */
  mode: z.enum(['pairwise', 'pointwise']).default('pairwise'),
  /** 'image' (default) or 'video'. */
  modality: z.enum(['image', 'video']).default('image'),
  /** The prompt (counts in the evidence-first layout only). Default ''. */
  prompt: z.string().default(''),
  /** Layout; default the model's. */
  layout: z.enum(['prompt-first', 'evidence-first']).optional(),
  /** Grammar options, as in {@link generateOptionsSchema}. Default {}. */
  grammar: z.record(z.string(), z.unknown()).default({}),
});
/** Input of {@link FlexJudgeModel.minimumNewTokens}. */
export type MinimumNewTokensOptions = z.input<typeof minimumNewTokensOptionsSchema>;

/** One generated assessment. */
export interface GenerationOutput {
  /** The compact text (evidence put back after the intent in the evidence-first layout). */
  readonly text: string;
  /** Every token written after the prefix (forced prompt tokens included). */
  readonly tokens: readonly number[];
  /** 'eos' when the model ended it, 'length' when the budget ran out. */
  readonly finishReason: 'eos' | 'length';
  /** Pairwise: P(candidate 1 wins) from the winner-token distribution at the overall verdict. */
  readonly winnerProbability?: number;
  /** Pairwise: the same per category id. */
  readonly categoryWinnerProbability: Readonly<Record<string, number>>;
  /** Set when the request could not be generated (then `text` is empty); see {@link GenerationError}. */
  readonly error?: GenerationError;
}

/** Options of {@link FlexJudgeModel.judge} beyond the Judge interface's. */
export interface FlexJudgeOptions extends JudgeCallOptions, Omit<GenerateOptions, 'layout'> {
  /** Judge (A, B) and (B, A) and average P(A wins): the published judge has a position bias. Default false. */
  readonly bothOrders?: boolean;
}

/**
 * The Flex judge: vision encoder + decoder over [media tokens, text tokens], writing compact-codec
 * assessments. One model serves pretraining (descriptions of one image), pointwise and pairwise judging.
 */
export class FlexJudgeModel implements Judge, PointwiseJudge {
  readonly kind = 'flex-judge' as const;
  readonly name: string;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly backbone: Backbone;
  readonly head: Linear;
  layout: SequenceLayout;

  constructor(config: ModelConfig, tokenizer: Tokenizer, options: { layout?: SequenceLayout; name?: string } = {}) {
    if (config.kind !== 'flex-judge') throw new ModelError('invalid_options', `config kind ${config.kind} is not flex-judge`);
    if (config.vocabSize !== tokenizer.size) throw new ModelError('invalid_options', `vocabSize ${config.vocabSize} differs from the tokenizer's ${tokenizer.size}`);
    this.config = config;
    this.tokenizer = tokenizer;
    this.backbone = new Backbone(config);
    this.head = new Linear(this.backbone.params, 'lm.head', config.dModel, config.vocabSize, { std: 0.02 });
    this.layout = options.layout ?? 'prompt-first';
    this.name = options.name ?? 'flex';
  }

  /** Creates a model from a preset, overrides and a tokenizer. */
  static create(options: FlexJudgeCreateOptions): FlexJudgeModel {
    const o = parseOptions(flexJudgeCreateOptionsSchema, options, 'FlexJudgeModel.create options');
    const base = modelPresets[o.preset];
    const overrides = o.config as Partial<ModelConfigInput>;
    const config = parseOptions(
      modelConfigSchema,
      { ...base, ...overrides, vision: { ...base.vision, ...(overrides.vision ?? {}) }, kind: 'flex-judge', vocabSize: o.tokenizer.size, seed: o.seed },
      'model config',
    );
    return new FlexJudgeModel(config, o.tokenizer, { layout: o.layout, name: o.name });
  }

  /** The trainable parameters, in stable creation order. */
  get parameters(): Parameters {
    return this.backbone.params;
  }

  /** Token id → loss weight for `prepareBatch`'s `tokenWeights` (undefined when none); an unknown token is an error. */
  #targetWeights(tokenWeights: Readonly<Record<string, number>> | undefined): Map<number, number> | undefined {
    const entries = Object.entries(tokenWeights ?? {});
    if (entries.length === 0) return undefined;
    const ids = new Map(this.tokenizer.vocabulary.map((piece, id) => [piece, id] as const));
    return new Map(
      entries.map(([piece, weight]) => {
        const id = ids.get(piece);
        if (id === undefined) throw new ModelError('invalid_options', `tokenWeights: ${JSON.stringify(piece)} is not a token of this model's vocabulary`);
        if (!(weight > 0) || !Number.isFinite(weight)) throw new ModelError('invalid_options', `tokenWeights: the weight of ${JSON.stringify(piece)} must be a positive number, got ${weight}`);
        return [id, weight] as const;
      }),
    );
  }

  /**
   * Tokenises examples into padded tensors. `scoreWeight` (default 1) weights score and winner tokens;
   * `shortfallWeight` (default 1) the first token of a criterion column that falls short of the requirement;
   * `decidingWeight` (default 1) the columns and score of every pairwise criterion whose two columns differ;
   * `tokenWeights` (token text as in the vocabulary, e.g. `' circle'` → weight) every trained position whose target is
   * that token. Weights multiply.
   */
  prepareBatch(
    examples: readonly JudgeExample[],
    options: {
      scoreWeight?: number;
      shortfallWeight?: number;
      decidingWeight?: number;
      tokenWeights?: Readonly<Record<string, number>>;
      layout?: SequenceLayout;
    } = {},
  ): PreparedBatch {
    if (examples.length === 0) throw new ModelError('shape_error', 'empty batch');
    const layout = options.layout ?? this.layout;
    const scoreWeight = options.scoreWeight ?? 1;
    const shortfallWeight = options.shortfallWeight ?? 1;
    const decidingWeight = options.decidingWeight ?? 1;
    const byTarget = this.#targetWeights(options.tokenWeights);
    const tagged = this.config.candidateTags;
    const encoded = examples.map((e) =>
      encodeSequence(this.tokenizer, e.prompt, e.completion, layout, { ...(tagged ? { candidates: tagCandidates(e.media.length) } : {}), ...(e.open ? { open: true } : {}) }),
    );
    const length = Math.max(...encoded.map((e) => e.ids.length)) - 1;
    if (length > this.config.maxTextLength) throw new ModelError('shape_error', `a sequence of ${length + 1} tokens exceeds maxTextLength ${this.config.maxTextLength}`);
    const b = examples.length;
    const input = new Int32Array(b * length).fill(PAD);
    const targets = new Int32Array(b * length).fill(PAD);
    const mask = new Float32Array(b * length);
    const weights = new Float32Array(b * length);
    const tags = tagged ? new Int32Array(b * length) : undefined;
    let tokenCount = 0;
    encoded.forEach((e, i) => {
      for (let t = 0; t < e.ids.length - 1; t++) {
        input[i * length + t] = e.ids[t] as number;
        if (tags) tags[i * length + t] = e.tags?.[t] as number;
        targets[i * length + t] = e.ids[t + 1] as number;
        mask[i * length + t] = e.lossMask[t] as number;
        weights[i * length + t] =
          (e.lossMask[t] as number) * (e.scoreMask[t] ? scoreWeight : 1) * (e.shortfallMask[t] ? shortfallWeight : 1) *
          (e.decidingMask[t] ? decidingWeight : 1) *
          (byTarget?.get(e.ids[t + 1] as number) ?? 1);
        tokenCount += e.lossMask[t] as number;
      }
    });
    const candidates = examples[0]!.media.length;
    if (examples.some((e) => e.media.length !== candidates)) throw new ModelError('shape_error', 'every example of a batch needs the same number of candidates');
    const media = candidates > 0 ? mediaBatch(examples.map((e) => e.media), this.config.vision.imageSize, this.config.vision.videoFrames) : undefined;
    const tensors = {
      input: tf.tensor2d(input, [b, length], 'int32'),
      targets: tf.tensor2d(targets, [b, length], 'int32'),
      lossMask: tf.tensor2d(mask, [b, length]),
      weights: tf.tensor2d(weights, [b, length]),
      ...(tags ? { tags: tf.tensor2d(tags, [b, length], 'int32') } : {}),
    };
    return {
      size: b,
      ...(media ? { media } : {}),
      slots: candidates === 1 ? [0] : candidates === 2 ? [1, 2] : [],
      ...tensors,
      tokenCount,
      dispose: () => tf.dispose([...Object.values(tensors), ...(media ? [media.pixels] : [])]),
    };
  }

  /** Next-token logits `[B, T, V]` of a prepared batch (differentiable). */
  logits(batch: PreparedBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const media = batch.media ? this.backbone.encodeMedia(batch.media, batch.slots) : undefined;
      const { hidden } = this.backbone.forward({ ...(media ? { media } : {}), text: this.backbone.embedText(batch.input, undefined, batch.tags) });
      const [b, t, d] = hidden.shape;
      return this.head.apply(hidden.reshape([b * t, d])).reshape([b, t, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /** Weighted cross-entropy on the assessment tokens (prompt and media masked): the SFT loss. */
  loss(batch: PreparedBatch): tf.Scalar {
    return tf.tidy(() => crossEntropyLoss(this.logits(batch), batch.targets, batch.weights));
  }

  /**
   * Log-probs of the assessment tokens (prompt masked): per token `[B, T]` (0 where masked), and per sequence
   * sum and mean `[B]`. Differentiable, for DPO and GRPO losses.
   */
  completionLogProbs(batch: PreparedBatch): { tokens: tf.Tensor2D; sum: tf.Tensor1D; mean: tf.Tensor1D } {
    return tf.tidy(() => {
      const tokens = tokenLogProbs(this.logits(batch), batch.targets).mul(batch.lossMask) as tf.Tensor2D;
      const { sum, mean } = sequenceLogProbs(tokens, batch.lossMask);
      return { tokens, sum, mean };
    });
  }

  /** Per-sequence log-prob sums and means of examples, as numbers (no gradient), in batches. */
  scoreCompletions(examples: readonly JudgeExample[], options: { batchSize?: number; layout?: SequenceLayout } = {}): { sum: number; mean: number; tokens: number }[] {
    const out: { sum: number; mean: number; tokens: number }[] = [];
    const size = options.batchSize ?? 16;
    for (let i = 0; i < examples.length; i += size) {
      const batch = this.prepareBatch(examples.slice(i, i + size), options.layout ? { layout: options.layout } : {});
      const { tokens, sum, mean } = this.completionLogProbs(batch);
      const counts = batch.lossMask.sum(-1);
      const [s, m, c] = [sum.dataSync(), mean.dataSync(), counts.dataSync()];
      for (let j = 0; j < batch.size; j++) out.push({ sum: s[j] as number, mean: m[j] as number, tokens: c[j] as number });
      tf.dispose([tokens, sum, mean, counts]);
      batch.dispose();
    }
    return out;
  }

  /**
   * Writes assessments for a batch of requests: batched, with a KV cache (or without, for comparison),
   * greedy or sampled, constrained by the compact grammar by default so that every output decodes.
   */
  generate(requests: readonly GenerationRequest[], options: GenerateOptions = {}): GenerationOutput[] {
    const o = parseOptions(generateOptionsSchema, options, 'generate options');
    const outputs: GenerationOutput[] = [];
    for (let start = 0; start < requests.length; start += o.batchSize) {
      outputs.push(...this.#generateBatch(requests.slice(start, start + o.batchSize), o, start));
    }
    return outputs;
  }

  #generateBatch(requests: readonly GenerationRequest[], o: z.output<typeof generateOptionsSchema>, offset: number): GenerationOutput[] {
    const layout = o.layout ?? this.layout;
    const candidates = requests[0]!.media.length;
    const modality: Modality = candidates > 0 && isVideo(requests[0]!.media[0]!) ? 'video' : 'image';
    const mode = candidates === 1 ? 'pointwise' : 'pairwise';
    const maxLength = this.config.maxTextLength;
    const grammar = grammarFor(mode, modality, o.grammar as Partial<CompactGrammarOptions>);
    const results: (GenerationOutput | undefined)[] = requests.map(() => undefined);
    const rows: { index: number; prefix: number[]; decoder: SequenceDecoder; budget: number }[] = [];
    requests.forEach((r, index) => {
      const promptIds = this.tokenizer.encode(r.prompt);
      const prefix = generationPrefix(this.tokenizer, r.prompt, layout);
      if (r.evidence !== undefined) {
        if (layout !== 'evidence-first') throw new ModelError('invalid_options', `request ${offset + index}: given evidence needs the evidence-first layout (this is ${layout})`);
        const lines = r.evidence.split('\n');
        if (lines.at(-1) !== '' || lines.length - 1 !== candidates || !lines.slice(0, -1).every((l) => /^evidence( \d+)?: ./.test(l))) {
          throw new ModelError('invalid_options', `request ${offset + index}: evidence must be ${candidates} line(s) "evidence${candidates > 1 ? ' N' : ''}: …" each ending in a newline, got ${JSON.stringify(r.evidence.slice(0, 80))}`);
        }
      }
      const decoder = new SequenceDecoder(this.tokenizer, {
        layout,
        promptIds,
        ...(r.evidence !== undefined ? { evidence: r.evidence } : {}),
        constrained: o.constrained && candidates > 0,
        grammar,
        pairwise: mode === 'pairwise',
        seed: o.seed + offset + index,
        sampling: { temperature: o.temperature, topK: o.topK },
      });
      // Each row's own budget: its positions never pass the position table (maxTextLength).
      const room = maxLength - prefix.length;
      const budget = Math.min(o.maxNewTokens ?? room, room);
      // Unconstrained output may stop anywhere (even inside the forced prompt of the evidence-first layout).
      const minimum = decoder.minimumTokens > 0 ? decoder.minimumTokens : 1;
      const failure = (code: GenerationError['code'], message: string): GenerationOutput => ({
        text: '',
        tokens: [],
        finishReason: 'length',
        categoryWinnerProbability: {},
        error: { code, message, minimumTokens: minimum },
      });
      if (room < minimum) {
        const what = decoder.minimumTokens > 0 ? `a complete ${mode} assessment` : 'one written token';
        results[index] = failure(
          'prompt_too_long',
          `the prompt is ${promptIds.length} tokens long: with it and ${what} the text needs ${prefix.length + minimum} positions (${layout} layout), more than the model's maxTextLength of ${maxLength}`,
        );
      } else if (budget < minimum) {
        results[index] = failure(
          'budget_too_small',
          `maxNewTokens ${budget} is below the ${minimum} tokens the shortest complete ${mode} assessment needs with this tokenizer, grammar${layout === 'evidence-first' ? ' and prompt (evidence-first layout)' : ''}; see FlexJudgeModel.minimumNewTokens`,
        );
      } else rows.push({ index, prefix, decoder, budget });
    });
    if (rows.length > 0) this.#decodeRows(rows, requests, candidates, o.useCache);
    for (const { index, decoder: d } of rows) {
      if (!d.done) d.stop();
      results[index] = {
        text: d.text,
        tokens: [...d.tokens],
        finishReason: d.finishReason ?? 'length',
        ...(d.winnerProbability !== undefined ? { winnerProbability: d.winnerProbability } : {}),
        categoryWinnerProbability: { ...d.categoryWinnerProbability },
      };
    }
    return results as GenerationOutput[];
  }

  /** The batched decoding loop over rows whose prefix and budget fit the model. */
  #decodeRows(
    rows: readonly { readonly index: number; readonly prefix: readonly number[]; readonly decoder: SequenceDecoder; readonly budget: number }[],
    requests: readonly GenerationRequest[],
    candidates: number,
    useCache: boolean,
  ): void {
    const b = rows.length;
    const maxLength = this.config.maxTextLength;
    const prefixLength = Math.max(...rows.map((row) => row.prefix.length));
    const pads = rows.map((row) => prefixLength - row.prefix.length);
    const steps = Math.max(...rows.map((row) => row.budget));
    const vocabulary = this.config.vocabSize;
    // Left-padded prefixes: pads are masked as keys and do not advance positions.
    const ids: number[][] = rows.map((row, i) => [...Array<number>(pads[i] as number).fill(PAD), ...row.prefix]);
    // Candidate tags of every fed token (candidateTags only): the prefix's from its text, then each decoder's own.
    const tagged = this.config.candidateTags;
    const tagOf = (sequence: readonly number[]) => {
      const tracker = new LineTracker();
      return sequence.map((id) => tracker.feed(this.tokenizer.isSpecial(id) ? '' : this.tokenizer.textOf(id), this.tokenizer.isSpecial(id), tagCandidates(candidates)));
    };
    const tags: number[][] = ids.map((sequence) => (tagged ? tagOf(sequence) : []));
    const media = candidates > 0 ? mediaBatch(rows.map((row) => requests[row.index]!.media), this.config.vision.imageSize, this.config.vision.videoFrames) : undefined;
    const mediaTokens = media ? tf.tidy(() => this.backbone.encodeMedia(media, candidates === 1 ? [0] : [1, 2])) : undefined;
    media?.pixels.dispose();
    const m = mediaTokens ? mediaTokens.shape[1] : 0;
    const padding: number[][] = pads.map((p) => [...Array<number>(m).fill(0), ...Array.from({ length: prefixLength }, (_, j) => (j < p ? 1 : 0))]);
    // A row's positions stay below maxTextLength while it writes (its budget ends there); a finished row keeps
    // being fed padding in the batch, at a clamped position (its outputs are ignored).
    const position = (i: number, j: number) => Math.min(maxLength - 1, Math.max(0, j - (pads[i] as number)));
    let cache: ReturnType<Backbone['step']>['cache'] | undefined;
    try {
      for (let step = 0; step < steps; step++) {
        if (rows.every((row) => row.decoder.done)) break;
        const length = ids[0]!.length;
        const logits = tf.tidy(() => {
          let hidden: tf.Tensor3D;
          if (useCache && step > 0 && cache) {
            const last = tf.tensor2d(ids.map((s) => s[s.length - 1] as number), [b, 1], 'int32');
            const positions = tf.tensor2d(ids.map((_, i) => position(i, length - 1)), [b, 1], 'int32');
            const lastTags = tagged ? tf.tensor2d(tags.map((s) => s[s.length - 1] as number), [b, 1], 'int32') : undefined;
            const keyPadding = tf.tensor2d(padding.flat(), [b, m + length]);
            const out = this.backbone.step(this.backbone.embedText(last, positions, lastTags), cache, keyPadding, m);
            tf.dispose(cache.flatMap((c) => [c.keys, c.valuesT]));
            cache = out.cache.map((c) => ({ keys: tf.keep(c.keys), valuesT: tf.keep(c.valuesT) }));
            hidden = out.hidden;
          } else {
            const text = tf.tensor2d(ids.flat(), [b, length], 'int32');
            const positions = tf.tensor2d(ids.flatMap((_, i) => Array.from({ length }, (_, j) => position(i, j))), [b, length], 'int32');
            const textTags = tagged ? tf.tensor2d(tags.flat(), [b, length], 'int32') : undefined;
            const keyPadding = tf.tensor2d(padding.flat(), [b, m + length]);
            const out = this.backbone.forward({ ...(mediaTokens ? { media: mediaTokens } : {}), text: this.backbone.embedText(text, positions, textTags), keyPadding, withCache: useCache });
            if (out.cache) cache = out.cache.map((c) => ({ keys: tf.keep(c.keys), valuesT: tf.keep(c.valuesT) }));
            hidden = out.hidden.slice([0, length - 1, 0], [b, 1, this.config.dModel]) as tf.Tensor3D;
          }
          return this.head.apply(hidden.reshape([b, this.config.dModel]));
        });
        const values = logits.dataSync() as Float32Array;
        logits.dispose();
        rows.forEach(({ decoder, budget }, i) => {
          let id = PAD;
          const remaining = budget - (ids[i]!.length - prefixLength);
          if (!decoder.done && remaining <= 0) decoder.stop();
          if (!decoder.done) {
            id = decoder.choose(values.subarray(i * vocabulary, (i + 1) * vocabulary), remaining);
            decoder.accept(id);
          }
          if (tagged) tags[i]!.push(decoder.tag);
          ids[i]!.push(id);
          padding[i]!.push(0);
        });
      }
    } finally {
      if (cache) tf.dispose(cache.flatMap((c) => [c.keys, c.valuesT]));
      mediaTokens?.dispose();
    }
  }

  /**
   * The fewest new tokens (`maxNewTokens`, forced prompt tokens and `<eos>` included) with which constrained
   * generation can write a complete assessment for this tokenizer, grammar and layout; generation with fewer
   * returns a `budget_too_small` error for the request instead of a truncated output. In the evidence-first
   * layout the prompt is written inside the budget, so its length counts.
   */
  minimumNewTokens(options: MinimumNewTokensOptions = {}): number {
    const o = parseOptions(minimumNewTokensOptionsSchema, options, 'minimumNewTokens options');
    const decoder = new SequenceDecoder(this.tokenizer, {
      layout: o.layout ?? this.layout,
      promptIds: this.tokenizer.encode(o.prompt),
      constrained: true,
      grammar: grammarFor(o.mode, o.modality, o.grammar as Partial<CompactGrammarOptions>),
      pairwise: o.mode === 'pairwise',
      seed: 0,
      sampling: { temperature: 0, topK: 0 },
    });
    return decoder.minimumTokens;
  }

  /**
   * The `Judge` interface: a constrained (by default greedy) assessment per request and P(A wins) read from
   * the model's own winner-token distribution at the overall verdict; `bothOrders` also judges (B, A) and
   * averages. Bad outputs and bad requests are results, never exceptions.
   */
  async judge(requests: readonly JudgeRequest[], options: FlexJudgeOptions = {}): Promise<JudgeResult[]> {
    const { signal, bothOrders = false, ...generate } = options;
    const results: (JudgeResult | undefined)[] = requests.map((r) => (validRequest(r) ? undefined : { ok: false, error: { code: 'invalid_request', message: invalidReason(r) } }));
    const valid = requests.map((r, i) => ({ r, i })).filter(({ i }) => results[i] === undefined);
    // Images and videos are judged in separate batches.
    for (const modality of ['image', 'video'] as const) {
      const group = valid.filter(({ r }) => r.modality === modality);
      const size = generate.batchSize ?? 32;
      for (let start = 0; start < group.length; start += size) {
        if (signal?.aborted) break;
        const chunk = group.slice(start, start + size);
        let forward: GenerationOutput[];
        let backward: GenerationOutput[] | undefined;
        try {
          forward = this.generate(chunk.map(({ r }) => ({ media: [r.a, r.b], prompt: r.prompt })), generate);
          if (bothOrders) backward = this.generate(chunk.map(({ r }) => ({ media: [r.b, r.a], prompt: r.prompt })), generate);
        } catch (error) {
          for (const { i } of chunk) results[i] = { ok: false, error: { code: 'model_error', message: (error as Error).message } };
          continue;
        }
        chunk.forEach(({ r, i }, k) => {
          results[i] = toJudgeResult(r, forward[k] as GenerationOutput, backward?.[k]);
        });
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return results.map((r) => r ?? { ok: false, error: { code: 'aborted', message: 'the call was aborted before this request ran' } });
  }

  /**
   * The `PointwiseJudge` interface: one candidate per request (slot 0), a constrained pointwise assessment,
   * and its overall score (0–10).
   */
  async score(requests: readonly PointwiseRequest[], options: Omit<FlexJudgeOptions, 'bothOrders'> = {}): Promise<PointwiseResult[]> {
    const { signal, ...generate } = options;
    const results: (PointwiseResult | undefined)[] = requests.map((r) =>
      typeof r.prompt === 'string' && validMedia(r.media, r.modality) ? undefined : { ok: false, error: { code: 'invalid_request', message: invalidReason(r) } },
    );
    for (const modality of ['image', 'video'] as const) {
      const group = requests.map((r, i) => ({ r, i })).filter(({ r, i }) => results[i] === undefined && r.modality === modality);
      const size = generate.batchSize ?? 32;
      for (let start = 0; start < group.length; start += size) {
        if (signal?.aborted) break;
        const chunk = group.slice(start, start + size);
        let outputs: GenerationOutput[];
        try {
          outputs = this.generate(chunk.map(({ r }) => ({ media: [r.media], prompt: r.prompt })), generate);
        } catch (error) {
          for (const { i } of chunk) results[i] = { ok: false, error: { code: 'model_error', message: (error as Error).message } };
          continue;
        }
        chunk.forEach(({ r, i }, k) => {
          const output = outputs[k] as GenerationOutput;
          if (output.error) {
            results[i] = { ok: false, error: { code: 'invalid_request', message: output.error.message } };
            return;
          }
          const text = output.text;
          const decoded = decodeCompact(text, { prompt: r.prompt, modality: r.modality, mode: 'pointwise' });
          results[i] = decoded.ok
            ? { ok: true, assessment: decoded.value as PointwiseAssessment, score: (decoded.value as PointwiseAssessment).score, raw: text }
            : { ok: false, error: { code: 'parse_error', message: decoded.error.message, raw: text } };
        });
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return results.map((r) => r ?? { ok: false, error: { code: 'aborted', message: 'the call was aborted before this request ran' } });
  }

  /** An independent copy with the same weights (e.g. the frozen reference model of DPO). */
  clone(): FlexJudgeModel {
    const copy = new FlexJudgeModel(this.config, this.tokenizer, { layout: this.layout, name: this.name });
    const names = this.parameters.names();
    const variables = this.parameters.variables();
    copy.parameters.assign(Object.fromEntries(names.map((name, i) => [name, variables[i] as tf.Tensor])));
    return copy;
  }

  /** Disposes every tensor the model holds. */
  dispose(): void {
    this.backbone.dispose();
  }
}

function validMedia(media: Media, modality: Modality): boolean {
  const images = isVideo(media) ? media.frames : [media];
  if (isVideo(media) !== (modality === 'video') || images.length === 0) return false;
  return images.every((image) => image.width > 0 && image.height > 0 && image.data.length === image.width * image.height * 3 && image.data.every(Number.isFinite));
}

function validRequest(r: JudgeRequest): boolean {
  return typeof r.prompt === 'string' && (r.modality === 'image' || r.modality === 'video') && validMedia(r.a, r.modality) && validMedia(r.b, r.modality);
}

function invalidReason(r: Pick<JudgeRequest, 'prompt' | 'modality'>): string {
  if (typeof r.prompt !== 'string') return 'the prompt is not a string';
  return `candidates must be ${r.modality === 'video' ? 'videos' : 'images'} with width*height*3 finite values`;
}

function toJudgeResult(request: JudgeRequest, forward: GenerationOutput, backward: GenerationOutput | undefined): JudgeResult {
  if (forward.error) return { ok: false, error: { code: 'invalid_request', message: forward.error.message } };
  const decoded = decodeCompact(forward.text, { prompt: request.prompt, modality: request.modality, mode: 'pairwise' });
  if (!decoded.ok) return { ok: false, error: { code: 'parse_error', message: decoded.error.message, raw: forward.text } };
  const assessment = decoded.value as PairwiseAssessment;
  const fromWinner = assessment.winner.endsWith('1') ? 1 : 0;
  let probabilityA = forward.winnerProbability ?? fromWinner;
  const categoryProbabilityA: Record<string, number> = { ...forward.categoryWinnerProbability };
  if (backward) {
    const back = decodeCompact(backward.text, { prompt: request.prompt, modality: request.modality, mode: 'pairwise' });
    const backWinner = back.ok ? ((back.value as PairwiseAssessment).winner.endsWith('1') ? 1 : 0) : 0.5;
    const backProbability = backward.winnerProbability ?? backWinner;
    probabilityA = (probabilityA + (1 - backProbability)) / 2;
    for (const [id, p] of Object.entries(backward.categoryWinnerProbability)) {
      if (categoryProbabilityA[id] !== undefined) categoryProbabilityA[id] = ((categoryProbabilityA[id] as number) + (1 - p)) / 2;
    }
  }
  return {
    ok: true,
    assessment,
    probabilityA,
    categoryProbabilityA,
    raw: forward.text,
    ...(forward.finishReason === 'length' ? { warnings: [{ code: 'length', message: 'the output reached the token budget' }] } : {}),
  };
}
