import { describe, expect, it } from 'vitest';
import { parsePrompt } from './parse-prompt';
import { promptText, samplePromptSpec } from './prompt';

describe('parsePrompt', () => {
  it('inverts promptText for every sampled prompt', () => {
    for (let seed = 0; seed < 400; seed++) {
      for (const modality of ['image', 'video'] as const) {
        const spec = samplePromptSpec({ modality, seed, heldOutCombinations: 'include' });
        const parsed = parsePrompt({ text: promptText(spec), modality });
        expect(parsed, promptText(spec)).toEqual({ ok: true, value: spec });
      }
    }
  });
  it('fails as a value outside the grammar', () => {
    expect(parsePrompt({ text: 'a photo of a cat' })).toMatchObject({ ok: false, error: { code: 'unknown_prompt' } });
    expect(parsePrompt({ text: 'seven red circles' })).toMatchObject({ ok: false });
  });
});
