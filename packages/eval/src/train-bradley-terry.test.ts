import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '@flex/criteria';
import { BradleyTerryModel, FlexJudgeModel, buildJudgeTokenizer, initBackend, loadCheckpoint, saveCheckpoint } from '@flex/model';
import { DatasetWriter, type PairRecord, loadCandidateMedia, readAllPairs, synthesize } from '@flex/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyMatchingParameters, trainBradleyTerry } from './train-bradley-terry';
import { createRandom } from './random';

// A quality-fault-only toy world: each pair is one rendered scene shown clean and with strong pixel noise, in a
// random order; people prefer the clean one. Held-out pairs come from other scenes.

let root: string;
let base: string;
let train: string;
let heldOut: PairRecord[];
let heldOutData: string;

function noisy(image: RgbImage, seed: number): RgbImage {
  const random = createRandom(seed);
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, (image.data[i] as number) + (random() - 0.5) * 0.9));
  return { width: image.width, height: image.height, data };
}

/** A dataset of clean-vs-noisy pairs built from the candidates of a synth dataset. */
async function toyDataset(source: string, out: string, seed: number): Promise<void> {
  const records = await readAllPairs({ data: source });
  const writer = new DatasetWriter(out);
  let index = 0;
  for (const record of records) {
    for (const which of ['a', 'b'] as const) {
      const clean = loadCandidateMedia(source, record, which) as RgbImage;
      const id = `toy-${String(index).padStart(4, '0')}`;
      const cleanFirst = (index + seed) % 2 === 0;
      const first = writer.writeMedia(`${id}-a`, cleanFirst ? clean : noisy(clean, seed * 1000 + index));
      const second = writer.writeMedia(`${id}-b`, cleanFirst ? noisy(clean, seed * 1000 + index) : clean);
      writer.write({ ...record, id, a: { ...record[which], media: first }, b: { ...record[which], media: second }, label: cleanFirst ? 'A' : 'B' });
      index++;
    }
  }
  const manifest = JSON.parse(await readFile(join(source, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const { pairs: _pairs, format: _format, generatorVersion: _version, ...rest } = manifest;
  await writer.close(rest as Parameters<DatasetWriter['close']>[0]);
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'flex-eval-bt-'));
  await synthesize({ out: join(root, 'source-train'), pairs: 24, seed: 5, width: 16, samples: 1, split: 'train' });
  await synthesize({ out: join(root, 'source-test'), pairs: 16, seed: 6, width: 16, samples: 1, split: 'test' });
  train = join(root, 'train');
  heldOutData = join(root, 'test');
  await toyDataset(join(root, 'source-train'), train, 1);
  await toyDataset(join(root, 'source-test'), heldOutData, 2);
  heldOut = await readAllPairs({ data: heldOutData });
  const prompts = [...(await readAllPairs({ data: train })), ...heldOut].map((r) => r.prompt);
  const tokenizer = buildJudgeTokenizer({ prompts, vocabSize: 300, minCount: 1 });
  base = join(root, 'base');
  const judge = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 3 });
  await saveCheckpoint({ directory: base, model: judge });
  judge.dispose();
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function heldOutAccuracy(checkpoint: string): Promise<number> {
  const { model } = await loadCheckpoint({ directory: checkpoint, kind: 'bradley-terry' });
  try {
    let right = 0;
    for (const record of heldOut) {
      const [sa, sb] = model.score([
        { media: loadCandidateMedia(heldOutData, record, 'a'), prompt: record.prompt },
        { media: loadCandidateMedia(heldOutData, record, 'b'), prompt: record.prompt },
      ]) as [number, number];
      if ((sa > sb ? 'A' : 'B') === record.label) right++;
    }
    return right / heldOut.length;
  } finally {
    model.dispose();
  }
}

