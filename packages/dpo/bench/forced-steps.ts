// Where does a judge's reasoning fail when every earlier step is given? Feeds the teacher's own trace of each held-out
// pair (teacher forcing, evidence-first, A/B alternating) and scores the judge's next-token prediction line by line:
// evidence, intent, criteria whose two candidates' columns are the same or differ, verdicts that name a better image
// or call it equal, and the overall line — both every token and the line's decisive last token (a criterion's score,
// a verdict's or the overall winner), and [names]: the image a verdict or the overall line names (the decision
// itself). Also token accuracy by position, to see whether late positions are weaker.
//   node ../../scripts/run-ts.mjs bench/forced-steps.ts --judge <checkpoint> --data <dataset folder> [--pairs 64] [--blocks]
// Prints one line per bucket, then one JSON object.
import { type Media, encodeCompact } from '@flex/criteria';
import { initBackend, loadCheckpoint, runMain } from '@flex/model';
import { forcedPredictions } from './teacher-forcing';
import { SimulatedTeacher } from '@flex/synth';
import { aggregationExamples, loadPairs } from '@flex/sft';
import { arg } from './args';

/** The bucket of a line of a compact pairwise assessment (`category` is the current category letter). */
function bucketOf(line: string, category: string): string {
  const head = line.split(':')[0] ?? '';
  if (head === 'criterion') {
    const columns = line.split(' | ');
    return `criterion ${category} ${columns[1] === columns[2] ? 'same' : 'differ'}`;
  }
  if (head.startsWith('verdict')) return `verdict ${line.includes('both are equal') ? 'equal' : 'better'}`;
  if (head.startsWith('evidence')) return 'evidence';
  if (head.startsWith('category')) return 'category';
  return head;
}

runMain(async () => {
  await initBackend();
  const { model } = await loadCheckpoint({ directory: arg('judge'), kind: 'flex-judge' });
  model.layout = 'evidence-first';
  const pairs = (await loadPairs(arg('data'))).filter((p) => p.record.label !== 'tie').slice(0, Number(arg('pairs', '64')));
  const teacher = new SimulatedTeacher();
  const examples = pairs.flatMap((p, i) => {
    const swapped = i % 2 === 1;
    const trace = teacher.assessRecord(p.record, swapped);
    if (!trace.ok) return [];
    // --blocks: the trace's category blocks with its intent and evidence in front (text only), as the block phases train them.
    if (process.argv.includes('--blocks')) return aggregationExamples(encodeCompact(trace.assessment), { withEvidence: true }).slice(1);
    return [{ media: (swapped ? [p.b, p.a] : [p.a, p.b]) as Media[], prompt: p.record.prompt, completion: encodeCompact(trace.assessment) }];
  });
  const buckets = new Map<string, [number, number]>();
  const add = (key: string, right: boolean) => {
    const b = buckets.get(key) ?? [0, 0];
    b[0] += Number(right);
    b[1]++;
    buckets.set(key, b);
  };
  const tokenizer = model.tokenizer;
  for (const { targets: row, predicted, trained } of forcedPredictions(model, examples)) {
    let category = '';
    let line = '';
    let pending: { t: number; right: boolean; guess: string; truth: string }[] = [];
    const flush = () => {
      if (line.startsWith('category ')) category = line.slice(9, 10);
      const key = bucketOf(line, category);
      for (const p of pending) {
        add(key, p.right);
        add(`position ${p.t < 150 ? '000-149' : p.t < 300 ? '150-299' : p.t < 400 ? '300-399' : p.t < 470 ? '400-469' : '470+'}`, p.right);
      }
      // The token before the newline: a criterion's score, a verdict's or the overall winner.
      const decisive = pending[pending.length - 2];
      if (decisive) {
        add(`${key} [decisive]`, decisive.right);
        // A criterion's score: the same side of 5 (which candidate it favours) even when not the exact number.
        const side = (v: string) => Math.sign(Number(v) - 5);
        if (key.startsWith('criterion') && /^\s?\d+$/.test(decisive.truth) && /^\s?\d+$/.test(decisive.guess)) add(`${key} [side]`, side(decisive.guess) === side(decisive.truth));
      }
      // The first token of each candidate's "have" column: the lookup in its evidence line. A column that carries
      // ", wanted …" differs from the requirement (the candidate falls short), so copying the intent gets it wrong.
      if (key.startsWith('criterion')) {
        const columns = line.split(' | ');
        let offset = 0;
        const starts = columns.map((c) => ((offset += c.length + 3), offset - c.length - 3));
        [1, 2].forEach((k) => {
          const start = starts[k];
          const column = columns[k];
          if (start === undefined || column === undefined || k >= columns.length - 1) return;
          let at = 0;
          const first = pending.find((p) => ((at += p.truth.length), at > start && p.truth.trim() !== ''));
          if (first) add(`have ${key.split(' ')[1]} ${column.includes('wanted') ? 'short' : 'meets'} [first]`, first.right);
        });
      }
      pending = [];
      line = '';
    };
    const textOf = (id: number) => (tokenizer.isSpecial(id) ? '' : tokenizer.textOf(id));
    row.forEach((target, t) => {
      if (!trained[t]) return;
      const guess = predicted[t] as number;
      const piece = textOf(target);
      pending.push({ t, right: guess === target, guess: textOf(guess), truth: piece });
      // The image a verdict or the overall line names ("Image 2 is better …"): the decision itself.
      if (/Image$/.test(line) && /^ ?[12]$/.test(piece)) add(`${line.startsWith('overall') ? 'overall' : 'verdict'} [names]`, guess === target);
      if (piece === '\n' || tokenizer.isSpecial(target)) flush();
      else line += piece;
    });
    if (pending.length) flush();
  }
  const result: Record<string, { accuracy: number; tokens: number }> = {};
  for (const [key, [right, n]] of [...buckets.entries()].sort()) {
    result[key] = { accuracy: Math.round((right / n) * 1000) / 1000, tokens: n };
    console.log(`${key.padEnd(30)} ${(right / n).toFixed(3)} ${n}`);
  }
  console.log(JSON.stringify({ pairs: examples.length, buckets: result }));
  model.dispose();
});
