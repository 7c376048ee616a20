import fc from 'fast-check';
import { categoryName } from './categories';
import type { Modality } from './media';
import type { PairwiseAssessment, PointwiseAssessment } from './schemas';

/** Free text with every character the codecs must survive: bars, backslashes, newlines, unicode. */
export const textArbitrary = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('a', 'b', ' ', '|', '\\', '\n', '\r', 'n', 'é', '🙂', '"', '{', '}', ':', 'category A: ', ' | ', '\\n'), maxLength: 25 }),
);
export const nameArbitrary = textArbitrary.filter((s) => s.length > 0);
const modalityArbitrary = fc.constantFrom<Modality>('image', 'video');
const noNegativeZero = (x: number) => (x === 0 ? 0 : x);
export const realScoreArbitrary = fc.oneof(fc.integer({ min: 0, max: 10 }), fc.double({ min: 0, max: 10, noNaN: true }).map(noNegativeZero));

/** A random valid pairwise assessment (any names, 1–5 categories, 1–4 criteria each). */
export function pairwiseArbitrary(modality?: Modality): fc.Arbitrary<PairwiseAssessment> {
  return (modality === undefined ? modalityArbitrary : fc.constant(modality)).chain((m) => {
    const label = fc.constantFrom(...(m === 'image' ? (['Image 1', 'Image 2'] as const) : (['Video 1', 'Video 2'] as const)));
    const dim = fc.record({ name: nameArbitrary, reason_1: textArbitrary, reason_2: textArbitrary, score_1: fc.integer({ min: 0, max: 10 }) }).map((d) => ({ ...d, score_2: 10 - d.score_1 }));
    const categoryNameArbitrary = fc.oneof(nameArbitrary, fc.constantFrom(categoryName(m, 'A'), categoryName(m, 'B'), categoryName(m, 'C'), 'Mood'));
    const category = fc.record({ name: categoryNameArbitrary, dims: fc.array(dim, { minLength: 1, maxLength: 4 }), cat_reason: textArbitrary, cat_winner: label });
    return fc.record(
      {
        prompt: textArbitrary,
        intent: textArbitrary,
        evidence: fc.tuple(textArbitrary, textArbitrary).map((t) => [...t]),
        categories: fc.array(category, { minLength: 1, maxLength: 5 }),
        reason: textArbitrary,
        winner: label,
      },
      { requiredKeys: ['prompt', 'categories', 'reason', 'winner'] },
    ) as fc.Arbitrary<PairwiseAssessment>;
  });
}

/** A random valid pointwise assessment. */
export const pointwiseArbitrary: fc.Arbitrary<PointwiseAssessment> = fc.record(
  {
    prompt: textArbitrary,
    intent: textArbitrary,
    evidence: textArbitrary.map((t) => [t]),
    categories: fc.array(
      fc.record({
        name: nameArbitrary,
        dims: fc.array(fc.record({ name: nameArbitrary, reason: textArbitrary, score: fc.integer({ min: 0, max: 10 }) }), { minLength: 1, maxLength: 4 }),
        cat_reason: textArbitrary,
        cat_score: realScoreArbitrary,
      }),
      { minLength: 1, maxLength: 5 },
    ),
    reason: textArbitrary,
    score: realScoreArbitrary,
  },
  { requiredKeys: ['prompt', 'categories', 'reason', 'score'] },
) as fc.Arbitrary<PointwiseAssessment>;

/** A realistic published-format image assessment (three mandatory categories plus a self-generated one). */
export const publishedExample: PairwiseAssessment = {
  prompt: 'Three red circles above a blue square on a white background, in a calm minimalist style',
  categories: [
    {
      name: 'Semantic Alignment & Accuracy',
      dims: [
        { name: 'Count of red circles', reason_1: 'Image 1 shows exactly three red circles.', reason_2: 'Image 2 shows only two red circles; the third is missing.', score_1: 8, score_2: 2 },
        { name: 'Blue square present', reason_1: 'A blue square sits in the lower half.', reason_2: 'A blue square is present but tinted purple.', score_1: 6, score_2: 4 },
        { name: 'Circles above the square', reason_1: 'All circles are above the square.', reason_2: 'One circle overlaps the square\'s top edge.', score_1: 7, score_2: 3 },
      ],
      cat_reason: 'Image 1 matches the count, the colours and the layout; Image 2 misses a circle.',
      cat_winner: 'Image 1',
    },
    {
      name: 'Image Quality & Realism',
      dims: [
        { name: 'Edge sharpness', reason_1: 'Edges are slightly blurred.', reason_2: 'Edges are crisp.', score_1: 4, score_2: 6 },
        { name: 'Noise and artifacts', reason_1: 'Visible noise in the background.', reason_2: 'Clean background.', score_1: 3, score_2: 7 },
        { name: 'Colour fidelity', reason_1: 'Colours are accurate.', reason_2: 'The square drifts towards purple.', score_1: 6, score_2: 4 },
      ],
      cat_reason: 'Image 2 is cleaner overall despite its colour drift.',
      cat_winner: 'Image 2',
    },
    {
      name: 'Aesthetics & Artistry',
      dims: [
        { name: 'Minimalist composition', reason_1: 'Balanced, generous white space.', reason_2: 'Slightly crowded to the left.', score_1: 7, score_2: 3 },
        { name: 'Calm palette', reason_1: 'Soft, calm colours.', reason_2: 'The purple tint feels less calm.', score_1: 6, score_2: 4 },
        { name: 'Visual balance', reason_1: 'Symmetric arrangement.', reason_2: 'Off-centre arrangement.', score_1: 6, score_2: 4 },
      ],
      cat_reason: 'Image 1 conveys the calm minimalist style better.',
      cat_winner: 'Image 1',
    },
    {
      name: 'Mood & Atmosphere',
      dims: [
        { name: 'Sense of calm', reason_1: 'Quiet and still.', reason_2: 'Busier and less calm.', score_1: 7, score_2: 3 },
        { name: 'Consistency of tone', reason_1: 'Uniform tone throughout.', reason_2: 'Tone shifts with the purple tint.', score_1: 6, score_2: 4 },
      ],
      cat_reason: 'The prompt asks for a calm mood, which the three categories do not cover; Image 1 is calmer.',
      cat_winner: 'Image 1',
    },
  ],
  reason: 'Image 1 follows the prompt (three circles above the square) and its calm style; Image 2 is sharper but misses a circle.',
  winner: 'Image 1',
};
