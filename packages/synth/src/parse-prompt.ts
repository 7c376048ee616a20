import { z } from 'zod';
import { contextDefinitions } from './contexts';
import { promptSpecSchema } from './prompt';
import type { PromptSpec, Subject } from './prompt';
import { colours, countWords, shapePlurals, shapes, sizes } from './vocabulary';
import type { Colour, Motion, Relation, Shape, Size } from './vocabulary';

/** Options of {@link parsePrompt}. */
export const parsePromptOptionsSchema = z.object({
  /** A prompt sentence written by {@link promptText}. */
  text: z.string(),
  /** The modality when the sentence does not say ("a video of …" does). Default 'image'. */
  modality: z.enum(['image', 'video']).default('image'),
});
/** Input of {@link parsePrompt}. */
export type ParsePromptOptions = z.input<typeof parsePromptOptionsSchema>;

/** Why a prompt could not be read. */
export interface ParsePromptError {
  readonly code: 'unknown_prompt';
  readonly message: string;
}

const motionPhrases: readonly [string, Motion][] = [
  ['standing still', 'still'],
  ['moving left', 'left'],
  ['moving right', 'right'],
  ['moving up', 'up'],
  ['moving down', 'down'],
  ['bouncing', 'bounce'],
  ['orbiting', 'orbit'],
];
const relationPhrases: readonly [string, Relation][] = [
  [' to the left of ', 'left of'],
  [' to the right of ', 'right of'],
  [' above ', 'above'],
  [' below ', 'below'],
];

function parseSubject(text: string): Subject | undefined {
  let rest = text.trim();
  let motion: Motion | undefined;
  for (const [phrase, value] of motionPhrases) {
    if (rest.endsWith(` ${phrase}`)) {
      motion = value;
      rest = rest.slice(0, -phrase.length - 1);
      break;
    }
  }
  const words = rest.split(' ');
  const countWord = words.shift();
  const count = countWord === 'a' || countWord === 'an' ? 1 : countWords.indexOf(countWord as (typeof countWords)[number]);
  if (count < 1 || count > 3) return undefined;
  let size: Size | undefined;
  if ((sizes as readonly string[]).includes(words[0] ?? '')) size = words.shift() as Size;
  const colour = words.shift();
  const noun = words.shift();
  if (words.length > 0 || !(colours as readonly string[]).includes(colour ?? '')) return undefined;
  const shape = shapes.find((s) => (count === 1 ? s === noun : shapePlurals[s] === noun)) as Shape | undefined;
  if (shape === undefined) return undefined;
  const subject: Subject = { count, colour: colour as Colour, shape };
  if (size !== undefined) subject.size = size;
  if (motion !== undefined) subject.motion = motion;
  return subject;
}

/**
 * Read a world prompt sentence back into its spec (the inverse of `promptText`), so a judge request that carries only
 * the prompt text can still be scored by the oracle. Fails as a value for sentences outside the grammar.
 */
export function parsePrompt(options: ParsePromptOptions): { ok: true; value: PromptSpec } | { ok: false; error: ParsePromptError } {
  const o = parsePromptOptionsSchema.parse(options);
  const fail = (message: string) => ({ ok: false as const, error: { code: 'unknown_prompt' as const, message } });
  let text = o.text.trim().replace(/\s+/g, ' ');
  let modality = o.modality;
  let variant = 0;
  if (text.startsWith('an image of ')) {
    variant = 1;
    modality = 'image';
    text = text.slice('an image of '.length);
  } else if (text.startsWith('a video of ')) {
    variant = 1;
    modality = 'video';
    text = text.slice('a video of '.length);
  } else if (text.startsWith('show ')) {
    variant = 2;
    text = text.slice('show '.length);
  }
  let context: string | null = null;
  for (const c of contextDefinitions) {
    const suffix = variant === 1 ? ` ${c.cue}` : `, ${c.cue}`;
    if (text.endsWith(suffix)) {
      context = c.id;
      text = text.slice(0, -suffix.length);
      break;
    }
  }
  let relation: Relation | undefined;
  let parts = [text];
  for (const [phrase, value] of relationPhrases) {
    const at = text.indexOf(phrase);
    if (at > 0) {
      relation = value;
      parts = [text.slice(0, at), text.slice(at + phrase.length)];
      break;
    }
  }
  if (relation === undefined) {
    const at = text.indexOf(' and ');
    if (at > 0) parts = [text.slice(0, at), text.slice(at + ' and '.length)];
  }
  const subjects = parts.map(parseSubject);
  if (subjects.some((s) => s === undefined)) return fail(`not a world prompt: "${o.text}"`);
  if (subjects.some((s) => s?.motion !== undefined)) modality = 'video';
  const parsed = promptSpecSchema.safeParse({ modality, subjects, context, variant, ...(relation !== undefined ? { relation } : {}) });
  if (!parsed.success) return fail(`not a world prompt: ${parsed.error.issues[0]?.message ?? ''}`);
  return { ok: true, value: parsed.data };
}
