import { probabilityOptionsSchema } from '@flex/criteria';
import { z } from 'zod';

/** One log line of the remote judge. Every string in it has been through secret redaction. */
export interface RemoteJudgeLogEntry {
  /** Severity. */
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** Stable event name: `request.start`, `request.retry`, `request.failed`, `request.done`, `circuit.open`, … */
  readonly event: string;
  /** Human-readable line (redacted). */
  readonly message: string;
  /** The request's id (the caller's, or its index in the batch). */
  readonly requestId?: string;
  /** Attempt number, 0 for the first try. */
  readonly attempt?: number;
  /** HTTP status, when there was a response. */
  readonly status?: number;
  /** Wait before the next attempt, in milliseconds. */
  readonly delayMs?: number;
}

/** Receives the remote judge's log lines. The default drops them (a library does not print). */
export type RemoteJudgeLogger = (entry: RemoteJudgeLogEntry) => void;

/**
 * Options of {@link RemoteJudge}. The API key is deliberately NOT an option: it is read from the environment
 * variable named by `apiKeyEnvironmentVariable`, so it never sits in a config file, a CLI history or a
 * serialized options object.
 */
export const remoteJudgeOptionsSchema = z
  .object({
    /** Base URL of the OpenAI-compatible API, including `/v1` (e.g. `http://127.0.0.1:8000/v1`). Required. */
    baseUrl: z.url({ protocol: /^https?$/, error: 'baseUrl must be an http(s) URL such as http://127.0.0.1:8000/v1' }),
    /** Model name sent in every request (e.g. `CodeGoat24/UnifiedReward-Flex-qwen35-9b`). Required. */
    model: z.string().min(1),
    /** Judge name reported by `name`. Default `remote:<model>`. */
    name: z.string().min(1).optional(),
    /** Name of the environment variable holding the API key. Default `OPENAI_API_KEY`. */
    apiKeyEnvironmentVariable: z.string().min(1).default('OPENAI_API_KEY'),
    /**
     * Whether a missing key is a construction error. Default false: local servers (vLLM, `flex serve`) need
     * none, and the placeholder `EMPTY` is sent instead.
     */
    apiKeyRequired: z.boolean().default(false),
    /** Where environment variables are read. Default `process.env`. */
    environment: z.record(z.string(), z.string().optional()).optional(),
    /** Requests in flight at once, across every call on this judge. Default 4. */
    concurrency: z.number().int().min(1).max(1024).default(4),
    /** Per-attempt timeout, in milliseconds (connect, wait and read the whole body). Default 120 000. */
    timeoutMs: z.number().int().min(1).default(120_000),
    /** Retries after the first attempt on 429, 5xx, timeouts, dropped connections and malformed bodies. Default 3. */
    maxRetries: z.number().int().min(0).max(20).default(3),
    /** Backoff scale of the first retry, in milliseconds (doubles each retry, with seeded jitter). Default 500. */
    retryBaseDelayMs: z.number().min(0).default(500),
    /** Upper bound of a computed backoff delay, in milliseconds. Default 20 000. */
    retryMaxDelayMs: z.number().min(0).default(20_000),
    /**
     * Longest `Retry-After` the judge will honour, in milliseconds; a server asking for more gets a
     * `rate_limited` failure at once instead of a stalled batch. Default 60 000.
     */
    maxRetryAfterMs: z.number().min(0).default(60_000),
    /** Consecutive failed attempts (timeouts, dropped connections, 5xx) that open the circuit. Default 5. */
    circuitFailureThreshold: z.number().int().min(1).default(5),
    /** How long an open circuit refuses attempts before one probe is let through, in milliseconds. Default 30 000. */
    circuitCooldownMs: z.number().min(0).default(30_000),
    /** Seed of the retry jitter. Default 0. */
    seed: z.number().int().default(0),
    /** Frames shown per video, evenly spaced (the published judge sees 8). Default 8. */
    framesPerVideo: z.number().int().min(1).max(64).default(8),
    /**
     * What the judge is asked to write: `json` (the published Flex JSON; what UnifiedReward-Flex checkpoints and
     * closed models produce) or `compact` (docs/compact-codec.md; for small Flex models). Both are parsed by the
     * same tolerant parser. Default `json`.
     */
    outputFormat: z.enum(['json', 'compact']).default('json'),
    /** OpenAI image `detail` sent with every image part (`auto`, `low`, `high`). Default: not sent. */
    imageDetail: z.enum(['auto', 'low', 'high']).optional(),
    /**
     * How P(A wins) is computed from the assessment's scores (criteria's `probabilityAFromScores`: temperature,
     * category weights). Default: that function's defaults.
     */
    probability: probabilityOptionsSchema.optional(),
    /** Upper bound of generated tokens per answer. Default 4096. */
    maxTokens: z.number().int().min(1).default(4096),
    /**
     * Request field that carries `maxTokens`: `max_tokens` (vLLM, most servers) or `max_completion_tokens`
     * (OpenAI's reasoning models). Default `max_tokens`.
     */
    maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
    /** Extra HTTP headers sent with every request. Default none. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Receives every log line (already redacted). Default: none. */
    logger: z.custom<RemoteJudgeLogger>((value) => typeof value === 'function', 'logger must be a function').optional(),
  })
  .strict();

/** Options accepted by {@link RemoteJudge} (before defaults). */
export type RemoteJudgeOptions = z.input<typeof remoteJudgeOptionsSchema>;
/** Options of {@link RemoteJudge} with every default applied. */
export type ResolvedRemoteJudgeOptions = z.output<typeof remoteJudgeOptionsSchema>;
