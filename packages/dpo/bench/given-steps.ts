// Which reasoning step breaks when the evidence is given? Generates assessments of the held-out test pairs with the
// true descriptions forced as the evidence lines (GenerationRequest.evidence; A/B alternating), and compares each line
// with the ideal trace written from the exact facts (idealAssessment): the intent; per category, whether the judge
// names each ideal criterion, its two "have" columns and the side its score takes (above / at / below 5), split into
// criteria whose two columns differ (the ones that decide) and those that are the same; each verdict's and the
// overall winner; and the differing columns split by whether the ideal column sums several evidence groups. docs/sft.md, session 5.
//   node ../../scripts/run-ts.mjs bench/given-steps.ts --judge <checkpoint> [--test /tmp/flex-diag/test]
import { encodeCompact } from '@flex/criteria';
import { initBackend, loadCheckpoint, runMain } from '@flex/model';
import { idealAssessment } from '@flex/synth';
import { loadPairs } from '@flex/sft';
import { arg } from './args';
import { shownPair, trueEvidence } from './shown';
runMain(async () => {
  await initBackend();
  const { model } = await loadCheckpoint({ directory: arg('judge'), kind: 'flex-judge' });
  model.layout = 'evidence-first';
  const pairs = (await loadPairs(arg('test', '/tmp/flex-diag/test'))).filter((p) => p.record.label !== 'tie');
  const reqs = pairs.map((p, i) => {
    const { media, descriptions } = shownPair(p, i % 2 === 1);
    return { media, prompt: p.record.prompt, evidence: trueEvidence(descriptions) };
  });
  const outs = model.generate(reqs, { temperature: 0, constrained: true, maxNewTokens: 560, batchSize: 24 });
  const c: Record<string, [number, number]> = {};
  const add = (k: string, ok: boolean) => { const v = (c[k] ??= [0, 0]); v[0] += Number(ok); v[1]++; };
  const lines = (t: string) => t.split('\n').filter((l) => l);
  pairs.forEach((p, i) => {
    const ideal = idealAssessment(p.record, { swapped: i % 2 === 1 });
    if (!ideal.ok) return;
    const it = lines(encodeCompact(ideal.assessment));
    const jt = lines(outs[i]!.text);
    add('intent', it.find((l) => l.startsWith('intent:')) === jt.find((l) => l.startsWith('intent:')));
    let cat = '';
    for (const l of it) {
      if (l.startsWith('category ')) cat = l.split(':')[0]!.slice(9);
      if (l.startsWith('criterion: ')) {
        const [name, h1, h2, score] = l.slice(11).split(' | ');
        const mine = jt.find((x) => x.startsWith(`criterion: ${name} |`));
        add(`crit ${cat} named`, !!mine);
        if (!mine) continue;
        const [, m1, m2, ms] = mine.slice(11).split(' | ');
        const differ = h1 !== h2;
        add(`crit ${cat} have1${differ ? ' (differ)' : ''}`, m1 === h1);
        add(`crit ${cat} have2${differ ? ' (differ)' : ''}`, m2 === h2);
        // A column that sums several evidence groups ("2 cyan star, 1 cyan triangle") against one that names one.
        if (differ) {
          const groups = (h: string | undefined) => ((h ?? '').split(', wanted ')[0] as string).split(', ').length;
          for (const [mine, ideal] of [[m1, h1], [m2, h2]] as const) add(`crit ${cat} have (differ, ${groups(ideal) > 1 ? 'several groups' : 'one group'})`, mine === ideal);
        }
        const side = (s: string | undefined) => Math.sign(Number(s) - 5);
        add(`crit ${cat} side${differ ? ' (differ)' : ''}`, side(ms) === side(score));
      }
      if (l.startsWith('verdict ')) {
        const k = l.split(':')[0]!;
        const mine = jt.find((x) => x.startsWith(`${k}:`));
        add(`verdict ${k.slice(8)} winner`, !!mine && mine.slice(-1) === l.slice(-1));
      }
      if (l.startsWith('overall:')) add('overall winner', (jt.find((x) => x.startsWith('overall:')) ?? '').slice(-1) === l.slice(-1));
    }
  });
  for (const [k, [a, n]] of Object.entries(c).sort()) console.log(k.padEnd(28), (a / n).toFixed(2), n);
});
