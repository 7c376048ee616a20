import { evenlySpacedFrameIndices, isVideo, type Media, type Modality, type RgbImage } from '@flex/criteria';
import { tf } from './engine';
import { ModelError } from './errors';
import type { ModelConfig } from './config';
import { type AttentionCache, ConvStem, Embedding, LayerNorm, Linear, Parameters, TransformerBlock, alibiBias, maskValue, prefixCausalBias } from './layers';

/**
 * The network shared by the Flex judge and the Bradley–Terry model: a vision encoder (conv stem → tokens,
 * with a grid position, a frame-time embedding for videos, and a slot embedding saying which candidate),
 * text embeddings, and a pre-norm transformer over [media tokens, text tokens] where the media prefix is
 * bidirectional and the text causal.
 */

/** Slot of a candidate: 0 when the model sees one candidate, 1 / 2 for A / B of a pair. */
export type MediaSlot = 0 | 1 | 2;

/** The media of one example: its candidates in slot order (one for pointwise, two for pairwise). */
export type ExampleMedia = readonly Media[];

/** Pixels of a batch of media, ready for the encoder. */
export interface MediaBatch {
  readonly modality: Modality;
  /** Candidates per example (1 or 2). */
  readonly candidates: number;
  /** `[B * candidates * frames, S, S, 3]`. */
  readonly pixels: tf.Tensor4D;
  /** Frames per candidate (1 for images). */
  readonly frames: number;
  readonly batch: number;
}

function resizeImage(image: RgbImage, size: number): Float32Array {
  if (image.data.length !== image.width * image.height * 3) {
    throw new ModelError('shape_error', `image data has ${image.data.length} values, expected ${image.width}x${image.height}x3`);
  }
  if (image.width === size && image.height === size) return image.data;
  // Bilinear resampling (align-corners off, half-pixel centres).
  const out = new Float32Array(size * size * 3);
  const sy = image.height / size;
  const sx = image.width / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), image.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), image.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, image.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => image.data[(yy * image.width + xx) * 3 + c] as number;
        out[(y * size + x) * 3 + c] = (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1));
      }
    }
  }
  return out;
}

/** Frame indices for a video of `total` frames sampled to exactly `count` (evenly spaced, repeating when short). */
export function sampleFrameIndices(total: number, count: number): number[] {
  if (total >= count) return evenlySpacedFrameIndices(total, count);
  if (count === 1) return [0];
  return Array.from({ length: count }, (_, i) => Math.round((i * (total - 1)) / (count - 1)));
}

/** Converts the media of a batch of examples to pixels; every example must have the same modality and count. */
export function mediaBatch(examples: readonly ExampleMedia[], imageSize: number, videoFrames: number): MediaBatch {
  if (examples.length === 0) throw new ModelError('shape_error', 'empty batch');
  const candidates = examples[0]!.length;
  if (candidates < 1 || candidates > 2) throw new ModelError('shape_error', `an example has 1 or 2 candidates, got ${candidates}`);
  const modality: Modality = isVideo(examples[0]![0]!) ? 'video' : 'image';
  const frames = modality === 'video' ? videoFrames : 1;
  const per = imageSize * imageSize * 3;
  const data = new Float32Array(examples.length * candidates * frames * per);
  let offset = 0;
  for (const example of examples) {
    if (example.length !== candidates) throw new ModelError('shape_error', 'every example of a batch needs the same number of candidates');
    for (const media of example) {
      if ((isVideo(media) ? 'video' : 'image') !== modality) throw new ModelError('shape_error', 'a batch mixes images and videos');
      const images = isVideo(media) ? sampleFrameIndices(media.frames.length, frames).map((i) => media.frames[i] as RgbImage) : [media];
      if (images.length === 0) throw new ModelError('shape_error', 'a video has no frames');
      for (const image of images) {
        data.set(resizeImage(image, imageSize), offset);
        offset += per;
      }
    }
  }
  return { modality, candidates, frames, batch: examples.length, pixels: tf.tensor4d(data, [examples.length * candidates * frames, imageSize, imageSize, 3]) };
}

/** Per-layer decoding caches. */
export type DecoderCache = AttentionCache[];

