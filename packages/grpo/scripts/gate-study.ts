/**
 * Which gate on quality / aesthetics / context makes the generation oracle un-gameable by colour blobs (issue #6)?
 * Scores, under several gates, correct renders of held-out prompts, blank frames, renders with the right colours
 * but wrong shapes, frames of large colour blobs, the pre-trained generators' held-out samples and the reward-hacked
 * samples in bench/grids/*-after.png (when present).
 *
 *   node --conditions=@flex/source --import tsx scripts/gate-study.ts [--renders 200] [--videos 60] [--grids <bench out folder>]
 *
 * Last line: one JSON object, per gate and set the mean utility (and semantic A, which no gate changes).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Media, RgbImage, Video } from '@flex/criteria';
import { initBackend, loadFlowGenerator, runMain } from '@flex/model';
import {
  colourRgb,
  colourSimilarity,
  perceiveMedia,
  referenceScene,
  renderScene,
  Rng,
  sampleStyle,
  scaleByPresence,
  scoreFacts,
  shapes,
  shapeSimilarity,
  toneRgb,
  type PromptSpec,
  type SceneFacts,
} from '@flex/synth';
import { createFlowPolicy, deriveSeed } from '../src/index';
import { worldPrompts, type WorldPrompt } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const here = dirname(fileURLToPath(import.meta.url));

type Gate = (spec: PromptSpec, facts: SceneFacts, semantic: number) => number;

/**
 * Greedy one-to-one matching of asked-for instances to perceived objects by a pair similarity; sum of matches over
 * the asked count (or, `precise`, over the larger of the asked count and the number of perceived objects).
 */
function matched(spec: PromptSpec, facts: SceneFacts, similarity: (s: PromptSpec['subjects'][number], o: SceneFacts['objects'][number]) => number, precise = false): number {
  const requested = spec.subjects.reduce((sum, s) => sum + s.count, 0);
  if (requested === 0) return 1;
  const pairs: { s: number; o: number; v: number }[] = [];
  spec.subjects.forEach((s, i) => facts.objects.forEach((o, j) => {
    const v = similarity(s, o);
    if (v > 0) pairs.push({ s: i, o: j, v });
  }));
  pairs.sort((a, b) => b.v - a.v || a.s - b.s || a.o - b.o);
  const left = spec.subjects.map((s) => s.count);
  const used = new Set<number>();
  let total = 0;
  for (const p of pairs) {
    if ((left[p.s] as number) <= 0 || used.has(p.o)) continue;
    left[p.s] = (left[p.s] as number) - 1;
    used.add(p.o);
    total += p.v;
  }
  return total / (precise ? Math.max(requested, facts.objects.length) : requested);
}

const gates: Record<string, Gate> = {
  none: () => 1,
  count: (spec, facts) => Math.min(1, facts.objects.length / Math.max(1, spec.subjects.reduce((a, s) => a + s.count, 0))),
  strict: (spec, facts) => matched(spec, facts, (s, o) => (s.colour === o.colour && s.shape === o.shape ? 1 : 0)),
  graded: (spec, facts) => matched(spec, facts, (s, o) => colourSimilarity(s.colour, o.colour) * shapeSimilarity(s.shape, o.shape)),
  precise: (spec, facts) => matched(spec, facts, (s, o) => colourSimilarity(s.colour, o.colour) * shapeSimilarity(s.shape, o.shape), true),
  colour: (spec, facts) => matched(spec, facts, (s, o) => colourSimilarity(s.colour, o.colour)),
  semantic: (_spec, _facts, semantic) => semantic,
};

function score(spec: PromptSpec, media: Media): Record<string, number> {
  const facts = perceiveMedia(media);
  const raw = scoreFacts({ spec, facts });
  const semantic = raw.categories.find((c) => c.id === 'A')?.score ?? 0;
  const out: Record<string, number> = { A: semantic };
  for (const [name, gate] of Object.entries(gates)) {
    const presence = gate(spec, facts, semantic);
    out[name] = scaleByPresence(raw, presence).utility;
    out[`${name}_presence`] = presence;
  }
  return out;
}

