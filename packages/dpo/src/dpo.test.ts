import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCompact, encodeCompact, type PairwiseAssessment } from '@flex/criteria';
import { FlexJudgeModel, buildJudgeTokenizer, initBackend, saveCheckpoint, type Tokenizer } from '@flex/model';
import { SimulatedTeacher, loadCandidateMedia, readAllPairs, synthesize, type PairRecord } from '@flex/synth';
import { DPOTrainer, type DpoExample } from './dpo-trainer';
import { curatePreferences, type CurationPair } from './curate';
import { curate, dpo, preferenceFiles, readPreferenceExamples } from './files';
import { DpoError } from './errors';

let data: string;
let records: PairRecord[];
let tokenizer: Tokenizer;
let traces: Map<string, string>;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  data = join(mkdtempSync(join(tmpdir(), 'dpo-')), 'train');
  await synthesize({ out: data, pairs: 12, seed: 4, width: 16 });
  records = (await readAllPairs({ data })).slice(0, 8);
  const teacher = new SimulatedTeacher();
  traces = new Map(records.map((r) => [r.id, encodeCompact((teacher.assessRecord(r) as { assessment: PairwiseAssessment }).assessment)]));
  tokenizer = buildJudgeTokenizer({ prompts: records.map((r) => r.prompt), texts: [...traces.values()], vocabSize: 384 });
});

function tinyModel(seed = 0): FlexJudgeModel {
  return FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed, layout: 'evidence-first', config: { maxTextLength: 576 } });
}

/** Chosen: the teacher's trace; rejected: the same trace with the overall winner flipped. */
function examples(): DpoExample[] {
  return records.map((r) => {
    const chosen = traces.get(r.id) as string;
    const rejected = chosen.replace(/\| ([12])\n$/, (_, w: string) => `| ${w === '1' ? '2' : '1'}\n`);
    return { media: [loadCandidateMedia(data, r, 'a'), loadCandidateMedia(data, r, 'b')], prompt: r.prompt, chosen, rejected };
  });
}

