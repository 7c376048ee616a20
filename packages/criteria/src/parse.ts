import { z } from 'zod';
import { type ConsistencyCode, checkConsistency } from './aggregate';
import { categoryName, matchCategory } from './categories';
import { type AssessmentMode, type AssessmentOf, type CompactErrorCode, decodeCompact } from './compact';
import { type JsonRepairKind, readLenientJson } from './lenient-json';
import type { Modality } from './media';
import { type Slot, pairwiseSchemaFor, pointwiseAssessmentSchema, winnerLabel } from './schemas';

/**
 * The tolerant parser: from a judge's raw text (JSON in prose or code fences, broken JSON, or the compact form)
 * to a typed assessment, with every repair reported as a warning and every unrepairable fault as a typed error
 * with a JSON path. It never throws and runs in time linear in the input.
 */

/** Options of {@link parseAssessment}. */
export const parseAssessmentOptionsSchema = z.object({
  /** 'image' or 'video': the winner labels to produce ("Image 1" / "Video 1") and the category registry. */
  modality: z.enum(['image', 'video']),
  /** 'pairwise' (default) or 'pointwise'. */
  mode: z.enum(['pairwise', 'pointwise']).default('pairwise'),
  /** The prompt the judge was given; it replaces the judge's echo (a differing echo is a warning). */
  prompt: z.string().optional(),
  /** What to do with an explicit tie: 'error' (default, code `tie`) or 'resolve' it from the scores (a warning). */
  ties: z.enum(['error', 'resolve']).default('error'),
  /**
   * Repair scores (default true): clamp out-of-range values, round non-integers, complete or rescale a pair that
   * does not sum to 10, derive missing category and overall scores. When false these are errors.
   */
  repairScores: z.boolean().default(true),
  /** Rename categories that match A, B, C to the registry's canonical names (a warning each). Default false. */
  canonicalNames: z.boolean().default(false),
  /** 'auto' (default) detects JSON or the compact form; 'json' or 'compact' forces one. */
  format: z.enum(['auto', 'json', 'compact']).default('auto'),
  /** Also report {@link checkConsistency} findings (a winner against its own scores, …) as warnings. Default false. */
  consistency: z.boolean().default(false),
  /** Longest input read, in characters; longer input is a `too_large` error. Default 4,000,000. */
  maxLength: z.number().int().positive().default(4_000_000),
});
/** Input type of {@link parseAssessmentOptionsSchema}. */
export type ParseAssessmentOptions<M extends AssessmentMode = AssessmentMode> = Omit<z.input<typeof parseAssessmentOptionsSchema>, 'mode'> & {
  mode?: M;
};

/** Codes of the repairs {@link parseAssessment} makes (each comes back as a warning). */
export type ParseWarningCode =
  | 'surrounding_text' // the answer had prose or a code fence around the assessment
  | 'multiple_candidates' // several JSON objects; the most complete (last on ties) was used
  | 'json_repaired' // the JSON was broken and repaired (`detail` says how)
  | 'unwrapped' // the assessment was nested inside a wrapper object or array
  | 'key_alias' // a field was found under another name ("criteria" for "dims")
  | 'coerced_number' // a score written as a string ("7", "7/10")
  | 'score_rounded' // a non-integer criterion score was rounded
  | 'score_clamped' // a score outside 0–10 was clamped
  | 'score_completed' // one score of a pair was missing: 10 minus the other
  | 'score_sum_fixed' // a pair not summing to 10 was rescaled to 10
  | 'score_derived' // a missing category or overall score was computed from the criteria
  | 'winner_normalized' // a winner written another way ("image 1", "A", "first", "left")
  | 'winner_derived' // a missing winner taken from the scores (category) or category majority (overall)
  | 'tie_resolved' // an explicit tie resolved from the scores (option ties: 'resolve')
  | 'missing_reason' // a missing reason replaced by an empty string
  | 'prompt_mismatch' // the judge echoed a different prompt than the one given
  | 'evidence_normalized' // evidence given in another shape (an object per image, a single string)
  | 'missing_category' // one of the mandatory categories A, B, C is absent
  | 'category_renamed' // a category renamed to its canonical name (option canonicalNames)
  | ConsistencyCode; // with option consistency: the assessment contradicts itself (see checkConsistency)

/** One repair: a code, a message and, when it concerns one field, its JSON path (`$.categories[0].dims[1].score_2`). */
export interface ParseWarning {
  readonly code: ParseWarningCode;
  readonly message: string;
  readonly path?: string;
  /** For `json_repaired`: which repair. */
  readonly detail?: JsonRepairKind;
}

/** Codes of the ways {@link parseAssessment} fails. */
export type ParseErrorCode =
  | 'invalid_input' // the input is not a string
  | 'invalid_options' // the options are malformed
  | 'too_large' // longer than `maxLength`
  | 'no_assessment' // no JSON object or compact text that looks like an assessment
  | 'json_syntax' // JSON too broken to repair
  | 'not_an_object' // a field that must be an object or array is something else
  | 'missing_field' // a required field is absent (a name, the categories, both scores of a pair)
  | 'invalid_type' // a field has the wrong type (a score that is not a number)
  | 'invalid_winner' // a winner that names neither candidate
  | 'tie' // an explicit tie, which the published format cannot hold (option ties: 'error')
  | 'score_out_of_range' // a score outside 0–10 (repairScores: false)
  | 'score_sum' // a pair not summing to 10 (repairScores: false)
  | 'wrong_mode' // a pointwise answer where a pairwise one was asked for, or the reverse
  | CompactErrorCode; // the compact form failed to decode (see decodeCompact)

