import { z } from 'zod';
import { contextById, contextIds, heldOutContextIds } from './contexts';
import { Rng } from './random';
import { colours, countWords, motions, relations, shapePlurals, shapes, sizes } from './vocabulary';
import type { Colour, Motion, Relation, Shape } from './vocabulary';

/** One subject a prompt asks for: a count of objects sharing a colour and shape (and maybe size, motion). */
export const subjectSchema = z.object({
  count: z.number().int().min(1).max(3),
  colour: z.enum(colours),
  shape: z.enum(shapes),
  /** Asked-for size; when absent any size is acceptable. */
  size: z.enum(sizes).optional(),
  /** Asked-for motion (video only); when absent any motion is acceptable. */
  motion: z.enum(motions).optional(),
});
/** One subject of a prompt. */
export type Subject = z.output<typeof subjectSchema>;

/** Schema of a prompt specification: what the prompt asks for, from which its sentence is generated. */
export const promptSpecSchema = z
  .object({
    modality: z.enum(['image', 'video']),
    subjects: z.array(subjectSchema).min(1).max(2),
    /** Spatial relation of subject 1 to subject 2 ("left of": subject 1 is left of subject 2). Needs two subjects. */
    relation: z.enum(relations).optional(),
    /** Context id (see `contextDefinitions`), or null for a prompt without a cue. */
    context: z.string().nullable(),
    /** Which sentence template (0–2). Default 0. */
    variant: z.number().int().min(0).max(2).default(0),
  })
  .refine((s) => s.relation === undefined || s.subjects.length === 2, { message: 'a relation needs two subjects', path: ['relation'] })
  .refine((s) => s.context === null || contextById(s.context) !== undefined, { message: 'unknown context', path: ['context'] })
  .refine((s) => s.modality === 'video' || s.subjects.every((x) => x.motion === undefined), {
    message: 'motion only in video prompts',
    path: ['subjects'],
  });
/** A prompt specification. */
export type PromptSpec = z.output<typeof promptSpecSchema>;
/** Input type of {@link promptSpecSchema}. */
export type PromptSpecInput = z.input<typeof promptSpecSchema>;

const motionPhrase: Readonly<Record<Motion, string>> = {
  still: 'standing still',
  left: 'moving left',
  right: 'moving right',
  up: 'moving up',
  down: 'moving down',
  bounce: 'bouncing',
  orbit: 'orbiting',
};

const relationPhrase: Readonly<Record<Relation, string>> = {
  'left of': 'to the left of',
  'right of': 'to the right of',
  above: 'above',
  below: 'below',
};

function subjectPhrase(subject: Subject): string {
  const words: string[] = [subject.count === 1 ? (subject.size === undefined && /^[ao]/.test(subject.colour) ? 'an' : 'a') : (countWords[subject.count] as string)];
  if (subject.size !== undefined) words.push(subject.size);
  words.push(subject.colour, subject.count === 1 ? subject.shape : shapePlurals[subject.shape]);
  if (subject.motion !== undefined) words.push(motionPhrase[subject.motion]);
  return words.join(' ');
}

/** The natural sentence of a prompt spec (deterministic). */
export function promptText(spec: PromptSpecInput): string {
  const s = promptSpecSchema.parse(spec);
  const [first, second] = s.subjects as [Subject, Subject | undefined];
  let body = subjectPhrase(first);
  if (second !== undefined) body += s.relation !== undefined ? ` ${relationPhrase[s.relation]} ${subjectPhrase(second)}` : ` and ${subjectPhrase(second)}`;
  const context = contextById(s.context);
  const noun = s.modality === 'image' ? 'an image' : 'a video';
  let text: string;
  if (s.variant === 1) text = `${noun} of ${body}`;
  else if (s.variant === 2) text = `show ${body}`;
  else text = body;
  if (context !== undefined) text += s.variant === 1 ? ` ${context.cue}` : `, ${context.cue}`;
  return text;
}

/** One requirement of a prompt, in the shared vocabulary. */
export interface Requirement {
  /** Kind of requirement. */
  readonly kind: 'subject' | 'relation' | 'motion' | 'context';
  /** Which subject (for subject and motion requirements). */
  readonly subject?: number;
  /** What is wanted, in description words ("2 red circle", "red circle left of blue square"). */
  readonly wanted: string;
}

/** The words for a subject in the description vocabulary: "2 large red circle". */
export function subjectWords(subject: Pick<Subject, 'count' | 'colour' | 'shape' | 'size'>): string {
  return [String(subject.count), subject.size, subject.colour, subject.shape].filter((w) => w !== undefined).join(' ');
}

const relationWords: Readonly<Record<Relation, string>> = { 'left of': 'left of', 'right of': 'right of', above: 'above', below: 'below' };

