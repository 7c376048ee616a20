// Where does a pairwise judge's reasoning break? Synthesizes (once) a train split with teacher traces and a test
// split, fine-tunes a judge with sft() unless <out>/final exists, then judges the test pairs greedily (constrained,
// evidence-first, A/B alternating) and compares every step with the teacher's trace for the same pair:
// intent restated exactly, each evidence line exact, accuracy when both evidences are exact, share of "Image 1"
// verdicts (position bias), agreement with the teacher. Prints three outputs beside the teacher's, then one JSON line.
// --given-evidence forces the true descriptions as the evidence lines (GenerationRequest.evidence): the accuracy of the
// reasoning alone, with perfect perception. --pairs-out FILE writes whether each test pair was judged right (JSON lines),
// for a paired comparison of two judges on the same pairs (bench/paired.ts).
//   node ../../scripts/run-ts.mjs bench/diagnose-judge.ts --base <checkpoint> [--root /tmp/flex-diag] [--out DIR] [--given-evidence]
//        [--train 3000] [--steps 300] [--lr 1.5e-3] [--mix 0.5] [--intent 0.5] [--lookup 0] [--save N] [--score-weight 2] [--shortfall-weight 1] [--deciding-weight 1] [--batch 12] [--accum 1] [--pairs-out FILE]
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PairwiseAssessment, decodeCompact, encodeCompact } from '@flex/criteria';
import { initBackend, loadCheckpoint, runMain } from '@flex/model';
import { SimulatedTeacher, synthesize } from '@flex/synth';
import { baseImageCheckpoint, distill, loadPairs, sft } from '@flex/sft';
import { arg } from './args';
import { shownPair, trueEvidence } from './shown';

runMain(async () => {
  await initBackend();
  const root = arg('root', '/tmp/flex-diag');
  const train = join(root, 'train');
  const test = join(root, 'test');
  if (!existsSync(join(train, 'traces.jsonl'))) {
    await synthesize({ out: train, pairs: Number(arg('train', '3000')), seed: 1000, split: 'train' });
    await synthesize({ out: test, pairs: 100, seed: 2000, split: 'test' });
    await distill({ data: train, teacher: new SimulatedTeacher(), filter: 'correct', seed: 0 });
  }
  const out = arg('out', join(root, 'sft'));
  let checkpoint = join(out, 'final');
  if (!existsSync(join(checkpoint, 'config.json'))) {
    const result = await sft({
      base: arg('base', baseImageCheckpoint),
      data: train,
      out,
      filter: 'correct',
      descriptionMix: Number(arg('mix', '0.5')),
      intentMix: Number(arg('intent', '0.5')),
      lookupMix: Number(arg('lookup', '0')),
      evalShare: 0,
      seed: 0,
      config: { maxSteps: Number(arg('steps', '300')), saveSteps: Number(arg('save', '100000')), saveTotalLimit: 20, batchSize: Number(arg('batch', '12')), gradientAccumulationSteps: Number(arg('accum', '1')), learningRate: Number(arg('lr', '1.5e-3')), warmupSteps: 20, loggingSteps: 20, scoreWeight: Number(arg('score-weight', '2')), shortfallWeight: Number(arg('shortfall-weight', '1')), decidingWeight: Number(arg('deciding-weight', '1')) },
      callbacks: [{ onLog: (e) => process.stderr.write(`${JSON.stringify({ step: e.step, loss: e.loss, mean_token_accuracy: e.mean_token_accuracy })}\n`) }],
    });
    checkpoint = result.checkpoint;
  }
  const { model } = await loadCheckpoint({ directory: checkpoint, kind: 'flex-judge' });
  model.layout = 'evidence-first';
  const pairs = (await loadPairs(test)).filter((p) => p.record.label !== 'tie');
  const given = process.argv.includes('--given-evidence');
  const shown = pairs.map((p, i) => shownPair(p, i % 2 === 1));
  const outputs = model.generate(
    pairs.map((p, i) => ({ media: shown[i]!.media, prompt: p.record.prompt, ...(given ? { evidence: trueEvidence(shown[i]!.descriptions) } : {}) })),
    { temperature: 0, constrained: true, maxNewTokens: 560, batchSize: 24 },
  );
  const teacher = new SimulatedTeacher();
  const lineOf = (text: string, prefix: string) => text.split('\n').find((l) => l.startsWith(prefix)) ?? '';
  // Per pair, whether the judge was right (--pairs-out FILE, one JSON line each): for paired comparisons of two judges.
  const perPair: { id: string; right: boolean }[] = [];
  const counts = { right: 0, first: 0, evidence: 0, both: 0, rightGivenBoth: 0, intent: 0, agree: 0, parsed: 0 };
  pairs.forEach((p, i) => {
    const swapped = i % 2 === 1;
    const text = outputs[i]?.text ?? '';
    const trace = teacher.assessRecord(p.record, swapped);
    const teacherText = trace.ok ? encodeCompact(trace.assessment) : '';
    const [d1, d2] = shown[i]!.descriptions;
    const e1 = lineOf(text, 'evidence 1:').slice(12).trim() === d1;
    const e2 = lineOf(text, 'evidence 2:').slice(12).trim() === d2;
    if (lineOf(text, 'intent:') === lineOf(teacherText, 'intent:')) counts.intent++;
    counts.evidence += Number(e1) + Number(e2);
    const decoded = decodeCompact(text, { prompt: p.record.prompt, modality: 'image', mode: 'pairwise' });
    if (i < 3) console.log(`=== ${p.record.prompt} (label ${p.record.label}, shown ${swapped ? 'B, A' : 'A, B'})\n--- judge\n${text}\n--- teacher\n${teacherText}`);
    if (!decoded.ok) {
      perPair.push({ id: p.record.id, right: false });
      return;
    }
    counts.parsed++;
    const saysFirst = (decoded.value as PairwiseAssessment).winner.endsWith('1');
    const right = (saysFirst !== swapped ? 'A' : 'B') === p.record.label;
    counts.first += Number(saysFirst);
    counts.right += Number(right);
    perPair.push({ id: p.record.id, right });
    if (e1 && e2) {
      counts.both++;
      counts.rightGivenBoth += Number(right);
    }
    if (trace.ok && trace.assessment.winner.endsWith('1') === saysFirst) counts.agree++;
  });
  const n = pairs.length;
  if (process.argv.includes('--pairs-out')) writeFileSync(arg('pairs-out'), perPair.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(
    JSON.stringify({
      pairs: n,
      given_evidence: given,
      accuracy: counts.right / n,
      parse_rate: counts.parsed / n,
      says_image_1: counts.first / Math.max(1, counts.parsed),
      intent_exact: counts.intent / n,
      evidence_lines_exact: counts.evidence / (2 * n),
      both_evidences_exact: counts.both / n,
      accuracy_given_both_exact: counts.both ? counts.rightGivenBoth / counts.both : null,
      agrees_with_teacher: counts.agree / n,
    }),
  );
  model.dispose();
});
