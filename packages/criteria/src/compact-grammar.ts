import { z } from 'zod';
import { categoryName, selfGeneratedCategoryId } from './categories';
import { parseOptionsOrThrow } from './errors';
import type { PredefinedCategoryId } from './categories';

/**
 * An incremental recogniser of the compact form (docs/compact-codec.md) for constrained decoding. It works on
 * characters: feed the text generated so far in chunks of any size, ask what may come next, clone it to try a
 * candidate token without committing. Everything it accepts decodes with {@link decodeCompact}.
 */

/** Options of {@link createCompactGrammar}. */
export const compactGrammarOptionsSchema = z.object({
  /** 'pairwise' or 'pointwise'. */
  mode: z.enum(['pairwise', 'pointwise']),
  /** 'image' or 'video': decides the canonical names of categories A, B, C. */
  modality: z.enum(['image', 'video']),
  /** Whether the `intent:` line is 'optional' (default), 'required' or 'forbidden'. */
  intent: z.enum(['optional', 'required', 'forbidden']).default('optional'),
  /** Whether the evidence line(s) are 'optional' (default), 'required' or 'forbidden'. */
  evidence: z.enum(['optional', 'required', 'forbidden']).default('optional'),
  /** Fewest criteria per category. Default 3 (the published judge writes 3–5). */
  minCriteria: z.number().int().min(1).max(10_000).default(3),
  /** Most criteria per category. Default 5. */
  maxCriteria: z.number().int().min(1).max(10_000).default(5),
  /** How many self-generated categories (D, E, …) may follow A, B, C. Default 1. */
  maxExtraCategories: z.number().int().min(0).max(1000).default(1),
  /**
   * 'canonical' (default): the names of A, B, C are forced to the registry's canonical names;
   * 'free': any non-empty name.
   */
  categoryNames: z.enum(['canonical', 'free']).default('canonical'),
  /** Most raw characters (escapes count two) in one free-text field. Default 400. */
  maxFieldLength: z.number().int().min(2).max(1_000_000).default(400),
  /** Pointwise only: whether verdict and overall scores may carry one decimal (`7.5`). Default true. */
  decimalScores: z.boolean().default(true),
});
/** Input type of {@link compactGrammarOptionsSchema}. */
export type CompactGrammarOptions = z.input<typeof compactGrammarOptionsSchema>;
type ResolvedOptions = z.output<typeof compactGrammarOptionsSchema>;

/** What may come next after the text fed so far. */
export interface CompactAllowed {
  /**
   * Literal continuations: the next characters must be exactly one of these strings (a tag such as
   * `"criterion: "`, a category name plus newline, a score with its newline such as `"7\n"`, a winner
   * `"1\n"`, an escape's second character, the space after a separator bar). When a literal has been
   * partly fed, only its remaining suffix is listed.
   */
  readonly literals: readonly string[];
  /**
   * Free text is allowed: any characters except `|`, newline and carriage return, with `\` starting an escape
   * (`\\`, `\|`, `\n`, `\r`); the field ends with one of `terminators`. `null` when no free text may come.
   */
  readonly text: {
    /** Strings that end the field (`" | "` before the next field, `"\n"` at the end of a line). Empty while the field is still too short. */
    readonly terminators: readonly string[];
    /** How many more raw characters the field may hold before a terminator must come. */
    readonly remaining: number;
  } | null;
  /** True when the text so far is a complete assessment (nothing more may come). */
  readonly complete: boolean;
}

type Stage =
  | 'begin'
  | 'intent'
  | 'afterIntent'
  | 'evidence1'
  | 'evidence2Tag'
  | 'evidence2'
  | 'categoryTag'
  | 'categoryName'
  | 'categoryNameLiteral'
  | 'criterionOrVerdict'
  | 'criterionName'
  | 'reason1'
  | 'reason2'
  | 'criterionScore'
  | 'verdictReason'
  | 'verdictValue'
  | 'afterCategory'
  | 'overallReason'
  | 'overallValue'
  | 'done';

const textStages: Readonly<Partial<Record<Stage, { line: boolean; min: number }>>> = {
  intent: { line: true, min: 0 },
  evidence1: { line: true, min: 0 },
  evidence2: { line: true, min: 0 },
  categoryName: { line: true, min: 1 },
  criterionName: { line: false, min: 1 },
  reason1: { line: false, min: 0 },
  reason2: { line: false, min: 0 },
  verdictReason: { line: false, min: 0 },
  overallReason: { line: false, min: 0 },
};

const integerScores = Array.from({ length: 11 }, (_, i) => `${i}\n`);
const decimalScores = [
  ...integerScores,
  ...Array.from({ length: 100 }, (_, i) => `${Math.floor(i / 10)}.${i % 10}\n`),
  '10.0\n',
];
const winners = ['1\n', '2\n'];
const escapeSeconds = ['\\', '|', 'n', 'r'];

/**
 * The compact grammar as a small state machine. Create one with {@link createCompactGrammar}; each call is
 * O(length of the chunk) and {@link CompactGrammar.clone} is O(1), so a decoder can test every candidate token
 * with `canFeed(token)` at each step.
 */
