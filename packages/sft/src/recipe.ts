import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { TrainerCallbacks } from '@flex/model';
import { SftError, parseSftOptions } from './errors';
import { type PretrainOptions, type PretrainResult, pretrain } from './pretrain';

/** One phase of a pretraining recipe: {@link pretrain}'s options without the folders (the recipe chains them). */
export type PretrainPhase = { readonly name: string } & Omit<PretrainOptions, 'out' | 'initFrom' | 'callbacks' | 'resume' | 'fromCheckpoint'>;

const log = { loggingSteps: 50, evalSteps: 100000 };

/**
 * The recipe that built the shipped image base (`assets/base-image`), phase by phase, each starting from the one before:
 * 1. `describe-check` — from scratch: descriptions, pair descriptions, grounded questions and checks (2,600 steps of 16);
 * 2. `describe` — descriptions only, 24,000 fresh pairs (4,000 steps of 32): perception (shape 0.22 → 0.50);
 * 3. `check` — the full mix again on fresh pairs, the first 1,500 steps of a 3,000-step schedule (checks relearned);
 * 4. `intent` — the full mix plus open intent examples (2,400 steps): the intent step 0.07 → 0.35 exact, pointwise
 *    overall scores correlating 0.57 with the truth (from −0.02).
 * Seed 0 throughout. Measured figures per phase are in `assets/base-image/README.md`.
 */
export const shippedBaseRecipe: readonly PretrainPhase[] = [
  { name: 'describe-check', preset: 'small', seed: 0, pairs: 6000, evalImages: 300, intents: false, trainer: { maxSteps: 2600, loggingSteps: 50, saveSteps: 250, evalSteps: 500, warmupSteps: 100 } },
  { name: 'describe', preset: 'small', seed: 0, pairs: 24000, evalImages: 300, drawOffset: 6000, questionsPerPair: 0, checks: false, intents: false, trainer: { ...log, maxSteps: 4000, batchSize: 32, learningRate: 1e-3, warmupSteps: 50, saveSteps: 250, saveTotalLimit: 40 } },
  { name: 'check', preset: 'small', seed: 0, pairs: 8000, evalImages: 300, drawOffset: 30000, intents: false, stopAfterSteps: 1500, trainer: { ...log, maxSteps: 3000, batchSize: 16, learningRate: 1e-3, warmupSteps: 50, saveSteps: 300, saveTotalLimit: 20 } },
  { name: 'intent', preset: 'small', seed: 0, pairs: 8000, evalImages: 300, drawOffset: 38000, trainer: { ...log, maxSteps: 2400, batchSize: 16, learningRate: 1e-3, warmupSteps: 50, saveSteps: 300, saveTotalLimit: 20 } },
];

/** Options of {@link pretrainRecipe}. */
export const pretrainRecipeOptionsSchema = z.object({
  /** Output folder: one sub-folder per phase (`<out>/<phase name>/`), and `<out>/final` is the last phase's base. */
  out: z.string().min(1),
  /** The phases. Default {@link shippedBaseRecipe}. */
  recipe: z.array(z.custom<PretrainPhase>((p) => typeof p === 'object' && p !== null && typeof (p as PretrainPhase).name === 'string', 'a phase with a name')).min(1).optional(),
  /** Trainer callbacks, for every phase. */
  callbacks: z.array(z.custom<TrainerCallbacks>((v) => typeof v === 'object' && v !== null)).default([]),
  /**
   * Called when a phase starts: index from 0, its name, the number of phases, and its optimizer steps (`stopAfterSteps`,
   * else the trainer's `maxSteps`; undefined when the phase runs by epochs).
   */
  onPhase: z.custom<(index: number, name: string, total: number, steps: number | undefined) => void>((f) => typeof f === 'function').optional(),
});
/** Input of {@link pretrainRecipeOptionsSchema}. */
export type PretrainRecipeOptions = z.input<typeof pretrainRecipeOptionsSchema>;

/** What {@link pretrainRecipe} returns: the base checkpoint and each phase's report. */
export interface PretrainRecipeResult {
  /** The last phase's base (`<out>/<last phase>/final`). */
  readonly checkpoint: string;
  readonly phases: readonly (PretrainResult & { readonly name: string; readonly skipped: boolean })[];
}

/**
 * Runs a pretraining recipe: each phase is a {@link pretrain} call into `<out>/<name>` that starts from the previous
 * phase's `final`. A phase that already finished (its `pretrain-report.json` and `final/` exist) is skipped, and an
 * interrupted one resumes from its latest checkpoint, so a crash loses at most one save interval.
 */
export async function pretrainRecipe(options: PretrainRecipeOptions): Promise<PretrainRecipeResult> {
  const o = parseSftOptions(pretrainRecipeOptionsSchema, options, 'pretrain recipe options');
  const recipe = o.recipe ?? shippedBaseRecipe;
  const names = new Set(recipe.map((p) => p.name));
  if (names.size !== recipe.length) throw new SftError('invalid_options', 'pretrain recipe options: phase names must be unique');
  const phases: (PretrainResult & { name: string; skipped: boolean })[] = [];
  let previous: string | undefined;
  for (const [index, phase] of recipe.entries()) {
    const { name, ...rest } = phase;
    const out = join(o.out, name);
    const reportFile = join(out, 'pretrain-report.json');
    o.onPhase?.(index, name, recipe.length, phase.stopAfterSteps ?? (phase.trainer as { maxSteps?: number } | undefined)?.maxSteps);
    if (existsSync(reportFile) && existsSync(join(out, 'final', 'config.json'))) {
      phases.push({ ...(JSON.parse(readFileSync(reportFile, 'utf8')) as PretrainResult), name, skipped: true });
    } else {
      const result = await pretrain({ ...rest, out, callbacks: o.callbacks, resume: existsSync(out), ...(previous ? { initFrom: previous } : {}) });
      phases.push({ ...result, name, skipped: false });
    }
    previous = join(out, 'final');
  }
  return { checkpoint: previous as string, phases };
}
