import { describe, expect, it } from 'vitest';
import { encodeCompact, predefinedCategories } from '@flex/criteria';
import { buildJudgeTokenizer, compactGrammarPieces } from './judge-tokenizer';
import { sampleAssessment } from './test-helpers';

describe('buildJudgeTokenizer', () => {
  it('makes every grammar piece one token and round-trips compact assessments', () => {
    const assessments = ['red', 'blue'].flatMap((c) => [sampleAssessment(`a ${c} square`, 1, c), sampleAssessment(`a ${c} square`, 2, c)]);
    const tokenizer = buildJudgeTokenizer({ prompts: ['a red square', 'a blue square'], assessments, vocabSize: 256 });
    for (const piece of compactGrammarPieces()) expect(tokenizer.idOf(piece), piece).toBeDefined();
    // Tags open lines: their first word is one token there too (no leading space).
    for (const tag of ['intent', 'evidence', 'criterion', 'overall', 'category', 'verdict']) expect(compactGrammarPieces()).toContain(tag);
    expect(tokenizer.encode('criterion:')).toHaveLength(2);
    for (const c of predefinedCategories.video) expect(tokenizer.encode(` ${c.name}`).length).toBeLessThanOrEqual(5);
    for (const a of assessments) {
      const text = encodeCompact(a);
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    // Unseen words fall back to characters and still round-trip.
    const unseen = 'overall: the zebra \\| wins | 2\n';
    expect(tokenizer.decode(tokenizer.encode(unseen))).toBe(unseen);
  });
});
