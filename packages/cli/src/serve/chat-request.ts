import { z } from 'zod';
import { renderJudgeTemplate, type JudgeRequest, type Modality, type PointwiseRequest, type RgbImage, type Video } from '@flex/criteria';
import { badRequest, type ServeHttpError } from './http-error';
import { decodePngDataUrl } from './png-data-url';

/**
 * Reading one `POST /v1/chat/completions` body as a Flex judge call. The server accepts exactly the layout the
 * remote judge of @flex/model sends (docs/remote-judge.md): a system message and a user message whose content is
 * the candidates' images as PNG data URLs (candidate 1's frames, then candidate 2's) followed by one text part,
 * both texts rendered by `renderJudgeTemplate` of @flex/criteria. The mode, modality, output format and prompt are
 * recovered by rendering the criteria templates again and comparing them with what was received, so the server
 * never re-implements the template wording and any drift between the two sides is a clear 400.
 */

/** Limits on one request's media. */
export interface ChatRequestLimits {
  /** Most pixels per image (width × height). */
  readonly maxImagePixels: number;
  /** Most images (frames) per candidate; at most 64, the templates' own limit. */
  readonly maxFramesPerCandidate: number;
  /** Frame rate given to decoded videos (the wire carries frames only). */
  readonly videoFps: number;
}

/** The top-level fields of a chat completion request that the server reads (unknown fields are ignored). */
export const chatCompletionRequestSchema = z.looseObject({
  /** Must name the served model. */
  model: z.string().min(1, 'must be a non-empty string'),
  /** `[system, user]`, as the criteria templates render them. */
  messages: z.array(z.unknown()).min(1, 'must hold the system and user messages'),
  /** Streaming is not supported; `true` is a 400. */
  stream: z.boolean().nullish(),
  /** Only one choice per request; more is a 400. */
  n: z.number().int().nullish(),
  /** Accepted and ignored: the served judge decodes with its own settings (greedy for `flex serve`). */
  temperature: z.number().nullish(),
  /** Accepted and ignored (the served judge has its own token budget). */
  max_tokens: z.number().int().nullish(),
  /** Accepted and ignored. */
  max_completion_tokens: z.number().int().nullish(),
});
/** Input type of {@link chatCompletionRequestSchema}. */
export type ChatCompletionRequestBody = z.input<typeof chatCompletionRequestSchema>;

/** A request recognised as a Flex judge call. */
export type JudgeCall =
  | { readonly mode: 'pairwise'; readonly format: 'json' | 'compact'; readonly request: JudgeRequest }
  | { readonly mode: 'pointwise'; readonly format: 'json' | 'compact'; readonly request: PointwiseRequest };

/** Result of {@link readJudgeCall}. */
export type ReadJudgeCallResult = { readonly ok: true; readonly call: JudgeCall; readonly model: string } | { readonly ok: false; readonly error: ServeHttpError };

type Mode = 'pairwise' | 'pointwise';
type Format = 'json' | 'compact';
interface TemplateKind {
  readonly mode: Mode;
  readonly modality: Modality;
  readonly format: Format;
}

let systemTexts: Map<string, TemplateKind> | undefined;

// The system text depends on mode, modality and format only: eight texts, rendered once.
function templateKindOf(system: string): TemplateKind | undefined {
  if (systemTexts === undefined) {
    systemTexts = new Map();
    for (const mode of ['pairwise', 'pointwise'] as const) {
      for (const modality of ['image', 'video'] as const) {
        for (const format of ['json', 'compact'] as const) {
          systemTexts.set(renderJudgeTemplate({ mode, modality, format, prompt: '' }).system, { mode, modality, format });
        }
      }
    }
  }
  return systemTexts.get(system);
}

// Diagnostic only (acceptance is by exact re-rendering): how many frames the pairwise video text announces.
const announcedFrames = /the first (\d+) are \d+ evenly spaced frames of "Video 1", in order; the next (\d+) are frames of "Video 2"/;

type PartsResult = { ok: true; system: string; text: string; urls: { url: string; param: string }[] } | { ok: false; error: ServeHttpError };

