import { encodeCompact, type JudgeError, type JudgeResult, type PointwiseResult } from '@flex/criteria';
import type { JudgeCall } from './chat-request';
import type { ServeHttpError } from './http-error';

/**
 * From a judge's result to the HTTP answer: an OpenAI `chat.completion` whose message content is the Flex
 * assessment (in the format the template asked for), or an error in OpenAI's shape.
 *
 * | judge result | answer |
 * |---|---|
 * | success | 200, content = the assessment (published JSON, or the compact form when the template asked for it) |
 * | failure with the model's text (`parse_error`, `invalid_assessment`) | 200, content = that raw text, `flex.error` set: the client's tolerant parser decides, as with any OpenAI-compatible server |
 * | `invalid_request` | 400 (the judge refused the media) |
 * | `aborted` | 503 `shutting_down` |
 * | `timeout`, `http_error`, `rate_limited`, `circuit_open` (a served judge that is itself remote) | 502 `upstream_error` |
 * | `model_error`, or a failure with no text | 500 `model_error` |
 */

/** What the batch runner hands back for one request. */
export interface JudgeOutcome {
  readonly result: JudgeResult | PointwiseResult;
  /** How many requests shared the judge call that produced this result. */
  readonly batchSize: number;
}

/** The `chat.completion` object (OpenAI's shape) plus the `flex` extension. */
export interface ChatCompletion {
  readonly id: string;
  readonly object: 'chat.completion';
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
  readonly choices: readonly [
    {
      readonly index: 0;
      readonly message: { readonly role: 'assistant'; readonly content: string; readonly refusal: null };
      readonly logprobs: null;
      readonly finish_reason: 'stop' | 'length';
    },
  ];
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number };
  /** Flex's own fields (ignored by OpenAI clients): what the judge computed beyond the text. */
  readonly flex: FlexCompletionExtension;
}

/** The `flex` field of a completion. */
export interface FlexCompletionExtension {
  /** The served judge's name. */
  readonly judge: string;
  /** Requests in the judge call that produced this answer. */
  readonly batch_size: number;
  /** Pairwise: P(candidate 1 wins) as the judge computed it (a Flex model: its winner-token probability). */
  readonly probability_a?: number;
  /** Pairwise: the same per category id. */
  readonly category_probability_a?: Readonly<Record<string, number>>;
  /** Pointwise: the overall score, 0–10. */
  readonly score?: number;
  /** Repairs or notes from the judge. */
  readonly warnings?: readonly { code: string; message: string; path?: string }[];
  /** Set when the content is the raw text of a failed judgement. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** Context of one answer. */
export interface CompletionContext {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly judgeName: string;
  readonly countTokens: (text: string) => number;
}

/** The HTTP answer to one judged request. */
export type CompletionAnswer = { readonly ok: true; readonly completion: ChatCompletion } | { readonly ok: false; readonly error: ServeHttpError };

const upstreamCodes: ReadonlySet<JudgeError['code']> = new Set(['timeout', 'http_error', 'rate_limited', 'circuit_open']);

/** Turns one judge outcome into the HTTP answer (see the table in the module comment). */
export function completionFor(call: JudgeCall, outcome: JudgeOutcome, context: CompletionContext): CompletionAnswer {
  const { result, batchSize } = outcome;
  const base = { judge: context.judgeName, batch_size: batchSize };
  if (result.ok) {
    const content = call.format === 'json' ? JSON.stringify(result.assessment) : encodeCompact(result.assessment, { modality: call.request.modality });
    const warnings = 'warnings' in result ? result.warnings : undefined;
    const truncated = warnings?.some((w) => w.code === 'length' || w.code === 'truncated') ?? false;
    const extension: FlexCompletionExtension =
      'probabilityA' in result
        ? {
            ...base,
            probability_a: result.probabilityA,
            ...(result.categoryProbabilityA !== undefined ? { category_probability_a: result.categoryProbabilityA } : {}),
            ...(warnings !== undefined && warnings.length > 0 ? { warnings } : {}),
          }
        : { ...base, score: result.score };
    return { ok: true, completion: completion(call, content, truncated ? 'length' : 'stop', extension, context) };
  }
  const { code, message, raw } = result.error;
  if ((code === 'parse_error' || code === 'invalid_assessment') && raw !== undefined) {
    return { ok: true, completion: completion(call, raw, 'stop', { ...base, error: { code, message } }, context) };
  }
  if (code === 'invalid_request') return { ok: false, error: { status: 400, type: 'invalid_request_error', code: 'invalid_request', message: `the judge refused the request: ${message}` } };
  if (code === 'aborted') return { ok: false, error: { status: 503, type: 'overloaded_error', code: 'shutting_down', message: `the judgement was stopped: ${message}` } };
  if (upstreamCodes.has(code)) return { ok: false, error: { status: 502, type: 'upstream_error', code: 'upstream_error', message: `the served judge failed upstream (${code}): ${message}` } };
  return { ok: false, error: { status: 500, type: 'server_error', code: 'model_error', message: `the judge failed (${code}): ${message}` } };
}

function completion(call: JudgeCall, content: string, finishReason: 'stop' | 'length', extension: FlexCompletionExtension, context: CompletionContext): ChatCompletion {
  const promptTokens = context.countTokens(call.request.prompt);
  const completionTokens = context.countTokens(content);
  return {
    id: context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finishReason }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    flex: extension,
  };
}

/**
 * The default token count when the served judge has no tokenizer: words, numbers and single punctuation marks
 * (an approximation; `flex serve` counts with the checkpoint's tokenizer).
 */
export function approximateTokenCount(text: string): number {
  return text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0;
}
