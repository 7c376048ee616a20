import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCompact } from '@flex/criteria';
import { tf } from './engine';
import { initBackend } from './backend';
import { FlexJudgeModel, type JudgeExample } from './flex-judge';
import { BradleyTerryModel } from './bradley-terry';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { CheckpointError } from './errors';
import { createOptimizer, trainStep } from './training';
import { sampleAssessment, sampleTokenizer, solidImage } from './test-helpers';

const tokenizer = sampleTokenizer();
const examples: JudgeExample[] = [
  { media: [solidImage(0.9, 0.1, 0.1), solidImage(0.5, 0.5, 0.5)], prompt: 'a red square', completion: encodeCompact(sampleAssessment('a red square', 1)) },
  { media: [solidImage(0.5, 0.5, 0.5), solidImage(0.1, 0.1, 0.9)], prompt: 'a blue square', completion: encodeCompact(sampleAssessment('a blue square', 2, 'blue')) },
];

let root: string;

async function values(model: FlexJudgeModel): Promise<number[][]> {
  return Promise.all(model.parameters.variables().map(async (v) => Array.from(await v.data())));
}

describe('checkpoints', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    root = await mkdtemp(join(tmpdir(), 'flex-model-ckpt-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('resuming from a checkpoint reproduces an uninterrupted run bit for bit', async () => {
    const steps = 6;
    const run = (model: FlexJudgeModel, optimizer: tf.AdamOptimizer, n: number) => {
      const batch = model.prepareBatch(examples, { scoreWeight: 2 });
      for (let i = 0; i < n; i++) trainStep({ parameters: model.parameters, optimizer, maxGradNorm: 1, loss: () => model.loss(batch) });
      batch.dispose();
    };
    const straight = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 4 });
    const straightOptimizer = createOptimizer({ learningRate: 5e-3 });
    run(straight, straightOptimizer, steps);

    const first = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 4 });
    const firstOptimizer = createOptimizer({ learningRate: 5e-3 });
    run(first, firstOptimizer, steps / 2);
    const directory = join(root, 'resume');
    const tensorsBeforeSave = tf.memory().numTensors;
    await saveCheckpoint({ directory, model: first, optimizer: firstOptimizer, trainerState: { step: steps / 2 } });
    expect(tf.memory().numTensors).toBe(tensorsBeforeSave);
    first.dispose();
    firstOptimizer.dispose();
    const loaded = await loadCheckpoint({ directory, kind: 'flex-judge' });
    expect(loaded.trainerState).toEqual({ step: steps / 2 });
    expect(loaded.optimizer).toBeDefined();
    run(loaded.model, loaded.optimizer as tf.AdamOptimizer, steps / 2);
    expect(await values(loaded.model)).toEqual(await values(straight));
    expect(loaded.model.parameters.names()).toEqual(straight.parameters.names());
    for (const m of [straight, loaded.model]) m.dispose();
    straightOptimizer.dispose();
    loaded.optimizer?.dispose();
  });

  it('restores Adam\'s β powers exactly as training accumulates them, at every step count', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 6 });
    const optimizer = createOptimizer({ learningRate: 1e-3 });
    const batch = model.prepareBatch(examples.slice(0, 2));
    const powers = async (o: tf.AdamOptimizer) => {
      const adam = o as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
      return [(await adam.accBeta1.data())[0], (await adam.accBeta2.data())[0]];
    };
    for (let step = 1; step <= 12; step++) {
      trainStep({ parameters: model.parameters, optimizer, maxGradNorm: 1, loss: () => model.loss(batch) });
      const directory = join(root, `powers-${step}`);
      await saveCheckpoint({ directory, model, optimizer });
      const loaded = await loadCheckpoint({ directory, kind: 'flex-judge' });
      expect(await powers(loaded.optimizer as tf.AdamOptimizer)).toEqual(await powers(optimizer));
      loaded.model.dispose();
      loaded.optimizer?.dispose();
    }
    batch.dispose();
    model.dispose();
    optimizer.dispose();
  });

  it('switches the parameter-free position bias on load: same weights, ALiBi in the attention', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5, layout: 'evidence-first' });
    const directory = join(root, 'alibi-switch');
    await saveCheckpoint({ directory, model });
    const plain = (await loadCheckpoint({ directory, kind: 'flex-judge' })).model;
    const switched = (await loadCheckpoint({ directory, kind: 'flex-judge', positionBias: 'alibi' })).model;
    expect(plain.config.positionBias).toBe('none');
    expect(switched.config.positionBias).toBe('alibi');
    expect(await values(switched)).toEqual(await values(model));
    const score = (m: FlexJudgeModel) => m.scoreCompletions(examples).map((r) => r.sum);
    expect(score(plain)).toEqual(score(model));
    expect(score(switched)).not.toEqual(score(model));
    await expect(loadCheckpoint({ directory, positionBias: 'rope' as 'alibi' })).rejects.toThrow(/positionBias/);
    for (const m of [model, plain, switched]) m.dispose();
  });

  it('grows the vision stem and the decoder with blocks that start as the identity, and trains them', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5, layout: 'evidence-first' });
    const optimizer = createOptimizer({ learningRate: 5e-3 });
    const batch = model.prepareBatch(examples);
    trainStep({ parameters: model.parameters, optimizer, maxGradNorm: 1, loss: () => model.loss(batch) });
    const directory = join(root, 'grow');
    await saveCheckpoint({ directory, model, optimizer });
    const grown = await loadCheckpoint({ directory, kind: 'flex-judge', residualBlocks: 2 });
    expect(grown.model.config.vision.residualBlocks).toBe(2);
    expect(grown.optimizer).toBeUndefined(); // the saved Adam slots belong to the smaller model
    expect(grown.model.parameters.count()).toBeGreaterThan(model.parameters.count());
    const score = (m: FlexJudgeModel) => m.scoreCompletions(examples).map((r) => r.sum);
    const before = score(model);
    score(grown.model).forEach((s, i) => expect(s).toBeCloseTo(before[i] as number, 4));
    // The new blocks learn: one step moves their second conv away from zero and changes the output.
    const growBatch = grown.model.prepareBatch(examples);
    trainStep({ parameters: grown.model.parameters, optimizer: createOptimizer({ learningRate: 5e-3 }), maxGradNorm: 1, loss: () => grown.model.loss(growBatch) });
    expect(Math.max(...(await grown.model.parameters.get('vision.stem.conv0.block1.b.filter').data()).map(Math.abs))).toBeGreaterThan(0);
    // Saved grown, it loads as it is (a block missing from the file is corruption, not growth) and cannot shrink.
    const grownDir = join(root, 'grown');
    await saveCheckpoint({ directory: grownDir, model: grown.model });
    const again = (await loadCheckpoint({ directory: grownDir, kind: 'flex-judge' })).model;
    expect(await values(again)).toEqual(await values(grown.model));
    await expect(loadCheckpoint({ directory: grownDir, residualBlocks: 1 })).rejects.toMatchObject({ code: 'checkpoint_mismatch' });
    // The decoder grows on top the same way: two identity blocks, then they learn.
    const deeper = (await loadCheckpoint({ directory, kind: 'flex-judge', layers: model.config.layers + 2 })).model;
    expect(deeper.config.layers).toBe(model.config.layers + 2);
    score(deeper).forEach((s, i) => expect(s).toBeCloseTo(before[i] as number, 4));
    const top = `decoder.block${model.config.layers + 1}`;
    expect(Math.max(...(await deeper.parameters.get(`${top}.mlp.down.weight`).data()).map(Math.abs))).toBe(0);
    const deepBatch = deeper.prepareBatch(examples);
    trainStep({ parameters: deeper.parameters, optimizer: createOptimizer({ learningRate: 5e-3 }), maxGradNorm: 1, loss: () => deeper.loss(deepBatch) });
    expect(Math.max(...(await deeper.parameters.get(`${top}.mlp.down.weight`).data()).map(Math.abs))).toBeGreaterThan(0);
    await expect(loadCheckpoint({ directory, layers: 1 })).rejects.toMatchObject({ code: 'checkpoint_mismatch' });
    // Candidate tags switch on with a zero embedding (same scores), and cannot be switched off again.
    const tagged = (await loadCheckpoint({ directory, kind: 'flex-judge', candidateTags: true })).model;
    expect(tagged.config.candidateTags).toBe(true);
    score(tagged).forEach((s, i) => expect(s).toBeCloseTo(before[i] as number, 4));
    const taggedDir = join(root, 'tagged');
    await saveCheckpoint({ directory: taggedDir, model: tagged });
    await expect(loadCheckpoint({ directory: taggedDir, candidateTags: false })).rejects.toMatchObject({ code: 'checkpoint_mismatch' });
    tagged.dispose();
    for (const m of [model, grown.model, again, deeper]) m.dispose();
    for (const b of [batch, growBatch, deepBatch]) b.dispose();
    optimizer.dispose();
  });

  it('overwrites atomically and leaves no temporary folders', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5, layout: 'evidence-first' });
    const directory = join(root, 'atomic');
    await saveCheckpoint({ directory, model });
    await saveCheckpoint({ directory, model });
    expect((await readdir(root)).filter((f) => f.includes('atomic'))).toEqual(['atomic']);
    expect((await readdir(directory)).sort()).toEqual(['config.json', 'weights.bin']);
    const { model: loaded, optimizer, config } = await loadCheckpoint({ directory });
    expect(optimizer).toBeUndefined();
    expect(config.kind).toBe('flex-judge');
    expect((loaded as FlexJudgeModel).layout).toBe('evidence-first');
    expect(loaded.tokenizer.vocabulary).toEqual(tokenizer.vocabulary);
    model.dispose();
    loaded.dispose();
  });

  it('fails with typed errors: missing, truncated, corrupt config, wrong kind, newer version', async () => {
    const bt = BradleyTerryModel.create({ preset: 'tiny', tokenizer, seed: 1 });
    const directory = join(root, 'bt');
    await saveCheckpoint({ directory, model: bt });
    bt.dispose();
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e) => (CheckpointError.isInstance(e) ? e.code : `untyped: ${String(e)}`),
      );
    const numTensors = tf.memory().numTensors;
    expect(await code(loadCheckpoint({ directory: join(root, 'nothing') }))).toBe('checkpoint_not_found');
    expect(await code(loadCheckpoint({ directory, kind: 'flex-judge' }))).toBe('checkpoint_wrong_kind');
    const { model } = await loadCheckpoint({ directory, kind: 'bradley-terry' });
    expect(model).toBeInstanceOf(BradleyTerryModel);
    model.dispose();

    const weights = await readFile(join(directory, 'weights.bin'));
    await writeFile(join(directory, 'weights.bin'), weights.subarray(0, weights.length - 10));
    expect(await code(loadCheckpoint({ directory }))).toBe('checkpoint_corrupt');
    await writeFile(join(directory, 'weights.bin'), weights);

    const config = await readFile(join(directory, 'config.json'), 'utf8');
    await writeFile(join(directory, 'config.json'), config.slice(0, config.length / 2));
    expect(await code(loadCheckpoint({ directory }))).toBe('checkpoint_corrupt');
    await writeFile(join(directory, 'config.json'), config.replace('"formatVersion": 1', '"formatVersion": 2'));
    expect(await code(loadCheckpoint({ directory }))).toBe('checkpoint_newer_version');
    await writeFile(join(directory, 'config.json'), config.replace('"dModel": 32', '"dModel": 16'));
    expect(await code(loadCheckpoint({ directory }))).toBe('checkpoint_mismatch');
    expect(tf.memory().numTensors).toBe(numTensors);
  });
});