/** Why parsing failed. */
export interface ParseError {
  readonly code: ParseErrorCode;
  readonly message: string;
  /** JSON path of the faulty field, when there is one. */
  readonly path?: string;
  /** 1-based line, for compact-form errors. */
  readonly line?: number;
}

/** The result of {@link parseAssessment}: never a thrown exception. */
export type ParseAssessmentResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly ParseWarning[]; readonly format: 'json' | 'compact' }
  | { readonly ok: false; readonly error: ParseError; readonly warnings: readonly ParseWarning[] };

/** A winner as read from any spelling: a slot, an explicit tie, or nothing recognisable. */
export type ReadWinner = { readonly slot: Slot; readonly exact: boolean } | { readonly tie: true } | null;

const slotWords: Record<string, Slot> = { '1': 1, '2': 2, one: 1, two: 2, a: 1, b: 2, first: 1, second: 2, left: 1, right: 2, former: 1, latter: 2, i: 1, ii: 2 };

/**
 * Reads a winner written in any common way: "Image 1", "image 1", "1", 1, "A", "first", "Image A", "left",
 * "Video 2", "**Image 2**", "Image 2 is better". `exact` is true only for the modality's own label.
 * Ties ("tie", "equal", "both", "draw", "neither") come back as `{ tie: true }`.
 * @param value What the judge wrote.
 * @param modality The modality whose labels are exact.
 */
