/**
 * `flex serve`: a Flex judge behind an OpenAI-compatible API. See docs/serve.md.
 */
export { createJudgeServer, judgeServerOptionsSchema, ServeOptionsError, isLoopbackHost } from './judge-server';
export type { JudgeServer, JudgeServerOptions, JudgeServerStats, JudgeServerLogEntry } from './judge-server';
export { readJudgeCall, chatCompletionRequestSchema } from './chat-request';
export type { JudgeCall, ReadJudgeCallResult, ChatRequestLimits, ChatCompletionRequestBody } from './chat-request';
export { completionFor, approximateTokenCount } from './completion';
export type { ChatCompletion, FlexCompletionExtension, JudgeOutcome, CompletionAnswer, CompletionContext } from './completion';
export { decodePngDataUrl } from './png-data-url';
export type { PngLimits, DecodePngResult } from './png-data-url';
export { MicroBatcher, MicroBatcherError } from './micro-batcher';
export type { MicroBatcherOptions, MicroBatcherStats, MicroBatcherErrorCode } from './micro-batcher';
export { openAiErrorBody, badRequest } from './http-error';
export type { ServeHttpError, ServeErrorCode, ServeErrorType } from './http-error';
export { closeOnSignals } from './signals';
export type { Closable, SignalSource, CloseOnSignalsOptions } from './signals';
