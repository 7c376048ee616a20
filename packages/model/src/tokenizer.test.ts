import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BOS, Tokenizer, UNK, buildTokenizer, specialTokens, splitPieces } from './tokenizer';

const compact = [
  'intent: two red circles left of a blue square\n',
  'evidence 1: two red circles, one blue square\nevidence 2: three red circles\n',
  'category A: Semantic Alignment & Accuracy\ncriterion: Count of red circles | two, as asked | three | 8\nverdict A: Image 1 has the right count | 1\n',
  'overall: Image 1 follows the prompt \\| better | 1\n',
];

describe('tokenizer', () => {
  it('splits text into pieces that concatenate back', () => {
    const text = 'a  b\n c|d \\| 10 Ünïcode 😀!';
    expect(splitPieces(text).join('')).toBe(text);
    expect(splitPieces('criterion: Count | 7\n')).toEqual(['criterion', ':', ' Count', ' |', ' 7', '\n']);
  });

  it('round-trips the corpus and unseen words through the character fallback', () => {
    const tokenizer = buildTokenizer({ corpus: compact, vocabSize: 200, minCount: 1 });
    for (const text of compact) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    const unseen = 'overall: zebras prefer Image 2 | 2\n';
    expect(tokenizer.covers(unseen)).toBe(true);
    expect(tokenizer.decode(tokenizer.encode(unseen))).toBe(unseen);
    // A seen word is one token, score pieces are single tokens.
    expect(tokenizer.encode(' circles')).toHaveLength(1);
    expect(tokenizer.encode(' 10')).toHaveLength(1);
  });

  it('maps unknown characters to <unk> and drops specials when decoding', () => {
    const tokenizer = buildTokenizer({ corpus: compact, vocabSize: 200 });
    const ids = tokenizer.encode('red 😀');
    expect(ids).toContain(UNK);
    expect(tokenizer.covers('red 😀')).toBe(false);
    expect(tokenizer.decode([BOS, ...tokenizer.encode('red')])).toBe('red');
  });

  it('is deterministic, respects vocabSize, and survives JSON', () => {
    const a = buildTokenizer({ corpus: compact, vocabSize: 150 });
    const b = buildTokenizer({ corpus: [...compact].reverse(), vocabSize: 150 });
    expect(a.vocabulary).toEqual(b.vocabulary);
    expect(a.size).toBeLessThanOrEqual(150);
    expect(a.vocabulary.slice(0, specialTokens.length)).toEqual([...specialTokens]);
    const restored = Tokenizer.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(restored.encode(compact[2] as string)).toEqual(a.encode(compact[2] as string));
  });

  it('rejects bad input with typed errors', () => {
    expect(() => Tokenizer.fromJSON({ kind: 'other' })).toThrow(expect.objectContaining({ code: 'tokenizer_error' }));
    expect(() => buildTokenizer({ corpus: compact, vocabSize: 20 })).toThrow(expect.objectContaining({ code: 'tokenizer_error' }));
    expect(() => buildTokenizer({ corpus: 'x' as never })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });

  it('round-trips any printable ASCII text and newlines exactly (property)', () => {
    const tokenizer = buildTokenizer({ corpus: compact, vocabSize: 200 });
    const printable = fc.string({ unit: fc.constantFrom(...'\n abc XYZ 0123456789|\\:.,;!?-_()&\'"'.split('')), maxLength: 80 });
    fc.assert(
      fc.property(printable, (text) => {
        const ids = tokenizer.encode(text);
        expect(ids).not.toContain(UNK);
        expect(tokenizer.decode(ids)).toBe(text);
        expect(splitPieces(text).join('')).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