export function readWinner(value: unknown, modality: Modality): ReadWinner {
  if (typeof value === 'number') return value === 1 || value === 2 ? { slot: value, exact: false } : null;
  if (typeof value !== 'string') return null;
  if (value === winnerLabel(modality, 1)) return { slot: 1, exact: true };
  if (value === winnerLabel(modality, 2)) return { slot: 2, exact: true };
  const text = value
    .slice(0, 200)
    .toLowerCase()
    .replace(/[*_`"'“”‘’.!()[\]]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return null;
  if (/^(?:tie|tied|equal|equally good|both|draw|neither|none|same|even|no winner)$/.test(text)) return { tie: true };
  const whole = /^(?:(?:image|video|img|picture|candidate|option|output|clip|response|model|generation|sample)\s*#?\s*)?([12ab]|one|two|first|second|left|right|former|latter|i|ii)(?:\s+(?:image|video|one|candidate))?$/.exec(text);
  if (whole !== null) return { slot: slotWords[whole[1] as string] as Slot, exact: false };
  // A sentence: accept it when it names exactly one candidate.
  const mentions = new Set<Slot>();
  for (const m of text.matchAll(/\b(?:image|video|img|candidate|picture|option|clip)\s*#?\s*([12ab])\b/g)) mentions.add(slotWords[m[1] as string] as Slot);
  if (mentions.size === 1) return { slot: [...mentions][0] as Slot, exact: false };
  if (mentions.size === 0) {
    if (/\b(?:tie|tied|equal|equally)\b/.test(text)) return { tie: true };
    if (/\bfirst\b/.test(text) !== /\bsecond\b/.test(text)) return { slot: /\bfirst\b/.test(text) ? 1 : 2, exact: false };
  }
  return null;
}

const normaliseKey = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

type Aliases = Readonly<Record<string, readonly string[]>>;
const rootAliases: Aliases = {
  prompt: ['prompt', 'textprompt', 'caption'],
  intent: ['intent', 'semanticintent', 'promptintent', 'requirements', 'intention'],
  evidence: ['evidence', 'visualevidence', 'observations', 'observation'],
  categories: ['categories', 'categorylist', 'evaluations', 'hierarchy', 'dimensions', 'dims'],
  reason: ['reason', 'overallreason', 'finalreason', 'reasoning', 'explanation', 'rationale', 'summary', 'justification', 'overalljustification'],
  winner: ['winner', 'overallwinner', 'finalwinner', 'verdict', 'preferred', 'better', 'choice', 'best', 'preference'],
  score: ['score', 'overallscore', 'finalscore', 'totalscore', 'rating', 'overallrating'],
};
const categoryAliases: Aliases = {
  name: ['name', 'category', 'categoryname', 'title', 'dimension', 'label'],
  dims: ['dims', 'dimensions', 'subdimensions', 'subdims', 'criteria', 'subcriteria', 'items', 'aspects', 'criterion'],
  cat_reason: ['catreason', 'categoryreason', 'reason', 'reasoning', 'explanation', 'rationale', 'summary'],
  cat_winner: ['catwinner', 'categorywinner', 'winner', 'verdict', 'better'],
  cat_score: ['catscore', 'categoryscore', 'score', 'rating'],
};
const dimensionAliases: Aliases = {
  name: ['name', 'criterion', 'dimension', 'subdimension', 'title', 'aspect', 'label'],
  reason_1: ['reason1', 'reasonimage1', 'image1reason', 'reasonvideo1', 'video1reason', 'reasona', 'reason1st', 'image1', 'video1'],
  reason_2: ['reason2', 'reasonimage2', 'image2reason', 'reasonvideo2', 'video2reason', 'reasonb', 'reason2nd', 'image2', 'video2'],
  score_1: ['score1', 'scoreimage1', 'image1score', 'scorevideo1', 'video1score', 'scorea', 'points1'],
  score_2: ['score2', 'scoreimage2', 'image2score', 'scorevideo2', 'video2score', 'scoreb', 'points2'],
  reason: ['reason', 'reasoning', 'explanation', 'rationale', 'evidence'],
  score: ['score', 'rating', 'points'],
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class ParseFailure {
  constructor(readonly error: ParseError) {}
}

/**
 * Reads a judge's raw answer as an assessment.
 *
 * Finds the assessment in prose or code fences (the most complete assessment-like JSON object, the last one on
 * ties), repairs broken JSON (trailing or missing commas, missing closing braces or brackets, smart or single
 * quotes, comments, unquoted keys and values, unescaped inner quotes, truncation), accepts the compact form,
 * accepts common field-name variants, normalises winners, coerces and repairs scores — each repair a warning —
 * and validates the result against the schema. Unrepairable faults are typed errors with a JSON path.
 * Never throws, whatever the input; linear time (a 1 MB answer reads in milliseconds).
 * @param text The judge's raw answer.
 * @param options See {@link parseAssessmentOptionsSchema}.
 */
export function parseAssessment<M extends AssessmentMode = 'pairwise'>(text: string, options: ParseAssessmentOptions<M>): ParseAssessmentResult<AssessmentOf<M>> {
  const warnings: ParseWarning[] = [];
  try {
    return parseInner(text, options, warnings) as ParseAssessmentResult<AssessmentOf<M>>;
  } catch (error) {
    if (error instanceof ParseFailure) return { ok: false, error: error.error, warnings };
    // Defensive: nothing above is meant to throw; a bug must still not escape as an exception.
    return { ok: false, error: { code: 'json_syntax', message: `internal parser fault: ${error instanceof Error ? error.message : String(error)}` }, warnings };
  }
}

function parseInner(text: unknown, rawOptions: unknown, warnings: ParseWarning[]): ParseAssessmentResult<unknown> {
  const result = parseFound(text, rawOptions, warnings);
  if (result.ok && typeof rawOptions === 'object' && rawOptions !== null && (rawOptions as { consistency?: unknown }).consistency === true) {
    warnings.push(...checkConsistency(result.value as Parameters<typeof checkConsistency>[0]));
  }
  return result;
}

function parseFound(text: unknown, rawOptions: unknown, warnings: ParseWarning[]): ParseAssessmentResult<unknown> {
  const parsedOptions = parseAssessmentOptionsSchema.safeParse(rawOptions);
  if (!parsedOptions.success) {
    return { ok: false, error: { code: 'invalid_options', message: `invalid options: ${parsedOptions.error.issues[0]?.message ?? 'unknown'}` }, warnings };
  }
  const options = parsedOptions.data;
  if (typeof text !== 'string') return { ok: false, error: { code: 'invalid_input', message: 'the answer is not a string' }, warnings };
  if (text.length > options.maxLength) {
    return { ok: false, error: { code: 'too_large', message: `the answer has ${text.length} characters, more than maxLength ${options.maxLength}` }, warnings };
  }

  const compact = options.format !== 'json' ? findCompact(text) : null;
  let compactError: ParseError | null = null;
  if (compact !== null) {
    const decoded = decodeCompact(compact.text, { prompt: options.prompt ?? '', modality: options.modality, mode: options.mode });
    if (decoded.ok) {
      if (compact.surrounded) warnings.push({ code: 'surrounding_text', message: 'the compact assessment had other text around it' });
      return { ok: true, value: finishNames(decoded.value, options, warnings), warnings, format: 'compact' };
    }
    compactError = { ...decoded.error, ...(decoded.error.line !== undefined ? { line: decoded.error.line + compact.lineOffset } : {}) };
    if (options.format === 'compact') return { ok: false, error: compactError, warnings };
  } else if (options.format === 'compact') {
    return { ok: false, error: { code: 'no_assessment', message: 'no compact assessment found (no `category X:` and `overall:` lines)' }, warnings };
  }

  const candidates = findJsonCandidates(text);
  if (candidates.objects.length === 0) {
    if (compactError !== null) return { ok: false, error: compactError, warnings };
    if (candidates.failure !== null) return { ok: false, error: { code: 'json_syntax', message: candidates.failure }, warnings };
    return { ok: false, error: { code: 'no_assessment', message: 'the answer contains no JSON object' }, warnings };
  }
  const attempts = candidates.objects
    .map((candidate, index) => {
      const local: ParseWarning[] = [];
      const unwrapped = unwrap(candidate.value, local);
      const likeness = assessmentLikeness(unwrapped);
      let result: { ok: true; value: unknown } | { ok: false; error: ParseError };
      try {
        result = { ok: true, value: normalise(unwrapped, options, local) };
      } catch (error) {
        if (!(error instanceof ParseFailure)) throw error;
        result = { ok: false, error: error.error };
      }
      return { candidate, index, likeness, result, warnings: local };
    })
    .filter((a) => a.likeness > 0);
  if (attempts.length === 0) {
    if (compactError !== null) return { ok: false, error: compactError, warnings };
    return { ok: false, error: { code: 'no_assessment', message: 'no JSON object in the answer looks like an assessment (no categories, winner or reason)' }, warnings };
  }
  attempts.sort(
    (x, y) => Number(y.result.ok) - Number(x.result.ok) || y.likeness - x.likeness || x.candidate.repairs.length - y.candidate.repairs.length || y.candidate.start - x.candidate.start || Number(y.candidate.fenced) - Number(x.candidate.fenced),
  );
  const best = attempts[0] as (typeof attempts)[number];
  const distinct = new Set(attempts.map((a) => a.candidate.start)).size;
  if (distinct > 1) warnings.push({ code: 'multiple_candidates', message: `${distinct} assessment-like JSON objects; used the one at offset ${best.candidate.start}` });
  if (best.candidate.surrounded) warnings.push({ code: 'surrounding_text', message: best.candidate.fenced ? 'the JSON was inside a code fence' : 'the JSON had prose around it' });
  const kinds = new Map<JsonRepairKind, number>();
  for (const r of best.candidate.repairs) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
  for (const [kind, count] of kinds) warnings.push({ code: 'json_repaired', detail: kind, message: `repaired JSON: ${kind.replace(/_/g, ' ')}${count > 1 ? ` (×${count})` : ''}` });
  warnings.push(...best.warnings);
  if (!best.result.ok) return { ok: false, error: best.result.error, warnings };
  return { ok: true, value: best.result.value, warnings, format: 'json' };
}

interface Candidate {
  readonly value: unknown;
  readonly start: number;
  readonly repairs: readonly { kind: JsonRepairKind; offset: number }[];
  readonly surrounded: boolean;
  readonly fenced: boolean;
}

/** Code fence bodies (```json … ```), the last one possibly unclosed. Linear scan. */
function fences(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let at = 0;
  while (out.length < 100) {
    const open = text.indexOf('```', at);
    if (open < 0) break;
    const lineEnd = text.indexOf('\n', open + 3);
    const bodyStart = lineEnd < 0 ? text.length : lineEnd + 1;
    const close = text.indexOf('```', bodyStart);
    out.push({ start: bodyStart, end: close < 0 ? text.length : close });
    if (close < 0) break;
    at = close + 3;
  }
  return out;
}

function findJsonCandidates(text: string): { objects: Candidate[]; failure: string | null } {
  let failure: string | null = null;
  const scan = (from: number, to: number, fenced: boolean): Candidate[] => {
    const region = from === 0 && to === text.length ? text : text.slice(from, to);
    const found: Candidate[] = [];
    let at = 0;
    let failures = 0;
    while (found.length < 50 && failures < 16) {
      const open = region.indexOf('{', at);
      if (open < 0) break;
      const read = readLenientJson(region, open);
      if (read.ok) {
        const before = region.slice(0, open).trim();
        const after = region.slice(read.end).trim();
        found.push({ value: read.value, start: from + open, repairs: read.repairs, surrounded: fenced || before !== '' || after !== '', fenced });
        at = Math.max(read.end, open + 1);
      } else {
        failure ??= `unreadable JSON at offset ${from + read.offset}: ${read.message}`;
        failures += 1;
        at = open + 1;
      }
    }
    return found;
  };
  // Fenced regions first, then the whole text (a fence marker inside a JSON string would cut a fenced region
  // short, so the whole-text reading competes with it, and the one with fewer repairs wins).
  const objects = [...fences(text).flatMap((f) => scan(f.start, f.end, true)), ...scan(0, text.length, false)];
  return { objects, failure };
}

/** Finds compact-form lines: from the first tag line to the last `overall:` line. */
function findCompact(text: string): { text: string; surrounded: boolean; lineOffset: number } | null {
  if (!/^category [A-Za-z]+:/m.test(text)) return null;
  const lines = text.split('\n');
  let first = -1;
  let last = -1;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k] as string;
    if (first < 0 && /^(?:intent:|evidence(?: [12])?:|category [A-Za-z]+:)/.test(line)) first = k;
    if (line.startsWith('overall:')) last = k;
  }
  if (first < 0) return null;
  const end = last >= first ? last : lines.length - 1;
  const body = lines.slice(first, end + 1).join('\n');
  const outside = lines.slice(0, first).join('').trim() + lines.slice(end + 1).join('').trim();
  return { text: body, surrounded: outside !== '', lineOffset: first };
}

