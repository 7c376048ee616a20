import { z } from 'zod';
import { type PredefinedCategoryId, categoryName } from './categories';
import { CriteriaError, parseOptionsOrThrow } from './errors';
import { evenlySpacedFrameIndices } from './media';
import type { Modality } from './media';

/**
 * Prompt templates for external judges (any OpenAI-compatible vision model): pairwise and pointwise, image and
 * video, following the structure of the published Flex judge (REFERENCE.md §1). Media are caller-supplied URL
 * or data-URL strings, so this module encodes no images and calls no HTTP client.
 */

/** What each predefined category covers, as told to the judge. */
export const categoryDescriptions: Readonly<Record<Modality, Readonly<Record<PredefinedCategoryId, string>>>> = {
  image: {
    A: 'does the image show what the prompt asks for: the subjects, their attributes (colour, shape, size), counts, positions and relations, and any text',
    B: 'technical quality: sharpness, noise, blur, compression blocks, clipped colours, distorted or implausible structures',
    C: 'composition, balance, colour harmony, lighting, style and overall visual appeal, judged against what the prompt asks for',
  },
  video: {
    A: 'does the video show what the prompt asks for: the subjects, their attributes, counts, positions, relations, and the actions and motion described',
    B: 'per-frame quality (sharpness, noise, artifacts) and temporal quality: smooth, physically plausible motion, no flicker, jitter, frozen frames or objects changing identity',
    C: 'how the video unfolds as a whole: narrative, composition, camera work, lighting, style and visual appeal',
  },
};

/** Options of {@link renderJudgeTemplate}. */
export const judgeTemplateOptionsSchema = z.object({
  /** 'pairwise' (two candidates) or 'pointwise' (one). */
  mode: z.enum(['pairwise', 'pointwise']),
  /** 'image' or 'video'. */
  modality: z.enum(['image', 'video']),
  /** The generation prompt the candidates were made from. */
  prompt: z.string(),
  /**
   * The candidates, in order (two for pairwise, one for pointwise): for images one URL or data URL each; for
   * videos a list of frame URLs each (more than `framesPerVideo` are subsampled evenly). Omit to get the text
   * only (`messages` then carries no media parts).
   */
  media: z.array(z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).optional(),
  /** Frames shown per video. Default 8 (as the published judge). */
  framesPerVideo: z.number().int().min(1).max(64).default(8),
  /** 'json' (default): the published JSON object; 'compact': the compact line format (docs/compact-codec.md). */
  format: z.enum(['json', 'compact']).default('json'),
  /** Ask for the optional `intent` and `evidence` fields (restated requirements, what is seen). Default true. */
  extensions: z.boolean().default(true),
  /** OpenAI image `detail` for every image part; omitted by default. */
  imageDetail: z.enum(['auto', 'low', 'high']).optional(),
});
/** Input type of {@link judgeTemplateOptionsSchema}. */
export type JudgeTemplateOptions = z.input<typeof judgeTemplateOptionsSchema>;

/** One part of an OpenAI-style chat message. */
export type ChatContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string; readonly detail?: 'auto' | 'low' | 'high' } };

/** An OpenAI-style chat message. */
export type ChatMessage =
  | { readonly role: 'system'; readonly content: string }
  | { readonly role: 'user'; readonly content: readonly ChatContentPart[] };

/** A rendered judge prompt: the two texts, and the chat messages with the media first in the user message. */
export interface JudgeTemplate {
  /** The system message text (the judge's identity and the output rule). */
  readonly system: string;
  /** The user message text (task, categories, rules, output form). */
  readonly user: string;
  /** `[system, user]`; the user content lists the image parts first, then the text. */
  readonly messages: readonly ChatMessage[];
}

const quote = (text: string) => JSON.stringify(text);

/**
 * Renders the judge prompt for one request.
 * @param options See {@link judgeTemplateOptionsSchema}.
 * @throws CriteriaError `invalid_options` when the options are malformed or the media do not fit the mode and
 *   modality (two candidates for pairwise, one for pointwise; strings for images, frame lists for videos).
 */
export function renderJudgeTemplate(options: JudgeTemplateOptions): JudgeTemplate {
  const o = parseOptionsOrThrow(judgeTemplateOptionsSchema, options, 'template options');
  const pairwise = o.mode === 'pairwise';
  const count = pairwise ? 2 : 1;
  const urls: string[][] = [];
  if (o.media !== undefined) {
    if (o.media.length !== count) throw new CriteriaError('invalid_options', `${o.mode} needs ${count} candidate(s), got ${o.media.length}`);
    for (const item of o.media) {
      if (o.modality === 'image') {
        if (typeof item !== 'string') throw new CriteriaError('invalid_options', 'an image candidate must be one URL string');
        urls.push([item]);
      } else {
        if (typeof item === 'string') throw new CriteriaError('invalid_options', 'a video candidate must be a list of frame URLs');
        urls.push(evenlySpacedFrameIndices(item.length, o.framesPerVideo).map((k) => item[k] as string));
      }
    }
  }
  const system = systemText(o.mode, o.modality, o.format);
  const user = userText(o, urls);
  const parts: ChatContentPart[] = urls.flat().map((url) => ({ type: 'image_url', image_url: { url, ...(o.imageDetail !== undefined ? { detail: o.imageDetail } : {}) } }));
  parts.push({ type: 'text', text: user });
  return { system, user, messages: [{ role: 'system', content: system }, { role: 'user', content: parts }] };
}

