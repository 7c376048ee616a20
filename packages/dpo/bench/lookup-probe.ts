// Experiment: can the judge learn to read a flaw from its evidence lines at all? Trains on text-only lookup blocks cut
// from the kept teacher traces (the intent and evidence lines, then the criterion lines of a category where a candidate
// falls short, ", wanted …") with the shortfall tokens weighted; --mix adds the usual SFT examples (traces and pair
// descriptions). It reports nothing itself: run forced-steps.ts (--blocks, and on full traces) and diagnose-judge.ts
// --out <out> on the result. Measured (26 Nov, docs/sft.md session 4): --all-lines teaches the lookup inside blocks
// (balanced first-token accuracy 0.76-0.91) but not in full traces; --all-lines --preceding, then --mix, carries it
// into full traces teacher-forced (B short 0.00 -> 0.85); free-running accuracy stays 0.52.
//   node ../../scripts/run-ts.mjs bench/lookup-probe.ts --base <checkpoint> --data <train folder> --out DIR [--steps 1000] [--lr 1e-3] [--weight 4] [--mix] [--all-lines] [--preceding]
import { join } from 'node:path';
import { initBackend, loadCheckpoint, runMain, saveCheckpoint, type JudgeExample } from '@flex/model';
import { SFTTrainer, judgeExamples, keepTrace, lookupBlocks, loadPairs, openTextExamples, readTraces, tracesFileOf } from '@flex/sft';
import { arg } from './args';

runMain(async () => {
  await initBackend();
  const data = arg('data');
  const traces = readTraces(tracesFileOf(data)).filter((t) => keepTrace(t, 'correct'));
  const blocks: JudgeExample[] = [];
  const preceding = process.argv.includes('--preceding');
  for (const trace of traces) {
    // --all-lines: @flex/sft's lookupBlocks — every criterion line of a category where a candidate falls short (those
    // that meet the requirement too, so the model must decide whether a flaw is there, not only which one); with
    // --preceding the categories before it come along, so the evidence is as far from the criteria as in a full trace.
    // Without --all-lines: only the short criterion lines, after the intent, evidence and category header.
    const texts = process.argv.includes('--all-lines')
      ? lookupBlocks(trace.answer.text, { preceding })
      : lookupBlocks(trace.answer.text, { preceding: false }).map((block) => {
          const lines = block.split('\n').filter((l) => l !== '');
          return `${lines.filter((l) => !l.startsWith('criterion: ') || l.includes(', wanted ')).join('\n')}\n`;
        });
    blocks.push(...openTextExamples(texts));
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
