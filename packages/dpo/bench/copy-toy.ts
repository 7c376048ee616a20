// Toy: can the judge architecture copy "Image N" to the line's final "| N" when earlier lines mention both images?
// Text only, small preset, trained from scratch with absolute positions only and with ALiBi; prints the teacher-forced
// accuracy of the last line's number and of the verdict lines' numbers. LINES_MIN sets the shortest trace (lines).
//   LINES_MIN=26 node ../../scripts/run-ts.mjs bench/copy-toy.ts [steps=300]
// Measured (26 Nov): 6–15 lines (~240 tokens) both 1.00; 26–35 lines (~550 tokens) none 0.83, alibi 1.00.
import { FlexJudgeModel, buildJudgeTokenizer, createOptimizer, initBackend, runMain, trainStep } from '@flex/model';
import { forcedPredictions } from './teacher-forcing';

runMain(async () => {
  await initBackend();
  let seed = 1;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  const words = ['colour', 'shape', 'count', 'quality', 'exposure', 'noise', 'blur', 'context', 'balance', 'palette'];
  const example = () => {
    const lines: string[] = [];
    const n = Number(process.env.LINES_MIN ?? 6) + Math.floor(rnd() * 10);
    for (let i = 0; i < n; i++) {
      const w = 1 + Math.floor(rnd() * 2);
      lines.push(`verdict: Image ${w} is better on ${words[Math.floor(rnd() * 10)]} and ${words[Math.floor(rnd() * 10)]} | ${w}`);
    }
    const w = 1 + Math.floor(rnd() * 2);
    lines.push(`overall: Image ${w} wins mainly on ${words[Math.floor(rnd() * 10)]} for ${words[Math.floor(rnd() * 10)]} | ${w}`);
    return `${lines.join('\n')}\n`;
  };
  const corpus = Array.from({ length: 50 }, example);
  const tokenizer = buildJudgeTokenizer({ prompts: ['p'], texts: corpus, vocabSize: 200 });
  for (const bias of ['none', 'alibi'] as const) {
    const model = FlexJudgeModel.create({ preset: 'small', tokenizer, seed: 0, config: { maxTextLength: 640, positionBias: bias }, layout: 'prompt-first' });
    const optimizer = createOptimizer({ learningRate: 1e-3 });
    const steps = Number(process.argv[3] ?? 300);
    for (let s = 0; s < steps; s++) {
      const batch = model.prepareBatch(Array.from({ length: 16 }, () => ({ media: [], prompt: 'p', completion: example() })));
      trainStep({ parameters: model.parameters, optimizer, maxGradNorm: 1, loss: () => model.loss(batch) });
      batch.dispose();
    }
    // measure: overall line's final digit, teacher-forced
    const tests = Array.from({ length: 64 }, () => ({ media: [], prompt: 'p', completion: example() }));
    let right = 0, verdictRight = 0, verdicts = 0;
    for (const { targets, predicted, trained } of forcedPredictions(model, tests, 64)) {
      // positions of digits followed by a newline
      const finals: number[] = [];
      for (let t = 0; t < targets.length - 1; t++) if (trained[t] && tokenizer.textOf(targets[t + 1]!) === '\n' && /^\s?\d$/.test(tokenizer.textOf(targets[t]!))) finals.push(t);
      const last = finals[finals.length - 1]!;
      right += Number(predicted[last] === targets[last]);
      for (const t of finals.slice(0, -1)) { verdicts++; verdictRight += Number(predicted[t] === targets[t]); }
    }
    console.log(JSON.stringify({ bias, steps, overall_final: right / 64, verdict_final: verdictRight / verdicts }));
    model.dispose(); optimizer.dispose();
  }
});
