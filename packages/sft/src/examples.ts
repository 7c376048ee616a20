import { encodeCompact, escapeCompactText, type Media, type PairwiseAssessment } from '@flex/criteria';
import type { JudgeExample } from '@flex/model';
import { type PairRecord, type Scene, describeRequirements, describeScene, sceneFacts, sceneQuestions, scoreFacts, writePointwiseAssessment } from '@flex/synth';

/**
 * Training examples built from the embedded world (@flex/synth). Every example is laid out for the evidence-first
 * sequence: the evidence lines (the description of each candidate) come first and are written before the prompt is
 * visible, so they can only come from the media.
 */

/** The description of one image as the judge writes evidence: `evidence: 2 red circle left, …\n`. */
export function descriptionExample(media: Media, scene: Scene): JudgeExample {
  return { media: [media], prompt: '', completion: `evidence: ${describeScene(scene)}\n` };
}

/** Both candidates described, as the evidence of a pairwise assessment: `evidence 1: …\nevidence 2: …\n`. */
export function pairDescriptionExample(a: Media, b: Media, sceneA: Scene, sceneB: Scene): JudgeExample {
  return { media: [a, b], prompt: '', completion: `evidence 1: ${describeScene(sceneA)}\nevidence 2: ${describeScene(sceneB)}\n` };
}

/**
 * Grounded questions about one image (counts, colours, shapes, positions, relations, background, faults): the
 * evidence first, then the question (the prompt), then the answer in the description vocabulary.
 */
export function questionExamples(media: Media, scene: Scene, options: { limit?: number; offset?: number } = {}): JudgeExample[] {
  const evidence = `evidence: ${describeScene(scene)}\n`;
  const all = sceneQuestions(scene);
  const offset = all.length === 0 ? 0 : (options.offset ?? 0) % all.length;
  const rotated = [...all.slice(offset), ...all.slice(0, offset)];
  return rotated.slice(0, options.limit ?? rotated.length).map((q) => ({ media: [media], prompt: q.question, completion: `${evidence}${q.answer}\n` }));
}

/**
 * A prompt-conditioned check of one candidate (the pointwise mode): the exact facts of the scene scored against the
 * prompt's requirements, written as a compact pointwise assessment (intent, evidence, criteria, scores).
 */
export function checkExample(record: Pick<PairRecord, 'spec' | 'prompt'>, media: Media, scene: Scene): JudgeExample {
  const facts = sceneFacts(scene);
  const score = scoreFacts({ spec: record.spec, facts });
  const assessment = writePointwiseAssessment({ spec: record.spec, prompt: record.prompt, facts, score });
  return { media: [media], prompt: record.prompt, completion: encodeCompact(assessment) };
}

/**
 * The first step of a check alone: the candidate's evidence (written before the prompt is visible), then the prompt's
 * intent restated as requirements — an open example (no `<eos>` trained), so it teaches the model to copy the
 * prompt's requirements in the description vocabulary without teaching it to stop after them. Short (~100 tokens),
 * so the intent step gets many more examples than full checks can give it.
 */
export function intentExample(record: Pick<PairRecord, 'spec' | 'prompt'>, media: Media, scene: Scene): JudgeExample {
  return { media: [media], prompt: record.prompt, completion: `${intentLine(record)}\nevidence: ${describeScene(scene)}\n`, open: true };
}

/** The intent step with both candidates' evidence first (the start of a pairwise trace, no verdict): open. */
export function pairIntentExample(record: Pick<PairRecord, 'spec' | 'prompt'>, a: Media, b: Media, sceneA: Scene, sceneB: Scene): JudgeExample {
  return { media: [a, b], prompt: record.prompt, completion: `${intentLine(record)}\nevidence 1: ${describeScene(sceneA)}\nevidence 2: ${describeScene(sceneB)}\n`, open: true };
}

/** The `intent:` line a check or trace of this prompt writes (the prompt's requirements, compact-encoded). */
function intentLine(record: Pick<PairRecord, 'spec'>): string {
  return `intent: ${escapeCompactText(describeRequirements(record.spec))}`;
}

/** A pairwise trace as an SFT example. */
export function traceExample(prompt: string, a: Media, b: Media, assessment: PairwiseAssessment | string): JudgeExample {
  return { media: [a, b], prompt, completion: typeof assessment === 'string' ? assessment : encodeCompact(assessment) };
}

/** The opening lines of a compact trace — its `intent:` and `evidence` lines — in their order. */
export function traceOpening(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('intent: ') || l.startsWith('evidence '));
}

/** The categories of a compact pairwise trace in order, each as its lines: header, criteria, verdict. */
function traceCategories(lines: readonly string[]): string[][] {
  const categories: string[][] = [];
  let current: string[] = [];
  for (const line of lines) {
    if (line.startsWith('category ')) current = [line];
    else if (current.length > 0) current.push(line);
    if (line.startsWith('verdict ') && current.length > 0) {
      categories.push(current);
      current = [];
    }
  }
  return categories;
}

/** Blocks of text as text-only, open examples (no media, prompt or `<eos>`). */
export function openTextExamples(blocks: readonly string[]): JudgeExample[] {
  return blocks.map((completion) => ({ media: [], prompt: '', completion, open: true }));
}

