import { z } from 'zod';
import { assignCategoryIds } from './categories';
import type { Modality } from './media';
import {
  type PairwiseAssessment,
  type PointwiseAssessment,
  modalityOfAssessment,
  pairwiseSchemaFor,
  pointwiseAssessmentSchema,
  slotOfWinner,
  winnerLabel,
} from './schemas';

/**
 * The compact codec: a token-efficient text form of a Flex assessment for small models to generate.
 * Specified in docs/compact-codec.md. `decodeCompact(encodeCompact(a), { prompt: a.prompt, modality, mode })`
 * returns `a` exactly.
 */

/** Whether an assessment compares two candidates or scores one. */
export type AssessmentMode = 'pairwise' | 'pointwise';

/** The assessment type for a mode. */
export type AssessmentOf<M extends AssessmentMode> = M extends 'pairwise' ? PairwiseAssessment : PointwiseAssessment;

/** Codes of the ways a compact text can fail to decode. */
export type CompactErrorCode =
  | 'invalid_options' // the decode options are malformed
  | 'empty' // no text at all
  | 'unexpected_line' // a line whose tag is not the one the grammar expects here
  | 'missing_line' // the text ends before the `overall` line
  | 'field_count' // a line has too few or too many ` | `-separated fields
  | 'invalid_score' // a score is not a number in 0–10 (an integer where the grammar says so)
  | 'invalid_winner' // a winner is not `1` or `2`
  | 'category_id_mismatch' // `verdict X` does not close `category X`
  | 'trailing_content' // non-empty lines after the `overall` line
  | 'invalid_assessment'; // the decoded object breaks the schema (empty name, no criteria, …)

/** Why a compact text did not decode. `line` is 1-based; `path` is a JSON path into the assessment. */
export interface CompactDecodeError {
  readonly code: CompactErrorCode;
  readonly message: string;
  readonly line?: number;
  readonly path?: string;
}

/** The result of {@link decodeCompact}: never a thrown exception. */
export type CompactDecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CompactDecodeError };

/** Options of {@link decodeCompact}. */
export const compactDecodeOptionsSchema = z.object({
  /** The prompt the assessment is about (it is not part of the compact text). */
  prompt: z.string(),
  /** 'image' or 'video': decides the winner labels ("Image 1" / "Video 1"). */
  modality: z.enum(['image', 'video']),
  /** 'pairwise' or 'pointwise'. */
  mode: z.enum(['pairwise', 'pointwise']),
});
/** Input type of {@link compactDecodeOptionsSchema}. */
export type CompactDecodeOptions<M extends AssessmentMode = AssessmentMode> = Omit<z.input<typeof compactDecodeOptionsSchema>, 'mode'> & { mode: M };

/** Options of {@link encodeCompact}. */
export interface CompactEncodeOptions {
  /**
   * Registry used to pick category ids for a pointwise assessment (a pairwise one carries its modality in
   * its winner labels). Ids only label lines; they never change what decodes. Default 'image'.
   */
  readonly modality?: Modality;
}

const escapes: Record<string, string> = { '\\': '\\\\', '|': '\\|', '\n': '\\n', '\r': '\\r' };
const unescapes: Record<string, string> = { '\\': '\\', '|': '|', n: '\n', r: '\r' };

/** Escapes free text for the compact form: `\` → `\\`, `|` → `\|`, newline → `\n`, carriage return → `\r`. */
export function escapeCompactText(text: string): string {
  return text.replace(/[\\|\n\r]/g, (c) => escapes[c] as string);
}

/** Reverses {@link escapeCompactText}; an unknown escape (`\x`) and a final lone backslash are kept as written. */
export function unescapeCompactText(text: string): string {
  return text.includes('\\') ? text.replace(/\\([\\|nr])/g, (_, c: string) => unescapes[c] as string) : text;
}

/** Formats a score the way the codec writes it: the shortest decimal that reads back as the same number. */
function formatNumber(value: number): string {
  return String(value);
}

/**
 * Encodes an assessment (pairwise or pointwise) in the compact form of docs/compact-codec.md. The prompt is
 * not written (the decoder is given it back). Category ids come from the registry (A, B, C when the name
 * matches, D… otherwise); names are written as they are, so any spelling round-trips.
 * @param assessment A valid assessment (see the schemas); invalid input gives text that may not decode.
 * @param options See {@link CompactEncodeOptions}.
 */
