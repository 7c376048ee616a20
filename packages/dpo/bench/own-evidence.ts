// Does the free-running judge read its OWN evidence? Generates assessments of held-out test pairs (greedy, constrained,
// evidence-first, A/B alternating) and checks each criterion column against the evidence line the judge itself wrote
// for that candidate: when that line carries a flaw word that the teacher's traces write in this criterion's column
// (learnt from the train traces: criterion label → flaw words), does the column write it; when it carries none, does
// the column meet the requirement? The teacher's own traces of the same pairs are scored the same way (≈ 1 by
// construction) as the check of the measure.
//   node ../../scripts/run-ts.mjs bench/own-evidence.ts --judge <checkpoint> --data <dataset folder with traces.jsonl> --test <test folder>
// Measured (26 Nov, 93 test pairs, docs/sft.md session 4): the reasoning-phase judge writes 0 of the 74 flaws its own
// evidence carries; after the preceding-category lookup blocks 0.61 of 103 (meets the requirement 0.95 when there is
// none; the teacher: 1.00 / 1.00).
import { type Media, encodeCompact } from '@flex/criteria';
import { initBackend, loadCheckpoint, runMain } from '@flex/model';
import { SimulatedTeacher } from '@flex/synth';
import { loadPairs, readTraces, tracesFileOf } from '@flex/sft';
import { arg } from './args';

/** Criterion label → the flaw words its short columns start with in the teacher traces (B and C categories). */
function flawWords(texts: readonly string[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const text of texts) {
    let category = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('category ')) category = line.slice(9, 10);
      if (!line.startsWith('criterion: ') || (category !== 'B' && category !== 'C')) continue;
      const [label, ...columns] = line.slice(11).split(' | ');
      for (const column of columns.slice(0, 2)) {
        if (!column.includes(', wanted ')) continue;
        const words = map.get(label as string) ?? new Set<string>();
        words.add(column.split(', wanted ')[0] as string);
        map.set(label as string, words);
      }
    }
  }
  return map;
}

interface Counts {
  /** Columns whose candidate's evidence line carries one of the criterion's flaw words, and of those, columns that write it. */
  flaw: number;
  flawWritten: number;
  /** Columns whose evidence line carries none, and of those, columns that meet the requirement (no ", wanted"). */
  clean: number;
  cleanMeets: number;
}

/** Scores the B/C criterion columns of one compact assessment against its own evidence lines into `counts`. */
function consistency(text: string, flaws: Map<string, Set<string>>, counts: Counts): void {
  const evidence = ['1', '2'].map((k) => text.split('\n').find((l) => l.startsWith(`evidence ${k}: `)) ?? '');
  let category = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('category ')) category = line.slice(9, 10);
    if (!line.startsWith('criterion: ') || (category !== 'B' && category !== 'C')) continue;
    const [label, ...columns] = line.slice(11).split(' | ');
    const words = flaws.get(label as string);
    if (!words) continue;
    columns.slice(0, 2).forEach((column, k) => {
      const parts = (evidence[k] as string).split(': ').slice(1).join(': ').split(', ');
      const seen = [...words].find((w) => parts.includes(w));
      if (seen) {
        counts.flaw++;
        if (column.startsWith(seen)) counts.flawWritten++;
      } else {
        counts.clean++;
        if (!column.includes(', wanted ')) counts.cleanMeets++;
      }
    });
  }
}

runMain(async () => {
  await initBackend();
  const flaws = flawWords(readTraces(tracesFileOf(arg('data'))).map((t) => t.answer.text));
  const { model } = await loadCheckpoint({ directory: arg('judge'), kind: 'flex-judge' });
  model.layout = 'evidence-first';
  const pairs = (await loadPairs(arg('test'))).filter((p) => p.record.label !== 'tie');
  const outputs = model.generate(
    pairs.map((p, i) => ({ media: (i % 2 ? [p.b, p.a] : [p.a, p.b]) as Media[], prompt: p.record.prompt })),
    { temperature: 0, constrained: true, maxNewTokens: 560, batchSize: 24 },
  );
  const teacher = new SimulatedTeacher();
  const judge: Counts = { flaw: 0, flawWritten: 0, clean: 0, cleanMeets: 0 };
  const check: Counts = { flaw: 0, flawWritten: 0, clean: 0, cleanMeets: 0 };
  pairs.forEach((p, i) => {
    consistency(outputs[i]?.text ?? '', flaws, judge);
    const trace = teacher.assessRecord(p.record, i % 2 === 1);
    if (trace.ok) consistency(encodeCompact(trace.assessment), flaws, check);
  });
  const rate = (c: Counts) => ({ flaw_written: c.flawWritten / Math.max(1, c.flaw), flaw_columns: c.flaw, meets_when_none: c.cleanMeets / Math.max(1, c.clean), clean_columns: c.clean });
  console.log(JSON.stringify({ pairs: pairs.length, judge: rate(judge), teacher: rate(check) }));
  model.dispose();
});
