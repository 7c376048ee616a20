import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PairwiseAssessment, assignCategoryIds, checkConsistency, decodeCompact, encodeCompact } from '@flex/criteria';
import { type PairRecord, SimulatedTeacher, readAllPairs, synthesize } from '@flex/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixedRubricTraceAnswer, type FixedRubricTraceRecord, fixedCriterionOf, fixedRubrics, rewriteAssessmentToFixedRubric, rewriteFixedRubric } from './fixed-rubric';

let root: string;
const teacher = new SimulatedTeacher({ seed: 4 });

/** What @flex/sft's distill writes for one answer (same fields, same rules). */
function answerOf(record: PairRecord, swapped: boolean): FixedRubricTraceAnswer {
  const result = teacher.assessRecord(record, swapped);
  if (!result.ok) throw new Error('teacher failed');
  const firstWins = result.assessment.winner.endsWith('1');
  const winner: 'A' | 'B' = firstWins !== swapped ? 'A' : 'B';
  return { text: encodeCompact(result.assessment), winner, correct: winner === record.label, probabilityA: swapped ? 1 - result.probabilityA : result.probabilityA };
}

async function distilled(data: string, withReverse: boolean): Promise<FixedRubricTraceRecord[]> {
  const records = await readAllPairs({ data });
  const traces = records.map((record, i) => {
    const swapped = i % 3 === 1;
    return { id: record.id, swapped, label: record.label, answer: answerOf(record, swapped), ...(withReverse ? { reverse: answerOf(record, !swapped) } : {}) };
  });
  await writeFile(join(data, 'traces.jsonl'), `${traces.map((t) => JSON.stringify(t)).join('\n')}\n`);
  return traces;
}

function readLines(text: string): FixedRubricTraceRecord[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FixedRubricTraceRecord);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flex-eval-rubric-'));
  await synthesize({ out: join(root, 'image'), pairs: 60, seed: 8, width: 16, samples: 1 });
  await synthesize({ out: join(root, 'video'), pairs: 10, seed: 8, width: 16, samples: 1, modality: 'video' });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('rewriteFixedRubric', () => {
  for (const modality of ['image', 'video'] as const) {
    it(`rewrites ${modality} traces to the same criteria everywhere, no D, the teacher's winners kept`, async () => {
      const data = join(root, modality);
      const original = await distilled(data, true);
      const out = join(root, `${modality}-fixed`, 'traces.jsonl');
      const stats = await rewriteFixedRubric({ data, out });
      expect(stats.rewritten).toBe(original.length);
      expect(stats.skipped).toEqual([]);
      expect(stats.answers).toBe(2 * original.length);
      expect(stats.winnerChanged).toBe(0);
      expect(stats.correctChanged).toBe(0);
      const records = new Map((await readAllPairs({ data })).map((r) => [r.id, r]));
      const lines = readLines(await readFile(out, 'utf8'));
      const expectedNames = fixedRubrics[modality].categories.map((c) => c.criteria.map((k) => k.name));
      const hadD = original.some((t) => /^category D:/m.test(t.answer.text));
      expect(hadD).toBe(true);
      lines.forEach((line, i) => {
        const before = original[i] as FixedRubricTraceRecord;
        const record = records.get(line.id) as PairRecord;
        expect(line.id).toBe(before.id);
        expect(line.swapped).toBe(before.swapped);
        for (const [answer, old] of [
          [line.answer, before.answer],
          [line.reverse, before.reverse],
        ] as const) {
          const decoded = decodeCompact((answer as FixedRubricTraceAnswer).text, { prompt: record.prompt, modality, mode: 'pairwise' });
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) continue;
          const a = decoded.value;
          expect(assignCategoryIds(a.categories.map((c) => c.name), modality)).toEqual(['A', 'B', 'C']);
          expect(a.categories.map((c) => c.dims.map((d) => d.name))).toEqual(expectedNames);
          expect(checkConsistency(a).filter((w) => w.code === 'category_winner_contradicts_scores')).toEqual([]);
          // The teacher's verdict, in the record's terms and as written, is kept.
          expect(answer?.winner).toBe(old?.winner);
          expect(answer?.correct).toBe(old?.correct);
          const teacherText = decodeCompact((old as FixedRubricTraceAnswer).text, { prompt: record.prompt, modality, mode: 'pairwise' });
          if (teacherText.ok) {
            expect(a.winner).toBe(teacherText.value.winner);
            expect(a.intent).toBe(teacherText.value.intent);
            expect(a.evidence).toEqual(teacherText.value.evidence);
          }
        }
      });
      const written = JSON.parse(await readFile(`${out}.stats.json`, 'utf8')) as { rewritten: number };
      expect(written.rewritten).toBe(lines.length);
    });
  }

  it("with the 'rubric' policy, re-decides only ambiguous answers and keeps the file's format", async () => {
    const data = join(root, 'image');
    const original = await distilled(data, false);
    const out = join(root, 'image-rubric.jsonl');
    const stats = await rewriteFixedRubric({ data, out, winner: 'rubric' });
    expect(stats.winnerChanged).toBe(stats.ambiguous);
    expect(stats.ambiguous).toBeLessThan(original.length / 2);
    const lines = readLines(await readFile(out, 'utf8'));
    const records = new Map((await readAllPairs({ data })).map((r) => [r.id, r]));
    let kept = 0;
    lines.forEach((line, i) => {
      const before = original[i] as FixedRubricTraceRecord;
      const record = records.get(line.id) as PairRecord;
      const teacherAssessment = decodeCompact(before.answer.text, { prompt: record.prompt, modality: 'image', mode: 'pairwise' });
      if (!teacherAssessment.ok) throw new Error(teacherAssessment.error.message);
      const { ambiguous } = rewriteAssessmentToFixedRubric(teacherAssessment.value);
      if (!ambiguous) {
        expect(line.answer.winner).toBe(before.answer.winner);
        kept++;
      } else expect(line.answer.winner).not.toBe(before.answer.winner);
      expect(line.answer.correct).toBe(line.answer.winner === line.label);
      // P(A) from the fixed scores agrees with the winner (0.5 when the scores balance and the teacher decides).
      if (line.answer.probabilityA !== 0.5) expect(line.answer.probabilityA > 0.5).toBe(line.answer.winner === 'A');
    });
    expect(kept).toBeGreaterThan(lines.length / 2);
  });

  it('skips traces whose pair is missing or whose text does not decode, and refuses a missing file', async () => {
    const data = join(root, 'image');
    const original = await distilled(data, false);
    const broken = [{ ...original[0], id: 'no-such-pair' }, { ...original[1], answer: { ...(original[1] as FixedRubricTraceRecord).answer, text: 'garbage' } }, original[2]];
    const traces = join(root, 'broken.jsonl');
    await writeFile(traces, `${broken.map((t) => JSON.stringify(t)).join('\n')}\n`);
    const stats = await rewriteFixedRubric({ data, traces, out: join(root, 'broken-fixed.jsonl') });
    expect(stats.rewritten).toBe(1);
    expect(stats.skipped.map((s) => s.id)).toEqual(['no-such-pair', (original[1] as FixedRubricTraceRecord).id]);
    await expect(rewriteFixedRubric({ data, traces: join(root, 'none.jsonl'), out: join(root, 'x.jsonl') })).rejects.toMatchObject({ code: 'invalid_dataset' });
    await expect(rewriteFixedRubric({ data, out: '' })).rejects.toMatchObject({ code: 'invalid_options' });
  });
});