export function encodeCompact(assessment: PairwiseAssessment | PointwiseAssessment, options: CompactEncodeOptions = {}): string {
  const pairwise = 'winner' in assessment;
  const modality: Modality = pairwise ? modalityOfAssessment(assessment as PairwiseAssessment) : (options.modality ?? 'image');
  const lines: string[] = [];
  if (assessment.intent !== undefined) lines.push(`intent: ${escapeCompactText(assessment.intent)}`);
  if (assessment.evidence !== undefined) {
    if (pairwise) {
      lines.push(`evidence 1: ${escapeCompactText(assessment.evidence[0] ?? '')}`);
      lines.push(`evidence 2: ${escapeCompactText(assessment.evidence[1] ?? '')}`);
    } else {
      lines.push(`evidence: ${escapeCompactText(assessment.evidence[0] ?? '')}`);
    }
  }
  const ids = assignCategoryIds(
    assessment.categories.map((c) => c.name),
    modality,
  );
  if (pairwise) {
    const a = assessment as PairwiseAssessment;
    a.categories.forEach((category, index) => {
      const id = ids[index] as string;
      lines.push(`category ${id}: ${escapeCompactText(category.name)}`);
      for (const dim of category.dims) {
        lines.push(
          `criterion: ${escapeCompactText(dim.name)} | ${escapeCompactText(dim.reason_1)} | ${escapeCompactText(dim.reason_2)} | ${dim.score_1}`,
        );
      }
      lines.push(`verdict ${id}: ${escapeCompactText(category.cat_reason)} | ${slotOfWinner(category.cat_winner)}`);
    });
    lines.push(`overall: ${escapeCompactText(a.reason)} | ${slotOfWinner(a.winner)}`);
  } else {
    const p = assessment as PointwiseAssessment;
    p.categories.forEach((category, index) => {
      const id = ids[index] as string;
      lines.push(`category ${id}: ${escapeCompactText(category.name)}`);
      for (const dim of category.dims) {
        lines.push(`criterion: ${escapeCompactText(dim.name)} | ${escapeCompactText(dim.reason)} | ${dim.score}`);
      }
      lines.push(`verdict ${id}: ${escapeCompactText(category.cat_reason)} | ${formatNumber(category.cat_score)}`);
    });
    lines.push(`overall: ${escapeCompactText(p.reason)} | ${formatNumber(p.score)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Splits a line's body on unescaped `|`, removing the one space on each side of every separator. */
function splitFields(body: string): string[] {
  const raw: string[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 92 /* \ */) {
      i += 1;
    } else if (c === 124 /* | */) {
      raw.push(body.slice(start, i));
      start = i + 1;
    }
  }
  raw.push(body.slice(start));
  return raw.map((field, index) => {
    let f = field;
    if (index > 0 && f.startsWith(' ')) f = f.slice(1);
    if (index < raw.length - 1 && f.endsWith(' ')) f = f.slice(0, -1);
    return unescapeCompactText(f);
  });
}

/** The body after a tag like `intent:`; one space after the colon belongs to the tag. */
function afterTag(line: string, tagLength: number): string {
  const rest = line.slice(tagLength);
  return rest.startsWith(' ') ? rest.slice(1) : rest;
}

const integerScore = /^(?:10|[0-9])$/;
const decimalScore = /^[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/;

type Failure = { ok: false; error: CompactDecodeError };
function fail(code: CompactErrorCode, message: string, line?: number, path?: string): Failure {
  return { ok: false, error: { code, message, ...(line !== undefined ? { line } : {}), ...(path !== undefined ? { path } : {}) } };
}

/**
 * Decodes the compact form back to an assessment, validated by the schema of its mode and modality.
 * Tolerates `\r\n` line ends, blank lines, a missing final newline and a missing space after a tag; never
 * throws (a non-string `text` is an `empty` error).
 * @param text The compact text.
 * @param options The prompt (not part of the text), the modality and the mode.
 */
export function decodeCompact<M extends AssessmentMode>(text: string, options: CompactDecodeOptions<M>): CompactDecodeResult<AssessmentOf<M>> {
  const parsedOptions = compactDecodeOptionsSchema.safeParse(options);
  if (!parsedOptions.success) return fail('invalid_options', `invalid decode options: ${parsedOptions.error.issues[0]?.message ?? 'unknown'}`);
  const { prompt, modality, mode } = parsedOptions.data;
  if (typeof text !== 'string' || text.trim() === '') return fail('empty', 'the compact text is empty');
  const all = text.split('\n');
  const lines: { text: string; number: number }[] = [];
  all.forEach((line, index) => {
    const t = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (t.trim() !== '') lines.push({ text: t, number: index + 1 });
  });
  let at = 0;
  const peek = () => lines[at];
  const result = mode === 'pairwise' ? decodePairwise() : decodePointwise();
  return result as CompactDecodeResult<AssessmentOf<M>>;

  function head(): { intent?: string; evidence?: string[] } | Failure {
    const out: { intent?: string; evidence?: string[] } = {};
    const first = peek();
    if (first !== undefined && first.text.startsWith('intent:')) {
      out.intent = unescapeCompactText(afterTag(first.text, 7));
      at += 1;
    }
    const one = peek();
    if (mode === 'pairwise' && one !== undefined && one.text.startsWith('evidence 1:')) {
      at += 1;
      const two = peek();
      if (two === undefined || !two.text.startsWith('evidence 2:')) {
        return fail('missing_line', '`evidence 1:` must be followed by `evidence 2:`', one.number, '$.evidence');
      }
      at += 1;
      out.evidence = [unescapeCompactText(afterTag(one.text, 11)), unescapeCompactText(afterTag(two.text, 11))];
    } else if (mode === 'pointwise' && one !== undefined && one.text.startsWith('evidence:')) {
      at += 1;
      out.evidence = [unescapeCompactText(afterTag(one.text, 9))];
    }
    return out;
  }

  function categoriesWith<TDim, TCat>(
    readDim: (fields: string[], lineNumber: number, path: string) => TDim | Failure,
    fieldsPerDim: number,
    readVerdict: (value: string, lineNumber: number, path: string) => unknown | Failure,
    buildCategory: (name: string, dims: TDim[], reason: string, verdict: unknown) => TCat,
  ): TCat[] | Failure {
    const categories: TCat[] = [];
    for (;;) {
      const line = peek();
      if (line === undefined) return fail('missing_line', 'the text ends before its `overall:` line', lines.at(-1)?.number);
      if (line.text.startsWith('overall:')) break;
      const header = /^category ([A-Za-z]+):/.exec(line.text);
      if (header === null) return fail('unexpected_line', `expected \`category <ID>:\` or \`overall:\`, found ${JSON.stringify(line.text.slice(0, 40))}`, line.number);
      const id = (header[1] as string).toUpperCase();
      const name = unescapeCompactText(afterTag(line.text, header[0].length));
      const index = categories.length;
      at += 1;
      const dims: TDim[] = [];
      for (;;) {
        const next = peek();
        if (next === undefined) return fail('missing_line', `category ${id} has no \`verdict ${id}:\` line`, lines.at(-1)?.number);
        if (next.text.startsWith('criterion:')) {
          const fields = splitFields(afterTag(next.text, 10));
          const path = `$.categories[${index}].dims[${dims.length}]`;
          if (fields.length !== fieldsPerDim) return fail('field_count', `a criterion has ${fields.length} fields instead of ${fieldsPerDim}`, next.number, path);
          const dim = readDim(fields, next.number, path);
          if (isFailure(dim)) return dim;
          dims.push(dim);
          at += 1;
          continue;
        }
        const verdict = /^verdict ([A-Za-z]+):/.exec(next.text);
        if (verdict === null) return fail('unexpected_line', `expected \`criterion:\` or \`verdict ${id}:\`, found ${JSON.stringify(next.text.slice(0, 40))}`, next.number);
        if ((verdict[1] as string).toUpperCase() !== id) return fail('category_id_mismatch', `\`verdict ${verdict[1]}\` closes \`category ${id}\``, next.number, `$.categories[${index}]`);
        const fields = splitFields(afterTag(next.text, verdict[0].length));
        if (fields.length !== 2) return fail('field_count', `a verdict has ${fields.length} fields instead of 2`, next.number, `$.categories[${index}]`);
        const value = readVerdict(fields[1] as string, next.number, `$.categories[${index}]`);
        if (isFailure(value)) return value;
        categories.push(buildCategory(name, dims, fields[0] as string, value));
        at += 1;
        break;
      }
    }
    return categories;
  }

  function overall(readValue: (value: string, lineNumber: number) => unknown | Failure): { reason: string; value: unknown } | Failure {
    const line = peek() as { text: string; number: number };
    const fields = splitFields(afterTag(line.text, 8));
    if (fields.length !== 2) return fail('field_count', `the overall line has ${fields.length} fields instead of 2`, line.number, '$');
    const value = readValue(fields[1] as string, line.number);
    if (isFailure(value)) return value;
    at += 1;
    const extra = peek();
    if (extra !== undefined) return fail('trailing_content', 'there are lines after the `overall:` line', extra.number);
    return { reason: fields[0] as string, value };
  }

  function readWinner(path: string) {
    return (value: string, lineNumber: number) => {
      const v = value.trim();
      if (v === '1' || v === '2') return winnerLabel(modality, Number(v) as 1 | 2);
      return fail('invalid_winner', `a winner must be 1 or 2, found ${JSON.stringify(v.slice(0, 20))}`, lineNumber, path);
    };
  }

  function readScore(value: string, lineNumber: number, path: string, integer: boolean): number | Failure {
    const v = value.trim();
    if (integer ? !integerScore.test(v) : !decimalScore.test(v)) {
      return fail('invalid_score', `a score must be ${integer ? 'an integer' : 'a number'} from 0 to 10, found ${JSON.stringify(v.slice(0, 20))}`, lineNumber, path);
    }
    const n = Number(v);
    if (!(n >= 0 && n <= 10)) return fail('invalid_score', `a score must be from 0 to 10, found ${v}`, lineNumber, path);
    return n;
  }

  function finish(candidate: unknown, schema: z.ZodType): CompactDecodeResult<unknown> {
    const checked = schema.safeParse(candidate);
    if (checked.success) return { ok: true, value: checked.data };
    const issue = checked.error.issues[0];
    const path = `$${(issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
    return fail('invalid_assessment', issue?.message ?? 'invalid assessment', undefined, path);
  }

  function decodePairwise(): CompactDecodeResult<unknown> {
    const top = head();
    if (isFailure(top)) return top;
    const categories = categoriesWith(
      (fields, lineNumber, path) => {
        const score = readScore(fields[3] as string, lineNumber, `${path}.score_1`, true);
        if (isFailure(score)) return score;
        return { name: fields[0] as string, reason_1: fields[1] as string, reason_2: fields[2] as string, score_1: score, score_2: 10 - score };
      },
      4,
      (value, lineNumber, path) => readWinner(`${path}.cat_winner`)(value, lineNumber),
      (name, dims, reason, verdict) => ({ name, dims, cat_reason: reason, cat_winner: verdict }),
    );
    if (isFailure(categories)) return categories;
    const end = overall(readWinner('$.winner'));
    if (isFailure(end)) return end;
    return finish({ prompt, ...top, categories, reason: end.reason, winner: end.value }, pairwiseSchemaFor(modality));
  }

  function decodePointwise(): CompactDecodeResult<unknown> {
    const top = head();
    if (isFailure(top)) return top;
    const categories = categoriesWith(
      (fields, lineNumber, path) => {
        const score = readScore(fields[2] as string, lineNumber, `${path}.score`, true);
        if (isFailure(score)) return score;
        return { name: fields[0] as string, reason: fields[1] as string, score };
      },
      3,
      (value, lineNumber, path) => readScore(value, lineNumber, `${path}.cat_score`, false),
      (name, dims, reason, verdict) => ({ name, dims, cat_reason: reason, cat_score: verdict }),
    );
    if (isFailure(categories)) return categories;
    const end = overall((value, lineNumber) => readScore(value, lineNumber, '$.score', false));
    if (isFailure(end)) return end;
    return finish({ prompt, ...top, categories, reason: end.reason, score: end.value }, pointwiseAssessmentSchema);
  }
}

function isFailure(value: unknown): value is Failure {
  return typeof value === 'object' && value !== null && (value as Failure).ok === false && 'error' in value;
}
