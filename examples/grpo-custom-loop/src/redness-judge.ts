import { isVideo, type Judge, type JudgeRequest, type JudgeResult, type Media, type RgbImage } from '@flex/criteria';

/**
 * A stand-in for the Flex judge, so the example runs anywhere in milliseconds: for the prompt "a red square"
 * it prefers the redder image on semantics (A), the less clipped one on quality (B) and the less saturated
 * green on aesthetics (C), and writes the published Flex JSON. Swap in the local Flex model or a remote judge
 * from @flex/model — the loop does not change.
 */
export function rednessJudge(): Judge {
  const mean = (m: Media, channel: number): number => {
    const image = isVideo(m) ? (m.frames[0] as RgbImage) : m;
    let sum = 0;
    for (let i = channel; i < image.data.length; i += 3) sum += image.data[i] as number;
    return sum / (image.data.length / 3);
  };
  const clipping = (m: Media): number => {
    const image = isVideo(m) ? (m.frames[0] as RgbImage) : m;
    return image.data.filter((v) => v <= 0 || v >= 1).length;
  };
  const category = (name: string, first: boolean) => ({
    name,
    dims: [{ name: `${name}: comparison`, reason_1: 'seen in image 1', reason_2: 'seen in image 2', score_1: first ? 7 : 3, score_2: first ? 3 : 7 }],
    cat_reason: first ? 'Image 1 is better here' : 'Image 2 is better here',
    cat_winner: first ? ('Image 1' as const) : ('Image 2' as const),
  });
  return {
    name: 'redness',
    async judge(requests: readonly JudgeRequest[]): Promise<JudgeResult[]> {
      return requests.map((r) => {
        const redness = (m: Media) => mean(m, 0) - 0.5 * (mean(m, 1) + mean(m, 2));
        const a = redness(r.a) >= redness(r.b);
        const b = clipping(r.a) <= clipping(r.b);
        const c = mean(r.a, 1) <= mean(r.b, 1);
        return {
          ok: true,
          probabilityA: a ? 0.8 : 0.2,
          assessment: {
            prompt: r.prompt,
            categories: [category('Semantic Alignment & Accuracy', a), category('Image Quality & Realism', b), category('Aesthetics & Artistry', c)],
            reason: a ? 'Image 1 is redder' : 'Image 2 is redder',
            winner: a ? 'Image 1' : 'Image 2',
          },
        };
      });
    },
  };
}