export class CompactGrammar {
  private stage: Stage = 'begin';
  private categories = 0;
  private criteria = 0;
  private literalOptions: readonly string[] = [];
  private literalPosition = 0;
  private raw = 0;
  private lastSpace = false;
  private escape = false;
  private afterBar = false;

  /** Prefer {@link createCompactGrammar}, which validates the options and applies the defaults. @param options Validated options. */
  constructor(private readonly options: ResolvedOptions) {
    this.enter('begin');
  }

  /** An independent copy in the same state. */
  clone(): CompactGrammar {
    const copy = Object.create(CompactGrammar.prototype) as CompactGrammar;
    Object.assign(copy, this);
    return copy;
  }

  /**
   * Consumes `chunk`. Returns true when every character is allowed; otherwise returns false and leaves the
   * state as it was before the call.
   */
  feed(chunk: string): boolean {
    const next = this.clone();
    if (!next.run(chunk)) return false;
    Object.assign(this, next);
    return true;
  }

  /** Whether `chunk` could be fed now (the state is not changed). One O(1) copy plus O(chunk) steps. */
  canFeed(chunk: string): boolean {
    return this.clone().run(chunk);
  }

  private run(chunk: string): boolean {
    for (let i = 0; i < chunk.length; i++) if (!this.step(chunk[i] as string)) return false;
    return true;
  }

  /** True when the text fed so far is a complete compact assessment. */
  isComplete(): boolean {
    return this.stage === 'done';
  }

  /** What may come next; see {@link CompactAllowed}. */
  allowed(): CompactAllowed {
    const complete = this.stage === 'done';
    const text = textStages[this.stage];
    if (text === undefined) {
      return { literals: this.literalOptions.map((o) => o.slice(this.literalPosition)), text: null, complete };
    }
    if (this.escape) return { literals: escapeSeconds, text: null, complete };
    if (this.afterBar) return { literals: [' '], text: null, complete };
    const max = this.options.maxFieldLength;
    const terminators: string[] = [];
    if (text.line) {
      if (this.raw >= text.min) terminators.push('\n');
    } else {
      if (this.raw >= text.min && this.raw + 1 <= max + 1) terminators.push(' | ');
      if (this.lastSpace && this.raw - 1 >= text.min) terminators.push('| ');
    }
    return { literals: [], text: { terminators, remaining: Math.max(0, max - this.raw) }, complete };
  }

  private step(c: string): boolean {
    const text = textStages[this.stage];
    return text === undefined ? this.stepLiteral(c) : this.stepText(c, text);
  }

  private stepLiteral(c: string): boolean {
    const position = this.literalPosition;
    const options = this.literalOptions.filter((o) => o[position] === c);
    if (options.length === 0) return false;
    this.literalOptions = options;
    this.literalPosition = position + 1;
    // The option sets are prefix-free, so a completed option is the only one left.
    const done = options.find((o) => o.length === position + 1);
    if (done !== undefined) this.chose(done);
    return true;
  }

  private stepText(c: string, text: { line: boolean; min: number }): boolean {
    const max = this.options.maxFieldLength;
    if (this.afterBar) {
      if (c !== ' ') return false;
      this.afterBar = false;
      this.endText();
      return true;
    }
    if (this.escape) {
      if (!escapeSeconds.includes(c)) return false;
      this.escape = false;
      this.raw += 1;
      this.lastSpace = false;
      return true;
    }
    switch (c) {
      case '\\':
        if (this.raw + 2 > max) return false;
        this.raw += 1;
        this.escape = true;
        this.lastSpace = false;
        return true;
      case '\n':
        if (!text.line || this.raw < text.min) return false;
        this.endText();
        return true;
      case '\r':
        return false;
      case '|':
        if (text.line || !this.lastSpace || this.raw - 1 < text.min) return false;
        this.afterBar = true;
        return true;
      case ' ':
        // A space may be the first half of the ` | ` separator, so it may go one past the limit.
        if (this.raw + 1 > max + (text.line ? 0 : 1)) return false;
        this.raw += 1;
        this.lastSpace = true;
        return true;
      default:
        if (this.raw + 1 > max) return false;
        this.raw += 1;
        this.lastSpace = false;
        return true;
    }
  }

  private categoryId(index: number): string {
    return index < 3 ? (['A', 'B', 'C'][index] as string) : selfGeneratedCategoryId(index - 3);
  }

  private literals(options: readonly string[]): void {
    this.literalOptions = options;
    this.literalPosition = 0;
  }

