import { z } from 'zod';
import type { Media } from '@flex/criteria';
import { referenceScene, sampleStyle } from './candidates';
import { contextIds, heldOutContextIds } from './contexts';
import { checkFacts, describeFacts, questionsForFacts } from './describe';
import type { GroundedQuestion, RequirementCheck } from './describe';
import { sceneFacts } from './facts';
import { describeRequirements, promptSpecSchema, promptText, samplePromptSpecWith } from './prompt';
import type { PromptSpec, PromptSpecInput } from './prompt';
import { Rng, mixSeed } from './random';
import { renderScene } from './render';
import { sceneSchema } from './scene';
import type { Scene, SceneInput } from './scene';
import { scoreFacts } from './score';

/** Prompt sets for generator training and evaluation. */
export const generationPromptSets = ['train', 'heldout-contexts', 'heldout-combinations'] as const;
/** A prompt set: training prompts, or prompts with held-out contexts or held-out colour–shape combinations. */
export type GenerationPromptSet = (typeof generationPromptSets)[number];

/** Options of {@link sampleGenerationPrompts}. */
export const generationPromptOptionsSchema = z.object({
  modality: z.enum(['image', 'video']).default('image'),
  /** Number of prompts. */
  count: z.number().int().min(1).max(1_000_000),
  /** Seed. Default 0. */
  seed: z.number().int().min(0).max(4294967295).default(0),
  /** Which set. Default 'train'. */
  set: z.enum(generationPromptSets).default('train'),
  /** Styles tried when choosing the reference (the best under the prompt's context wins). Default 8. */
  referenceStyles: z.number().int().min(1).max(64).default(8),
});
/** Input of {@link sampleGenerationPrompts}. */
export type GenerationPromptOptions = z.input<typeof generationPromptOptionsSchema>;

/** A prompt for a generator, with a correct reference scene (the oracle's best of a few styles for its context). */
export interface GenerationPrompt {
  readonly id: string;
  readonly spec: PromptSpec;
  readonly prompt: string;
  /** The prompt's requirements in the description vocabulary. */
  readonly requirements: string;
  /** A correct scene for the prompt, rendered with {@link renderReference}. */
  readonly reference: Scene;
  /** The oracle's utility of the reference (near the top of [0, 1]). */
  readonly referenceUtility: number;
}

/**
 * Draw prompts for generator training (GRPO) or its held-out evaluation. Train prompts use neither held-out contexts
 * nor held-out colour–shape combinations; 'heldout-contexts' uses only held-out contexts; 'heldout-combinations'
 * makes every prompt use a held-out combination. Deterministic for a seed.
 */
export function sampleGenerationPrompts(options: GenerationPromptOptions): GenerationPrompt[] {
  const o = generationPromptOptionsSchema.parse(options);
  const out: GenerationPrompt[] = [];
  const contexts = o.set === 'heldout-contexts' ? heldOutContextIds : contextIds.filter((c) => !heldOutContextIds.includes(c));
  const heldOut = o.set === 'train' ? 'exclude' : o.set === 'heldout-combinations' ? 'only' : 'include';
  for (let i = 0; i < o.count; i++) {
    const rng = new Rng(mixSeed(o.seed, 'generation', o.set, o.modality, i));
    const spec = samplePromptSpecWith(rng.fork('prompt'), o.modality, contexts, o.set === 'heldout-contexts' ? 0 : 0.15, heldOut);
    let best: Scene | undefined;
    let bestUtility = -Infinity;
    for (let k = 0; k < o.referenceStyles; k++) {
      const scene = referenceScene(spec, sampleStyle(spec, rng.fork(`style-${k}`)), rng.int(0, 0x7fffffff));
      const utility = scoreFacts({ spec, facts: sceneFacts(scene) }).utility;
      if (utility > bestUtility) {
        bestUtility = utility;
        best = scene;
      }
    }
    out.push({ id: `${o.set}-${String(i).padStart(6, '0')}`, spec, prompt: promptText(spec), requirements: describeRequirements(spec), reference: best as Scene, referenceUtility: bestUtility });
  }
  return out;
}

/** Render a generation prompt's reference at a size (an image, or a video of the scene's frames). */
export function renderReference(prompt: Pick<GenerationPrompt, 'reference'>, options: { width?: number; height?: number; fps?: number } = {}): Media {
  return renderScene({ scene: prompt.reference, width: options.width ?? 32, ...(options.height !== undefined ? { height: options.height } : {}), ...(options.fps !== undefined ? { fps: options.fps } : {}) });
}

/** The description supervision of one candidate: dense description, grounded questions and prompt-conditioned checks. */
export interface CandidateSupervision {
  /** The prompt's requirements restated (a judge's `intent`). */
  readonly intent: string;
  /** The dense description in the controlled vocabulary (a judge's `evidence`). */
  readonly description: string;
  readonly questions: readonly GroundedQuestion[];
  readonly checks: readonly RequirementCheck[];
}

/** Everything a base vision-language model learns from about one candidate of a prompt. */
export function candidateSupervision(options: { spec: PromptSpecInput; scene: SceneInput }): CandidateSupervision {
  const spec = promptSpecSchema.parse(options.spec);
  const facts = sceneFacts(sceneSchema.parse(options.scene));
  return { intent: describeRequirements(spec), description: describeFacts(facts), questions: questionsForFacts(facts), checks: checkFacts(spec, facts) };
}
