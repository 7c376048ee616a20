import { z } from 'zod';
import { isVideo } from '@flex/criteria';
import type { JudgeCallOptions, JudgeResult, Media, PointwiseResult, RgbImage, Teacher, TeacherRequest } from '@flex/criteria';
import { writePairwiseAssessment, writePointwiseAssessment } from './assessment';
import { sceneFacts } from './facts';
import type { FactObject, SceneFacts } from './facts';
import { judgePair } from './oracle';
import { oracleOptionsSchema } from './oracle';
import type { PairRecord } from './pair';
import { Rng, mixSeed } from './random';
import { renderFrame } from './render';
import { scoreFacts } from './score';
import type { CandidateScore } from './score';
import { backgroundKinds, effectKinds, motions, neighbourColours, neighbourShapes, sizes } from './vocabulary';
import type { BackgroundTone } from './vocabulary';

/** Options of the simulated teacher: how it misperceives. Defaults give ~75–80 % agreement with the labels. */
export const teacherOptionsSchema = z.object({
  /** Seed of its perception errors. Default 0. */
  seed: z.number().int().min(0).max(4294967295).default(0),
  /** Probability of missing an object. Default 0.06. */
  missRate: z.number().min(0).max(1).default(0.06),
  /** Probability of seeing an object twice (a miscount upwards). Default 0.05. */
  duplicateRate: z.number().min(0).max(1).default(0.05),
  /** Probability of confusing an object's colour with a hue neighbour. Default 0.1. */
  colourConfusionRate: z.number().min(0).max(1).default(0.1),
  /** Probability of confusing an object's shape with a similar one. Default 0.12. */
  shapeConfusionRate: z.number().min(0).max(1).default(0.12),
  /** Probability of misjudging an object's size or motion. Default 0.1. */
  attributeErrorRate: z.number().min(0).max(1).default(0.1),
  /** Standard deviation of position errors (fraction of the frame). Default 0.04. */
  positionNoise: z.number().min(0).default(0.04),
  /** Probability of misreading the background tone or kind. Default 0.08. */
  backgroundErrorRate: z.number().min(0).max(1).default(0.08),
  /** Probability of missing a fault of severity s is missedFaultRate·(1 − s). Default 0.6. */
  missedFaultRate: z.number().min(0).max(1).default(0.6),
  /** Standard deviation of perceived fault severities. Default 0.15. */
  severityNoise: z.number().min(0).default(0.15),
  /** Probability of imagining a mild fault that is not there, per fault kind. Default 0.02. */
  falseAlarmRate: z.number().min(0).max(1).default(0.02),
  /** Utility bonus of the first-shown candidate (position bias). Default 0.01. */
  positionBias: z.number().default(0.01),
  /** Standard deviation of per-question judgement noise on the utility difference. Default 0.025. */
  judgementNoise: z.number().min(0).default(0.025),
  /** Temperature turning its utility difference into `probabilityA`. Default 0.05. */
  temperature: z.number().positive().default(0.05),
});
/** Teacher options (input). */
export type TeacherOptions = z.input<typeof teacherOptionsSchema>;
type ResolvedTeacherOptions = z.output<typeof teacherOptionsSchema>;

const toneNeighbours: Readonly<Record<BackgroundTone, BackgroundTone>> = { dark: 'cool', cool: 'dark', light: 'warm', warm: 'light' };
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Perceive facts with the teacher's errors (deterministic for a seed). */
export function perceiveWithErrors(facts: SceneFacts, options: TeacherOptions, seed: number): SceneFacts {
  const o = teacherOptionsSchema.parse(options);
  return perceive(facts, o, seed);
}

function perceive(facts: SceneFacts, o: ResolvedTeacherOptions, seed: number): SceneFacts {
  const rng = new Rng(seed);
  const objects: FactObject[] = [];
  for (const object of facts.objects) {
    if (rng.chance(o.missRate)) continue;
    let seen: FactObject = { ...object, x: clamp01(object.x + o.positionNoise * rng.normal()), y: clamp01(object.y + o.positionNoise * rng.normal()) };
    if (rng.chance(o.colourConfusionRate)) seen = { ...seen, colour: rng.pick(neighbourColours(object.colour)) };
    if (rng.chance(o.shapeConfusionRate)) seen = { ...seen, shape: rng.pick(neighbourShapes(object.shape)) };
    if (rng.chance(o.attributeErrorRate)) seen = { ...seen, size: rng.pick(sizes.filter((s) => s !== object.size)) };
    if (facts.modality === 'video' && rng.chance(o.attributeErrorRate)) seen = { ...seen, motion: rng.pick(motions.filter((m) => m !== object.motion)) };
    objects.push(seen);
    if (rng.chance(o.duplicateRate)) objects.push({ ...seen, x: clamp01(seen.x + 0.2), y: seen.y });
  }
  let { kind, tone } = facts.background;
  if (rng.chance(o.backgroundErrorRate)) tone = toneNeighbours[tone];
  if (rng.chance(o.backgroundErrorRate)) kind = rng.pick(backgroundKinds.filter((k) => k !== kind));
  const effects: Record<string, number> = {};
  for (const k of [...effectKinds, 'identity'] as const) {
    const s = facts.effects[k] ?? 0;
    if (s > 0) effects[k] = rng.chance(o.missedFaultRate * (1 - s)) ? 0 : clamp01(s + o.severityNoise * rng.normal());
    else effects[k] = rng.chance(o.falseAlarmRate) ? rng.uniform(0.1, 0.3) : 0;
  }
  if (facts.modality === 'image') for (const k of ['flicker', 'jitter', 'frozen', 'identity']) effects[k] = 0;
  return { modality: facts.modality, objects, background: { kind, tone }, effects: effects as SceneFacts['effects'] };
}

