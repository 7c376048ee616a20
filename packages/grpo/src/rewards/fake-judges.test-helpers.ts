import type { Judge, JudgeRequest, JudgeResult, PairwiseAssessment, PointwiseJudge, RgbImage } from '@flex/criteria';
import { isVideo } from '@flex/criteria';

/** A 1×1 image whose three channels carry the scripted qualities (A, B, C). */
export function image(a: number, b = a, c = a): RgbImage {
  return { width: 1, height: 1, data: new Float32Array([a, b, c]) };
}

const names = ['Semantic Alignment & Accuracy', 'Image Quality & Realism', 'Aesthetics & Artistry'];

function channel(request: JudgeRequest, side: 'a' | 'b', k: number): number {
  const media = request[side];
  const img = isVideo(media) ? (media.frames[0] as RgbImage) : media;
  return img.data[k] as number;
}

/** The assessment a scripted judge writes: each category won by the higher channel, overall by the A channel. */
export function assessment(request: JudgeRequest, extra?: { name: string; winner: 1 | 2 }): PairwiseAssessment {
  const label = (slot: 1 | 2) => (request.modality === 'video' ? `Video ${slot}` : `Image ${slot}`) as 'Image 1';
  const categories = names.map((name, k) => {
    const first = channel(request, 'a', k) >= channel(request, 'b', k);
    return {
      name,
      dims: [{ name: `criterion ${k}`, reason_1: 'r1', reason_2: 'r2', score_1: first ? 7 : 3, score_2: first ? 3 : 7 }],
      cat_reason: 'because',
      cat_winner: label(first ? 1 : 2),
    };
  });
  if (extra) {
    categories.push({ name: extra.name, dims: [{ name: 'mood', reason_1: '', reason_2: '', score_1: 5, score_2: 5 }], cat_reason: 'added', cat_winner: label(extra.winner) });
  }
  const first = channel(request, 'a', 0) >= channel(request, 'b', 0);
  return { prompt: request.prompt, categories, reason: 'overall', winner: label(first ? 1 : 2) };
}

/** A deterministic judge: higher first channel wins overall; equal first channels are a tie (probabilityA 0.5). */
export function scriptedJudge(options: { fail?: (request: JudgeRequest) => boolean; extra?: boolean } = {}): Judge & { calls: JudgeRequest[] } {
  const calls: JudgeRequest[] = [];
  return {
    name: 'scripted',
    calls,
    async judge(requests) {
      calls.push(...requests);
      return requests.map((r): JudgeResult => {
        if (options.fail?.(r)) return { ok: false, error: { code: 'parse_error', message: 'unreadable' } };
        const a = channel(r, 'a', 0);
        const b = channel(r, 'b', 0);
        const assessed = assessment(r, options.extra ? { name: 'Mood', winner: a >= b ? 1 : 2 } : undefined);
        return { ok: true, assessment: assessed, probabilityA: a === b ? 0.5 : a > b ? 1 : 0 };
      });
    },
  };
}

/** A judge with total position bias: slot 1 always wins. */
export function biasedJudge(): Judge {
  return {
    name: 'biased',
    async judge(requests) {
      return requests.map((r) => {
        const a = assessment(r);
        const winner = (r.modality === 'video' ? 'Video 1' : 'Image 1') as 'Image 1';
        return { ok: true, assessment: { ...a, winner, categories: a.categories.map((c) => ({ ...c, cat_winner: winner })) }, probabilityA: 0.9 };
      });
    },
  };
}

/** A judge that throws on every call. */
export function throwingJudge(): Judge {
  return {
    name: 'throwing',
    async judge() {
      throw new Error('connection refused');
    },
  };
}

/** A pointwise judge scoring the first channel × 10; fails on scores below 0.05. */
export function scriptedPointwiseJudge(): PointwiseJudge {
  return {
    name: 'pointwise-scripted',
    async score(requests) {
      return requests.map((r) => {
        const img = isVideo(r.media) ? (r.media.frames[0] as RgbImage) : r.media;
        const v = (img.data[0] as number) * 10;
        if (v < 0.5) return { ok: false, error: { code: 'parse_error', message: 'no score' } };
        return {
          ok: true,
          score: v,
          assessment: { prompt: r.prompt, categories: [{ name: 'A', dims: [{ name: 'x', reason: '', score: 5 }], cat_reason: '', cat_score: v }], reason: '', score: v },
        };
      });
    },
  };
}