describe('rewriteAssessmentToFixedRubric', () => {
  const teacherAssessment: PairwiseAssessment = {
    prompt: 'two red circles, as a calm night wallpaper',
    intent: '2 red circle',
    evidence: ['2 red circle', '3 red circle'],
    categories: [
      {
        name: 'Semantic Alignment & Accuracy',
        dims: [
          { name: 'Count of red circles', reason_1: '2 red circle', reason_2: '3 red circle, wanted 2', score_1: 8, score_2: 2 },
          { name: 'Colour and shape of the red circles', reason_1: 'red circles', reason_2: 'red circles', score_1: 5, score_2: 5 },
          { name: 'No unrequested objects', reason_1: 'none', reason_2: 'none', score_1: 5, score_2: 5 },
        ],
        cat_reason: 'count',
        cat_winner: 'Image 1',
      },
      {
        name: 'Image Quality & Realism',
        dims: [
          { name: 'Sharp edges on the red circles', reason_1: 'sharp', reason_2: 'blurred', score_1: 7, score_2: 3 },
          { name: 'Clean, noise-free image', reason_1: 'clean', reason_2: 'clean', score_1: 5, score_2: 5 },
          { name: 'No blocky artifacts', reason_1: 'blocky', reason_2: 'smooth', score_1: 2, score_2: 8 },
          { name: 'Correct exposure', reason_1: 'well exposed', reason_2: 'well exposed', score_1: 5, score_2: 5 },
        ],
        cat_reason: 'quality',
        cat_winner: 'Image 2',
      },
      {
        name: 'Aesthetics & Artistry',
        dims: [
          { name: 'Vivid, harmonious palette', reason_1: 'vivid', reason_2: 'vivid', score_1: 5, score_2: 5 },
          { name: 'Tidy, uncluttered scene', reason_1: 'tidy', reason_2: 'tidy', score_1: 5, score_2: 5 },
          { name: 'Balanced composition', reason_1: 'balanced', reason_2: 'off-center', score_1: 6, score_2: 4 },
          { name: 'Pleasant brightness', reason_1: 'bright', reason_2: 'bright', score_1: 5, score_2: 5 },
        ],
        cat_reason: 'aesthetics',
        cat_winner: 'Image 1',
      },
      {
        name: 'Calm Night Mood',
        dims: [
          { name: 'Dark night backdrop', reason_1: 'light background', reason_2: 'dark background', score_1: 1, score_2: 9 },
          { name: 'Quiet uncluttered scene', reason_1: '2 objects', reason_2: '3 objects', score_1: 6, score_2: 4 },
        ],
        cat_reason: 'added because the context asks for it',
        cat_winner: 'Image 2',
      },
    ],
    reason: 'Image 1 wins mainly on prompt alignment',
    winner: 'Image 1',
  };

  it('maps criteria by category and keyword, averages scores (half to even), keeps reasons, folds D into visual appeal', () => {
    const { assessment, extraCriteria, winnerChanged } = rewriteAssessmentToFixedRubric(teacherAssessment);
    expect(extraCriteria).toBe(2);
    expect(winnerChanged).toBe(false);
    expect(assessment.categories).toHaveLength(3);
    const [a, b, c] = assessment.categories as [PairwiseAssessment['categories'][number], PairwiseAssessment['categories'][number], PairwiseAssessment['categories'][number]];
    expect(a.dims.map((d) => [d.name, d.score_1])).toEqual([
      ['Object presence', 5],
      ['Attribute accuracy', 5],
      ['Count accuracy', 8],
      ['Spatial relations', 5],
    ]);
    expect(a.dims[3]).toMatchObject({ reason_1: 'not applicable', reason_2: 'not applicable' });
    expect(a.cat_winner).toBe('Image 1');
    expect(a.cat_reason).toBe('Image 1 is better on count accuracy: 2 red circle against 3 red circle, wanted 2');
    expect(b.dims.map((d) => [d.name, d.score_1])).toEqual([
      ['Sharpness', 7],
      ['Noise and artifacts', 4], // mean of 5 and 2 = 3.5 → 4 (half to even)
      ['Exposure', 5],
    ]);
    expect(b.dims[1]).toMatchObject({ reason_1: 'clean; blocky', reason_2: 'clean; smooth' });
    expect(b.cat_winner).toBe('Image 1'); // 7 + 4 + 5 against 3 + 6 + 5
    // Visual appeal: Pleasant brightness 5, Dark night backdrop 1, Quiet uncluttered scene 6 → 4.
    expect(c.dims.map((d) => [d.name, d.score_1])).toEqual([
      ['Colour harmony', 5],
      ['Composition', 6], // mean of 5 and 6 = 5.5 → 6 (half to even)
      ['Visual appeal', 4],
    ]);
    expect(c.dims[2]?.reason_2).toBe('bright; dark background; 3 objects');
    expect(c.cat_winner).toBe('Image 1'); // 5 + 6 + 4 on each side: the teacher's category winner breaks the tie
    expect(assessment.winner).toBe('Image 1');
  });

  it('drops self-generated categories when asked, and is symmetric under swapping the candidates', () => {
    const dropped = rewriteAssessmentToFixedRubric(teacherAssessment, { extraCategories: 'drop' }).assessment;
    expect(dropped.categories[2]?.dims[2]).toMatchObject({ name: 'Visual appeal', score_1: 5, reason_1: 'bright' });
    const swap = (x: PairwiseAssessment): PairwiseAssessment =>
      ({
        ...x,
        evidence: x.evidence ? [x.evidence[1], x.evidence[0]] : undefined,
        categories: x.categories.map((c) => ({
          ...c,
          dims: c.dims.map((d) => ({ ...d, reason_1: d.reason_2, reason_2: d.reason_1, score_1: d.score_2, score_2: d.score_1 })),
          cat_winner: c.cat_winner === 'Image 1' ? 'Image 2' : 'Image 1',
        })),
        winner: x.winner === 'Image 1' ? 'Image 2' : 'Image 1',
      }) as PairwiseAssessment;
    const direct = rewriteAssessmentToFixedRubric(teacherAssessment).assessment;
    const swapped = rewriteAssessmentToFixedRubric(swap(teacherAssessment)).assessment;
    expect(swap(swapped).categories.map((c) => [c.dims.map((d) => d.score_1), c.cat_winner])).toEqual(direct.categories.map((c) => [c.dims.map((d) => d.score_1), c.cat_winner]));
  });

  it('sends every criterion the embedded world writes to the intended fixed criterion', () => {
    const cases: [string, string, 'image' | 'video', string][] = [
      ['Two large yellow circles', 'A', 'image', 'Object presence'],
      ['Cyan square above the pink diamond', 'A', 'image', 'Spatial relations'],
      ['Size, colour and shape of the red circles', 'A', 'image', 'Attribute accuracy'],
      ['Motion of the red circles', 'A', 'video', 'Motion accuracy'],
      ['Stable brightness over time', 'B', 'video', 'Temporal stability'],
      ['Smooth motion of the red circles', 'B', 'video', 'Motion smoothness'],
      ['No blocks or blown highlights', 'B', 'video', 'Noise and artifacts'],
      ['Sharp, clean red circles', 'B', 'video', 'Sharpness'],
      ['Objects keep their identity', 'B', 'video', 'Temporal stability'],
      ['Pleasant brightness', 'C', 'image', 'Visual appeal'],
      ['Film grain', 'D', 'image', 'Visual appeal'],
    ];
    for (const [name, category, modality, expected] of cases) expect(fixedCriterionOf(name, category, modality).criterion).toBe(expected);
  });
});
