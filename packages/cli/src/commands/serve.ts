import type { Command } from 'commander';
import { z } from 'zod';
import type { Judge, PointwiseJudge } from '@flex/criteria';
import { CliError } from '../errors';
import { integerFlag, parseOptions } from '../options';
import { closeOnSignals, type SignalSource } from '../serve/signals';
import { createJudgeServer, isLoopbackHost, type JudgeServer } from '../serve/judge-server';

/** Options of {@link serveCheckpoint} (the `flex serve` flags). */
export const serveOptionsSchema = z.object({
  /** The judge checkpoint folder (a `flex-judge` checkpoint; a `bradley-terry` one serves pairwise only). */
  model: z.string().min(1, 'is required'),
  /** TCP port; 0 picks a free one. Default 8000. */
  port: z.coerce.number().int('must be an integer').min(0, 'must be at least 0').max(65535, 'must be at most 65535').default(8000),
  /** Interface to listen on. Default 127.0.0.1 (loopback). */
  host: z.string().min(1).default('127.0.0.1'),
  /** Most requests per judge call. Default 16. */
  maxBatch: integerFlag(1).default(16),
  /** How long a batch waits for more requests, ms. Default 10. */
  batchWindowMs: z.coerce.number().min(0, 'must be at least 0').default(10),
  /** Largest request body, MiB. Default 32. */
  maxBodyMb: z.coerce.number().positive('must be positive').default(32),
  /** Name clients send as `model`. Default: the checkpoint's name. */
  servedModelName: z.string().min(1).optional(),
  /** Require `Authorization: Bearer <key>`, the key read from this environment variable. Default: no authentication. */
  apiKeyEnv: z.string().min(1).optional(),
  /** No startup or shutdown lines. */
  quiet: z.boolean().default(false),
});
/** Input of {@link serveCheckpoint}. */
export type ServeCheckpointOptions = z.input<typeof serveOptionsSchema>;

/** Hooks of {@link serveCheckpoint} (tests, embedding). */
export interface ServeCheckpointHooks {
  /** Called once the server listens. */
  readonly onListening?: (server: JudgeServer) => void;
  /** Where SIGINT / SIGTERM come from. Default `process`. */
  readonly signalSource?: SignalSource;
  /** Where status lines go. Default stdout. */
  readonly write?: (line: string) => void;
}

/**
 * Loads a judge checkpoint with @flex/model and serves it with {@link createJudgeServer} until SIGINT or SIGTERM
 * (graceful: queued requests are judged and answered first; a second signal cuts connections). Resolves once the
 * server has closed.
 * @throws CheckpointError (missing, corrupt, wrong kind) and the listen error (EADDRINUSE, …).
 */
export async function serveCheckpoint(options: ServeCheckpointOptions, hooks: ServeCheckpointHooks = {}): Promise<void> {
  const o = serveOptionsSchema.parse(options);
  const write = hooks.write ?? ((line: string) => void process.stdout.write(line));
  const say = (line: string) => {
    if (!o.quiet) write(`${line}\n`);
  };
  if (o.apiKeyEnv !== undefined && !process.env[o.apiKeyEnv]) {
    throw new CliError('invalid_option', `--api-key-env: the environment variable ${o.apiKeyEnv} is not set`);
  }
  // Loaded on demand: every other `flex` command starts without TensorFlow.js.
  const { initBackend, loadCheckpoint } = await import('@flex/model');
  const backend = await initBackend();
  const { model, config } = await loadCheckpoint({ directory: o.model });
  let judge: Judge;
  let pointwiseJudge: PointwiseJudge | undefined;
  if (model.kind === 'flex-judge') {
    judge = { name: model.name, judge: (requests, callOptions) => model.judge(requests, { ...callOptions, batchSize: o.maxBatch }) };
    pointwiseJudge = { name: model.name, score: (requests, callOptions) => model.score(requests, { ...callOptions, batchSize: o.maxBatch }) };
  } else {
    judge = { name: model.name, judge: (requests, callOptions) => model.judge(requests, { ...callOptions, batchSize: o.maxBatch }) };
  }
  const server = await createJudgeServer({
    judge,
    ...(pointwiseJudge ? { pointwiseJudge } : {}),
    modelName: o.servedModelName ?? config.name,
    host: o.host,
    port: o.port,
    maxBatch: o.maxBatch,
    batchWindowMs: o.batchWindowMs,
    maxBodyBytes: Math.round(o.maxBodyMb * 1024 * 1024),
    countTokens: (text) => model.tokenizer.encode(text).length,
    ...(o.apiKeyEnv !== undefined ? { apiKeyEnvironmentVariable: o.apiKeyEnv } : {}),
  });
  const stopListening = closeOnSignals(server, {
    ...(hooks.signalSource ? { source: hooks.signalSource } : {}),
    onSignal: (signal, phase) =>
      say(phase === 'graceful' ? `${signal}: finishing in-flight requests, then closing (again to force)` : `${signal}: closing now`),
  });
  say(
    `flex serve: ${server.modelName} (${config.kind}, ${backend.backend} backend) on ${server.baseUrl} — max batch ${o.maxBatch}, window ${o.batchWindowMs} ms; Ctrl-C to stop`,
  );
  if (!isLoopbackHost(o.host) && o.apiKeyEnv === undefined) say(`warning: listening on ${o.host}, not loopback, with no authentication (see --api-key-env)`);
  hooks.onListening?.(server);
  try {
    await server.closed;
  } finally {
    stopListening();
    model.dispose();
  }
  const { completed, failed, batches, largestBatch } = server.stats;
  say(`flex serve: closed after ${completed} answers (${failed} errors) in ${batches} batches (largest ${largestBatch})`);
}

/** `flex serve`: serve a judge checkpoint over an OpenAI-compatible API (docs/serve.md). */
export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a judge checkpoint over an OpenAI-compatible API (POST /v1/chat/completions, GET /v1/models, GET /health)')
    .requiredOption('--model <dir>', 'judge checkpoint folder')
    .option('--port <p>', 'TCP port (0: any free port)', '8000')
    .option('--host <h>', 'interface to listen on (loopback unless told otherwise)', '127.0.0.1')
    .option('--max-batch <n>', 'most requests per judge call', '16')
    .option('--batch-window-ms <ms>', 'how long a batch waits for more requests', '10')
    .option('--max-body-mb <n>', 'largest request body in MiB', '32')
    .option('--served-model-name <name>', 'the model name clients send (default: the checkpoint name)')
    .option('--api-key-env <VAR>', 'require "Authorization: Bearer <key>", the key read from this environment variable')
    .option('--quiet', 'no status lines', false)
    .action(async (raw: Record<string, unknown>) => {
      await serveCheckpoint(parseOptions(serveOptionsSchema, raw));
    });
}
