import { z } from 'zod';
import { buildCandidate, faultSchema, samplePairFaults, sampleStyle } from './candidates';
import type { Candidate } from './candidates';
import { contextIds, heldOutContextIds } from './contexts';
import { sceneFacts } from './facts';
import { drawLabel, judgePair } from './oracle';
import type { OracleJudgement, ResolvedOracleOptions } from './oracle';
import { isHeldOutCombination, promptSpecSchema, promptText, samplePromptSpecWith } from './prompt';
import type { PromptSpec } from './prompt';
import { Rng, mixSeed } from './random';
import { sceneSchema } from './scene';

/** Dataset splits. Test allows held-out colour–shape combinations; heldout-contexts uses only held-out contexts. */
export const splits = ['train', 'validation', 'test', 'heldout-contexts'] as const;
/** A dataset split. */
export type Split = (typeof splits)[number];

const categoryPairSchema = z.object({ a: z.number(), b: z.number(), weight: z.number() });
const preferenceSchema = z.enum(['A', 'B', 'tie']);

/** Schema of one candidate in a record: media file paths (relative to the dataset folder), its scene, its faults. */
export const candidateRecordSchema = z.object({
  /** PNG paths relative to the dataset folder: one for an image, one per frame for a video. */
  media: z.array(z.string().min(1)).min(1),
  scene: sceneSchema,
  faults: z.array(faultSchema),
});

/** Schema of a pair record (one JSONL line): DESIGN.md's pair record plus the world's own facts. */
export const pairRecordSchema = z.object({
  id: z.string().min(1),
  split: z.enum(splits),
  prompt: z.string().min(1),
  modality: z.enum(['image', 'video']),
  /** Context id, or null for a prompt without a cue. */
  context: z.string().nullable(),
  /** Whether the prompt uses a colour–shape combination held out of training. */
  heldOutCombination: z.boolean(),
  spec: promptSpecSchema,
  a: candidateRecordSchema,
  b: candidateRecordSchema,
  /** The noisy person's label. */
  label: preferenceSchema,
  oracle: z.object({
    utilityA: z.number(),
    utilityB: z.number(),
    probabilityA: z.number().min(0).max(1),
    preferred: preferenceSchema,
    categories: z.record(z.string(), categoryPairSchema),
    categoryWinners: z.record(z.string(), preferenceSchema),
  }),
});
/** A pair record. */
export type PairRecord = z.output<typeof pairRecordSchema>;

/** The contexts a split draws from. */
export function contextsOfSplit(split: Split): readonly string[] {
  return split === 'heldout-contexts' ? heldOutContextIds : contextIds.filter((c) => !heldOutContextIds.includes(c));
}

/** A drawn pair before its media are rendered. */
export interface PairDraft {
  readonly id: string;
  readonly split: Split;
  readonly spec: PromptSpec;
  readonly prompt: string;
  readonly a: Candidate;
  readonly b: Candidate;
  readonly judgement: OracleJudgement;
  readonly label: 'A' | 'B' | 'tie';
  readonly heldOutCombination: boolean;
}

/** Options of the pair sampler (resolved). */
export interface PairSamplerOptions {
  readonly modality: 'image' | 'video';
  readonly seed: number;
  readonly split: Split;
  readonly oracle: ResolvedOracleOptions;
  /** Probability that both candidates share one style, so they differ only by faults. Default 0.3. */
  readonly sharedStyleRate: number;
}

/** Draw pair number `index` of a split: independent of every other index, so datasets stream. */
export function samplePair(options: PairSamplerOptions, index: number): PairDraft {
  const rng = new Rng(mixSeed(options.seed, options.modality, options.split, index));
  const heldOut = options.split === 'train' || options.split === 'validation' ? 'exclude' : 'include';
  const noContextRate = options.split === 'heldout-contexts' ? 0 : 0.15;
  const spec = samplePromptSpecWith(rng.fork('prompt'), options.modality, contextsOfSplit(options.split), noContextRate, heldOut);
  const styleA = sampleStyle(spec, rng.fork('style-a'));
  const styleB = rng.chance(options.sharedStyleRate) ? styleA : sampleStyle(spec, rng.fork('style-b'));
  const [faultsA, faultsB] = samplePairFaults(spec, rng.fork('faults'));
  const a = buildCandidate(spec, styleA, faultsA, rng.int(0, 0x7fffffff));
  const b = buildCandidate(spec, styleB, faultsB, rng.int(0, 0x7fffffff));
  const judgement = judgePair(spec, sceneFacts(a.scene), sceneFacts(b.scene), options.oracle);
  const label = drawLabel(judgement, rng.int(0, 0x7fffffff));
  return {
    id: `${options.split}-${String(index).padStart(6, '0')}`,
    split: options.split,
    spec,
    prompt: promptText(spec),
    a,
    b,
    judgement,
    label,
    heldOutCombination: spec.subjects.some((s) => isHeldOutCombination(s.colour, s.shape)),
  };
}

/** The record of a draft, given the media paths of its candidates. */
export function recordOfDraft(draft: PairDraft, mediaA: string[], mediaB: string[]): PairRecord {
  const j = draft.judgement;
  return {
    id: draft.id,
    split: draft.split,
    prompt: draft.prompt,
    modality: draft.spec.modality,
    context: draft.spec.context,
    heldOutCombination: draft.heldOutCombination,
    spec: draft.spec,
    a: { media: mediaA, scene: draft.a.scene, faults: [...draft.a.faults] },
    b: { media: mediaB, scene: draft.b.scene, faults: [...draft.b.faults] },
    label: draft.label,
    oracle: {
      utilityA: round6(j.utilityA),
      utilityB: round6(j.utilityB),
      probabilityA: round6(j.probabilityA),
      preferred: j.preferred,
      categories: Object.fromEntries(Object.entries(j.categories).map(([k, v]) => [k, { a: round6(v.a), b: round6(v.b), weight: v.weight }])),
      categoryWinners: { ...j.categoryWinners } as Record<string, 'A' | 'B' | 'tie'>,
    },
  };
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
