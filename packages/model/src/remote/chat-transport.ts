import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, OpenAI } from 'openai';
import { z } from 'zod';
import type { JudgeError } from '@flex/criteria';
import { CircuitBreaker, type CircuitPermit } from './circuit-breaker';
import { ConcurrencyLimiter } from './limiter';
import type { RemoteJudgeLogEntry, RemoteJudgeLogger } from './options';
import { redactSecret } from './redact';
import { backoffDelayMs, retryAfterMs } from './retry-policy';

// Named imports only: they resolve the same from the ESM and the CJS build (a default import of a CJS
// module is the whole module object under Node's interop).

/**
 * The transport under the remote judge: one chat completion per call, through the official `openai` client
 * with ITS retries switched off (`maxRetries: 0`) so that this policy is the only one in force — bounded
 * concurrency, a hard per-attempt timeout, retries with seeded exponential backoff that honours
 * `Retry-After`, and a circuit breaker shared by every request. It never throws: every outcome is a value.
 */

/** A chat message as the OpenAI API takes it. */
export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** Settings of a {@link ChatTransport}, already validated. */
export interface ChatTransportSettings {
  readonly baseUrl: string;
  readonly model: string;
  /** The key sent as the bearer token. */
  readonly apiKey: string;
  /** Whether `apiKey` is a secret to redact (false for the public placeholder). Default true. */
  readonly redactApiKey?: boolean;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly maxRetryAfterMs: number;
  readonly circuitFailureThreshold: number;
  readonly circuitCooldownMs: number;
  readonly seed: number;
  readonly maxTokens: number;
  readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  readonly headers: Readonly<Record<string, string>>;
  readonly logger?: RemoteJudgeLogger | undefined;
  /** Monotonic clock for the circuit breaker, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** The text a server answered, with what it said about how the answer ended. */
export interface ChatAnswer {
  readonly text: string;
  /** `stop`, `length` (cut at the token limit), … as the server reports it. */
  readonly finishReason: string | null;
  /** Attempts it took (1 = first try). */
  readonly attempts: number;
}

/** The outcome of one chat call. */
export type ChatOutcome = { readonly ok: true; readonly value: ChatAnswer } | { readonly ok: false; readonly error: JudgeError; readonly attempts: number };

// Loose on purpose: servers add fields; only the parts read here are required.
const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable().optional() }).passthrough(),
        finish_reason: z.string().nullable().optional(),
      }).passthrough(),
    )
    .min(1),
}).passthrough();

/** How one attempt ended. `breaker` says what it proves about the server. */
type AttemptResult =
  | { kind: 'answer'; answer: Omit<ChatAnswer, 'attempts'> }
  | {
      kind: 'failure';
      error: JudgeError;
      retryable: boolean;
      breaker: 'success' | 'failure' | 'release';
      status?: number;
      retryAfterMs?: number;
    };

const maxMessageLength = 400;

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sends chat completions under one retry / timeout / circuit policy. */
export class ChatTransport {
  // ES private fields: unlike TypeScript `private`, they are invisible to util.inspect, console.log and
  // JSON.stringify, and the settings and the client both hold the key.
  readonly #settings: ChatTransportSettings;
  readonly #client: OpenAI;
  readonly #limiter: ConcurrencyLimiter;
  /** Shared by every request of this transport. */
  readonly circuit: CircuitBreaker;

