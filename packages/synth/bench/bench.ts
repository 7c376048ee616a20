/**
 * @flex/synth bench: generating and writing 10,000 image pairs at 32×32 (target: under 30 s), against a reference
 * measured in the same run (encoding and writing the same number of PNG files of one fixed image: the I/O floor),
 * and the context sensitivity of the default image test split. The last line is one JSON object of the figures.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetStats, encodePng, formatStats, renderScene, synthesize } from '../src/index';
import type { RgbImage } from '@flex/criteria';

const pairs = Number(process.env.FLEX_SYNTH_BENCH_PAIRS ?? 10_000);
const statsPairs = Number(process.env.FLEX_SYNTH_BENCH_STATS_PAIRS ?? 2_000);
const base = process.env.FLEX_SYNTH_BENCH_DIR ?? tmpdir();
mkdirSync(base, { recursive: true });
const root = mkdtempSync(join(base, 'flex-synth-bench-'));

try {
  // Reference: the PNG encode + write floor for the same number of files.
  const fixed = renderScene({
    scene: { modality: 'image', background: { kind: 'gradient', tone: 'dark' }, objects: [{ shape: 'star', colour: 'red', size: 'medium', x: 0.5, y: 0.5 }], frames: 1, seed: 1 },
    width: 32,
  }) as RgbImage;
  mkdirSync(join(root, 'reference'));
  let start = performance.now();
  for (let i = 0; i < 2 * pairs; i++) writeFileSync(join(root, 'reference', `${i}.png`), encodePng(fixed));
  const referenceSeconds = (performance.now() - start) / 1000;

  start = performance.now();
  const result = await synthesize({ out: join(root, 'train'), pairs, seed: 0, split: 'train', width: 32 });
  const synthSeconds = (performance.now() - start) / 1000;
  console.log(`synthesize: ${pairs} image pairs at 32x32 in ${synthSeconds.toFixed(2)} s (${(pairs / synthSeconds).toFixed(0)} pairs/s); PNG write floor ${referenceSeconds.toFixed(2)} s; ratio ${(synthSeconds / referenceSeconds).toFixed(2)}`);
  console.log(`labels: ${JSON.stringify(result.labels)}`);

  start = performance.now();
  await synthesize({ out: join(root, 'test'), pairs: statsPairs, seed: 0, split: 'test', width: 32 });
  const stats = await datasetStats({ data: join(root, 'test') });
  const statsSeconds = (performance.now() - start) / 1000;
  console.log(formatStats(stats));

  const round = (v: number) => Math.round(v * 10000) / 10000;
  console.log(
    JSON.stringify({
      pairs,
      width: 32,
      synthSeconds: round(synthSeconds),
      pairsPerSecond: Math.round(pairs / synthSeconds),
      underThirtySeconds: synthSeconds < 30,
      referencePngWriteSeconds: round(referenceSeconds),
      ratioToPngWriteFloor: round(synthSeconds / referenceSeconds),
      statsPairs,
      statsSeconds: round(statsSeconds),
      contextFlipRate: round(stats.contextFlipRate),
      pairsFlippingUnderSomeContext: round(stats.pairsFlippingUnderSomeContext),
      contextBlindCeiling: round(stats.contextBlindCeiling),
      oracleAgreement: round(stats.oracleAgreement),
      contextGapPoints: round(100 * stats.contextGap),
      teacherAgreement: round(stats.teacherAgreement),
      tieRate: round(stats.tieRate),
    }),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
