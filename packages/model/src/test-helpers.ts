import { encodeCompact, type PairwiseAssessment, type RgbImage, type Video } from '@flex/criteria';
import { createRng } from './random';
import { buildTokenizer, type Tokenizer } from './tokenizer';

/** Test fixtures (not exported from the package). */

export function randomImage(seed: number, size = 16): RgbImage {
  const rng = createRng(seed);
  return { width: size, height: size, data: Float32Array.from({ length: size * size * 3 }, () => rng.next()) };
}

export function solidImage(r: number, g: number, b: number, size = 16): RgbImage {
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set([r, g, b], i * 3);
  return { width: size, height: size, data };
}

export function randomVideo(seed: number, frames = 5, size = 16): Video {
  return { fps: 8, frames: Array.from({ length: frames }, (_, i) => randomImage(seed * 100 + i, size)) };
}

const colours = ['red', 'blue', 'green'];

/** A small pairwise assessment whose winner is `winner`. */
export function sampleAssessment(prompt: string, winner: 1 | 2, colour = 'red'): PairwiseAssessment {
  const s1 = winner === 1 ? 8 : 2;
  const label = winner === 1 ? 'Image 1' : 'Image 2';
  const cat = (name: string) => ({
    name,
    dims: [{ name: `${colour} colour`, reason_1: winner === 1 ? `${colour} as asked` : 'wrong colour', reason_2: winner === 2 ? `${colour} as asked` : 'wrong colour', score_1: s1, score_2: 10 - s1 }],
    cat_reason: `image ${winner} is better`,
    cat_winner: label as 'Image 1' | 'Image 2',
  });
  return {
    prompt,
    intent: `a ${colour} square`,
    evidence: [winner === 1 ? `a ${colour} square` : 'a grey square', winner === 2 ? `a ${colour} square` : 'a grey square'],
    categories: [cat('Semantic Alignment & Accuracy'), cat('Image Quality & Realism'), cat('Aesthetics & Artistry')],
    reason: `image ${winner} shows the ${colour} square`,
    winner: label as 'Image 1' | 'Image 2',
  };
}

export function sampleCorpus(): string[] {
  const texts: string[] = [];
  for (const colour of colours) {
    const prompt = `a ${colour} square`;
    texts.push(prompt, encodeCompact(sampleAssessment(prompt, 1, colour)), encodeCompact(sampleAssessment(prompt, 2, colour)));
  }
  return texts;
}

export function sampleTokenizer(): Tokenizer {
  return buildTokenizer({ corpus: sampleCorpus(), vocabSize: 160, minCount: 1 });
}