function hasKey(object: Json, aliases: readonly string[]): boolean {
  return Object.keys(object).some((k) => aliases.includes(normaliseKey(k)));
}

function assessmentLikeness(value: unknown): number {
  if (!isObject(value)) return 0;
  let score = 0;
  const categories = lookup(value, 'categories', rootAliases, '$', []);
  if (Array.isArray(categories) || isObject(categories)) score += 3;
  for (const key of ['winner', 'reason', 'score', 'prompt'] as const) if (hasKey(value, rootAliases[key] as string[])) score += 1;
  if (score === 1 && hasKey(value, rootAliases.prompt as string[])) return 0;
  return score;
}

/** Unwraps `{ "assessment": {...} }`, `{ "result": {...} }` and `[ {...} ]`. */
function unwrap(value: unknown, warnings: ParseWarning[]): unknown {
  let current = value;
  for (let depth = 0; depth < 3; depth++) {
    if (Array.isArray(current) && current.length === 1) {
      current = current[0];
      continue;
    }
    if (!isObject(current) || hasKey(current, rootAliases.categories as string[]) || hasKey(current, rootAliases.winner as string[])) break;
    const inner = Object.values(current).filter((v) => isObject(v) && (hasKey(v, rootAliases.categories as string[]) || hasKey(v, rootAliases.winner as string[])));
    if (inner.length !== 1) break;
    current = inner[0];
    warnings.push({ code: 'unwrapped', message: 'the assessment was nested inside a wrapper object' });
  }
  return current;
}

