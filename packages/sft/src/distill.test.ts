import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCompact, type JudgeResult, type Teacher } from '@flex/criteria';
import { SimulatedTeacher, synthesize, type PairRecord } from '@flex/synth';
import { distill, keepTrace, readTraces } from './distill';
import { SftError } from './errors';
import { judgeExamples, loadPairs } from './sft';
import { compareDescriptions, parseDescription } from './examples';

let data: string;

beforeAll(async () => {
  data = mkdtempSync(join(tmpdir(), 'distill-'));
  await synthesize({ out: join(data, 'train'), pairs: 24, seed: 2, width: 16, overwrite: true });
  data = join(data, 'train');
});

describe('distill', () => {
  it('writes traces beside the dataset with statistics per filter, and resumes', async () => {
    const teacher = new SimulatedTeacher({ seed: 1 });
    let calls = 0;
    const counting: Teacher<PairRecord> = { name: teacher.name, assess: (requests, options) => ((calls += requests.length), teacher.assess(requests, options)) };
    const first = await distill({ data, teacher: counting, filter: 'correct', limit: 16, batchSize: 5 });
    expect(first.asked).toBe(16);
    expect(first.answered).toBe(16);
    expect(first.kept.none).toBe(16);
    expect(first.kept.correct).toBeLessThanOrEqual(16);
    expect(first.kept['both-correct']).toBeNull();
    const traces = readTraces(first.file);
    expect(first.file).toBe(join(data, 'traces.jsonl'));
    expect(traces.filter((t) => t.answer.correct)).toHaveLength(first.kept.correct);
    // Orders are randomised per pair, and the recorded winner is in the record's terms.
    expect(new Set(traces.map((t) => t.swapped)).size).toBe(2);
    for (const t of traces) {
      const decoded = decodeCompact(t.answer.text, { prompt: 'p', modality: 'image', mode: 'pairwise' });
      expect(decoded.ok).toBe(true);
      if (decoded.ok && 'winner' in decoded.value) expect(decoded.value.winner.endsWith('1') !== t.swapped ? 'A' : 'B').toBe(t.answer.winner);
      expect(t.answer.correct).toBe(t.answer.winner === t.label);
    }
    const stats = JSON.parse(readFileSync(join(data, 'traces.stats.json'), 'utf8'));
    expect(stats.kept.correct).toBe(first.kept.correct);

    // Resuming: answered pairs are skipped; the new ones are asked; both-correct asks the reverse order of every pair.
    calls = 0;
    const second = await distill({ data, teacher: counting, filter: 'correct' });
    expect(second.skipped).toBe(16);
    expect(second.asked).toBe(8);
    expect(calls).toBe(8);
    const third = await distill({ data, teacher: counting, filter: 'both-correct' });
    expect(third.asked).toBe(48);
    expect(third.kept['both-correct']).toBeLessThanOrEqual(third.kept.correct);
    const all = readTraces(third.file);
    expect(all).toHaveLength(24);
    expect(all.filter((t) => keepTrace(t, 'both-correct'))).toHaveLength(third.kept['both-correct'] as number);
    expect(third.agreement).toBeGreaterThan(0.5);

    const pairs = await loadPairs(data);
    const built = judgeExamples({ pairs, traces: all, filter: 'correct', descriptionMix: 0.5, useReverse: false });
    expect(built.traces).toBe(third.kept.correct);
    expect(built.descriptions).toBe(Math.round(0.5 * built.traces));
    expect(built.examples.every((e) => e.media.length === 2)).toBe(true);
    const withLookups = judgeExamples({ pairs, traces: all, filter: 'correct', descriptionMix: 0.5, useReverse: false, lookupMix: 1 });
    const lookups = withLookups.examples.slice(built.examples.length);
    expect(withLookups.examples.slice(0, built.examples.length)).toEqual(built.examples);
    expect(lookups).toHaveLength(built.traces);
    for (const e of lookups) {
      expect(e).toMatchObject({ media: [], prompt: '', open: true });
      expect(e.completion).toMatch(/^intent: [^\n]*\nevidence 1: [^\n]*\nevidence 2: [^\n]*\ncategory [A-Z]: /);
      expect(e.completion).toContain(', wanted ');
    }
  });

  it('counts teacher failures and rejects bad options', async () => {
    const failing: Teacher<PairRecord> = { name: 'broken', assess: async (rs) => rs.map((): JudgeResult => ({ ok: false, error: { code: 'parse_error', message: 'x' } })) };
    const out = join(mkdtempSync(join(tmpdir(), 'distill-fail-')), 'traces.jsonl');
    const stats = await distill({ data, teacher: failing, out, limit: 4 });
    expect(stats.failed).toBe(4);
    expect(stats.answered).toBe(0);
    await expect(distill({ data, teacher: {} as never })).rejects.toThrow(SftError);
    expect(() => readTraces('/nonexistent/traces.jsonl')).toThrow(/distill first/);
  });
});

describe('descriptions', () => {
  it('parses groups and scores attributes', () => {
    expect(parseDescription('2 large red circle top left, 1 blue square right, dark gradient background, blurred')).toEqual({
      groups: [
        { count: 2, size: 'large', colour: 'red', shape: 'circle', position: 'top left' },
        { count: 1, size: 'medium', colour: 'blue', shape: 'square', position: 'right' },
      ],
      background: 'dark gradient',
    });
    const accuracy = compareDescriptions([
      { written: '2 red circle left, 1 blue square right, dark flat background', truth: '3 red circle left, 1 blue square right, dark flat background' },
      { written: '1 green star center, light flat background', truth: '1 green ring center, light flat background' },
    ]);
    expect(accuracy.count).toBeCloseTo(2 / 3);
    expect(accuracy.colour).toBe(1);
    expect(accuracy.shape).toBeCloseTo(2 / 3);
    expect(accuracy.position).toBe(1);
    expect(accuracy.exact).toBe(0);
    expect(compareDescriptions([{ written: '', truth: '1 red circle left, dark flat background' }]).count).toBe(0);
  });
});
