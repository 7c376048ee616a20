import type {
  Judge,
  JudgeCallOptions,
  JudgeError,
  JudgeRequest,
  JudgeResult,
  Media,
  PointwiseJudge,
  PointwiseRequest,
  PointwiseResult,
  RgbImage,
  Teacher,
  TeacherRequest,
} from '@flex/criteria';
import { InvalidOptionsError, parseOptions } from '../errors';
import { ChatTransport, type ChatMessage, type ChatOutcome } from './chat-transport';
import type { CircuitState } from './circuit-breaker';
import { describeMediaProblem, framesShown, pngDataUrl } from './media-encoding';
import { remoteJudgeOptionsSchema, type RemoteJudgeOptions, type ResolvedRemoteJudgeOptions } from './options';
import { pairwiseMessages, pointwiseMessages, readPairwise, readPointwise, type ProtocolSettings } from './protocol';

/** The key sent when the environment has none and none is required (vLLM's documented placeholder). */
export const placeholderApiKey = 'EMPTY';

/**
 * A Flex judge behind any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM serving a published
 * UnifiedReward-Flex checkpoint, `flex serve`, or a closed vision model used as the teacher).
 *
 * Implements {@link Judge} (pairwise), {@link Teacher} (distillation; the record is ignored) and
 * {@link PointwiseJudge}. Each request is sent with the @flex/criteria template, its media first as base64
 * PNG data URLs (8 evenly spaced frames per video), at temperature 0; the answer goes through the criteria
 * tolerant parser. Every failure — bad request, timeout, HTTP error, rate limit, open circuit, unreadable
 * answer, caller abort — is a typed `JudgeResult` failure, never an exception. The API key is read from the
 * environment and redacted from every log line and error message.
 */
export class RemoteJudge implements Judge, Teacher, PointwiseJudge {
  /** `remote:<model>` unless the options name it. */
  readonly name: string;
  /** The resolved options (without the logger and the environment; the key is never stored here). */
  readonly options: Readonly<Omit<ResolvedRemoteJudgeOptions, 'logger' | 'environment'>>;
  // ES private: the transport holds the key, and must not show in console.log / util.inspect / JSON.
  readonly #transport: ChatTransport;
  private readonly protocol: ProtocolSettings;
  // Pairs in a GRPO group share candidates: each image is encoded once.
  private readonly dataUrls = new WeakMap<RgbImage, string>();