/** The value of a field under its name or an alias; an alias is a warning (one per alias and field). */
function lookup(object: Json, field: string, aliases: Aliases, path: string, warnings: ParseWarning[], exclude: readonly string[] = []): unknown {
  if (Object.hasOwn(object, field)) return object[field];
  const wanted = aliases[field] ?? [normaliseKey(field)];
  for (const alias of wanted) {
    for (const key of Object.keys(object)) {
      if (exclude.includes(key)) continue;
      if (normaliseKey(key) === alias) {
        if (!warnings.some((w) => w.code === 'key_alias' && w.message.startsWith(`"${key}" read as "${field}"`))) {
          warnings.push({ code: 'key_alias', message: `"${key}" read as "${field}"`, path: `${path}.${field}` });
        }
        return object[key];
      }
    }
  }
  return undefined;
}

function fail(code: ParseErrorCode, message: string, path?: string): never {
  throw new ParseFailure({ code, message, ...(path !== undefined ? { path } : {}) });
}

interface Context {
  readonly options: z.output<typeof parseAssessmentOptionsSchema>;
  readonly warnings: ParseWarning[];
}

function readText(value: unknown, path: string, context: Context, required: boolean): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(' ');
  if (value === undefined || value === null) {
    if (required) fail('missing_field', `${path} is missing`, path);
    context.warnings.push({ code: 'missing_reason', message: `${path} is missing; read as an empty string`, path });
    return '';
  }
  if (required) fail('invalid_type', `${path} must be text`, path);
  context.warnings.push({ code: 'missing_reason', message: `${path} is not text; read as an empty string`, path });
  return '';
}

/** A number from a number or a numeric string ("7", "7.5", "7/10", "7 points"); undefined when absent. */
function readNumber(value: unknown, path: string, context: Context): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail('invalid_type', `${path} is not a finite number`, path);
    return value;
  }
  if (typeof value === 'string') {
    const match = /^\s*([-+]?\d+(?:\.\d+)?)\s*(?:\/\s*10(?:\.0+)?|points?|pts?|out of 10)?\s*$/i.exec(value.slice(0, 100));
    if (match !== null) {
      context.warnings.push({ code: 'coerced_number', message: `${path} written as text ${JSON.stringify(value)}`, path });
      return Number(match[1]);
    }
  }
  return fail('invalid_type', `${path} must be a number from 0 to 10, found ${JSON.stringify(value).slice(0, 40)}`, path);
}

function clampScore(value: number, path: string, context: Context): number {
  if (value >= 0 && value <= 10) return value;
  if (!context.options.repairScores) fail('score_out_of_range', `${path} is ${value}, outside 0–10`, path);
  const clamped = Math.min(10, Math.max(0, value));
  context.warnings.push({ code: 'score_clamped', message: `${path} was ${value}; clamped to ${clamped}`, path });
  return clamped;
}

function integerScore(value: number, path: string, context: Context): number {
  const clamped = clampScore(value, path, context);
  if (Number.isInteger(clamped)) return clamped;
  if (!context.options.repairScores) fail('invalid_type', `${path} is ${value}, not an integer`, path);
  const rounded = Math.round(clamped);
  context.warnings.push({ code: 'score_rounded', message: `${path} was ${value}; rounded to ${rounded}`, path });
  return rounded;
}

