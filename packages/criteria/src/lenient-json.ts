/**
 * A forgiving JSON reader for model output: linear time, bounded depth, never throws. It reads standard JSON
 * and repairs what language models commonly get wrong, recording each repair.
 */

/** Kinds of repair the lenient reader makes. */
export type JsonRepairKind =
  | 'comment' // `//`, `/* */` or `#` comments removed
  | 'trailing_comma' // a comma before `}` or `]`
  | 'missing_comma' // two members or elements with no comma between them
  | 'extra_comma' // a comma with nothing before it
  | 'smart_quotes' // “curly” quotes used as string delimiters
  | 'single_quotes' // 'single' quotes used as string delimiters
  | 'unquoted_key' // an object key without quotes
  | 'unquoted_value' // a bare word used as a value (e.g. Image 1)
  | 'unescaped_quote' // a `"` inside a string that does not end it
  | 'invalid_escape' // a backslash escape JSON does not know
  | 'control_character' // a raw newline or tab inside a string
  | 'missing_colon' // a key not followed by `:`
  | 'unclosed_string' // the text ends inside a string
  | 'unclosed_object' // the text ends inside an object (a missing `}`)
  | 'unclosed_array' // the text ends inside an array (a missing `]`)
  | 'mismatched_bracket' // `]` closing an object or `}` closing an array
  | 'non_json_literal' // True / False / None / NaN / undefined
  | 'number_format'; // +1, .5, 1. and the like

/** One repair, at a character offset of the input. */
export interface JsonRepair {
  readonly kind: JsonRepairKind;
  readonly offset: number;
}

/** The result of {@link readLenientJson}. `end` is the offset just after the value. */
export type LenientJsonResult =
  | { readonly ok: true; readonly value: unknown; readonly end: number; readonly repairs: readonly JsonRepair[] }
  | { readonly ok: false; readonly message: string; readonly offset: number };

const MAX_DEPTH = 200;

class Failure {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 0xa0 || c === 0xfeff;
const openingDouble = new Set(['"', '\u201c', '\u201d', '\u201e', '\u00ab']);
const openingSingle = new Set(["'", '\u2018', '\u2019']);

/**
 * Reads one JSON value starting at `start` (leading whitespace allowed) from text that may be broken in the
 * ways a language model breaks JSON. Never throws; a value nested deeper than 200 levels is a failure.
 * @param text The text.
 * @param start Offset where the value starts. Default 0.
 */
export function readLenientJson(text: string, start = 0): LenientJsonResult {
  const repairs: JsonRepair[] = [];
  let i = start;
  const n = text.length;
  const repair = (kind: JsonRepairKind, offset = i) => {
    if (repairs.length < 1000) repairs.push({ kind, offset });
  };

  try {
    skip();
    if (i >= n) return { ok: false, message: 'no JSON value', offset: i };
    const value = readValue(0);
    return { ok: true, value, end: i, repairs };
  } catch (error) {
    if (error instanceof Failure) return { ok: false, message: error.message, offset: error.offset };
    return { ok: false, message: error instanceof Error ? error.message : 'unreadable JSON', offset: i };
  }

  function skip(): void {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (isSpace(c)) {
        i += 1;
      } else if (c === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
        repair('comment');
        const end = text.indexOf('\n', i);
        i = end < 0 ? n : end + 1;
      } else if (c === 47 && text.charCodeAt(i + 1) === 42 /* * */) {
        repair('comment');
        const end = text.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c === 35 /* # */) {
        repair('comment');
        const end = text.indexOf('\n', i);
        i = end < 0 ? n : end + 1;
      } else {
        return;
      }
    }
  }

  function readValue(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Failure('nested too deeply', i);
    skip();
    if (i >= n) throw new Failure('the text ends where a value should be', i);
    const c = text[i] as string;
    if (c === '{') return readObject(depth);
    if (c === '[') return readArray(depth);
    if (openingDouble.has(c) || openingSingle.has(c)) return readString();
    return readBare(false);
  }