function readMessages(messages: readonly unknown[]): PartsResult {
  if (messages.length !== 2) {
    return { ok: false, error: badRequest('invalid_messages', `messages must be [system, user] (the @flex/criteria judge template), got ${messages.length} message(s)`, 'messages') };
  }
  const [systemMessage, userMessage] = messages as [unknown, unknown];
  if (!isRecord(systemMessage) || (systemMessage['role'] !== 'system' && systemMessage['role'] !== 'developer')) {
    return { ok: false, error: badRequest('invalid_messages', 'messages[0] must be the system message of the judge template', 'messages[0]') };
  }
  const system = textContent(systemMessage['content']);
  if (system === undefined) {
    return { ok: false, error: badRequest('invalid_messages', 'messages[0].content must be a string (or text parts)', 'messages[0].content') };
  }
  if (!isRecord(userMessage) || userMessage['role'] !== 'user') {
    return { ok: false, error: badRequest('invalid_messages', 'messages[1] must be the user message holding the images and the template text', 'messages[1]') };
  }
  const content = userMessage['content'];
  if (!Array.isArray(content)) {
    return { ok: false, error: badRequest('invalid_content_part', 'messages[1].content must be a list of parts: the images (image_url), then one text part', 'messages[1].content') };
  }
  const urls: { url: string; param: string }[] = [];
  let text: string | undefined;
  for (let i = 0; i < content.length; i++) {
    const part: unknown = content[i];
    const param = `messages[1].content[${i}]`;
    if (!isRecord(part)) return { ok: false, error: badRequest('invalid_content_part', `${param} is not a content part object`, param) };
    if (text !== undefined) {
      return { ok: false, error: badRequest('invalid_content_part', `${param}: the text part must be the last part (images first, then one text part)`, param) };
    }
    if (part['type'] === 'image_url') {
      const image = part['image_url'];
      const url = isRecord(image) ? image['url'] : undefined;
      if (typeof url !== 'string') return { ok: false, error: badRequest('invalid_content_part', `${param}.image_url.url must be a string`, `${param}.image_url.url`) };
      urls.push({ url, param });
    } else if (part['type'] === 'text') {
      if (typeof part['text'] !== 'string') return { ok: false, error: badRequest('invalid_content_part', `${param}.text must be a string`, `${param}.text`) };
      text = part['text'];
    } else {
      return {
        ok: false,
        error: badRequest('invalid_content_part', `${param}: part type ${JSON.stringify(part['type'])} is not accepted (only image_url with a PNG data URL, and text)`, `${param}.type`),
      };
    }
  }
  if (text === undefined || text.trim() === '') {
    return { ok: false, error: badRequest('missing_text', 'messages[1].content has no text part: the judge template text must follow the images', 'messages[1].content') };
  }
  if (urls.length === 0) return { ok: false, error: badRequest('invalid_content_part', 'messages[1].content has no image_url parts: nothing to judge', 'messages[1].content') };
  return { ok: true, system, text, urls };
}

function textContent(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  let text = '';
  for (const part of content) {
    if (!isRecord(part) || part['type'] !== 'text' || typeof part['text'] !== 'string') return undefined;
    text += part['text'];
  }
  return text;
}

