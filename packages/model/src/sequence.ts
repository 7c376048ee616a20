import { ModelError } from './errors';
import { BOS, EOS, SEP, type Tokenizer } from './tokenizer';

/**
 * How the text of a judge sequence is laid out after the media tokens.
 * - `prompt-first`: `<bos> prompt <sep> assessment <eos>`.
 * - `evidence-first`: `<bos> evidence lines <sep> prompt <sep> rest of the assessment <eos>`: each candidate's
 *   evidence is written before the prompt is visible (causal attention), so it must come from the media —
 *   the grounding the SFT stage needs. The compact text is reassembled with the evidence after the intent.
 */
export type SequenceLayout = 'prompt-first' | 'evidence-first';

const evidencePattern = /^evidence( [12])?: /;

/** Splits a compact text into its evidence lines and the rest (both keep their trailing newlines). */
export function splitEvidence(compact: string): { evidence: string; rest: string } {
  const lines = compact.split(/(?<=\n)/);
  let evidence = '';
  let rest = '';
  for (const line of lines) {
    if (evidencePattern.test(line)) evidence += line;
    else rest += line;
  }
  return { evidence, rest };
}

/** Puts evidence lines back into a compact text: after the `intent:` line when there is one, else first. */
export function joinEvidence(evidence: string, rest: string): string {
  if (!evidence) return rest;
  if (rest.startsWith('intent: ')) {
    const end = rest.indexOf('\n');
    if (end >= 0) return rest.slice(0, end + 1) + evidence + rest.slice(end + 1);
  }
  return evidence + rest;
}

/** One text sequence: the ids, and for each position after the first whether predicting it is trained. */
export interface EncodedSequence {
  /** All token ids, starting with `<bos>`. */
  readonly ids: number[];
  /** `lossMask[t]` is 1 when `ids[t + 1]` is part of the assessment (trained, scored), else 0. */
  readonly lossMask: number[];
  /** `scoreMask[t]` is 1 when `ids[t + 1]` is a score or winner token. */
  readonly scoreMask: number[];
  /**
   * `shortfallMask[t]` is 1 when `ids[t + 1]` is the first token of a criterion's candidate column that falls short of
   * the requirement (the column carries `, wanted …`): the token where the judge must read a flaw from the evidence
   * instead of restating the requirement.
   */
  readonly shortfallMask: number[];
  /**
   * `decidingMask[t]` is 1 when `ids[t + 1]` is in the candidate columns or the score of a pairwise `criterion:` line
   * whose two candidate columns differ: the criteria that decide, where restating the requirement is wrong.
   */
  readonly decidingMask: number[];
  /**
   * `tags[t]`: the candidate tag of `ids[t]` ({@link candidateTag}), when the options name the number of `candidates`
   * (a model with `candidateTags`).
   */
  readonly tags?: number[];
}

/** A line of tokens `first … last − 1`: its text, and the character offset at which each of its tokens ends. */
interface TokenLine {
  readonly pieces: readonly string[];
  readonly first: number;
  readonly text: string;
  readonly ends: readonly number[];
}

function tokenLine(pieces: readonly string[], first: number, last: number): TokenLine {
  const ends: number[] = [];
  let text = '';
  for (let i = first; i < last; i++) ends.push((text += pieces[i] as string).length);
  return { pieces, first, text, ends };
}

/** Indices of the first non-blank token of each candidate column that falls short (`, wanted `) in a `criterion:` line. */
function shortfallStarts({ pieces, first, text, ends }: TokenLine): number[] {
  if (!text.startsWith('criterion: ')) return [];
  const columns = text.split(' | ');
  const marked: number[] = [];
  let columnStart = 0;
  columns.forEach((column, k) => {
    if (k > 0 && k < columns.length - 1 && column.includes(', wanted ')) {
      const j = ends.findIndex((end, t) => end > columnStart && (pieces[first + t] as string).trim() !== '');
      if (j >= 0) marked.push(first + j);
    }
    columnStart += column.length + 3;
  });
  return marked;
}

/** Indices of the non-blank tokens after the name column of a pairwise `criterion:` line whose two candidate columns differ. */
function decidingTokens({ pieces, first, text, ends }: TokenLine): number[] {
  if (!text.startsWith('criterion: ')) return [];
  const columns = text.split(' | ');
  if (columns.length !== 4 || columns[1] === columns[2]) return [];
  const nameEnd = (columns[0] as string).length;
  return ends.flatMap((end, t) => (end > nameEnd + 3 && (pieces[first + t] as string).trim() !== '' ? [first + t] : []));
}

const scorePiece = /^ ?\d+$/;

/**
 * The candidate a line's text so far speaks of (`candidateTags` in the model config): N in an `evidence N:` line
 * (1 in a one-candidate `evidence:` line), N in the N-th candidate column of a `criterion:` line (after its N-th
 * unescaped `|`, for N up to `candidates`), else 0.
 */
