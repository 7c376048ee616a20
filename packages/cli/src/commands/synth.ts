import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { contactSheet, datasetStats, splits, synthesize } from '@flex/synth';
import { integerFlag, parseOptions } from '../options';
import { createProgress } from '../progress';

const synthOptionsSchema = z.object({
  out: z.string().min(1, 'is required'),
  modality: z.enum(['image', 'video']),
  pairs: integerFlag(1),
  seed: integerFlag(0),
  split: z.enum(splits),
  size: integerFlag(8),
  frames: integerFlag(8),
  overwrite: z.boolean(),
  contactSheet: z.string().optional(),
  quiet: z.boolean(),
});

/** `flex synth`: generate a dataset of labelled pairs from the embedded world. */
export function synthCommand(program: Command): void {
  program
    .command('synth')
    .description('generate labelled image or video pairs from the embedded world (manifest.json, pairs.jsonl, PNGs)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--modality <kind>', 'image or video', 'image')
    .option('--pairs <n>', 'number of pairs', '1000')
    .option('--seed <s>', 'seed (same seed, same bytes)', '0')
    .option('--split <name>', `one of ${splits.join(', ')}`, 'train')
    .option('--size <px>', 'width and height of each image in pixels', '32')
    .option('--frames <n>', 'frames per video', '8')
    .option('--overwrite', 'replace a dataset already in --out', false)
    .option('--contact-sheet <file>', 'also write a PNG contact sheet of sample pairs')
    .option('--quiet', 'no progress output', false)
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(synthOptionsSchema, raw);
      const progress = createProgress({ label: `synth ${options.split}`, total: options.pairs, unit: 'pairs', quiet: options.quiet });
      const result = await synthesize({
        out: options.out,
        modality: options.modality,
        pairs: options.pairs,
        seed: options.seed,
        split: options.split,
        width: options.size,
        frames: options.frames,
        overwrite: options.overwrite,
        onProgress: (done) => {
          if (done % 50 === 0 || done === options.pairs) progress.update(done);
        },
      });
      progress.stop();
      const { A, B, tie } = result.labels;
      process.stdout.write(`wrote ${options.pairs} ${options.modality} pairs to ${result.out} (labels A ${A}, B ${B}, tie ${tie})\n`);
      if (options.contactSheet) {
        const sheet = await contactSheet({ data: options.out, out: options.contactSheet });
        process.stdout.write(`contact sheet: ${sheet.out} (${sheet.width}x${sheet.height})\n`);
      }
    });
}

const statsOptionsSchema = z.object({
  data: z.string().min(1, 'is required'),
  json: z.string().optional(),
  limit: integerFlag(1).optional(),
});

/** `flex stats`: statistics of a dataset, printed and as JSON. */
export function statsCommand(program: Command): void {
  program
    .command('stats')
    .description('statistics of a dataset: label balance, tie rate, fault mix, teacher agreement, context sensitivity')
    .requiredOption('--data <dir>', 'dataset folder')
    .option('--json <file>', 'also write the statistics as JSON')
    .option('--limit <n>', 'use at most this many pairs')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(statsOptionsSchema, raw);
      const stats = await datasetStats({ data: options.data, ...(options.limit ? { limit: options.limit } : {}) });
      process.stdout.write(`${formatStats(stats as unknown as Record<string, unknown>)}\n`);
      if (options.json) await writeFile(options.json, `${JSON.stringify(stats, null, 2)}\n`);
    });
}

/** Flat `key  value` lines of a statistics object, nested keys joined with dots, fractions as percentages. */
export function formatStats(stats: Record<string, unknown>, prefix = ''): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(stats)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      lines.push(formatStats(value as Record<string, unknown>, name));
    } else if (typeof value === 'number' && !Number.isInteger(value)) {
      lines.push(`${name.padEnd(36)} ${value.toFixed(4)}`);
    } else {
      lines.push(`${name.padEnd(36)} ${Array.isArray(value) ? value.join(', ') : String(value)}`);
    }
  }
  return lines.join('\n');
}