function readPrompt(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('Prompt: ')) continue;
    try {
      const value: unknown = JSON.parse(line.slice('Prompt: '.length));
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Frames per candidate, from the kind of template and the number of images (or a 400). */
function splitFrames(kind: TemplateKind, text: string, total: number, limits: ChatRequestLimits): { ok: true; counts: number[] } | { ok: false; error: ServeHttpError } {
  const label = `a ${kind.mode} ${kind.modality} request`;
  if (kind.modality === 'image') {
    const expected = kind.mode === 'pairwise' ? 2 : 1;
    if (total !== expected) return { ok: false, error: badRequest('frame_count_mismatch', `${label} needs exactly ${expected} image(s), got ${total}`, 'messages[1].content') };
    return { ok: true, counts: Array<number>(expected).fill(1) };
  }
  let counts: number[];
  if (kind.mode === 'pointwise') counts = [total];
  else {
    const announced = announcedFrames.exec(text);
    if (announced) {
      const first = Number(announced[1]);
      const second = Number(announced[2]);
      if (first + second !== total) {
        return {
          ok: false,
          error: badRequest('frame_count_mismatch', `the text announces ${first} frames of Video 1 and ${second} of Video 2 (${first + second}), but the message has ${total} images`, 'messages[1].content'),
        };
      }
      counts = [first, second];
    } else {
      if (total % 2 !== 0) return { ok: false, error: badRequest('frame_count_mismatch', `${label} with ${total} images cannot be split into two videos`, 'messages[1].content') };
      counts = [total / 2, total / 2];
    }
  }
  const most = Math.max(...counts);
  if (Math.min(...counts) < 1) return { ok: false, error: badRequest('frame_count_mismatch', `every video needs at least one frame`, 'messages[1].content') };
  if (most > limits.maxFramesPerCandidate) {
    return { ok: false, error: badRequest('frame_count_mismatch', `a video may have at most ${limits.maxFramesPerCandidate} frames, got ${most}`, 'messages[1].content') };
  }
  return { ok: true, counts };
}

/**
 * Reads a chat completion request body as a judge call: the messages' layout, the template (re-rendered with
 * `renderJudgeTemplate` and compared exactly, which recovers the mode, modality, format and prompt), the frame
 * counts, and every image (PNG data URLs, decoded). Never throws; every fault is a 400 naming the field.
 * The `model` field is returned unchecked (the server compares it with the served name).
 * @param body The parsed JSON body.
 * @param limits See {@link ChatRequestLimits}.
 */
export function readJudgeCall(body: unknown, limits: ChatRequestLimits): ReadJudgeCallResult {
  const top = chatCompletionRequestSchema.safeParse(body);
  if (!top.success) {
    const issue = top.error.issues[0]!;
    const param = issue.path.map(String).join('.') || 'body';
    return { ok: false, error: badRequest('invalid_request', `${param}: ${issue.message}`, param) };
  }
  const { model, messages, stream, n } = top.data;
  if (stream === true) return { ok: false, error: badRequest('unsupported_parameter', 'stream: streaming is not supported by flex serve', 'stream') };
  if (n !== undefined && n !== null && n !== 1) return { ok: false, error: badRequest('unsupported_parameter', `n: only one choice per request is supported, got ${n}`, 'n') };
  const parts = readMessages(messages);
  if (!parts.ok) return parts;
  const kind = templateKindOf(parts.system);
  if (kind === undefined) {
    return {
      ok: false,
      error: badRequest('unrecognized_template', 'messages[0].content is not the system text of a @flex/criteria judge template (pairwise or pointwise, image or video, json or compact)', 'messages[0].content'),
    };
  }
  const prompt = readPrompt(parts.text);
  if (prompt === undefined || prompt.trim() === '') {
    return { ok: false, error: badRequest('missing_text', 'the template text has no `Prompt: "…"` line with a non-empty JSON string', 'messages[1].content') };
  }
  const split = splitFrames(kind, parts.text, parts.urls.length, limits);
  if (!split.ok) return split;
  const { counts } = split;
  const placeholders = counts.map((count) => Array.from({ length: count }, (_, i) => `frame:${i}`));
  const media = kind.modality === 'image' ? placeholders.map((urls) => urls[0] as string) : placeholders;
  const framesPerVideo = Math.max(...counts);
  const matches = [true, false].some((extensions) => {
    const template = renderJudgeTemplate({ mode: kind.mode, modality: kind.modality, format: kind.format, prompt, media, framesPerVideo, extensions });
    return template.user === parts.text;
  });
  if (!matches) {
    return {
      ok: false,
      error: badRequest(
        'unrecognized_template',
        `the text part is not the @flex/criteria ${kind.mode} ${kind.modality} template for its prompt and ${parts.urls.length} image(s) (a different @flex/criteria version, or an edited template?)`,
        'messages[1].content',
      ),
    };
  }
  const images: RgbImage[] = [];
  for (const { url, param } of parts.urls) {
    const decoded = decodePngDataUrl(url, limits, param);
    if (!decoded.ok) return decoded;
    images.push(decoded.image);
  }
  const candidates: RgbImage[][] = [];
  let offset = 0;
  for (const count of counts) {
    candidates.push(images.slice(offset, offset + count));
    offset += count;
  }
  const mediaOf = (frames: RgbImage[], index: number): { ok: true; media: RgbImage | Video } | { ok: false; error: ServeHttpError } => {
    const first = frames[0] as RgbImage;
    if (kind.modality === 'image') return { ok: true, media: first };
    const odd = frames.findIndex((frame) => frame.width !== first.width || frame.height !== first.height);
    if (odd >= 0) {
      const frame = frames[odd] as RgbImage;
      return {
        ok: false,
        error: badRequest('mixed_frame_sizes', `video ${index + 1}: frame ${odd + 1} is ${frame.width}×${frame.height} but frame 1 is ${first.width}×${first.height}`, 'messages[1].content'),
      };
    }
    return { ok: true, media: { frames, fps: limits.videoFps } };
  };
  const built = candidates.map((frames, index) => mediaOf(frames, index));
  for (const item of built) if (!item.ok) return item;
  const medias = built.map((item) => (item as { media: RgbImage | Video }).media);
  if (kind.mode === 'pairwise') {
    return { ok: true, model, call: { mode: 'pairwise', format: kind.format, request: { prompt, modality: kind.modality, a: medias[0]!, b: medias[1]! } } };
  }
  return { ok: true, model, call: { mode: 'pointwise', format: kind.format, request: { prompt, modality: kind.modality, media: medias[0]! } } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
