import { z } from 'zod';
import {
  type Judge,
  type JudgeCallOptions,
  type JudgeRequest,
  type JudgeResult,
  type Media,
  type Modality,
  type PairwiseAssessment,
  isVideo,
  predefinedCategories,
  winnerLabel,
} from '@flex/criteria';
import { tf } from './engine';
import { ModelError, parseOptions } from './errors';
import { Backbone, mediaBatch } from './backbone';
import { type ModelConfig, type ModelConfigInput, modelConfigSchema, modelPresets } from './config';
import { Linear, type Parameters } from './layers';
import { BOS, EOS, PAD, Tokenizer } from './tokenizer';
import { bradleyTerryLoss } from './training';

/**
 * The scalar Bradley–Terry reward model, the baseline family of HPS, PickScore and ImageReward: the same
 * vision and prompt encoders as the Flex judge, reading `[media of one candidate, <bos> prompt <eos>]`, with a
 * scalar head on the last position. Trained on pairs with −log σ(s_winner − s_loser); P(A wins) = σ(s_A − s_B).
 */

/** One candidate to score. */
export interface ScoreRequest {
  readonly media: Media;
  readonly prompt: string;
}

/** One labelled pair for training. */
export interface PreferencePair {
  readonly prompt: string;
  readonly a: Media;
  readonly b: Media;
  /** Which candidate people preferred; ties get weight 0 in the loss. */
  readonly label: 'A' | 'B' | 'tie';
}

/** Options of {@link BradleyTerryModel.create}. */
export const bradleyTerryCreateOptionsSchema = z.object({
  /** Size preset. Default 'small'. */
  preset: z.enum(['tiny', 'small', 'base']).default('small'),
  /** Overrides of the preset. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** The tokenizer of prompts. */
  tokenizer: z.instanceof(Tokenizer),
  /** Seed of the initial parameters. Default 0. */
  seed: z.number().int().default(0),
  /** Name reported by the Judge interface. Default 'bradley-terry'. */
  name: z.string().default('bradley-terry'),
});
/** Input of {@link BradleyTerryModel.create}. */
export type BradleyTerryCreateOptions = z.input<typeof bradleyTerryCreateOptionsSchema>;

/** The scalar Bradley–Terry model. */
export class BradleyTerryModel implements Judge {
  readonly kind = 'bradley-terry' as const;
  readonly name: string;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly backbone: Backbone;
  readonly head: Linear;

  constructor(config: ModelConfig, tokenizer: Tokenizer, options: { name?: string } = {}) {
    if (config.kind !== 'bradley-terry') throw new ModelError('invalid_options', `config kind ${config.kind} is not bradley-terry`);
    if (config.vocabSize !== tokenizer.size) throw new ModelError('invalid_options', `vocabSize ${config.vocabSize} differs from the tokenizer's ${tokenizer.size}`);
    this.config = config;
    this.tokenizer = tokenizer;
    this.backbone = new Backbone(config);
    this.head = new Linear(this.backbone.params, 'score.head', config.dModel, 1, { std: 0.02 });
    this.name = options.name ?? 'bradley-terry';
  }

  /** Creates a model from a preset, overrides and a tokenizer. */
  static create(options: BradleyTerryCreateOptions): BradleyTerryModel {
    const o = parseOptions(bradleyTerryCreateOptionsSchema, options, 'BradleyTerryModel.create options');
    const base = modelPresets[o.preset];
    const overrides = o.config as Partial<ModelConfigInput>;
    const config = parseOptions(
      modelConfigSchema,
      { ...base, ...overrides, vision: { ...base.vision, ...(overrides.vision ?? {}) }, kind: 'bradley-terry', vocabSize: o.tokenizer.size, seed: o.seed },
      'model config',
    );
    return new BradleyTerryModel(config, o.tokenizer, { name: o.name });
  }

  /** The trainable parameters, in stable creation order. */
  get parameters(): Parameters {
    return this.backbone.params;
  }

  /** Scores `[B]` of candidates (differentiable). All candidates of a call share a modality. */
  scores(requests: readonly ScoreRequest[]): tf.Tensor1D {
    return tf.tidy(() => {
      const b = requests.length;
      const prompts = requests.map((r) => [BOS, ...this.tokenizer.encode(r.prompt), EOS].slice(-this.config.maxTextLength));
      const length = Math.max(...prompts.map((p) => p.length));
      // Left-padded so the last position is every sequence's <eos>; pads are masked as keys.
      const ids = prompts.flatMap((p) => [...Array<number>(length - p.length).fill(PAD), ...p]);
      const positions = prompts.flatMap((p) => Array.from({ length }, (_, j) => Math.max(0, j - (length - p.length))));
      const media = mediaBatch(requests.map((r) => [r.media]), this.config.vision.imageSize, this.config.vision.videoFrames);
      const mediaTokens = this.backbone.encodeMedia(media, [0]);
      media.pixels.dispose();
      const m = mediaTokens.shape[1];
      const padding = prompts.flatMap((p) => [...Array<number>(m).fill(0), ...Array.from({ length }, (_, j) => (j < length - p.length ? 1 : 0))]);
      const { hidden } = this.backbone.forward({
        media: mediaTokens,
        text: this.backbone.embedText(tf.tensor2d(ids, [b, length], 'int32'), tf.tensor2d(positions, [b, length], 'int32')),
        keyPadding: tf.tensor2d(padding, [b, m + length]),
      });
      const last = hidden.slice([0, length - 1, 0], [b, 1, this.config.dModel]).reshape([b, this.config.dModel]);
      return this.head.apply(last).reshape([b]) as tf.Tensor1D;
    });
  }

