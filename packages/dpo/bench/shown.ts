// Shared by the bench scripts that judge held-out pairs in a given order: what the judge is shown, and the true
// evidence lines of it (each candidate's exact description, in the shown order).
import type { Media } from '@flex/criteria';
import type { LoadedPair } from '@flex/sft';
import { describeScene } from '@flex/synth';

/** The pair as shown (`swapped`: B first): the two media and the two exact descriptions, in that order. */
export function shownPair(pair: LoadedPair, swapped: boolean): { media: Media[]; descriptions: [string, string] } {
  const [first, second] = swapped ? [pair.record.b, pair.record.a] : [pair.record.a, pair.record.b];
  return { media: (swapped ? [pair.b, pair.a] : [pair.a, pair.b]) as Media[], descriptions: [describeScene(first.scene), describeScene(second.scene)] };
}

/** The true evidence lines of a shown pair (`GenerationRequest.evidence`). */
export function trueEvidence(descriptions: readonly [string, string]): string {
  return `evidence 1: ${descriptions[0]}\nevidence 2: ${descriptions[1]}\n`;
}
