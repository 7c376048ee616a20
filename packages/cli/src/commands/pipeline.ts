import type { Command } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { initBackend } from '@flex/model';
import { integerFlag, parseOptions } from '../options';
import { presetConfig } from '../pipeline/presets';
import { runStages } from '../pipeline/runner';
import { pipelineStages } from '../pipeline/stages';

const pipelineOptionsSchema = z.object({
  preset: z.enum(['quick', 'default', 'full']),
  out: z.string().min(1),
  seed: integerFlag(0),
  fromScratch: z.boolean(),
  only: z.string().optional(),
  force: z.boolean(),
  quiet: z.boolean(),
});

/** `flex pipeline`: the main job, every stage in order into one run folder, resumable. */
export function pipelineCommand(program: Command): void {
  program
    .command('pipeline')
    .description('the main job: data → base model → distill → SFT → DPO → baselines → eval → GRPO → report, into one run folder; rerun to resume')
    .option('--preset <name>', 'quick (minutes), default (under 30 minutes on 2 cores) or full', 'default')
    .option('--out <dir>', 'run folder', 'runs/default')
    .option('--seed <s>', 'seed of every stage', '0')
    .option('--from-scratch', 'rebuild the pretrained base model instead of starting from the shipped one', false)
    .option('--only <stages>', `comma-separated stages to run (${pipelineStages.map((s) => s.name).join(', ')})`)
    .option('--force', 'rerun stages even when complete', false)
    .option('--quiet', 'no progress bars', false)
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(pipelineOptionsSchema, raw);
      const config = presetConfig(options.preset, { seed: options.seed, fromScratch: options.fromScratch });
      const backend = await initBackend();
      const runDir = resolve(options.out);
      process.stderr.write(`flex pipeline: preset ${config.preset}, seed ${config.seed}, backend ${backend.backend}, run folder ${runDir}\n`);
      const only = options.only?.split(',').map((s) => s.trim()).filter(Boolean);
      const summaries = await runStages({
        runDir,
        stages: pipelineStages,
        config,
        force: options.force,
        quiet: options.quiet,
        ...(only ? { only } : {}),
      });
      const table = summaries['eval']?.['table'];
      if (typeof table === 'string') process.stdout.write(`\n${table}\n`);
      const report = summaries['eval']?.['report'];
      if (typeof report === 'string') process.stdout.write(`\nreport: ${report}\n`);
    });
}
