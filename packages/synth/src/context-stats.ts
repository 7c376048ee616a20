import { contextIds } from './contexts';
import { sceneFacts } from './facts';
import type { SceneFacts } from './facts';
import { judgePair } from './oracle';
import type { ResolvedOracleOptions } from './oracle';
import type { PromptSpec } from './prompt';
import { categoryScoreOf, scoreFacts } from './score';

/** What the context statistics need of a pair. */
export interface ContextStatsInput {
  readonly spec: PromptSpec;
  readonly a: SceneFacts;
  readonly b: SceneFacts;
  readonly label: 'A' | 'B' | 'tie';
}

/** Context sensitivity of a set of pairs. */
export interface ContextSensitivity {
  /** Share of (pair, other context) combinations where the oracle's noiseless preference reverses (A ↔ B). */
  readonly contextFlipRate: number;
  /** Share of pairs that reverse under at least one other context. */
  readonly pairsFlippingUnderSomeContext: number;
  /** Best accuracy (non-tie labels) of any single context-blind weighting of category scores. */
  readonly contextBlindCeiling: number;
  /** The weights of that best context-blind scorer over [A, B, C, mean D over every context]. */
  readonly contextBlindWeights: readonly [number, number, number, number];
  /** Agreement of the oracle's noiseless preference with its own noisy labels (non-tie labels). */
  readonly oracleAgreement: number;
  /** Number of pairs with a non-tie label. */
  readonly decisivePairs: number;
}

/** Context-blind category scores of one candidate: A, B, C without a context, and D averaged over every context. */
export function blindFeatures(spec: PromptSpec, facts: SceneFacts): [number, number, number, number] {
  const neutral = scoreFacts({ spec, facts, context: null });
  let d = 0;
  for (const id of contextIds) d += categoryScoreOf(scoreFacts({ spec, facts, context: id }), 'D') ?? 0;
  return [categoryScoreOf(neutral, 'A') ?? 0, categoryScoreOf(neutral, 'B') ?? 0, categoryScoreOf(neutral, 'C') ?? 0, d / contextIds.length];
}

/**
 * Measure how much the context matters: the flip rate under every other context (and no context), the best
 * context-blind weighting's accuracy (a grid over the simplex in steps of `step`), and the oracle's own agreement.
 */
export function contextSensitivity(pairs: readonly ContextStatsInput[], oracle: ResolvedOracleOptions, step = 0.05): ContextSensitivity {
  let flips = 0;
  let comparisons = 0;
  let pairsFlipping = 0;
  let agree = 0;
  let decisive = 0;
  const diffs: [number, number, number, number][] = [];
  const labels: number[] = [];
  for (const p of pairs) {
    const own = judgePair(p.spec, p.a, p.b, oracle);
    let flippedHere = false;
    for (const other of [null, ...contextIds]) {
      if (other === p.spec.context) continue;
      const alt = judgePair(p.spec, p.a, p.b, oracle, other);
      comparisons++;
      if (own.preferred !== 'tie' && alt.preferred !== 'tie' && alt.preferred !== own.preferred) {
        flips++;
        flippedHere = true;
      }
    }
    if (flippedHere) pairsFlipping++;
    if (p.label === 'tie') continue;
    decisive++;
    if (own.preferred === p.label) agree++;
    const fa = blindFeatures(p.spec, p.a);
    const fb = blindFeatures(p.spec, p.b);
    diffs.push([fa[0] - fb[0], fa[1] - fb[1], fa[2] - fb[2], fa[3] - fb[3]]);
    labels.push(p.label === 'A' ? 1 : -1);
  }
  let best = 0;
  let bestWeights: [number, number, number, number] = [1, 0, 0, 0];
  const n = Math.round(1 / step);
  for (let i = 0; i <= n; i++) {
    for (let j = 0; i + j <= n; j++) {
      for (let k = 0; i + j + k <= n; k++) {
        const l = n - i - j - k;
        const w: [number, number, number, number] = [i / n, j / n, k / n, l / n];
        let correct = 0;
        for (let q = 0; q < diffs.length; q++) {
          const d = diffs[q] as [number, number, number, number];
          const s = w[0] * d[0] + w[1] * d[1] + w[2] * d[2] + w[3] * d[3];
          if (s === 0) correct += 0.5;
          else if (Math.sign(s) === labels[q]) correct++;
        }
        if (correct > best) {
          best = correct;
          bestWeights = w;
        }
      }
    }
  }
  return {
    contextFlipRate: comparisons === 0 ? 0 : flips / comparisons,
    pairsFlippingUnderSomeContext: pairs.length === 0 ? 0 : pairsFlipping / pairs.length,
    contextBlindCeiling: decisive === 0 ? 0 : best / decisive,
    contextBlindWeights: bestWeights,
    oracleAgreement: decisive === 0 ? 0 : agree / decisive,
    decisivePairs: decisive,
  };
}

/** Context-stats input of a record-like object (scenes → exact facts). */
export function contextStatsInput(record: { spec: PromptSpec; a: { scene: Parameters<typeof sceneFacts>[0] }; b: { scene: Parameters<typeof sceneFacts>[0] }; label: 'A' | 'B' | 'tie' }): ContextStatsInput {
  return { spec: record.spec, a: sceneFacts(record.a.scene), b: sceneFacts(record.b.scene), label: record.label };
}
