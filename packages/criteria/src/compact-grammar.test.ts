import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { publishedExample } from './arbitraries.test-helpers';
import { createCompactGrammar, decodeCompact, encodeCompact, nextAllowed } from './index';
import type { CompactGrammar, CompactGrammarOptions } from './index';

const textPool = ['a', 'b', 'Z', ' ', ' ', 'é', '🙂', '\\|', '\\\\', '\\n', '\\r', '"', '{', ':', '\t'];

/** Drives a grammar to completion with random choices among what it allows, checking that each is accepted. */
function drive(grammar: CompactGrammar, choices: number[]): string {
  let out = '';
  let k = 0;
  const pick = (n: number) => (choices[k++ % choices.length] as number) % n;
  for (let steps = 0; steps < 100_000 && !grammar.isComplete(); steps++) {
    const allowed = grammar.allowed();
    let chunk: string;
    if (allowed.text !== null && (allowed.literals.length === 0) && (allowed.text.terminators.length === 0 || pick(4) !== 0 || allowed.text.remaining === 0)) {
      const candidate = textPool[pick(textPool.length)] as string;
      chunk = allowed.text.remaining >= candidate.length + 1 || allowed.text.terminators.length === 0 ? candidate : (allowed.text.terminators[pick(allowed.text.terminators.length)] as string);
      if (!grammar.canFeed(chunk)) chunk = allowed.text.terminators[0] ?? ' ';
    } else if (allowed.text !== null) {
      chunk = allowed.text.terminators[pick(allowed.text.terminators.length)] as string;
    } else {
      expect(allowed.literals.length).toBeGreaterThan(0);
      chunk = allowed.literals[pick(allowed.literals.length)] as string;
      // Feed literals in random pieces: the machine must not care how text is chunked.
      const cut = pick(chunk.length + 1);
      if (cut > 0 && cut < chunk.length) {
        expect(grammar.feed(chunk.slice(0, cut))).toBe(true);
        out += chunk.slice(0, cut);
        chunk = chunk.slice(cut);
      }
    }
    expect(grammar.feed(chunk)).toBe(true);
    out += chunk;
  }
  expect(grammar.isComplete()).toBe(true);
  expect(grammar.allowed()).toEqual({ literals: [], text: null, complete: true });
  return out;
}

const optionsArbitrary: fc.Arbitrary<CompactGrammarOptions> = fc.record({
  mode: fc.constantFrom('pairwise' as const, 'pointwise' as const),
  modality: fc.constantFrom('image' as const, 'video' as const),
  intent: fc.constantFrom('optional' as const, 'required' as const, 'forbidden' as const),
  evidence: fc.constantFrom('optional' as const, 'required' as const, 'forbidden' as const),
  minCriteria: fc.integer({ min: 1, max: 3 }),
  maxCriteria: fc.integer({ min: 1, max: 5 }),
  maxExtraCategories: fc.integer({ min: 0, max: 2 }),
  categoryNames: fc.constantFrom('canonical' as const, 'free' as const),
  maxFieldLength: fc.integer({ min: 2, max: 30 }),
  decimalScores: fc.boolean(),
});

