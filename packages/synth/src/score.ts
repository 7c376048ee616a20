import { categoryName } from '@flex/criteria';
import { contextById, neutralWeights } from './contexts';
import type { CategoryWeights, ContextDefinition, StyleFacts } from './contexts';
import { composition, imbalanceOf } from './facts';
import type { FactObject, SceneFacts } from './facts';
import type { PromptSpec, Subject } from './prompt';
import { subjectWords } from './prompt';
import { colourSimilarity, effectWords, shapePlurals, shapeSimilarity } from './vocabulary';
import type { Motion } from './vocabulary';

/** Category ids the world scores. */
export type WorldCategoryId = 'A' | 'B' | 'C' | 'D';
/** Every category id, in order. */
export const worldCategoryIds: readonly WorldCategoryId[] = ['A', 'B', 'C', 'D'];

/** One scored criterion of one candidate. */
export interface CriterionScore {
  /** Stable key of the criterion within its prompt ("A.count.0", "B.blur"). */
  readonly key: string;
  /** Prompt-specific criterion name, as a judge writes it ("Count of red circles"). */
  readonly name: string;
  /** Score in [0, 1]. */
  readonly score: number;
  /** What the prompt or context wants, in description words (empty when generic). */
  readonly wanted: string;
  /** What the candidate shows, in description words. */
  readonly seen: string;
  /** Whether the requirement is met (score at least 0.75). */
  readonly met: boolean;
}

/** One scored category. */
export interface CategoryScore {
  readonly id: WorldCategoryId;
  readonly name: string;
  /** Category score in [0, 1]: half the mean, half the minimum of its criteria (one bad criterion matters). */
  readonly score: number;
  readonly criteria: readonly CriterionScore[];
}

/** Scores of one candidate under a prompt and a context. */
export interface CandidateScore {
  readonly categories: readonly CategoryScore[];
  /** The context's category weights (D is 0 without a context). */
  readonly weights: CategoryWeights;
  /** Context-weighted utility in [0, 1]. */
  readonly utility: number;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const motionWords = (m: Motion) => (m === 'still' ? 'still' : m === 'bounce' ? 'bouncing' : m === 'orbit' ? 'orbiting' : `moving ${m}`);

/** Objects assigned to each subject, plus the extra objects that match none. */
export interface Assignment {
  readonly groups: readonly FactObject[][];
  readonly extras: readonly FactObject[];
}

/**
 * Assign each object to the subject it resembles most (colour and shape weigh 2, size 0.5); an object that shares
 * neither colour nor shape with any subject is an extra.
 */
export function assignObjects(subjects: readonly Subject[], objects: readonly FactObject[]): Assignment {
  const groups: FactObject[][] = subjects.map(() => []);
  const extras: FactObject[] = [];
  for (const o of objects) {
    let best = -1;
    let bestScore = 0;
    subjects.forEach((s, i) => {
      const sameColour = s.colour === o.colour;
      const sameShape = s.shape === o.shape;
      if (!sameColour && !sameShape) return;
      const score = 2 * colourSimilarity(s.colour, o.colour) + 2 * shapeSimilarity(s.shape, o.shape) + (s.size === o.size ? 0.5 : 0);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    });
    if (best < 0) extras.push(o);
    else (groups[best] as FactObject[]).push(o);
  }
  return { groups, extras };
}

/** Summarise objects in description words: "2 red circle, 1 orange circle" (or "none"). */
export function summariseObjects(objects: readonly FactObject[], withSize = false): string {
  if (objects.length === 0) return 'none';
  const counts = new Map<string, number>();
  for (const o of objects) {
    const key = [withSize && o.size !== 'medium' ? o.size : undefined, o.colour, o.shape].filter((w) => w !== undefined).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, n]) => `${n} ${k}`).join(', ');
}

function centroid(objects: readonly FactObject[]): { x: number; y: number } {
  let x = 0;
  let y = 0;
  for (const o of objects) {
    x += o.x;
    y += o.y;
  }
  return { x: x / objects.length, y: y / objects.length };
}

