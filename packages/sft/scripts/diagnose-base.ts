// Measures a base (or judge) checkpoint on held-out prompt-conditioned checks — the pointwise mode — step by step:
// is the intent restated exactly, is the evidence exact, are the criterion lines exact, how close and how correlated
// is the overall 0–10 score with the exact check's. Greedy, unconstrained, evidence-first.
//   node ../../scripts/run-ts.mjs scripts/diagnose-base.ts <checkpoint> [count=60]
import { initBackend, loadCheckpoint, runMain } from '@flex/model';
import { checkExample } from '../src/examples';
import { drawWorldPairs } from '../src/world';

runMain(async () => {
  const directory = process.argv[3];
  if (!directory) throw new Error('usage: diagnose-base.ts <checkpoint> [count]');
  const count = Number(process.argv[4] ?? 60);
  await initBackend();
  const { model } = await loadCheckpoint({ directory, kind: 'flex-judge' });
  model.layout = 'evidence-first';
  const held = drawWorldPairs({ seed: 1, split: 'test', count, size: model.config.vision.imageSize });
  const examples = held.map((p, i) => checkExample(p.record, i % 2 ? p.b : p.a, (i % 2 ? p.record.b : p.record.a).scene));
  const outputs = model.generate(examples.map((e) => ({ media: e.media, prompt: e.prompt })), { temperature: 0, constrained: false, maxNewTokens: 420, batchSize: 30 });
  const line = (lines: string[], prefix: string) => lines.find((l) => l.startsWith(prefix)) ?? '';
  const overall = (lines: string[]) => Number(line(lines, 'overall:').split('|').pop());
  let intent = 0;
  let evidence = 0;
  let within = 0;
  let criteria = 0;
  let criteriaRight = 0;
  const written: number[] = [];
  const truth: number[] = [];
  examples.forEach((e, i) => {
    const got = (outputs[i]?.text ?? '').split('\n');
    const want = e.completion.split('\n');
    if (line(got, 'intent:') === line(want, 'intent:')) intent++;
    if (line(got, 'evidence:') === line(want, 'evidence:')) evidence++;
    const a = overall(got);
    const b = overall(want);
    if (Number.isFinite(a)) {
      written.push(a);
      truth.push(b);
      if (Math.abs(a - b) <= 1) within++;
    }
    want.forEach((l, j) => {
      if (!l.startsWith('criterion:')) return;
      criteria++;
      if (got[j] === l) criteriaRight++;
    });
  });
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
  const [mx, my] = [mean(written), mean(truth)];
  const cov = written.reduce((s, x, i) => s + (x - mx) * ((truth[i] as number) - my), 0);
  const vx = written.reduce((s, x) => s + (x - mx) ** 2, 0);
  const vy = truth.reduce((s, y) => s + (y - my) ** 2, 0);
  const n = examples.length;
  console.log(JSON.stringify({ checks: n, intent_exact: intent / n, evidence_exact: evidence / n, criterion_lines_exact: criteriaRight / Math.max(1, criteria), overall_within_1: within / n, overall_correlation: cov / Math.sqrt(vx * vy || 1), overall_parsed: written.length / n }));
  model.dispose();
});
