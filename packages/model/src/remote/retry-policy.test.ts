import { describe, expect, it } from 'vitest';
import { backoffDelayMs, jitterUniform, retryAfterMs } from './retry-policy';

const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] ?? null });

describe('backoffDelayMs', () => {
  const settings = { baseDelayMs: 100, maxDelayMs: 1000, seed: 7 };
  it('doubles its ceiling per attempt, stays within [ceiling/2, ceiling] and is capped', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt);
      for (const key of ['a', 'b', 'c', 'req-17']) {
        const d = backoffDelayMs(settings, key, attempt);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });
  it('is a function of (seed, key, attempt) only, and the seed changes it', () => {
    expect(backoffDelayMs(settings, 'x', 2)).toBe(backoffDelayMs(settings, 'x', 2));
    const bySeed = new Set(Array.from({ length: 20 }, (_, seed) => backoffDelayMs({ ...settings, seed }, 'x', 3)));
    expect(bySeed.size).toBeGreaterThan(5);
  });
  it('spreads many requests (jitter is roughly uniform)', () => {
    const draws = Array.from({ length: 2000 }, (_, i) => jitterUniform(1, `k${i}`, 0));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, delta-seconds and HTTP dates', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250' }), 0)).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '2' }), 0)).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after': '0.5' }), 0)).toBe(500);
    const date = 'Wed, 21 Oct 2015 07:28:10 GMT';
    expect(retryAfterMs(headers({ 'retry-after': date, date: 'Wed, 21 Oct 2015 07:28:00 GMT' }), 0)).toBe(10_000);
    expect(retryAfterMs(headers({ 'retry-after': date }), Date.parse(date) - 3000)).toBe(3000);
  });
  it('prefers retry-after-ms, never goes negative, ignores garbage', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '40', 'retry-after': '9' }), 0)).toBe(40);
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }), Date.parse('Wed, 21 Oct 2015 08:00:00 GMT'))).toBe(0);
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }), 0)).toBeUndefined();
    expect(retryAfterMs(headers({}), 0)).toBeUndefined();
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
  });
});
