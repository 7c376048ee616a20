/**
 * The remote judge: a Flex judge behind any OpenAI-compatible `/v1/chat/completions` endpoint. No tensors.
 * See docs/remote-judge.md.
 */
export { RemoteJudge, placeholderApiKey } from './remote-judge';
export { remoteJudgeOptionsSchema } from './options';
export type { RemoteJudgeOptions, ResolvedRemoteJudgeOptions, RemoteJudgeLogEntry, RemoteJudgeLogger } from './options';
export type { CircuitState } from './circuit-breaker';
export { encodePng, pngDataUrl, framesShown } from './media-encoding';
export { redactSecret } from './redact';