describe('copyMatchingParameters', () => {
  it('copies the shared backbone from a Flex judge and leaves the score head alone', async () => {
    const { model: judge } = await loadCheckpoint({ directory: base, kind: 'flex-judge' });
    const bt = new BradleyTerryModel({ ...judge.config, kind: 'bradley-terry', seed: 9 }, judge.tokenizer);
    const { copied, kept } = copyMatchingParameters(judge, bt);
    expect(kept).toEqual(['score.head.weight', 'score.head.bias']);
    expect(copied.length).toBe(bt.parameters.names().length - 2);
    for (const name of ['vision.stem.conv0.weight', 'text.tokens.table', 'decoder.block1.mlp.up.weight'].filter((n) => copied.includes(n))) {
      expect(Array.from(bt.parameters.get(name).dataSync())).toEqual(Array.from(judge.parameters.get(name).dataSync()));
    }
    expect(copied).toContain('text.tokens.table');
    expect(copied.some((n) => n.startsWith('vision.stem'))).toBe(true);
    bt.dispose();
    judge.dispose();
  });
});

describe('trainBradleyTerry', () => {
  it('starts from the base, the loss falls and held-out accuracy beats chance on quality faults', async () => {
    const out = join(root, 'run');
    const steps: number[] = [];
    const result = await trainBradleyTerry({ base, data: train, out, steps: 40, batchSize: 16, learningRate: 3e-3, seed: 1, evalShare: 0.1, onProgress: (step) => steps.push(step) });
    expect(result.train.status).toBe('completed');
    expect(result.copiedParameters).toContain('text.tokens.table');
    expect(result.initialisedParameters).toEqual(['score.head.weight', 'score.head.bias']);
    expect(result.trainPairs + result.evalPairs).toBe(48);
    expect(steps.at(-1)).toBe(40);
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    const logged = lines.filter((l) => l.loss !== undefined);
    for (const key of ['loss', 'accuracy', 'grad_norm', 'learning_rate']) expect(logged[0]).toHaveProperty(key);
    expect((logged.at(-1) as Record<string, number>).loss).toBeLessThan((logged[0] as Record<string, number>).loss as number);
    expect(lines.some((l) => l.eval_accuracy !== undefined)).toBe(true);
    const accuracy = await heldOutAccuracy(result.checkpoint);
    // 32 held-out pairs: 0.75 is far above chance (p < 0.01 for a coin).
    expect(accuracy).toBeGreaterThanOrEqual(0.75);
  }, 120_000);

  it('resumes an interrupted run to the same weights as an uninterrupted one', async () => {
    const common = { base, data: train, steps: 6, batchSize: 8, microBatchSize: 4, learningRate: 2e-3, seed: 2, evalShare: 0, config: { saveSteps: 3, loggingSteps: 1 } };
    const whole = await trainBradleyTerry({ ...common, out: join(root, 'whole') });
    const partial = await trainBradleyTerry({ ...common, out: join(root, 'parts'), callbacks: [{ onStepEnd: (state) => (state.globalStep === 3 ? 'stop' : undefined) }] });
    expect(partial.train.status).toBe('stopped');
    expect(partial.train.globalStep).toBe(3);
    const resumed = await trainBradleyTerry({ ...common, out: join(root, 'parts'), resume: true });
    expect(resumed.train.globalStep).toBe(6);
    const a = await loadCheckpoint({ directory: whole.checkpoint, kind: 'bradley-terry' });
    const b = await loadCheckpoint({ directory: resumed.checkpoint, kind: 'bradley-terry' });
    for (const name of a.model.parameters.names()) {
      expect(Array.from(b.model.parameters.get(name).dataSync())).toEqual(Array.from(a.model.parameters.get(name).dataSync()));
    }
    a.model.dispose();
    b.model.dispose();
  }, 120_000);

  it('refuses bad options, a missing base and a dataset of ties only', async () => {
    await expect(trainBradleyTerry({ data: train, out: join(root, 'x'), steps: 0 })).rejects.toMatchObject({ code: 'invalid_options' });
    await expect(trainBradleyTerry({ base: join(root, 'nope'), data: train, out: join(root, 'x'), steps: 1 })).rejects.toMatchObject({ code: 'checkpoint_error' });
    await expect(trainBradleyTerry({ base, data: join(root, 'nope'), out: join(root, 'x'), steps: 1 })).rejects.toMatchObject({ code: 'invalid_dataset' });
  });
});
