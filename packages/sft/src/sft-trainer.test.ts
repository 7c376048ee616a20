import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FlexJudgeModel, buildJudgeTokenizer, initBackend, tf, type JudgeExample } from '@flex/model';
import { SFTTrainer, exampleLength } from './sft-trainer';
import { SftError } from './errors';
import { descriptionExample, pairDescriptionExample, questionExamples } from './examples';
import { drawWorldPairs } from './world';

let examples: JudgeExample[];
let tokenizer: ReturnType<typeof buildJudgeTokenizer>;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const pairs = drawWorldPairs({ seed: 3, split: 'train', count: 12, size: 16 });
  examples = pairs.flatMap((p) => [
    descriptionExample(p.a, p.record.a.scene),
    pairDescriptionExample(p.a, p.b, p.record.a.scene, p.record.b.scene),
    ...questionExamples(p.b, p.record.b.scene, { limit: 1 }),
  ]);
  tokenizer = buildJudgeTokenizer({ texts: examples.flatMap((e) => [e.prompt, e.completion]), vocabSize: 256 });
});

function tinyModel(seed = 0): FlexJudgeModel {
  return FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed, layout: 'evidence-first' });
}

function weightsOf(model: FlexJudgeModel): Float32Array[] {
  return model.parameters.variables().map((v) => v.dataSync() as Float32Array);
}

function readMetrics(dir: string): Record<string, number>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, number>);
}

