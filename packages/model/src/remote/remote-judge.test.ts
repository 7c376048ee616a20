import { PNG } from 'pngjs';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  evenlySpacedFrameIndices,
  predefinedCategories,
  probabilityAFromScores,
  type JudgeRequest,
  type Modality,
  type RgbImage,
  type Video,
} from '@flex/criteria';
import { InvalidOptionsError } from '../errors';
import { startFaultServer, type Behaviour, type FaultServer } from './fault-server.test-helpers';
import { RemoteJudge, type RemoteJudgeLogEntry, type RemoteJudgeOptions } from './index';

const secret = 'sk-live-TOPSECRET-91b2c3d4e5';
const servers: FaultServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function serve(script: Behaviour[] | ((body: any, index: number) => Behaviour)): Promise<FaultServer> {
  const server = await startFaultServer(script);
  servers.push(server);
  return server;
}

function image(width: number, height: number, value: (i: number) => number): RgbImage {
  return { width, height, data: Float32Array.from({ length: width * height * 3 }, (_, i) => value(i)) };
}
function video(frames: number): Video {
  return { fps: 8, frames: Array.from({ length: frames }, (_, f) => image(3, 2, (i) => ((f * 7 + i) % 11) / 10)) };
}

/** A well-formed published-format answer in which `winner` wins every criterion `split` to 10 − split. */
function pairwiseAnswer(modality: Modality, winner: 1 | 2, split = 7): string {
  const label = (slot: 1 | 2) => `${modality === 'image' ? 'Image' : 'Video'} ${slot}`;
  const s1 = winner === 1 ? split : 10 - split;
  return JSON.stringify({
    prompt: 'echo',
    categories: predefinedCategories[modality].map((c) => ({
      name: c.name,
      dims: ['first', 'second', 'third'].map((n) => ({ name: `${c.id} ${n}`, reason_1: 'seen in 1', reason_2: 'seen in 2', score_1: s1, score_2: 10 - s1 })),
      cat_reason: `${label(winner)} is better`,
      cat_winner: label(winner),
    })),
    reason: `${label(winner)} is better overall`,
    winner: label(winner),
  });
}

function pointwiseAnswer(score: number): string {
  return JSON.stringify({
    prompt: 'echo',
    categories: predefinedCategories.image.map((c) => ({
      name: c.name,
      dims: [{ name: `${c.id} criterion`, reason: 'visible', score }],
      cat_reason: 'as seen',
      cat_score: score,
    })),
    reason: 'overall',
    score,
  });
}

/** The text part of the user message (the prompt is quoted in it). */
function userText(body: any): string {
  const user = body.messages.find((m: any) => m.role === 'user');
  return user.content.find((p: any) => p.type === 'text').text;
}

function judgeFor(server: FaultServer, overrides: Partial<RemoteJudgeOptions> = {}, logs: RemoteJudgeLogEntry[] = []) {
  return new RemoteJudge({
    baseUrl: server.url,
    model: 'flex-judge',
    apiKeyEnvironmentVariable: 'FLEX_TEST_KEY',
    environment: { FLEX_TEST_KEY: secret },
    concurrency: 4,
    timeoutMs: 2000, // generous: only the tests about timeouts use short ones (2 shared cores can be busy)
    maxRetries: 3,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 40,
    logger: (entry) => logs.push(entry),
    ...overrides,
  });
}

const pair = (id: string, prompt = 'two red circles'): JudgeRequest => ({
  id,
  prompt,
  modality: 'image',
  a: image(4, 3, (i) => (i % 5) / 4),
  b: image(4, 3, (i) => (i % 3) / 2),
});

