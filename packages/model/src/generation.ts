import type { CompactGrammarOptions, Modality } from '@flex/criteria';
import { type CompletionPlanner, type GrammarTracker, completionPlanner } from './completion-budget';
import { createRng, type Rng } from './random';
import { EOS, PAD, SEP, BOS, UNK, type Tokenizer } from './tokenizer';
import type { SequenceLayout } from './sequence';
import { LineTracker, joinEvidence } from './sequence';

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

/**
 * Tokens of slack above the shortest completion at which a constrained decoder starts closing: from then on it
 * only takes tokens on a shortest completion (free-text fields end at once, no optional criterion, category,
 * intent or evidence line); among those the model still chooses (names, scores, winners).
 */
export const closingMargin = 8;

/**
 * Evidence-first layout: tokens the decoder sets aside for the forced prompt while it writes the evidence, so
 * that the moment it starts closing the evidence does not depend on the prompt (the prompt's real length is
 * used when it is longer).
 */
export const evidencePromptAllowance = 32;

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
  #tracker: GrammarTracker | undefined;
  #texts = { evidence: '', rest: '' };
  #queue: number[] = [];
  readonly #line = new LineTracker();
  /** The candidate tag of the last accepted token (`candidateTags`; 0 after a finished sequence's padding). */
  tag = 0;
  readonly #rng: Rng;
  readonly #planners: DecoderPlanners | undefined;

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
      /** Evidence-first: the evidence lines to force instead of writing them (then the prompt is forced too). */
      readonly evidence?: string;
    },
  ) {
    this.#phase = options.layout === 'evidence-first' ? 'evidence' : 'rest';
    this.#rng = createRng(options.seed);
    if (options.constrained) {
      this.#planners = decoderPlanners(tokenizer, options.layout, options.grammar);
      this.#tracker = (this.#phase === 'evidence' ? (this.#planners.evidence as CompletionPlanner) : this.#planners.rest).start();
    }
    if (options.evidence !== undefined && this.#phase === 'evidence') {
      // Forced like the prompt: the rest's grammar starts once the queue is written.
      this.#phase = 'prompt';
      this.#texts.evidence = options.evidence;
      this.#queue = [...tokenizer.encode(options.evidence), SEP, ...options.promptIds, SEP];
    }
  }

  /**
   * The fewest tokens (forced prompt tokens and the final `<eos>` included) that a constrained decoder needs to
   * write a complete assessment from the start; 0 when unconstrained.
   */
  get minimumTokens(): number {
    return this.#planners ? this.#need() : 0;
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
    const grammar = this.#tracker?.grammar;
    if (this.#phase === 'evidence') {
      if (id === SEP) return !grammar || this.#evidenceComplete();
      if (grammar && this.#evidenceComplete()) return false;
    }
    if (id === EOS) return this.#phase === 'rest' && (!grammar || grammar.isComplete());
    if (id === SEP) return !grammar;
    if (!grammar) return true;
    return grammar.canFeed(this.tokenizer.textOf(id));
  }

  /** The forced prompt and its `<sep>` (evidence-first), then the shortest whole rest of the assessment. */
  #afterEvidence(): number {
    const planners = this.#planners as DecoderPlanners;
    return this.options.promptIds.length + 1 + planners.rest.cost(planners.rest.start());
  }

  /** Fewest tokens still needed from a tracker state in the current phase (`<sep>`, prompt and `<eos>` included). */
  #need(tracker: GrammarTracker = this.#tracker as GrammarTracker): number {
    const planners = this.#planners as DecoderPlanners;
    if (this.#phase === 'evidence') return (planners.evidence as CompletionPlanner).cost(tracker) + this.#afterEvidence();
    if (this.#phase === 'prompt') return this.#queue.length + planners.rest.cost(planners.rest.start());
    return planners.rest.cost(tracker);
  }

  /** Fewest tokens still needed after writing `id` now. */
  #needAfter(id: number): number {
    if (id === EOS) return 0;
    if (id === SEP) return this.#afterEvidence();
    const next = (this.#tracker as GrammarTracker).clone();
    if (!next.feed(this.tokenizer.textOf(id))) return Infinity;
    return this.#need(next);
  }

  /** Chooses the next token from this sequence's logits; `remaining` is the token budget left (this one included). */
  choose(logits: Float32Array, remaining: number): number {
    if (this.#queue.length > 0) return this.#queue.shift() as number;
    this.#recordWinner(logits);
    const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => (logits[b] as number) - (logits[a] as number));
    if (!this.#tracker) return this.#pick(logits, order, (id) => this.#allowed(id)) ?? EOS;
    const need = this.#need();
    // The evidence closes at a point that does not depend on the prompt (unless the prompt is long).
    const slack = this.#phase === 'evidence' ? Math.max(0, evidencePromptAllowance - (this.options.promptIds.length + 1)) : 0;
    if (remaining <= need + slack + closingMargin) {
      // Closing: only tokens on a shortest completion.
      const planner = (this.#phase === 'evidence' ? this.#planners?.evidence : this.#planners?.rest) as CompletionPlanner;
      const tracker = this.#tracker;
      const closing = (id: number) => this.#allowed(id) && planner.mayClose(tracker, id) && this.#needAfter(id) <= need - 1;
      return this.#pick(logits, order, closing) ?? EOS;
    }
    // Any allowed token after which the rest still fits.
    return this.#pick(logits, order, (id) => this.#allowed(id), (id) => this.#needAfter(id) < remaining) ?? EOS;
  }

  /**
   * Greedy: the most likely token that passes `allowed` and `fits`. Sampled: among the `topK` most likely allowed
   * tokens (all when 0), Gumbel-max at the temperature, skipping those that do not fit (this samples exactly from
   * the distribution renormalised over the tokens that do).
   */
  #pick(logits: Float32Array, order: readonly number[], allowed: (id: number) => boolean, fits: (id: number) => boolean = () => true): number | undefined {
    const { temperature, topK } = this.options.sampling;
    if (temperature <= 0) {
      for (const id of order) if (allowed(id) && fits(id)) return id;
      return undefined;
    }
    const candidates: { id: number; value: number }[] = [];
    for (const id of order) {
      if (!allowed(id)) continue;
      let u = this.#rng.next();
      while (u <= 1e-12) u = this.#rng.next();
      candidates.push({ id, value: (logits[id] as number) / temperature - Math.log(-Math.log(u)) });
      if (topK > 0 && candidates.length >= topK) break;
    }
    candidates.sort((a, b) => b.value - a.value);
    for (const { id } of candidates) if (fits(id)) return id;
    // None of the top-k fits: the most likely allowed token that does.
    for (const id of order) if (allowed(id) && fits(id)) return id;
    return undefined;
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
      if (this.#tracker && !this.#tracker.grammar.canFeed(this.tokenizer.textOf(id))) continue;
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
    const special = this.tokenizer.isSpecial(id);
    this.tag = this.#line.feed(special ? '' : this.tokenizer.textOf(id), special, this.options.pairwise ? 2 : 1);
    if (this.#queue.length > 0 || this.#phase === 'prompt') {
      if (this.#queue.length === 0) {
        this.#phase = 'rest';
        if (this.#planners) this.#tracker = this.#planners.rest.start();
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
    this.#tracker?.feed(text);
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

/** The planners of a decoder: the evidence lines (evidence-first layout) and the rest of the assessment. */
export interface DecoderPlanners {
  readonly evidence?: CompletionPlanner;
  readonly rest: CompletionPlanner;
}

/** The grammars a constrained decoder follows in a layout, as planners (shared, memoised). */
export function decoderPlanners(tokenizer: Tokenizer, layout: SequenceLayout, grammar: CompactGrammarOptions): DecoderPlanners {
  if (layout === 'prompt-first') return { rest: completionPlanner(tokenizer, grammar, 'complete') };
  return {
    evidence: completionPlanner(tokenizer, { ...grammar, intent: 'forbidden', evidence: 'required' }, 'evidence'),
    rest: completionPlanner(tokenizer, { ...grammar, evidence: 'forbidden' }, 'complete'),
  };
}

/** The compact grammar options a decoder uses for a request. */
export function grammarFor(mode: 'pairwise' | 'pointwise', modality: Modality, overrides: Partial<CompactGrammarOptions>): CompactGrammarOptions {
  return { minCriteria: 1, maxCriteria: 5, maxExtraCategories: 1, maxFieldLength: 120, ...overrides, mode, modality };
}
