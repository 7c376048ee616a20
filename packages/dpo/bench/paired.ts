// Paired comparison of two judges on the same test pairs, from two `diagnose-judge.ts --pairs-out` files: each one's
// accuracy, the difference, the pairs only one got right (b: only the second; c: only the first) and the exact
// two-sided sign (McNemar) test on them.
//   node ../../scripts/run-ts.mjs bench/paired.ts --a FIRST.jsonl --b SECOND.jsonl
import { readFileSync } from 'node:fs';
import { runMain } from '@flex/model';
import { arg } from './args';

function read(file: string): Map<string, boolean> {
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { id: string; right: boolean });
  return new Map(rows.map((r) => [r.id, r.right]));
}

/** Two-sided exact binomial test of k successes in n fair coin flips. */
function signTest(k: number, n: number): number {
  let tail = 0;
  let term = 0.5 ** n; // C(n, 0) / 2^n
  for (let i = 0; i <= Math.min(k, n - k); i++) {
    tail += term;
    term = (term * (n - i)) / (i + 1);
  }
  return Math.min(1, 2 * tail);
}

runMain(async () => {
  const a = read(arg('a'));
  const b = read(arg('b'));
  const ids = [...a.keys()].filter((id) => b.has(id));
  if (ids.length === 0) throw new Error('the two files share no pair id');
  const onlyB = ids.filter((id) => b.get(id) && !a.get(id)).length;
  const onlyA = ids.filter((id) => a.get(id) && !b.get(id)).length;
  const acc = (m: Map<string, boolean>) => ids.filter((id) => m.get(id)).length / ids.length;
  console.log(JSON.stringify({ pairs: ids.length, accuracy_a: acc(a), accuracy_b: acc(b), difference: acc(b) - acc(a), only_b_right: onlyB, only_a_right: onlyA, sign_test_p: signTest(Math.min(onlyA, onlyB), onlyA + onlyB) }));
});
