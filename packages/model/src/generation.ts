import { type CompactGrammar, type CompactGrammarOptions, createCompactGrammar, type Modality, predefinedCategories } from '@flex/criteria';
import { createRng, type Rng } from './random';
import { EOS, PAD, SEP, BOS, UNK, type Tokenizer } from './tokenizer';
import type { SequenceLayout } from './sequence';
import { joinEvidence } from './sequence';

/**
 * Token choice for generation: greedy or sampled (temperature, top-k, Gumbel-max so that masking keeps the
 * exact renormalised distribution), optionally constrained by the compact grammar of @flex/criteria so that
 * every finished output decodes. Also reads the model's own winner-token distribution at each verdict.
 */

/** Sampling settings. */
export interface SamplingSettings {
  /** 0 = greedy. */
  readonly temperature: number;
  /** 0 = no limit. */
  readonly topK: number;
}

/** The decoding state of one sequence. */
export class SequenceDecoder {
  readonly tokens: number[] = [];
  done = false;
  finishReason: 'eos' | 'length' | undefined;
  /** P(candidate 1) at the overall verdict, from the winner-token distribution. */
  winnerProbability: number | undefined;
  /** P(candidate 1) per category id at each category verdict. */
  readonly categoryWinnerProbability: Record<string, number> = {};
  #phase: 'evidence' | 'prompt' | 'rest';
  #grammar: CompactGrammar | undefined;
  #texts = { evidence: '', rest: '' };
  #queue: number[] = [];
  readonly #rng: Rng;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: {
      readonly layout: SequenceLayout;
      readonly promptIds: readonly number[];
      readonly constrained: boolean;
      readonly grammar: CompactGrammarOptions;
      readonly pairwise: boolean;
      readonly seed: number;
      readonly sampling: SamplingSettings;
    },
  ) {
    this.#phase = options.layout === 'evidence-first' ? 'evidence' : 'rest';
    this.#rng = createRng(options.seed);
    if (options.constrained) this.#grammar = this.#newGrammar();
  }

  #newGrammar(): CompactGrammar {
    const base = this.options.grammar;
    if (this.options.layout === 'prompt-first') return createCompactGrammar(base);
    return this.#phase === 'evidence'
      ? createCompactGrammar({ ...base, intent: 'forbidden', evidence: 'required' })
      : createCompactGrammar({ ...base, evidence: 'forbidden' });
  }

  /** The compact text written so far (evidence put back after the intent). */
  get text(): string {
    return joinEvidence(this.#texts.evidence, this.#texts.rest);
  }

  /** True while the next token is forced (the prompt in the evidence-first layout). */
  get forcing(): boolean {
    return this.#queue.length > 0;
  }

  #evidenceComplete(): boolean {
    const lines = this.#texts.evidence.split('\n').length - 1;
    return lines >= (this.options.pairwise ? 2 : 1);
  }

  #currentLine(): string {
    const text = this.#phase === 'evidence' ? this.#texts.evidence : this.#texts.rest;
    return text.slice(text.lastIndexOf('\n') + 1);
  }

  #allowed(id: number): boolean {
    if (id === PAD || id === BOS || id === UNK) return false;
    const grammar = this.#grammar;
    if (this.#phase === 'evidence') {
      if (id === SEP) return !grammar || this.#evidenceComplete();
      if (grammar && this.#evidenceComplete()) return false;
    }
    if (id === EOS) return this.#phase === 'rest' && (!grammar || grammar.isComplete());
    if (id === SEP) return !grammar;
    if (!grammar) return true;
    return grammar.canFeed(this.tokenizer.textOf(id));
  }

  /** Rough number of tokens still needed to finish a minimal assessment from here. */
  #tokensToFinish(): number {
    const minCriteria = this.options.grammar.minCriteria ?? 3;
    const verdicts = (this.#texts.rest.match(/^verdict /gm) ?? []).length;
    let categories = 0;
    for (const category of predefinedCategories[this.options.grammar.modality].slice(verdicts)) {
      // The category line is a forced literal; written with the longest tokens it takes about this many.
      categories += this.tokenizer.encode(`category ${category.id}: ${category.name}\n`).length + 10 + 9 * minCriteria;
    }
    // Independent of the prompt, so that evidence written before the prompt cannot depend on it.
    const evidence = this.#phase === 'evidence' ? 60 : 0;
    return categories + 10 + evidence;
  }

  /** Chooses the next token from this sequence's logits; `remaining` is the token budget left. */
  choose(logits: Float32Array, remaining: number): number {
    if (this.#queue.length > 0) return this.#queue.shift() as number;
    const { temperature, topK } = this.options.sampling;
    const vocabulary = logits.length;
    this.#recordWinner(logits);
    const order = Array.from({ length: vocabulary }, (_, i) => i).sort((a, b) => (logits[b] as number) - (logits[a] as number));
    const constrained = this.#grammar !== undefined;
    const pressure = constrained && remaining <= this.#tokensToFinish() + 24;
    if (pressure) return this.#closingChoice(order);
    if (temperature <= 0) {
      for (const id of order) if (this.#allowed(id)) return id;
      return EOS;
    }
    const candidates: number[] = [];
    for (const id of order) {
      if (!this.#allowed(id)) continue;
      candidates.push(id);
      if (topK > 0 && candidates.length >= topK) break;
    }
    if (candidates.length === 0) return EOS;
    let best = candidates[0] as number;
    let bestValue = -Infinity;
    for (const id of candidates) {
      let u = this.#rng.next();
      while (u <= 1e-12) u = this.#rng.next();
      const value = (logits[id] as number) / temperature - Math.log(-Math.log(u));
      if (value > bestValue) {
        bestValue = value;
        best = id;
      }
    }
    return best;
  }

  /**
   * Under budget pressure: in free text, end the field as soon as the grammar allows; in literal stages
   * (tags, category names, scores) take the longest allowed token, preferring `verdict` and `overall` over
   * opening another criterion or category.
   */
  #closingChoice(order: readonly number[]): number {
    const grammar = this.#grammar as CompactGrammar;
    if (this.#phase === 'evidence' && this.#evidenceComplete()) return SEP;
    if (grammar.isComplete()) return EOS;
    const allowed = order.filter((id) => this.#allowed(id));
    if (allowed.length === 0) return EOS;
    const state = grammar.allowed();
    if (state.text) {
      const ends = state.text.terminators;
      const text = (id: number) => this.tokenizer.textOf(id);
      // A token holding a whole terminator first, then one that starts it with something other than a space.
      const whole = allowed.find((id) => ends.some((t) => text(id).startsWith(t)));
      const part = allowed.find((id) => text(id).trim() !== '' && ends.some((t) => t.startsWith(text(id))));
      return whole ?? part ?? (allowed[0] as number);
    }
    const rank = (id: number) => {
      const text = this.tokenizer.textOf(id);
      return (text.startsWith('verdict') || text.startsWith('overall') ? 1000 : 0) + text.length;
    };
    let best = allowed[0] as number;
    for (const id of allowed) if (rank(id) > rank(best)) best = id;
    return best;
  }

  #recordWinner(logits: Float32Array): void {
    if (!this.options.pairwise || this.#phase !== 'rest') return;
    const line = this.#currentLine();
    const match = /^(overall|verdict ([A-Z]+)): /.exec(line);
    if (!match || !/(^|[^\\])(\\\\)*\| ?$/.test(line)) return;
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    let one = 0;
    let two = 0;
    for (let id = 0; id < logits.length; id++) {
      if (this.tokenizer.isSpecial(id)) continue;
      const text = this.tokenizer.textOf(id).trim();
      if (text !== '1' && text !== '2') continue;
      if (this.#grammar && !this.#grammar.canFeed(this.tokenizer.textOf(id))) continue;
      const p = Math.exp((logits[id] as number) - max);
      if (text === '1') one += p;
      else two += p;
    }
    if (one + two <= 0) return;
    const probability = one / (one + two);
    if (match[1] === 'overall') this.winnerProbability = probability;
    else this.categoryWinnerProbability[match[2] as string] = probability;
  }

  /** Records the chosen token and advances the phase. */
  accept(id: number): void {
    this.tokens.push(id);
    if (this.#queue.length > 0 || this.#phase === 'prompt') {
      if (this.#queue.length === 0) {
        this.#phase = 'rest';
        if (this.#grammar) this.#grammar = this.#newGrammar();
      }
      return;
    }
    if (id === EOS) {
      this.done = true;
      this.finishReason = 'eos';
      return;
    }
    if (this.#phase === 'evidence' && id === SEP) {
      this.#phase = 'prompt';
      this.#queue = [...this.options.promptIds, SEP];
      return;
    }
    if (this.tokenizer.isSpecial(id)) return;
    const text = this.tokenizer.textOf(id);
    this.#grammar?.feed(text);
    if (this.#phase === 'evidence') this.#texts.evidence += text;
    else this.#texts.rest += text;
  }

  /** Marks the sequence finished for lack of room. */
  stop(): void {
    if (!this.done) {
      this.done = true;
      this.finishReason = 'length';
    }
  }
}

/** The compact grammar options a decoder uses for a request. */
export function grammarFor(mode: 'pairwise' | 'pointwise', modality: Modality, overrides: Partial<CompactGrammarOptions>): CompactGrammarOptions {
  return { minCriteria: 1, maxCriteria: 5, maxExtraCategories: 1, maxFieldLength: 120, ...overrides, mode, modality };
}
