/**
 * Seeded randomness for the benchmarks: a 32-bit hash to derive independent streams from one seed and a
 * label (so the A/B order of a pair depends on the seed and the pair id only, not on where it sits in the
 * stream), and a small fast generator (mulberry32) for bootstrap resampling and sampling.
 */

/** A source of uniform numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * A 32-bit FNV-1a hash of `seed` and a text label, finished with a murmur3 mixer. Deterministic across
 * platforms; used to derive sub-seeds (`hashSeed(seed, 'bootstrap')`) and per-pair coin flips.
 */
export function hashSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h, 0x01000193) >>> 0;
  // Mix the high bits of large integer seeds too (seed is an integer, possibly above 2^32).
  h ^= Math.floor(seed / 0x100000000) >>> 0;
  h = Math.imul(h, 0x01000193) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A mulberry32 generator: uniform numbers in [0, 1) from a 32-bit seed. Same seed, same sequence. */
export function createRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
