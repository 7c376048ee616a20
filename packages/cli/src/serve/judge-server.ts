import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Judge, JudgeRequest, JudgeResult, PointwiseJudge, PointwiseRequest, PointwiseResult } from '@flex/criteria';
import { readJudgeCall, type JudgeCall } from './chat-request';
import { approximateTokenCount, completionFor, type JudgeOutcome } from './completion';
import { openAiErrorBody, type ServeHttpError } from './http-error';
import { MicroBatcher, MicroBatcherError } from './micro-batcher';

/**
 * `createJudgeServer`: any @flex/criteria `Judge` (and optionally a `PointwiseJudge`) behind an OpenAI-compatible
 * HTTP API — `POST /v1/chat/completions` (the remote judge's requests), `GET /v1/models`, `GET /health` — with
 * concurrent requests micro-batched into one `judge.judge(batch)` call. See docs/serve.md.
 */

const isJudge = (value: unknown): value is Judge =>
  typeof value === 'object' && value !== null && typeof (value as Judge).judge === 'function' && typeof (value as Judge).name === 'string';
const isPointwiseJudge = (value: unknown): value is PointwiseJudge =>
  typeof value === 'object' && value !== null && typeof (value as PointwiseJudge).score === 'function' && typeof (value as PointwiseJudge).name === 'string';

/** Options of {@link createJudgeServer}. */
export const judgeServerOptionsSchema = z.strictObject({
  /** The pairwise judge served (a Flex model, a Bradley–Terry model, a remote judge…). */
  judge: z.custom<Judge>(isJudge, 'must be a Judge (an object with a name and a judge() method)'),
  /** The pointwise judge for pointwise templates; without it those requests get a 400. */
  pointwiseJudge: z.custom<PointwiseJudge>(isPointwiseJudge, 'must be a PointwiseJudge (an object with a name and a score() method)').optional(),
  /** The model name clients send and `/v1/models` lists; another name gets a 404. */
  modelName: z.string().min(1),
  /** Interface to listen on. Default `127.0.0.1` (loopback only): the server has no authentication. */
  host: z.string().min(1).default('127.0.0.1'),
  /** TCP port; 0 picks a free one (read it from `server.port`). Default 8000. */
  port: z.number().int().min(0).max(65535).default(8000),
  /** Largest request body, in bytes; larger gets a 413. Default 32 MiB. */
  maxBodyBytes: z.number().int().min(1024).default(32 * 1024 * 1024),
  /** Most pixels per image (width × height), checked from the PNG header before decoding. Default 4,194,304 (2048²). */
  maxImagePixels: z.number().int().min(1).default(2048 * 2048),
  /** Most frames per video candidate (the templates allow 64). Default 64. */
  maxFramesPerCandidate: z.number().int().min(1).max(64).default(64),
  /** Frame rate given to decoded videos. Default 8. */
  videoFps: z.number().positive().default(8),
  /** Most requests per judge call. Default 16. */
  maxBatch: z.number().int().min(1).default(16),
  /** How long a batch waits for more requests, in ms. Default 10. */
  batchWindowMs: z.number().min(0).default(10),
  /** Most requests waiting for a batch; more get a 503 `queue_full`. Default 1024. */
  maxQueue: z.number().int().min(1).default(1024),
  /** Judge calls running at once. Default 1 (a local model gains nothing from more). */
  concurrency: z.number().int().min(1).default(1),
  /** Counts tokens for `usage`. Default {@link approximateTokenCount}. */
  countTokens: z.custom<(text: string) => number>((value) => typeof value === 'function', 'must be a function').optional(),
  /** `created` of `/v1/models` and of completions, in Unix seconds. Default: when the server was created. */
  created: z.number().int().min(0).optional(),
  /** How long {@link JudgeServer.close} waits for in-flight work before cutting connections, in ms. Default 60 000. */
  shutdownTimeoutMs: z.number().int().min(0).default(60_000),
  /**
   * Require `Authorization: Bearer <key>` on every `/v1` route, the key read from this environment variable
   * (never passed in code; the variable must be set). Default: no authentication (fine on loopback only).
   */
  apiKeyEnvironmentVariable: z.string().min(1).optional(),
  /** Where the variable is read. Default `process.env`. */
  environment: z.record(z.string(), z.string().optional()).optional(),
  /** Receives one entry per notable event (`listening`, `batch`, `judge_failed`, `closing`, `closed`). Default none. */
  logger: z.custom<(entry: JudgeServerLogEntry) => void>((value) => typeof value === 'function', 'must be a function').optional(),
});
/** Input of {@link createJudgeServer}. */
export type JudgeServerOptions = z.input<typeof judgeServerOptionsSchema>;

