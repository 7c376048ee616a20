import { describe, expect, it } from 'vitest';
import { CriteriaError, categoryName, renderJudgeTemplate } from './index';

const frames = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `data:image/png;base64,${tag}${i}`);

describe('renderJudgeTemplate', () => {
  it.each([
    ['pairwise', 'image'],
    ['pairwise', 'video'],
    ['pointwise', 'image'],
    ['pointwise', 'video'],
  ] as const)('%s %s: identity, mandatory categories, own category, prompt-specific criteria, one JSON object', (mode, modality) => {
    const t = renderJudgeTemplate({ mode, modality, prompt: 'two red circles "left" of a square' });
    expect(t.system).toMatch(/You are Flex, a meticulous expert judge of AI-generated (images|videos)/);
    expect(t.system).toContain('exactly one JSON object');
    for (const id of ['A', 'B', 'C'] as const) expect(t.user).toContain(`${id}. "${categoryName(modality, id)}"`);
    expect(t.user).toContain('add one category of your own (D)');
    expect(t.user).toContain('why you added it');
    expect(t.user).toContain('3 to 5 criteria specific to this prompt');
    expect(t.user).toContain('Prompt: "two red circles \\"left\\" of a square"');
    expect(t.user).toContain('"intent"');
    expect(t.user).toContain('"evidence"');
    expect(t.user).toContain('Output exactly one JSON object');
    if (mode === 'pairwise') {
      expect(t.user).toContain('split exactly 10 points');
      expect(t.user).toContain('score_1 + score_2 = 10');
      expect(t.user).toContain(`"cat_winner": "<${modality === 'image' ? 'Image' : 'Video'} 1 or ${modality === 'image' ? 'Image' : 'Video'} 2>"`);
    } else {
      expect(t.user).toContain('"cat_score": <number 0-10>');
      expect(t.user).not.toContain('score_1');
    }
    expect(t.messages).toEqual([
      { role: 'system', content: t.system },
      { role: 'user', content: [{ type: 'text', text: t.user }] },
    ]);
  });
  it('puts the two images first, in order, then the text', () => {
    const t = renderJudgeTemplate({ mode: 'pairwise', modality: 'image', prompt: 'p', media: ['https://x/a.png', 'data:image/png;base64,BBB'], imageDetail: 'low' });
    const user = t.messages[1];
    expect(user?.role).toBe('user');
    const parts = user?.content as readonly { type: string }[];
    expect(parts.map((p) => p.type)).toEqual(['image_url', 'image_url', 'text']);
    expect(parts[0]).toEqual({ type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'low' } });
    expect(t.user).toContain('the first is "Image 1", the second is "Image 2"');
  });
  it('shows 8 evenly spaced frames per video (first and last kept)', () => {
    const t = renderJudgeTemplate({ mode: 'pairwise', modality: 'video', prompt: 'p', media: [frames('a', 30), frames('b', 5)] });
    const urls = (t.messages[1]?.content as readonly { type: string; image_url?: { url: string } }[]).filter((p) => p.type === 'image_url').map((p) => p.image_url?.url);
    expect(urls).toHaveLength(13);
    expect(urls[0]).toBe('data:image/png;base64,a0');
    expect(urls[7]).toBe('data:image/png;base64,a29');
    expect(urls[8]).toBe('data:image/png;base64,b0');
    expect(t.user).toContain('the first 8 are 8 evenly spaced frames of "Video 1"');
    expect(t.user).toContain('the next 5 are frames of "Video 2"');
  });
  it('renders the compact variant and can leave out the extensions', () => {
    const t = renderJudgeTemplate({ mode: 'pairwise', modality: 'image', prompt: 'p', format: 'compact', extensions: false });
    expect(t.user).toContain('category A: Semantic Alignment & Accuracy');
    expect(t.user).toContain('verdict A: <comparison> | <1 or 2>');
    expect(t.user).not.toContain('intent:');
    expect(t.system).toContain('line format');
  });
  it('throws a CriteriaError with a stable code on media that do not fit', () => {
    const bad = [
      { mode: 'pairwise', modality: 'image', prompt: 'p', media: ['one'] },
      { mode: 'pointwise', modality: 'image', prompt: 'p', media: [['frame']] },
      { mode: 'pointwise', modality: 'video', prompt: 'p', media: ['not frames'] },
      { mode: 'pairwise', modality: 'audio', prompt: 'p' },
    ];
    for (const options of bad) {
      try {
        renderJudgeTemplate(options as never);
        expect.unreachable();
      } catch (error) {
        expect(CriteriaError.isInstance(error)).toBe(true);
        expect((error as CriteriaError).code).toBe('invalid_options');
      }
    }
  });
});