  /** The pairwise loss −log σ(s_winner − s_loser) averaged over non-tie pairs (softplus form). */
  pairLoss(pairs: readonly PreferencePair[]): tf.Scalar {
    return tf.tidy(() => {
      const all = this.scores([...pairs.map((p) => ({ media: p.a, prompt: p.prompt })), ...pairs.map((p) => ({ media: p.b, prompt: p.prompt }))]);
      const n = pairs.length;
      const a = all.slice(0, n) as tf.Tensor1D;
      const b = all.slice(n, n) as tf.Tensor1D;
      const preferA = tf.tensor1d(pairs.map((p) => (p.label === 'A' ? 1 : 0)));
      const weight = tf.tensor1d(pairs.map((p) => (p.label === 'tie' ? 0 : 1)));
      return bradleyTerryLoss(a, b, preferA, weight);
    });
  }

  /** Pointwise scores as numbers, in batches of `batchSize` (default 32). */
  score(requests: readonly ScoreRequest[], options: { batchSize?: number } = {}): number[] {
    const out: number[] = [];
    const size = options.batchSize ?? 32;
    for (let i = 0; i < requests.length; i += size) {
      const s = this.scores(requests.slice(i, i + size));
      out.push(...s.dataSync());
      s.dispose();
    }
    return out;
  }

  /**
   * The `Judge` interface: P(A wins) = σ(s_A − s_B). The assessment is a stand-in in the published format
   * (a scalar model has no reasoning): each mandatory category gets one criterion "Learned preference" whose
   * 10 points are split by P(A), and every winner is the higher score.
   */
  async judge(requests: readonly JudgeRequest[], options: JudgeCallOptions & { batchSize?: number } = {}): Promise<JudgeResult[]> {
    const results: JudgeResult[] = [];
    const size = options.batchSize ?? 16;
    for (let i = 0; i < requests.length; i += size) {
      const chunk = requests.slice(i, i + size);
      for (const modality of ['image', 'video'] as const) {
        const group = chunk.map((r, k) => ({ r, k: i + k })).filter(({ r }) => r.modality === modality && validPair(r));
        if (group.length === 0 || options.signal?.aborted) continue;
        const scores = this.score([...group.map(({ r }) => ({ media: r.a, prompt: r.prompt })), ...group.map(({ r }) => ({ media: r.b, prompt: r.prompt }))]);
        group.forEach(({ r, k }, j) => {
          const sa = scores[j] as number;
          const sb = scores[j + group.length] as number;
          results[k] = { ok: true, probabilityA: 1 / (1 + Math.exp(sb - sa)), assessment: standIn(r.prompt, modality, sa, sb) };
        });
      }
      chunk.forEach((r, k) => {
        if (!results[i + k]) {
          results[i + k] = options.signal?.aborted
            ? { ok: false, error: { code: 'aborted', message: 'the call was aborted before this request ran' } }
            : { ok: false, error: { code: 'invalid_request', message: 'candidates must match the modality and have width*height*3 finite values' } };
        }
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
    return results;
  }

  /** An independent copy with the same weights (e.g. the frozen reference model of DPO). */
  clone(): BradleyTerryModel {
    const copy = new BradleyTerryModel(this.config, this.tokenizer, { name: this.name });
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

function validPair(r: JudgeRequest): boolean {
  const ok = (m: Media) => {
    const images = isVideo(m) ? m.frames : [m];
    return isVideo(m) === (r.modality === 'video') && images.length > 0 && images.every((i) => i.width > 0 && i.height > 0 && i.data.length === i.width * i.height * 3 && i.data.every(Number.isFinite));
  };
  return typeof r.prompt === 'string' && ok(r.a) && ok(r.b);
}

function standIn(prompt: string, modality: Modality, sa: number, sb: number): PairwiseAssessment {
  const pA = 1 / (1 + Math.exp(sb - sa));
  const score1 = Math.min(10, Math.max(0, Math.round(10 * pA)));
  const winner = winnerLabel(modality, sa >= sb ? 1 : 2);
  return {
    prompt,
    categories: predefinedCategories[modality].map((c) => ({
      name: c.name,
      dims: [{ name: 'Learned preference', reason_1: `score ${sa.toFixed(3)}`, reason_2: `score ${sb.toFixed(3)}`, score_1: score1, score_2: 10 - score1 }],
      cat_reason: 'scalar Bradley-Terry score difference',
      cat_winner: winner,
    })),
    reason: `scalar scores ${sa.toFixed(3)} vs ${sb.toFixed(3)}`,
    winner,
  } as PairwiseAssessment;
}