/** The two scores of a pairwise criterion, repaired to integers that sum to 10. */
function scorePair(dim: Json, path: string, context: Context): [number, number] {
  let nested: Json | undefined;
  const scores = lookup(dim, 'scores', { scores: ['scores', 'points', 'ratings'] }, path, []);
  if (isObject(scores)) nested = scores;
  const raw1 = readNumber(lookup(dim, 'score_1', dimensionAliases, path, context.warnings) ?? (nested ? slotValue(nested, 1) : Array.isArray(scores) ? scores[0] : undefined), `${path}.score_1`, context);
  const raw2 = readNumber(lookup(dim, 'score_2', dimensionAliases, path, context.warnings) ?? (nested ? slotValue(nested, 2) : Array.isArray(scores) ? scores[1] : undefined), `${path}.score_2`, context);
  if (raw1 === undefined && raw2 === undefined) {
    if (lookup(dim, 'score', dimensionAliases, path, []) !== undefined) fail('wrong_mode', `${path} has a single score (pointwise) where a pair was expected`, path);
    fail('missing_field', `${path} has no scores`, `${path}.score_1`);
  }
  if (raw1 === undefined || raw2 === undefined) {
    if (!context.options.repairScores) fail('missing_field', `${path} has only one score`, `${path}.${raw1 === undefined ? 'score_1' : 'score_2'}`);
    const given = integerScore((raw1 ?? raw2) as number, `${path}.${raw1 === undefined ? 'score_2' : 'score_1'}`, context);
    const missing = raw1 === undefined ? 'score_1' : 'score_2';
    context.warnings.push({ code: 'score_completed', message: `${path}.${missing} was missing; set to ${10 - given} so the pair sums to 10`, path: `${path}.${missing}` });
    return raw1 === undefined ? [10 - given, given] : [given, 10 - given];
  }
  const s1 = clampScore(raw1, `${path}.score_1`, context);
  const s2 = clampScore(raw2, `${path}.score_2`, context);
  const sum = s1 + s2;
  if (Math.abs(sum - 10) < 1e-9) {
    if (Number.isInteger(s1) && Number.isInteger(s2)) return [s1, s2];
    if (!context.options.repairScores) fail('invalid_type', `${path} scores ${s1}/${s2} are not integers`, `${path}.score_1`);
    const r1 = Math.round(s1);
    context.warnings.push({ code: 'score_rounded', message: `${path} scores ${s1}/${s2} rounded to ${r1}/${10 - r1}`, path: `${path}.score_1` });
    return [r1, 10 - r1];
  }
  if (!context.options.repairScores) fail('score_sum', `${path} scores ${s1} + ${s2} do not sum to 10`, `${path}.score_2`);
  const r1 = sum > 0 ? Math.round((10 * s1) / sum) : 5;
  context.warnings.push({ code: 'score_sum_fixed', message: `${path} scores ${s1} + ${s2} = ${sum}, rescaled to ${r1}/${10 - r1}`, path: `${path}.score_2` });
  return [r1, 10 - r1];
}

function slotValue(object: Json, slot: Slot): unknown {
  for (const [key, value] of Object.entries(object)) {
    const read = readWinner(key, 'image');
    if (read !== null && 'slot' in read && read.slot === slot) return value;
  }
  return undefined;
}

function readDims(value: unknown, path: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (isObject(value)) return Object.entries(value).map(([name, dim]) => (isObject(dim) && !('name' in dim) ? { name, ...dim } : dim));
  if (value === undefined) fail('missing_field', `${path} is missing`, path);
  return fail('not_an_object', `${path} must be a list`, path);
}

function readCategoryList(root: Json, context: Context): unknown[] {
  const value = lookup(root, 'categories', rootAliases, '$', context.warnings);
  if (Array.isArray(value)) {
    if (value.length === 0) fail('missing_field', '$.categories is empty', '$.categories');
    return value;
  }
  if (isObject(value)) {
    // { "Semantic Alignment": { dims, ... }, ... }: names from the keys.
    const list = Object.entries(value).map(([name, category]) => (isObject(category) && lookup(category, 'name', categoryAliases, '', [], ['dims']) === undefined ? { name, ...category } : category));
    if (list.length === 0) fail('missing_field', '$.categories is empty', '$.categories');
    return list;
  }
  if (value === undefined) fail('missing_field', 'the assessment has no categories', '$.categories');
  return fail('not_an_object', '$.categories must be a list', '$.categories');
}

function readWinnerField(value: unknown, path: string, context: Context, derive: () => Slot | null, what: string): Slot {
  const read = readWinner(value, context.options.modality);
  if (read !== null && 'slot' in read) {
    if (!read.exact) context.warnings.push({ code: 'winner_normalized', message: `${path} ${JSON.stringify(value)} read as "${winnerLabel(context.options.modality, read.slot)}"`, path });
    return read.slot;
  }
  if (read !== null && 'tie' in read) {
    if (context.options.ties === 'error') fail('tie', `${path} is a tie (${JSON.stringify(value)}), which the format cannot hold`, path);
    const derived = derive();
    if (derived === null) fail('tie', `${path} is a tie and the ${what} are even too`, path);
    context.warnings.push({ code: 'tie_resolved', message: `${path} tie resolved from the ${what} as ${winnerLabel(context.options.modality, derived)}`, path });
    return derived;
  }
  if (value === undefined || value === null || value === '') {
    const derived = derive();
    if (derived === null) fail('missing_field', `${path} is missing and the ${what} are even`, path);
    context.warnings.push({ code: 'winner_derived', message: `${path} was missing; taken from the ${what} as ${winnerLabel(context.options.modality, derived)}`, path });
    return derived;
  }
  return fail('invalid_winner', `${path} ${JSON.stringify(value).slice(0, 60)} names neither candidate`, path);
}

function normalise(root: unknown, options: z.output<typeof parseAssessmentOptionsSchema>, warnings: ParseWarning[]): unknown {
  if (!isObject(root)) fail('not_an_object', 'the assessment must be a JSON object', '$');
  const context: Context = { options, warnings };
  const base = readHead(root, context);
  const list = readCategoryList(root, context);
  const value = options.mode === 'pairwise' ? normalisePairwise(root, list, base, context) : normalisePointwise(root, list, base, context);
  const validated = (options.mode === 'pairwise' ? pairwiseSchemaFor(options.modality) : pointwiseAssessmentSchema).safeParse(value);
  if (!validated.success) {
    const issue = validated.error.issues[0];
    fail('invalid_assessment', issue?.message ?? 'invalid assessment', `$${(issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`);
  }
  return finishNames(validated.data, options, warnings);
}