describe('RemoteJudge: what it sends and reads', () => {
  it('sends the criteria template with the two images first as PNG data URLs, at temperature 0', async () => {
    const server = await serve([{ kind: 'ok', text: pairwiseAnswer('image', 2) }]);
    const request = pair('p1');
    const [result] = await judgeFor(server).judge([request]);
    expect(result).toMatchObject({ ok: true, assessment: { winner: 'Image 2', prompt: 'two red circles' } });
    const body = server.requests[0]!.body;
    expect(body).toMatchObject({ model: 'flex-judge', temperature: 0, max_tokens: 4096 });
    expect(body.messages[0].role).toBe('system');
    const parts = body.messages[1].content;
    expect(parts.map((p: any) => p.type)).toEqual(['image_url', 'image_url', 'text']);
    expect(parts[2].text).toContain('"two red circles"');
    expect(parts[2].text).toContain('"Image 1"');
    // The first image part is candidate A, pixel for pixel (rounded to bytes).
    const png = PNG.sync.read(Buffer.from(parts[0].image_url.url.replace('data:image/png;base64,', ''), 'base64'));
    expect([png.width, png.height]).toEqual([4, 3]);
    const a = request.a as RgbImage;
    for (let pixel = 0; pixel < 12; pixel++) {
      for (let c = 0; c < 3; c++) expect(png.data[pixel * 4 + c]).toBe(Math.round(a.data[pixel * 3 + c]! * 255));
    }
  });

  it('P(A wins) and the per-category probabilities come from the scores', async () => {
    const answer = pairwiseAnswer('image', 1, 8);
    const server = await serve([{ kind: 'ok', text: answer }]);
    const [result] = await judgeFor(server).judge([pair('p2')]);
    if (!result!.ok) throw new Error(result!.error.message);
    const expected = probabilityAFromScores(result!.assessment);
    expect(result!.probabilityA).toBeCloseTo(expected.probabilityA, 12);
    expect(result!.probabilityA).toBeGreaterThan(0.9);
    expect(result!.categoryProbabilityA).toEqual(expected.categoryProbabilityA);
    expect(Object.keys(result!.categoryProbabilityA!)).toEqual(['A', 'B', 'C']);
    expect(result!.raw).toBe(answer);
  });

  it('sends 8 evenly spaced frames per video, video 1 first', async () => {
    const server = await serve([{ kind: 'ok', text: pairwiseAnswer('video', 1) }]);
    const a = video(20);
    const b = video(5);
    const [result] = await judgeFor(server).judge([{ prompt: 'a ball rolls left', modality: 'video', a, b }]);
    expect(result).toMatchObject({ ok: true, assessment: { winner: 'Video 1' } });
    const parts = server.requests[0]!.body.messages[1].content;
    expect(parts.filter((p: any) => p.type === 'image_url')).toHaveLength(8 + 5);
    const indices = evenlySpacedFrameIndices(20, 8);
    for (const k of [0, 3, 7]) {
      const png = PNG.sync.read(Buffer.from(parts[k].image_url.url.split(',')[1], 'base64'));
      const frame = a.frames[indices[k]!]!;
      expect(png.data[0]).toBe(Math.round(frame.data[0]! * 255));
      expect(png.data[5]).toBe(Math.round(frame.data[4]! * 255));
    }
    expect(parts.at(-1).text).toContain('Video 2');
  });

  it('garbage text from the model is a parse_error with the raw text kept, and is not retried', async () => {
    const server = await serve([{ kind: 'ok', text: 'I think both images are lovely! 🌈 {not json' }]);
    const [result] = await judgeFor(server).judge([pair('g')]);
    expect(result).toMatchObject({ ok: false, error: { code: 'parse_error', raw: 'I think both images are lovely! 🌈 {not json' } });
    expect(server.requests).toHaveLength(1);
  });

  it('a well-formed JSON answer that is not an assessment is invalid_assessment or parse_error, never a throw', async () => {
    const server = await serve([{ kind: 'ok', text: '{"categories": [{"name": "Semantic Alignment & Accuracy", "dims": "many"}], "winner": "Image 7"}' }]);
    const [result] = await judgeFor(server).judge([pair('x')]);
    expect(result!.ok).toBe(false);
    expect(['invalid_assessment', 'parse_error']).toContain(!result!.ok && result!.error.code);
  });

  it('a pointwise score() reads the overall score', async () => {
    const server = await serve([{ kind: 'ok', text: pointwiseAnswer(7) }]);
    const [result] = await judgeFor(server).score([{ prompt: 'a cat', modality: 'image', media: image(2, 2, () => 0.5) }]);
    expect(result).toMatchObject({ ok: true, score: 7 });
    const parts = server.requests[0]!.body.messages[1].content;
    expect(parts.map((p: any) => p.type)).toEqual(['image_url', 'text']);
  });

  it('the Teacher view (assess) judges like judge(), ignoring the record', async () => {
    const server = await serve([{ kind: 'ok', text: pairwiseAnswer('image', 1) }]);
    const judge = judgeFor(server);
    const [result] = await judge.assess([{ ...pair('t'), record: { anything: true } }]);
    expect(result).toMatchObject({ ok: true, assessment: { winner: 'Image 1' } });
    expect(judge.name).toBe('remote:flex-judge');
  });

  it('a malformed request is an invalid_request failure and is never sent', async () => {
    const server = await serve([{ kind: 'ok', text: pairwiseAnswer('image', 1) }]);
    const bad: JudgeRequest[] = [
      { ...pair('nan'), a: image(2, 2, (i) => (i === 4 ? Number.NaN : 0)) },
      { ...pair('mix'), modality: 'video' },
      { ...pair('size'), b: { width: 3, height: 3, data: new Float32Array(4) } },
      { ...pair('prompt'), prompt: '' },
    ];
    const results = await judgeFor(server).judge(bad);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['invalid_request', 'invalid_request', 'invalid_request', 'invalid_request']);
    expect(server.requests).toHaveLength(0);
  });
});

