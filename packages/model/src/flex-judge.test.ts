import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCompact, encodeCompact } from '@flex/criteria';
import { tf } from './engine';
import { initBackend } from './backend';
import { FlexJudgeModel, type JudgeExample } from './flex-judge';
import { accumulateGradients, computeGradients, createOptimizer, globalNorm, scaleGradients, tokenAccuracy, trainStep } from './training';
import { randomImage, randomVideo, sampleAssessment, sampleTokenizer, solidImage } from './test-helpers';
import { candidateTag, encodeSequence, splitEvidence, joinEvidence } from './sequence';
import { EOS } from './tokenizer';

const tokenizer = sampleTokenizer();

function examples(): JudgeExample[] {
  const red = solidImage(0.9, 0.1, 0.1);
  const grey = solidImage(0.5, 0.5, 0.5);
  return [
    { media: [red, grey], prompt: 'a red square', completion: encodeCompact(sampleAssessment('a red square', 1)) },
    { media: [grey, red], prompt: 'a red square', completion: encodeCompact(sampleAssessment('a red square', 2)) },
  ];
}

describe('FlexJudgeModel', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('evidence lines split out and join back to the same compact text', () => {
    const text = encodeCompact(sampleAssessment('a red square', 1));
    const { evidence, rest } = splitEvidence(text);
    expect(evidence.split('\n')).toHaveLength(3);
    expect(rest.startsWith('intent: ')).toBe(true);
    expect(joinEvidence(evidence, rest)).toBe(text);
  });

  it('an open example trains its lines but no <eos>: one token fewer, and the same loss mask before it', () => {
    const text = encodeCompact(sampleAssessment('a red circle', 1));
    for (const layout of ['prompt-first', 'evidence-first'] as const) {
      const closed = encodeSequence(tokenizer, 'a red circle', text, layout);
      const open = encodeSequence(tokenizer, 'a red circle', text, layout, { open: true });
      expect(closed.ids.at(-1)).toBe(EOS);
      expect(open.ids).not.toContain(EOS);
      expect(open.ids).toEqual(closed.ids.slice(0, -1));
      expect(open.lossMask).toEqual(closed.lossMask.slice(0, -1));
    }
  });

  it('marks the first token of each criterion column that falls short, and weights it by shortfallWeight', () => {
    const text = 'intent: 1 red square\ncriterion: Correct exposure | overexposed, wanted well exposed | well exposed | 1\ncriterion: Count | 2 red square, wanted 1 red square | 1 red square | 2\n';
    for (const layout of ['prompt-first', 'evidence-first'] as const) {
      const seq = encodeSequence(tokenizer, 'a red square', text, layout);
      const marked = seq.shortfallMask.flatMap((m, t) => (m ? [tokenizer.textOf(seq.ids[t + 1] as number)] : []));
      expect(marked.map((p) => p.trim())).toEqual(['overexposed'.slice(0, marked[0]!.trim().length), '2']);
      expect(seq.shortfallMask.every((m, t) => !m || seq.lossMask[t])).toBe(true);
    }
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 });
    const example = { media: [solidImage(0.9, 0.1, 0.1), solidImage(0.5, 0.5, 0.5)], prompt: 'a red square', completion: text };
    const plain = model.prepareBatch([example]);
    const weighted = model.prepareBatch([example], { shortfallWeight: 5 });
    const diff = (weighted.weights.arraySync() as number[][])[0]!.map((w, t) => w - ((plain.weights.arraySync() as number[][])[0]![t] as number));
    expect(diff.filter((d) => d !== 0)).toEqual([4, 4]);
    for (const b of [plain, weighted]) b.dispose();
    model.dispose();
  });

  it('marks the columns and score of criteria whose two columns differ, and weights them by decidingWeight', () => {
    const text = 'criterion: One green star | 1 green star | 2 green star | 6\ncriterion: Sharp edges | sharp | sharp | 5\n';
    for (const layout of ['prompt-first', 'evidence-first'] as const) {
      const seq = encodeSequence(tokenizer, 'a green star', text, layout);
      const marked = seq.decidingMask.flatMap((m, t) => (m ? [tokenizer.textOf(seq.ids[t + 1] as number)] : []));
      // Every non-blank token after the name column of the first line (columns, separators and score); none of the second.
      expect(marked.join('').replace(/\s+/g, '')).toBe('1greenstar|2greenstar|6');
      expect(seq.decidingMask.every((m, t) => !m || seq.lossMask[t])).toBe(true);
    }
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 });
    const example = { media: [solidImage(0.9, 0.1, 0.1), solidImage(0.5, 0.5, 0.5)], prompt: 'a green star', completion: text };
    const plain = (model.prepareBatch([example]).weights.arraySync() as number[][])[0]!;
    const weighted = (model.prepareBatch([example], { decidingWeight: 3 }).weights.arraySync() as number[][])[0]!;
    const seq = encodeSequence(tokenizer, 'a green star', text, model.layout);
    expect(weighted.map((w, t) => (w === (plain[t] as number) * (seq.decidingMask[t] ? 3 : 1) ? 0 : 1))).not.toContain(1);
    expect(seq.decidingMask.filter((m) => m).length).toBeGreaterThan(5);
    model.dispose();
  });

  it('weights the trained positions whose target is a chosen token (tokenWeights), and names an unknown token', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 });
    const example = { media: [solidImage(0.9, 0.1, 0.1), solidImage(0.5, 0.5, 0.5)], prompt: 'a red square', completion: 'evidence 1: 1 red square center\nevidence 2: 1 red square left\n' };
    const square = tokenizer.vocabulary.indexOf(' square');
    expect(square).toBeGreaterThan(0);
    const plain = model.prepareBatch([example]);
    const weighted = model.prepareBatch([example], { tokenWeights: { ' square': 3 } });
    const [w, p, targets] = [weighted.weights, plain.weights, weighted.targets].map((t) => (t.arraySync() as number[][])[0]!);
    // Only the trained " square" targets (two: the prompt's is masked) get the weight; the rest are unchanged.
    const changed = w!.flatMap((value, t) => (value !== p![t] ? [[targets![t], value]] : []));
    expect(changed).toEqual([[square, 3], [square, 3]]);
    expect(() => model.prepareBatch([example], { tokenWeights: { ' hexagonal': 2 } })).toThrow(/hexagonal.*vocabulary/);
    for (const b of [plain, weighted]) b.dispose();
    model.dispose();
  });

  it('masks the prompt: log-probs do not count prompt tokens, and the loss trains', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 1 });
    const batch = model.prepareBatch(examples());
    const completionTokens = tokenizer.encode(examples()[0]!.completion).length + 1;
    expect(batch.lossMask.sum(-1).arraySync()).toEqual([completionTokens, completionTokens]);
    const { tokens, sum, mean } = model.completionLogProbs(batch);
    const s = sum.arraySync();
    expect(s[0]).toBeLessThan(0);
    expect(mean.arraySync()[0]).toBeCloseTo((s[0] as number) / completionTokens, 4);
    tf.dispose([tokens, sum, mean]);
    const optimizer = createOptimizer({ learningRate: 1e-2 });
    // The first step creates Adam's slots; after it the count must stay flat.
    const losses = [trainStep({ parameters: model.parameters, optimizer, maxGradNorm: 1, loss: () => model.loss(batch) }).loss];
    const before = tf.memory().numTensors;
    for (let i = 1; i < 12; i++) losses.push(trainStep({ parameters: model.parameters, optimizer, maxGradNorm: 1, loss: () => model.loss(batch) }).loss);
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[11]).toBeLessThan((losses[0] as number) * 0.7);
    // Accumulating two half-batches equals the full batch (mean losses, equal token counts).
    const halves = [model.prepareBatch([examples()[0]!]), model.prepareBatch([examples()[1]!])];
    const full = computeGradients(model.parameters, () => model.loss(batch)).grads;
    let summed: tf.Tensor[] | undefined;
    for (const half of halves) summed = accumulateGradients(summed, computeGradients(model.parameters, () => model.loss(half)).grads);
    const averaged = scaleGradients(summed as tf.Tensor[], 0.5);
    expect(globalNorm(full).sub(globalNorm(averaged)).abs().dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([...full, ...averaged]);
    halves.forEach((h) => h.dispose());
    const accuracy = tokenAccuracy(model.logits(batch), batch.targets, batch.lossMask);
    expect(accuracy.dataSync()[0]).toBeGreaterThan(0.3);
    accuracy.dispose();
    const frozen = model.clone();
    const scored = model.scoreCompletions(examples());
    expect(frozen.scoreCompletions(examples())).toEqual(scored);
    trainStep({ parameters: model.parameters, optimizer, loss: () => model.loss(batch) });
    expect(frozen.scoreCompletions(examples())).toEqual(scored);
    frozen.dispose();
    expect(scored[0]!.tokens).toBe(completionTokens);
    expect(scored[0]!.sum).toBeGreaterThan(s[0] as number);
    optimizer.dispose();
    batch.dispose();
    model.dispose();
  });

  it('generation with the KV cache equals generation without it, and every constrained output decodes', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 2 });
    const requests = [
      { media: [randomImage(1), randomImage(2)], prompt: 'a red square' },
      { media: [randomImage(3), randomImage(4)], prompt: 'a blue square with a long prompt that pads the other one' },
    ];
    model.generate(requests, { maxNewTokens: 4 });
    const before = tf.memory().numTensors;
    const cached = model.generate(requests, { maxNewTokens: 160 });
    const uncached = model.generate(requests, { maxNewTokens: 160, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(cached.map((c) => c.tokens)).toEqual(uncached.map((c) => c.tokens));
    for (const [i, out] of cached.entries()) {
      const decoded = decodeCompact(out.text, { prompt: requests[i]!.prompt, modality: 'image', mode: 'pairwise' });
      expect(decoded.ok, out.text).toBe(true);
      expect(out.winnerProbability).toBeGreaterThanOrEqual(0);
      expect(out.winnerProbability).toBeLessThanOrEqual(1);
    }
    model.dispose();
  });

  it('a batch gives the same output as each request alone (padding is masked)', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 3 });
    const requests = [
      { media: [randomImage(5), randomImage(6)], prompt: 'a red square' },
      { media: [randomImage(7), randomImage(8)], prompt: 'a green square on a blue red green square' },
    ];
    const together = model.generate(requests, { maxNewTokens: 40 });
    const alone = requests.map((r) => model.generate([r], { maxNewTokens: 40 })[0]!);
    expect(together.map((t) => t.tokens)).toEqual(alone.map((t) => t.tokens));
    model.dispose();
  });

  it('ALiBi: the cache, left padding and batching give the same tokens as full passes; the bias changes the scores', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 3, config: { positionBias: 'alibi' } });
    const plain = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 3 });
    expect(model.config.positionBias).toBe('alibi');
    expect(plain.config.positionBias).toBe('none');
    const requests = [
      { media: [randomImage(5), randomImage(6)], prompt: 'a red square' },
      { media: [randomImage(7), randomImage(8)], prompt: 'a green square on a blue red green square' },
    ];
    const cached = model.generate(requests, { maxNewTokens: 60 });
    const uncached = model.generate(requests, { maxNewTokens: 60, useCache: false });
    const alone = requests.map((r) => model.generate([r], { maxNewTokens: 60 })[0]!);
    expect(cached.map((c) => c.tokens)).toEqual(uncached.map((c) => c.tokens));
    expect(cached.map((c) => c.tokens)).toEqual(alone.map((c) => c.tokens));
    const batch = model.prepareBatch(examples());
    const withBias = model.loss(batch).dataSync()[0] as number;
    const without = plain.loss(batch).dataSync()[0] as number;
    expect(Number.isFinite(withBias)).toBe(true);
    expect(Math.abs(withBias - without)).toBeGreaterThan(1e-4);
    batch.dispose();
    model.dispose();
    plain.dispose();
  });

  it('sampling is seeded; temperature and top-k change the output', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 4 });
    const request = [{ media: [randomImage(9), randomImage(10)], prompt: 'a red square' }];
    const a = model.generate(request, { temperature: 1.5, topK: 20, seed: 7, maxNewTokens: 250 });
    const b = model.generate(request, { temperature: 1.5, topK: 20, seed: 7, maxNewTokens: 250 });
    const c = model.generate(request, { temperature: 1.5, topK: 20, seed: 8, maxNewTokens: 250 });
    expect(a[0]!.tokens).toEqual(b[0]!.tokens);
    expect(a[0]!.tokens).not.toEqual(c[0]!.tokens);
    model.dispose();
  });

  it('evidence-first: evidence is written before the prompt is seen, so it does not depend on it', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5, layout: 'evidence-first' });
    const media = [randomImage(11), randomImage(12)];
    const [one, two] = model.generate(
      [
        { media, prompt: 'a red square' },
        { media, prompt: 'a blue green square' },
      ],
      { maxNewTokens: 220 },
    );
    const e1 = splitEvidence(one!.text).evidence;
    expect(e1.startsWith('evidence 1: ')).toBe(true);
    expect(e1).toBe(splitEvidence(two!.text).evidence);
    expect(decodeCompact(one!.text, { prompt: 'a red square', modality: 'image', mode: 'pairwise' }).ok, one!.text).toBe(true);
    // Training in this layout masks the prompt too.
    const batch = model.prepareBatch(examples());
    const promptTokens = tokenizer.encode('a red square').length + 1; // prompt and its <sep>
    const total = tokenizer.encode(examples()[0]!.completion).length + 2; // + the evidence <sep> and <eos>
    expect((batch.lossMask.sum(-1).arraySync() as number[])[0]).toBe(total);
    expect(batch.input.shape[1]).toBe(total + promptTokens);
    batch.dispose();
    model.dispose();
  });

  it('evidence-first: given evidence lines are forced, then the prompt, and the rest is written after them', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5, layout: 'evidence-first' });
    const media = [randomImage(11), randomImage(12)];
    const evidence = 'evidence 1: 1 red square center\nevidence 2: 1 blue square left\n';
    const [given, batched] = model.generate(
      [
        { media, prompt: 'a red square', evidence },
        { media, prompt: 'a red square' },
      ],
      { maxNewTokens: 220 },
    );
    expect(given!.tokens.slice(0, tokenizer.encode(evidence).length)).toEqual(tokenizer.encode(evidence));
    expect(splitEvidence(given!.text).evidence).toBe(evidence);
    expect(decodeCompact(given!.text, { prompt: 'a red square', modality: 'image', mode: 'pairwise' }).ok, given!.text).toBe(true);
    // The other request of the batch writes its own evidence.
    expect(splitEvidence(batched!.text).evidence).not.toBe(evidence);
    expect(() => model.generate([{ media, prompt: 'a red square', evidence: 'evidence 1: only one line\n' }])).toThrow(/2 line\(s\)/);
    const promptFirst = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5 });
    expect(() => promptFirst.generate([{ media, prompt: 'a red square', evidence }])).toThrow(/evidence-first/);
    for (const m of [model, promptFirst]) m.dispose();
  });

  it('candidate tags: evidence line N and the N-th column of a criterion line are tagged N', () => {
    expect(candidateTag('evidence 2: 1 red sq', 2)).toBe(2);
    expect(candidateTag('evidence: 1 red', 1)).toBe(1);
    expect(candidateTag('evidence 3: x', 2)).toBe(0);
    expect(candidateTag('criterion: Count', 2)).toBe(0);
    expect(candidateTag('criterion: Count | 2 red', 2)).toBe(1);
    expect(candidateTag('criterion: Count | 2 red | 1 re', 2)).toBe(2);
    expect(candidateTag('criterion: Count | 2 red | 1 red | 7', 2)).toBe(0);
    expect(candidateTag('criterion: A \\| B | x', 2)).toBe(1); // an escaped pipe in the name is text
    expect(candidateTag('criterion: Count | 2 red | 7', 1)).toBe(0);
    expect(candidateTag('verdict A: Image 2 is better | 2', 2)).toBe(0);
    const text = 'intent: 1 red square\nevidence 1: 1 red square center\nevidence 2: 1 blue square left\ncriterion: Colour | red | blue, wanted red | 9\n';
    const seq = encodeSequence(tokenizer, 'a red square', text, 'evidence-first', { candidates: 2 });
    const words = (tag: number) => seq.ids.flatMap((id, t) => (seq.tags?.[t] === tag && !tokenizer.isSpecial(id) ? [tokenizer.textOf(id)] : [])).join('');
    // A line's tag is known from its ':' (evidence) or its pipe (criterion column) on: the token that opens a column
    // carries that column's tag, so the model knows whose column it writes when it predicts the column's first word.
    expect(words(1)).toBe(': 1 red square center | red');
    expect(words(2)).toBe(': 1 blue square left | blue, wanted red');
  });

  it('candidate tags: a switched-on checkpoint computes what it did, then generation with tags is the same with and without the cache', async () => {
    const plain = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5, layout: 'evidence-first' });
    const tagged = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 5, layout: 'evidence-first', config: { candidateTags: true } });
    tagged.parameters.assign(Object.fromEntries(plain.parameters.entries()), (name) => name === 'text.tag.table');
    const batchPlain = plain.prepareBatch(examples());
    const batchTagged = tagged.prepareBatch(examples());
    expect(tagged.loss(batchTagged).dataSync()[0]).toBeCloseTo(plain.loss(batchPlain).dataSync()[0] as number, 5);
    // Give the tags weight, then the two ways of decoding must still agree token for token.
    const table = tagged.parameters.get('text.tag.table');
    table.assign(tf.tidy(() => tf.randomNormal(table.shape, 0, 0.5, 'float32', 3)));
    const request = [{ media: [randomImage(11), randomImage(12)], prompt: 'a red square' }];
    const cached = tagged.generate(request, { maxNewTokens: 200, useCache: true });
    const full = tagged.generate(request, { maxNewTokens: 200, useCache: false });
    expect(cached[0]!.tokens).toEqual(full[0]!.tokens);
    expect(tagged.loss(batchTagged).dataSync()[0]).not.toBeCloseTo(plain.loss(batchPlain).dataSync()[0] as number, 3);
    for (const b of [batchPlain, batchTagged]) b.dispose();
    for (const m of [plain, tagged]) m.dispose();
  });

  it('judge(): results for images and videos, both orders, and typed failures', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 6 });
    const results = await model.judge(
      [
        { prompt: 'a red square', modality: 'image', a: randomImage(13), b: randomImage(14) },
        { prompt: 'a red square', modality: 'video', a: randomVideo(1), b: randomVideo(2, 9) },
        { prompt: 'a red square', modality: 'image', a: { width: 2, height: 2, data: new Float32Array(3) }, b: randomImage(1) },
      ],
      { maxNewTokens: 200, bothOrders: true },
    );
    expect(results[0]!.ok, JSON.stringify(results[0])).toBe(true);
    expect(results[1]!.ok, JSON.stringify(results[1])).toBe(true);
    if (results[0]!.ok) {
      expect(results[0]!.probabilityA).toBeGreaterThanOrEqual(0);
      expect(results[0]!.probabilityA).toBeLessThanOrEqual(1);
      expect(results[0]!.assessment.categories.length).toBeGreaterThanOrEqual(3);
    }
    if (results[1]!.ok) expect(results[1]!.assessment.winner.startsWith('Video')).toBe(true);
    expect(results[2]).toEqual({ ok: false, error: expect.objectContaining({ code: 'invalid_request' }) });
    model.dispose();
  });

  it('score(): pointwise assessments that decode, with a 0-10 score; memory flat across calls', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed: 7 });
    const requests = [
      { prompt: 'a red square', modality: 'image' as const, media: randomImage(21) },
      { prompt: 'a blue square', modality: 'image' as const, media: randomImage(22) },
    ];
    await model.score(requests, { maxNewTokens: 200 });
    const before = tf.memory().numTensors;
    const results = await model.score(requests, { maxNewTokens: 200 });
    await model.judge([{ prompt: 'a red square', modality: 'image', a: randomImage(23), b: randomImage(24) }], { maxNewTokens: 40 });
    expect(tf.memory().numTensors).toBe(before);
    for (const r of results) {
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) {
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(10);
      }
    }
    model.dispose();
  });
});