describe('SFTTrainer', () => {
  it('lowers the loss on a few dozen examples and logs the TRL metric names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sft-loss-'));
    const model = tinyModel();
    const logs: Record<string, number>[] = [];
    const trainer = new SFTTrainer({
      model,
      config: { outputDir: dir, learningRate: 5e-3, batchSize: 12, maxSteps: 40, loggingSteps: 5, warmupSteps: 2, saveFinal: false, seed: 1 },
      trainDataset: examples,
      evalDataset: examples.slice(0, 6),
      callbacks: [{ onLog: (entry) => logs.push({ ...entry }) }],
    });
    const result = await trainer.train();
    expect(result.status).toBe('completed');
    expect(result.globalStep).toBe(40);
    const first = logs[0] as { loss: number; mean_token_accuracy: number };
    const last = logs.at(-1) as { loss: number; mean_token_accuracy: number };
    for (const name of ['loss', 'mean_token_accuracy', 'grad_norm', 'learning_rate', 'tokens/s', 'step', 'epoch']) expect(first).toHaveProperty(name);
    expect(last.loss).toBeLessThan(first.loss * 0.7);
    expect(last.mean_token_accuracy).toBeGreaterThan(first.mean_token_accuracy);
    expect(result.lastEval?.eval_loss).toBeLessThan(first.loss);
    expect(readMetrics(dir).filter((m) => 'loss' in m)).toHaveLength(8);
    model.dispose();
  });

  it('resumes bit for bit: N/2 steps, checkpoint, N/2 more equals N uninterrupted steps', async () => {
    const config = { learningRate: 3e-3, batchSize: 8, gradientAccumulationSteps: 2, maxSteps: 6, loggingSteps: 2, saveSteps: 3, warmupSteps: 2, weightDecay: 0.01, seed: 5 };
    const full = mkdtempSync(join(tmpdir(), 'sft-full-'));
    const a = tinyModel(7);
    await new SFTTrainer({ model: a, config: { ...config, outputDir: full }, trainDataset: examples }).train();
    const interrupted = mkdtempSync(join(tmpdir(), 'sft-half-'));
    const b = tinyModel(7);
    const first = await new SFTTrainer({ model: b, config: { ...config, outputDir: interrupted }, trainDataset: examples, callbacks: [{ onStepEnd: (s) => (s.globalStep === 3 ? 'stop' : undefined) }] }).train();
    expect(first.status).toBe('stopped');
    b.dispose();
    const c = tinyModel(99); // different initial weights: everything must come from the checkpoint
    const second = await new SFTTrainer({ model: c, config: { ...config, outputDir: interrupted }, trainDataset: examples }).train({ resumeFrom: join(interrupted, 'checkpoint-3') });
    expect(second.globalStep).toBe(6);
    const wa = weightsOf(a);
    const wc = weightsOf(c);
    expect(wc.length).toBe(wa.length);
    wa.forEach((w, i) => expect(Buffer.from((wc[i] as Float32Array).buffer).equals(Buffer.from(w.buffer))).toBe(true));
    const losses = (dir: string) => readMetrics(dir).filter((m) => 'loss' in m).map((m) => [m.step, m.loss, m.grad_norm, m.mean_token_accuracy]);
    expect(losses(interrupted)).toEqual(losses(full));
    // The last K checkpoints are kept (saveTotalLimit 2).
    expect(readdirSync(full).filter((n) => n.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-3', 'checkpoint-6']);
    a.dispose();
    c.dispose();
  });

  it('skips non-finite steps with a warning and stops after the limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sft-nan-'));
    const model = tinyModel();
    const head = model.parameters.variables().at(-1) as tf.Variable;
    head.assign(tf.fill(head.shape, Number.NaN));
    const warnings: string[] = [];
    const result = await new SFTTrainer({
      model,
      config: { outputDir: dir, batchSize: 8, maxSteps: 20, maxNonFiniteSteps: 3, saveFinal: false },
      trainDataset: examples,
      callbacks: [{ onWarning: (w) => warnings.push(w.code) }],
    }).train();
    expect(result.status).toBe('non_finite');
    expect(result.globalStep).toBe(3);
    expect(result.skippedSteps).toBe(3);
    expect(warnings).toEqual(['non_finite_loss', 'non_finite_loss', 'non_finite_loss']);
    model.dispose();
  });

  it('stops on an abort that arrives from a timer during training (the loop yields between steps)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flex-sft-abort-'));
    const model = tinyModel();
    const controller = new AbortController();
    const trainer = new SFTTrainer({ model, config: { outputDir: dir, maxSteps: 200, batchSize: 4, saveSteps: 0, loggingSteps: 1000 }, trainDataset: examples });
    setTimeout(() => controller.abort(), 0);
    const result = await trainer.train({ signal: controller.signal });
    expect(result.status).toBe('aborted');
    expect(result.globalStep).toBeLessThan(200);
    model.dispose();
  });

  it('rejects a bad config and a bad dataset with typed errors', () => {
    const model = tinyModel();
    expect(() => new SFTTrainer({ model, config: { outputDir: '/tmp/x', learningRate: -1 }, trainDataset: examples })).toThrow(SftError);
    expect(() => new SFTTrainer({ model, config: { outputDir: '/tmp/x', batchSize: 0 }, trainDataset: examples })).toThrow(/batchSize/);
    expect(() => new SFTTrainer({ model, config: { outputDir: '/tmp/x', bogus: 1 } as never, trainDataset: examples })).toThrow(/bogus|Unrecognized/);
    expect(() => new SFTTrainer({ model, config: { outputDir: '/tmp/x' }, trainDataset: [{ prompt: 1 } as never] })).toThrow(/trainDataset\[0\]/);
    // Too long for the model's text positions: refused before training, not when its batch comes up.
    const long = { ...examples[0]!, completion: examples[0]!.completion.repeat(40) };
    expect(exampleLength(model, long)).toBeGreaterThan(model.config.maxTextLength);
    expect(() => new SFTTrainer({ model, config: { outputDir: '/tmp/x' }, trainDataset: [...examples, long] })).toThrow(new RegExp(`trainDataset\\[${examples.length}\\] is \\d+ tokens long.*maxTextLength`));
    expect(new SFTTrainer({ model, config: { outputDir: '/tmp/x' }, trainDataset: [...examples, long], evalDataset: [long], tooLong: 'drop' }).droppedTooLong).toBe(2);
    model.dispose();
  });
});
