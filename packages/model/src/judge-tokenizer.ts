import { z } from 'zod';
import { type PairwiseAssessment, type PointwiseAssessment, encodeCompact, predefinedCategories } from '@flex/criteria';
import { parseOptions } from './errors';
import { buildTokenizer, splitPieces, type Tokenizer } from './tokenizer';

/**
 * Every fixed string of the compact grammar: tags (as they open a line, and after a space), separators, scores,
 * canonical category names of both modalities.
 */
export function compactGrammarPieces(): string[] {
  const tags = ['intent:', 'evidence 1:', 'evidence 2:', 'evidence:', 'criterion:', 'overall:', ...['A', 'B', 'C', 'D', 'E'].flatMap((id) => [`category ${id}:`, `verdict ${id}:`])];
  const texts = [
    // Each tag alone: split as it opens a line (no leading space) …
    ...tags,
    // … and after a space.
    ` ${tags.join(' ')}`,
    '| \\| \\\\ \\n',
    ...Array.from({ length: 11 }, (_, i) => ` ${i}`),
    ...predefinedCategories.image.map((c) => ` ${c.name}`),
    ...predefinedCategories.video.map((c) => ` ${c.name}`),
    '\n',
  ];
  return [...new Set(texts.flatMap((t) => splitPieces(t)).filter((p) => p.trim() !== '' || p === '\n'))];
}

/** Options of {@link buildJudgeTokenizer}. */
export const buildJudgeTokenizerOptionsSchema = z.object({
  /** Prompts the judge will read. */
  prompts: z.array(z.string()).default([]),
  /** Assessments (pairwise or pointwise) the judge will write; they are encoded with the compact codec. */
  assessments: z.array(z.custom<PairwiseAssessment | PointwiseAssessment>((a) => typeof a === 'object' && a !== null && 'categories' in a)).default([]),
  /** Other texts (descriptions for pretraining, …). */
  texts: z.array(z.string()).default([]),
  /** Vocabulary size. Default 512. */
  vocabSize: z.number().int().min(64).default(512),
  /** A piece must occur this often to become a token. Default 2. */
  minCount: z.number().int().min(1).default(2),
});
/** Input of {@link buildJudgeTokenizer}. */
export type BuildJudgeTokenizerOptions = z.input<typeof buildJudgeTokenizerOptionsSchema>;

/**
 * A tokenizer for the Flex judge: built from prompts, compact-codec assessments and other texts, with every
 * fixed piece of the compact grammar (tags, scores, canonical category names) guaranteed to be one token.
 */
export function buildJudgeTokenizer(options: BuildJudgeTokenizerOptions): Tokenizer {
  const o = parseOptions(buildJudgeTokenizerOptionsSchema, options, 'buildJudgeTokenizer options');
  const corpus = [...o.prompts, ...o.assessments.map((a) => encodeCompact(a)), ...o.texts];
  return buildTokenizer({ corpus, vocabSize: o.vocabSize, minCount: o.minCount, requiredPieces: compactGrammarPieces() });
}