function semanticCriteria(spec: PromptSpec, facts: SceneFacts): CriterionScore[] {
  const { groups, extras } = assignObjects(spec.subjects, facts.objects);
  const out: CriterionScore[] = [];
  const subjectCriteria = spec.subjects.map((subject, i) => {
    const group = groups[i] as FactObject[];
    const countScore = clamp01(1 - 0.5 * Math.abs(group.length - subject.count));
    let attribute = 0;
    for (const o of group) {
      let parts = colourSimilarity(subject.colour, o.colour) + shapeSimilarity(subject.shape, o.shape);
      let n = 2;
      if (subject.size !== undefined) {
        parts += subject.size === o.size ? 1 : 0;
        n++;
      }
      attribute += parts / n;
    }
    attribute = group.length === 0 ? 0 : attribute / group.length;
    const plural = `${subject.colour} ${subject.count === 1 ? subject.shape : shapePlurals[subject.shape]}`;
    const wanted = subjectWords(subject);
    const seen = summariseObjects(group, subject.size !== undefined);
    return { i, subject, group, countScore, attribute, plural, wanted, seen };
  });
  if (spec.subjects.length === 1) {
    const s = subjectCriteria[0] as (typeof subjectCriteria)[number];
    out.push({ key: 'A.count.0', name: `Count of ${s.plural}`, score: s.countScore, wanted: `${s.subject.count} ${s.subject.colour} ${s.subject.shape}`, seen: summariseObjects(s.group), met: s.countScore >= 0.75 });
    out.push({ key: 'A.attributes.0', name: `${s.subject.size !== undefined ? 'Size, colour' : 'Colour'} and shape of the ${s.plural}`, score: s.attribute, wanted: s.wanted, seen: s.seen, met: s.attribute >= 0.75 });
  } else {
    for (const s of subjectCriteria) {
      const score = 0.5 * s.countScore + 0.5 * s.attribute;
      out.push({ key: `A.subject.${s.i}`, name: `${s.subject.count === 1 ? 'One' : s.subject.count === 2 ? 'Two' : 'Three'} ${s.subject.size !== undefined ? `${s.subject.size} ` : ''}${s.plural}`, score, wanted: s.wanted, seen: s.seen, met: score >= 0.75 });
    }
  }
  if (spec.relation !== undefined) {
    const a = groups[0] as FactObject[];
    const b = groups[1] as FactObject[];
    const [sa, sb] = spec.subjects as [Subject, Subject];
    const wanted = `${sa.colour} ${sa.shape} ${spec.relation} ${sb.colour} ${sb.shape}`;
    let score = 0;
    let seen = 'not both present';
    if (a.length > 0 && b.length > 0) {
      const ca = centroid(a);
      const cb = centroid(b);
      const margin = spec.relation === 'left of' ? cb.x - ca.x : spec.relation === 'right of' ? ca.x - cb.x : spec.relation === 'above' ? cb.y - ca.y : ca.y - cb.y;
      score = clamp01((margin + 0.05) / 0.25);
      const horizontal = spec.relation === 'left of' || spec.relation === 'right of';
      const actual = horizontal ? (ca.x < cb.x - 0.05 ? 'left of' : ca.x > cb.x + 0.05 ? 'right of' : 'level with') : ca.y < cb.y - 0.05 ? 'above' : ca.y > cb.y + 0.05 ? 'below' : 'level with';
      seen = `${sa.colour} ${sa.shape} ${actual} ${sb.colour} ${sb.shape}`;
    }
    const noun = (x: Subject) => `${x.colour} ${x.count === 1 ? x.shape : shapePlurals[x.shape]}`;
    const name = `${noun(sa)} ${spec.relation} the ${noun(sb)}`;
    out.push({ key: 'A.relation', name: `${name[0]?.toUpperCase()}${name.slice(1)}`, score, wanted, seen, met: score >= 0.75 });
  }
  const extraScore = clamp01(1 - 0.5 * extras.length);
  out.push({ key: 'A.extras', name: 'No unrequested objects', score: extraScore, wanted: 'no extra objects', seen: extras.length === 0 ? 'no extra objects' : `extra ${summariseObjects(extras)}`, met: extras.length === 0 });
  const moving = subjectCriteria.filter((s) => s.subject.motion !== undefined);
  if (facts.modality === 'video' && moving.length > 0) {
    let total = 0;
    const seen: string[] = [];
    const wanted: string[] = [];
    for (const s of moving) {
      const wantedMotion = s.subject.motion as Motion;
      const share = s.group.length === 0 ? 0 : s.group.filter((o) => o.motion === wantedMotion).length / s.group.length;
      total += share;
      wanted.push(`${s.subject.colour} ${s.subject.shape} ${motionWords(wantedMotion)}`);
      seen.push(s.group.length === 0 ? `no ${s.subject.colour} ${s.subject.shape}` : `${s.subject.colour} ${s.subject.shape} ${motionWords((s.group[0] as FactObject).motion)}`);
    }
    const score = total / moving.length;
    out.push({ key: 'A.motion', name: moving.length === 1 ? `Motion of the ${(moving[0] as (typeof moving)[number]).plural}` : 'Motion of each subject', score, wanted: wanted.join(', '), seen: seen.join(', '), met: score >= 0.75 });
  }
  return out;
}

