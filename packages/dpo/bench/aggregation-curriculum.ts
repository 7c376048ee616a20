// Experiment: does SFT learn the aggregation steps (criteria → a category's verdict; verdicts → the overall winner)
// when, beside the full traces, it also sees each step alone as a short text-only example? The blocks are cut from the
// kept teacher traces: each category (its header, criteria and verdict) and the overall step (intent, the verdict
// lines, the overall line). Short examples put the decisive tokens at early positions; with ALiBi the skill should
// carry to the late positions of a full trace. Then `diagnose-judge.ts --out <out>` and `forced-steps.ts` measure it.
//   node ../../scripts/run-ts.mjs bench/aggregation-curriculum.ts --base <checkpoint> --data <train folder> --out DIR
//        [--steps 300] [--blocks 1] [--lr 1.5e-3]
// Measured (26 Nov, from the ALiBi-adapted base, 300 steps, 2 blocks per trace): teacher-forced verdict winner 0.52,
// overall winner 0.59 — no better than without the blocks (docs/sft.md). Kept to reproduce the negative result.
import { join } from 'node:path';
import { initBackend, loadCheckpoint, runMain, saveCheckpoint, type JudgeExample } from '@flex/model';
import { SFTTrainer, judgeExamples, keepTrace, loadPairs, readTraces, tracesFileOf } from '@flex/sft';

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};

/** The aggregation blocks of one compact trace: one per category, and the overall step. */
export function aggregationBlocks(text: string): string[] {
  const lines = text.split('\n').filter((l) => l !== '');
  const blocks: string[] = [];
  let current: string[] = [];
  for (const line of lines) {
    if (line.startsWith('category ')) current = [line];
    else if (current.length > 0) current.push(line);
    if (line.startsWith('verdict ') && current.length > 0) {
      blocks.push(`${current.join('\n')}\n`);
      current = [];
    }
  }
  const intent = lines.find((l) => l.startsWith('intent: '));
  const verdicts = lines.filter((l) => l.startsWith('verdict ') || l.startsWith('category '));
  const overall = lines.find((l) => l.startsWith('overall: '));
  if (overall) blocks.push(`${[...(intent ? [intent] : []), ...verdicts, overall].join('\n')}\n`);
  return blocks;
}

runMain(async () => {
  await initBackend();
  const data = arg('data');
  const pairs = await loadPairs(data);
  const traces = readTraces(tracesFileOf(data));
  const base = judgeExamples({ pairs, traces, filter: 'correct', descriptionMix: 0.5, intentMix: 0.5, seed: 0 });
  const perTrace = Number(arg('blocks', '1'));
  const blocks: JudgeExample[] = [];
  for (const trace of traces) {
    if (!keepTrace(trace, 'correct')) continue;
    const all = aggregationBlocks(trace.answer.text);
    // `perTrace` blocks per kept trace, rotating through them (the overall block always included).
    const chosen = [all[all.length - 1] as string, ...all.slice(0, -1)].slice(0, Math.max(1, perTrace));
    for (const completion of chosen) blocks.push({ media: [], prompt: '', completion, open: true });
  }
  const { model } = await loadCheckpoint({ directory: arg('base'), kind: 'flex-judge' });
  model.layout = 'evidence-first';
  const out = arg('out');
  const trainer = new SFTTrainer({
    model,
    config: { outputDir: out, seed: 0, maxSteps: Number(arg('steps', '300')), batchSize: 12, learningRate: Number(arg('lr', '1.5e-3')), warmupSteps: 20, loggingSteps: 20, saveSteps: 100000, scoreWeight: 2 },
    trainDataset: [...base.examples, ...blocks],
    callbacks: [{ onLog: (e) => process.stderr.write(`${JSON.stringify({ step: e.step, loss: e.loss, mean_token_accuracy: e.mean_token_accuracy })}\n`) }],
  });
  process.stderr.write(`${JSON.stringify({ traces: base.traces, descriptions: base.descriptions, blocks: blocks.length })}\n`);
  await trainer.train();
  await saveCheckpoint({ directory: join(out, 'final'), model });
  model.dispose();
});
