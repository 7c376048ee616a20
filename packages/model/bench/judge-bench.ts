import { decodeCompact, encodeCompact } from '@flex/criteria';
import { FlexJudgeModel, buildTokenizer, tf } from '../src/index';
import { randomImage, sampleAssessment } from '../src/test-helpers';

/**
 * Judge throughput: 32 image pairs, small preset (untrained, seeded), constrained greedy decoding with and
 * without the KV cache, and the share of outputs that decode.
 */
export async function judgeBench({ sample, maxNewTokens = 192 }: { sample: () => void; maxNewTokens?: number }) {
  const colours = ['red', 'blue', 'green', 'yellow', 'purple', 'orange'];
  const shapes = ['square', 'circle', 'triangle'];
  const corpus: string[] = [];
  for (const colour of colours) {
    for (const shape of shapes) {
      const prompt = `a ${colour} ${shape} left of a ${colours[(colours.indexOf(colour) + 1) % colours.length]} ${shape}`;
      corpus.push(prompt, encodeCompact(sampleAssessment(prompt, 1, colour)), encodeCompact(sampleAssessment(prompt, 2, colour)));
    }
  }
  const tokenizer = buildTokenizer({ corpus, vocabSize: 512, minCount: 1 });
  const model = FlexJudgeModel.create({ preset: 'small', tokenizer, seed: 3 });
  const requests = Array.from({ length: 32 }, (_, i) => ({
    prompt: corpus[(i % 18) * 3] as string,
    modality: 'image' as const,
    a: randomImage(2 * i + 1, 32),
    b: randomImage(2 * i + 2, 32),
  }));
  const run = async (useCache: boolean) => {
    const t0 = performance.now();
    const results = await model.judge(requests, { useCache, maxNewTokens });
    const seconds = (performance.now() - t0) / 1000;
    sample();
    return { results, seconds };
  };
  const before = tf.memory().numTensors;
  const cached = await run(true);
  const uncached = await run(false);
  const parsed = cached.results.filter((r) => r.ok && decodeCompact(r.raw ?? '', { prompt: '', modality: 'image', mode: 'pairwise' }).ok).length;
  const tokens = cached.results.reduce((s, r) => s + (r.ok ? tokenizer.encode(r.raw ?? '').length : 0), 0) / requests.length;
  console.log(
    `judge (small preset, ${(model.parameters.count() / 1e6).toFixed(2)} M params, 32 image pairs, ~${tokens.toFixed(0)} tokens each, budget ${maxNewTokens}): ` +
      `cache ${cached.seconds.toFixed(2)} s, no cache ${uncached.seconds.toFixed(2)} s, parsed ${parsed}/32, tensors leaked ${tf.memory().numTensors - before}`,
  );
  model.dispose();
  return { perSecondCache: requests.length / cached.seconds, perSecondNoCache: requests.length / uncached.seconds, parseRate: parsed / requests.length };
}