function faultCriterion(key: string, name: string, severity: number, tolerance: number, bad: string, good: string): CriterionScore {
  const score = clamp01(1 - tolerance * severity);
  return { key, name, score, wanted: good, seen: severity >= 0.25 ? bad : good, met: score >= 0.75 };
}

function toleranceOf(context: ContextDefinition | undefined, kind: keyof ContextDefinition['tolerance']): number {
  return context?.tolerance[kind] ?? 1;
}

function qualityCriteria(spec: PromptSpec, facts: SceneFacts, context: ContextDefinition | undefined): CriterionScore[] {
  const e = facts.effects;
  const main = spec.subjects[0] as Subject;
  const plural = `${main.colour} ${main.count === 1 ? main.shape : shapePlurals[main.shape]}`;
  if (facts.modality === 'image') {
    return [
      faultCriterion('B.blur', `Sharp edges on the ${plural}`, e.blur, toleranceOf(context, 'blur'), effectWords.blur, 'sharp'),
      faultCriterion('B.noise', 'Clean, noise-free image', e.noise, toleranceOf(context, 'noise'), effectWords.noise, 'clean'),
      faultCriterion('B.block', 'No blocky artifacts', e.block, toleranceOf(context, 'block'), effectWords.block, 'smooth'),
      faultCriterion('B.clip', 'Correct exposure', e.clip, toleranceOf(context, 'clip'), effectWords.clip, 'well exposed'),
    ];
  }
  const sharpness = Math.max(e.blur * toleranceOf(context, 'blur'), e.noise * toleranceOf(context, 'noise'));
  const artifacts = Math.max(e.block * toleranceOf(context, 'block'), e.clip * toleranceOf(context, 'clip'));
  return [
    faultCriterion('B.sharpness', `Sharp, clean ${plural}`, sharpness, 1, e.blur >= e.noise ? effectWords.blur : effectWords.noise, 'sharp'),
    faultCriterion('B.artifacts', 'No blocks or blown highlights', artifacts, 1, e.block >= e.clip ? effectWords.block : effectWords.clip, 'smooth'),
    faultCriterion('B.flicker', 'Stable brightness over time', e.flicker, 1, effectWords.flicker, 'stable'),
    faultCriterion('B.motion', `Smooth motion of the ${plural}`, Math.max(e.jitter, e.frozen), 1, e.jitter >= e.frozen ? effectWords.jitter : effectWords.frozen, 'smooth'),
    faultCriterion('B.identity', 'Objects keep their identity', e.identity, 1, effectWords.identity, 'consistent'),
  ];
}

