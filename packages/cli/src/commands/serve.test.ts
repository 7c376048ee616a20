import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAI } from 'openai';
import { initBackend, saveCheckpoint } from '@flex/model';
import { runCli } from '../program';
import type { JudgeServer } from '../serve/judge-server';
import { chatBody, imagePair, tinyFlexJudge } from '../serve/test-helpers';
import { serveCheckpoint, serveCommand } from './serve';
import { captureIo } from '../test-support';

describe('flex serve', () => {
  let directory: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    directory = await mkdtemp(join(tmpdir(), 'flex-serve-'));
    const model = tinyFlexJudge(5);
    await saveCheckpoint({ directory: join(directory, 'judge'), model });
    model.dispose();
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('loads a checkpoint, serves it on loopback until SIGTERM, and reports on the way out', async () => {
    const lines: string[] = [];
    const signals = new EventEmitter();
    let listening!: (server: JudgeServer) => void;
    const started = new Promise<JudgeServer>((resolve) => (listening = resolve));
    const serving = serveCheckpoint(
      { model: join(directory, 'judge'), port: 0, maxBatch: 4, servedModelName: 'tiny' },
      { signalSource: signals, write: (line) => void lines.push(line), onListening: listening },
    );
    const server = await Promise.race([started, serving.then(() => Promise.reject(new Error('serve ended early')))]);
    expect(server.host).toBe('127.0.0.1');
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'EMPTY', maxRetries: 0 });
    const completion = await client.chat.completions.create(chatBody(imagePair(1), { model: 'tiny' }) as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(20);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
    signals.emit('SIGTERM');
    await serving;
    const text = lines.join('');
    expect(text).toMatch(/flex serve: tiny \(flex-judge, wasm backend\) on http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(text).toMatch(/SIGTERM: finishing in-flight requests/);
    expect(text).toMatch(/closed after 1 answers \(0 errors\) in 1 batches/);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('reports bad options and a missing checkpoint in one line', async () => {
    const bad = captureIo();
    expect(await runCli(['serve', '--model', directory, '--port', 'http'], bad.io, [serveCommand])).toBe(2);
    expect(bad.err.join('')).toMatch(/^flex: --port: /);
    const noKey = captureIo();
    expect(await runCli(['serve', '--model', directory, '--api-key-env', 'FLEX_SERVE_TEST_UNSET_KEY'], noKey.io, [serveCommand])).toBe(2);
    expect(noKey.err.join('')).toBe('flex: --api-key-env: the environment variable FLEX_SERVE_TEST_UNSET_KEY is not set\n');
    const missing = captureIo();
    expect(await runCli(['serve', '--model', join(directory, 'nothing'), '--port', '0', '--quiet'], missing.io, [serveCommand])).toBe(1);
    expect(missing.err.join('')).toMatch(/no checkpoint at .*nothing.*\[checkpoint_not_found\]/);
  });
});