/**
 * The aggregation steps of a compact pairwise trace, each as its own short text: first the overall step (the intent,
 * every category header and verdict, the overall line), then one block per category (its header, criteria and
 * verdict). With `withEvidence`, each category block starts with the trace's intent and evidence lines, so its
 * criteria columns are lookups in them. Trained alone (text only), these blocks teach the decisions a judge fails to
 * learn inside 500-token traces (docs/sft.md, session 3).
 */
export function aggregationBlocks(text: string, options: { withEvidence?: boolean } = {}): string[] {
  const lines = text.split('\n').filter((l) => l !== '');
  const context = options.withEvidence ? traceOpening(text) : [];
  const categories = traceCategories(lines).map((category) => `${[...context, ...category].join('\n')}\n`);
  const intent = lines.find((l) => l.startsWith('intent: '));
  const overall = lines.find((l) => l.startsWith('overall: '));
  const heads = lines.filter((l) => l.startsWith('verdict ') || l.startsWith('category '));
  return [...(overall ? [`${[...(intent ? [intent] : []), ...heads, overall].join('\n')}\n`] : []), ...categories];
}

/** The first `limit` (default all) of {@link aggregationBlocks} as text-only, open examples. */
export function aggregationExamples(text: string, options: { withEvidence?: boolean; limit?: number } = {}): JudgeExample[] {
  return openTextExamples(aggregationBlocks(text, options).slice(0, options.limit));
}

/**
 * Lookup blocks of a compact pairwise trace: for each category in which a candidate falls short of a requirement (a
 * criterion column carrying `, wanted …`), its intent and evidence lines, then (with `preceding`, the default) the
 * categories before it — their headers, criteria and verdicts, so the evidence is as far from the criteria as in a
 * full trace — then the category header and all its criterion lines, no verdict. They teach the step the judge failed
 * to learn inside full traces: reading from a candidate's evidence line whether a flaw is there, instead of restating
 * the requirement (docs/sft.md, session 4: without the preceding categories the skill stays in the blocks). Train
 * them with the SFT config's `shortfallWeight`.
 */
export function lookupBlocks(text: string, options: { preceding?: boolean } = {}): string[] {
  const context = traceOpening(text);
  const categories = traceCategories(text.split('\n').filter((l) => l !== ''));
  return categories.flatMap((category, c) => {
    const criteria = category.slice(1, -1);
    if (!criteria.some((l) => l.includes(', wanted '))) return [];
    const earlier = options.preceding === false ? [] : categories.slice(0, c).flat();
    return [`${[...context, ...earlier, category[0] as string, ...criteria].join('\n')}\n`];
  });
}

/** One group of a description: "2 large red circle top left". */
export interface DescribedGroup {
  readonly count: number;
  readonly size: string;
  readonly colour: string;
  readonly shape: string;
  readonly position: string;
}

const groupPattern = /^(\d+) (?:(small|large) )?([a-z]+) ([a-z]+) ((?:top |bottom )?(?:left|right)|top|bottom|center)(?: .*)?$/;

/** Reads the object groups of a description (`describeScene`'s vocabulary); unreadable parts are skipped. */
export function parseDescription(text: string): { groups: DescribedGroup[]; background?: string } {
  const groups: DescribedGroup[] = [];
  let background: string | undefined;
  for (const part of text.split(', ')) {
    const p = part.trim();
    const match = groupPattern.exec(p);
    if (match) {
      groups.push({ count: Number(match[1]), size: match[2] ?? 'medium', colour: match[3] as string, shape: match[4] as string, position: match[5] as string });
    } else if (p.endsWith(' background')) background = p.slice(0, -' background'.length);
  }
  return background === undefined ? { groups } : { groups, background };
}

/** Per-attribute agreement between written and true descriptions. */
export interface CaptionAccuracy {
  /** Share of true object groups whose aligned written group has the right count. */
  readonly count: number;
  readonly colour: number;
  readonly shape: number;
  readonly position: number;
  readonly size: number;
  /** Share of images whose background is right. */
  readonly background: number;
  /** Share of images described exactly (the whole text). */
  readonly exact: number;
  /** Share of images with the right number of groups. */
  readonly groups: number;
  /** Images compared. */
  readonly images: number;
}

/**
 * Compares written descriptions with the true ones, attribute by attribute. Groups are aligned in their canonical
 * left-to-right order; a missing or extra group counts as wrong on every attribute of the true group.
 */
export function compareDescriptions(pairs: readonly { written: string; truth: string }[]): CaptionAccuracy {
  const sums = { count: 0, colour: 0, shape: 0, position: 0, size: 0, background: 0, exact: 0, groups: 0 };
  let total = 0;
  for (const { written, truth } of pairs) {
    const w = parseDescription(written);
    const t = parseDescription(truth);
    if (written.trim() === truth.trim()) sums.exact++;
    if (w.background === t.background) sums.background++;
    if (w.groups.length === t.groups.length) sums.groups++;
    t.groups.forEach((g, i) => {
      total++;
      const o = w.groups[i];
      if (!o) return;
      if (o.count === g.count) sums.count++;
      if (o.colour === g.colour) sums.colour++;
      if (o.shape === g.shape) sums.shape++;
      if (o.position === g.position) sums.position++;
      if (o.size === g.size) sums.size++;
    });
  }
  const n = Math.max(1, pairs.length);
  const g = Math.max(1, total);
  return {
    count: sums.count / g,
    colour: sums.colour / g,
    shape: sums.shape / g,
    position: sums.position / g,
    size: sums.size / g,
    background: sums.background / n,
    exact: sums.exact / n,
    groups: sums.groups / n,
    images: pairs.length,
  };
}
