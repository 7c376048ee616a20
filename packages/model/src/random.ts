/**
 * Seeded pseudo-random numbers (no Math.random anywhere in Flex): a 32-bit SplitMix-style generator, with
 * helpers for normal draws and for deriving independent streams from names.
 */

/** A seeded generator of uniform numbers in [0, 1). */
export interface Rng {
  /** The next uniform number in [0, 1). */
  next(): number;
  /** The next standard normal number (Box–Muller). */
  normal(): number;
}

/** FNV-1a hash of a string, for deriving a seed from a name. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A generator from an integer seed; equal seeds give equal streams on every platform. */
export function createRng(seed: number): Rng {
  let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  let spare: number | undefined;
  const next = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
  return {
    next,
    normal() {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = next();
      while (u <= 1e-12) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** A generator for the stream named `name` under `seed` (independent of creation order). */
export function namedRng(seed: number, name: string): Rng {
  return createRng((hashString(name) ^ Math.imul(seed >>> 0, 0x27d4eb2d)) >>> 0);
}