function readHead(root: Json, context: Context): { prompt: string; intent?: string; evidence?: string[] } {
  const { options, warnings } = context;
  const echoed = lookup(root, 'prompt', rootAliases, '$', warnings);
  let prompt: string;
  if (options.prompt !== undefined) {
    prompt = options.prompt;
    if (typeof echoed === 'string' && echoed.trim() !== options.prompt.trim()) warnings.push({ code: 'prompt_mismatch', message: 'the judge echoed a different prompt; the given prompt is kept', path: '$.prompt' });
  } else {
    prompt = typeof echoed === 'string' ? echoed : '';
  }
  const out: { prompt: string; intent?: string; evidence?: string[] } = { prompt };
  const intent = lookup(root, 'intent', rootAliases, '$', warnings);
  if (intent !== undefined && intent !== null) out.intent = readText(intent, '$.intent', context, false);
  const evidence = lookup(root, 'evidence', rootAliases, '$', warnings);
  if (evidence !== undefined && evidence !== null) {
    const count = options.mode === 'pairwise' ? 2 : 1;
    if (Array.isArray(evidence) && evidence.length === count && evidence.every((e) => typeof e === 'string')) {
      out.evidence = evidence as string[];
    } else if (isObject(evidence) && count === 2 && slotValue(evidence, 1) !== undefined && slotValue(evidence, 2) !== undefined) {
      out.evidence = [readText(slotValue(evidence, 1), '$.evidence[0]', context, false), readText(slotValue(evidence, 2), '$.evidence[1]', context, false)];
      warnings.push({ code: 'evidence_normalized', message: 'evidence given as an object per candidate', path: '$.evidence' });
    } else if (count === 1 && (typeof evidence === 'string' || (Array.isArray(evidence) && evidence.every((e) => typeof e === 'string')))) {
      out.evidence = [Array.isArray(evidence) ? evidence.join(' ') : evidence];
      warnings.push({ code: 'evidence_normalized', message: 'evidence given as a single string or several strings', path: '$.evidence' });
    } else {
      warnings.push({ code: 'evidence_normalized', message: 'evidence in an unknown shape was dropped', path: '$.evidence' });
    }
  }
  return out;
}

function categoryNameOf(category: Json, path: string, context: Context): string {
  const name = lookup(category, 'name', categoryAliases, path, context.warnings, ['dims']);
  if (typeof name === 'number') return String(name);
  if (typeof name !== 'string' || name === '') fail('missing_field', `${path}.name is missing`, `${path}.name`);
  return name;
}

