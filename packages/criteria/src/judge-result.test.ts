import { describe, expect, it } from 'vitest';
import { publishedExample } from './arbitraries.test-helpers';
import { judgeResultFromText, pointwiseResultFromText, probabilityAFromScores, toJudgeError } from './index';

describe('judgeResultFromText', () => {
  const text = `Here is my assessment:\n\`\`\`json\n${JSON.stringify(publishedExample)}\n\`\`\``;
  it('returns the assessment with P(A) from the scores, the raw text and the warnings', () => {
    const r = judgeResultFromText(text, { modality: 'image', prompt: publishedExample.prompt });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.assessment).toEqual(publishedExample);
    expect(r.probabilityA).toBe(probabilityAFromScores(publishedExample).probabilityA);
    expect(Object.keys(r.categoryProbabilityA ?? {})).toEqual(['A', 'B', 'C', 'D']);
    expect(r.raw).toBe(text);
    expect(r.warnings?.map((w) => w.code)).toEqual(['surrounding_text']);
  });
  it('can take P(A) from the winners instead', () => {
    const r = judgeResultFromText(text, { modality: 'image', probability: 'winner' });
    expect(r).toMatchObject({ ok: true, probabilityA: 1, categoryProbabilityA: { A: 1, B: 0, C: 1, D: 1 } });
  });
  it('maps parse failures to the Judge error codes, keeping the raw text', () => {
    expect(judgeResultFromText('no idea', { modality: 'image' })).toEqual({
      ok: false,
      error: { code: 'parse_error', message: 'no_assessment: the answer contains no JSON object', raw: 'no idea' },
    });
    const tie = judgeResultFromText(JSON.stringify({ ...publishedExample, winner: 'tie' }), { modality: 'image' });
    expect(tie).toMatchObject({ ok: false, error: { code: 'invalid_assessment' } });
    expect(!tie.ok && tie.error.message).toContain('($.winner)');
    expect(toJudgeError({ code: 'invalid_options', message: 'bad' })).toEqual({ code: 'invalid_request', message: 'invalid_options: bad' });
    expect(toJudgeError({ code: 'invalid_score', message: 'x', line: 3, path: '$.categories[0]' }, 'raw')).toEqual({ code: 'invalid_assessment', message: 'invalid_score: x ($.categories[0], line 3)', raw: 'raw' });
  });
});

describe('pointwiseResultFromText', () => {
  it('returns the assessment and its score, or a typed failure', () => {
    const text = JSON.stringify({ prompt: 'p', categories: [{ name: 'Semantic Alignment & Accuracy', dims: [{ name: 'Count', reason: 'two', score: 7 }], cat_reason: 'ok', cat_score: 7 }], reason: 'fine', score: 6.5 });
    expect(pointwiseResultFromText(text, { modality: 'image' })).toMatchObject({ ok: true, score: 6.5, raw: text });
    expect(pointwiseResultFromText(JSON.stringify(publishedExample), { modality: 'image' })).toMatchObject({ ok: false, error: { code: 'invalid_assessment' } });
  });
});
