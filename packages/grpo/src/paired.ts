/**
 * The paired change of per-prompt scores: mean of `after[i] − before[i]` and its standard error (sample standard
 * deviation / √n; null below 2 prompts). Score the same held-out prompts with the same starting noise before and after
 * training (`GRPOConfig.evalSeed`), then read the change against its s.e.: an oracle that is discontinuous per prompt
 * (an object that appears or vanishes moves one prompt's score by 0.1–0.3) gives a noisy mean over few prompts.
 */
export function pairedChange(before: readonly number[], after: readonly number[]): { change: number; stdError: number | null } {
  if (before.length !== after.length) throw new RangeError('pairedChange: before and after must score the same prompts');
  const d = before.map((b, i) => (after[i] as number) - b);
  const m = d.length === 0 ? Number.NaN : d.reduce((a, b) => a + b, 0) / d.length;
  if (d.length < 2) return { change: m, stdError: null };
  const variance = d.reduce((a, x) => a + (x - m) ** 2, 0) / (d.length - 1);
  return { change: m, stdError: Math.sqrt(variance / d.length) };
}