/** A log entry of the judge server. */
export interface JudgeServerLogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly event: 'listening' | 'batch' | 'judge_failed' | 'closing' | 'closed';
  readonly message: string;
}

/** Counters of a running server. */
export interface JudgeServerStats {
  /** Chat completion requests received. */
  readonly requests: number;
  /** Answered with 200. */
  readonly completed: number;
  /** Answered with an error status. */
  readonly failed: number;
  /** Judge calls made (each over one batch). */
  readonly batches: number;
  /** Largest batch so far. */
  readonly largestBatch: number;
  /** Requests waiting for a batch now. */
  readonly queued: number;
  /** Judge calls running now. */
  readonly running: number;
}

/** A listening judge server. */
export interface JudgeServer {
  /** `http://host:port`. */
  readonly url: string;
  /** `http://host:port/v1`: what OpenAI clients take as `baseURL`. */
  readonly baseUrl: string;
  readonly host: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly modelName: string;
  /** Live counters. */
  readonly stats: JudgeServerStats;
  /**
   * Graceful shutdown: stop accepting connections, answer 503 to new requests on open connections, run every
   * queued request in final batches, answer them, then close. After `timeoutMs` (default the server's
   * `shutdownTimeoutMs`) the judge's signal is aborted and every connection is cut. Idempotent.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
  /** Resolves once the server has closed (by {@link JudgeServer.close} or a signal handler). */
  readonly closed: Promise<void>;
}

type Item = JudgeCall;

/**
 * Starts a judge server and resolves once it listens.
 * @param options See {@link judgeServerOptionsSchema}.
 * @throws ServeOptionsError when the options are invalid; the listen error (EADDRINUSE, …) when binding fails.
 */
