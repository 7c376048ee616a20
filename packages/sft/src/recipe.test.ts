import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@flex/model';
import { type PretrainPhase, pretrainRecipe, shippedBaseRecipe } from './recipe';
import { SftError } from './errors';

const tiny = { preset: 'tiny', pairs: 4, evalImages: 2, imageSize: 16, checks: false, modelConfig: { maxTextLength: 768 } } as const;

describe('pretrainRecipe', () => {
  it('chains phases (each starts from the previous final), then skips finished phases on a rerun', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recipe-'));
    const recipe: PretrainPhase[] = [
      { name: 'one', ...tiny, trainer: { maxSteps: 2, batchSize: 8, saveFinal: false } },
      { name: 'two', ...tiny, drawOffset: 4, questionsPerPair: 0, checks: false, trainer: { maxSteps: 2, batchSize: 8, saveFinal: false } },
    ];
    const started: string[] = [];
    const first = await pretrainRecipe({ out, recipe, onPhase: (_, name, total, steps) => started.push(`${name} ${total} ${steps}`) });
    expect(started).toEqual(['one 2 2', 'two 2 2']);
    expect(first.checkpoint).toBe(join(out, 'two', 'final'));
    expect(first.phases.map((p) => [p.name, p.steps, p.skipped])).toEqual([['one', 2, false], ['two', 2, false]]);
    // Phase two started from phase one: same tokenizer, and its report names phase one's final as its start.
    const report = JSON.parse(readFileSync(join(out, 'two', 'pretrain-report.json'), 'utf8'));
    expect(report.options.initFrom).toBe(join(out, 'one', 'final'));
    const [a, b] = await Promise.all([join(out, 'one', 'final'), join(out, 'two', 'final')].map((directory) => loadCheckpoint({ directory, kind: 'flex-judge' })));
    expect(a!.model.tokenizer.toJSON()).toEqual(b!.model.tokenizer.toJSON());
    for (const c of [a, b]) c!.model.dispose();
    const again = await pretrainRecipe({ out, recipe });
    expect(again.phases.map((p) => p.skipped)).toEqual([true, true]);
    await expect(pretrainRecipe({ out, recipe: [recipe[0]!, recipe[0]!] })).rejects.toThrow(SftError);
    rmSync(out, { recursive: true, force: true });
  });

  it('the shipped recipe names its four phases, and only the first starts from scratch', () => {
    expect(shippedBaseRecipe.map((p) => p.name)).toEqual(['describe-check', 'describe', 'check', 'intent']);
    expect(shippedBaseRecipe.every((p) => p.seed === 0 && p.preset === 'small')).toBe(true);
  });
});