describe('RemoteJudge against a misbehaving server', () => {
  it('every request of a batch gets its own result, in order, through 500s, resets, timeouts, malformed bodies and 429s', async () => {
    // Each request's answer depends on its prompt, so a result handed to the wrong request would show.
    const faults: Behaviour[] = [
      { kind: 'status', status: 500 },
      { kind: 'reset' },
      { kind: 'malformed' },
      { kind: 'slow', ms: 30_000 },
      { kind: 'status', status: 429, headers: { 'retry-after': '0.03' } },
      { kind: 'reset-mid-body' },
    ];
    const server = await serve((body, index) => {
      if (index < 12) return faults[index % faults.length]!;
      const prompt = /Prompt: "([^"]*)"/.exec(userText(body))![1]!;
      return { kind: 'ok', text: pairwiseAnswer('image', prompt.endsWith('odd') ? 2 : 1) };
    });
    const logs: RemoteJudgeLogEntry[] = [];
    const requests = Array.from({ length: 16 }, (_, i) => pair(`r${i}`, `prompt ${i} ${i % 2 ? 'odd' : 'even'}`));
    const results = await judgeFor(server, { concurrency: 4, timeoutMs: 1000, maxRetries: 6, circuitFailureThreshold: 50 }, logs).judge(requests);
    expect(results).toHaveLength(16);
    results.forEach((result, i) => {
      expect(result).toMatchObject({ ok: true, assessment: { prompt: `prompt ${i} ${i % 2 ? 'odd' : 'even'}`, winner: i % 2 ? 'Image 2' : 'Image 1' } });
    });
    expect(logs.filter((l) => l.event === 'request.retry').length).toBeGreaterThanOrEqual(12);
    expect(server.requests.length).toBe(16 + 12);
  });

  it('a server that is always too slow: every request ends as a timeout within its bound, none hangs', async () => {
    const server = await serve([{ kind: 'slow', ms: 30_000 }]);
    const started = performance.now();
    const results = await judgeFor(server, { timeoutMs: 60, maxRetries: 1, circuitFailureThreshold: 100 }).judge([pair('s1'), pair('s2'), pair('s3')]);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['timeout', 'timeout', 'timeout']);
    expect(performance.now() - started).toBeLessThan(10_000); // bounded by attempts × timeout + backoff, far below 30 s
  });

  it('a dead server opens the circuit: the batch ends quickly with typed failures and the server stops being hit', async () => {
    const server = await serve([{ kind: 'status', status: 503 }]);
    const judge = judgeFor(server, { concurrency: 2, maxRetries: 2, circuitFailureThreshold: 4, circuitCooldownMs: 60_000 });
    const results = await judge.judge(Array.from({ length: 20 }, (_, i) => pair(`d${i}`)));
    const codes = results.map((r) => (r.ok ? 'ok' : r.error.code));
    expect(codes.every((c) => c === 'http_error' || c === 'circuit_open')).toBe(true);
    expect(codes.filter((c) => c === 'circuit_open').length).toBeGreaterThanOrEqual(15);
    expect(server.requests.length).toBeLessThanOrEqual(4 + 2); // threshold, plus attempts already in flight
    expect(judge.circuitState).toBe('open');
  });

  it('200 concurrent requests: none lost, none duplicated, at most `concurrency` in flight', async () => {
    const server = await serve((body) => {
      const prompt = /Prompt: "([^"]*)"/.exec(userText(body))![1]!;
      return { kind: 'ok', text: pairwiseAnswer('image', Number(prompt.split(' ')[1]) % 3 === 0 ? 2 : 1), delayMs: 2 };
    });
    const requests = Array.from({ length: 200 }, (_, i) => pair(`c${i}`, `prompt ${i}`));
    const results = await judgeFor(server, { concurrency: 8, timeoutMs: 2000 }).judge(requests);
    expect(results).toHaveLength(200);
    results.forEach((r, i) => expect(r).toMatchObject({ ok: true, assessment: { prompt: `prompt ${i}`, winner: i % 3 === 0 ? 'Image 2' : 'Image 1' } }));
    expect(server.requests).toHaveLength(200);
    const prompts = new Set(server.requests.map((r) => /Prompt: "([^"]*)"/.exec(userText(r.body))![1]));
    expect(prompts.size).toBe(200);
    expect(server.peakConcurrent).toBeLessThanOrEqual(8);
    expect(server.peakConcurrent).toBeGreaterThan(1);
  });

  it('an abort mid-batch ends every unfinished request as aborted', async () => {
    const server = await serve([{ kind: 'ok', text: pairwiseAnswer('image', 1) }, { kind: 'slow', ms: 30_000 }]);
    const controller = new AbortController();
    const judge = judgeFor(server, { concurrency: 1, timeoutMs: 10_000 });
    const pending = judge.judge([pair('a0'), pair('a1'), pair('a2')], { signal: controller.signal });
    // Abort once the second request is in flight at the server (the first has then been answered).
    const poll = setInterval(() => {
      if (server.requests.length >= 2) {
        clearInterval(poll);
        controller.abort();
      }
    }, 2);
    const results = await pending;
    clearInterval(poll);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'aborted', 'aborted']);
  });
});

