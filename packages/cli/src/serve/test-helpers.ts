import {
  renderJudgeTemplate,
  type Judge,
  type PointwiseJudge,
  type JudgeRequest,
  type JudgeResult,
  type Modality,
  type PairwiseAssessment,
  type RgbImage,
  type Video,
} from '@flex/criteria';
import { buildJudgeTokenizer, FlexJudgeModel, pngDataUrl } from '@flex/model';

/** Test fixtures of the serve folder (not exported from the package). */

/** An image whose values are multiples of 1/255, so a PNG round trip is exact. */
export function byteImage(seed: number, size = 16): RgbImage {
  const data = new Float32Array(size * size * 3);
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state >>> 24) / 255;
  }
  return { width: size, height: size, data };
}

/** A video of `frames` byte images. */
export function byteVideo(seed: number, frames: number, size = 16): Video {
  return { fps: 8, frames: Array.from({ length: frames }, (_, i) => byteImage(seed * 100 + i, size)) };
}

/** A pairwise image request. */
export function imagePair(seed: number, prompt = `a red circle left of a blue square, take ${seed}`): JudgeRequest {
  return { id: `p${seed}`, prompt, modality: 'image', a: byteImage(seed * 2), b: byteImage(seed * 2 + 1) };
}

/** A tiny untrained Flex judge (constrained decoding makes every output decode). */
export function tinyFlexJudge(seed = 0): FlexJudgeModel {
  const tokenizer = buildJudgeTokenizer({
    prompts: ['a red circle left of a blue square', 'a ball rolls left', 'three green triangles'],
    texts: ['red blue green circle square triangle ball left right rolls sharp blurry'],
    vocabSize: 160,
    minCount: 1,
  });
  return FlexJudgeModel.create({ preset: 'tiny', tokenizer, seed });
}

/**
 * The tiny model as a served judge: an untrained model rambles, so its free-text fields are kept short and it
 * adds no category of its own, which leaves the constrained decoder room to finish every assessment.
 */
export function servedTinyJudge(model: FlexJudgeModel): Judge & PointwiseJudge {
  const grammar = { maxFieldLength: 16, maxExtraCategories: 0, maxCriteria: 3 };
  return {
    name: model.name,
    judge: (requests, options) => model.judge(requests, { ...options, grammar }),
    score: (requests, options) => model.score(requests, { ...options, grammar }),
  };
}

/** The chat body RemoteJudge would send for a request (template + PNG data URLs). */
export function chatBody(request: JudgeRequest, options: { model?: string; format?: 'json' | 'compact'; extensions?: boolean } = {}) {
  const urls = (media: JudgeRequest['a']) => ('frames' in media ? media.frames.map((f) => pngDataUrl(f)) : pngDataUrl(media));
  const template = renderJudgeTemplate({
    mode: 'pairwise',
    modality: request.modality,
    prompt: request.prompt,
    media: [urls(request.a), urls(request.b)] as string[] | string[][],
    format: options.format ?? 'json',
    extensions: options.extensions ?? true,
  });
  return { model: options.model ?? 'tiny-flex', temperature: 0, max_tokens: 4096, messages: template.messages };
}

/** A valid assessment for a prompt (for fake judges). */
export function fixedAssessment(prompt: string, modality: Modality = 'image', winner: 1 | 2 = 1): PairwiseAssessment {
  const label = `${modality === 'image' ? 'Image' : 'Video'} ${winner}` as PairwiseAssessment['winner'];
  const names = modality === 'image' ? ['Semantic Alignment & Accuracy', 'Image Quality & Realism', 'Aesthetics & Artistry'] : ['Semantic Alignment & Accuracy', 'Video Quality & Dynamic Realism', 'Narrative, Aesthetics & Cinematography'];
  return {
    prompt,
    categories: names.map((name) => ({
      name,
      dims: [{ name: 'Shape count', reason_1: 'two shapes', reason_2: 'one shape', score_1: winner === 1 ? 7 : 3, score_2: winner === 1 ? 3 : 7 }],
      cat_reason: 'the counts differ',
      cat_winner: label as never,
    })),
    reason: 'one is closer to the prompt',
    winner: label,
  } as PairwiseAssessment;
}

/** A fake judge recording the size of every call; `gate` holds calls until released. */
export function recordingJudge(options: { result?: (request: JudgeRequest) => JudgeResult; gate?: Promise<void>; throws?: string } = {}) {
  const calls: number[] = [];
  const judge: Judge = {
    name: 'recording',
    async judge(requests) {
      calls.push(requests.length);
      if (options.gate) await options.gate;
      if (options.throws) throw new Error(options.throws);
      return requests.map(
        (request) => options.result?.(request) ?? { ok: true, assessment: fixedAssessment(request.prompt, request.modality), probabilityA: 0.7 },
      );
    },
  };
  return { judge, calls };
}

/** A promise with its resolve function. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** POSTs JSON (or a raw string) to the server. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}
