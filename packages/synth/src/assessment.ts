import { pairwiseSchemaFor, pointwiseAssessmentSchema, winnerLabel } from '@flex/criteria';
import type { PairwiseAssessment, PointwiseAssessment } from '@flex/criteria';
import { contextById } from './contexts';
import { describeFacts } from './describe';
import type { SceneFacts } from './facts';
import { describeRequirements, promptText } from './prompt';
import type { PromptSpec } from './prompt';
import type { CandidateScore, CriterionScore } from './score';

const categoryWords: Readonly<Record<string, string>> = { A: 'prompt alignment', B: 'quality', C: 'aesthetics', D: 'the context' };

function reasonFor(c: CriterionScore): string {
  if (c.wanted === '' || c.met || c.seen === c.wanted) return c.seen;
  return `${c.seen}, wanted ${c.wanted}`;
}

/** The split of 10 points for two criterion scores in [0, 1]: 5 + 5·(s1 − s2), rounded. */
export function splitTen(s1: number, s2: number): number {
  return Math.max(0, Math.min(10, Math.round(5 + 5 * (s1 - s2))));
}

/**
 * Write a full pairwise Flex assessment (the published JSON plus `intent` and `evidence`) from the scores and facts
 * of the two candidates as given (slot 1 first). `bias` is added to slot 1's utility difference when choosing winners
 * (a judge's position bias and noise); the scores are written as they are.
 */
export function writePairwiseAssessment(options: {
  spec: PromptSpec;
  prompt?: string;
  first: { facts: SceneFacts; score: CandidateScore };
  second: { facts: SceneFacts; score: CandidateScore };
  bias?: number;
}): PairwiseAssessment {
  const { spec, first, second } = options;
  const modality = spec.modality;
  const label1 = winnerLabel(modality, 1);
  const label2 = winnerLabel(modality, 2);
  const context = contextById(spec.context);
  const bias = options.bias ?? 0;
  const utilityDifference = first.score.utility - second.score.utility + bias;
  const categories = first.score.categories.map((c1) => {
    const c2 = second.score.categories.find((c) => c.id === c1.id) ?? c1;
    const dims = c1.criteria.map((k1, i) => {
      const k2 = c2.criteria[i] ?? k1;
      const score1 = splitTen(k1.score, k2.score);
      return { name: k1.name, reason_1: reasonFor(k1), reason_2: reasonFor(k2), score_1: score1, score_2: 10 - score1 };
    });
    const difference = c1.score - c2.score;
    const slot = difference > 1e-9 ? 1 : difference < -1e-9 ? 2 : utilityDifference >= 0 ? 1 : 2;
    let decisive = 0;
    let decisiveGap = 0;
    c1.criteria.forEach((k, i) => {
      const gap = Math.abs(k.score - (c2.criteria[i]?.score ?? k.score));
      if (gap > decisiveGap) {
        decisiveGap = gap;
        decisive = i;
      }
    });
    const k1 = c1.criteria[decisive] as CriterionScore;
    const k2 = (c2.criteria[decisive] ?? k1) as CriterionScore;
    const winnerSeen = slot === 1 ? k1.seen : k2.seen;
    const loserSeen = slot === 1 ? k2.seen : k1.seen;
    let catReason =
      decisiveGap < 1e-9
        ? `both are equal on ${categoryWords[c1.id] ?? c1.name.toLowerCase()}`
        : winnerSeen === loserSeen
          ? `${slot === 1 ? label1 : label2} is slightly better on ${k1.name.toLowerCase()}`
          : `${slot === 1 ? label1 : label2} is better on ${k1.name.toLowerCase()}: ${winnerSeen} against ${loserSeen}`;
    if (c1.id === 'D' && context !== undefined) catReason = `added because ${context.category.reason}; ${catReason}`;
    return { name: c1.name, dims, cat_reason: catReason, cat_winner: winnerLabel(modality, slot) };
  });
  const slot = utilityDifference >= 0 ? 1 : 2;
  // The category that moved the verdict most, weighted by the context.
  let top = first.score.categories[0]?.id ?? 'A';
  let topGain = -Infinity;
  for (const c1 of first.score.categories) {
    const c2 = second.score.categories.find((c) => c.id === c1.id) ?? c1;
    const gain = (slot === 1 ? 1 : -1) * (c1.score - c2.score) * first.score.weights[c1.id];
    if (gain > topGain) {
      topGain = gain;
      top = c1.id;
    }
  }
  const why = context !== undefined ? ` for ${context.short}` : '';
  const reason = topGain > 1e-9 ? `${winnerLabel(modality, slot)} wins mainly on ${categoryWords[top]}${why}` : `the two are close; ${winnerLabel(modality, slot)} is slightly preferred`;
  const assessment = {
    prompt: options.prompt ?? promptText(spec),
    intent: describeRequirements(spec),
    evidence: [describeFacts(first.facts), describeFacts(second.facts)],
    categories,
    reason,
    winner: winnerLabel(modality, slot),
  };
  return pairwiseSchemaFor(modality).parse(assessment);
}

/** Write a pointwise Flex assessment of one candidate: criteria scored 0–10, categories and overall 0–10 (one decimal). */
export function writePointwiseAssessment(options: { spec: PromptSpec; prompt?: string; facts: SceneFacts; score: CandidateScore }): PointwiseAssessment {
  const { spec, facts, score } = options;
  const context = contextById(spec.context);
  const round1 = (v: number) => Math.round(v * 10) / 10;
  const categories = score.categories.map((c) => {
    const weakest = c.criteria.reduce((a, b) => (b.score < a.score ? b : a));
    let catReason = weakest.score >= 0.999 ? `every ${categoryWords[c.id] ?? 'criterion'} criterion is met` : `weakest: ${weakest.name.toLowerCase()} (${reasonFor(weakest)})`;
    if (c.id === 'D' && context !== undefined) catReason = `added because ${context.category.reason}; ${catReason}`;
    return {
      name: c.name,
      dims: c.criteria.map((k) => ({ name: k.name, reason: reasonFor(k), score: Math.round(10 * k.score) })),
      cat_reason: catReason,
      cat_score: round1(10 * c.score),
    };
  });
  const worst = score.categories.reduce((a, b) => (score.weights[b.id] * (1 - b.score) > score.weights[a.id] * (1 - a.score) ? b : a));
  const reason = worst.score >= 0.999 ? 'it meets the prompt and looks clean' : `held back mostly by ${categoryWords[worst.id]}`;
  return pointwiseAssessmentSchema.parse({
    prompt: options.prompt ?? promptText(spec),
    intent: describeRequirements(spec),
    evidence: [describeFacts(facts)],
    categories,
    reason,
    score: round1(10 * score.utility),
  });
}
