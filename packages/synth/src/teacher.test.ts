import { describe, expect, it } from 'vitest';
import { imagePairwiseAssessmentSchema, pointwiseAssessmentSchema, slotOfWinner, videoPairwiseAssessmentSchema } from '@flex/criteria';
import { describeFacts, describeScene } from './describe';
import { oracleOptionsSchema } from './oracle';
import { recordOfDraft, samplePair } from './pair';
import type { PairRecord } from './pair';
import { renderScene } from './render';
import { SimulatedTeacher, idealAssessment } from './teacher';

const oracle = oracleOptionsSchema.parse({});
const records = (modality: 'image' | 'video', n: number): PairRecord[] =>
  Array.from({ length: n }, (_, i) => recordOfDraft(samplePair({ modality, seed: 21, split: 'train', oracle, sharedStyleRate: 0.3 }, i), ['a.png'], ['b.png']));

describe('simulated teacher', () => {
  it('writes full, valid Flex assessments with intent, evidence and prompt-specific criteria', () => {
    const teacher = new SimulatedTeacher();
    for (const record of records('image', 30)) {
      const result = teacher.assessRecord(record);
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      const a = result.assessment;
      expect(imagePairwiseAssessmentSchema.safeParse(a).success).toBe(true);
      expect(a.intent).toBeTruthy();
      expect(a.evidence).toHaveLength(2);
      expect(a.categories.length).toBe(record.context === null ? 3 : 4);
      for (const c of a.categories) {
        expect(c.dims.length).toBeGreaterThanOrEqual(3);
        expect(c.dims.length).toBeLessThanOrEqual(5);
      }
      expect(a.categories[0]!.dims[0]!.name.toLowerCase()).toContain(record.spec.subjects[0]!.colour);
    }
  });

  it('agrees with the labels like a strong but imperfect judge, and judges the order it is given', () => {
    const teacher = new SimulatedTeacher();
    let decisive = 0;
    let right = 0;
    let rightSwapped = 0;
    for (const r of records('image', 400)) {
      if (r.label === 'tie') continue;
      decisive++;
      const direct = teacher.assessRecord(r, false);
      const swapped = teacher.assessRecord(r, true);
      if (direct.ok && (slotOfWinner(direct.assessment.winner) === 1 ? 'A' : 'B') === r.label) right++;
      if (swapped.ok && (slotOfWinner(swapped.assessment.winner) === 1 ? 'B' : 'A') === r.label) rightSwapped++;
    }
    expect(right / decisive).toBeGreaterThan(0.68);
    expect(right / decisive).toBeLessThan(0.86);
    expect(rightSwapped / decisive).toBeGreaterThan(0.68);
    const perfect = new SimulatedTeacher({ missRate: 0, duplicateRate: 0, colourConfusionRate: 0, shapeConfusionRate: 0, attributeErrorRate: 0, positionNoise: 0, backgroundErrorRate: 0, missedFaultRate: 0, severityNoise: 0, falseAlarmRate: 0, positionBias: 0, judgementNoise: 0 });
    let perfectRight = 0;
    let perfectDecisive = 0;
    for (const r of records('image', 200)) {
      if (r.label === 'tie' || r.oracle.preferred === 'tie') continue;
      perfectDecisive++;
      const result = perfect.assessRecord(r);
      if (result.ok && (slotOfWinner(result.assessment.winner) === 1 ? 'A' : 'B') === r.oracle.preferred) perfectRight++;
    }
    expect(perfectRight / perfectDecisive).toBeGreaterThan(0.97);
    // A teacher that perceives perfectly writes exactly the canonical descriptions as evidence.
    const record = records('image', 1)[0]!;
    const result = perfect.assessRecord(record);
    if (result.ok) expect(result.assessment.evidence).toEqual([describeScene(record.a.scene), describeScene(record.b.scene)]);
  });

  it('detects swapped media through the Teacher interface and needs the record', async () => {
    const teacher = new SimulatedTeacher({ seed: 4 });
    const record = records('video', 3)[1]!;
    const a = renderScene({ scene: record.a.scene, width: 24 });
    const b = renderScene({ scene: record.b.scene, width: 24 });
    const [direct, swapped, missing] = await teacher.assess([
      { prompt: record.prompt, modality: 'video', a, b, record },
      { prompt: record.prompt, modality: 'video', a: b, b: a, record },
      { prompt: record.prompt, modality: 'video', a, b },
    ]);
    expect(direct).toEqual(teacher.assessRecord(record, false));
    expect(swapped).toEqual(teacher.assessRecord(record, true));
    expect(missing).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    if (direct?.ok && swapped?.ok) {
      expect(videoPairwiseAssessmentSchema.safeParse(direct.assessment).success).toBe(true);
      expect(direct.assessment.evidence?.[0]).toBe(swapped.assessment.evidence?.[1]);
      expect(direct.assessment.evidence?.[0]).toBe(describeFacts(teacher.perceiveCandidate(record, 'a')));
    }
  });

  it('writes pointwise assessments and an ideal oracle assessment', () => {
    const teacher = new SimulatedTeacher();
    const record = records('image', 2)[0]!;
    const [result] = teacher.assessPointwise([{ record, candidate: 'b' }]);
    expect(result?.ok).toBe(true);
    if (result?.ok) expect(pointwiseAssessmentSchema.safeParse(result.assessment).success).toBe(true);
    const ideal = idealAssessment(record);
    expect(ideal.ok).toBe(true);
    if (ideal.ok && record.oracle.preferred !== 'tie') expect(slotOfWinner(ideal.assessment.winner) === 1 ? 'A' : 'B').toBe(record.oracle.preferred);
  });
});
