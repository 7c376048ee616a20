// Experiment (the blocks are @flex/sft's aggregationExamples; pretrain({ aggregation }) makes them a recipe phase):
// does SFT learn the aggregation steps (criteria → a category's verdict; verdicts → the overall winner)
// when, beside the full traces, it also sees each step alone as a short text-only example? The blocks are cut from the
// kept teacher traces: each category (its header, criteria and verdict) and the overall step (intent, the verdict
// lines, the overall line). Short examples put the decisive tokens at early positions; with ALiBi the skill should
// carry to the late positions of a full trace. Then `diagnose-judge.ts --out <out>` and `forced-steps.ts` measure it.
//   node ../../scripts/run-ts.mjs bench/aggregation-curriculum.ts --base <checkpoint> --data <train folder> --out DIR
//        [--steps 300] [--blocks 1] [--lr 1.5e-3] [--only-blocks] [--eval-only] [--with-evidence]
// Prints the teacher-forced accuracy of the verdict and overall winners on the blocks of 300 held-out traces, before
// and after (with --only-blocks the run trains on the blocks alone: can the model learn the aggregation at all?).
// Measured (26 Nov, docs/sft.md): mixed into SFT (300 steps, 2 blocks per trace) no gain; blocks alone (--only-blocks,
// 800 then 1,200 more steps) teach the decisions — the image a held-out block's verdict names 0.56 → 0.74, the overall
// 0.83 → 0.95 — and 300 SFT steps from there decide 0.84 / 0.86 inside full held-out traces (forced-steps.ts); 1,000
// more steps of --with-evidence blocks, then 300 SFT steps: 0.86 / 0.91, and the free-running judge 0.56 (93 pairs).
import { join } from 'node:path';
import { initBackend, loadCheckpoint, runMain, saveCheckpoint, type FlexJudgeModel, type JudgeExample } from '@flex/model';
import { SFTTrainer, aggregationExamples, judgeExamples, keepTrace, loadPairs, readTraces, tracesFileOf } from '@flex/sft';
import { forcedPredictions } from './teacher-forcing';
import { arg } from './args';

/** Teacher-forced accuracy of each block's line-closing winners ("| N" after a verdict or overall line). */
function blockWinnerAccuracy(model: FlexJudgeModel, blocks: readonly JudgeExample[]): Record<string, number> {
  const counts: Record<string, [number, number]> = { verdict: [0, 0], overall: [0, 0], 'verdict names': [0, 0], 'overall names': [0, 0] };
  const count = (key: string, right: boolean) => {
    const c = counts[key] as [number, number];
    c[0] += Number(right);
    c[1]++;
  };
  for (const { targets: row, predicted, trained } of forcedPredictions(model, blocks, 16)) {
    let line = '';
    row.forEach((target, t) => {
      if (!trained[t]) return;
      const piece = model.tokenizer.isSpecial(target) ? '' : model.tokenizer.textOf(target);
      const next = row[t + 1];
      const closes = next !== undefined && !model.tokenizer.isSpecial(next) && model.tokenizer.textOf(next) === '\n';
      const kind = line.startsWith('overall: ') ? 'overall' : line.startsWith('verdict ') ? 'verdict' : undefined;
      // The line's closing winner (a copy of the image it named), and the image it names: the decision itself.
      if (kind && closes && /^ ?[12]$/.test(piece)) count(kind, predicted[t] === target);
      if (kind && /Image$/.test(line) && /^ ?[12]$/.test(piece)) count(`${kind} names`, predicted[t] === target);
      line = piece === '\n' ? '' : line + piece;
    });
  }
  return Object.fromEntries(Object.entries(counts).map(([k, [right, n]]) => [k, Math.round((right / Math.max(1, n)) * 1000) / 1000]));
}

runMain(async () => {
  await initBackend();
  const data = arg('data');
  const pairs = await loadPairs(data);
  const all = readTraces(tracesFileOf(data));
  // The last 300 traces are held out: their blocks measure the aggregation steps alone.
  const traces = all.slice(0, -300);
  const heldOut = all.slice(-300).filter((t) => keepTrace(t, 'correct')).flatMap((t) => aggregationExamples(t.answer.text, { withEvidence: process.argv.includes('--with-evidence') }));
  const base = judgeExamples({ pairs, traces, filter: 'correct', descriptionMix: 0.5, intentMix: 0.5, seed: 0 });
  const perTrace = Number(arg('blocks', '1'));
  const blocks: JudgeExample[] = [];
  const withEvidence = process.argv.includes('--with-evidence');
  for (const trace of traces) {
    // `perTrace` blocks per kept trace: the overall step, then the categories in order.
    if (keepTrace(trace, 'correct')) blocks.push(...aggregationExamples(trace.answer.text, { withEvidence, limit: Math.max(1, perTrace) }));
  }
  const { model } = await loadCheckpoint({ directory: arg('base'), kind: 'flex-judge' });
  model.layout = 'evidence-first';
  if (process.argv.includes('--eval-only')) {
    console.log(JSON.stringify(blockWinnerAccuracy(model, heldOut)));
    return;
  }
  const out = arg('out');
  const trainer = new SFTTrainer({
    model,
    config: { outputDir: out, seed: 0, maxSteps: Number(arg('steps', '300')), batchSize: 12, learningRate: Number(arg('lr', '1.5e-3')), warmupSteps: 20, loggingSteps: 20, saveSteps: 100000, scoreWeight: 2 },
    trainDataset: process.argv.includes('--only-blocks') ? blocks : [...base.examples, ...blocks],
    callbacks: [{ onLog: (e) => process.stderr.write(`${JSON.stringify({ step: e.step, loss: e.loss, mean_token_accuracy: e.mean_token_accuracy })}\n`) }],
  });
  process.stderr.write(`${JSON.stringify({ traces: base.traces, descriptions: base.descriptions, blocks: blocks.length, heldOutBlocks: heldOut.length })}\n`);
  process.stderr.write(`${JSON.stringify({ before: blockWinnerAccuracy(model, heldOut) })}\n`);
  await trainer.train();
  process.stderr.write(`${JSON.stringify({ after: blockWinnerAccuracy(model, heldOut) })}\n`);
  await saveCheckpoint({ directory: join(out, 'final'), model });
  model.dispose();
});
