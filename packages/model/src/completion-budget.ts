import { type CompactGrammar, type CompactGrammarOptions, createCompactGrammar } from '@flex/criteria';
import type { Tokenizer } from './tokenizer';

/**
 * Token budgets of constrained decoding: the fewest tokens that still complete a compact assessment from any
 * grammar state, for a given tokenizer. A constrained decoder that never takes a token after which the rest no
 * longer fits, and that follows a shortest completion once the budget runs low, finishes every output.
 *
 * The cost is an exact shortest path over a restricted set of moves (tokens): in free text, the tokens that
 * start or are a terminator (`" | "`, `"\n"`), and one fixed filler character when a name must not stay empty;
 * in literal stages (tags, category names, scores, winners), every token the grammar accepts. Because the cost
 * is computed over the same moves a decoder can take, it is consistent: from any state whose cost fits the
 * budget there is a token that keeps it fitting, and taking it lowers the cost by exactly one.
 */

/** Where a planned completion ends. */
export type CompletionGoal =
  /** The whole assessment (`overall` line written), then `<eos>`. */
  | 'complete'
  /** The evidence lines written (the evidence-first layout), then `<sep>`. */
  | 'evidence';

/**
 * A compact grammar plus the line counts its state does not expose (categories closed, criteria in the current
 * category, evidence lines, the current line's tag and field), so that two texts reaching the same grammar state
 * share one key.
 */
export class GrammarTracker {
  categories = 0;
  criteria = 0;
  evidenceLines = 0;
  #tag = '';
  #tagDone = false;
  #bars = 0;
  #escaped = false;

  constructor(readonly grammar: CompactGrammar) {}

  /** An independent copy. */
  clone(): GrammarTracker {
    const copy = new GrammarTracker(this.grammar.clone());
    copy.categories = this.categories;
    copy.criteria = this.criteria;
    copy.evidenceLines = this.evidenceLines;
    copy.#tag = this.#tag;
    copy.#tagDone = this.#tagDone;
    copy.#bars = this.#bars;
    copy.#escaped = this.#escaped;
    return copy;
  }

  /** Feeds text to the grammar; false (nothing changed) when the grammar refuses it. */
  feed(text: string): boolean {
    if (!this.grammar.feed(text)) return false;
    for (const c of text) this.#count(c);
    return true;
  }

  #count(c: string): void {
    if (c === '\n') {
      const tag = this.#tag;
      if (tag.startsWith('verdict ')) this.categories += 1;
      else if (tag === 'criterion: ') this.criteria += 1;
      else if (tag.startsWith('category ')) this.criteria = 0;
      else if (tag.startsWith('evidence')) this.evidenceLines += 1;
      this.#tag = '';
      this.#tagDone = false;
      this.#bars = 0;
      this.#escaped = false;
      return;
    }
    if (!this.#tagDone) {
      this.#tag += c;
      // Every tag holds one ": " and ends with it.
      if (this.#tag.endsWith(': ')) this.#tagDone = true;
      return;
    }
    if (this.#escaped) this.#escaped = false;
    else if (c === '\\') this.#escaped = true;
    else if (c === '|') this.#bars += 1;
  }

  /** True at the start of a line. */
  get atLineStart(): boolean {
    return this.#tag === '';
  }

  /** A key that determines the grammar's future: equal keys accept the same continuations. */
  key(): string {
    const allowed = this.grammar.allowed();
    const stage = allowed.complete
      ? '!'
      : allowed.text
        ? `T${allowed.text.terminators.join('\u0002')}\u0003${allowed.text.remaining}`
        : `L${allowed.literals.join('\u0002')}`;
    return `${this.categories}\u0001${this.criteria}\u0001${this.evidenceLines}\u0001${this.#tag}\u0001${this.#bars}\u0001${stage}`;
  }
}

/** Shortest completions of one grammar (options + goal) for one tokenizer; costs are memoised by state key. */
export class CompletionPlanner {
  readonly #memo = new Map<string, number>();
  readonly #byFirstCharacter = new Map<string, number[]>();
  readonly #filler: number | undefined;
  readonly #evidenceLines: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly grammarOptions: CompactGrammarOptions,
    readonly goal: CompletionGoal,
  ) {
    this.#evidenceLines = grammarOptions.mode === 'pairwise' ? 2 : 1;
    let filler: number | undefined;
    for (let id = 0; id < tokenizer.size; id++) {
      if (tokenizer.isSpecial(id)) continue;
      const text = tokenizer.textOf(id);
      // A token that is not at the end of its text holding a newline would carry text into the next line.
      if (text === '' || text.slice(0, -1).includes('\n')) continue;
      const first = text[0] as string;
      const list = this.#byFirstCharacter.get(first);
      if (list) list.push(id);
      else this.#byFirstCharacter.set(first, [id]);
      if (filler === undefined && /^[A-Za-z0-9]$/.test(text)) filler = id;
    }
    this.#filler = filler;
  }

  /** A tracker at the start of the grammar. */
  start(): GrammarTracker {
    return new GrammarTracker(createCompactGrammar(this.grammarOptions));
  }

  /** True when the goal is reached (only the closing `<eos>` or `<sep>` remains). */
  reached(tracker: GrammarTracker): boolean {
    if (this.goal === 'complete') return tracker.grammar.isComplete();
    return tracker.atLineStart && tracker.evidenceLines >= this.#evidenceLines;
  }