  /**
   * @throws InvalidOptionsError when the options fail validation, or when `apiKeyRequired` is true and the
   * environment variable is unset (the message names the variable, never a value).
   */
  constructor(options: RemoteJudgeOptions) {
    const resolved = parseOptions(remoteJudgeOptionsSchema, options, 'RemoteJudge options');
    const { logger, environment, ...rest } = resolved;
    const env = environment ?? process.env;
    const key = env[resolved.apiKeyEnvironmentVariable];
    if ((key === undefined || key === '') && resolved.apiKeyRequired) {
      throw new InvalidOptionsError(
        `invalid RemoteJudge options: the environment variable ${resolved.apiKeyEnvironmentVariable} is not set and apiKeyRequired is true`,
      );
    }
    this.options = rest;
    this.protocol = {
      outputFormat: rest.outputFormat,
      framesPerVideo: rest.framesPerVideo,
      imageDetail: rest.imageDetail,
      probability: rest.probability,
    };
    this.name = resolved.name ?? `remote:${resolved.model}`;
    this.#transport = new ChatTransport({
      ...rest,
      apiKey: key !== undefined && key !== '' ? key : placeholderApiKey,
      // The placeholder is public; redacting it would only garble messages that happen to contain it.
      redactApiKey: key !== undefined && key !== '',
      logger,
    });
  }

  /** The circuit breaker's state: `closed` (normal), `open` (refusing), `half-open` (next attempt probes). */
  get circuitState(): CircuitState {
    return this.#transport.circuit.state;
  }

  /** Judges each pair; one result per request, in order. Never rejects. */
  async judge(requests: readonly JudgeRequest[], options: JudgeCallOptions = {}): Promise<JudgeResult[]> {
    return Promise.all(requests.map((request, index) => this.judgeOne(request, index, options.signal)));
  }

  /** The {@link Teacher} view: the same as {@link RemoteJudge.judge}; the producer's record is ignored. */
  async assess(requests: readonly TeacherRequest[], options: JudgeCallOptions = {}): Promise<JudgeResult[]> {
    return this.judge(requests, options);
  }

  /** Scores each candidate alone (0–10); one result per request, in order. Never rejects. */
  async score(requests: readonly PointwiseRequest[], options: JudgeCallOptions = {}): Promise<PointwiseResult[]> {
    return Promise.all(requests.map((request, index) => this.scoreOne(request, index, options.signal)));
  }

  private frameUrls(media: Media): string[] {
    return framesShown(media, this.options.framesPerVideo).map((frame) => {
      let url = this.dataUrls.get(frame);
      if (url === undefined) {
        url = pngDataUrl(frame);
        this.dataUrls.set(frame, url);
      }
      return url;
    });
  }

  private async judgeOne(request: JudgeRequest, index: number, signal?: AbortSignal): Promise<JudgeResult> {
    try {
      const problem = describeRequestProblem(request, ['a', 'b']);
      if (problem) return failure('invalid_request', problem);
      const key = requestKey(request, index);
      const outcome = await this.#transport.complete(
        (): ChatMessage[] => pairwiseMessages(request, { a: this.frameUrls(request.a), b: this.frameUrls(request.b) }, this.protocol),
        key,
        signal,
      );
      if (!outcome.ok) return { ok: false, error: outcome.error };
      return this.redactResult(readPairwise(outcome.value.text, request, truncationWarning(outcome), this.protocol));
    } catch (error) {
      return failure('model_error', this.#transport.redact(`internal error: ${String(error)}`));
    }
  }

  private async scoreOne(request: PointwiseRequest, index: number, signal?: AbortSignal): Promise<PointwiseResult> {
    try {
      const problem = describeRequestProblem(request, ['media']);
      if (problem) return failure('invalid_request', problem);
      const key = requestKey(request, index);
      const outcome = await this.#transport.complete((): ChatMessage[] => pointwiseMessages(request, this.frameUrls(request.media), this.protocol), key, signal);
      if (!outcome.ok) return { ok: false, error: outcome.error };
      return this.redactResult(readPointwise(outcome.value.text, request));
    } catch (error) {
      return failure('model_error', this.#transport.redact(`internal error: ${String(error)}`));
    }
  }

  // The model's own text is echoed in results (raw, messages): a server could make it contain the key.
  private redactResult<T extends JudgeResult | PointwiseResult>(result: T): T {
    if (result.ok) return result.raw === undefined ? result : { ...result, raw: this.#transport.redact(result.raw) };
    const error: { code: JudgeError['code']; message: string; raw?: string } = { code: result.error.code, message: this.#transport.redact(result.error.message) };
    if (result.error.raw !== undefined) error.raw = this.#transport.redact(result.error.raw);
    return { ok: false, error } as T;
  }
}

function failure(code: JudgeError['code'], message: string): { ok: false; error: JudgeError } {
  return { ok: false, error: { code, message } };
}

function requestKey(request: { id?: string }, index: number): string {
  return typeof request.id === 'string' && request.id !== '' ? request.id : `#${index}`;
}

function truncationWarning(outcome: Extract<ChatOutcome, { ok: true }>): { code: string; message: string } | undefined {
  return outcome.value.finishReason === 'length'
    ? { code: 'truncated', message: 'the answer was cut at maxTokens (finish_reason: length)' }
    : undefined;
}

/** Why a request cannot be sent, or undefined. */
function describeRequestProblem(request: unknown, mediaFields: readonly string[]): string | undefined {
  if (request === null || typeof request !== 'object') return 'the request is not an object';
  const { prompt, modality } = request as { prompt?: unknown; modality?: unknown };
  if (typeof prompt !== 'string' || prompt.trim() === '') return 'prompt must be a non-empty string';
  if (modality !== 'image' && modality !== 'video') return `modality must be 'image' or 'video', got ${JSON.stringify(modality)}`;
  for (const field of mediaFields) {
    const problem = describeMediaProblem((request as Record<string, unknown>)[field], modality, field);
    if (problem) return problem;
  }
  return undefined;
}
