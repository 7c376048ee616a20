import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '@flex/synth';
import { runCli } from '../program';
import { captureOutput as capture } from '../test-support';

let dir: string;
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flex-cli-train-'));
  data = join(dir, 'data');
  await synthesize({ out: data, pairs: 8, seed: 4, split: 'train' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('flex distill / sft', () => {
  it('distills with the simulated teacher, then fine-tunes a judge for a few steps', async () => {
    const c = capture();
    try {
      expect(await runCli(['distill', '--data', data, '--quiet'], c.io)).toBe(0);
      const stats = JSON.parse(c.out.join(''));
      expect(stats.answered).toBe(8);
      expect(existsSync(join(data, 'traces.jsonl'))).toBe(true);
      c.out.length = 0;
      const code = await runCli(['sft', '--data', data, '--out', join(dir, 'sft'), '--steps', '2', '--batch-size', '2', '--filter', 'none', '--quiet'], c.io);
      expect(c.err.filter((l) => l.startsWith('flex:')).join(''), 'stderr').toBe('');
      expect(code).toBe(0);
      expect(existsSync(join(dir, 'sft', 'final', 'config.json'))).toBe(true);
      const metrics = (await readFile(join(dir, 'sft', 'metrics.jsonl'), 'utf8')).trim().split('\n');
      expect(metrics.length).toBeGreaterThan(0);
    } finally {
      c.restore();
    }
  }, 240_000);

  it('distills from an OpenAI-compatible teacher and counts its failures as values', async () => {
    // A teacher endpoint that answers every request with prose that holds no assessment.
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'I cannot judge these.' } }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const c = capture();
    try {
      const out = join(dir, 'remote-traces.jsonl');
      const code = await runCli(['distill', '--data', data, '--out', out, '--teacher', 'openai', '--base-url', `http://127.0.0.1:${port}/v1`, '--model', 'm', '--limit', '3', '--quiet'], c.io);
      expect(code).toBe(0);
      const stats = JSON.parse(c.out.join(''));
      expect(stats.failed).toBe(3);
    } finally {
      c.restore();
      server.close();
    }
  }, 60_000);

  it('rejects an openai teacher without an endpoint in one line', async () => {
    const c = capture();
    try {
      expect(await runCli(['distill', '--data', data, '--teacher', 'openai'], c.io)).toBe(2);
      expect(c.err.join('')).toMatch(/^flex: --teacher openai needs --base-url and --model\n$/);
    } finally {
      c.restore();
    }
  });

  it('flex pretrain rejects an unknown recipe in one line, before any training', async () => {
    const c = capture();
    try {
      expect(await runCli(['pretrain', '--out', join(dir, 'recipe'), '--recipe', 'nightly'], c.io)).toBe(2);
      expect(c.err.join('')).toMatch(/^flex: .*recipe.*\n$/);
      expect(existsSync(join(dir, 'recipe'))).toBe(false);
    } finally {
      c.restore();
    }
  });
});