describe('RemoteJudge and the API key', () => {
  it('never lets the key out, in any log line, error message or raw text, even when the server echoes it', async () => {
    const server = await serve((_body, index) =>
      index % 3 === 0 ? { kind: 'echo-auth', status: 500 } : index % 3 === 1 ? { kind: 'echo-auth', status: 401 } : { kind: 'ok', text: `my key is ${secret}, not an assessment` },
    );
    const logs: RemoteJudgeLogEntry[] = [];
    const judge = judgeFor(server, { maxRetries: 1 }, logs);
    const results = [...(await judge.judge([pair('k1'), pair('k2'), pair('k3')])), ...(await judge.score([{ prompt: 'p', modality: 'image', media: image(1, 1, () => 0) }]))];
    expect(server.requests.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true); // the key was really sent
    expect(results.every((r) => !r.ok)).toBe(true);
    const strings = [...logs.map((l) => JSON.stringify(l)), ...results.map((r) => JSON.stringify(r))];
    expect(strings.length).toBeGreaterThan(5);
    for (const s of strings) expect(s).not.toContain(secret);
    expect(strings.some((s) => s.includes('[redacted]'))).toBe(true);
    expect(JSON.stringify(judge.options)).not.toContain(secret);
    // Logging the judge object itself (a common debugging reflex) shows no key either.
    expect(inspect(judge, { depth: null, showHidden: true })).not.toContain(secret);
    expect(JSON.stringify(judge)).not.toContain(secret);
  });

  it('sends the placeholder when the variable is unset, and throws naming the variable when a key is required', async () => {
    const server = await serve([{ kind: 'ok', text: pairwiseAnswer('image', 1) }]);
    const judge = new RemoteJudge({ baseUrl: server.url, model: 'm', apiKeyEnvironmentVariable: 'NOPE_KEY', environment: {} });
    await judge.judge([pair('e')]);
    expect(server.requests[0]!.authorization).toBe('Bearer EMPTY');
    expect(() => new RemoteJudge({ baseUrl: server.url, model: 'm', apiKeyEnvironmentVariable: 'NOPE_KEY', environment: {}, apiKeyRequired: true })).toThrow(/NOPE_KEY/);
  });

  it('validates its options with typed errors', () => {
    expect(() => new RemoteJudge({ baseUrl: 'not a url', model: 'm' })).toThrow(InvalidOptionsError);
    expect(() => new RemoteJudge({ baseUrl: 'ftp://127.0.0.1/v1', model: 'm' })).toThrow(/baseUrl/);
    expect(() => new RemoteJudge({ baseUrl: 'http://127.0.0.1:1/v1', model: '' })).toThrow(/model/);
    expect(() => new RemoteJudge({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm', concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new RemoteJudge({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKey: 'sk-x' } as never)).toThrow(InvalidOptionsError);
  });
});