function aestheticCriteria(facts: SceneFacts, context: ContextDefinition | undefined): CriterionScore[] {
  const e = facts.effects;
  const imbalance = imbalanceOf(facts.objects);
  return [
    faultCriterion('C.palette', 'Vivid, harmonious palette', e.muted, toleranceOf(context, 'muted'), effectWords.muted, 'vivid colour'),
    faultCriterion('C.clutter', 'Tidy, uncluttered scene', e.clutter, toleranceOf(context, 'clutter'), effectWords.clutter, 'tidy'),
    faultCriterion('C.balance', 'Balanced composition', imbalance, 1, 'off-center', 'balanced'),
    faultCriterion('C.brightness', 'Pleasant brightness', e.dim, toleranceOf(context, 'dim'), effectWords.dim, 'bright'),
  ];
}

/** The style facts the context criteria read. */
export function styleFacts(facts: SceneFacts): StyleFacts {
  const { spread } = composition(facts.objects);
  const sizeValue = (s: string) => (s === 'small' ? 0 : s === 'medium' ? 0.5 : 1);
  const scale = facts.objects.length === 0 ? 0.5 : facts.objects.reduce((a, o) => a + sizeValue(o.size), 0) / facts.objects.length;
  const moving = facts.objects.filter((o) => o.motion !== 'still');
  const speed = facts.modality === 'image' || facts.objects.length === 0 ? 0 : facts.objects.reduce((a, o) => a + (o.motion === 'still' ? 0 : o.speed === 'fast' ? 1 : 0.5), 0) / facts.objects.length;
  void moving;
  const e = facts.effects;
  return {
    tone: facts.background.tone,
    kind: facts.background.kind,
    scale,
    spread,
    count: facts.objects.length,
    noise: e.noise,
    blur: e.blur,
    block: e.block,
    muted: e.muted,
    clutter: e.clutter,
    dim: e.dim,
    imbalance: imbalanceOf(facts.objects),
    speed: facts.modality === 'video' ? speed * (1 - e.frozen) : 0,
  };
}

function contextCriteria(facts: SceneFacts, context: ContextDefinition): CriterionScore[] {
  const style = styleFacts(facts);
  return context.category.criteria.map((c, i) => {
    const score = clamp01(c.score(style));
    return { key: `D.${i}`, name: c.name, score, wanted: c.wanted, seen: c.seen(style), met: score >= 0.75 };
  });
}

function category(id: WorldCategoryId, name: string, criteria: CriterionScore[]): CategoryScore {
  let sum = 0;
  let min = 1;
  for (const c of criteria) {
    sum += c.score;
    min = Math.min(min, c.score);
  }
  const score = criteria.length === 0 ? 1 : 0.5 * (sum / criteria.length) + 0.5 * min;
  return { id, name, score, criteria };
}

/** Options of {@link scoreFacts}: the prompt, the facts, and optionally a context that replaces the prompt's. */
export interface ScoreFactsOptions {
  readonly spec: PromptSpec;
  readonly facts: SceneFacts;
  /** Score as if the prompt carried this context (null: no context). Default: the prompt's own. */
  readonly context?: string | null;
}

/**
 * Score one candidate: every criterion of categories A (semantic, from the prompt's requirements), B (quality),
 * C (aesthetics) and, when the context brings one, D; then the context-weighted utility.
 */
export function scoreFacts(options: ScoreFactsOptions): CandidateScore {
  const { spec, facts } = options;
  const contextId = options.context === undefined ? spec.context : options.context;
  const context = contextById(contextId);
  const modality = facts.modality;
  const categories: CategoryScore[] = [
    category('A', categoryName(modality, 'A'), semanticCriteria(spec, facts)),
    category('B', categoryName(modality, 'B'), qualityCriteria(spec, facts, context)),
    category('C', categoryName(modality, 'C'), aestheticCriteria(facts, context)),
  ];
  if (context !== undefined) categories.push(category('D', context.category.name, contextCriteria(facts, context)));
  const weights = context?.weights ?? neutralWeights;
  let utility = 0;
  for (const c of categories) utility += weights[c.id] * c.score;
  return { categories, weights, utility };
}

/** The score of one category, or undefined when absent. */
export function categoryScoreOf(score: CandidateScore, id: WorldCategoryId): number | undefined {
  return score.categories.find((c) => c.id === id)?.score;
}