function firstFrame(media: Media): RgbImage {
  return isVideo(media) ? (media.frames[0] as RgbImage) : media;
}

function distance(image: RgbImage, other: RgbImage): number {
  let d = 0;
  for (let i = 0; i < image.data.length; i++) d += Math.abs((image.data[i] as number) - (other.data[i] as number));
  return d;
}

/**
 * Whether the request shows the record's candidates swapped (B first): the record's two scenes are rendered at the
 * request's size and compared with the first medium it was given.
 */
export function isSwapped(request: TeacherRequest<PairRecord>, record: PairRecord): boolean {
  const shown = firstFrame(request.a);
  const renderedA = renderFrame(record.a.scene, 0, shown.width, shown.height);
  const renderedB = renderFrame(record.b.scene, 0, shown.width, shown.height);
  return distance(shown, renderedB) < distance(shown, renderedA);
}

/** One pointwise teacher request: a record and which of its candidates to assess. */
export interface PointwiseTeacherRequest {
  readonly id?: string;
  readonly record: PairRecord;
  readonly candidate: 'a' | 'b';
}

/**
 * The simulated teacher (the stronger judge distillation learns from): it perceives each candidate's scene with
 * configurable errors and writes a full Flex assessment from what it perceived. It judges the media order it is
 * given, so it can be asked with A and B swapped. Implements `Teacher<PairRecord>` of @flex/criteria.
 */
export class SimulatedTeacher implements Teacher<PairRecord> {
  readonly name: string;
  readonly options: ResolvedTeacherOptions;

  constructor(options: TeacherOptions = {}) {
    this.options = teacherOptionsSchema.parse(options);
    this.name = `synth-teacher(seed=${this.options.seed})`;
  }

  /** The facts the teacher perceives of one candidate of a record (the same on every call). */
  perceiveCandidate(record: PairRecord, candidate: 'a' | 'b'): SceneFacts {
    return perceive(sceneFacts(record[candidate].scene), this.options, mixSeed(this.options.seed, record.id, candidate));
  }

  /** Judge a record in a given order without media (`swapped`: B is shown first). */
  assessRecord(record: PairRecord, swapped = false): JudgeResult {
    const factsA = this.perceiveCandidate(record, 'a');
    const factsB = this.perceiveCandidate(record, 'b');
    const first = swapped ? factsB : factsA;
    const second = swapped ? factsA : factsB;
    const spec = record.spec;
    const scoreFirst: CandidateScore = scoreFacts({ spec, facts: first });
    const scoreSecond: CandidateScore = scoreFacts({ spec, facts: second });
    const noise = new Rng(mixSeed(this.options.seed, record.id, swapped ? 'swapped' : 'direct')).normal() * this.options.judgementNoise;
    const bias = this.options.positionBias + noise;
    const assessment = writePairwiseAssessment({ spec, prompt: record.prompt, first: { facts: first, score: scoreFirst }, second: { facts: second, score: scoreSecond }, bias });
    const difference = scoreFirst.utility - scoreSecond.utility + bias;
    const categoryProbabilityA: Record<string, number> = {};
    for (const c of scoreFirst.categories) {
      const other = scoreSecond.categories.find((x) => x.id === c.id);
      if (other !== undefined) categoryProbabilityA[c.id] = 1 / (1 + Math.exp(-(c.score - other.score) / this.options.temperature));
    }
    return { ok: true, assessment, probabilityA: 1 / (1 + Math.exp(-difference / this.options.temperature)), categoryProbabilityA };
  }

  /** Assess a batch of requests; each needs its `record` (else an `invalid_request` failure). */
  async assess(requests: readonly TeacherRequest<PairRecord>[], options: JudgeCallOptions = {}): Promise<JudgeResult[]> {
    return requests.map((request) => {
      if (options.signal?.aborted === true) return { ok: false, error: { code: 'aborted', message: 'aborted' } } as const;
      const record = request.record;
      if (record === undefined) return { ok: false, error: { code: 'invalid_request', message: 'the simulated teacher needs the pair record of each request' } } as const;
      if (request.modality !== record.modality) return { ok: false, error: { code: 'invalid_request', message: `modality ${request.modality} does not match the record's ${record.modality}` } } as const;
      return this.assessRecord(record, isSwapped(request, record));
    });
  }

  /** A pointwise assessment of one candidate from what the teacher perceives. */
  assessPointwise(requests: readonly PointwiseTeacherRequest[]): PointwiseResult[] {
    return requests.map(({ record, candidate }) => {
      const facts = this.perceiveCandidate(record, candidate);
      const score = scoreFacts({ spec: record.spec, facts });
      const assessment = writePointwiseAssessment({ spec: record.spec, prompt: record.prompt, facts, score });
      return { ok: true, assessment, score: assessment.score };
    });
  }
}

/** The oracle's ideal assessment of a record (exact facts, no noise): per-category winners for per-category metrics. */
export function idealAssessment(record: PairRecord, options: { swapped?: boolean } = {}): JudgeResult {
  const factsA = sceneFacts(record.a.scene);
  const factsB = sceneFacts(record.b.scene);
  const swapped = options.swapped === true;
  const spec = record.spec;
  const first = swapped ? factsB : factsA;
  const second = swapped ? factsA : factsB;
  const j = judgePair(spec, first, second, oracleOptionsSchema.parse({}));
  const assessment = writePairwiseAssessment({ spec, prompt: record.prompt, first: { facts: first, score: j.scoreA }, second: { facts: second, score: j.scoreB } });
  return { ok: true, assessment, probabilityA: j.probabilityA };
}
