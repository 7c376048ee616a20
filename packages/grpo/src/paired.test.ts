import { describe, expect, it } from 'vitest';
import { pairedChange } from './index';

describe('pairedChange', () => {
  it('is the mean per-prompt difference with its standard error', () => {
    const { change, stdError } = pairedChange([0.5, 0.2, 0.4, 0.1], [0.6, 0.1, 0.4, 0.3]);
    // differences 0.1, −0.1, 0, 0.2: mean 0.05; deviations ±0.05, ±0.15.
    expect(change).toBeCloseTo(0.05, 12);
    const sd = Math.sqrt((0.05 ** 2 + 0.15 ** 2 + 0.05 ** 2 + 0.15 ** 2) / 3);
    expect(stdError).toBeCloseTo(sd / 2, 12);
    expect(pairedChange([0.3], [0.5])).toEqual({ change: 0.5 - 0.3, stdError: null });
    expect(() => pairedChange([0.1, 0.2], [0.1])).toThrow(RangeError);
  });
});
