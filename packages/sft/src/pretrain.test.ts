import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, splitEvidence } from '@flex/model';
import { pretrain, pretrainExamples } from './pretrain';
import { checkExample, intentExample, lookupBlocks } from './examples';
import { drawWorldPairs } from './world';
import { SftError } from './errors';

describe('pretrain', () => {
  it('builds evidence-first examples: descriptions, pair descriptions, grounded questions, checks', () => {
    const pairs = drawWorldPairs({ seed: 0, split: 'train', count: 4, size: 16 });
    const examples = pretrainExamples(pairs, { questionsPerPair: 2, checks: true });
    // One pair description and one pair intent per pair.
    expect(examples.filter((e) => e.media.length === 2)).toHaveLength(8);
    expect(pretrainExamples(pairs, { intents: false }).filter((e) => e.media.length === 2)).toHaveLength(4);
    for (const e of examples) {
      // Every example starts with the evidence of its media, written before the prompt.
      const { evidence } = splitEvidence(e.completion);
      expect(evidence.length).toBeGreaterThan(0);
      expect(evidence.split('\n').filter((l) => l !== '')).toHaveLength(e.media.length);
    }
    expect(examples.some((e) => e.completion.includes('criterion: '))).toBe(true);
    expect(pretrainExamples(pairs, { checks: false }).some((e) => e.completion.includes('criterion: '))).toBe(false);
    expect(pretrainExamples(pairs, { checkRate: 0.5 }).filter((e) => e.completion.includes('criterion: ')).length).toBe(2);
  });

  it('aggregation blocks: text-only open examples cut from the teacher trace, each ending with a decision line', () => {
    const pairs = drawWorldPairs({ seed: 5, split: 'train', count: 4, size: 16 });
    const blocks = pretrainExamples(pairs, { questionsPerPair: 0, checks: false, intents: false, descriptions: false, aggregation: 3 });
    expect(blocks).toHaveLength(pairs.length * 3);
    for (const b of blocks) {
      expect(b.media).toHaveLength(0);
      expect(b.prompt).toBe('');
      expect(b.open).toBe(true);
      const last = b.completion.trimEnd().split('\n').at(-1) as string;
      expect(last.startsWith('verdict ') || last.startsWith('overall: ')).toBe(true);
    }
    // The overall step comes first: the intent, every category and verdict line, the overall line.
    const overall = (blocks[0] as { completion: string }).completion.split('\n').filter((l) => l !== '');
    expect(overall[0]?.startsWith('intent: ')).toBe(true);
    expect(overall.filter((l) => l.startsWith('verdict ')).length).toBeGreaterThanOrEqual(3);
    expect(overall.some((l) => l.startsWith('criterion: '))).toBe(false);
    // With the evidence in front, a category block starts with the intent and both evidence lines.
    const withEvidence = pretrainExamples(pairs, { questionsPerPair: 0, checks: false, intents: false, descriptions: false, aggregation: 2, aggregationEvidence: true });
    const category = (withEvidence[1] as { completion: string }).completion.split('\n');
    expect(category.slice(0, 3).map((l) => l.split(':')[0])).toEqual(['intent', 'evidence 1', 'evidence 2']);
    expect(category[3]?.startsWith('category A: ')).toBe(true);
    // Off by default.
    expect(pretrainExamples(pairs).every((e) => e.media.length > 0)).toBe(true);
  });

  it('intent examples: open (no <eos> trained), evidence first, then the check’s own intent line and nothing after it', () => {
    const pairs = drawWorldPairs({ seed: 3, split: 'train', count: 6, size: 16 });
    const intents = pretrainExamples(pairs, { questionsPerPair: 0, checks: false }).filter((e) => e.open);
    expect(intents).toHaveLength(pairs.length * 3);
    pairs.forEach((p, i) => {
      const check = checkExample(p.record, p.a, p.record.a.scene);
      const single = intentExample(p.record, p.a, p.record.a.scene);
      expect(single.open).toBe(true);
      const { evidence, rest } = splitEvidence(single.completion);
      expect(rest).toBe(`${check.completion.split('\n')[0]}\n`);
      expect(rest.startsWith('intent: ')).toBe(true);
      expect(evidence).toBe(splitEvidence(check.completion).evidence);
      expect(intents.some((e) => e.media.length === 2 && e.prompt === pairs[i]!.record.prompt)).toBe(true);
    });
  });

  it('lookup blocks: intent and evidence, then every criterion of each category where a candidate falls short', () => {
    const text = [
      'intent: 1 red square',
      'evidence 1: 1 red square center, light flat background, dim',
      'evidence 2: 1 red square center, light flat background',
      'category A: Semantic Alignment & Accuracy',
      'criterion: One red square | 1 red square | 1 red square | 5',
      'verdict A: both are equal on alignment | 1',
      'category B: Image Quality & Realism',
      'criterion: Sharp edges | sharp | sharp | 5',
      'criterion: Correct exposure | dim, wanted well exposed | well exposed | 1',
      'verdict B: Image 2 is better on correct exposure: well exposed against dim | 2',
      'overall: Image 2 wins mainly on quality | 2',
      '',
    ].join('\n');
    const lines = text.split('\n');
    expect(lookupBlocks(text, { preceding: false })).toEqual([`${[...lines.slice(0, 3), ...lines.slice(6, 9)].join('\n')}\n`]);
    // By default the categories before it come along (header, criteria, verdict), as far from the evidence as in the trace.
    expect(lookupBlocks(text)).toEqual([`${lines.slice(0, 9).join('\n')}\n`]);
    const pairs = drawWorldPairs({ seed: 3, split: 'train', count: 6, size: 16 });
    const examples = pretrainExamples(pairs, { questionsPerPair: 0, checks: false, intents: false, descriptions: false, lookups: true });
    expect(examples.length).toBeGreaterThan(0);
    for (const e of examples) {
      expect(e).toMatchObject({ media: [], prompt: '', open: true });
      const lines = e.completion.trimEnd().split('\n');
      expect(lines.slice(0, 4).map((l) => l.split(/[: ]/)[0])).toEqual(['intent', 'evidence', 'evidence', 'category']);
      const last = lines.map((l) => l.startsWith('category ')).lastIndexOf(true);
      expect(lines.slice(last + 1).every((l) => l.startsWith('criterion: '))).toBe(true);
      expect(lines.slice(4, last).every((l) => /^(criterion: |verdict |category )/.test(l))).toBe(true);
      expect(lines.slice(last + 1).some((l) => l.includes(', wanted '))).toBe(true);
    }
  });

  it('intent distractors: the prompt and intent of one pair over the media and evidence of the next', () => {
    const pairs = drawWorldPairs({ seed: 3, split: 'train', count: 5, size: 16 });
    const mix = { questionsPerPair: 0, checks: false, descriptions: false } as const;
    const plain = pretrainExamples(pairs, mix);
    const withDistractors = pretrainExamples(pairs, { ...mix, intentDistractors: true });
    expect(withDistractors).toHaveLength(plain.length + pairs.length);
    pairs.forEach((p, i) => {
      const other = pairs[(i + 1) % pairs.length]!;
      const mismatched = (e: (typeof plain)[number]) => e.prompt === p.record.prompt && e.media[0] === other.a;
      expect(plain.filter(mismatched)).toHaveLength(0);
      const [e, ...more] = withDistractors.filter(mismatched);
      expect(more).toHaveLength(0);
      if (!e) throw new Error('no distractor example');
      expect(e.open).toBe(true);
      expect(e.prompt).toBe(p.record.prompt);
      expect(e.media[1]).toBe(other.b);
      const { evidence, rest } = splitEvidence(e.completion);
      expect(rest).toBe(`${checkExample(p.record, p.a, p.record.a.scene).completion.split('\n')[0]}\n`);
      expect(evidence).toContain(splitEvidence(checkExample(other.record, other.a, other.record.a.scene).completion).evidence.replace('evidence:', 'evidence 1:'));
    });
  });

  it('trains, measures caption accuracy on generated descriptions and saves the base checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pretrain-'));
    const report = await pretrain({ out, preset: 'tiny', pairs: 6, evalImages: 4, imageSize: 16, trainer: { maxSteps: 3, batchSize: 8, saveFinal: false } });
    expect(report.steps).toBe(3);
    expect(report.captionAccuracy.images).toBe(4);
    for (const k of ['count', 'colour', 'shape', 'position'] as const) expect(report.captionAccuracy[k]).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(out, 'final', 'config.json'))).toBe(true);
    const { model } = await loadCheckpoint({ directory: join(out, 'final'), kind: 'flex-judge' });
    expect(model.layout).toBe('evidence-first');
    model.dispose();
    expect(JSON.parse(readFileSync(join(out, 'pretrain-report.json'), 'utf8')).options.seed).toBe(0);
    await expect(pretrain({ out, preset: 'huge' as never })).rejects.toThrow(SftError);
  });
});
