import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BradleyTerryModel, FlexJudgeModel, buildJudgeTokenizer, initBackend, saveCheckpoint } from '@flex/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBaselineJudge } from './baselines';
import { runPreferenceBenchmark, type BenchmarkPair } from './benchmark';
import { assessment, flatImage } from './testing.test-helpers';

// Checkpoint baselines through @flex/model's checkpoints, with tiny untrained models (the numbers are
// meaningless; what is checked is that the loaded judges run through the benchmark and answer every pair).

let dir: string;
let btDir: string;
let flexDir: string;

const pairs: BenchmarkPair[] = Array.from({ length: 4 }, (_, i) => ({
  id: `m${i}`,
  prompt: 'a red square',
  modality: 'image',
  a: flatImage(0.2 + 0.1 * i, 16),
  b: flatImage(0.8 - 0.1 * i, 16),
  label: i % 2 ? 'A' : 'B',
}));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'flex-eval-model-'));
  btDir = join(dir, 'bt');
  flexDir = join(dir, 'flex');
  const tokenizer = buildJudgeTokenizer({ prompts: ['a red square'], assessments: [assessment('image', 1)], vocabSize: 200, minCount: 1 });
  await saveCheckpoint({ directory: btDir, model: BradleyTerryModel.create({ preset: 'tiny', tokenizer, seed: 1 }) });
  await saveCheckpoint({ directory: flexDir, model: FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 }) });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkpoint baselines', () => {
  it('loads the scalar Bradley–Terry baseline and benchmarks it', async () => {
    const judge = await loadBaselineJudge({ id: 'scalar-bt', checkpoint: btDir });
    expect(judge.name).toBe('scalar Bradley–Terry');
    const result = await runPreferenceBenchmark({ judge, pairs, bootstrapSamples: 0 });
    expect(result.metrics.failureRate).toBe(0);
    for (const r of result.records) expect(r.probabilityA).toBeGreaterThanOrEqual(0);
  });

  it('loads a Flex judge checkpoint and benchmarks its generated assessments', async () => {
    const judge = await loadBaselineJudge({ id: 'flex-sft', checkpoint: flexDir });
    expect(judge.name).toBe('Flex SFT');
    const result = await runPreferenceBenchmark({ judge, pairs: pairs.slice(0, 2), bothOrders: false, bootstrapSamples: 0 });
    expect(result.metrics.calls).toBe(2);
    // An untrained judge may write nonsense, but constrained decoding keeps it readable or a typed failure.
    for (const r of result.records) expect(r.prediction === null ? r.error?.code : r.prediction).toBeTruthy();
  }, 120_000);

  it('the fixed-rubric judge never gets a category D: its calls carry maxExtraCategories 0, the others do not', async () => {
    const seen: Record<string, unknown>[] = [];
    const loadCheckpointJudge = async () => ({ name: 'spy', judge: async (_requests: readonly unknown[], options?: object) => (seen.push({ ...options }), []) });
    const fixed = await loadBaselineJudge({ id: 'fixed-rubric', checkpoint: flexDir, loadCheckpointJudge });
    await fixed.judge([]);
    const flex = await loadBaselineJudge({ id: 'flex-sft', checkpoint: flexDir, loadCheckpointJudge });
    await flex.judge([]);
    expect(seen[0]).toMatchObject({ grammar: { maxExtraCategories: 0 } });
    expect(seen[1]).not.toHaveProperty('grammar');
  });

  it('refuses checkpoints of the wrong kind and missing ones', async () => {
    await expect(loadBaselineJudge({ id: 'flex-sft-dpo', checkpoint: btDir })).rejects.toMatchObject({
      code: 'checkpoint_error',
      message: expect.stringMatching(/bradley-terry/),
    });
    await expect(loadBaselineJudge({ id: 'scalar-bt', checkpoint: flexDir })).rejects.toMatchObject({ code: 'checkpoint_error' });
    await expect(loadBaselineJudge({ id: 'fixed-rubric', checkpoint: join(dir, 'nope') })).rejects.toMatchObject({ code: 'checkpoint_error' });
  });
});
