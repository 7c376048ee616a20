import { EventEmitter } from 'node:events';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAI, BadRequestError } from 'openai';
import { parseAssessment, renderJudgeTemplate } from '@flex/criteria';
import { initBackend, pngDataUrl, RemoteJudge, type FlexJudgeModel } from '@flex/model';
import { closeOnSignals, createJudgeServer, ServeOptionsError, type JudgeServer } from './index';
import { byteImage, byteVideo, chatBody, deferred, imagePair, post, recordingJudge, servedTinyJudge, tinyFlexJudge } from './test-helpers';

describe('flex serve with a tiny untrained Flex judge', () => {
  let model: FlexJudgeModel;
  let served: ReturnType<typeof servedTinyJudge>;
  let server: JudgeServer;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    model = tinyFlexJudge(3);
    served = servedTinyJudge(model);
    server = await createJudgeServer({ judge: served, pointwiseJudge: served, modelName: 'tiny-flex', port: 0, countTokens: (text) => model.tokenizer.encode(text).length });
  });
  afterAll(async () => {
    await server?.close();
    model?.dispose();
  });

  it('listens on loopback and answers /health and /v1/models', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', model: 'tiny-flex', judge: 'flex', pointwise: true });
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'EMPTY', maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-flex']);
  });

  it('the official openai client gets a parseable Flex assessment back', async () => {
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'EMPTY', maxRetries: 0 });
    const request = imagePair(1);
    const completion = await client.chat.completions.create(chatBody(request) as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('tiny-flex');
    const content = completion.choices[0]!.message.content!;
    const parsed = parseAssessment(content, { mode: 'pairwise', modality: 'image', prompt: request.prompt });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.warnings).toEqual([]); // published JSON, nothing to repair
    expect(parsed.value.categories.length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(content).prompt).toBe(request.prompt);
    expect(completion.usage!.prompt_tokens).toBe(model.tokenizer.encode(request.prompt).length);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(10);
    const flex = (completion as unknown as { flex: { batch_size: number; probability_a: number } }).flex;
    expect(flex.batch_size).toBe(1);
    expect(flex.probability_a).toBeGreaterThanOrEqual(0);
    expect(flex.probability_a).toBeLessThanOrEqual(1);
  });

  it('answers a compact-format template in the compact form', async () => {
    const request = imagePair(2);
    const { status, json } = await post(server.url, chatBody(request, { format: 'compact', extensions: false }));
    expect(status).toBe(200);
    const content: string = json.choices[0].message.content;
    expect(content.startsWith('{')).toBe(false);
    const check = parseAssessment(content, { mode: 'pairwise', modality: 'image', prompt: request.prompt, format: 'compact' });
    expect(check.ok, JSON.stringify({ content, check })).toBe(true);
    expect(parseAssessment(content, { mode: 'pairwise', modality: 'image', prompt: request.prompt, format: 'compact' }).ok).toBe(true);
  });

  it('RemoteJudge round-trips: the same assessments as the model judged in-process, pairwise image and video, and pointwise', async () => {
    // Concurrency 1: every batch is a single request, so the server computes exactly what the model does alone.
    const remote = new RemoteJudge({ baseUrl: server.baseUrl, model: 'tiny-flex', concurrency: 1, maxRetries: 0, environment: {} });
    const requests = [imagePair(4), imagePair(5), { id: 'v', prompt: 'a ball rolls left', modality: 'video' as const, a: byteVideo(1, 5), b: byteVideo(2, 3) }];
    const remoteResults = await remote.judge(requests);
    for (const [index, request] of requests.entries()) {
      const result = remoteResults[index]!;
      expect(result.ok, JSON.stringify(result)).toBe(true);
      if (!result.ok) continue;
      const [local] = await served.judge([request]);
      expect(local!.ok).toBe(true);
      if (local!.ok) expect(result.assessment).toEqual(local!.assessment);
    }
    const media = byteImage(9);
    const [scored] = await remote.score([{ prompt: 'three green triangles', modality: 'image', media }]);
    const [localScore] = await served.score([{ prompt: 'three green triangles', modality: 'image', media }]);
    expect(scored!.ok).toBe(true);
    if (scored!.ok && localScore!.ok) expect(scored!.score).toBe(localScore!.score);
  });
});

