import { z } from 'zod';
import { parseOptions } from './errors';

/**
 * A small seeded generator (sfc32 seeded through splitmix32) with standard normal draws by Box–Muller.
 * Same seed, same sequence, on every platform: no Math.random anywhere in @flex/grpo.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  /** @param seed any integer (taken modulo 2³²). */
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform number in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal draw. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u1 = (this.nextUint32() + 1) / 4294967297; // (0, 1): log never sees 0
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** An integer in [0, n). */
  integer(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

/** Options of {@link gaussianNoise}. */
export const gaussianNoiseOptionsSchema = z.object({
  /** Seed (integer). */
  seed: z.number().int(),
  /** Number of draws. */
  length: z.number().int().nonnegative(),
});

/** `length` standard normal draws from `seed`, as a Float32Array (the tensors' dtype). */
export function gaussianNoise(options: z.input<typeof gaussianNoiseOptionsSchema>): Float32Array {
  const o = parseOptions(gaussianNoiseOptionsSchema, options, 'gaussianNoise');
  const random = new SeededRandom(o.seed);
  const out = new Float32Array(o.length);
  for (let i = 0; i < o.length; i++) out[i] = random.normal();
  return out;
}

/** Derives a child seed from a seed and integer keys (stable hash; for per-step, per-group seeds). */
export function deriveSeed(seed: number, ...keys: number[]): number {
  let h = (seed ^ 0x6a09e667) >>> 0;
  for (const k of [...keys, keys.length]) {
    h = Math.imul(h ^ (k >>> 0), 0x9e3779b1) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    h = Math.imul(h, 0x85ebca77) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h >>> 0;
}
