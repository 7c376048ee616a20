import type { Judge, JudgeRequest, JudgeResult, Media, Modality, PairwiseAssessment, RgbImage } from '@flex/criteria';
import { winnerLabel } from '@flex/criteria';
import type { BenchmarkPair } from './benchmark';
import { createRandom } from './random';

/** Test helpers (not exported from the package): scripted judges and pairs whose quality is readable. */

/** A flat image whose brightness is the candidate's utility (so a scripted judge can "see" it). */
export function flatImage(value: number, size = 4): RgbImage {
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = value;
  return { width: size, height: size, data };
}

/** The utility a flat image or video encodes. */
export function utilityOf(media: Media): number {
  const image = 'frames' in media ? (media.frames[0] as RgbImage) : media;
  return image.data[0] as number;
}

/** An assessment naming slot winners overall and per category (A, B, C). */
export function assessment(modality: Modality, winner: 1 | 2, categoryWinners: (1 | 2)[] = [winner, winner, winner]): PairwiseAssessment {
  const names =
    modality === 'image'
      ? ['Semantic Alignment & Accuracy', 'Image Quality & Realism', 'Aesthetics & Artistry']
      : ['Semantic Alignment & Accuracy', 'Video Quality & Dynamic Realism', 'Narrative, Aesthetics & Cinematography'];
  return {
    prompt: 'p',
    categories: categoryWinners.map((slot, i) => ({
      name: names[i] ?? `Extra ${i}`,
      dims: [{ name: 'criterion', reason_1: 'r1', reason_2: 'r2', score_1: slot === 1 ? 7 : 3, score_2: slot === 1 ? 3 : 7 }],
      cat_reason: 'because',
      cat_winner: winnerLabel(modality, slot),
    })),
    reason: 'overall',
    winner: winnerLabel(modality, winner),
  } as PairwiseAssessment;
}

/** A judge from a per-request function; records the batch sizes it was called with. */
export function scriptedJudge(name: string, decide: (request: JudgeRequest) => JudgeResult): Judge & { batches: number[] } {
  const batches: number[] = [];
  return {
    name,
    batches,
    async judge(requests) {
      batches.push(requests.length);
      return requests.map(decide);
    },
  };
}

/** Sees the utilities and always picks the better one (P = 0.9), slot 1 on a tie (P = 0.5). */
export const perfectJudge = () =>
  scriptedJudge('perfect', (r) => {
    const d = utilityOf(r.a) - utilityOf(r.b);
    const winner = d >= 0 ? 1 : 2;
    return { ok: true, assessment: assessment(r.modality, winner), probabilityA: d === 0 ? 0.5 : d > 0 ? 0.9 : 0.1 };
  });

/** Always names slot 1, confidently. */
export const firstSlotJudge = () =>
  scriptedJudge('first-slot', (r) => ({ ok: true, assessment: assessment(r.modality, 1), probabilityA: 0.8 }));

/** Never produces a readable output. */
export const failingJudge = () =>
  scriptedJudge('failing', () => ({ ok: false, error: { code: 'parse_error', message: 'no overall line', raw: 'garbage' } }));

/** `count` image pairs with random utilities; labels follow the utilities (tie when equal), contexts alternate. */
export function makePairs(count: number, seed = 1, modality: Modality = 'image'): BenchmarkPair[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const ua = random();
    const ub = i % 10 === 9 ? ua : random();
    const media = (u: number): Media => (modality === 'image' ? flatImage(u) : { frames: [flatImage(u), flatImage(u)], fps: 8 });
    const label = ua > ub ? 'A' : ua < ub ? 'B' : 'tie';
    return {
      id: `pair-${i}`,
      prompt: `prompt ${i}`,
      modality,
      a: media(ua),
      b: media(ub),
      label,
      context: i % 2 ? 'poster' : 'calm',
      oracleCategoryWinners: { A: label, B: label, C: label },
    };
  });
}