function systemText(mode: 'pairwise' | 'pointwise', modality: Modality, format: 'json' | 'compact'): string {
  const things = modality === 'image' ? 'images' : 'videos';
  const seen = mode === 'pairwise' ? things : modality;
  const task =
    mode === 'pairwise'
      ? `Given a text prompt and two ${things} generated from it, you decide which one is better.`
      : `Given a text prompt and one ${modality} generated from it, you score how good it is.`;
  const output = format === 'json' ? 'You answer with exactly one JSON object and nothing else.' : 'You answer in the line format you are given and nothing else.';
  return [
    `You are Flex, a meticulous expert judge of AI-generated ${things}. ${task}`,
    `You first work out what the prompt intends, then look for visual evidence in ${mode === 'pairwise' ? 'each candidate' : 'the candidate'}, then build a hierarchical assessment: mandatory categories, a category of your own when the prompt calls for one, and criteria specific to this prompt under each category.`,
    `Every reason you give is grounded in what is visible in the ${seen}, never in what the prompt asks for alone.`,
    output,
  ].join('\n');
}

function userText(o: z.output<typeof judgeTemplateOptionsSchema>, urls: string[][]): string {
  const pairwise = o.mode === 'pairwise';
  const video = o.modality === 'video';
  const Thing = video ? 'Video' : 'Image';
  const thing = video ? 'video' : 'image';
  const lines: string[] = [];

  // How the media above map to candidates.
  if (urls.length > 0) {
    if (video) {
      const n = urls[0]?.length ?? o.framesPerVideo;
      lines.push(
        pairwise
          ? `The images above are frames of two videos generated from the same prompt: the first ${n} are ${n} evenly spaced frames of "Video 1", in order; the next ${urls[1]?.length ?? n} are frames of "Video 2", in order.`
          : `The ${n} images above are evenly spaced frames of one video generated from the prompt, in order.`,
      );
    } else {
      lines.push(pairwise ? 'The two images above were generated from the same prompt: the first is "Image 1", the second is "Image 2".' : 'The image above was generated from the prompt.');
    }
  } else {
    lines.push(
      pairwise
        ? `You are shown two ${thing}s generated from the same prompt, "${Thing} 1" first and "${Thing} 2" second${video ? `, each as ${o.framesPerVideo} evenly spaced frames in order` : ''}.`
        : `You are shown one ${thing} generated from the prompt${video ? `, as ${o.framesPerVideo} evenly spaced frames in order` : ''}.`,
    );
  }
  lines.push(`Prompt: ${quote(o.prompt)}`, '');
  lines.push(`Assess ${pairwise ? `the two ${thing}s` : `the ${thing}`} hierarchically:`);
  let step = 1;
  const jsonFormat = o.format === 'json';
  const field = (json: string, compact: string) => (jsonFormat ? `"${json}"` : compact);
  if (o.extensions) {
    lines.push(`${step++}. Intent: restate what the prompt requires (subjects, attributes, counts, relations${video ? ', actions and motion' : ''}, style, mood) in ${field('intent', 'the `intent:` line')}.`);
    lines.push(
      pairwise
        ? `${step++}. Evidence: describe what you actually see in each ${thing}, only what is visible, in ${field('evidence', 'the `evidence 1:` and `evidence 2:` lines')}${jsonFormat ? ` (two strings, ${Thing} 1 first)` : ''}.`
        : `${step++}. Evidence: describe what you actually see in the ${thing}, only what is visible, in ${field('evidence', 'the `evidence:` line')}${jsonFormat ? ' (a list with one string)' : ''}.`,
    );
  }
  lines.push(`${step++}. Categories: always assess these mandatory categories, in this order, with exactly these names:`);
  for (const id of ['A', 'B', 'C'] as const) lines.push(`   ${id}. ${quote(categoryName(o.modality, id))}: ${categoryDescriptions[o.modality][id]}.`);
  lines.push(
    `   If the prompt has important traits these three do not cover (for example a mood, a story, or the physics of motion), add one category of your own (D) with a short name you choose, and say in its ${field('cat_reason', 'verdict')} why you added it. Otherwise add none.`,
  );
  lines.push(`${step++}. Criteria: under each category, define 3 to 5 criteria specific to this prompt (for example "Count of red circles", not "Accuracy"). For each criterion:`);
  if (pairwise) {
    lines.push(`   - ${jsonFormat ? '"reason_1" and "reason_2"' : 'a reason for each'}: the concrete visual evidence in ${Thing} 1 and in ${Thing} 2;`);
    lines.push(
      `   - ${jsonFormat ? '"score_1" and "score_2"' : 'the score of ' + Thing + ' 1'}: split exactly 10 points between the two (integers from 0 to 10, ${jsonFormat ? 'score_1 + score_2 = 10' : `${Thing} 2 gets 10 minus it`}); give 5 and 5 only when they are truly equal on that criterion.`,
    );
    lines.push(`${step++}. For each category give ${field('cat_reason', 'a reason')} (the comparison, grounded in its criteria) and ${field('cat_winner', 'the winner (1 or 2)')}${jsonFormat ? ` ("${Thing} 1" or "${Thing} 2")` : ''}, consistent with its scores.`);
    lines.push(`${step++}. Finally give the overall ${field('reason', 'reason')}, weighing the categories as this prompt calls for, and the overall ${field('winner', 'winner')}${jsonFormat ? ` ("${Thing} 1" or "${Thing} 2")` : ' (1 or 2)'}.`);
  } else {
    lines.push(`   - ${field('reason', 'a reason')}: the concrete visual evidence in the ${thing};`);
    lines.push(`   - ${field('score', 'a score')}: an integer from 0 (fails the criterion completely) to 10 (meets it perfectly).`);
    lines.push(`${step++}. For each category give ${field('cat_reason', 'a reason')} and ${field('cat_score', 'a category score')}: a number from 0 to 10 (at most one decimal), consistent with its criteria.`);
    lines.push(`${step++}. Finally give the overall ${field('reason', 'reason')}, weighing the categories as this prompt calls for, and the overall ${field('score', 'score')} from 0 to 10 (at most one decimal).`);
  }
  lines.push('', `Base every reason on evidence you can see in the ${thing}${pairwise ? `s. Do not let the order in which the ${thing}s are shown influence you.` : '.'}`, '');
  lines.push(jsonFormat ? 'Output exactly one JSON object, with no text before or after it, in this form:' : 'Output the assessment in exactly this line format and nothing else (one line per item; write a literal | inside text as \\|; a newline as \\n):');
  lines.push(jsonFormat ? jsonShape(o) : compactShape(o));
  lines.push(
    jsonFormat
      ? '"categories" holds one object per category (A, B, C in order, then D if you added one), each with its 3 to 5 criteria in "dims".'
      : 'Write one category block per category (A, B, C in order, then D if you added one), each with its 3 to 5 criterion lines before its verdict line.',
  );
  return lines.join('\n');
}

