import {
  checkConsistency,
  parseAssessment,
  probabilityAFromScores,
  renderJudgeTemplate,
  type JudgeError,
  type JudgeRequest,
  type JudgeResult,
  type PairwiseAssessment,
  type ParseErrorCode,
  type PointwiseRequest,
  type PointwiseResult,
  type ProbabilityOptions,
} from '@flex/criteria';
import type { ChatMessage } from './chat-transport';

/**
 * The Flex side of the wire: the @flex/criteria templates out, the @flex/criteria tolerant parser and score
 * aggregation in. Nothing here is HTTP.
 */

/** How the judge is asked to write (the template's `format`) and shown images. */
export interface ProtocolSettings {
  /** `json` (the published format) or `compact` (docs/compact-codec.md). */
  readonly outputFormat: 'json' | 'compact';
  /** OpenAI image `detail`, when set. */
  readonly imageDetail?: 'auto' | 'low' | 'high' | undefined;
  /** How P(A wins) is computed from the scores. */
  readonly probability?: ProbabilityOptions | undefined;
  /** Frames per video (the URLs given are already subsampled to at most this many). */
  readonly framesPerVideo: number;
}

type Warning = { code: string; message: string; path?: string };

function templateOptions(settings: ProtocolSettings) {
  return {
    format: settings.outputFormat,
    framesPerVideo: settings.framesPerVideo,
    ...(settings.imageDetail !== undefined ? { imageDetail: settings.imageDetail } : {}),
  };
}

/**
 * The chat messages of a pairwise request: the criteria template, with candidate 1's images (or frames) then
 * candidate 2's first in the user message.
 */
export function pairwiseMessages(request: JudgeRequest, urls: { a: string[]; b: string[] }, settings: ProtocolSettings): ChatMessage[] {
  const media = request.modality === 'image' ? [urls.a[0] as string, urls.b[0] as string] : [urls.a, urls.b];
  const template = renderJudgeTemplate({ mode: 'pairwise', modality: request.modality, prompt: request.prompt, media, ...templateOptions(settings) });
  return template.messages as unknown as ChatMessage[];
}

/** The chat messages of a pointwise request: the criteria template, the candidate's image (or frames) first. */
export function pointwiseMessages(request: PointwiseRequest, urls: string[], settings: ProtocolSettings): ChatMessage[] {
  const media = request.modality === 'image' ? [urls[0] as string] : [urls];
  const template = renderJudgeTemplate({ mode: 'pointwise', modality: request.modality, prompt: request.prompt, media, ...templateOptions(settings) });
  return template.messages as unknown as ChatMessage[];
}

// Text that is not an assessment at all vs an assessment that breaks the schema.
const notReadable = new Set<ParseErrorCode>(['invalid_input', 'too_large', 'no_assessment', 'json_syntax']);

function parseFailure(code: ParseErrorCode, message: string, path: string | undefined, raw: string): { ok: false; error: JudgeError } {
  const where = path !== undefined ? ` at ${path}` : '';
  // Compact-codec decode codes are also "could not be read"; schema-level codes are "breaks the schema".
  const schemaLevel = ['not_an_object', 'missing_field', 'invalid_type', 'invalid_winner', 'tie', 'score_out_of_range', 'score_sum', 'wrong_mode', 'invalid_assessment'];
  const judgeCode: JudgeError['code'] = notReadable.has(code) || !schemaLevel.includes(code) ? 'parse_error' : 'invalid_assessment';
  return { ok: false, error: { code: judgeCode, message: `${code}${where}: ${message}`, raw } };
}

function warningsOf(parsed: readonly { code: string; message: string; path?: string }[], extra: Warning | undefined): Warning[] {
  const warnings: Warning[] = parsed.map((w) => (w.path !== undefined ? { code: w.code, message: w.message, path: w.path } : { code: w.code, message: w.message }));
  if (extra) warnings.push(extra);
  return warnings;
}

/**
 * Reads a pairwise answer: tolerant parse (an explicit tie is resolved from the scores, with a warning),
 * consistency warnings, and P(A wins) overall and per category from the scores.
 */
export function readPairwise(text: string, request: JudgeRequest, extraWarning: Warning | undefined, settings: ProtocolSettings): JudgeResult {
  const parsed = parseAssessment(text, { mode: 'pairwise', modality: request.modality, prompt: request.prompt, ties: 'resolve' });
  if (!parsed.ok) return parseFailure(parsed.error.code, parsed.error.message, parsed.error.path, text);
  const assessment: PairwiseAssessment = parsed.value;
  const { probabilityA, categoryProbabilityA } = probabilityAFromScores(assessment, settings.probability ?? {});
  const warnings = warningsOf([...parsed.warnings, ...checkConsistency(assessment, settings.probability ?? {})], extraWarning);
  return { ok: true, assessment, probabilityA, categoryProbabilityA, raw: text, ...(warnings.length > 0 ? { warnings } : {}) };
}

/** Reads a pointwise answer: tolerant parse; the score is the assessment's overall score (0–10). */
export function readPointwise(text: string, request: PointwiseRequest): PointwiseResult {
  const parsed = parseAssessment(text, { mode: 'pointwise', modality: request.modality, prompt: request.prompt });
  if (!parsed.ok) return parseFailure(parsed.error.code, parsed.error.message, parsed.error.path, text);
  return { ok: true, assessment: parsed.value, score: parsed.value.score, raw: text };
}