/** The requirements of a prompt: subjects, the relation, motions, and the context's own wishes. */
export function promptRequirements(spec: PromptSpecInput): Requirement[] {
  const s = promptSpecSchema.parse(spec);
  const out: Requirement[] = [];
  s.subjects.forEach((subject, i) => out.push({ kind: 'subject', subject: i, wanted: subjectWords(subject) }));
  if (s.relation !== undefined) {
    const [a, b] = s.subjects as [Subject, Subject];
    out.push({ kind: 'relation', wanted: `${a.colour} ${a.shape} ${relationWords[s.relation]} ${b.colour} ${b.shape}` });
  }
  s.subjects.forEach((subject, i) => {
    if (subject.motion !== undefined) out.push({ kind: 'motion', subject: i, wanted: `${subject.colour} ${subject.shape} ${subject.motion === 'still' ? 'still' : subject.motion === 'bounce' ? 'bouncing' : subject.motion === 'orbit' ? 'orbiting' : `moving ${subject.motion}`}` });
  });
  const context = contextById(s.context);
  if (context !== undefined) out.push({ kind: 'context', wanted: `${context.short}: ${context.category.criteria.map((c) => c.wanted).join(', ')}` });
  return out;
}

/**
 * The prompt's requirements restated in the description vocabulary, as one short line — what a judge writes as
 * its `intent` ("2 red circle, 1 large blue square, red circle left of blue square, app icon: flat background, …").
 */
export function describeRequirements(spec: PromptSpecInput): string {
  return promptRequirements(spec)
    .map((r) => r.wanted)
    .join(', ');
}

/** Whether a colour–shape combination is held out of training splits (about one in seven combinations). */
export function isHeldOutCombination(colour: Colour, shape: Shape): boolean {
  return (colours.indexOf(colour) + 2 * shapes.indexOf(shape)) % 7 === 3;
}

/** Options of {@link samplePromptSpec}. */
export const samplePromptOptionsSchema = z.object({
  modality: z.enum(['image', 'video']),
  /** Seed of the draw. */
  seed: z.number().int().min(0).max(4294967295),
  /** Context ids to draw from; default: every context not held out. */
  contexts: z.array(z.string()).optional(),
  /** Probability of a prompt without a context cue. Default 0.15. */
  noContextRate: z.number().min(0).max(1).default(0.15),
  /** 'exclude' never uses held-out colour–shape combinations (training), 'include' allows them, 'only' makes every prompt use at least one. Default 'exclude'. */
  heldOutCombinations: z.enum(['exclude', 'include', 'only']).default('exclude'),
});
/** Input of {@link samplePromptSpec}. */
export type SamplePromptOptions = z.input<typeof samplePromptOptionsSchema>;

/** Draw a prompt spec from the grammar (1–2 subjects, counts 1–3, optional size, relation, motion and context). */
export function samplePromptSpec(options: SamplePromptOptions): PromptSpec {
  const o = samplePromptOptionsSchema.parse(options);
  return samplePromptSpecWith(new Rng(o.seed), o.modality, o.contexts ?? contextIds.filter((c) => !heldOutContextIds.includes(c)), o.noContextRate, o.heldOutCombinations);
}

/** Internal: draw a prompt spec from a generator (no validation of options). */
export function samplePromptSpecWith(
  rng: Rng,
  modality: 'image' | 'video',
  contexts: readonly string[],
  noContextRate: number,
  heldOut: 'exclude' | 'include' | 'only',
): PromptSpec {
  const subjectCount = rng.chance(0.6) ? 2 : 1;
  const subjects: Subject[] = [];
  const usedColours = new Set<Colour>();
  const usedShapes = new Set<Shape>();
  for (let i = 0; i < subjectCount; i++) {
    let colour: Colour;
    let shape: Shape;
    for (let attempt = 0; ; attempt++) {
      colour = rng.pick(colours);
      shape = rng.pick(shapes);
      if (usedColours.has(colour) || usedShapes.has(shape)) continue;
      const held = isHeldOutCombination(colour, shape);
      if (heldOut === 'exclude' && held) continue;
      if (heldOut === 'only' && i === 0 && !held && attempt < 200) continue;
      break;
    }
    usedColours.add(colour);
    usedShapes.add(shape);
    const count = subjectCount === 2 ? rng.weighted([1, 2, 3], [0.5, 0.35, 0.15]) : rng.weighted([1, 2, 3], [0.4, 0.4, 0.2]);
    const subject: Subject = { count, colour, shape };
    if (rng.chance(0.25)) subject.size = rng.pick(sizes);
    if (modality === 'video' && rng.chance(i === 0 ? 0.85 : 0.5)) subject.motion = rng.pick(motions.filter((m) => m !== 'still'));
    subjects.push(subject);
  }
  const relation = subjectCount === 2 && rng.chance(0.7) ? rng.pick(relations) : undefined;
  const context = contexts.length > 0 && !rng.chance(noContextRate) ? rng.pick(contexts) : null;
  const spec: PromptSpec = { modality, subjects, context, variant: rng.int(0, 2) };
  if (relation !== undefined) spec.relation = relation;
  return spec;
}