  constructor(settings: ChatTransportSettings) {
    this.#settings = settings;
    this.#client = new OpenAI({
      apiKey: settings.apiKey,
      baseURL: settings.baseUrl,
      maxRetries: 0, // our policy (below) is the one in force
      timeout: settings.timeoutMs,
      logLevel: 'off', // the client's own log lines would bypass redaction; ours are redacted
      defaultHeaders: settings.headers,
    });
    this.#limiter = new ConcurrencyLimiter(settings.concurrency);
    this.circuit = new CircuitBreaker({
      failureThreshold: settings.circuitFailureThreshold,
      cooldownMs: settings.circuitCooldownMs,
      ...(settings.now ? { now: settings.now } : {}),
    });
  }

  /** Redacts the key from any text leaving this transport. */
  redact(text: string): string {
    return redactSecret(text, this.#settings.redactApiKey === false ? undefined : this.#settings.apiKey);
  }

  private log(entry: RemoteJudgeLogEntry): void {
    const logger = this.#settings.logger;
    if (!logger) return;
    try {
      logger({ ...entry, message: this.redact(entry.message) });
    } catch {
      // A throwing logger must not turn a judgement into an exception.
    }
  }

  private failure(code: JudgeError['code'], message: string, raw?: string): JudgeError {
    const clipped = message.length > maxMessageLength ? `${message.slice(0, maxMessageLength)}…` : message;
    const error: { code: JudgeError['code']; message: string; raw?: string } = { code, message: this.redact(clipped) };
    if (raw !== undefined) error.raw = this.redact(raw);
    return error;
  }

  /**
   * Sends `messages` (or what the thunk builds once a slot is free) and returns the answer's text, retrying
   * what is worth retrying. `key` identifies the request in logs and seeds its jitter. Never throws.
   */
  async complete(
    messages: readonly ChatMessage[] | (() => readonly ChatMessage[]),
    key: string,
    signal?: AbortSignal,
  ): Promise<ChatOutcome> {
    try {
      // A thunk is built inside the slot, so media are encoded only as fast as requests are sent.
      return await this.#limiter.run(() => this.completeWithRetries(typeof messages === 'function' ? messages() : messages, key, signal), signal);
    } catch (error) {
      if (signal?.aborted) return { ok: false, error: this.failure('aborted', 'aborted by the caller before it was sent'), attempts: 0 };
      return { ok: false, error: this.failure('model_error', `internal error: ${String(error)}`), attempts: 0 };
    }
  }

  private async completeWithRetries(messages: readonly ChatMessage[], key: string, signal?: AbortSignal): Promise<ChatOutcome> {
    let last: Extract<AttemptResult, { kind: 'failure' }> | undefined;
    for (let attempt = 0; attempt <= this.#settings.maxRetries; attempt++) {
      if (signal?.aborted) return { ok: false, error: this.failure('aborted', 'aborted by the caller'), attempts: attempt };
      const permit = this.circuit.tryAcquire();
      if (!permit) {
        const why = last ? `; last error: ${last.error.message}` : '';
        const error = this.failure('circuit_open', `circuit open after repeated server failures; next probe in ${Math.ceil(this.circuit.retryInMs)} ms${why}`);
        this.log({ level: 'warn', event: 'request.circuit_open', message: error.message, requestId: key, attempt });
        return { ok: false, error, attempts: attempt };
      }
      this.log({ level: 'debug', event: 'request.start', message: `sending request ${key} (attempt ${attempt})`, requestId: key, attempt });
      const result = await this.attempt(messages, permit, signal);
      if (result.kind === 'answer') {
        this.log({ level: 'debug', event: 'request.done', message: `request ${key} answered (attempt ${attempt})`, requestId: key, attempt });
        return { ok: true, value: { ...result.answer, attempts: attempt + 1 } };
      }
      last = result;
      const status = result.status !== undefined ? { status: result.status } : {};
      if (!result.retryable || attempt === this.#settings.maxRetries) {
        this.log({ level: 'error', event: 'request.failed', message: `request ${key} failed: ${result.error.message}`, requestId: key, attempt, ...status });
        return { ok: false, error: result.error, attempts: attempt + 1 };
      }
      let delayMs = backoffDelayMs(
        { baseDelayMs: this.#settings.retryBaseDelayMs, maxDelayMs: this.#settings.retryMaxDelayMs, seed: this.#settings.seed },
        key,
        attempt,
      );
      if (result.retryAfterMs !== undefined) {
        if (result.retryAfterMs > this.#settings.maxRetryAfterMs) {
          const error = this.failure(
            result.error.code,
            `${result.error.message}; the server asks to wait ${Math.round(result.retryAfterMs)} ms, more than maxRetryAfterMs (${this.#settings.maxRetryAfterMs} ms)`,
          );
          this.log({ level: 'error', event: 'request.failed', message: `request ${key} failed: ${error.message}`, requestId: key, attempt, ...status });
          return { ok: false, error, attempts: attempt + 1 };
        }
        delayMs = Math.round(result.retryAfterMs);
      }
      this.log({
        level: 'warn',
        event: 'request.retry',
        message: `request ${key} attempt ${attempt} failed (${result.error.message}); retrying in ${delayMs} ms`,
        requestId: key,
        attempt,
        delayMs,
        ...status,
      });
      if (!(await sleep(delayMs, signal))) return { ok: false, error: this.failure('aborted', 'aborted by the caller while waiting to retry'), attempts: attempt + 1 };
    }
    // Unreachable: the loop returns on its last attempt.
    return { ok: false, error: last ? last.error : this.failure('model_error', 'no attempt was made'), attempts: this.#settings.maxRetries + 1 };
  }

  private async attempt(messages: readonly ChatMessage[], permit: CircuitPermit, signal?: AbortSignal): Promise<AttemptResult> {
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error('timeout'));
        resolve('timeout');
      }, this.#settings.timeoutMs);
    });
    const body = {
      model: this.#settings.model,
      messages: messages as ChatMessage[],
      temperature: 0,
      [this.#settings.maxTokensField]: this.#settings.maxTokens,
    } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
    // The client's promise settles into a value here, so a late rejection after the race never goes unhandled.
    const call = this.#client.chat.completions
      .create(body, { signal: controller.signal, timeout: this.#settings.timeoutMs, maxRetries: 0 })
      .then(
        (value) => ({ value }) as const,
        (error: unknown) => ({ error }) as const,
      );
    let result: AttemptResult;
    try {
      const settled = await Promise.race([call, timedOut]);
      if (settled === 'timeout') {
        result = { kind: 'failure', error: this.failure('timeout', `no complete answer within ${this.#settings.timeoutMs} ms`), retryable: true, breaker: 'failure' };
      } else if ('error' in settled) {
        result = this.classify(settled.error, signal);
      } else {
        result = this.read(settled.value);
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
    }
    permit[result.kind === 'answer' ? 'success' : result.breaker]();
    return result;
  }

  private read(value: unknown): AttemptResult {
    const parsed = completionSchema.safeParse(value);
    if (!parsed.success) {
      const shown = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
      return {
        kind: 'failure',
        error: this.failure('http_error', 'malformed response body: not a chat completion', shown.slice(0, 2000)),
        retryable: true,
        breaker: 'failure',
      };
    }
    const choice = parsed.data.choices[0]!;
    const text = choice.message.content ?? '';
    const finishReason = choice.finish_reason ?? null;
    if (text.trim() === '') {
      return {
        kind: 'failure',
        error: this.failure('model_error', `the model returned no text (finish_reason: ${finishReason ?? 'none'})`),
        retryable: false,
        breaker: 'success',
      };
    }
    return { kind: 'answer', answer: { text, finishReason } };
  }

  private classify(error: unknown, signal?: AbortSignal): AttemptResult {
    if (signal?.aborted) return { kind: 'failure', error: this.failure('aborted', 'aborted by the caller'), retryable: false, breaker: 'release' };
    if (error instanceof APIConnectionTimeoutError) {
      return { kind: 'failure', error: this.failure('timeout', `no answer within ${this.#settings.timeoutMs} ms`), retryable: true, breaker: 'failure' };
    }
    if (error instanceof APIUserAbortError) {
      // Only our timer aborts besides the caller (checked above).
      return { kind: 'failure', error: this.failure('timeout', `no answer within ${this.#settings.timeoutMs} ms`), retryable: true, breaker: 'failure' };
    }
    if (error instanceof APIConnectionError) {
      const cause = error.cause instanceof Error ? `: ${describeCause(error.cause)}` : '';
      return { kind: 'failure', error: this.failure('http_error', `connection failed${cause}`), retryable: true, breaker: 'failure' };
    }
    if (error instanceof APIError && typeof error.status === 'number') {
      const status = error.status;
      const message = `HTTP ${status}: ${error.message}`;
      if (status === 429) {
        const wait = retryAfterMs(error.headers, Date.now());
        return {
          kind: 'failure',
          error: this.failure('rate_limited', message),
          retryable: true,
          breaker: 'release',
          status,
          ...(wait !== undefined ? { retryAfterMs: wait } : {}),
        };
      }
      if (status >= 500 || status === 408) {
        const wait = retryAfterMs(error.headers, Date.now());
        return {
          kind: 'failure',
          error: this.failure('http_error', message),
          retryable: true,
          breaker: 'failure',
          status,
          ...(wait !== undefined ? { retryAfterMs: wait } : {}),
        };
      }
      // 4xx: the server is alive and refuses this request; retrying would get the same answer.
      return { kind: 'failure', error: this.failure('http_error', message), retryable: false, breaker: 'success', status };
    }
    if (error instanceof SyntaxError) {
      return { kind: 'failure', error: this.failure('http_error', `malformed response body: ${error.message}`), retryable: true, breaker: 'failure' };
    }
    // A socket dropped while the body was read surfaces as a bare TypeError ("terminated") from fetch.
    return {
      kind: 'failure',
      error: this.failure('http_error', `connection dropped: ${describeCause(error)}`),
      retryable: true,
      breaker: 'failure',
    };
  }
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const inner = error.cause instanceof Error ? ` (${describeCause(error.cause)})` : '';
  return `${error.message}${typeof code === 'string' ? ` [${code}]` : ''}${inner}`;
}
