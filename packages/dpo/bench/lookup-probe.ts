// Experiment: can the judge learn to read a flaw from its evidence lines at all? Trains on text-only "lookup blocks" cut
// from the kept teacher traces — the intent and evidence lines, a category header, and only the criterion lines where a
// candidate falls short (", wanted …") — with the shortfall tokens weighted, then reports nothing itself: run
// forced-steps.ts (--blocks, and on full traces) on the result.
//   node ../../scripts/run-ts.mjs bench/lookup-probe.ts --base <checkpoint> --data <train folder> --out DIR [--steps 1000] [--lr 1e-3] [--weight 4] [--mix]
import { join } from 'node:path';
import { initBackend, loadCheckpoint, runMain, saveCheckpoint, type JudgeExample } from '@flex/model';
import { SFTTrainer, aggregationBlocks, judgeExamples, keepTrace, loadPairs, readTraces, tracesFileOf } from '@flex/sft';

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};

runMain(async () => {
  await initBackend();
  const data = arg('data');
  const traces = readTraces(tracesFileOf(data)).filter((t) => keepTrace(t, 'correct'));
  const blocks: JudgeExample[] = [];
  for (const trace of traces) {
    for (const block of aggregationBlocks(trace.answer.text, { withEvidence: true }).slice(1)) {
      const lines = block.split('\n').filter((l) => l !== '');
      const short = lines.filter((l) => l.startsWith('criterion: ') && l.includes(', wanted '));
      if (short.length === 0) continue;
      const context = lines.filter((l) => l.startsWith('intent: ') || l.startsWith('evidence ') || l.startsWith('category '));
      // --all-lines: every criterion line of the block (the candidates that meet the requirement too), so the model
      // must decide whether a flaw is there, not only which one.
      const criteria = process.argv.includes('--all-lines') ? lines.filter((l) => l.startsWith('criterion: ')) : short;
      blocks.push({ media: [], prompt: '', completion: `${[...context, ...criteria].join('\n')}\n`, open: true });
    }
  }
  const { model } = await loadCheckpoint({ directory: arg('base'), kind: 'flex-judge' });
  model.layout = 'evidence-first';
  const mixed = process.argv.includes('--mix') ? judgeExamples({ pairs: await loadPairs(data), traces, filter: 'correct', descriptionMix: 0.5, intentMix: 0, seed: 0 }).examples : [];
  process.stderr.write(`${JSON.stringify({ blocks: blocks.length, mixed: mixed.length })}\n`);
  const trainer = new SFTTrainer({
    model,
    config: { outputDir: arg('out'), seed: 0, maxSteps: Number(arg('steps', '1000')), batchSize: 16, learningRate: Number(arg('lr', '1e-3')), warmupSteps: 20, loggingSteps: 50, saveSteps: 100000, shortfallWeight: Number(arg('weight', '4')) },
    trainDataset: [...blocks, ...mixed],
    callbacks: [{ onLog: (e) => process.stderr.write(`${JSON.stringify({ step: e.step, loss: e.loss, mean_token_accuracy: e.mean_token_accuracy })}\n`) }],
  });
  await trainer.train();
  await saveCheckpoint({ directory: join(arg('out'), 'final'), model });
  model.dispose();
});
