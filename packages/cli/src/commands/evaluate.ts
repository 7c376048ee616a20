import type { Command } from 'commander';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Media, RgbImage } from '@flex/criteria';
import { baselineIds, formatResultsTable, loadBaselineJudge, rebuildReport, runDatasetBenchmark } from '@flex/eval';
import { decodePng } from '@flex/synth';
import { CliError } from '../errors';
import { integerFlag, parseOptions } from '../options';
import { createProgress } from '../progress';

const evalOptionsSchema = z.object({
  model: z.string().min(1).optional(),
  bench: z.string().min(1, 'is required'),
  json: z.string().optional(),
  baseline: z.enum(['flex', 'bt', ...baselineIds]),
  limit: integerFlag(1).optional(),
  seed: integerFlag(0),
  bothOrders: z.boolean(),
  batchSize: integerFlag(1),
  quiet: z.boolean(),
});

const baselineAliases: Record<string, (typeof baselineIds)[number]> = { flex: 'flex-sft-dpo', bt: 'scalar-bt' };

/** `flex eval`: run a preference benchmark with a judge checkpoint (or a baseline) on a dataset. */
export function evalCommand(program: Command): void {
  program
    .command('eval')
    .description('measure a judge on a dataset: accuracy with and without ties, position consistency, calibration, per category and context')
    .requiredOption('--bench <dir>', 'dataset folder (from flex synth)')
    .option('--model <dir>', 'judge checkpoint folder')
    .option('--baseline <kind>', `flex (a Flex judge checkpoint), bt (a scalar Bradley–Terry checkpoint), or one of ${baselineIds.join(', ')}`, 'flex')
    .option('--json <file>', 'write every number as JSON')
    .option('--limit <n>', 'use at most this many pairs')
    .option('--seed <s>', 'seed of the A/B order randomisation', '0')
    .option('--no-both-orders', 'judge each pair in one order only (no position-consistency figure)')
    .option('--batch-size <n>', 'requests per judge call', '32')
    .option('--quiet', 'no progress output', false)
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(evalOptionsSchema, raw);
      const id = baselineAliases[options.baseline] ?? (options.baseline as (typeof baselineIds)[number]);
      const needsCheckpoint = !['teacher', 'oracle'].includes(id);
      if (needsCheckpoint && !options.model) throw new CliError('missing_input', `--model is required for --baseline ${options.baseline}`);
      const judge = await loadBaselineJudge({ id, ...(options.model ? { checkpoint: options.model } : {}) });
      let progress: ReturnType<typeof createProgress> | undefined;
      const result = await runDatasetBenchmark({
        data: options.bench,
        judge,
        seed: options.seed,
        bothOrders: options.bothOrders,
        batchSize: options.batchSize,
        ...(options.limit ? { limit: options.limit } : {}),
        onProgress: ({ pairsDone, total }) => {
          progress ??= createProgress({ label: `eval ${judge.name}`, total: total ?? 0, unit: 'pairs', quiet: options.quiet });
          progress.update(pairsDone);
        },
      });
      progress?.stop();
      process.stdout.write(`${formatResultsTable({ runs: [result], format: 'text' })}\n`);
      if (options.json) {
        const { records: _records, samples: _samples, ...numbers } = result as unknown as Record<string, unknown>;
        await writeFile(options.json, `${JSON.stringify(numbers, null, 2)}\n`);
      }
    });
}

/** `flex report RUN_DIR`: rebuild report.html from a run folder's results. */
export function reportCommand(program: Command): void {
  program
    .command('report')
    .description('rebuild report.html from the results.json (and samples.json) of a run folder')
    .argument('<runDir>', 'run folder')
    .action(async (runDir: string) => {
      const path = await rebuildReport({ runDir });
      process.stdout.write(`${path}\n`);
    });
}

/** Read an image (a PNG file) or a video (a folder of PNG frames, in name order). */
export async function readMedia(path: string, fps: number): Promise<Media> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new CliError('missing_input', `${path}: no such file or folder`);
  }
  const readImage = async (file: string): Promise<RgbImage> => {
    try {
      return decodePng(await readFile(file));
    } catch (error) {
      throw new CliError('missing_input', `${file}: not a readable PNG (${(error as Error).message})`);
    }
  };
  if (!info.isDirectory()) return readImage(path);
  const names = (await readdir(path)).filter((n) => n.toLowerCase().endsWith('.png')).sort();
  if (names.length === 0) throw new CliError('missing_input', `${path}: a video folder must hold PNG frames`);
  const frames = [];
  for (const name of names) frames.push(await readImage(join(path, name)));
  const [first] = frames;
  if (frames.some((f) => f.width !== first!.width || f.height !== first!.height)) {
    throw new CliError('missing_input', `${path}: frames differ in size`);
  }
  return { frames, fps };
}

const judgeOptionsSchema = z.object({
  model: z.string().min(1, 'is required'),
  prompt: z.string().min(1, 'is required'),
  a: z.string().min(1, 'is required'),
  b: z.string().min(1, 'is required'),
  json: z.boolean(),
  bothOrders: z.boolean(),
  fps: z.coerce.number().positive(),
  seed: integerFlag(0),
});

/** `flex judge`: judge two images (or two videos) with a Flex judge checkpoint. */
export function judgeCommand(program: Command): void {
  program
    .command('judge')
    .description('judge two images (PNG files) or two videos (folders of PNG frames) for a prompt')
    .requiredOption('--model <dir>', 'Flex judge checkpoint folder')
    .requiredOption('--prompt <text>', 'the generation prompt')
    .requiredOption('--a <path>', 'candidate A: a PNG, or a folder of PNG frames')
    .requiredOption('--b <path>', 'candidate B: a PNG, or a folder of PNG frames')
    .option('--json', 'print the assessment as the published Flex JSON', false)
    .option('--both-orders', 'judge (A, B) and (B, A) and average', false)
    .option('--fps <n>', 'frames per second of video folders', '8')
    .option('--seed <s>', 'sampling seed', '0')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(judgeOptionsSchema, raw);
      const [a, b] = await Promise.all([readMedia(options.a, options.fps), readMedia(options.b, options.fps)]);
      const modality = 'frames' in a ? 'video' : 'image';
      if (('frames' in b ? 'video' : 'image') !== modality) throw new CliError('invalid_option', '--a and --b must both be images or both be videos');
      const model = await import('@flex/model');
      await model.initBackend();
      const loaded = await model.loadCheckpoint({ directory: options.model, kind: 'flex-judge' });
      const [result] = await loaded.model.judge([{ prompt: options.prompt, modality, a, b }], { bothOrders: options.bothOrders, seed: options.seed });
      if (!result || !result.ok) throw new CliError('stage_failed', `the judge could not assess the pair: ${result ? result.error.message : 'no result'}`, 1);
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...result.assessment, probability_a: result.probabilityA }, null, 2)}\n`);
        return;
      }
      const lines = [`winner: ${result.assessment.winner}  (P(A wins) ${result.probabilityA.toFixed(3)})`];
      if (result.assessment.intent) lines.push(`intent: ${result.assessment.intent}`);
      result.assessment.evidence?.forEach((e, i) => lines.push(`evidence ${i + 1}: ${e}`));
      for (const category of result.assessment.categories) {
        lines.push(`${category.name}: ${category.cat_winner}`);
        for (const d of category.dims) lines.push(`  ${d.name}: ${d.score_1}-${d.score_2}  (${d.reason_1} | ${d.reason_2})`);
      }
      lines.push(`reason: ${result.assessment.reason}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
