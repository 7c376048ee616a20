import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DatasetWriter, datasetFiles } from './dataset';
import type { Manifest } from './dataset';
import { SynthError } from './errors';
import { oracleOptionsSchema } from './oracle';
import { recordOfDraft, samplePair, splits } from './pair';
import { renderFrame } from './render';
import type { Scene } from './scene';
import type { Media, RgbImage } from '@flex/criteria';

/** Options of {@link synthesize} (what `flex synth` passes). */
export const synthesizeOptionsSchema = z.object({
  /** Output folder (created). */
  out: z.string().min(1),
  /** Image or video pairs. Default 'image'. */
  modality: z.enum(['image', 'video']).default('image'),
  /** Number of pairs. */
  pairs: z.number().int().min(0).max(10_000_000),
  /** Seed: same seed, same options → same bytes. Default 0. */
  seed: z.number().int().min(0).max(4294967295).default(0),
  /** Split: train and validation never use held-out contexts or colour–shape combinations. Default 'train'. */
  split: z.enum(splits).default('train'),
  /** Image width in pixels. Default 32. */
  width: z.number().int().min(8).max(1024).default(32),
  /** Image height in pixels. Default: the width. */
  height: z.number().int().min(8).max(1024).optional(),
  /** Frames per video (at least 8). Default 8. */
  frames: z.number().int().min(8).max(64).default(8),
  /** Video frames per second. Default 8. */
  fps: z.number().positive().default(8),
  /** Supersamples per pixel per axis. Default 4. */
  samples: z.number().int().min(1).max(8).default(4),
  /** The oracle's label noise. */
  oracle: oracleOptionsSchema.default({ temperature: 0.03, tieMargin: 0.012 }),
  /** Probability that both candidates share a style. Default 0.3. */
  sharedStyleRate: z.number().min(0).max(1).default(0.3),
  /** Replace an existing dataset in `out`. Default false (an existing manifest is an error). */
  overwrite: z.boolean().default(false),
  /** Called after each pair with (done, total). */
  onProgress: z.custom<(done: number, total: number) => void>((v) => typeof v === 'function').optional(),
});
/** Input of {@link synthesize}. */
export type SynthesizeOptions = z.input<typeof synthesizeOptionsSchema>;

/** What {@link synthesize} returns. */
export interface SynthesizeResult {
  readonly out: string;
  readonly manifest: Manifest;
  /** Label counts. */
  readonly labels: { readonly A: number; readonly B: number; readonly tie: number };
}

function renderCandidate(scene: Scene, width: number, height: number, samples: number, fps: number): Media {
  if (scene.modality === 'image') return renderFrame(scene, 0, width, height, samples);
  const frames: RgbImage[] = [];
  for (let f = 0; f < scene.frames; f++) frames.push(renderFrame(scene, f, width, height, samples));
  return { frames, fps };
}

/**
 * Generate a dataset of labelled pairs into a folder: manifest.json, pairs.jsonl and media/*.png (written
 * concurrently with rendering). Deterministic: the same options write the same bytes. Throws `SynthError('dataset_exists')` when `out` already
 * holds a dataset and `overwrite` is false.
 */
export async function synthesize(options: SynthesizeOptions): Promise<SynthesizeResult> {
  const parsed = synthesizeOptionsSchema.safeParse(options);
  if (!parsed.success) throw new SynthError('invalid_options', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const o = parsed.data;
  const height = o.height ?? o.width;
  if (existsSync(join(o.out, datasetFiles.manifest)) || existsSync(join(o.out, datasetFiles.pairs))) {
    if (!o.overwrite) throw new SynthError('dataset_exists', `${o.out} already holds a dataset (pass overwrite)`, { file: o.out });
    rmSync(join(o.out, datasetFiles.manifest), { force: true });
    rmSync(join(o.out, datasetFiles.pairs), { force: true });
    rmSync(join(o.out, datasetFiles.media), { recursive: true, force: true });
  }
  const writer = new DatasetWriter(o.out);
  const labels = { A: 0, B: 0, tie: 0 };
  const sampler = { modality: o.modality, seed: o.seed, split: o.split, oracle: o.oracle, sharedStyleRate: o.sharedStyleRate };
  for (let i = 0; i < o.pairs; i++) {
    const draft = samplePair(sampler, i);
    if (o.modality === 'video') {
      draft.a.scene.frames = o.frames;
      draft.b.scene.frames = o.frames;
    }
    const mediaA = writer.writeMedia(`${draft.id}-a`, renderCandidate(draft.a.scene, o.width, height, o.samples, o.fps));
    const mediaB = writer.writeMedia(`${draft.id}-b`, renderCandidate(draft.b.scene, o.width, height, o.samples, o.fps));
    // Records built here are valid by construction; the reader validates every line.
    writer.write(recordOfDraft(draft, mediaA, mediaB), { validate: i < 8 });
    labels[draft.label]++;
    await writer.drain();
    o.onProgress?.(i + 1, o.pairs);
  }
  const { onProgress: _progress, out: _out, overwrite: _overwrite, oracle, modality, split, seed, width, frames, fps, ...rest } = o;
  const manifest = await writer.close({ modality, split, seed, width, height, frames: modality === 'video' ? frames : 1, fps, oracle, options: { ...rest, height } });
  return { out: o.out, manifest, labels };
}
