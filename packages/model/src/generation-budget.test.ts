import { beforeAll, describe, expect, it } from 'vitest';
import { type Media, parseAssessment } from '@flex/criteria';
import { tf } from './engine';
import { initBackend } from './backend';
import { FlexJudgeModel, type GenerationRequest } from './flex-judge';
import { buildJudgeTokenizer } from './judge-tokenizer';
import { completionPlanner } from './completion-budget';
import { grammarFor } from './generation';
import { createRng } from './random';
import { randomImage, randomVideo, sampleTokenizer } from './test-helpers';

// An untrained judge with a tokenizer built from one prompt (as `flex judge` on a fresh checkpoint): grammar tags,
// scores and category names are tokens, everything else is spelled out character by character.
const sparseTokenizer = buildJudgeTokenizer({ prompts: ['a red circle'], minCount: 1 });
const words = ['red', 'circle', 'square', 'blue', 'left', 'of', 'a', 'green', 'above', 'the'];

/** Prompts of very different lengths (1 to ~150 tokens with the sparse tokenizer), one request each. */
function prompts(rng: ReturnType<typeof createRng>): string[] {
  const prompt = (n: number) => Array.from({ length: n }, () => words[Math.floor(rng.next() * words.length)]).join(' ');
  return [prompt(1), prompt(3), prompt(12), prompt(30), prompt(45)];
}

function requestsFor(mode: 'pairwise' | 'pointwise', modality: 'image' | 'video', texts: readonly string[], seed: number): GenerationRequest[] {
  const media = (i: number): Media => (modality === 'image' ? randomImage(seed * 50 + i) : randomVideo(seed * 50 + i, 3));
  return texts.map((prompt, i) => ({ prompt, media: mode === 'pairwise' ? [media(2 * i), media(2 * i + 1)] : [media(2 * i)] }));
}

