import { z } from 'zod';
import { composition, imbalanceOf, positionWords, sceneFacts } from './facts';
import type { FactObject, SceneFacts } from './facts';
import { promptSpecSchema } from './prompt';
import type { PromptSpecInput } from './prompt';
import { sceneSchema } from './scene';
import type { SceneInput } from './scene';
import { scoreFacts } from './score';
import { effectWords } from './vocabulary';
import type { EffectKind, Motion } from './vocabulary';

/** Severity from which an effect counts as visible and is named in descriptions. */
export const visibleSeverity = 0.25;

const motionWords = (m: Motion): string => (m === 'still' ? '' : m === 'bounce' ? 'bouncing' : m === 'orbit' ? 'orbiting' : `moving ${m}`);

interface Group {
  readonly objects: FactObject[];
  readonly key: string;
  readonly first: FactObject;
}

function groupsOf(facts: SceneFacts): Group[] {
  const groups = new Map<string, Group>();
  for (const o of facts.objects) {
    const motion = facts.modality === 'video' ? `${o.motion}/${o.speed}/${o.becomes ?? ''}` : '';
    const key = `${o.size}/${o.colour}/${o.shape}/${motion}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { objects: [o], key, first: o });
    else group.objects.push(o);
  }
  // Canonical order: left to right by the group's centre, then top to bottom.
  return [...groups.values()].sort((a, b) => {
    const ca = composition(a.objects);
    const cb = composition(b.objects);
    return ca.cx - cb.cx || ca.cy - cb.cy || a.key.localeCompare(b.key);
  });
}

/** Words for one group: "2 large red circle left moving right fast". */
function groupWords(group: Group, video: boolean): string {
  const o = group.first;
  const c = composition(group.objects);
  const words = [String(group.objects.length)];
  if (o.size !== 'medium') words.push(o.size);
  words.push(o.colour, o.shape, positionWords(c.cx, c.cy));
  if (video) {
    const m = motionWords(o.motion);
    if (m !== '') words.push(m + (o.speed === 'fast' ? ' fast' : ''));
    if (o.becomes !== undefined) words.push(`turning ${o.becomes}`);
  }
  return words.join(' ');
}

/** The visible faults of a candidate in description words, in a fixed order. */
export function visibleFaultWords(facts: SceneFacts): string[] {
  const order: EffectKind[] = ['blur', 'noise', 'block', 'clip', 'muted', 'clutter', 'dim', 'flicker', 'jitter', 'frozen'];
  const out: string[] = [];
  for (const kind of order) if ((facts.effects[kind] ?? 0) >= visibleSeverity) out.push(effectWords[kind]);
  if (imbalanceOf(facts.objects) >= 0.3) out.push('off-center');
  return out;
}

/**
 * The canonical dense description of scene facts in the controlled vocabulary:
 * "2 red circle left, 1 large blue square right, dark gradient background, blurred".
 * Groups run left to right; sizes other than medium, motions (video) and visible faults are named.
 */
export function describeFacts(facts: SceneFacts): string {
  const parts = groupsOf(facts).map((g) => groupWords(g, facts.modality === 'video'));
  if (parts.length === 0) parts.push('no objects');
  parts.push(`${facts.background.tone} ${facts.background.kind} background`);
  parts.push(...visibleFaultWords(facts));
  return parts.join(', ');
}

/** The canonical dense description of a scene (see {@link describeFacts}). */
export function describeScene(scene: SceneInput): string {
  return describeFacts(sceneFacts(sceneSchema.parse(scene)));
}

/** One grounded question about a scene, with its answer in the controlled vocabulary. */
export interface GroundedQuestion {
  readonly kind: 'count' | 'colour' | 'shape' | 'position' | 'relation' | 'background' | 'fault' | 'motion';
  readonly question: string;
  readonly answer: string;
}

/** Grounded questions with answers about scene facts (deterministic list: counts, colours, shapes, relations, faults, motion). */
export function questionsForFacts(facts: SceneFacts): GroundedQuestion[] {
  const out: GroundedQuestion[] = [];
  const groups = groupsOf(facts);
  const byKind = new Map<string, FactObject[]>();
  for (const o of facts.objects) {
    const key = `${o.colour} ${o.shape}`;
    byKind.set(key, [...(byKind.get(key) ?? []), o]);
  }
  for (const [key, objects] of byKind) {
    out.push({ kind: 'count', question: `how many ${key}?`, answer: String(objects.length) });
    const c = composition(objects);
    out.push({ kind: 'position', question: `where is the ${key}?`, answer: positionWords(c.cx, c.cy) });
  }
  // An absent combination, so "0" is a possible answer.
  const present = new Set(byKind.keys());
  const first = facts.objects[0];
  if (first !== undefined) {
    const absentShape = (['circle', 'square', 'triangle', 'diamond', 'star', 'ring', 'cross'] as const).find((s) => !present.has(`${first.colour} ${s}`));
    if (absentShape !== undefined) out.push({ kind: 'count', question: `how many ${first.colour} ${absentShape}?`, answer: '0' });
  }
  const shapesSeen = new Map<string, Set<string>>();
  const coloursSeen = new Map<string, Set<string>>();
  for (const o of facts.objects) {
    shapesSeen.set(o.shape, (shapesSeen.get(o.shape) ?? new Set()).add(o.colour));
    coloursSeen.set(o.colour, (coloursSeen.get(o.colour) ?? new Set()).add(o.shape));
  }
  for (const [shape, set] of shapesSeen) if (set.size === 1) out.push({ kind: 'colour', question: `what colour is the ${shape}?`, answer: [...set][0] as string });
  for (const [colour, set] of coloursSeen) if (set.size === 1) out.push({ kind: 'shape', question: `what shape is the ${colour} object?`, answer: [...set][0] as string });
  const kinds = [...byKind.entries()];
  for (let i = 0; i < kinds.length; i++) {
    for (let j = i + 1; j < kinds.length; j++) {
      const [ka, oa] = kinds[i] as [string, FactObject[]];
      const [kb, ob] = kinds[j] as [string, FactObject[]];
      const ca = composition(oa);
      const cb = composition(ob);
      if (Math.abs(ca.cx - cb.cx) > 0.1) out.push({ kind: 'relation', question: `is the ${ka} left of the ${kb}?`, answer: ca.cx < cb.cx ? 'yes' : 'no' });
      if (Math.abs(ca.cy - cb.cy) > 0.1) out.push({ kind: 'relation', question: `is the ${ka} above the ${kb}?`, answer: ca.cy < cb.cy ? 'yes' : 'no' });
    }
  }
  out.push({ kind: 'background', question: 'what is the background?', answer: `${facts.background.tone} ${facts.background.kind}` });
  const faults: EffectKind[] = facts.modality === 'video' ? ['blur', 'noise', 'block', 'clip', 'muted', 'clutter', 'dim', 'flicker', 'jitter', 'frozen'] : ['blur', 'noise', 'block', 'clip', 'muted', 'clutter', 'dim'];
  for (const kind of faults) out.push({ kind: 'fault', question: `is it ${effectWords[kind]}?`, answer: (facts.effects[kind] ?? 0) >= visibleSeverity ? 'yes' : 'no' });
  if (facts.modality === 'video') {
    for (const g of groups) {
      const m = motionWords(g.first.motion);
      out.push({ kind: 'motion', question: `how does the ${g.first.colour} ${g.first.shape} move?`, answer: m === '' ? 'still' : m });
    }
  }
  return out;
}

/** Grounded questions with answers about a scene (see {@link questionsForFacts}). */
export function sceneQuestions(scene: SceneInput): GroundedQuestion[] {
  return questionsForFacts(sceneFacts(sceneSchema.parse(scene)));
}

/** One prompt-conditioned check of a candidate. */
export interface RequirementCheck {
  /** A: a semantic requirement of the prompt; D: a wish of the prompt's context. */
  readonly category: 'A' | 'D';
  /** The requirement's criterion name. */
  readonly requirement: string;
  /** What is wanted, in description words. */
  readonly wanted: string;
  /** What is seen, in description words. */
  readonly seen: string;
  /** Whether it is met. */
  readonly met: boolean;
  /** Degree in [0, 1]. */
  readonly score: number;
}

/** Options of {@link checkCandidate}. */
export const checkCandidateOptionsSchema = z.object({ spec: promptSpecSchema, scene: sceneSchema });
/** Input of {@link checkCandidate}. */
export type CheckCandidateOptions = { spec: PromptSpecInput; scene: SceneInput };

/** Check facts against every requirement of the prompt (semantic ones, then the context's own). */
export function checkFacts(spec: PromptSpecInput, facts: SceneFacts): RequirementCheck[] {
  const parsed = promptSpecSchema.parse(spec);
  const score = scoreFacts({ spec: parsed, facts });
  const out: RequirementCheck[] = [];
  for (const category of score.categories) {
    if (category.id !== 'A' && category.id !== 'D') continue;
    for (const c of category.criteria) out.push({ category: category.id, requirement: c.name, wanted: c.wanted, seen: c.seen, met: c.met, score: c.score });
  }
  return out;
}

/** Prompt-conditioned checks of one candidate: for each requirement, what is wanted, what is seen, met or not. */
export function checkCandidate(options: CheckCandidateOptions): RequirementCheck[] {
  const { spec, scene } = checkCandidateOptionsSchema.parse(options);
  return checkFacts(spec, sceneFacts(scene));
}

/** Checks as one short text line: "2 red circle: seen 1 red circle, no; …". */
export function formatChecks(checks: readonly RequirementCheck[]): string {
  return checks.map((c) => `${c.wanted}: seen ${c.seen}, ${c.met ? 'yes' : 'no'}`).join('; ');
}