  /** True when the next non-blank character (on this line or after it) can follow a complete string. */
  function closesHere(after: number, key: boolean): boolean {
    let j = after;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 10 || c === 13) return true;
      if (c === 32 || c === 9) {
        j += 1;
        continue;
      }
      const ch = text[j] as string;
      return ch === ',' || ch === '}' || ch === ']' || ch === ':' || (key && ch === '=') || ch === '/';
    }
    return true;
  }

  function readString(key = false): string {
    const open = text[i] as string;
    const startOffset = i;
    let closers: string[];
    if (open === '"') closers = ['"'];
    else if (openingDouble.has(open)) {
      repair('smart_quotes');
      closers = ['\u201d', '\u201c', '"', '\u00bb'];
    } else {
      repair(open === "'" ? 'single_quotes' : 'smart_quotes');
      closers = ["'", '\u2019', '\u2018'];
    }
    i += 1;
    let out = '';
    let chunkStart = i;
    const straight = closers.length === 1;
    while (i < n) {
      const code = text.charCodeAt(i);
      // Fast path: ordinary characters of a straight-quoted string.
      if (straight && code !== 34 && code !== 92 && code >= 32) {
        i += 1;
        continue;
      }
      const c = text[i] as string;
      if (c === '\\') {
        out += text.slice(chunkStart, i);
        const e = text[i + 1];
        switch (e) {
          case '"':
          case '\\':
          case '/':
          case "'":
            out += e;
            break;
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'u': {
            const hex = text.slice(i + 2, i + 6);
            if (/^[0-9a-fA-F]{4}$/.test(hex)) {
              out += String.fromCharCode(Number.parseInt(hex, 16));
              i += 4;
            } else {
              repair('invalid_escape');
              out += 'u';
            }
            break;
          }
          case undefined:
            break;
          default:
            repair('invalid_escape');
            out += e;
        }
        i += 2;
        chunkStart = i;
        continue;
      }
      if (closers.includes(c)) {
        // Keys never hold quotes, so a key's quote always closes it.
        if (key || closesHere(i + 1, key)) {
          out += text.slice(chunkStart, i);
          i += 1;
          return out;
        }
        if (c === '"' || c === "'") repair('unescaped_quote');
      } else if (c === '\n' || c === '\t' || c === '\r') {
        repair('control_character');
      }
      i += 1;
    }
    repair('unclosed_string', startOffset);
    out += text.slice(chunkStart, i);
    return out;
  }

  /** A bare word or number; as a key it ends at `:`, as a value at `,`, `}`, `]` or a line end. */
  function readBare(key: boolean): unknown {
    const startOffset = i;
    while (i < n) {
      const c = text[i] as string;
      if (c === ',' || c === '}' || c === ']' || c === '\n' || c === '\r' || (key && (c === ':' || c === '='))) break;
      if (!key && i > startOffset && (c === '{' || c === '[')) break;
      // A quote or a comment after a space ends a bare value: `1 "b": 2` is a value, then a missing comma.
      if (!key && i > startOffset && (text[i - 1] === ' ' || text[i - 1] === '\t') && (openingDouble.has(c) || c === '#' || (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')))) break;
      i += 1;
    }
    const word = text.slice(startOffset, i).trim();
    if (word === '') {
      throw new Failure(`unexpected ${JSON.stringify(text[startOffset] ?? '')}`, startOffset);
    }
    if (key) {
      repair('unquoted_key', startOffset);
      return word;
    }
    switch (word) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'null':
        return null;
      case 'True':
        repair('non_json_literal', startOffset);
        return true;
      case 'False':
        repair('non_json_literal', startOffset);
        return false;
      case 'None':
      case 'undefined':
      case 'NaN':
        repair('non_json_literal', startOffset);
        return null;
      default:
        break;
    }
    if (/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/.test(word)) return Number(word);
    if (/^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(word)) {
      repair('number_format', startOffset);
      return Number(word);
    }
    repair('unquoted_value', startOffset);
    return word;
  }

  function readObject(depth: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    i += 1;
    let expectingMember = true;
    for (;;) {
      skip();
      if (i >= n) {
        repair('unclosed_object');
        return result;
      }
      const c = text[i] as string;
      if (c === '}') {
        i += 1;
        return result;
      }
      if (c === ']') {
        // Most likely a missing `}` before an array's end: close the object, leave `]` to the array.
        repair('mismatched_bracket');
        if (depth === 0) i += 1;
        return result;
      }
      if (c === ',') {
        if (expectingMember) repair('extra_comma');
        i += 1;
        skip();
        if (text[i] === '}' && !expectingMember) repair('trailing_comma');
        expectingMember = true;
        continue;
      }
      if (!expectingMember) repair('missing_comma');
      const keyOffset = i;
      const key = openingDouble.has(c) || openingSingle.has(c) ? readString(true) : (readBare(true) as string);
      skip();
      if (text[i] === ':' || text[i] === '=') {
        i += 1;
      } else if (i >= n) {
        repair('unclosed_object');
        return result;
      } else {
        repair('missing_colon');
      }
      skip();
      if (i >= n || text[i] === '}' || text[i] === ',') {
        // `"key":` with nothing after it: the value is missing.
        if (i >= n) {
          repair('unclosed_object', keyOffset);
          return result;
        }
        throw new Failure(`the value of ${JSON.stringify(key)} is missing`, i);
      }
      const value = readValue(depth + 1);
      expectingMember = false;
      // Like JSON.parse: "__proto__" becomes an own property, never the prototype.
      if (key === '__proto__') Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      else result[key] = value;
    }
  }

  function readArray(depth: number): unknown[] {
    const result: unknown[] = [];
    i += 1;
    let expectingElement = true;
    for (;;) {
      skip();
      if (i >= n) {
        repair('unclosed_array');
        return result;
      }
      const c = text[i] as string;
      if (c === ']') {
        i += 1;
        return result;
      }
      if (c === '}') {
        repair('mismatched_bracket');
        if (depth === 0) i += 1;
        return result;
      }
      if (c === ',') {
        if (expectingElement) repair('extra_comma');
        i += 1;
        skip();
        if (text[i] === ']' && !expectingElement) repair('trailing_comma');
        expectingElement = true;
        continue;
      }
      if (!expectingElement) repair('missing_comma');
      result.push(readValue(depth + 1));
      expectingElement = false;
    }
  }
}
