import { z } from 'zod';
import { ModelError, parseOptions } from './errors';

/**
 * A word-level tokenizer with a character fallback. Text is split into pieces — a word, a number or a single
 * symbol, each with its leading space attached (" red", " 7", " |"), or a lone whitespace character — and
 * each piece is one token when it is in the vocabulary, else its characters, else `<unk>`. Built from a corpus
 * of prompts and compact-codec assessments; saved inside checkpoints as JSON.
 */

/** Special tokens, always the first ids. */
export const specialTokens = ['<pad>', '<bos>', '<eos>', '<sep>', '<unk>'] as const;
/** A special token. */
export type SpecialToken = (typeof specialTokens)[number];
/** Ids of the special tokens. */
export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const SEP = 3;
export const UNK = 4;

const piecePattern = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]|\s/gu;

/** Splits text into pieces; their concatenation is the text. */
export function splitPieces(text: string): string[] {
  return text.match(piecePattern) ?? [];
}

/** The saved form of a tokenizer. */
export const tokenizerJsonSchema = z.object({
  kind: z.literal('flex-word-tokenizer'),
  version: z.literal(1),
  /** Every token's text, by id; the first ones are {@link specialTokens}. */
  vocabulary: z.array(z.string()),
});
/** The saved form of a tokenizer. */
export type TokenizerJson = z.output<typeof tokenizerJsonSchema>;

/** Options of {@link buildTokenizer}. */
export const buildTokenizerOptionsSchema = z.object({
  /** Texts to learn pieces from (prompts, compact assessments, descriptions). */
  corpus: z.array(z.string()),
  /** Total vocabulary size including specials and single characters. Default 512. */
  vocabSize: z.number().int().min(specialTokens.length + 1).default(512),
  /** A piece must occur this often to become a token. Default 2. */
  minCount: z.number().int().min(1).default(2),
  /** Pieces always included (e.g. " 0" … " 10", " 1", " 2" for scores and winners). Default: score pieces. */
  requiredPieces: z.array(z.string()).default(Array.from({ length: 11 }, (_, i) => ` ${i}`)),
  /** Characters always included as fallbacks. Default: printable ASCII, newline. */
  requiredCharacters: z.string().default(`\n${Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('')}`),
});
/** Input of {@link buildTokenizer}. */
export type BuildTokenizerOptions = z.input<typeof buildTokenizerOptionsSchema>;

/** A word-level tokenizer with character fallback. */
export class Tokenizer {
  readonly vocabulary: readonly string[];
  readonly #ids = new Map<string, number>();

  constructor(vocabulary: readonly string[]) {
    specialTokens.forEach((token, i) => {
      if (vocabulary[i] !== token) throw new ModelError('tokenizer_error', `token ${i} must be ${token}, got ${JSON.stringify(vocabulary[i])}`);
    });
    this.vocabulary = [...vocabulary];
    this.vocabulary.forEach((piece, i) => {
      if (this.#ids.has(piece)) throw new ModelError('tokenizer_error', `duplicate token ${JSON.stringify(piece)}`);
      this.#ids.set(piece, i);
    });
  }

  /** Number of tokens. */
  get size(): number {
    return this.vocabulary.length;
  }

  /** The id of a piece, or undefined. */
  idOf(piece: string): number | undefined {
    return this.#ids.get(piece);
  }

  /** The text of a token (specials are their names). */
  textOf(id: number): string {
    const text = this.vocabulary[id];
    if (text === undefined) throw new ModelError('tokenizer_error', `token id ${id} is outside the vocabulary of ${this.size}`);
    return text;
  }

  /** True for `<pad>`, `<bos>`, `<eos>`, `<sep>`, `<unk>`. */
  isSpecial(id: number): boolean {
    return id < specialTokens.length;
  }

  /** Token ids of `text` (no specials added). Unknown characters become `<unk>`. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of splitPieces(text)) {
      const id = this.#ids.get(piece);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      for (const character of piece) ids.push(this.#ids.get(character) ?? UNK);
    }
    return ids;
  }

  /** Text of token ids; specials are dropped, `<unk>` becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) {
      if (id === UNK) text += '\uFFFD';
      else if (!this.isSpecial(id)) text += this.textOf(id);
    }
    return text;
  }

  /** True when `encode` then `decode` gives `text` back (no `<unk>`). */
  covers(text: string): boolean {
    return !this.encode(text).includes(UNK);
  }

  /** The saved form. */
  toJSON(): TokenizerJson {
    return { kind: 'flex-word-tokenizer', version: 1, vocabulary: [...this.vocabulary] };
  }

  /** Reads the saved form (validated). */
  static fromJSON(json: unknown): Tokenizer {
    const parsed = tokenizerJsonSchema.safeParse(json);
    if (!parsed.success) throw new ModelError('tokenizer_error', `invalid tokenizer JSON: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return new Tokenizer(parsed.data.vocabulary);
  }
}

/**
 * Builds a tokenizer: specials, then every fallback character (required ones and those in the corpus), then
 * the required pieces, then the most frequent pieces (ties broken alphabetically, so the result is
 * deterministic) until `vocabSize`.
 */
export function buildTokenizer(options: BuildTokenizerOptions): Tokenizer {
  const { corpus, vocabSize, minCount, requiredPieces, requiredCharacters } = parseOptions(buildTokenizerOptionsSchema, options, 'buildTokenizer options');
  const vocabulary: string[] = [...specialTokens];
  const seen = new Set<string>(vocabulary);
  const add = (piece: string) => {
    if (!seen.has(piece)) {
      seen.add(piece);
      vocabulary.push(piece);
    }
  };
  const counts = new Map<string, number>();
  const characters = new Set<string>(requiredCharacters);
  for (const text of corpus) {
    for (const piece of splitPieces(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
    for (const character of text) characters.add(character);
  }
  for (const character of [...characters].sort()) add(character);
  for (const piece of requiredPieces) add(piece);
  if (vocabulary.length > vocabSize) {
    throw new ModelError('tokenizer_error', `vocabSize ${vocabSize} is smaller than the ${vocabulary.length} specials, characters and required pieces`);
  }
  const ranked = [...counts.entries()]
    .filter(([piece, count]) => count >= minCount && !seen.has(piece))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [piece] of ranked) {
    if (vocabulary.length >= vocabSize) break;
    add(piece);
  }
  return new Tokenizer(vocabulary);
}
