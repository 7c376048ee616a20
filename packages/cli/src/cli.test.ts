import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError, runCli, runStages, type Stage } from './index';
import { captureIo } from './test-support';

describe('runCli', () => {
  it('prints help and exits 0', async () => {
    const { io, out } = captureIo();
    expect(await runCli(['--help'], io)).toBe(0);
    expect(out.join('')).toContain('Usage: flex');
  });
  it('reports an unknown command with a non-zero exit', async () => {
    const { io, err } = captureIo();
    const known = (program: Command) => void program.command('known').action(() => {});
    expect(await runCli(['no-such-command'], io, [known])).not.toBe(0);
    expect(err.join('')).toMatch(/unknown command/);
  });
  it('turns a CliError into one line', async () => {
    const { io, err } = captureIo();
    const failing = (program: Command) => {
      program.command('boom').action(() => {
        throw new CliError('invalid_option', '--pairs: must be at least 1 (got 0)');
      });
    };
    expect(await runCli(['boom'], io, [failing])).toBe(2);
    expect(err.join('')).toBe('flex: --pairs: must be at least 1 (got 0)\n');
  });
});

describe('runStages', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('skips completed stages on a rerun and resumes after a failure', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'flex-run-'));
    dirs.push(runDir);
    const calls: string[] = [];
    let failSecond = true;
    const stages: Stage<{ n: number }>[] = [
      { name: 'first', description: 'one', run: async () => (calls.push('first'), { value: 1 }) },
      {
        name: 'second',
        description: 'two',
        run: async ({ previous }) => {
          calls.push('second');
          if (failSecond) throw new Error('disk full');
          return { fromFirst: previous['first']?.['value'] };
        },
      },
    ];
    await expect(runStages({ runDir, stages, config: { n: 1 }, log: () => {} })).rejects.toThrow(/stage second failed: disk full/);
    failSecond = false;
    const summaries = await runStages({ runDir, stages, config: { n: 1 }, log: () => {} });
    expect(calls).toEqual(['first', 'second', 'second']);
    expect(summaries['second']).toEqual({ fromFirst: 1 });
    const marker = JSON.parse(await readFile(join(runDir, 'second', 'DONE.json'), 'utf8'));
    expect(marker.summary).toEqual({ fromFirst: 1 });
  });
});
