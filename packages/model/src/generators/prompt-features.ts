import { z } from 'zod';
import { parseOptions } from '../errors';
import { hashString } from '../random';

/** Options of {@link promptFeatures}. */
export const promptFeaturesOptionsSchema = z.object({
  /** The prompt text. */
  prompt: z.string(),
  /** Number of hash buckets (the feature size). Default 256. */
  buckets: z.number().int().min(8).default(256),
});

/**
 * A fixed, vocabulary-free prompt representation for the generators: lower-cased words and word bigrams
 * hashed (FNV-1a) into `buckets` counts, L2-normalised. Deterministic; the generator learns on top of it.
 */
export function promptFeatures(options: z.input<typeof promptFeaturesOptionsSchema>): Float32Array {
  const o = parseOptions(promptFeaturesOptionsSchema, options, 'promptFeatures options');
  return promptFeaturesUnchecked(o.prompt, o.buckets);
}

/** {@link promptFeatures} without validation. */
export function promptFeaturesUnchecked(prompt: string, buckets: number): Float32Array {
  const out = new Float32Array(buckets);
  const words = prompt
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((w) => w !== '');
  words.forEach((word, i) => {
    out[hashString(`w:${word}`) % buckets]! += 1;
    if (i > 0) out[hashString(`b:${words[i - 1]} ${word}`) % buckets]! += 0.5;
  });
  let norm = 0;
  for (let i = 0; i < buckets; i++) norm += (out[i] as number) ** 2;
  if (norm > 0) {
    const s = 1 / Math.sqrt(norm);
    for (let i = 0; i < buckets; i++) out[i]! *= s;
  }
  return out;
}
