import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLenientJson } from './index';

const read = (text: string) => {
  const r = readLenientJson(text);
  if (!r.ok) throw new Error(r.message);
  return { value: r.value, kinds: [...new Set(r.repairs.map((x) => x.kind))] };
};

describe('readLenientJson', () => {
  it('reads standard JSON exactly, with no repairs', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = readLenientJson(JSON.stringify(value));
        expect(r.ok).toBe(true);
        if (r.ok) {
          expect(r.value).toEqual(JSON.parse(JSON.stringify(value)));
          expect(r.repairs).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });
  it.each([
    ['{"a": 1,}', { a: 1 }, ['trailing_comma']],
    ['[1, 2,]', [1, 2], ['trailing_comma']],
    ['{"a": 1 "b": 2}', { a: 1, b: 2 }, ['missing_comma']],
    ['{,"a": 1}', { a: 1 }, ['extra_comma']],
    ['{a: 1, b_c: "x"}', { a: 1, b_c: 'x' }, ['unquoted_key']],
    ["{'a': 'it\\'s', 'b': 'Image 1's'}", { a: "it's", b: "Image 1's" }, ['single_quotes', 'unescaped_quote']],
    ['{\u201ca\u201d: \u201cb\u201d}', { a: 'b' }, ['smart_quotes']],
    ['{"a": "say "hi" now"}', { a: 'say "hi" now' }, ['unescaped_quote']],
    ['{"a": "x\\qy"}', { a: 'xqy' }, ['invalid_escape']],
    ['{"a": "two\nlines"}', { a: 'two\nlines' }, ['control_character']],
    ['{"a" 1}', { a: 1 }, ['missing_colon']],
    ['{"a": "cut', { a: 'cut' }, ['unclosed_string', 'unclosed_object']],
    ['{"a": [1, {"b": 2', { a: [1, { b: 2 }] }, ['unclosed_object', 'unclosed_array']],
    ['{"a": [1, 2}', { a: [1, 2] }, ['mismatched_bracket']],
    ['[{"a": 1]', [{ a: 1 }], ['mismatched_bracket']],
    ['{"a": True, "b": None, "c": False}', { a: true, b: null, c: false }, ['non_json_literal']],
    ['{"a": +1, "b": .5}', { a: 1, b: 0.5 }, ['number_format']],
    ['{"winner": Image 1}', { winner: 'Image 1' }, ['unquoted_value']],
    ['// c\n{"a": /* x */ 1 # y\n}', { a: 1 }, ['comment']],
    ['{"__proto__": {"x": 1}, "a": 2}', JSON.parse('{"__proto__": {"x": 1}, "a": 2}'), []],
  ])('%s', (text, value, kinds) => {
    const r = read(text);
    expect(r.value).toEqual(value);
    expect(r.kinds.sort()).toEqual([...kinds].sort());
  });
  it('never sets the prototype', () => {
    const r = readLenientJson('{"__proto__": {"polluted": true}}');
    expect(r.ok && Object.getPrototypeOf(r.value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('reports the end of the value so the caller can read on', () => {
    const r = readLenientJson('xx {"a": 1} tail', 3);
    expect(r).toMatchObject({ ok: true, end: 11 });
  });
  it('fails as a value on deep nesting and on missing values', () => {
    expect(readLenientJson('['.repeat(1000)).ok).toBe(false);
    expect(readLenientJson('{"a": , "b": 1}')).toMatchObject({ ok: false });
    expect(readLenientJson('   ')).toMatchObject({ ok: false, message: 'no JSON value' });
  });
});