  /**
   * Fewest tokens from this state to the goal, the closing `<eos>` or `<sep>` included (1 at the goal);
   * `Infinity` when the tokenizer cannot write a completion.
   */
  cost(tracker: GrammarTracker): number {
    if (this.reached(tracker)) return 1;
    const rootKey = tracker.key();
    const known = this.#memo.get(rootKey);
    if (known !== undefined) return known;
    // Depth-first over the moves with an explicit stack (completions can be hundreds of tokens deep).
    interface Frame {
      readonly tracker: GrammarTracker;
      readonly key: string;
      readonly moves: number[];
      index: number;
      best: number;
    }
    const frame = (t: GrammarTracker, key: string): Frame => ({ tracker: t, key, moves: this.moves(t), index: 0, best: Infinity });
    const stack: Frame[] = [frame(tracker, rootKey)];
    const open = new Set<string>([rootKey]);
    for (;;) {
      const top = stack[stack.length - 1] as Frame;
      if (top.index < top.moves.length) {
        const next = top.tracker.clone();
        if (!next.feed(this.tokenizer.textOf(top.moves[top.index++] as number))) continue;
        if (this.reached(next)) {
          top.best = Math.min(top.best, 2);
          continue;
        }
        const key = next.key();
        const cost = this.#memo.get(key);
        if (cost !== undefined) top.best = Math.min(top.best, 1 + cost);
        else if (!open.has(key)) {
          open.add(key);
          stack.push(frame(next, key));
        }
        continue;
      }
      this.#memo.set(top.key, top.best);
      open.delete(top.key);
      stack.pop();
      const parent = stack[stack.length - 1];
      if (!parent) return top.best;
      parent.best = Math.min(parent.best, 1 + top.best);
    }
  }

  /**
   * The moves a shortest completion is made of, from this state: in free text the terminator tokens (or the
   * filler while the field may not end yet), in literal stages every token whose first character fits.
   */
  moves(tracker: GrammarTracker): number[] {
    const allowed = tracker.grammar.allowed();
    if (allowed.complete) return [];
    if (allowed.text) {
      const terminators = allowed.text.terminators;
      if (terminators.length === 0) return this.#filler !== undefined && tracker.grammar.canFeed(this.tokenizer.textOf(this.#filler)) ? [this.#filler] : [];
      // One space at most before the bar: `"| "` is a terminator exactly when a space was just written.
      const spaced = terminators.includes('| ');
      const moves: number[] = [];
      for (const first of new Set(terminators.map((t) => t[0] as string))) {
        for (const id of this.#byFirstCharacter.get(first) ?? []) {
          const text = this.tokenizer.textOf(id);
          if (spaced && text.trim() === '') continue;
          if (!terminators.some((t) => t.startsWith(text) || text.startsWith(t))) continue;
          if (tracker.grammar.canFeed(text)) moves.push(id);
        }
      }
      return moves;
    }
    // At the start of a line, optional lines (another criterion, another category, intent, evidence) only make a
    // completion longer: the verdict or overall line when offered, else the category line when offered.
    let literals = allowed.literals;
    if (tracker.atLineStart && literals.length > 1) {
      const preferred = literals.find((l) => l.startsWith('verdict ') || l === 'overall: ') ?? literals.find((l) => l.startsWith('category '));
      if (preferred !== undefined) literals = [preferred];
    }
    const moves: number[] = [];
    for (const first of new Set(literals.map((l) => l[0] as string))) {
      for (const id of this.#byFirstCharacter.get(first) ?? []) {
        const text = this.tokenizer.textOf(id);
        if (literals !== allowed.literals && !literals.some((l) => l.startsWith(text) || text.startsWith(l))) continue;
        if (tracker.grammar.canFeed(text)) moves.push(id);
      }
    }
    return moves;
  }

  /**
   * Whether a token may be on a shortest completion from a free-text state: only tokens that start or are a
   * terminator can be, once a terminator is allowed (anything else leaves the field open). A cheap pre-filter.
   */
  mayClose(tracker: GrammarTracker, id: number): boolean {
    const text = tracker.grammar.allowed().text;
    if (!text || text.terminators.length === 0) return true;
    const piece = this.tokenizer.textOf(id);
    return text.terminators.some((t) => t.startsWith(piece) || piece.startsWith(t));
  }
}

const planners = new WeakMap<Tokenizer, Map<string, CompletionPlanner>>();

function stableKey(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(stableKey).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableKey(v)}`).join(',')}}`;
}

/** The planner of a tokenizer, grammar options and goal, shared by every decoder that uses them (memo kept). */
export function completionPlanner(tokenizer: Tokenizer, grammarOptions: CompactGrammarOptions, goal: CompletionGoal): CompletionPlanner {
  let byOptions = planners.get(tokenizer);
  if (!byOptions) {
    byOptions = new Map();
    planners.set(tokenizer, byOptions);
  }
  const key = `${goal}:${stableKey(grammarOptions)}`;
  let planner = byOptions.get(key);
  if (!planner) {
    planner = new CompletionPlanner(tokenizer, grammarOptions, goal);
    byOptions.set(key, planner);
  }
  return planner;
}
