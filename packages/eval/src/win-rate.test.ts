import { describe, expect, it } from 'vitest';
import { failingJudge, firstSlotJudge, flatImage, perfectJudge } from './testing.test-helpers';
import { generationWinRate, type GenerationPair } from './win-rate';

// The output under test is brighter (better, for the scripted judges) on 30 of 40 prompts, equal on none.
const pairs: GenerationPair[] = Array.from({ length: 40 }, (_, i) => ({
  id: `g${i}`,
  prompt: `prompt ${i}`,
  modality: 'image',
  a: flatImage(i < 30 ? 0.8 : 0.2),
  b: flatImage(0.5),
}));

describe('generationWinRate', () => {
  it('measures how often the output under test is preferred', async () => {
    const result = await generationWinRate({ judge: perfectJudge(), pairs, seed: 2, bootstrapSamples: 200 });
    expect(result.winRate.value).toBe(0.75);
    expect(result.winRate.count).toBe(40);
    expect(result.winRate.lower as number).toBeLessThan(0.75);
    expect(result.winRate.upper as number).toBeGreaterThan(0.75);
    expect([result.wins, result.ties, result.losses, result.failed]).toEqual([30, 0, 10, 0]);
    expect(result.positionConsistency.value).toBe(1);
    expect(result.judge).toBe('perfect');
  });

  it('turns a position-biased judge into ties when both orders are asked', async () => {
    const result = await generationWinRate({ judge: firstSlotJudge(), pairs, bootstrapSamples: 0 });
    expect(result.winRate.value).toBe(0.5);
    expect(result.ties).toBe(40);
    expect(result.positionConsistency.value).toBe(0);
  });

  it('leaves failed pairs out and counts them', async () => {
    const result = await generationWinRate({ judge: failingJudge(), pairs: pairs.slice(0, 5), bootstrapSamples: 0 });
    expect(result.failed).toBe(5);
    expect(result.winRate).toEqual({ value: null, lower: null, upper: null, count: 0 });
  });

  it('asks one order only when told, with the order randomised', async () => {
    const result = await generationWinRate({ judge: firstSlotJudge(), pairs, bothOrders: false, bootstrapSamples: 0, seed: 4 });
    // One randomised order: the biased judge picks the output under test whenever it is shown first.
    const shownFirst = result.records.filter((r) => r.order === 'AB').length;
    expect(result.winRate.value).toBe(shownFirst / 40);
    expect(shownFirst).toBeGreaterThan(5);
    expect(shownFirst).toBeLessThan(35);
  });
});
