import { describe, expect, it } from 'vitest';
import { modelConfigSchema, modelPresets, presetConfig } from './config';
import { FlexJudgeModel } from './flex-judge';
import { sampleTokenizer } from './test-helpers';

describe('model config', () => {
  it('builds every preset and validates sizes', () => {
    for (const preset of Object.keys(modelPresets) as (keyof typeof modelPresets)[]) {
      const config = presetConfig(preset, { kind: 'flex-judge', vocabSize: 512 });
      expect(config.dModel % config.heads).toBe(0);
    }
    expect(modelConfigSchema.safeParse({ kind: 'flex-judge', vocabSize: 512, dModel: 30, layers: 1, heads: 4 }).success).toBe(false);
    expect(modelConfigSchema.safeParse({ kind: 'flex-judge', vocabSize: 512, dModel: 32, layers: 1, heads: 4, vision: { imageSize: 20, channels: [8, 8, 8] } }).success).toBe(false);
    expect(modelConfigSchema.safeParse({ kind: 'other', vocabSize: 512, dModel: 32, layers: 1, heads: 4 }).success).toBe(false);
  });

  it('rejects bad create options with typed errors', () => {
    const tokenizer = sampleTokenizer();
    expect(() => FlexJudgeModel.create({ preset: 'huge' as never, tokenizer })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
    expect(() => FlexJudgeModel.create({ preset: 'tiny', tokenizer, config: { heads: 5 } })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });
});