export async function createJudgeServer(options: JudgeServerOptions): Promise<JudgeServer> {
  const parsed = judgeServerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ServeOptionsError(`invalid judge server options: ${parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const { environment, ...o } = parsed.data;
  let keyDigest: Buffer | undefined;
  if (o.apiKeyEnvironmentVariable !== undefined) {
    const key = (environment ?? process.env)[o.apiKeyEnvironmentVariable];
    if (key === undefined || key === '') throw new ServeOptionsError(`invalid judge server options: the environment variable ${o.apiKeyEnvironmentVariable} is not set`);
    // Only a digest is kept: the key itself is in no field, log line or error.
    keyDigest = createHash('sha256').update(key).digest();
  }
  const created = o.created ?? Math.floor(Date.now() / 1000);
  const countTokens = o.countTokens ?? approximateTokenCount;
  const log = (entry: JudgeServerLogEntry) => o.logger?.(entry);
  const limits = { maxImagePixels: o.maxImagePixels, maxFramesPerCandidate: o.maxFramesPerCandidate, videoFps: o.videoFps };
  const counters = { requests: 0, completed: 0, failed: 0, sequence: 0 };
  let closing = false;

  const batcher = new MicroBatcher<Item, JudgeOutcome>({
    maxBatch: o.maxBatch,
    windowMs: o.batchWindowMs,
    maxQueue: o.maxQueue,
    concurrency: o.concurrency,
    onBatch: (size) => log({ level: 'info', event: 'batch', message: `judging a batch of ${size}` }),
    run: (items, signal) => runBatch(items, signal),
  });

  async function runBatch(items: Item[], signal: AbortSignal): Promise<JudgeOutcome[]> {
    const outcomes: JudgeOutcome[] = new Array(items.length);
    const pairwise = items.flatMap((item, index) => (item.mode === 'pairwise' ? [{ index, request: item.request }] : []));
    const pointwise = items.flatMap((item, index) => (item.mode === 'pointwise' ? [{ index, request: item.request }] : []));
    if (pairwise.length > 0) {
      const results = await guarded(() => o.judge.judge(pairwise.map((p) => p.request as JudgeRequest), { signal }), pairwise.length, o.judge.name);
      pairwise.forEach((p, k) => (outcomes[p.index] = { result: results[k] as JudgeResult, batchSize: pairwise.length }));
    }
    if (pointwise.length > 0) {
      const scorer = o.pointwiseJudge as PointwiseJudge; // requests are refused before queueing without one
      const results = await guarded(() => scorer.score(pointwise.map((p) => p.request as PointwiseRequest), { signal }), pointwise.length, scorer.name);
      pointwise.forEach((p, k) => (outcomes[p.index] = { result: results[k] as PointwiseResult, batchSize: pointwise.length }));
    }
    return outcomes;
  }

  // A judge that throws or miscounts breaks its contract: every request of the call gets a model_error.
  async function guarded<R extends JudgeResult | PointwiseResult>(call: () => Promise<R[]>, count: number, name: string): Promise<R[]> {
    let message: string;
    try {
      const results = await call();
      if (Array.isArray(results) && results.length === count) return results;
      message = `judge ${name} returned ${Array.isArray(results) ? results.length : 'no'} results for ${count} requests`;
    } catch (error) {
      message = `judge ${name} threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    log({ level: 'error', event: 'judge_failed', message });
    return Array.from({ length: count }, () => ({ ok: false, error: { code: 'model_error', message } }) as R);
  }

  const app = Fastify({ bodyLimit: o.maxBodyBytes, logger: false, return503OnClosing: false, forceCloseConnections: 'idle' });

  const sendError = (reply: FastifyReply, error: ServeHttpError) => {
    counters.failed++;
    return reply.code(error.status).send(openAiErrorBody(error));
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    if (request.url.startsWith('/v1/chat/completions')) counters.requests++;
    return sendError(reply, { status: 503, type: 'overloaded_error', code: 'shutting_down', message: 'the server is shutting down' });
  });
  if (keyDigest !== undefined) {
    const expected = keyDigest;
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/v1/')) return;
      const header = request.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (timingSafeEqual(createHash('sha256').update(token).digest(), expected)) return;
      return sendError(reply, { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', message: 'missing or wrong API key (Authorization: Bearer …)' });
    });
  }
  // While closing, keep-alive connections are closed after their last answer so the server can finish.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) return sendError(reply, { status, type: 'invalid_request_error', code: 'request_too_large', message: `the request body exceeds the limit of ${o.maxBodyBytes} bytes` });
    if (status === 415) return sendError(reply, { status, type: 'invalid_request_error', code: 'unsupported_media_type', message: 'the body must be application/json' });
    if (status >= 400 && status < 500) return sendError(reply, { status: 400, type: 'invalid_request_error', code: 'invalid_json', message: `the body is not valid JSON: ${error.message}` });
    log({ level: 'error', event: 'judge_failed', message: `internal error: ${error.message}` });
    return sendError(reply, { status: 500, type: 'server_error', code: 'model_error', message: 'internal server error' });
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, { status: 404, type: 'not_found_error', code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]} (POST /v1/chat/completions, GET /v1/models, GET /health)` }),
  );

  const modelEntry = () => ({ id: o.modelName, object: 'model' as const, created, owned_by: 'flex' });
  app.get('/v1/models', async () => ({ object: 'list', data: [modelEntry()] }));
  app.get<{ Params: { model: string } }>('/v1/models/:model', async (request, reply) => {
    if (request.params.model !== o.modelName) return sendError(reply, modelNotFound(request.params.model, o.modelName));
    return modelEntry();
  });
  app.get('/health', async () => {
    const { queued, running, batches } = batcher.stats;
    return { status: 'ok', model: o.modelName, judge: o.judge.name, pointwise: o.pointwiseJudge !== undefined, queued, running, batches };
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    counters.requests++;
    const read = readJudgeCall(request.body, limits);
    if (!read.ok) return sendError(reply, read.error);
    if (read.model !== o.modelName) return sendError(reply, modelNotFound(read.model, o.modelName));
    const { call } = read;
    if (call.mode === 'pointwise' && o.pointwiseJudge === undefined) {
      return sendError(reply, { status: 400, type: 'invalid_request_error', code: 'pointwise_unavailable', message: `model ${o.modelName} serves pairwise judgements only; this is a pointwise template` });
    }
    // A client that hangs up while its request waits for a batch takes it out of the queue.
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    let outcome: JudgeOutcome;
    try {
      outcome = await batcher.submit(call, gone.signal);
    } catch (error) {
      if (error instanceof MicroBatcherError) {
        if (error.code === 'queue_full') return sendError(reply, { status: 503, type: 'overloaded_error', code: 'queue_full', message: `the server is overloaded: ${error.message}` });
        if (error.code === 'closed') return sendError(reply, { status: 503, type: 'overloaded_error', code: 'shutting_down', message: error.message });
        if (error.code === 'cancelled') return sendError(reply, { status: 499 as number, type: 'invalid_request_error', code: 'invalid_request', message: 'the client closed the connection' });
      }
      return sendError(reply, { status: 500, type: 'server_error', code: 'model_error', message: `the judge failed: ${error instanceof Error ? error.message : String(error)}` });
    }
    const answer = completionFor(call, outcome, {
      id: `chatcmpl-flex-${++counters.sequence}`,
      created,
      model: o.modelName,
      judgeName: call.mode === 'pairwise' ? o.judge.name : (o.pointwiseJudge as PointwiseJudge).name,
      countTokens,
    });
    if (!answer.ok) return sendError(reply, answer.error);
    counters.completed++;
    return reply.code(200).send(answer.completion);
  });

  await app.listen({ host: o.host, port: o.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${hostForUrl}:${port}`;
  log({ level: 'info', event: 'listening', message: `serving ${o.modelName} (judge ${o.judge.name}) on ${url}/v1` });

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closePromise: Promise<void> | undefined;
  let forceTimer: NodeJS.Timeout | undefined;
  let forced!: () => void;
  const forcedPromise = new Promise<void>((resolve) => (forced = resolve));
  const forceAfter = (timeoutMs: number) => {
    if (forceTimer) clearTimeout(forceTimer);
    forceTimer = setTimeout(() => {
      batcher.abort();
      app.server.closeAllConnections();
      forced();
    }, timeoutMs);
  };

  const close = (closeOptions: { timeoutMs?: number } = {}): Promise<void> => {
    // A second call with a timeout (a second Ctrl-C: timeoutMs 0) shortens the wait.
    if (closePromise) {
      if (closeOptions.timeoutMs !== undefined) forceAfter(closeOptions.timeoutMs);
      return closePromise;
    }
    closing = true;
    log({ level: 'info', event: 'closing', message: `closing: ${batcher.stats.queued} queued, ${batcher.stats.running} running` });
    forceAfter(closeOptions.timeoutMs ?? o.shutdownTimeoutMs);
    closePromise = (async () => {
      try {
        // The queue is flushed at once; fastify stops listening and waits for in-flight answers. A forced close
        // does not wait for a judge call still running (its answers have nowhere to go).
        const appClosed = app.close();
        await Promise.race([Promise.all([batcher.close(), appClosed]), forcedPromise.then(() => appClosed)]);
      } finally {
        clearTimeout(forceTimer);
        log({ level: 'info', event: 'closed', message: 'closed' });
        resolveClosed();
      }
    })();
    return closePromise;
  };

  return {
    url,
    baseUrl: `${url}/v1`,
    host: o.host,
    port,
    modelName: o.modelName,
    get stats(): JudgeServerStats {
      const { queued, running, batches, largestBatch } = batcher.stats;
      return { requests: counters.requests, completed: counters.completed, failed: counters.failed, batches, largestBatch, queued, running };
    },
    close,
    closed,
  };
}

function modelNotFound(asked: string, served: string): ServeHttpError {
  return { status: 404, type: 'invalid_request_error', code: 'model_not_found', message: `the model ${JSON.stringify(asked)} does not exist here; this server serves ${JSON.stringify(served)}`, param: 'model' };
}

const serveOptionsErrorMarker = Symbol.for('flex.cli.serve-options-error');

/** Invalid options given to {@link createJudgeServer} (`code: 'invalid_options'`). */
export class ServeOptionsError extends Error {
  override readonly name = 'ServeOptionsError';
  /** Stable code. */
  readonly code = 'invalid_options' as const;
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, serveOptionsErrorMarker, { value: true });
  }

  /** True for a ServeOptionsError from any copy of this package. */
  static isInstance(error: unknown): error is ServeOptionsError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[serveOptionsErrorMarker] === true;
  }
}

/** True for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
