import type { Media } from '@flex/criteria';
import { promptText, referenceScene, renderScene, Rng, samplePromptSpec, sampleStyle, scoreGeneration, type PromptSpec } from '@flex/synth';

/**
 * Glue between @flex/synth and the generators, for the scripts and the benchmark only (the library never
 * imports @flex/synth): prompts of the embedded world, correct renders of them, and the pixel oracle.
 */

/** Seeds of held-out prompts start here, far from the training seeds. */
export const heldOutSeedBase = 1_000_000;

/** A world prompt: its spec (for the oracle) and its text (for the generator and the judge). */
export interface WorldPrompt {
  readonly spec: PromptSpec;
  readonly text: string;
}

/** `count` prompts of a modality, seeded; held-out prompts use seeds from {@link heldOutSeedBase}. */
export function worldPrompts(options: { modality: 'image' | 'video'; count: number; seed: number; heldOut?: boolean }): WorldPrompt[] {
  const base = (options.heldOut ? heldOutSeedBase : 0) + options.seed * 100_000;
  return Array.from({ length: options.count }, (_, i) => {
    const spec = samplePromptSpec({ modality: options.modality, seed: base + i });
    return { spec, text: promptText(spec) };
  });
}

/** A correct render of a prompt (a reference scene with a seeded style) at `size` pixels. */
export function renderPrompt(prompt: WorldPrompt, size: number, seed: number): Media {
  const style = sampleStyle(prompt.spec, new Rng(seed));
  const scene = referenceScene(prompt.spec, style, seed + 7919);
  return renderScene({ scene, width: size });
}

/** The pixel oracle's utility of a generation for its prompt, in [0, 1]. */
export function oracleScore(prompt: WorldPrompt, media: Media): number {
  return scoreGeneration({ spec: prompt.spec, media }).utility;
}
