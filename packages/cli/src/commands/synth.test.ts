import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../program';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function capture() {
  const err: string[] = [];
  return { io: { stdout: () => {}, stderr: (t: string) => void err.push(t) }, err };
}

describe('flex synth / flex stats', () => {
  it('writes a dataset and its statistics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flex-cli-synth-'));
    dirs.push(dir);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const { io } = capture();
      expect(await runCli(['synth', '--out', join(dir, 'data'), '--pairs', '12', '--seed', '3', '--split', 'test', '--quiet'], io)).toBe(0);
      expect(await runCli(['stats', '--data', join(dir, 'data'), '--json', join(dir, 'stats.json')], io)).toBe(0);
    } finally {
      out.mockRestore();
    }
    const stats = JSON.parse(await readFile(join(dir, 'stats.json'), 'utf8'));
    expect(stats.pairs).toBe(12);
    for (const key of ['contextFlipRate', 'contextBlindCeiling', 'oracleAgreement']) {
      expect(stats[key]).toBeGreaterThanOrEqual(0);
      expect(stats[key]).toBeLessThanOrEqual(1);
    }
  });

  it('rejects bad options in one line', async () => {
    const { io, err } = capture();
    expect(await runCli(['synth', '--out', '/tmp/x', '--pairs', 'many'], io)).toBe(2);
    expect(err.join('')).toMatch(/^flex: --pairs: .*\n$/);
    err.length = 0;
    expect(await runCli(['synth', '--out', '/tmp/x', '--split', 'nope'], io)).toBe(2);
    expect(err.join('')).toMatch(/^flex: --split: /);
  });

  it('reports a missing dataset as a one-line typed error', async () => {
    const { io, err } = capture();
    expect(await runCli(['stats', '--data', '/nonexistent/flex-data'], io)).toBe(1);
    expect(err.join('')).toMatch(/^flex: .*\n$/);
    expect(err.join('').split('\n').length).toBe(2);
  });
});
