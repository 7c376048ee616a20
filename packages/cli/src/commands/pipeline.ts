import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { basename, resolve } from 'node:path';
import { CliError } from '../errors';
import { z } from 'zod';
import { initBackend } from '@flex/model';
import { integerFlag, parseOptions } from '../options';
import { presetConfig } from '../pipeline/presets';
import { readDoneMarker, runStages, type StageSummary } from '../pipeline/runner';
import { pipelineStages } from '../pipeline/stages';

const pipelineOptionsSchema = z.object({
  preset: z.enum(['quick', 'default', 'full']),
  out: z.string().min(1),
  seed: integerFlag(0),
  fromScratch: z.boolean(),
  only: z.string().optional(),
  force: z.boolean(),
  quiet: z.boolean(),
  inProcess: z.boolean(),
});

/** True when this process was started as the `flex` executable (so it can start itself again per stage). */
function startedAsFlex(): boolean {
  const script = process.argv[1];
  return script !== undefined && /^bin\.(ts|js|mjs)$/.test(basename(script));
}

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
    .option('--in-process', 'run every stage in this process (default: each stage in a fresh process, so the wasm heap of one stage, which never shrinks, does not limit the next)', false)
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(pipelineOptionsSchema, raw);
      const config = presetConfig(options.preset, { seed: options.seed, fromScratch: options.fromScratch });
      const backend = await initBackend();
      const runDir = resolve(options.out);
      if (!process.env['FLEX_PIPELINE_CHILD']) process.stderr.write(`flex pipeline: preset ${config.preset}, seed ${config.seed}, backend ${backend.backend}, run folder ${runDir}\n`);
      const only = options.only?.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = only?.filter((name) => !pipelineStages.some((stage) => stage.name === name)) ?? [];
      if (unknown.length > 0) throw new CliError('invalid_option', `--only: unknown stage ${unknown.join(', ')} (stages: ${pipelineStages.map((s) => s.name).join(', ')})`);
      let summaries: Record<string, StageSummary>;
      if (options.inProcess || !startedAsFlex()) {
        summaries = await runStages({ runDir, stages: pipelineStages, config, force: options.force, quiet: options.quiet, ...(only ? { only } : {}) });
      } else {
        // One child process per stage: each starts with a fresh wasm heap (capped at 4 GB, never shrinks).
        for (const stage of pipelineStages) {
          if (only && !only.includes(stage.name)) continue;
          if (stage.enabled && !stage.enabled(config)) continue;
          const args = [
            ...process.execArgv,
            process.argv[1] as string,
            'pipeline',
            '--in-process',
            '--only',
            stage.name,
            '--preset',
            options.preset,
            '--out',
            runDir,
            '--seed',
            String(options.seed),
            ...(options.fromScratch ? ['--from-scratch'] : []),
            ...(options.force ? ['--force'] : []),
            ...(options.quiet ? ['--quiet'] : []),
          ];
          const child = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FLEX_PIPELINE_CHILD: '1' } });
          if (child.status !== 0) throw new CliError('stage_failed', `stage ${stage.name} did not complete (exit ${child.status ?? child.signal}); rerun to resume`, 1);
        }
        summaries = {};
        for (const stage of pipelineStages) {
          const done = await readDoneMarker(runDir, stage.name);
          if (done) summaries[stage.name] = done;
        }
      }
      const table = summaries['eval']?.['table'];
      if (typeof table === 'string') process.stdout.write(`\n${table}\n`);
      const report = summaries['eval']?.['report'];
      if (typeof report === 'string') process.stdout.write(`\nreport: ${report}\n`);
      const grpo = summaries['grpo'];
      if (typeof grpo?.['summary'] === 'string') process.stdout.write(`grpo: ${grpo['summary']}${typeof grpo['report'] === 'string' ? ` (${grpo['report']})` : ''}\n`);
    });
}