describe('DPOTrainer', () => {
  it('raises the chosen reward above the rejected one (reference from a frozen copy) and logs TRL names', async () => {
    const model = tinyModel(1);
    const reference = tinyModel(1);
    const logs: Record<string, number>[] = [];
    const trainer = new DPOTrainer({
      model,
      referenceModel: reference,
      config: { outputDir: mkdtempSync(join(tmpdir(), 'dpo-train-')), learningRate: 3e-3, batchSize: 4, maxSteps: 8, loggingSteps: 4, warmupSteps: 1, saveFinal: false, beta: 0.5 },
      trainDataset: examples(),
      callbacks: [{ onLog: (e) => logs.push({ ...e }) }],
    });
    reference.dispose();
    await trainer.train();
    const first = logs[0] as Record<string, number>;
    const last = logs.at(-1) as Record<string, number>;
    for (const name of ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected', 'grad_norm', 'learning_rate', 'tokens/s']) expect(first).toHaveProperty(name);
    // The policy starts equal to the reference (loss log 2) and improves from there.
    expect(first.loss as number).toBeLessThanOrEqual(Math.log(2) + 1e-3);
    expect(last.loss as number).toBeLessThan(first.loss as number);
    expect(last['rewards/margins'] as number).toBeGreaterThan(0);
    expect(last['rewards/accuracies'] as number).toBeGreaterThan(0.5);
    model.dispose();
  });

  it('resumes bit for bit', async () => {
    const base = examples().map((e) => ({ ...e, referenceChosen: -300, referenceRejected: -300 }));
    const config = { learningRate: 2e-3, batchSize: 4, maxSteps: 4, saveSteps: 2, loggingSteps: 1, lossType: 'ipo' as const };
    const full = tinyModel(2);
    await new DPOTrainer({ model: full, config: { ...config, outputDir: mkdtempSync(join(tmpdir(), 'dpo-full-')) }, trainDataset: base }).train();
    const dir = mkdtempSync(join(tmpdir(), 'dpo-half-'));
    const half = tinyModel(2);
    await new DPOTrainer({ model: half, config: { ...config, outputDir: dir }, trainDataset: base, callbacks: [{ onStepEnd: (s) => (s.globalStep === 2 ? 'stop' : undefined) }] }).train();
    half.dispose();
    const resumed = tinyModel(5);
    await new DPOTrainer({ model: resumed, config: { ...config, outputDir: dir }, trainDataset: base }).train({ resumeFrom: true });
    const a = full.parameters.variables().map((v) => Buffer.from((v.dataSync() as Float32Array).buffer));
    const b = resumed.parameters.variables().map((v) => Buffer.from((v.dataSync() as Float32Array).buffer));
    a.forEach((w, i) => expect(w.equals(b[i] as Buffer)).toBe(true));
    full.dispose();
    resumed.dispose();
  });

  it('rejects missing reference log-probs and bad configs with typed errors', () => {
    const model = tinyModel();
    expect(() => new DPOTrainer({ model, config: { outputDir: '/tmp/x' }, trainDataset: examples() })).toThrow(/reference/);
    expect(() => new DPOTrainer({ model, config: { outputDir: '/tmp/x', beta: 0 }, trainDataset: examples() })).toThrow(DpoError);
    model.dispose();
  });
});

describe('curation', () => {
  it('forms chosen (right, well-formed) and rejected (wrong or malformed) pairs with statistics', () => {
    const model = tinyModel(3);
    const pairs: CurationPair[] = records.map((r, i) => ({
      id: r.id,
      prompt: r.prompt,
      modality: 'image',
      a: loadCandidateMedia(data, r, 'a'),
      b: loadCandidateMedia(data, r, 'b'),
      label: r.label,
      swapped: i % 2 === 1,
      teacher: { text: traces.get(r.id) as string, correct: true },
    }));
    const { preferences, stats } = curatePreferences({ model, pairs, samples: 3, temperature: 1, seed: 1, maxNewTokens: 160, teacherPairs: 'when-no-chosen' });
    const decided = records.filter((r) => r.label !== 'tie').length;
    expect(stats.samples).toBe(3 * decided);
    expect(stats.ties).toBe(records.length - decided);
    expect(stats.formed.total).toBe(preferences.length);
    expect(stats.formed.modelModel + stats.formed.teacherModel).toBe(preferences.length);
    expect(preferences.length).toBeGreaterThan(0);
    const winnerOf = (text: string, p: { prompt: string; swapped: boolean }) => {
      const d = decodeCompact(text, { prompt: p.prompt, modality: 'image', mode: 'pairwise' });
      if (!d.ok) return undefined;
      return (d.value as PairwiseAssessment).winner.endsWith('1') !== p.swapped ? 'A' : 'B';
    };
    for (const p of preferences) {
      const label = records.find((r) => r.id === p.id)?.label;
      if (p.kind === 'model-model') expect(winnerOf(p.chosen, p)).toBe(label);
      if (p.rejectedReason === 'wrong_winner') expect(winnerOf(p.rejected, p)).not.toBe(label);
      expect(p.chosen).not.toBe(p.rejected);
    }
    // Same seed, same samples.
    expect(curatePreferences({ model, pairs, samples: 3, temperature: 1, seed: 1, maxNewTokens: 160 }).preferences).toEqual(preferences);
    model.dispose();
  });

  it('curate() writes preferences with precomputed reference log-probs, and dpo() trains from them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dpo-files-'));
    const model = tinyModel(4);
    await saveCheckpoint({ directory: join(root, 'sft'), model });
    model.dispose();
    const out = join(root, 'prefs');
    const curated = await curate({ model: join(root, 'sft'), data, out, samples: 2, maxNewTokens: 160, teacherPairs: 'never', seed: 2 });
    expect(curated.preferences).toBe(curated.stats.formed.total);
    const stats = JSON.parse(readFileSync(join(out, preferenceFiles.stats), 'utf8'));
    expect(stats.samples).toBe(curated.stats.samples);
    if (curated.preferences === 0) return;
    const loaded = await readPreferenceExamples({ preferences: out, data });
    expect(loaded).toHaveLength(curated.preferences);
    expect(loaded.every((e) => Number.isFinite(e.referenceChosen) && (e.referenceChosen as number) < 0)).toBe(true);
    const result = await dpo({ model: join(root, 'sft'), data, preferences: out, out: join(root, 'dpo'), evalShare: 0, config: { maxSteps: 2, batchSize: 4 } });
    expect(result.train.globalStep).toBe(2);
    const first = JSON.parse(readFileSync(join(root, 'dpo', 'metrics.jsonl'), 'utf8').split('\n')[0] as string);
    expect(first.step).toBe(2);
    expect(Number.isFinite(first.loss)).toBe(true);
    await expect(dpo({ model: join(root, 'sft'), data, preferences: join(root, 'none'), out: join(root, 'x') })).rejects.toThrow(/curate first/);
  });
});
