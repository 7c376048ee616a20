import { describe, expect, it } from 'vitest';
import { imagePairwiseAssessmentSchema, slotOfWinner } from '@flex/criteria';
import { oracleOptionsSchema } from './oracle';
import { samplePair } from './pair';
import { PixelOracleJudge } from './pixel-judge';
import { renderScene } from './render';

describe('PixelOracleJudge', () => {
  it('judges rendered pairs mostly like the scene oracle, and fails as a value on foreign prompts', async () => {
    const oracle = oracleOptionsSchema.parse({});
    const drafts = Array.from({ length: 60 }, (_, i) => samplePair({ modality: 'image', seed: 6, split: 'test', oracle, sharedStyleRate: 0.3 }, i)).filter((d) => Math.abs(d.judgement.utilityA - d.judgement.utilityB) > 0.05);
    const judge = new PixelOracleJudge();
    const results = await judge.judge(drafts.map((d) => ({ prompt: d.prompt, modality: 'image' as const, a: renderScene({ scene: d.a.scene, width: 32 }), b: renderScene({ scene: d.b.scene, width: 32 }) })));
    let agree = 0;
    results.forEach((r, i) => {
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(imagePairwiseAssessmentSchema.safeParse(r.assessment).success).toBe(true);
      if ((slotOfWinner(r.assessment.winner) === 1 ? 'A' : 'B') === drafts[i]!.judgement.preferred) agree++;
    });
    expect(agree / drafts.length).toBeGreaterThan(0.75);
    const [foreign] = await judge.judge([{ prompt: 'a cat on a sofa', modality: 'image', a: renderScene({ scene: drafts[0]!.a.scene }), b: renderScene({ scene: drafts[0]!.b.scene }) }]);
    expect(foreign).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    const [pointwise] = await judge.score([{ prompt: drafts[0]!.prompt, modality: 'image', media: renderScene({ scene: drafts[0]!.a.scene }) }]);
    expect(pointwise?.ok).toBe(true);
  });
});