function summarise(label: string, rows: Record<string, number>[]): Record<string, number> {
  const keys = Object.keys(rows[0] ?? {});
  const out = Object.fromEntries(keys.map((k) => [k, Number(mean(rows.map((r) => r[k] as number)).toFixed(4))]));
  console.log(`${label.padEnd(22)} n=${String(rows.length).padStart(3)}  A ${out.A?.toFixed(3)}  ` + Object.keys(gates).map((g) => `${g} ${out[g]?.toFixed(3)} (p ${out[`${g}_presence`]?.toFixed(2)})`).join('  '));
  return out;
}

/** The asked objects with the right colours but a dissimilar shape (similarity 0). */
function wrongShapes(prompt: WorldPrompt, size: number, seed: number): Media {
  const style = sampleStyle(prompt.spec, new Rng(seed));
  const scene = referenceScene(prompt.spec, style, seed + 7919);
  const objects = scene.objects.map((o, i) => {
    const others = shapes.filter((s) => shapeSimilarity(s, o.shape) === 0);
    return { ...o, shape: others[(seed + i) % others.length] as (typeof shapes)[number] };
  });
  return renderScene({ scene: { ...scene, objects }, width: size });
}

/** Large soft-edged ellipses in the asked colours (one per subject, side by side) on a background tone: the reward hack. */
function blobs(prompt: WorldPrompt, size: number, seed: number): Media {
  const rng = new Rng(seed);
  const tone = toneRgb[(['dark', 'light', 'warm', 'cool'] as const)[seed % 4] ?? 'dark'];
  const frame = (): RgbImage => {
    const data = new Float32Array(size * size * 3);
    const n = prompt.spec.subjects.length;
    const centres = prompt.spec.subjects.map((_, i) => ({ x: (i + 0.5) / n, y: 0.5 + rng.uniform(-0.1, 0.1), rx: 0.5 / n + rng.uniform(0, 0.08), ry: 0.3 + rng.uniform(0, 0.15) }));
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      let rgb: readonly number[] = tone;
      prompt.spec.subjects.forEach((s, i) => {
        const c = centres[i] as { x: number; y: number; rx: number; ry: number };
        const u = ((x + 0.5) / size - c.x) / c.rx;
        const v = ((y + 0.5) / size - c.y) / c.ry;
        if (u * u + v * v <= 1) rgb = colourRgb[s.colour];
      });
      for (let k = 0; k < 3; k++) data[(y * size + x) * 3 + k] = rgb[k] as number;
    }
    return { width: size, height: size, data };
  };
  if (prompt.spec.modality === 'image') return frame();
  const f = frame();
  return { fps: 8, frames: Array.from({ length: 8 }, () => f) } satisfies Video;
}

/** A spray of fragments: 4×4-pixel patches of every palette colour on a 4×4 grid (the second reward hack). */
function confetti(prompt: WorldPrompt, size: number, seed: number): Media {
  const tone = toneRgb[(['dark', 'light', 'warm', 'cool'] as const)[seed % 4] ?? 'dark'];
  const palette = Object.values(colourRgb);
  const cell = size / 4;
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const c = Math.floor(y / cell) * 4 + Math.floor(x / cell);
    const inside = x % cell >= cell / 4 && x % cell < (3 * cell) / 4 && y % cell >= cell / 4 && y % cell < (3 * cell) / 4;
    const rgb = inside ? (palette[(c + seed) % palette.length] as readonly number[]) : tone;
    for (let k = 0; k < 3; k++) data[(y * size + x) * 3 + k] = rgb[k] as number;
  }
  const frame: RgbImage = { width: size, height: size, data };
  return prompt.spec.modality === 'image' ? frame : { fps: 8, frames: Array.from({ length: 8 }, () => frame) };
}

