import { isVideo, type Judge, type JudgeRequest, type JudgeResult, type Media, type RgbImage } from '@flex/criteria';
import { createFlowGenerator, type FlowGenerator } from '@flex/model';
import {
  generationPresence,
  mixSeed,
  perceiveMedia,
  perceiveWithErrors,
  promptText,
  referenceScene,
  renderScene,
  Rng,
  samplePromptSpec,
  sampleStyle,
  scaleByPresence,
  scoreFacts,
  scoreGeneration,
  writePairwiseAssessment,
  type PromptSpec,
  type SceneFacts,
  type TeacherOptions,
} from '@flex/synth';

/**
 * Glue between @flex/synth and the generators, for the scripts and the benchmark only (the library never
 * imports @flex/synth): prompts of the embedded world, correct renders of them, and the pixel oracle.
 */

/** Seeds of held-out prompts start here, far from the training seeds. */
export const heldOutSeedBase = 1_000_000;

/** A world prompt: its spec (for the oracle) and its text (for the generator and the judge). */
export interface WorldPrompt {
  readonly spec: PromptSpec;
  readonly text: string;
}

/** `count` prompts of a modality, seeded; held-out prompts use seeds from {@link heldOutSeedBase}. */
export function worldPrompts(options: { modality: 'image' | 'video'; count: number; seed: number; heldOut?: boolean }): WorldPrompt[] {
  const base = (options.heldOut ? heldOutSeedBase : 0) + options.seed * 100_000;
  return Array.from({ length: options.count }, (_, i) => {
    const spec = samplePromptSpec({ modality: options.modality, seed: base + i });
    return { spec, text: promptText(spec) };
  });
}

/** A correct render of a prompt (a reference scene with a seeded style) at `size` pixels. */
export function renderPrompt(prompt: WorldPrompt, size: number, seed: number): Media {
  const style = sampleStyle(prompt.spec, new Rng(seed));
  const scene = referenceScene(prompt.spec, style, seed + 7919);
  return renderScene({ scene, width: size });
}

/** `--window S,L` as a flow policy's `sdeWindow` (the SDE only on sampler steps S … S+L−1); `all` is undefined (every step). */
export function sdeWindowOf(text: string): { start: number; length: number } | undefined {
  if (text === 'all') return undefined;
  const [start, length] = text.split(',').map(Number) as [number, number];
  return { start, length };
}

/** `--flex-weights '{"A":1}'` as the Flex reward's category weights; `published` is undefined (REFERENCE.md §3's). */
export function flexWeightsOf(text: string): Record<string, number> | undefined {
  return text === 'published' ? undefined : (JSON.parse(text) as Record<string, number>);
}

/** A new generator with the same config and a copy of `generator`'s parameters (a policy's reference, a run's start). */
export function copyGenerator(generator: FlowGenerator): FlowGenerator {
  const copy = createFlowGenerator(generator.config);
  copy.parameters.assign(Object.fromEntries(generator.parameters.entries()));
  return copy;
}

/** The pixel oracle's utility of a generation for its prompt, in [0, 1]. */
export function oracleScore(prompt: WorldPrompt, media: Media): number {
  return scoreGeneration({ spec: prompt.spec, media }).utility;
}

/** A grid PNG: rows of media (videos as their frames side by side), each pixel scaled `zoom` times. */
export async function writeGrid(options: { file: string; rows: readonly (readonly Media[])[]; zoom?: number }): Promise<void> {
  const { PNG } = await import('pngjs');
  const { writeFile } = await import('node:fs/promises');
  const zoom = options.zoom ?? 4;
  const tiles = options.rows.map((row) => row.flatMap((m) => (isVideo(m) ? [...m.frames] : [m])));
  const side = (tiles[0]?.[0] as RgbImage | undefined)?.width ?? 1;
  const cell = side * zoom + 2;
  const width = Math.max(...tiles.map((r) => r.length)) * cell;
  const height = tiles.length * cell;
  const png = new PNG({ width, height });
  png.data.fill(255);
  tiles.forEach((row, r) =>
    row.forEach((image, c) => {
      for (let y = 0; y < image.height * zoom; y++) {
        for (let x = 0; x < image.width * zoom; x++) {
          const source = (Math.floor(y / zoom) * image.width + Math.floor(x / zoom)) * 3;
          const target = ((r * cell + y) * width + c * cell + x) * 4;
          for (let k = 0; k < 3; k++) png.data[target + k] = Math.round((image.data[source + k] as number) * 255);
          png.data[target + 3] = 255;
        }
      }
    }),
  );
  await writeFile(options.file, PNG.sync.write(png));
}

/**
 * A simulated Flex judge that works on pixels: it recovers each candidate's facts with the pixel oracle's
 * perception, adds the simulated teacher's perception errors, scores both and writes a Flex assessment
 * (@flex/synth's writer). A stand-in until trained judges exist: it shares the oracle's scoring, so it
 * cannot show reward hacking the way a learned judge can.
 */
export function pixelTeacherJudge(options: { specs: ReadonlyMap<string, PromptSpec>; seed: number; temperature?: number; errors?: TeacherOptions }): Judge {
  const temperature = options.temperature ?? 0.05;
  const perceived = new WeakMap<Media, SceneFacts>();
  let call = 0;
  const factsOf = (media: Media): SceneFacts => {
    let facts = perceived.get(media);
    if (!facts) {
      facts = perceiveWithErrors(perceiveMedia(media), options.errors ?? {}, mixSeed(options.seed, call++));
      perceived.set(media, facts);
    }
    return facts;
  };
  return {
    name: 'pixel-teacher',
    async judge(requests: readonly JudgeRequest[]): Promise<JudgeResult[]> {
      return requests.map((request): JudgeResult => {
        const spec = options.specs.get(request.prompt);
        if (!spec) return { ok: false, error: { code: 'invalid_request', message: `unknown prompt: ${request.prompt}` } };
        const first = factsOf(request.a);
        const second = factsOf(request.b);
        // Like the oracle for generations: nothing drawn earns nothing for quality, aesthetics or context.
        const scoreFirst = scaleByPresence(scoreFacts({ spec, facts: first }), generationPresence(spec, first));
        const scoreSecond = scaleByPresence(scoreFacts({ spec, facts: second }), generationPresence(spec, second));
        const assessment = writePairwiseAssessment({ spec, prompt: request.prompt, first: { facts: first, score: scoreFirst }, second: { facts: second, score: scoreSecond } });
        const difference = scoreFirst.utility - scoreSecond.utility;
        return { ok: true, assessment, probabilityA: 1 / (1 + Math.exp(-difference / temperature)) };
      });
    },
  };
}

/**
 * A scalar stand-in for a pointwise reward model: the utility the simulated teacher computes from its own
 * (error-prone) perception of the pixels. Same information as {@link pixelTeacherJudge}, but one number per
 * sample — the pointwise arm of the benchmark until a trained Bradley–Terry model is given.
 */
export function pixelTeacherScore(options: { specs: ReadonlyMap<string, PromptSpec>; seed: number }): (prompt: string, media: Media, index: number) => number | null {
  let call = 0;
  return (prompt, media) => {
    const spec = options.specs.get(prompt);
    if (!spec) return null;
    const facts = perceiveWithErrors(perceiveMedia(media), {}, mixSeed(options.seed, 'scalar', call++));
    return scaleByPresence(scoreFacts({ spec, facts }), generationPresence(spec, facts)).utility;
  };
}