describe('batching, validation, failures and shutdown (fake judges)', () => {
  const servers: JudgeServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close({ timeoutMs: 1000 })));
  });
  const start = async (options: Partial<Parameters<typeof createJudgeServer>[0]> & Pick<Parameters<typeof createJudgeServer>[0], 'judge'>) => {
    const server = await createJudgeServer({ modelName: 'tiny-flex', port: 0, ...options });
    servers.push(server);
    return server;
  };

  it('batches concurrent requests into one judge call, each answer matched to its request', async () => {
    const { judge, calls } = recordingJudge();
    const server = await start({ judge, maxBatch: 8, batchWindowMs: 5_000 });
    const requests = Array.from({ length: 8 }, (_, i) => imagePair(20 + i));
    const answers = await Promise.all(requests.map((r) => post(server.url, chatBody(r))));
    expect(calls).toEqual([8]);
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.json.choices[0].message.content).prompt).toBe(requests[i]!.prompt);
      expect(answer.json.flex.batch_size).toBe(8);
    });
    expect(new Set(answers.map((a) => a.json.id)).size).toBe(8);
  });

  it('rejects bad requests with 400 (404, 413) and a clear message in OpenAI error shape', async () => {
    const { judge, calls } = recordingJudge();
    const server = await start({ judge, maxBodyBytes: 200_000, maxImagePixels: 64 * 64 });
    const good = chatBody(imagePair(1));
    const user = good.messages[1] as unknown as { content: any[] };
    const withContent = (content: unknown[]) => ({ ...good, messages: [good.messages[0], { role: 'user', content }] });
    const [imageA, imageB, text] = user.content;
    const corrupt = pngDataUrl(byteImage(3)).replace(/.{12}$/, 'AAAAAAAAAAAA');
    const big = pngDataUrl(byteImage(4, 80));
    const video = chatBody({ prompt: 'a ball rolls left', modality: 'video', a: byteVideo(1, 2), b: byteVideo(2, 2) });
    const videoUser = video.messages[1] as unknown as { content: any[] };
    const cases: [string, unknown, number, string, RegExp][] = [
      ['not JSON', '{"model": ', 400, 'invalid_json', /not valid JSON/],
      ['no messages', { model: 'tiny-flex' }, 400, 'invalid_request', /messages/],
      ['one message', { ...good, messages: [good.messages[0]] }, 400, 'invalid_messages', /\[system, user\]/],
      ['wrong part type', withContent([imageA, { type: 'input_audio', input_audio: { data: '', format: 'wav' } }, text]), 400, 'invalid_content_part', /input_audio/],
      ['text before the images', withContent([text, imageA, imageB]), 400, 'invalid_content_part', /last part/],
      ['missing text', withContent([imageA, imageB]), 400, 'missing_text', /no text part/],
      ['a JPEG data URL', withContent([{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }, imageB, text]), 400, 'unsupported_image', /image\/jpeg/],
      ['a remote URL', withContent([{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }, imageB, text]), 400, 'unsupported_image', /not fetched/],
      ['broken base64', withContent([{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@@' } }, imageB, text]), 400, 'unreadable_image', /base64/],
      ['not a PNG', withContent([{ type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from('GIF89a not a png at all, really not').toString('base64')}` } }, imageB, text]), 400, 'unreadable_image', /not a PNG/],
      ['a corrupt PNG', withContent([{ type: 'image_url', image_url: { url: corrupt } }, imageB, text]), 400, 'unreadable_image', /cannot be decoded/],
      ['an image above the pixel limit', withContent([{ type: 'image_url', image_url: { url: big } }, imageB, text]), 400, 'image_too_large', /80×80/],
      ['three images for a pairwise image template', withContent([imageA, imageB, imageB, text]), 400, 'frame_count_mismatch', /exactly 2/],
      ['frames missing from a video', { ...video, messages: [video.messages[0], { role: 'user', content: videoUser.content.slice(1) }] }, 400, 'frame_count_mismatch', /announces 2 frames of Video 1 and 2 of Video 2 \(4\), but the message has 3/],
      ['an edited template', withContent([imageA, imageB, { type: 'text', text: text.text.replace('Assess', 'Please assess') }]), 400, 'unrecognized_template', /not the @flex\/criteria pairwise image template/],
      ['a foreign system message', { ...good, messages: [{ role: 'system', content: 'You are a helpful assistant.' }, good.messages[1]] }, 400, 'unrecognized_template', /system text/],
      ['streaming', { ...good, stream: true }, 400, 'unsupported_parameter', /stream/],
      ['a pointwise template without a pointwise judge', pointwiseBody(), 400, 'pointwise_unavailable', /pairwise judgements only/],
      ['another model', { ...good, model: 'gpt-4o' }, 404, 'model_not_found', /gpt-4o/],
      ['a body above the limit', { ...good, padding: 'x'.repeat(250_000) }, 413, 'request_too_large', /200000 bytes/],
    ];
    for (const [what, body, status, code, message] of cases) {
      const answer = await post(server.url, body);
      expect(answer.status, what).toBe(status);
      expect(answer.json.error, what).toMatchObject({ code, type: expect.any(String) });
      expect(answer.json.error.message, what).toMatch(message);
    }
    expect(calls).toEqual([]); // nothing bad reached the judge
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'EMPTY', maxRetries: 0 });
    await expect(client.chat.completions.create(withContent([imageA, imageB]) as never)).rejects.toBeInstanceOf(BadRequestError);
    const notFound = await fetch(`${server.url}/v1/embeddings`, { method: 'POST' });
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('maps judge failures: raw text → 200 with flex.error, invalid_request → 400, model_error or a throw → 500', async () => {
    const failing = recordingJudge({
      result: (r) =>
        r.prompt.includes('garbage')
          ? { ok: false, error: { code: 'parse_error', message: 'no_assessment: nothing found', raw: 'I like the first one.' } }
          : r.prompt.includes('refuse')
            ? { ok: false, error: { code: 'invalid_request', message: 'images too small' } }
            : { ok: false, error: { code: 'model_error', message: 'out of memory' } },
    });
    const server = await start({ judge: failing.judge, batchWindowMs: 0 });
    const garbage = await post(server.url, chatBody(imagePair(1, 'garbage please')));
    expect(garbage.status).toBe(200);
    expect(garbage.json.choices[0].message.content).toBe('I like the first one.');
    expect(garbage.json.flex.error).toEqual({ code: 'parse_error', message: 'no_assessment: nothing found' });
    expect((await post(server.url, chatBody(imagePair(1, 'refuse this')))).json.error.code).toBe('invalid_request');
    const crashed = await post(server.url, chatBody(imagePair(1, 'fine')));
    expect(crashed.status).toBe(500);
    expect(crashed.json.error).toMatchObject({ code: 'model_error', type: 'server_error' });
    expect(crashed.json.error.message).toMatch(/out of memory/);

    const throwing = await start({ judge: recordingJudge({ throws: 'wasm heap exhausted' }).judge });
    const thrown = await post(throwing.url, chatBody(imagePair(2)));
    expect(thrown.status).toBe(500);
    expect(thrown.json.error.message).toMatch(/threw: wasm heap exhausted/);
    // The remote judge reads a 500 as a typed http_error (retried), never an exception.
    const remote = new RemoteJudge({ baseUrl: throwing.baseUrl, model: 'tiny-flex', maxRetries: 1, retryBaseDelayMs: 1, environment: {} });
    const [result] = await remote.judge([imagePair(3)]);
    expect(result).toMatchObject({ ok: false, error: { code: 'http_error' } });
  });

  it('shuts down gracefully: stops accepting, finishes running and queued requests, then closes', async () => {
    const gate = deferred();
    const { judge, calls } = recordingJudge({ gate: gate.promise });
    const server = await start({ judge, maxBatch: 2, batchWindowMs: 20 });
    const requests = [imagePair(40), imagePair(41), imagePair(42)];
    const inFlight = requests.map((r) => post(server.url, chatBody(r)));
    await until(() => calls.length === 1 && server.stats.queued === 1);
    const closing = server.close();
    let closed = false;
    void closing.then(() => (closed = true));
    // A new connection is refused while the running batch is held.
    await expect(rawRequest(server.port)).rejects.toThrow(/ECONNREFUSED/);
    expect(closed).toBe(false);
    gate.resolve();
    const answers = await Promise.all(inFlight);
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.json.choices[0].message.content).prompt).toBe(requests[i]!.prompt);
    });
    await closing;
    expect(calls).toEqual([2, 1]);
    expect(server.stats).toMatchObject({ completed: 3, failed: 0, queued: 0, running: 0 });
  });

  it('refuses invalid options with a ServeOptionsError naming each field', async () => {
    const error = await createJudgeServer({ judge: {} as never, modelName: '', port: 70_000 }).catch((e: unknown) => e);
    expect(ServeOptionsError.isInstance(error)).toBe(true);
    expect((error as ServeOptionsError).code).toBe('invalid_options');
    expect((error as Error).message).toMatch(/judge: must be a Judge.*modelName.*port/);
  });

  it('requires the API key from the environment when told to, without ever echoing it', async () => {
    const { judge } = recordingJudge();
    await expect(createJudgeServer({ judge, modelName: 'x', port: 0, apiKeyEnvironmentVariable: 'FLEX_SERVE_KEY', environment: {} })).rejects.toThrow(/FLEX_SERVE_KEY is not set/);
    const logs: string[] = [];
    const server = await start({ judge, apiKeyEnvironmentVariable: 'FLEX_SERVE_KEY', environment: { FLEX_SERVE_KEY: 'sk-serve-7f3a' }, logger: (e) => logs.push(e.message) });
    const denied = await post(server.url, chatBody(imagePair(1)), { authorization: 'Bearer wrong' });
    expect(denied.status).toBe(401);
    expect(denied.json.error.code).toBe('invalid_api_key');
    expect(JSON.stringify(denied.json)).not.toContain('sk-serve-7f3a');
    expect((await post(server.url, chatBody(imagePair(1)))).status).toBe(401);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const remote = new RemoteJudge({ baseUrl: server.baseUrl, model: 'tiny-flex', maxRetries: 0, environment: { OPENAI_API_KEY: 'sk-serve-7f3a' } });
    const [result] = await remote.judge([imagePair(2)]);
    expect(result!.ok).toBe(true);
    expect(JSON.stringify(server)).not.toContain('sk-serve-7f3a');
    expect(logs.join('\n')).not.toContain('sk-serve-7f3a');
  });

  it('closes on SIGTERM (graceful) and a second signal forces it', async () => {
    const gate = deferred();
    const { judge } = recordingJudge({ gate: gate.promise });
    const server = await start({ judge, batchWindowMs: 0 });
    const source = new EventEmitter();
    const phases: string[] = [];
    closeOnSignals(server, { source, onSignal: (signal, phase) => phases.push(`${signal}:${phase}`) });
    const pending = post(server.url, chatBody(imagePair(50))).then(
      (answer) => `answered ${answer.status}`,
      () => 'cut',
    );
    await until(() => server.stats.running === 1);
    source.emit('SIGTERM');
    source.emit('SIGINT');
    await server.closed;
    expect(phases).toEqual(['SIGTERM:graceful', 'SIGINT:forced']);
    // The forced close cut the held request's connection.
    expect(await pending).toBe('cut');
    gate.resolve();
    expect(source.listenerCount('SIGTERM') + source.listenerCount('SIGINT')).toBe(0);
  });
});

function pointwiseBody() {
  const template = renderJudgeTemplate({ mode: 'pointwise', modality: 'image', prompt: 'a cat', media: [pngDataUrl(byteImage(1))] });
  return { model: 'tiny-flex', messages: template.messages };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function rawRequest(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
