import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairwiseArbitrary, pointwiseArbitrary, publishedExample } from './arbitraries.test-helpers';
import { encodeCompact, parseAssessment, readLenientJson, readWinner } from './index';
import type { ParseAssessmentResult, PairwiseAssessment } from './index';

const json = JSON.stringify(publishedExample, null, 2);
/** A long, realistic answer in the published format: prose, a fenced JSON object, more prose. */
const answer = `I'll carefully compare the two images against the prompt.

First, the prompt asks for three red circles above a blue square, in a calm minimalist style. Let me look at each image.

\`\`\`json
${json}
\`\`\`

In summary, Image 1 is preferred because it satisfies the count and layout requirements.`;

const options = { modality: 'image' as const, mode: 'pairwise' as const, prompt: publishedExample.prompt };
const codes = (r: ParseAssessmentResult<unknown>) => r.warnings.map((w) => w.code);
function expectOk(r: ParseAssessmentResult<PairwiseAssessment>): PairwiseAssessment {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

describe('parseAssessment on a realistic answer and its ten most common corruptions', () => {
  it('reads the clean answer exactly, noting only the surrounding prose', () => {
    const r = parseAssessment(answer, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(codes(r)).toEqual(['surrounding_text']);
  });

  it('1. trailing commas', () => {
    const r = parseAssessment(answer.replace(/("score_2": \d+)\n/g, '$1,\n').replace(/\]\n(\s*)\}/, '],\n$1}'), options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(r.warnings.find((w) => w.code === 'json_repaired')?.detail).toBe('trailing_comma');
  });
  it('2. the answer stops before its closing braces', () => {
    const cut = answer.slice(0, answer.indexOf('"winner": "Image 1"') + '"winner": "Image 1"'.length);
    const r = parseAssessment(cut, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(r.warnings.map((w) => w.detail)).toContain('unclosed_object');
  });
  it('3. truncated in the middle of the last category: the rest is derived, with warnings', () => {
    const cut = answer.slice(0, answer.indexOf('"score_1": 6', answer.indexOf('Consistency of tone')) + '"score_1": 6'.length);
    const r = parseAssessment(cut, options);
    const value = expectOk(r);
    expect(value.categories).toHaveLength(4);
    expect(value.categories[3]?.dims).toHaveLength(2);
    expect(value.winner).toBe('Image 1');
    expect(value.categories[3]?.dims[1]).toMatchObject({ score_1: 6, score_2: 4 });
    expect(codes(r)).toEqual(expect.arrayContaining(['json_repaired', 'winner_derived', 'missing_reason', 'score_completed']));
  });
  it('4. smart quotes as delimiters', () => {
    const smart = answer.replace(/"([^"\n]*)"/g, '\u201c$1\u201d');
    const r = parseAssessment(smart, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(r.warnings.find((w) => w.code === 'json_repaired')?.detail).toBe('smart_quotes');
  });
  it('5. a Python dict: single quotes (with apostrophes inside) and None', () => {
    const python = json.replace(/"/g, "'").replace(/\}$/, ", 'intent': None}");
    const r = parseAssessment(`Here you go:\n${python}`, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(r.warnings.map((w) => w.detail)).toEqual(expect.arrayContaining(['single_quotes', 'non_json_literal']));
  });
  it('6. unescaped double quotes inside a reason', () => {
    const broken = answer.replace('Image 1 shows exactly three red circles.', 'Image 1 shows exactly three "red" circles.');
    const value = expectOk(parseAssessment(broken, options));
    expect(value.categories[0]?.dims[0]?.reason_1).toBe('Image 1 shows exactly three "red" circles.');
  });
  it('7. winners written other ways', () => {
    const variants = answer
      .replace('"cat_winner": "Image 1"', '"cat_winner": "image 1"')
      .replace('"cat_winner": "Image 2"', '"cat_winner": "B"')
      .replace('"cat_winner": "Image 1"', '"cat_winner": "first"')
      .replace('"cat_winner": "Image 1"', '"cat_winner": "Image A"')
      .replace('"winner": "Image 1"', '"winner": 1');
    const r = parseAssessment(variants, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(r.warnings.filter((w) => w.code === 'winner_normalized').map((w) => w.path)).toEqual([
      '$.categories[0].cat_winner',
      '$.categories[1].cat_winner',
      '$.categories[2].cat_winner',
      '$.categories[3].cat_winner',
      '$.winner',
    ]);
  });
  it('8. score faults: strings, a missing half, a wrong sum, out of range, fractions', () => {
    const faulty = structuredClone(publishedExample) as unknown as { categories: { dims: Record<string, unknown>[] }[] };
    const [first, second] = faulty.categories as [{ dims: Record<string, unknown>[] }, { dims: Record<string, unknown>[] }];
    (first.dims[0] as Record<string, unknown>).score_1 = '8';
    delete (first.dims[1] as Record<string, unknown>).score_2;
    (first.dims[2] as Record<string, unknown>).score_2 = 7;
    (second.dims[0] as Record<string, unknown>).score_2 = 12;
    Object.assign(second.dims[1] as object, { score_1: 2.6, score_2: 7.4 });
    const r = parseAssessment(`Assessment:\n${JSON.stringify(faulty, null, 2)}`, options);
    const value = expectOk(r);
    expect(value.categories[0]?.dims.map((d) => [d.score_1, d.score_2])).toEqual([[8, 2], [6, 4], [5, 5]]);
    expect(value.categories[1]?.dims.map((d) => [d.score_1, d.score_2])).toEqual([[3, 7], [3, 7], [6, 4]]);
    const paths = (code: string) => r.warnings.filter((w) => w.code === code).map((w) => w.path);
    expect(paths('coerced_number')).toEqual(['$.categories[0].dims[0].score_1']);
    expect(paths('score_completed')).toEqual(['$.categories[0].dims[1].score_2']);
    expect(paths('score_sum_fixed')).toEqual(['$.categories[0].dims[2].score_2', '$.categories[1].dims[0].score_2']);
    expect(paths('score_clamped')).toEqual(['$.categories[1].dims[0].score_2']);
    expect(paths('score_rounded')).toEqual(['$.categories[1].dims[1].score_1']);
  });
  it('9. comments, unquoted keys and a missing comma', () => {
    const commented = json
      .replace('"prompt":', '// the prompt, echoed\n  prompt:')
      .replace('"reason": "Image 1 follows', '/* overall */ reason: "Image 1 follows')
      .replace('"cat_winner": "Image 2"\n', '"cat_winner": "Image 2"\n /* no comma next */')
      .replace(/("cat_winner": "Image 2"\n \/\* no comma next \*\/\s*\}),/, '$1');
    const r = parseAssessment(commented, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(r.warnings.map((w) => w.detail)).toEqual(expect.arrayContaining(['comment', 'unquoted_key', 'missing_comma']));
  });
  it('10. other field names (criteria, category_winner, overall_winner) and a wrapper', () => {
    const renamed = json.replace(/"dims"/g, '"criteria"').replace(/"cat_winner"/g, '"category_winner"').replace('"winner": "Image 1"\n}', '"overall_winner": "Image 1"\n}');
    const r = parseAssessment(`{"assessment": ${renamed}}`, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(codes(r)).toEqual(expect.arrayContaining(['unwrapped', 'key_alias']));
  });

  it('prefers the real answer over an echoed schema example', () => {
    const echo = 'The format is {"categories": [...], "winner": "Image 1 | Image 2"} and my answer:\n';
    const r = parseAssessment(echo + json, options);
    expect(expectOk(r)).toEqual(publishedExample);
    expect(codes(r)).toContain('multiple_candidates');
  });
  it('reads the compact form wrapped in prose', () => {
    const r = parseAssessment(`Sure.\n${encodeCompact(publishedExample)}Done.`, options);
    expect(r.ok && r.format).toBe('compact');
    expect(expectOk(r)).toEqual(publishedExample);
  });
  it('canonicalises category names on request', () => {
    const renamed = json.replace('"Semantic Alignment & Accuracy"', '"A. semantic alignment"');
    const r = parseAssessment(renamed, { ...options, canonicalNames: true });
    expect(expectOk(r)).toEqual(publishedExample);
    expect(codes(r)).toEqual(['category_renamed']);
    expect(codes(parseAssessment(json.replace('"Aesthetics & Artistry"', '"Mood 2"'), options))).toEqual(['missing_category']);
  });
});

describe('parseAssessment errors', () => {
  const cases: [string, string, string, string | undefined, object?][] = [
    ['a tie as the overall winner', json.replace('"winner": "Image 1"\n}', '"winner": "tie"\n}'), 'tie', '$.winner'],
    ['a criterion without a name', json.replace('"name": "Edge sharpness",', ''), 'missing_field', '$.categories[1].dims[0].name'],
    ['a winner naming neither', json.replace('"cat_winner": "Image 2"', '"cat_winner": "Image 3"'), 'invalid_winner', '$.categories[1].cat_winner'],
    ['a non-numeric score', json.replace('"score_1": 8,', '"score_1": "high",'), 'invalid_type', '$.categories[0].dims[0].score_1'],
    ['no categories', '{"reason": "x", "winner": "Image 1"}', 'missing_field', '$.categories'],
    ['a category that is not an object', '{"categories": [3], "winner": "Image 1"}', 'not_an_object', '$.categories[0]'],
    ['no JSON at all', 'I cannot judge these images.', 'no_assessment', undefined],
    ['a JSON object that is not an assessment', 'Result: {"ok": true}', 'no_assessment', undefined],
    ['a pointwise answer to a pairwise request', '{"categories": [{"name": "A", "dims": [{"name": "n", "reason": "r", "score": 7}], "cat_reason": "c", "cat_score": 7}], "reason": "r", "score": 7}', 'wrong_mode', '$.categories[0].dims[0]'],
    ['a wrong sum with repairs off', json.replace('"score_2": 2', '"score_2": 3'), 'score_sum', '$.categories[0].dims[0].score_2', { repairScores: false }],
    ['an out-of-range score with repairs off', json.replace('"score_1": 8,', '"score_1": 18,'), 'score_out_of_range', '$.categories[0].dims[0].score_1', { repairScores: false }],
    ['an empty string', '', 'no_assessment', undefined],
    ['a broken compact text', 'category A: x\ncriterion: a | b | c | 12\nverdict A: r | 1\noverall: r | 1\n', 'invalid_score', '$.categories[0].dims[0].score_1'],
    ['JSON nested too deeply', `{"categories": ${'['.repeat(5000)}`, 'json_syntax', undefined],
  ];
  it.each(cases)('%s → %s', (_, text, code, path, extra) => {
    const r = parseAssessment(text, { ...options, ...(extra ?? {}) });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.path).toBe(path);
      expect(r.error.message.length).toBeGreaterThan(0);
    }
  });
  it('resolves ties from the scores on request', () => {
    const r = parseAssessment(json.replace('"winner": "Image 1"\n}', '"winner": "Tie"\n}'), { ...options, ties: 'resolve' });
    expect(expectOk(r).winner).toBe('Image 1');
    expect(codes(r)).toEqual(['tie_resolved']);
  });
  it('returns typed errors for bad input and options instead of throwing', () => {
    expect(parseAssessment(42 as never, options)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(parseAssessment(json, { modality: 'audio' } as never)).toMatchObject({ ok: false, error: { code: 'invalid_options' } });
    expect(parseAssessment(json, null as never)).toMatchObject({ ok: false, error: { code: 'invalid_options' } });
    expect(parseAssessment(json, { ...options, maxLength: 10 })).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });
});

describe('parseAssessment pointwise', () => {
  const pointwise = { prompt: 'p', categories: [{ name: 'Semantic Alignment & Accuracy', dims: [{ name: 'Count', reason: 'three', score: 8 }, { name: 'Colour', reason: 'red', score: '9' }], cat_reason: 'good' }], reason: 'fine' };
  it('derives missing category and overall scores', () => {
    const r = parseAssessment(JSON.stringify(pointwise), { modality: 'image', mode: 'pointwise' });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.categories[0]?.cat_score).toBe(8.5);
    expect(r.value.score).toBe(8.5);
    expect(codes(r)).toEqual(expect.arrayContaining(['coerced_number', 'score_derived', 'missing_category']));
  });
  it('rejects a pairwise answer in pointwise mode', () => {
    expect(parseAssessment(json, { modality: 'image', mode: 'pointwise' })).toMatchObject({ ok: false, error: { code: 'wrong_mode' } });
  });
});

describe('readWinner', () => {
  it.each([
    ['Image 1', 1, true],
    ['image 1', 1, false],
    ['1', 1, false],
    ['A', 1, false],
    ['first', 1, false],
    ['Image A', 1, false],
    ['left', 1, false],
    ['**Image 2**', 2, false],
    ['Video 2', 2, false],
    ['Image 2 is better', 2, false],
    ['the second one', 2, false],
    ['B', 2, false],
  ])('%s → slot %i', (text, slot, exact) => {
    expect(readWinner(text, 'image')).toEqual({ slot, exact });
  });
  it('reads ties and rejects nonsense', () => {
    expect(readWinner('Tie', 'image')).toEqual({ tie: true });
    expect(readWinner('both are equal', 'video')).toEqual({ tie: true });
    expect(readWinner('Image 3', 'image')).toBeNull();
    expect(readWinner('Image 1 and Image 2', 'image')).toBeNull();
    expect(readWinner(null, 'image')).toBeNull();
  });
});

describe('parseAssessment properties', () => {
  const prose = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '.', 'é', ':'), maxLength: 40 });
  it('reads any valid assessment back exactly from JSON in prose or a fence', () => {
    fc.assert(
      fc.property(pairwiseArbitrary('image'), prose, prose, fc.boolean(), fc.boolean(), (a, before, after, fence, pretty) => {
        const body = JSON.stringify(a, null, pretty ? 2 : undefined);
        const text = fence ? `${before}\n\`\`\`json\n${body}\n\`\`\`\n${after}` : `${before} ${body} ${after}`;
        const r = parseAssessment(text, { modality: 'image', prompt: a.prompt });
        expect(r).toMatchObject({ ok: true, value: a });
        expect(codes(r).filter((c) => c !== 'surrounding_text' && c !== 'missing_category')).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
  it('reads any valid pointwise assessment and its compact form', () => {
    fc.assert(
      fc.property(pointwiseArbitrary, (a) => {
        expect(parseAssessment(JSON.stringify(a), { modality: 'video', mode: 'pointwise', prompt: a.prompt })).toMatchObject({ ok: true, value: a });
        expect(parseAssessment(encodeCompact(a), { modality: 'video', mode: 'pointwise', prompt: a.prompt, format: 'compact' })).toMatchObject({ ok: true, value: a });
      }),
      { numRuns: 100 },
    );
  });
  it('never throws on random corruptions of a realistic answer', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', "'", ',', ':', '\\', '\n', '`', 'x', '1', '\u201c'), maxLength: 3 })), { minLength: 1, maxLength: 6 }), (edits) => {
        let text = answer;
        for (const [at, remove, insert] of edits) {
          const start = at % (text.length + 1);
          text = text.slice(0, start) + insert + text.slice(start + remove);
        }
        const r = parseAssessment(text, options);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(typeof r.error.code).toBe('string');
      }),
      { numRuns: 500 },
    );
  });
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', "'", ',', ':', '\\', '\n', '`', 'a', '1', '/', '*', '#', 'category A:', 'overall:', '"winner"', '"categories"') })), (text) => {
        expect(typeof parseAssessment(text, options).ok).toBe('boolean');
        expect(typeof readLenientJson(text).ok).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });
  it('handles 1 MB inputs in bounded time (generous bound; never a tight timing assertion)', () => {
    const long = 'x'.repeat(1_000_000);
    const big = { ...publishedExample, reason: long };
    const inputs = [
      `prose ${JSON.stringify(big)} prose`,
      `{"categories": [${'{"name": "a", "dims": [], '.repeat(20_000)}`,
      '{"a": "'.repeat(150_000),
      '"'.repeat(1_000_000),
      '{'.repeat(1_000_000),
      '```'.repeat(330_000),
      `${'category A: x\n'.repeat(70_000)}overall: r | 1\n`,
      ` ${'{ "winner": "Image 1", '.repeat(45_000)}`,
    ];
    const started = performance.now();
    for (const input of inputs) {
      const r = parseAssessment(input, options);
      expect(typeof r.ok).toBe('boolean');
    }
    expect(parseAssessment(inputs[0] as string, options).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

describe('parseAssessment with fence markers inside strings', () => {
  it('is not fooled by ``` inside a reason', () => {
    const tricky = { ...publishedExample, reason: 'see ```code``` here' };
    for (const text of [`\`\`\`json\n${JSON.stringify(tricky, null, 2)}\n\`\`\``, `Answer: ${JSON.stringify(tricky)}`]) {
      const r = parseAssessment(text, { modality: 'image', prompt: tricky.prompt });
      expect(r).toMatchObject({ ok: true, value: tricky });
    }
  });
});

describe('parseAssessment consistency option', () => {
  it('adds the consistency findings as warnings on request', () => {
    const contradictory = JSON.stringify({ ...publishedExample, winner: 'Image 2' });
    expect(codes(parseAssessment(contradictory, options))).toEqual([]);
    expect(codes(parseAssessment(contradictory, { ...options, consistency: true }))).toEqual(['overall_winner_contradicts_categories', 'overall_winner_contradicts_scores']);
  });
});
