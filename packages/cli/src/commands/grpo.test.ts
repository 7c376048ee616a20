import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predefinedCategories } from '@flex/criteria';
import { buildJudgeTokenizer, createFlowGenerator, FlexJudgeModel, initBackend, saveCheckpoint, saveFlowGenerator } from '@flex/model';
import { presetConfig } from '../pipeline/presets';
import { pipelineStages } from '../pipeline/stages';
import { runCli } from '../program';
import { captureOutput as capture } from '../test-support';

let dir: string;
let judge: string;
let generator: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flex-cli-grpo-'));
  await initBackend();
  // An untrained tiny judge (its verdicts are arbitrary: only the wiring is tested) and a tiny generator.
  const tokenizer = buildJudgeTokenizer({ prompts: ['a red circle left of a blue square'], minCount: 1 });
  judge = join(dir, 'judge');
  await saveCheckpoint({ directory: judge, model: FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 }) });
  generator = join(dir, 'generator');
  await saveFlowGenerator({ generator: createFlowGenerator({ modality: 'image', size: 16, channels: 4, embeddingDim: 8, promptBuckets: 16, seed: 3 }), folder: generator });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('flex grpo', () => {
  it('trains a tiny generator for 2 steps with a judge checkpoint, writes the oracle before/after and grids, and resumes', async () => {
    const out = join(dir, 'run');
    const args = ['grpo', '--judge', judge, '--generator', generator, '--out', out, '--group-size', '2', '--prompts-per-step', '1', '--held-out', '2', '--quiet'];
    const c = capture();
    try {
      const code = await runCli([...args, '--steps', '2'], c.io);
      expect(c.err.filter((l) => l.startsWith('flex:')).join(''), 'stderr').toBe('');
      expect(code).toBe(0);
      const summary = JSON.parse(await readFile(join(out, 'grpo.json'), 'utf8'));
      expect(summary.steps).toBe(2);
      expect(summary.modality).toBe('image');
      expect(summary.oracleBefore).toBeGreaterThanOrEqual(0);
      expect(summary.oracleBefore).toBeLessThanOrEqual(1);
      expect(summary.oracleCurve[0]).toEqual([0, summary.oracleBefore]);
      // The paired change: mean of per-prompt differences equals the difference of means, with its standard error.
      expect(summary.oracleChange).toBeCloseTo(summary.oracleAfter - summary.oracleBefore, 10);
      expect(summary.oracleChangeStdError).toBeGreaterThanOrEqual(0);
      expect(summary.summary).toMatch(/s\.e\., paired/);
      expect(summary.summary).toContain('only 2 held-out prompts');
      expect(summary.rewardCurve).toHaveLength(2);
      expect(Object.keys(summary.time).sort()).toEqual(['judging', 'sampling', 'step', 'update']);
      for (const file of ['samples-before.png', 'samples-after.png', 'generator/config.json', 'train/checkpoint-2/config.json', 'train/metrics.jsonl']) {
        expect(existsSync(join(out, file)), file).toBe(true);
      }
      expect(c.out.join('')).toContain('held-out oracle');
      // A rerun with more steps continues from checkpoint-2.
      c.out.length = 0;
      expect(await runCli([...args, '--steps', '3', '--no-worker'], c.io)).toBe(0);
      expect(c.err.join('')).toContain('resuming');
      expect(JSON.parse(await readFile(join(out, 'grpo.json'), 'utf8')).steps).toBe(3);
    } finally {
      c.restore();
    }
  }, 240_000);

  it('rewards with a remote OpenAI-compatible judge (--judge-url)', async () => {
    // A loopback judge that always prefers the first image, in the published assessment format.
    const answer = JSON.stringify({
      prompt: 'echo',
      categories: predefinedCategories.image.map((c) => ({
        name: c.name,
        dims: [{ name: `${c.id} criterion`, reason_1: 'seen in 1', reason_2: 'seen in 2', score_1: 7, score_2: 3 }],
        cat_reason: 'Image 1 is better',
        cat_winner: 'Image 1',
      })),
      reason: 'Image 1 is better overall',
      winner: 'Image 1',
    });
    let requests = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        requests += 1;
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: 'flex', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const c = capture();
    try {
      const out = join(dir, 'remote');
      const code = await runCli(
        ['grpo', '--judge-url', url, '--judge-model', 'flex', '--generator', generator, '--out', out, '--steps', '1', '--group-size', '3', '--prompts-per-step', '1', '--held-out', '2', '--no-worker', '--sde-window', '0,2', '--dynamics', 'cps', '--noise', '0.5', '--scale-rewards', 'batch', '--category-weights', '{"A":1}', '--lr-schedule', 'cosine', '--quiet'],
        c.io,
      );
      expect(c.err.filter((l) => l.startsWith('flex:')).join(''), 'stderr').toBe('');
      expect(code).toBe(0);
      // One step of one group of 3: every pair judged once.
      expect(requests).toBe(3);
      const summary = JSON.parse(await readFile(join(out, 'grpo.json'), 'utf8'));
      expect(summary.judge).toBe('remote:flex');
      expect(summary.sdeWindow).toEqual({ start: 0, length: 2 });
      expect(summary).toMatchObject({ dynamics: 'cps', noiseLevel: 0.5, scaleRewards: 'batch', categoryWeights: { A: 1 }, lrSchedulerType: 'cosine' });
      // Always "the first": win rates 1, 0.5, 0 in the group.
      expect(summary.rewardCurve[0][2]).toBeGreaterThan(0);
    } finally {
      c.restore();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 120_000);

  it('fails in one line without a judge, with a missing judge or generator, and on bad numbers', async () => {
    const c = capture();
    try {
      const out = join(dir, 'bad');
      expect(await runCli(['grpo', '--generator', generator, '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', join(dir, 'nope'), '--generator', generator, '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', join(dir, 'nope'), '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--steps', '0', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--sde-window', '3', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', generator, '--sde-window', '0,99', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--judge-url', 'http://127.0.0.1:1/v1', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', generator, '--dynamics', 'ddim', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', generator, '--dynamics', 'cps', '--noise', '1.5', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', generator, '--scale-rewards', 'std', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', generator, '--category-weights', '{A:1}', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', generator, '--category-weights', '{"a":-1}', '--out', out], c.io)).toBe(2);
      expect(await runCli(['grpo', '--judge', judge, '--generator', generator, '--lr-schedule', 'step', '--out', out], c.io)).toBe(2);
      const lines = c.err.join('').trim().split('\n');
      expect(lines).toHaveLength(13);
      expect(lines[0]).toMatch(/^flex: --judge <checkpoint> or --judge-url/);
      expect(lines[1]).toMatch(/^flex: --judge: no judge checkpoint/);
      expect(lines[2]).toMatch(/^flex: --generator: no flow generator/);
      expect(lines[3]).toMatch(/^flex: --steps: must be at least 1/);
      expect(lines[4]).toMatch(/^flex: --sde-window: must be START,LENGTH/);
      expect(lines[5]).toMatch(/^flex: .*window/i);
      expect(lines[6]).toMatch(/^flex: give either --judge or --judge-url/);
      expect(lines[7]).toMatch(/^flex: --dynamics: /);
      expect(lines[8]).toMatch(/^flex: --noise: .*η in \(0, 1\]/);
      expect(lines[9]).toMatch(/^flex: --scale-rewards: /);
      expect(lines[10]).toMatch(/^flex: --category-weights: must be JSON mapping category ids/);
      expect(lines[11]).toMatch(/^flex: --category-weights: must be JSON mapping category ids/);
      expect(lines[12]).toMatch(/^flex: --lr-schedule: /);
    } finally {
      c.restore();
    }
  });
});

describe('flex pipeline grpo stage', () => {
  it('comes after eval, is sized small in the quick preset and skipped with 0 steps', () => {
    const names = pipelineStages.map((s) => s.name);
    expect(names.indexOf('grpo')).toBe(names.indexOf('eval') + 1);
    const stage = pipelineStages.find((s) => s.name === 'grpo')!;
    const quick = presetConfig('quick');
    expect(quick.grpo.steps * quick.grpo.promptsPerStep * quick.grpo.groupSize).toBeLessThanOrEqual(16);
    expect(stage.enabled?.(quick)).toBe(true);
    expect(stage.enabled?.({ ...quick, grpo: { ...quick.grpo, steps: 0 } })).toBe(false);
  });
});
