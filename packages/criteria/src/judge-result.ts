import { z } from 'zod';
import { probabilityAFromScores, probabilityOptionsSchema } from './aggregate';
import type { JudgeError, JudgeResult, PointwiseResult } from './judge';
import { type ParseAssessmentOptions, type ParseError, type ParseErrorCode, parseAssessment } from './parse';
import { assignCategoryIds } from './categories';
import { modalityOfAssessment, slotOfWinner } from './schemas';

/** Parse error codes that mean "the text could not be read" (the rest mean "read, but not a valid assessment"). */
const unreadable: ReadonlySet<ParseErrorCode> = new Set<ParseErrorCode>([
  'invalid_input',
  'too_large',
  'no_assessment',
  'json_syntax',
  'empty',
  'unexpected_line',
  'missing_line',
  'field_count',
  'trailing_content',
]);

/**
 * Maps a {@link ParseError} to the {@link JudgeError} of the Judge contract: unreadable text → `parse_error`,
 * malformed options → `invalid_request`, everything else → `invalid_assessment`. The message keeps the parse
 * code, path and line.
 * @param error The parse error.
 * @param raw The raw judge output, kept on the error.
 */
export function toJudgeError(error: ParseError, raw?: string): JudgeError {
  const code = error.code === 'invalid_options' ? 'invalid_request' : unreadable.has(error.code) ? 'parse_error' : 'invalid_assessment';
  const where = [error.path, error.line !== undefined ? `line ${error.line}` : undefined].filter(Boolean).join(', ');
  return { code, message: `${error.code}: ${error.message}${where !== '' ? ` (${where})` : ''}`, ...(raw !== undefined ? { raw } : {}) };
}

/** Options of {@link judgeResultFromText}: those of parseAssessment (pairwise) plus how to get P(A wins). */
export type JudgeResultFromTextOptions = Omit<ParseAssessmentOptions<'pairwise'>, 'mode'> & {
  /**
   * 'scores' (default): P(A) from the criterion scores ({@link probabilityAFromScores}); 'winner': 1 or 0 from the
   * overall winner (per category from the category winners).
   */
  readonly probability?: 'scores' | 'winner';
  /** Options of the score formula (temperature, weights). */
  readonly probabilityOptions?: z.input<typeof probabilityOptionsSchema>;
};

/**
 * Reads a pairwise judge's raw text as a {@link JudgeResult}: the parsed assessment, P(A wins) overall and per
 * category id, the raw text and the parser's warnings; or a typed failure (never a thrown exception for a bad
 * output). This is what a text-producing judge (remote or local) returns per request.
 * @param text The judge's raw output.
 * @param options Parse options (modality, prompt, …) and the probability source.
 */
export function judgeResultFromText(text: string, options: JudgeResultFromTextOptions): JudgeResult {
  const { probability = 'scores', probabilityOptions, ...parseOptions } = options;
  const parsed = parseAssessment(text, { ...parseOptions, mode: 'pairwise' });
  if (!parsed.ok) return { ok: false, error: toJudgeError(parsed.error, typeof text === 'string' ? text : undefined) };
  const assessment = parsed.value;
  const base = { ok: true as const, assessment, raw: text, warnings: parsed.warnings };
  if (probability === 'winner') {
    const ids = assignCategoryIds(
      assessment.categories.map((c) => c.name),
      modalityOfAssessment(assessment),
    );
    const categoryProbabilityA = Object.fromEntries(assessment.categories.map((c, index) => [ids[index] as string, slotOfWinner(c.cat_winner) === 1 ? 1 : 0]));
    return { ...base, probabilityA: slotOfWinner(assessment.winner) === 1 ? 1 : 0, categoryProbabilityA };
  }
  const fromScores = probabilityAFromScores(assessment, probabilityOptions);
  return { ...base, probabilityA: fromScores.probabilityA, categoryProbabilityA: fromScores.categoryProbabilityA };
}

/**
 * Reads a pointwise judge's raw text as a {@link PointwiseResult}: the parsed assessment and its overall score
 * (0–10), or a typed failure (never a thrown exception for a bad output).
 * @param text The judge's raw output.
 * @param options Parse options (modality, prompt, …); the mode is pointwise.
 */
export function pointwiseResultFromText(text: string, options: Omit<ParseAssessmentOptions<'pointwise'>, 'mode'>): PointwiseResult {
  const parsed = parseAssessment(text, { ...options, mode: 'pointwise' });
  if (!parsed.ok) return { ok: false, error: toJudgeError(parsed.error, typeof text === 'string' ? text : undefined) };
  return { ok: true, assessment: parsed.value, score: parsed.value.score, raw: text };
}