/** The shared network. */
export class Backbone {
  readonly params: Parameters;
  readonly config: ModelConfig;
  readonly stem: ConvStem;
  readonly mediaProjection: Linear;
  readonly imagePosition: Embedding;
  readonly videoPosition: Embedding;
  readonly frameTime: Embedding;
  readonly slot: Embedding;
  readonly tokens: Embedding;
  readonly textPosition: Embedding;
  /** The candidate tags of text tokens (`candidateTags`), starting at zero. */
  readonly textTag?: Embedding;
  readonly blocks: TransformerBlock[];
  readonly finalNorm: LayerNorm;
  /** Side of the image token grid. */
  readonly gridSide: number;
  readonly #biasCache = new Map<string, tf.Tensor>();

  constructor(config: ModelConfig, params: Parameters = new Parameters(config.seed)) {
    this.config = config;
    this.params = params;
    const d = config.dModel;
    const v = config.vision;
    this.stem = new ConvStem(params, 'vision.stem', v.channels, v.residualBlocks);
    this.gridSide = this.stem.outputSide(v.imageSize);
    this.mediaProjection = new Linear(params, 'vision.projection', v.channels[v.channels.length - 1] as number, d);
    this.imagePosition = new Embedding(params, 'vision.imagePosition', this.gridSide * this.gridSide, d);
    this.videoPosition = new Embedding(params, 'vision.videoPosition', v.videoTokensPerSide * v.videoTokensPerSide, d);
    this.frameTime = new Embedding(params, 'vision.frameTime', v.videoFrames, d);
    this.slot = new Embedding(params, 'slot', 3, d);
    this.tokens = new Embedding(params, 'text.tokens', config.vocabSize, d);
    this.textPosition = new Embedding(params, 'text.position', config.maxTextLength, d);
    if (config.candidateTags) this.textTag = new Embedding(params, 'text.tag', 3, d, 0);
    this.blocks = Array.from({ length: config.layers }, (_, i) => new TransformerBlock(params, `decoder.block${i}`, d, config.heads, config.mlpRatio));
    this.finalNorm = new LayerNorm(params, 'decoder.finalNorm', d);
  }

  /** Media tokens per candidate for a modality. */
  tokensPerCandidate(modality: Modality): number {
    const v = this.config.vision;
    return modality === 'image' ? this.gridSide * this.gridSide : v.videoFrames * v.videoTokensPerSide * v.videoTokensPerSide;
  }

  /** Encodes media pixels to tokens `[B, candidates * tokensPerCandidate, d]`; `slots` says each candidate's slot. */
  encodeMedia(media: MediaBatch, slots: readonly MediaSlot[]): tf.Tensor3D {
    return tf.tidy(() => {
      const d = this.config.dModel;
      const v = this.config.vision;
      let grid = this.stem.apply(media.pixels); // [N, g, g, c]
      let side = this.gridSide;
      if (media.modality === 'video' && v.videoTokensPerSide !== side) {
        const pool = side / v.videoTokensPerSide;
        if (!Number.isInteger(pool)) throw new ModelError('shape_error', `video grid ${side} is not divisible by ${v.videoTokensPerSide}`);
        grid = tf.avgPool(grid, pool, pool, 'valid') as tf.Tensor4D;
        side = v.videoTokensPerSide;
      }
      const channels = grid.shape[3];
      const perFrame = side * side;
      let tokens = this.mediaProjection.apply(grid.reshape([-1, channels])).reshape([media.batch, media.candidates, media.frames, perFrame, d]);
      const positionIds = tf.range(0, perFrame, 1, 'int32');
      const position = (media.modality === 'image' ? this.imagePosition : this.videoPosition).apply(positionIds).reshape([1, 1, 1, perFrame, d]);
      tokens = tokens.add(position);
      if (media.modality === 'video') tokens = tokens.add(this.frameTime.apply(tf.range(0, media.frames, 1, 'int32')).reshape([1, 1, media.frames, 1, d]));
      if (slots.length !== media.candidates) throw new ModelError('shape_error', `${slots.length} slots for ${media.candidates} candidates`);
      tokens = tokens.add(this.slot.apply(tf.tensor1d(slots as number[], 'int32')).reshape([1, media.candidates, 1, 1, d]));
      return tokens.reshape([media.batch, media.candidates * media.frames * perFrame, d]) as tf.Tensor3D;
    });
  }

