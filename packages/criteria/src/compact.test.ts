import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nameArbitrary, pairwiseArbitrary, pointwiseArbitrary, publishedExample, textArbitrary } from './arbitraries.test-helpers';
import { decodeCompact, encodeCompact, escapeCompactText, unescapeCompactText } from './index';
import type { PointwiseAssessment } from './index';

const pointwiseExample: PointwiseAssessment = {
  prompt: 'a red circle',
  intent: 'one red circle, centred',
  evidence: ['one red circle | slightly left'],
  categories: [
    { name: 'Semantic Alignment & Accuracy', dims: [{ name: 'Colour', reason: 'red', score: 9 }], cat_reason: 'close', cat_score: 8.5 },
    { name: 'Image Quality & Realism', dims: [{ name: 'Noise', reason: 'clean\nsharp', score: 10 }], cat_reason: 'clean', cat_score: 10 },
  ],
  reason: 'good',
  score: 9.2,
};

describe('compact codec', () => {
  it('writes the documented lines for a published assessment', () => {
    const text = encodeCompact({ ...publishedExample, intent: 'three red circles', evidence: ['three red circles', 'two red circles'] });
    const lines = text.split('\n');
    expect(lines[0]).toBe('intent: three red circles');
    expect(lines[1]).toBe('evidence 1: three red circles');
    expect(lines[2]).toBe('evidence 2: two red circles');
    expect(lines[3]).toBe('category A: Semantic Alignment & Accuracy');
    expect(lines[4]).toBe('criterion: Count of red circles | Image 1 shows exactly three red circles. | Image 2 shows only two red circles; the third is missing. | 8');
    expect(lines[7]).toBe('verdict A: Image 1 matches the count, the colours and the layout; Image 2 misses a circle. | 1');
    expect(text).toContain('\ncategory D: Mood & Atmosphere\n');
    expect(text.endsWith(' | 1\n')).toBe(true);
    expect(lines.at(-2)?.startsWith('overall: ')).toBe(true);
  });
  it('writes pointwise lines with escapes and decimal scores', () => {
    expect(encodeCompact(pointwiseExample)).toBe(
      [
        'intent: one red circle, centred',
        'evidence: one red circle \\| slightly left',
        'category A: Semantic Alignment & Accuracy',
        'criterion: Colour | red | 9',
        'verdict A: close | 8.5',
        'category B: Image Quality & Realism',
        'criterion: Noise | clean\\nsharp | 10',
        'verdict B: clean | 10',
        'overall: good | 9.2',
        '',
      ].join('\n'),
    );
    expect(decodeCompact(encodeCompact(pointwiseExample), { prompt: 'a red circle', modality: 'image', mode: 'pointwise' })).toEqual({ ok: true, value: pointwiseExample });
  });
  it('escapes and unescapes exactly', () => {
    fc.assert(fc.property(textArbitrary, (s) => unescapeCompactText(escapeCompactText(s)) === s && !/[\n\r]/.test(escapeCompactText(s))));
  });
  it('round-trips random pairwise assessments exactly', () => {
    fc.assert(
      fc.property(pairwiseArbitrary(), (a) => {
        const modality = a.winner.startsWith('Video') ? 'video' : 'image';
        expect(decodeCompact(encodeCompact(a), { prompt: a.prompt, modality, mode: 'pairwise' })).toEqual({ ok: true, value: a });
      }),
      { numRuns: 300 },
    );
  });
  it('round-trips random pointwise assessments exactly', () => {
    fc.assert(
      fc.property(pointwiseArbitrary, fc.constantFrom('image' as const, 'video' as const), (a, modality) => {
        expect(decodeCompact(encodeCompact(a, { modality }), { prompt: a.prompt, modality, mode: 'pointwise' })).toEqual({ ok: true, value: a });
      }),
      { numRuns: 300 },
    );
  });
  it('tolerates CRLF, blank lines and a missing final newline', () => {
    const text = encodeCompact(publishedExample).replace(/\n/g, '\r\n\r\n').trimEnd();
    const r = decodeCompact(text, { prompt: publishedExample.prompt, modality: 'image', mode: 'pairwise' });
    expect(r).toEqual({ ok: true, value: publishedExample });
  });

  const base = 'category A: Semantic Alignment & Accuracy\ncriterion: Count | three | two | 8\nverdict A: right count | 1\noverall: better | 1\n';
  const options = { prompt: 'p', modality: 'image' as const, mode: 'pairwise' as const };
  it.each([
    ['', 'empty', undefined],
    ['hello\n', 'unexpected_line', 1],
    ['category A: x\ncriterion: a | b | c | 8\n', 'missing_line', 2],
    ['category A: x\ncriterion: a | b | 8\nverdict A: r | 1\noverall: r | 1\n', 'field_count', 2],
    ['category A: x\ncriterion: a | b | c | 11\nverdict A: r | 1\noverall: r | 1\n', 'invalid_score', 2],
    ['category A: x\ncriterion: a | b | c | 7.5\nverdict A: r | 1\noverall: r | 1\n', 'invalid_score', 2],
    ['category A: x\ncriterion: a | b | c | 7\nverdict A: r | 3\noverall: r | 1\n', 'invalid_winner', 3],
    ['category A: x\ncriterion: a | b | c | 7\nverdict B: r | 1\noverall: r | 1\n', 'category_id_mismatch', 3],
    [`${base}more\n`, 'trailing_content', 5],
    ['category A: x\nverdict A: r | 1\noverall: r | 1\n', 'invalid_assessment', undefined],
    ['category A: x\ncriterion:  | b | c | 7\nverdict A: r | 1\noverall: r | 1\n', 'invalid_assessment', undefined],
    ['evidence 1: a\ncategory A: x\n', 'missing_line', 1],
  ])('reports %j as %s', (text, code, line) => {
    const r = decodeCompact(text, options);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.line).toBe(line);
    }
  });
  it('decodes the basic example and reports invalid options as a value', () => {
    expect(decodeCompact(base, options).ok).toBe(true);
    expect(decodeCompact(base, { ...options, mode: 'both' as never }).ok).toBe(false);
    expect(decodeCompact(42 as never, options).ok).toBe(false);
  });
  it('never throws on random corruptions of valid text', () => {
    fc.assert(
      fc.property(pairwiseArbitrary(), fc.array(fc.tuple(fc.nat(), fc.nat(), nameArbitrary), { minLength: 1, maxLength: 4 }), (a, edits) => {
        let text = encodeCompact(a);
        for (const [at, length, insert] of edits) {
          const start = at % (text.length + 1);
          text = text.slice(0, start) + (length % 2 === 0 ? insert : '') + text.slice(start + (length % 5));
        }
        const r = decodeCompact(text, { prompt: a.prompt, modality: 'image', mode: 'pairwise' });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