export function candidateTag(line: string, candidates: number): number {
  if (line.startsWith('evidence')) {
    const match = /^evidence(?: (\d+))?:/.exec(line);
    if (!match) return 0;
    const n = match[1] === undefined ? 1 : Number(match[1]);
    return n >= 1 && n <= candidates ? n : 0;
  }
  if (!line.startsWith('criterion: ')) return 0;
  let pipes = 0;
  let escaped = false;
  for (const ch of line) {
    if (escaped) escaped = false;
    else if (ch === '\\') escaped = true;
    else if (ch === '|') pipes++;
  }
  return pipes >= 1 && pipes <= candidates ? pipes : 0;
}

/**
 * The number of candidates a sequence's tags speak of, from its number of media: one for a single image or video (a
 * pointwise check), else two (pairwise, text-only sequences included). Training and generation both use it.
 */
export function tagCandidates(media: number): 1 | 2 {
  return media === 1 ? 1 : 2;
}

/** Follows the current line through tokens (for {@link candidateTag}): special tokens and newlines end a line. */
export class LineTracker {
  line = '';
  /** Feeds one token's text ('' with `special` for a special token) and returns the tag of that token. */
  feed(piece: string, special: boolean, candidates: number): number {
    if (special) {
      this.line = '';
      return 0;
    }
    const newline = piece.lastIndexOf('\n');
    this.line = newline >= 0 ? piece.slice(newline + 1) : this.line + piece;
    return newline >= 0 ? 0 : candidateTag(this.line, candidates);
  }
}

/**
 * Encodes prompt + compact assessment in a layout. `open`: the completion is only the start of an answer (e.g. the
 * intent line of a check), so no `<eos>` is appended or trained — the example teaches its lines without teaching
 * the model to stop there.
 */
export function encodeSequence(
  tokenizer: Tokenizer,
  prompt: string,
  completion: string,
  layout: SequenceLayout,
  options: { open?: boolean; candidates?: number } = {},
): EncodedSequence {
  const promptIds = tokenizer.encode(prompt);
  const end = options.open ? [] : [EOS];
  const segments: { ids: number[]; trained: boolean }[] = [];
  if (layout === 'prompt-first') {
    segments.push({ ids: [BOS, ...promptIds, SEP], trained: false }, { ids: [...tokenizer.encode(completion), ...end], trained: true });
  } else {
    const { evidence, rest } = splitEvidence(completion);
    segments.push(
      { ids: [BOS], trained: false },
      { ids: [...tokenizer.encode(evidence), SEP], trained: true },
      { ids: [...promptIds, SEP], trained: false },
      { ids: [...tokenizer.encode(rest), ...end], trained: true },
    );
  }
  const ids: number[] = [];
  const trained: number[] = [];
  for (const s of segments) {
    ids.push(...s.ids);
    trained.push(...s.ids.map(() => (s.trained ? 1 : 0)));
  }
  const lossMask = trained.slice(1);
  // Each token's text ('' for special tokens), shared by both masks.
  const pieces = ids.map((id) => (tokenizer.isSpecial(id) ? '' : tokenizer.textOf(id)));
  const scoreMask = lossMask.map((m, t) => (m && scorePiece.test(pieces[t + 1] as string) && pieces[t + 2] === '\n' ? 1 : 0));
  const shortfallMask = lossMask.map(() => 0);
  const decidingMask = lossMask.map(() => 0);
  let lineStart = 0;
  ids.forEach((id, i) => {
    if (!tokenizer.isSpecial(id) && pieces[i] !== '\n') return;
    const line = tokenLine(pieces, lineStart, i);
    for (const j of shortfallStarts(line)) if (j >= 1 && lossMask[j - 1]) shortfallMask[j - 1] = 1;
    for (const j of decidingTokens(line)) if (j >= 1 && lossMask[j - 1]) decidingMask[j - 1] = 1;
    lineStart = i + 1;
  });
  if (ids.length < 2) throw new ModelError('shape_error', 'empty sequence');
  if (options.candidates === undefined) return { ids, lossMask, scoreMask, shortfallMask, decidingMask };
  const tracker = new LineTracker();
  const candidates = options.candidates;
  const tags = ids.map((id, i) => tracker.feed(pieces[i] as string, tokenizer.isSpecial(id), candidates));
  return { ids, lossMask, scoreMask, shortfallMask, decidingMask, tags };
}

/** Ids that start generation in a layout (the prefix the model reads before writing). */
export function generationPrefix(tokenizer: Tokenizer, prompt: string, layout: SequenceLayout): number[] {
  return layout === 'prompt-first' ? [BOS, ...tokenizer.encode(prompt), SEP] : [BOS];
}