describe('generation budgets', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('property: every constrained output of an untrained model parses, for random seeds, temperatures, top-k and tiny budgets, prompts of very different lengths in one batch', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer: sparseTokenizer, seed: 1 });
    const rng = createRng(2024);
    model.generate(requestsFor('pairwise', 'image', ['a'], 0), { maxNewTokens: 200 }); // warm-up (planner memo, kernels)
    const before = tf.memory().numTensors;
    let outputs = 0;
    let failures = 0;
    const cases = [
      ['pairwise', 'image', 'prompt-first'],
      ['pointwise', 'image', 'evidence-first'],
      ['pairwise', 'video', 'evidence-first'],
      ['pointwise', 'video', 'prompt-first'],
      ['pairwise', 'image', 'evidence-first'],
      ['pointwise', 'image', 'prompt-first'],
    ] as const;
    for (const [trial, [mode, modality, layout]] of cases.entries()) {
      const texts = prompts(rng);
      const requests = requestsFor(mode, modality, texts, trial);
      const minimum = model.minimumNewTokens({ mode, modality, layout, prompt: texts[0] });
      // At the shortest prompt's minimum (longer prompts in evidence-first may not fit: typed failures), a little
      // above it, or the whole room left by each prompt.
      const maxNewTokens = [minimum, minimum + 1 + Math.floor(rng.next() * 12), undefined][trial % 3];
      const temperature = [0, 0.7, 1.3, 4][Math.floor(rng.next() * 4)] as number;
      const topK = [0, 1, 5, 50][Math.floor(rng.next() * 4)] as number;
      const seed = Math.floor(rng.next() * 1000);
      const results = model.generate(requests, { maxNewTokens, temperature, topK, seed, layout });
      const context = JSON.stringify({ mode, modality, layout, maxNewTokens, temperature, topK, seed });
      for (const [i, out] of results.entries()) {
        const needed = model.minimumNewTokens({ mode, modality, layout, prompt: texts[i] });
        const prefix = layout === 'prompt-first' ? sparseTokenizer.encode(texts[i] as string).length + 2 : 1;
        const room = model.config.maxTextLength - prefix;
        if (needed > Math.min(maxNewTokens ?? room, room)) {
          expect(out.error?.code, context).toBe(needed > room ? 'prompt_too_long' : 'budget_too_small');
          expect(out.text).toBe('');
          failures++;
          continue;
        }
        expect(out.error, context).toBeUndefined();
        expect(out.tokens.length, context).toBeLessThanOrEqual(Math.min(maxNewTokens ?? room, room));
        expect(out.finishReason, `${context} ${out.text}`).toBe('eos');
        const parsed = parseAssessment(out.text, { mode, modality, prompt: texts[i], format: 'compact' });
        expect(parsed.ok, `${context}\n${out.text}\n${JSON.stringify(parsed)}`).toBe(true);
        outputs++;
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(outputs).toBeGreaterThanOrEqual(15);
    expect(failures).toBeGreaterThan(0); // the long prompts at tiny budgets in the evidence-first layout
    model.dispose();
  });

  it('a budget of exactly the minimum writes exactly the shortest completion, which parses', () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer: sparseTokenizer, seed: 3 });
    for (const grammar of [{}, { minCriteria: 3, maxCriteria: 4, intent: 'required' }] as const) {
      const minimum = model.minimumNewTokens({ grammar });
      const [out] = model.generate(requestsFor('pairwise', 'image', ['a red circle'], 1), { maxNewTokens: minimum, grammar, temperature: 1, seed: 5 });
      expect(out!.tokens).toHaveLength(minimum);
      expect(out!.finishReason).toBe('eos');
      const parsed = parseAssessment(out!.text, { mode: 'pairwise', modality: 'image', format: 'compact' });
      expect(parsed.ok, out!.text).toBe(true);
      if (parsed.ok) expect(parsed.value.categories.every((c) => c.dims.length >= (grammar.minCriteria ?? 1))).toBe(true);
      // One token fewer is a typed failure, not a truncated output.
      const [short] = model.generate(requestsFor('pairwise', 'image', ['a red circle'], 1), { maxNewTokens: minimum - 1, grammar });
      expect(short!.error).toMatchObject({ code: 'budget_too_small', minimumTokens: minimum });
    }
    model.dispose();
  });

  it('planner costs are consistent: along any generated text the cost never exceeds the budget left and drops by one on a closing token', () => {
    const grammar = grammarFor('pairwise', 'image', {});
    const planner = completionPlanner(sparseTokenizer, grammar, 'complete');
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer: sparseTokenizer, seed: 4 });
    const start = planner.cost(planner.start());
    const budget = start + 10;
    const [out] = model.generate(requestsFor('pairwise', 'image', ['a red circle'], 2), { maxNewTokens: budget, temperature: 2, seed: 1 });
    const tracker = planner.start();
    let previous = start;
    out!.tokens.forEach((id, step) => {
      if (sparseTokenizer.isSpecial(id)) return;
      expect(tracker.feed(sparseTokenizer.textOf(id))).toBe(true);
      const cost = planner.cost(tracker);
      expect(cost).toBeLessThanOrEqual(budget - step - 1);
      if (budget - step <= previous + 8) expect(cost).toBe(previous - 1); // closing: on a shortest completion
      previous = cost;
    });
    expect(tracker.grammar.isComplete()).toBe(true);
    model.dispose();
  });

  it('bug 1: prompt lengths differ and an output hits the budget; each row keeps its own budget below maxTextLength', () => {
    // (the code before the fix crashed here: `GatherV2: the index value 160 is not in [0, 159]`)
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer: sampleTokenizer(), seed: 5, config: { maxTextLength: 160 } });
    const max = model.config.maxTextLength;
    const long = Array.from({ length: 25 }, () => 'a red square').join(' '); // 75 tokens
    const requests = [
      { media: [randomImage(1), randomImage(2)], prompt: 'a red square' },
      { media: [randomImage(3), randomImage(4)], prompt: long },
    ];
    const prefixes = requests.map((r) => model.tokenizer.encode(r.prompt).length + 2);
    expect(max - (prefixes[1] as number)).toBeGreaterThanOrEqual(model.minimumNewTokens()); // room for an assessment, not much more
    const before = tf.memory().numTensors;
    // Unconstrained (untrained, so both run to their budget): the long row stops at its own room, the short one goes on.
    for (const useCache of [true, false]) {
      const free = model.generate(requests, { constrained: false, useCache });
      expect(free.map((o) => o.tokens.length)).toEqual(prefixes.map((p) => max - p));
      expect(free.map((o) => o.finishReason)).toEqual(['length', 'length']);
    }
    // Constrained: both close their assessment within their own room.
    const constrained = model.generate(requests, { temperature: 1, seed: 3 });
    constrained.forEach((out, i) => {
      expect(out.tokens.length).toBeLessThanOrEqual(max - (prefixes[i] as number));
      expect(parseAssessment(out.text, { mode: 'pairwise', modality: 'image', format: 'compact' }).ok, out.text).toBe(true);
    });
    // Unconstrained output may stop anywhere, even before the forced prompt of the evidence-first layout.
    const [description] = model.generate([{ media: [randomImage(5)], prompt: long }], { constrained: false, layout: 'evidence-first', maxNewTokens: 10 });
    expect(description).toMatchObject({ finishReason: 'length', tokens: expect.objectContaining({ length: 10 }) });
    expect(description!.error).toBeUndefined();
    // The same row alone gives the same output (budgets do not depend on the batch).
    expect(model.generate([requests[1]!], { temperature: 1, seed: 4 })[0]!.tokens).toEqual(constrained[1]!.tokens);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('an untrained judge whose tokenizer knows one prompt (flex judge on a fresh checkpoint) writes assessments that parse with the default budget', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer: sparseTokenizer, seed: 1 });
    const results = await model.judge(
      [1, 2, 3].map((seed) => ({ prompt: 'a red circle', modality: 'image' as const, a: randomImage(seed), b: randomImage(seed + 10) })),
      { bothOrders: true },
    );
    for (const r of results) expect(r.ok, JSON.stringify(r)).toBe(true);
    model.dispose();
  });

  it('judge() and score(): a prompt longer than maxTextLength or a budget below the minimum is an invalid_request result, the rest of the batch is judged', async () => {
    const model = FlexJudgeModel.create({ preset: 'tiny', tokenizer: sparseTokenizer, seed: 6 });
    const tooLong = Array.from({ length: 300 }, () => 'red').join(' ');
    const results = await model.judge([
      { prompt: 'a red circle', modality: 'image', a: randomImage(1), b: randomImage(2) },
      { prompt: tooLong, modality: 'image', a: randomImage(3), b: randomImage(4) },
      { prompt: 'a blue circle', modality: 'image', a: randomImage(5), b: randomImage(6) },
    ]);
    expect(results[0]!.ok, JSON.stringify(results[0])).toBe(true);
    expect(results[2]!.ok, JSON.stringify(results[2])).toBe(true);
    expect(results[1]).toEqual({ ok: false, error: { code: 'invalid_request', message: expect.stringMatching(/prompt is \d+ tokens long.*more than the model's maxTextLength of 256/) } });
    const minimum = model.minimumNewTokens({ mode: 'pointwise' });
    const scored = await model.score(
      [
        { prompt: 'a red circle', modality: 'image', media: randomImage(7) },
        { prompt: tooLong, modality: 'image', media: randomImage(8) },
      ],
      { maxNewTokens: minimum - 1 },
    );
    expect(scored.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['invalid_request', 'invalid_request']);
    expect(scored[0]!.ok ? '' : scored[0]!.error.message).toMatch(/maxNewTokens \d+ is below the \d+ tokens/);
    model.dispose();
  });
});