describe('compact grammar', () => {
  it('random walks through the grammar always produce text that decodes', () => {
    fc.assert(
      fc.property(optionsArbitrary, fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), (options, choices) => {
        const text = drive(createCompactGrammar(options), choices);
        const r = decodeCompact(text, { prompt: 'p', modality: options.modality, mode: options.mode });
        if (!r.ok) throw new Error(`${JSON.stringify(r.error)}\n${text}`);
        // What was decoded re-encodes to text that the grammar accepts again when ids agree (canonical names).
        const again = encodeCompact(r.value, { modality: options.modality });
        expect(decodeCompact(again, { prompt: 'p', modality: options.modality, mode: options.mode })).toEqual(r);
        if (options.categoryNames === 'canonical' && options.maxExtraCategories === 0 && !(options.decimalScores && options.mode === 'pointwise')) expect(again).toBe(text);
      }),
      { numRuns: 400 },
    );
  });
  it('accepts the encoding of a published-format assessment and completes on its last newline', () => {
    const grammar = createCompactGrammar({ mode: 'pairwise', modality: 'image', minCriteria: 2 });
    const text = encodeCompact({ ...publishedExample, intent: 'three red circles | calm', evidence: ['three circles', 'two circles\nblurred'] });
    expect(grammar.feed(text.slice(0, -1))).toBe(true);
    expect(grammar.isComplete()).toBe(false);
    expect(grammar.allowed().literals).toEqual(['\n']);
    expect(grammar.feed('\n')).toBe(true);
    expect(grammar.isComplete()).toBe(true);
  });
  it('lists tags, names, scores and winners as literals', () => {
    const options = { mode: 'pairwise' as const, modality: 'image' as const, minCriteria: 1 };
    expect(nextAllowed('', options)?.literals).toEqual(['intent: ', 'evidence 1: ', 'category A: ']);
    expect(nextAllowed('cat', options)?.literals).toEqual(['egory A: ']);
    expect(nextAllowed('category A: ', options)?.literals).toEqual(['Semantic Alignment & Accuracy\n']);
    expect(nextAllowed('category A: Semantic Alignment & Accuracy\n', options)?.literals).toEqual(['criterion: ']);
    const inName = nextAllowed('category A: Semantic Alignment & Accuracy\ncriterion: ', options);
    expect(inName?.text?.terminators).toEqual([]);
    expect(nextAllowed('category A: Semantic Alignment & Accuracy\ncriterion: Count', options)?.text?.terminators).toEqual([' | ']);
    expect(nextAllowed('category A: Semantic Alignment & Accuracy\ncriterion: Count | a | b | ', options)?.literals).toHaveLength(11);
    expect(nextAllowed('category A: Semantic Alignment & Accuracy\ncriterion: Count | a | b | 1', options)?.literals).toEqual(['\n', '0\n']);
    expect(nextAllowed('category A: Semantic Alignment & Accuracy\ncriterion: Count | a | b | 7\n', options)?.literals).toEqual(['criterion: ', 'verdict A: ']);
    expect(nextAllowed('category A: Semantic Alignment & Accuracy\ncriterion: Count | a | b | 7\nverdict A: r | ', options)?.literals).toEqual(['1\n', '2\n']);
    expect(nextAllowed('category A: Semantic Alignment & Accuracy\ncriterion: Count | a\\', options)?.literals).toEqual(['\\', '|', 'n', 'r']);
  });
  it('rejects what the grammar forbids and keeps its state', () => {
    const grammar = createCompactGrammar({ mode: 'pairwise', modality: 'video' });
    expect(grammar.feed('category B: ')).toBe(false);
    expect(grammar.feed('category A: Semantic Alignment & Accuracy\ncriterion: x')).toBe(true);
    const before = grammar.allowed();
    expect(grammar.feed('\n')).toBe(false);
    expect(grammar.feed('a|b')).toBe(false);
    expect(grammar.feed(' | \\q')).toBe(false);
    expect(grammar.allowed()).toEqual(before);
    expect(grammar.canFeed(' | reason | ')).toBe(true);
    expect(grammar.allowed()).toEqual(before);
    const copy = grammar.clone();
    expect(copy.feed(' | r1 | r2 | 5\n')).toBe(true);
    expect(grammar.allowed()).toEqual(before);
    expect(nextAllowed('verdict', { mode: 'pointwise', modality: 'image' })).toBeNull();
  });
  it('requires A, B, C before overall and allows only the configured extra categories', () => {
    const g = createCompactGrammar({ mode: 'pointwise', modality: 'image', minCriteria: 1, maxExtraCategories: 0, intent: 'forbidden', evidence: 'forbidden' });
    expect(g.allowed().literals).toEqual(['category A: ']);
    for (const name of ['Semantic Alignment & Accuracy', 'Image Quality & Realism']) {
      expect(g.feed(`category ${name.startsWith('S') ? 'A' : 'B'}: ${name}\ncriterion: n | r | 5\nverdict ${name.startsWith('S') ? 'A' : 'B'}: r | 7.5\n`)).toBe(true);
      expect(g.allowed().literals).not.toContain('overall: ');
    }
    expect(g.feed('category C: Aesthetics & Artistry\ncriterion: n | r | 5\nverdict C: r | 10.0\n')).toBe(true);
    expect(g.allowed().literals).toEqual(['overall: ']);
  });
  it('bounds free text by maxFieldLength', () => {
    const g = createCompactGrammar({ mode: 'pairwise', modality: 'image', maxFieldLength: 5, intent: 'required' });
    expect(g.feed('intent: abcde')).toBe(true);
    expect(g.allowed().text).toEqual({ terminators: ['\n'], remaining: 0 });
    expect(g.canFeed('f')).toBe(false);
    expect(g.feed('\n')).toBe(true);
  });
});
