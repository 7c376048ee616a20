import { afterEach, describe, expect, it } from 'vitest';
import { ChatTransport, type ChatTransportSettings } from './chat-transport';
import { startFaultServer, type Behaviour, type FaultServer } from './fault-server.test-helpers';
import type { RemoteJudgeLogEntry } from './options';

/**
 * Fault tests of the transport against a loopback server that misbehaves on purpose. Every behaviour is a
 * bounded script: the server answers request k with script[k] (the last entry repeats).
 */

const secret = 'sk-test-SECRET-4f9a1c2b7d';
const servers: FaultServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function startServer(script: Behaviour[]): Promise<FaultServer> {
  const server = await startFaultServer(script);
  servers.push(server);
  return server;
}

function transport(url: string, overrides: Partial<ChatTransportSettings> = {}, logs: RemoteJudgeLogEntry[] = []) {
  return new ChatTransport({
    baseUrl: url,
    model: 'judge',
    apiKey: secret,
    concurrency: 4,
    timeoutMs: 2000, // generous: only the tests about timeouts use short ones (2 shared cores can be busy)
    maxRetries: 3,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 40,
    maxRetryAfterMs: 1000,
    circuitFailureThreshold: 100,
    circuitCooldownMs: 1000,
    seed: 1,
    maxTokens: 256,
    maxTokensField: 'max_tokens',
    headers: {},
    logger: (entry) => logs.push(entry),
    ...overrides,
  });
}

const messages = [{ role: 'user' as const, content: 'judge this' }];