function normalisePairwise(root: Json, list: unknown[], head: object, context: Context): unknown {
  const modality = context.options.modality;
  const categories = list.map((raw, c) => {
    const path = `$.categories[${c}]`;
    if (!isObject(raw)) fail('not_an_object', `${path} must be an object`, path);
    const name = categoryNameOf(raw, path, context);
    const rawDims = readDims(lookup(raw, 'dims', categoryAliases, path, context.warnings), `${path}.dims`);
    if (rawDims.length === 0) fail('missing_field', `${path}.dims is empty`, `${path}.dims`);
    const dims = rawDims.map((d, k) => {
      const dimPath = `${path}.dims[${k}]`;
      if (!isObject(d)) fail('not_an_object', `${dimPath} must be an object`, dimPath);
      const dimName = lookup(d, 'name', dimensionAliases, dimPath, context.warnings);
      if (typeof dimName !== 'string' || dimName === '') fail('missing_field', `${dimPath}.name is missing`, `${dimPath}.name`);
      const reasons = lookup(d, 'reasons', { reasons: ['reasons'] }, dimPath, []);
      const [score_1, score_2] = scorePair(d, dimPath, context);
      return {
        name: dimName,
        reason_1: readText(lookup(d, 'reason_1', dimensionAliases, dimPath, context.warnings) ?? (isObject(reasons) ? slotValue(reasons, 1) : undefined), `${dimPath}.reason_1`, context, false),
        reason_2: readText(lookup(d, 'reason_2', dimensionAliases, dimPath, context.warnings) ?? (isObject(reasons) ? slotValue(reasons, 2) : undefined), `${dimPath}.reason_2`, context, false),
        score_1,
        score_2,
      };
    });
    const fromScores = (): Slot | null => {
      const total = dims.reduce((sum, d) => sum + d.score_1 - d.score_2, 0);
      return total > 0 ? 1 : total < 0 ? 2 : null;
    };
    const cat_reason = readText(lookup(raw, 'cat_reason', categoryAliases, path, context.warnings), `${path}.cat_reason`, context, false);
    const slot = readWinnerField(lookup(raw, 'cat_winner', categoryAliases, path, context.warnings), `${path}.cat_winner`, context, fromScores, 'criterion scores');
    return { name, dims, cat_reason, cat_winner: winnerLabel(modality, slot) };
  });
  const reason = readText(lookup(root, 'reason', rootAliases, '$', context.warnings), '$.reason', context, false);
  const fromCategories = (): Slot | null => {
    const ones = categories.filter((c) => c.cat_winner.endsWith('1')).length;
    const twos = categories.length - ones;
    if (ones !== twos) return ones > twos ? 1 : 2;
    const total = categories.reduce((sum, c) => sum + c.dims.reduce((s, d) => s + d.score_1 - d.score_2, 0) / c.dims.length, 0);
    return total > 0 ? 1 : total < 0 ? 2 : null;
  };
  const slot = readWinnerField(lookup(root, 'winner', rootAliases, '$', context.warnings), '$.winner', context, fromCategories, 'category winners');
  return { ...head, categories, reason, winner: winnerLabel(modality, slot) };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const oneDecimal = (x: number) => Math.round(x * 10) / 10;

function normalisePointwise(root: Json, list: unknown[], head: object, context: Context): unknown {
  const categories = list.map((raw, c) => {
    const path = `$.categories[${c}]`;
    if (!isObject(raw)) fail('not_an_object', `${path} must be an object`, path);
    const name = categoryNameOf(raw, path, context);
    const rawDims = readDims(lookup(raw, 'dims', categoryAliases, path, context.warnings), `${path}.dims`);
    if (rawDims.length === 0) fail('missing_field', `${path}.dims is empty`, `${path}.dims`);
    const dims = rawDims.map((d, k) => {
      const dimPath = `${path}.dims[${k}]`;
      if (!isObject(d)) fail('not_an_object', `${dimPath} must be an object`, dimPath);
      const dimName = lookup(d, 'name', dimensionAliases, dimPath, context.warnings);
      if (typeof dimName !== 'string' || dimName === '') fail('missing_field', `${dimPath}.name is missing`, `${dimPath}.name`);
      const rawScore = readNumber(lookup(d, 'score', dimensionAliases, dimPath, context.warnings), `${dimPath}.score`, context);
      if (rawScore === undefined) {
        if (lookup(d, 'score_1', dimensionAliases, dimPath, []) !== undefined) fail('wrong_mode', `${dimPath} has a score pair (pairwise) where one score was expected`, dimPath);
        fail('missing_field', `${dimPath}.score is missing`, `${dimPath}.score`);
      }
      return {
        name: dimName,
        reason: readText(lookup(d, 'reason', dimensionAliases, dimPath, context.warnings), `${dimPath}.reason`, context, false),
        score: integerScore(rawScore, `${dimPath}.score`, context),
      };
    });
    const cat_reason = readText(lookup(raw, 'cat_reason', categoryAliases, path, context.warnings), `${path}.cat_reason`, context, false);
    const given = readNumber(lookup(raw, 'cat_score', categoryAliases, path, context.warnings), `${path}.cat_score`, context);
    let cat_score: number;
    if (given === undefined) {
      if (!context.options.repairScores) fail('missing_field', `${path}.cat_score is missing`, `${path}.cat_score`);
      cat_score = oneDecimal(mean(dims.map((d) => d.score)));
      context.warnings.push({ code: 'score_derived', message: `${path}.cat_score was missing; the mean of its criteria, ${cat_score}`, path: `${path}.cat_score` });
    } else {
      cat_score = clampScore(given, `${path}.cat_score`, context);
    }
    return { name, dims, cat_reason, cat_score };
  });
  const reason = readText(lookup(root, 'reason', rootAliases, '$', context.warnings), '$.reason', context, false);
  const given = readNumber(lookup(root, 'score', rootAliases, '$', context.warnings), '$.score', context);
  let score: number;
  if (given === undefined) {
    if (lookup(root, 'winner', rootAliases, '$', []) !== undefined) fail('wrong_mode', 'the answer names a winner (pairwise) where a score was expected', '$.winner');
    if (!context.options.repairScores) fail('missing_field', '$.score is missing', '$.score');
    score = oneDecimal(mean(categories.map((c) => c.cat_score)));
    context.warnings.push({ code: 'score_derived', message: `$.score was missing; the mean of the category scores, ${score}`, path: '$.score' });
  } else {
    score = clampScore(given, '$.score', context);
  }
  return { ...head, categories, reason, score };
}

/** Warns about missing mandatory categories and, with `canonicalNames`, renames A, B, C to their canonical names. */
function finishNames<T extends { categories: { name: string }[] }>(assessment: T, options: z.output<typeof parseAssessmentOptionsSchema>, list: ParseWarning[]): T {
  const ids = assessment.categories.map((c) => matchCategory(c.name, options.modality));
  for (const id of ['A', 'B', 'C'] as const) {
    if (!ids.includes(id)) list.push({ code: 'missing_category', message: `the mandatory category ${id} ("${categoryName(options.modality, id)}") is absent`, path: '$.categories' });
  }
  if (!options.canonicalNames) return assessment;
  const seen = new Set<string>();
  const categories = assessment.categories.map((category, index) => {
    const id = ids[index];
    if (id === null || id === undefined || seen.has(id)) return category;
    seen.add(id);
    const canonical = categoryName(options.modality, id);
    if (canonical === category.name) return category;
    list.push({ code: 'category_renamed', message: `"${category.name}" renamed to "${canonical}"`, path: `$.categories[${index}].name` });
    return { ...category, name: canonical };
  });
  return { ...assessment, categories };
}
