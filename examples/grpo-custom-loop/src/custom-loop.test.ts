import { describe, expect, it } from 'vitest';
import { runCustomLoop } from './custom-loop';

describe('a user-written GRPO loop with the pairwise Flex reward', () => {
  it('moves the colour towards what the judge prefers (redder)', async () => {
    const history = await runCustomLoop({ steps: 40, seed: 1 });
    const first = history[0]!.mean;
    const last = history[history.length - 1]!.mean;
    const redness = (m: readonly number[]) => m[0]! - 0.5 * (m[1]! + m[2]!);
    expect(redness(last)).toBeGreaterThan(redness(first) + 0.2);
    expect(history[0]!.judgeCalls).toBe(15); // 6 samples: 6·5/2 pairs
    expect(history.every((h) => Number.isFinite(h.loss))).toBe(true);
  });
});