describe('ChatTransport against a misbehaving loopback server', () => {
  it('sends temperature 0, the model, the token limit and the key as a bearer token', async () => {
    const server = await startServer([{ kind: 'ok', text: 'fine' }]);
    const outcome = await transport(server.url).complete(messages, 'r0');
    expect(outcome).toMatchObject({ ok: true, value: { text: 'fine', finishReason: 'stop', attempts: 1 } });
    const body = server.requests[0]!.body;
    expect(body).toMatchObject({ model: 'judge', temperature: 0, max_tokens: 256, messages });
    expect(server.requests[0]!.authorization).toBe(`Bearer ${secret}`);
    expect(server.requests).toHaveLength(1); // the client's own retries are off
  });

  it('retries 500s and then succeeds', async () => {
    const server = await startServer([{ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'ok', text: 'third time' }]);
    const logs: RemoteJudgeLogEntry[] = [];
    const outcome = await transport(server.url, {}, logs).complete(messages, 'r1');
    expect(outcome).toMatchObject({ ok: true, value: { text: 'third time', attempts: 3 } });
    expect(server.requests).toHaveLength(3);
    expect(logs.filter((l) => l.event === 'request.retry').map((l) => l.status)).toEqual([500, 503]);
  });

  it('gives up after maxRetries with an http_error', async () => {
    const server = await startServer([{ kind: 'status', status: 502 }]);
    const outcome = await transport(server.url, { maxRetries: 2 }).complete(messages, 'r2');
    expect(outcome).toMatchObject({ ok: false, attempts: 3, error: { code: 'http_error' } });
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a 400 (the server is alive and refuses this request)', async () => {
    const server = await startServer([{ kind: 'status', status: 400 }, { kind: 'ok', text: 'never' }]);
    const outcome = await transport(server.url).complete(messages, 'r3');
    expect(outcome).toMatchObject({ ok: false, attempts: 1, error: { code: 'http_error' } });
    expect(server.requests).toHaveLength(1);
  });

  it('times out a slow server per attempt, retries, and never waits for the slow answer', async () => {
    const server = await startServer([{ kind: 'slow', ms: 30_000 }, { kind: 'ok', text: 'quick now' }]);
    const started = performance.now();
    const outcome = await transport(server.url, { timeoutMs: 300 }).complete(messages, 'r4');
    expect(outcome).toMatchObject({ ok: true, value: { text: 'quick now', attempts: 2 } });
    expect(performance.now() - started).toBeLessThan(10_000); // far below the 30 s the server would take
  });

  it('a server that is always too slow yields a timeout failure after every attempt timed out', async () => {
    const server = await startServer([{ kind: 'slow', ms: 30_000 }]);
    const started = performance.now();
    const outcome = await transport(server.url, { timeoutMs: 150, maxRetries: 2 }).complete(messages, 'r5');
    expect(outcome).toMatchObject({ ok: false, attempts: 3, error: { code: 'timeout' } });
    // On a busy machine an attempt can time out before its body even reached the server.
    expect(server.requests.length).toBeLessThanOrEqual(3);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('retries a malformed JSON body and a non-JSON body, then succeeds', async () => {
    const server = await startServer([{ kind: 'malformed' }, { kind: 'not-json' }, { kind: 'ok', text: 'proper' }]);
    const logs: RemoteJudgeLogEntry[] = [];
    const outcome = await transport(server.url, {}, logs).complete(messages, 'r6');
    expect(outcome).toMatchObject({ ok: true, value: { text: 'proper', attempts: 3 } });
    expect(logs.filter((l) => l.event === 'request.retry').every((l) => /malformed/.test(l.message))).toBe(true);
  });

  it('retries a reset connection and a socket destroyed mid-body', async () => {
    const server = await startServer([{ kind: 'reset' }, { kind: 'reset-mid-body' }, { kind: 'ok', text: 'survived' }]);
    const logs: RemoteJudgeLogEntry[] = [];
    const outcome = await transport(server.url, {}, logs).complete(messages, 'r7');
    expect(outcome).toMatchObject({ ok: true, value: { text: 'survived', attempts: 3 } });
    const retries = logs.filter((l) => l.event === 'request.retry');
    expect(retries).toHaveLength(2);
    expect(retries[0]!.message).toMatch(/connection failed/);
    expect(retries[1]!.message).toMatch(/connection dropped|terminated|malformed/);
  });

  it('a connection refused (nothing listening) is a retried http_error', async () => {
    const server = await startServer([{ kind: 'ok', text: 'x' }]);
    await server.close();
    const outcome = await transport(server.url, { maxRetries: 1 }).complete(messages, 'r8');
    expect(outcome).toMatchObject({ ok: false, attempts: 2, error: { code: 'http_error' } });
    expect(outcome.ok === false && outcome.error.message).toMatch(/connection/);
  });

  it('honours Retry-After on 429 (waits at least that long) and then succeeds', async () => {
    const server = await startServer([
      { kind: 'status', status: 429, headers: { 'retry-after': '0.15' } },
      { kind: 'ok', text: 'after the wait' },
    ]);
    const logs: RemoteJudgeLogEntry[] = [];
    const outcome = await transport(server.url, {}, logs).complete(messages, 'r9');
    expect(outcome).toMatchObject({ ok: true, value: { text: 'after the wait', attempts: 2 } });
    const [first, second] = server.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(140);
    expect(logs.find((l) => l.event === 'request.retry')).toMatchObject({ status: 429, delayMs: 150 });
  });

  it('a 429 asking for more than maxRetryAfterMs fails at once as rate_limited', async () => {
    const server = await startServer([{ kind: 'status', status: 429, headers: { 'retry-after': '120' } }]);
    const outcome = await transport(server.url, { maxRetryAfterMs: 500 }).complete(messages, 'r10');
    expect(outcome).toMatchObject({ ok: false, attempts: 1, error: { code: 'rate_limited' } });
    expect(outcome.ok === false && outcome.error.message).toMatch(/maxRetryAfterMs/);
    expect(server.requests).toHaveLength(1);
  });

  it('an empty answer is a model_error and is not retried', async () => {
    const server = await startServer([{ kind: 'ok', text: '' }]);
    const outcome = await transport(server.url).complete(messages, 'r11');
    expect(outcome).toMatchObject({ ok: false, attempts: 1, error: { code: 'model_error' } });
  });

  it('the circuit opens after consecutive failures and then refuses without touching the server', async () => {
    const server = await startServer([{ kind: 'status', status: 500 }]);
    const t = transport(server.url, { maxRetries: 1, circuitFailureThreshold: 3, circuitCooldownMs: 60_000, concurrency: 1 });
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await t.complete(messages, `c${i}`));
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['http_error', 'circuit_open', 'circuit_open', 'circuit_open']);
    expect(server.requests).toHaveLength(3);
    expect(t.circuit.state).toBe('open');
  });

  it('a half-open probe that succeeds closes the circuit again', async () => {
    const server = await startServer([{ kind: 'reset' }, { kind: 'reset' }, { kind: 'ok', text: 'back' }]);
    const t = transport(server.url, { maxRetries: 0, circuitFailureThreshold: 2, circuitCooldownMs: 100, concurrency: 1 });
    expect((await t.complete(messages, 'h0')).ok).toBe(false);
    expect((await t.complete(messages, 'h1')).ok).toBe(false);
    expect(await t.complete(messages, 'h2')).toMatchObject({ ok: false, error: { code: 'circuit_open' } });
    await new Promise((r) => setTimeout(r, 120));
    expect(await t.complete(messages, 'h3')).toMatchObject({ ok: true, value: { text: 'back' } });
    expect(t.circuit.state).toBe('closed');
    expect(server.requests).toHaveLength(3);
  });

  it('every one of many concurrent requests gets a result, with at most `concurrency` in flight', async () => {
    const script: Behaviour[] = [];
    // 6 faults in the first 12 arrivals: even if one request drew all of them, 8 retries get it through.
    for (let i = 0; i < 12; i++) script.push(i % 4 === 0 ? { kind: 'status', status: 500 } : i % 4 === 1 ? { kind: 'reset' } : { kind: 'ok', text: `a${i}` });
    script.push({ kind: 'ok', text: 'tail' });
    const server = await startServer(script);
    const t = transport(server.url, { concurrency: 3, maxRetries: 8 });
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => t.complete(messages, `m${i}`)));
    expect(outcomes).toHaveLength(30);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(server.requests).toHaveLength(30 + 6);
    expect(server.peakConcurrent).toBeLessThanOrEqual(3);
  });

  it('a caller abort ends pending and in-flight requests as aborted', async () => {
    const server = await startServer([{ kind: 'slow', ms: 10_000 }]);
    const t = transport(server.url, { concurrency: 1, timeoutMs: 5000 });
    const controller = new AbortController();
    const pending = [t.complete(messages, 'a0', controller.signal), t.complete(messages, 'a1', controller.signal)];
    setTimeout(() => controller.abort(), 30);
    const outcomes = await Promise.all(pending);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['aborted', 'aborted']);
  });

  it('never lets the key out: server echoes of the key and the Authorization header are redacted', async () => {
    const server = await startServer([{ kind: 'echo-auth', status: 500 }, { kind: 'echo-auth', status: 401 }]);
    const logs: RemoteJudgeLogEntry[] = [];
    const outcome = await transport(server.url, { maxRetries: 2 }, logs).complete(messages, 'k0');
    expect(outcome).toMatchObject({ ok: false, error: { code: 'http_error' } });
    const everything = JSON.stringify({ outcome, logs });
    expect(everything).toContain('bad auth header'); // the server's message is kept…
    expect(everything).not.toContain(secret); // …without the key
    expect(everything).toContain('[redacted]');
  });
});
