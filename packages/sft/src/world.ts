import type { Media, RgbImage } from '@flex/criteria';
import { type PairRecord, type Split, oracleOptionsSchema, recordOfDraft, renderFrame, samplePair } from '@flex/synth';

/** One pair of the embedded world drawn in memory: its record and the rendered media of both candidates. */
export interface WorldPair {
  readonly record: PairRecord;
  readonly a: Media;
  readonly b: Media;
}

/**
 * Draws `count` image pairs of a split from the @flex/synth sampler and renders them (no files), as `flex synth`
 * would with the same seed. Deterministic.
 */
export function drawWorldPairs(options: { seed: number; split: Split; count: number; size?: number; start?: number }): WorldPair[] {
  const size = options.size ?? 32;
  const sampler = { modality: 'image' as const, seed: options.seed, split: options.split, oracle: oracleOptionsSchema.parse({ temperature: 0.03, tieMargin: 0.012 }), sharedStyleRate: 0.3 };
  const out: WorldPair[] = [];
  const start = options.start ?? 0;
  for (let i = start; i < start + options.count; i++) {
    const draft = samplePair(sampler, i);
    const record = recordOfDraft(draft, [`memory/${draft.id}-a.png`], [`memory/${draft.id}-b.png`]);
    const a: RgbImage = renderFrame(draft.a.scene, 0, size, size);
    const b: RgbImage = renderFrame(draft.b.scene, 0, size, size);
    out.push({ record, a, b });
  }
  return out;
}
