import { z } from 'zod';
import type { Modality } from './media';

/**
 * Zod schemas of the Flex assessment language.
 *
 * The pairwise schema is the published UnifiedReward-Flex JSON exactly (REFERENCE.md §1) plus two optional
 * extensions its consumers ignore: `intent` (the prompt's requirements restated) and `evidence` (what is seen
 * in each candidate, one string per candidate). The pointwise schema is Flex's own: the same categories and
 * criteria for one candidate, each scored 0–10.
 */

/** A score of one candidate on one criterion: an integer from 0 to 10. */
export const scoreSchema = z.number().int().min(0).max(10);

/** The winner labels of the published format, per modality. */
export const winnerLabels = {
  image: ['Image 1', 'Image 2'],
  video: ['Video 1', 'Video 2'],
} as const satisfies Record<Modality, readonly [string, string]>;

/** A winner label: "Image 1" | "Image 2" | "Video 1" | "Video 2". */
export type WinnerLabel = (typeof winnerLabels)[Modality][number];

/** Which candidate: 1 is the first (A), 2 the second (B). */
export type Slot = 1 | 2;

const winnerSchemaFor = (modality: Modality) => z.enum(winnerLabels[modality]);

/** One prompt-specific criterion ("sub-dimension") of a pairwise assessment: 10 points split between the two. */
export const pairwiseDimensionSchema = z
  .object({
    name: z.string().min(1),
    reason_1: z.string(),
    reason_2: z.string(),
    score_1: scoreSchema,
    score_2: scoreSchema,
  })
  .refine((d) => d.score_1 + d.score_2 === 10, { message: 'score_1 + score_2 must equal 10', path: ['score_2'] });

function pairwiseCategorySchemaFor(modality: Modality) {
  return z.object({
    name: z.string().min(1),
    dims: z.array(pairwiseDimensionSchema).min(1),
    cat_reason: z.string(),
    cat_winner: winnerSchemaFor(modality),
  });
}

function pairwiseAssessmentSchemaFor(modality: Modality) {
  return z.object({
    prompt: z.string(),
    intent: z.string().optional(),
    evidence: z.array(z.string()).length(2).optional(),
    categories: z.array(pairwiseCategorySchemaFor(modality)).min(1),
    reason: z.string(),
    winner: winnerSchemaFor(modality),
  });
}

/** The published pairwise assessment of two images. */
export const imagePairwiseAssessmentSchema = pairwiseAssessmentSchemaFor('image');
/** The published pairwise assessment of two videos. */
export const videoPairwiseAssessmentSchema = pairwiseAssessmentSchemaFor('video');
/** A pairwise assessment of either modality. */
export const pairwiseAssessmentSchema = z.union([imagePairwiseAssessmentSchema, videoPairwiseAssessmentSchema]);

/** The pairwise schema for one modality. */
export function pairwiseSchemaFor(modality: Modality) {
  return modality === 'image' ? imagePairwiseAssessmentSchema : videoPairwiseAssessmentSchema;
}

/** One criterion of a pairwise assessment. */
export type PairwiseDimension = z.output<typeof pairwiseDimensionSchema>;
/** One category of a pairwise assessment. */
export type PairwiseCategory = z.output<typeof pairwiseAssessmentSchema>['categories'][number];
/** A pairwise Flex assessment (published format plus optional `intent` / `evidence`). */
export type PairwiseAssessment = z.output<typeof pairwiseAssessmentSchema>;
/** Input type of {@link pairwiseAssessmentSchema}. */
export type PairwiseAssessmentInput = z.input<typeof pairwiseAssessmentSchema>;

/** One criterion of a pointwise assessment. */
export const pointwiseDimensionSchema = z.object({
  name: z.string().min(1),
  reason: z.string(),
  score: scoreSchema,
});

/** One category of a pointwise assessment; `cat_score` is 0–10 (may be fractional). */
export const pointwiseCategorySchema = z.object({
  name: z.string().min(1),
  dims: z.array(pointwiseDimensionSchema).min(1),
  cat_reason: z.string(),
  cat_score: z.number().min(0).max(10),
});

/** A pointwise assessment of one candidate (Flex's own; the published judge has none). */
export const pointwiseAssessmentSchema = z.object({
  prompt: z.string(),
  intent: z.string().optional(),
  evidence: z.array(z.string()).length(1).optional(),
  categories: z.array(pointwiseCategorySchema).min(1),
  reason: z.string(),
  score: z.number().min(0).max(10),
});

/** One criterion of a pointwise assessment. */
export type PointwiseDimension = z.output<typeof pointwiseDimensionSchema>;
/** One category of a pointwise assessment. */
export type PointwiseCategory = z.output<typeof pointwiseCategorySchema>;
/** A pointwise Flex assessment of one candidate. */
export type PointwiseAssessment = z.output<typeof pointwiseAssessmentSchema>;
/** Input type of {@link pointwiseAssessmentSchema}. */
export type PointwiseAssessmentInput = z.input<typeof pointwiseAssessmentSchema>;

/** The slot a winner label names. */
export function slotOfWinner(winner: WinnerLabel): Slot {
  return winner.endsWith('1') ? 1 : 2;
}

/** The winner label for a slot in a modality. */
export function winnerLabel(modality: Modality, slot: Slot): WinnerLabel {
  return winnerLabels[modality][slot - 1] as WinnerLabel;
}

/** The modality a pairwise assessment is written for, read from its winner label. */
export function modalityOfAssessment(assessment: PairwiseAssessment): Modality {
  return assessment.winner.startsWith('Video') ? 'video' : 'image';
}