  private enter(stage: Stage): void {
    this.stage = stage;
    const o = this.options;
    const pairwise = o.mode === 'pairwise';
    const evidenceTag = pairwise ? 'evidence 1: ' : 'evidence: ';
    const firstCategory = `category ${this.categoryId(0)}: `;
    if (textStages[stage] !== undefined) {
      this.raw = 0;
      this.lastSpace = false;
      this.escape = false;
      this.afterBar = false;
      this.literals([]);
      return;
    }
    switch (stage) {
      case 'begin': {
        const options: string[] = [];
        if (o.intent !== 'forbidden') options.push('intent: ');
        if (o.intent !== 'required') {
          if (o.evidence !== 'forbidden') options.push(evidenceTag);
          if (o.evidence !== 'required') options.push(firstCategory);
        }
        this.literals(options);
        return;
      }
      case 'afterIntent': {
        const options: string[] = [];
        if (o.evidence !== 'forbidden') options.push(evidenceTag);
        if (o.evidence !== 'required') options.push(firstCategory);
        this.literals(options);
        return;
      }
      case 'evidence2Tag':
        this.literals(['evidence 2: ']);
        return;
      case 'categoryTag':
        this.literals([`category ${this.categoryId(this.categories)}: `]);
        return;
      case 'criterionOrVerdict': {
        const options: string[] = [];
        if (this.criteria < o.maxCriteria) options.push('criterion: ');
        if (this.criteria >= Math.min(o.minCriteria, o.maxCriteria)) options.push(`verdict ${this.categoryId(this.categories)}: `);
        this.literals(options);
        return;
      }
      case 'criterionScore':
        this.literals(integerScores);
        return;
      case 'verdictValue':
      case 'overallValue':
        this.literals(pairwise ? winners : o.decimalScores ? decimalScores : integerScores);
        return;
      case 'afterCategory': {
        const options: string[] = [];
        if (this.categories < 3 + o.maxExtraCategories) options.push(`category ${this.categoryId(this.categories)}: `);
        if (this.categories >= 3) options.push('overall: ');
        this.literals(options);
        return;
      }
      case 'done':
        this.literals([]);
        return;
      default:
        return;
    }
  }

  /** A literal option was completed: move to the stage it leads to. */
  private chose(option: string): void {
    switch (this.stage) {
      case 'begin':
      case 'afterIntent':
        if (option === 'intent: ') return this.enter('intent');
        if (option.startsWith('evidence')) return this.enter('evidence1');
        return this.startCategory();
      case 'evidence2Tag':
        return this.enter('evidence2');
      case 'categoryTag':
      case 'afterCategory':
        if (option === 'overall: ') return this.enter('overallReason');
        return this.startCategory();
      case 'categoryNameLiteral':
        return this.enter('criterionOrVerdict');
      case 'criterionOrVerdict':
        return this.enter(option === 'criterion: ' ? 'criterionName' : 'verdictReason');
      case 'criterionScore':
        this.criteria += 1;
        return this.enter('criterionOrVerdict');
      case 'verdictValue':
        this.categories += 1;
        return this.enter('afterCategory');
      case 'overallValue':
        return this.enter('done');
      default:
        return;
    }
  }

  /** The tag `category X: ` was written: the name follows, canonical or free. */
  private startCategory(): void {
    this.criteria = 0;
    if (this.categories < 3 && this.options.categoryNames === 'canonical') {
      this.stage = 'categoryNameLiteral';
      this.literals([`${categoryName(this.options.modality, this.categoryId(this.categories) as PredefinedCategoryId)}\n`]);
      return;
    }
    this.enter('categoryName');
  }

  /** A free-text field ended (its terminator was consumed). */
  private endText(): void {
    const pairwise = this.options.mode === 'pairwise';
    switch (this.stage) {
      case 'intent':
        return this.enter('afterIntent');
      case 'evidence1':
        return pairwise ? this.enter('evidence2Tag') : this.startCategoryTag();
      case 'evidence2':
        return this.startCategoryTag();
      case 'categoryName':
        return this.enter('criterionOrVerdict');
      case 'criterionName':
        return this.enter(pairwise ? 'reason1' : 'reason2');
      case 'reason1':
        return this.enter('reason2');
      case 'reason2':
        return this.enter('criterionScore');
      case 'verdictReason':
        return this.enter('verdictValue');
      case 'overallReason':
        return this.enter('overallValue');
      default:
        return;
    }
  }

  private startCategoryTag(): void {
    this.enter('categoryTag');
  }
}

/**
 * Creates a {@link CompactGrammar} for one assessment to be generated.
 * @param options See {@link compactGrammarOptionsSchema}.
 * @throws CriteriaError `invalid_options` on malformed options.
 */
export function createCompactGrammar(options: CompactGrammarOptions): CompactGrammar {
  return new CompactGrammar(parseOptionsOrThrow(compactGrammarOptionsSchema, options, 'compact grammar options'));
}

/**
 * What may follow `prefix` (one-shot convenience over {@link createCompactGrammar}); `null` when the prefix
 * itself is not a valid start of a compact assessment. For token-by-token decoding keep a grammar object
 * and feed it instead: this function re-reads the whole prefix every call.
 */
export function nextAllowed(prefix: string, options: CompactGrammarOptions): CompactAllowed | null {
  const grammar = createCompactGrammar(options);
  return grammar.feed(prefix) ? grammar.allowed() : null;
}