function blank(modality: 'image' | 'video', size: number): Media {
  const frame = { width: size, height: size, data: new Float32Array(size * size * 3).fill(0.5) };
  return modality === 'image' ? frame : { fps: 8, frames: Array.from({ length: 8 }, () => frame) };
}

/** Cut a bench grid PNG back into its tiles (zoom 4, 2 px gutters): images one row, videos one row of frames per prompt. */
async function gridTiles(file: string, side: number, modality: 'image' | 'video'): Promise<Media[]> {
  const { PNG } = await import('pngjs');
  let png;
  try {
    png = PNG.sync.read(await readFile(file));
  } catch {
    return [];
  }
  const cell = side * 4 + 2;
  const tile = (row: number, col: number): RgbImage => {
    const data = new Float32Array(side * side * 3);
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) for (let k = 0; k < 3; k++) {
      data[(y * side + x) * 3 + k] = (png.data[((row * cell + y * 4 + 1) * png.width + col * cell + x * 4 + 1) * 4 + k] as number) / 255;
    }
    return { width: side, height: side, data };
  };
  const rows = Math.round(png.height / cell);
  const cols = Math.round(png.width / cell);
  if (modality === 'image') return Array.from({ length: cols }, (_, c) => tile(0, c));
  return Array.from({ length: rows }, (_, r) => ({ fps: 8, frames: Array.from({ length: cols }, (_, c) => tile(r, c)) }));
}

await runMain(async () => {
  await initBackend();
  const summary: Record<string, Record<string, number>> = {};
  const grids = argument('grids', join(here, '..', 'bench', 'grids'));
  for (const modality of ['image', 'video'] as const) {
    const count = Number(argument(modality === 'image' ? 'renders' : 'videos', modality === 'image' ? '200' : '60'));
    const size = modality === 'image' ? 32 : 24;
    const prompts = worldPrompts({ modality, count, seed: 0, heldOut: true });
    const sets: Record<string, Record<string, number>[]> = { renders: [], blank: [], wrong_shapes: [], blobs: [], confetti: [] };
    prompts.forEach((p, i) => {
      const style = sampleStyle(p.spec, new Rng(i));
      sets.renders!.push(score(p.spec, renderScene({ scene: referenceScene(p.spec, style, i + 7919), width: size })));
      sets.blank!.push(score(p.spec, blank(modality, size)));
      sets.wrong_shapes!.push(score(p.spec, wrongShapes(p, size, i)));
      sets.blobs!.push(score(p.spec, blobs(p, size, i)));
      sets.confetti!.push(score(p.spec, confetti(p, size, i)));
    });
    const { generator } = await loadFlowGenerator({ folder: join(here, '..', 'generators', modality === 'image' ? 'image-32' : 'video-24') });
    const held = worldPrompts({ modality, count: modality === 'image' ? 128 : 48, seed: 0, heldOut: true });
    const groups = await createFlowPolicy({ generator, steps: 10 }).sample({ prompts: held.map((p) => p.text), groupSize: 1, seed: deriveSeed(0, 0, 4), mode: 'eval' });
    sets.pretrained = groups.map((g, i) => score((held[i] as WorldPrompt).spec, g.rollouts[0]!.sample));
    generator.dispose();
    for (const arm of ['flex', 'bt']) {
      const tiles = await gridTiles(join(grids, `${modality}-${arm}-after.png`), size, modality);
      if (tiles.length > 0) sets[`hacked_${arm}`] = tiles.map((m, i) => score((held[i] as WorldPrompt).spec, m));
    }
    const before = await gridTiles(join(grids, `${modality}-before.png`), size, modality);
    if (before.length > 0) sets.grid_before = before.map((m, i) => score((held[i] as WorldPrompt).spec, m));
    console.log(`${modality}:`);
    for (const [name, rows] of Object.entries(sets)) summary[`${modality}_${name}`] = summarise(name, rows);
  }
  console.log(JSON.stringify(summary));
});