function jsonShape(o: z.output<typeof judgeTemplateOptionsSchema>): string {
  const Thing = o.modality === 'video' ? 'Video' : 'Image';
  const name = categoryName(o.modality, 'A');
  const pairwise = o.mode === 'pairwise';
  const lines = ['{', `  "prompt": ${quote(o.prompt)},`];
  if (o.extensions) {
    lines.push('  "intent": "<what the prompt requires>",');
    lines.push(pairwise ? `  "evidence": ["<what ${Thing} 1 shows>", "<what ${Thing} 2 shows>"],` : `  "evidence": ["<what the ${Thing.toLowerCase()} shows>"],`);
  }
  lines.push('  "categories": [', '    {', `      "name": ${quote(name)},`, '      "dims": [');
  lines.push(
    pairwise
      ? `        { "name": "<prompt-specific criterion>", "reason_1": "<evidence in ${Thing} 1>", "reason_2": "<evidence in ${Thing} 2>", "score_1": <integer 0-10>, "score_2": <10 - score_1> }`
      : `        { "name": "<prompt-specific criterion>", "reason": "<evidence>", "score": <integer 0-10> }`,
  );
  lines.push('      ],', pairwise ? '      "cat_reason": "<comparison for this category>",' : '      "cat_reason": "<assessment for this category>",');
  lines.push(pairwise ? `      "cat_winner": "<${Thing} 1 or ${Thing} 2>"` : '      "cat_score": <number 0-10>');
  lines.push('    }', '  ],', pairwise ? '  "reason": "<overall comparison>",' : '  "reason": "<overall assessment>",');
  lines.push(pairwise ? `  "winner": "<${Thing} 1 or ${Thing} 2>"` : '  "score": <number 0-10>');
  lines.push('}');
  return lines.join('\n');
}

function compactShape(o: z.output<typeof judgeTemplateOptionsSchema>): string {
  const pairwise = o.mode === 'pairwise';
  const lines: string[] = [];
  if (o.extensions) {
    lines.push('intent: <what the prompt requires>');
    if (pairwise) lines.push('evidence 1: <what the first shows>', 'evidence 2: <what the second shows>');
    else lines.push('evidence: <what it shows>');
  }
  lines.push(`category A: ${categoryName(o.modality, 'A')}`);
  lines.push(pairwise ? 'criterion: <criterion> | <evidence in 1> | <evidence in 2> | <score of 1, 0-10>' : 'criterion: <criterion> | <evidence> | <score 0-10>');
  lines.push(pairwise ? 'verdict A: <comparison> | <1 or 2>' : 'verdict A: <reason> | <score 0-10>');
  lines.push(`category B: ${categoryName(o.modality, 'B')}`, '…', `category C: ${categoryName(o.modality, 'C')}`, '…');
  lines.push(pairwise ? 'overall: <overall comparison> | <1 or 2>' : 'overall: <overall reason> | <score 0-10>');
  return lines.join('\n');
}
