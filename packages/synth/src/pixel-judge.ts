import { z } from 'zod';
import { isVideo } from '@flex/criteria';
import type { Judge, JudgeCallOptions, JudgeRequest, JudgeResult, PointwiseJudge, PointwiseRequest, PointwiseResult } from '@flex/criteria';
import { writePairwiseAssessment, writePointwiseAssessment } from './assessment';
import { parsePrompt } from './parse-prompt';
import { perceiveMedia } from './perceive';
import { scoreFacts } from './score';

/** Options of {@link PixelOracleJudge}. */
export const pixelOracleJudgeOptionsSchema = z.object({
  /** Temperature turning the utility difference into `probabilityA`. Default 0.03 (the oracle's). */
  temperature: z.number().positive().default(0.03),
});
/** Input of {@link PixelOracleJudge}'s constructor. */
export type PixelOracleJudgeOptions = z.input<typeof pixelOracleJudgeOptionsSchema>;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * The world's pixel-level oracle as a `Judge` and `PointwiseJudge`: it reads the prompt sentence back into its spec
 * (`parsePrompt`), recovers facts from each candidate's pixels (`perceiveMedia`) and scores them exactly as the oracle
 * scores scenes. A reference for GRPO and evaluation on the embedded world; prompts outside the world's grammar fail
 * as `invalid_request`.
 */
export class PixelOracleJudge implements Judge, PointwiseJudge {
  readonly name = 'synth-pixel-oracle';
  private readonly temperature: number;

  constructor(options: PixelOracleJudgeOptions = {}) {
    this.temperature = pixelOracleJudgeOptionsSchema.parse(options).temperature;
  }

  /** Judge pairs: one result per request, in order. */
  async judge(requests: readonly JudgeRequest[], options: JudgeCallOptions = {}): Promise<JudgeResult[]> {
    return requests.map((request): JudgeResult => {
      if (options.signal?.aborted === true) return { ok: false, error: { code: 'aborted', message: 'aborted' } };
      const parsed = parsePrompt({ text: request.prompt, modality: request.modality });
      if (!parsed.ok) return { ok: false, error: { code: 'invalid_request', message: parsed.error.message } };
      if (isVideo(request.a) !== (request.modality === 'video') || isVideo(request.b) !== (request.modality === 'video')) {
        return { ok: false, error: { code: 'invalid_request', message: `media do not match modality ${request.modality}` } };
      }
      const spec = { ...parsed.value, modality: request.modality };
      const first = perceiveMedia(request.a);
      const second = perceiveMedia(request.b);
      const scoreFirst = scoreFacts({ spec, facts: first });
      const scoreSecond = scoreFacts({ spec, facts: second });
      const assessment = writePairwiseAssessment({ spec, prompt: request.prompt, first: { facts: first, score: scoreFirst }, second: { facts: second, score: scoreSecond } });
      const categoryProbabilityA: Record<string, number> = {};
      for (const c of scoreFirst.categories) {
        const other = scoreSecond.categories.find((x) => x.id === c.id);
        if (other !== undefined) categoryProbabilityA[c.id] = sigmoid((c.score - other.score) / this.temperature);
      }
      return { ok: true, assessment, probabilityA: sigmoid((scoreFirst.utility - scoreSecond.utility) / this.temperature), categoryProbabilityA };
    });
  }

  /** Score candidates alone (0–10). */
  async score(requests: readonly PointwiseRequest[], options: JudgeCallOptions = {}): Promise<PointwiseResult[]> {
    return requests.map((request): PointwiseResult => {
      if (options.signal?.aborted === true) return { ok: false, error: { code: 'aborted', message: 'aborted' } };
      const parsed = parsePrompt({ text: request.prompt, modality: request.modality });
      if (!parsed.ok) return { ok: false, error: { code: 'invalid_request', message: parsed.error.message } };
      const spec = { ...parsed.value, modality: request.modality };
      const facts = perceiveMedia(request.media);
      if (facts.modality !== request.modality) return { ok: false, error: { code: 'invalid_request', message: `media do not match modality ${request.modality}` } };
      const assessment = writePointwiseAssessment({ spec, prompt: request.prompt, facts, score: scoreFacts({ spec, facts }) });
      return { ok: true, assessment, score: assessment.score };
    });
  }
}