  /**
   * Embeds text ids `[B, T]` at positions `[B, T]` (int32; default 0…T−1), with their candidate tags `[B, T]` (int32)
   * when the config has `candidateTags` (required then).
   */
  embedText(ids: tf.Tensor2D, positions?: tf.Tensor2D, tags?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = ids.shape;
      if (t > this.config.maxTextLength && !positions) throw new ModelError('shape_error', `text of ${t} tokens exceeds maxTextLength ${this.config.maxTextLength}`);
      const pos = positions ? this.textPosition.apply(positions) : this.textPosition.apply(tf.range(0, t, 1, 'int32')).reshape([1, t, this.config.dModel]);
      let x = this.tokens.apply(ids).add(pos);
      if (this.textTag) {
        if (!tags) throw new ModelError('shape_error', 'this model tags text tokens with their candidate (candidateTags): pass the tags');
        x = x.add(this.textTag.apply(tags));
      }
      return x.reshape([b, t, this.config.dModel]) as tf.Tensor3D;
    });
  }

  /**
   * The attention bias for `prefix` media tokens and `length` tokens in all: prefix-causal `[L, L]`, plus the ALiBi
   * distance term `[H, L, L]` when the config asks for it. The last few shapes are kept (training repeats them), a
   * new one is made in the current scope otherwise.
   */
  bias(prefix: number, length: number, cached = true): tf.Tensor {
    const make = () => (this.config.positionBias === 'alibi' ? tf.tidy(() => prefixCausalBias(prefix, length).add(alibiBias(prefix, length, this.config.heads))) : prefixCausalBias(prefix, length));
    if (!cached) return make();
    const key = `${prefix}:${length}`;
    let bias = this.#biasCache.get(key);
    if (!bias) {
      if (this.#biasCache.size >= 8) {
        const [oldest, tensor] = this.#biasCache.entries().next().value as [string, tf.Tensor];
        this.#biasCache.delete(oldest);
        tensor.dispose();
      }
      bias = tf.keep(make());
      this.#biasCache.set(key, bias);
    }
    return bias;
  }

  /**
   * Runs the transformer over `[media, text]` and returns the final-normed hidden states of the text positions
   * `[B, T, d]`. `keyPadding` `[B, M + T]` (1 = padding) masks padded keys (left-padded prompts in generation).
   */
  forward(options: { media?: tf.Tensor3D; text: tf.Tensor3D; keyPadding?: tf.Tensor2D; withCache?: boolean }): { hidden: tf.Tensor3D; cache?: DecoderCache } {
    const { media, text, keyPadding, withCache = false } = options;
    const m = media ? media.shape[1] : 0;
    const t = text.shape[1];
    let x = (media ? tf.concat([media, text], 1) : text) as tf.Tensor3D;
    let bias: tf.Tensor = this.bias(m, m + t, !keyPadding);
    if (keyPadding) bias = bias.reshape([1, bias.rank === 3 ? this.config.heads : 1, m + t, m + t]).add(keyPadding.mul(maskValue).reshape([-1, 1, 1, m + t]));
    const cache: DecoderCache = [];
    for (const block of this.blocks) {
      const out = block.apply(x, bias, withCache);
      x = out.y;
      if (out.cache) cache.push(out.cache);
    }
    const textHidden = (media ? x.slice([0, m, 0], [-1, t, -1]) : x) as tf.Tensor3D;
    const hidden = this.finalNorm.apply(textHidden) as tf.Tensor3D;
    return withCache ? { hidden, cache } : { hidden };
  }

  /**
   * One decoding step over the caches: `text` `[B, 1, d]`, `keyPadding` `[B, L + 1]`; `prefix` is the number of media
   * tokens at the start of the cache (the ALiBi term needs it).
   */
  step(text: tf.Tensor3D, cache: DecoderCache, keyPadding: tf.Tensor2D, prefix = 0): { hidden: tf.Tensor3D; cache: DecoderCache } {
    const [b, length] = keyPadding.shape;
    let keyBias: tf.Tensor2D | tf.Tensor3D = keyPadding.mul(maskValue) as tf.Tensor2D;
    if (this.config.positionBias === 'alibi') {
      const distance = alibiBias(prefix, length, this.config.heads, [length - 1]).reshape([1, this.config.heads, length]);
      keyBias = keyBias.reshape([b, 1, length]).add(distance) as tf.Tensor3D;
    }
    let x = text;
    const next: DecoderCache = [];
    this.blocks.forEach((block, i) => {
      const out = block.step(x, cache[i] as AttentionCache, keyBias);
      x = out.y;
      next.push(out.cache);
    });
    return { hidden: this.finalNorm.apply(x) as tf.Tensor3D, cache: next };
  }

  /** Disposes the parameters and cached masks. */
  dispose(): void {
    this.params.dispose();
    for (const bias of this.#biasCache.values()) bias.dispose();
    this.#biasCache.clear();
  }
}
