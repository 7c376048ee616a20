import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJudgeTokenizer, FlexJudgeModel, initBackend, saveCheckpoint } from '@flex/model';
import { synthesize } from '@flex/synth';
import { runCli } from '../program';
import { captureOutput as capture } from '../test-support';

let dir: string;
let data: string;
let checkpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flex-cli-eval-'));
  data = join(dir, 'data');
  await synthesize({ out: data, pairs: 6, seed: 2, split: 'test', width: 16 });
  await initBackend();
  const tokenizer = buildJudgeTokenizer({ prompts: ['a red circle'], minCount: 1 });
  const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 });
  checkpoint = join(dir, 'judge');
  await saveCheckpoint({ directory: checkpoint, model });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('flex eval / judge / report', () => {
  it('evaluates the oracle baseline and writes JSON', async () => {
    const c = capture();
    try {
      expect(await runCli(['eval', '--bench', data, '--baseline', 'oracle', '--json', join(dir, 'oracle.json'), '--quiet'], c.io)).toBe(0);
    } finally {
      c.restore();
    }
    const result = JSON.parse(await readFile(join(dir, 'oracle.json'), 'utf8'));
    expect(result.metrics.accuracyDiff.value).toBeGreaterThanOrEqual(0);
    expect(c.out.join('')).toMatch(/oracle/i);
  });

  it('judges two PNGs with a checkpoint (untrained, so only the format is checked)', async () => {
    const c = capture();
    const a = join(data, 'media', (await import('node:fs')).readdirSync(join(data, 'media')).sort()[0]!);
    const b = join(data, 'media', (await import('node:fs')).readdirSync(join(data, 'media')).sort()[1]!);
    try {
      const code = await runCli(['judge', '--model', checkpoint, '--prompt', 'a red circle', '--a', a, '--b', b, '--json'], c.io);
      expect(c.err.join(''), 'stderr').toBe('');
      expect(code).toBe(0);
    } finally {
      c.restore();
    }
    const assessment = JSON.parse(c.out.join(''));
    expect(['Image 1', 'Image 2']).toContain(assessment.winner);
    expect(assessment.probability_a).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('fails in one line on a missing image or a model that is not there', async () => {
    const c = capture();
    try {
      expect(await runCli(['judge', '--model', checkpoint, '--prompt', 'x', '--a', '/nope.png', '--b', '/nope.png'], c.io)).toBe(2);
      expect(c.err.join('')).toMatch(/^flex: \/nope.png: no such file/);
      expect(await runCli(['eval', '--bench', data, '--baseline', 'bt'], c.io)).toBe(2);
      expect(c.err.join('')).toMatch(/--model is required/);
    } finally {
      c.restore();
    }
  });
});
