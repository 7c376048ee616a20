import type { Command } from 'commander';
import { join } from 'node:path';
import { z } from 'zod';
import type { TrainerCallbacks } from '@flex/model';
import { curate, dpo } from '@flex/dpo';
import { baseImageCheckpoint, distill, pretrain, pretrainRecipe, sft, traceFilterSchema } from '@flex/sft';
import { SimulatedTeacher } from '@flex/synth';
import { CliError } from '../errors';
import { integerFlag, parseOptions } from '../options';
import { createProgress } from '../progress';
import { phaseCallbacks, progressCallbacks } from '../pipeline/training-progress';

const log = (line: string) => process.stderr.write(`${line}\n`);
const callbacksFor = (label: string, total: number, quiet: boolean): TrainerCallbacks[] =>
  total > 0 ? [progressCallbacks({ label, total, quiet, log })] : [];

const pretrainSchema = z.object({
  out: z.string().min(1),
  seed: integerFlag(0),
  preset: z.enum(['tiny', 'small', 'base']),
  steps: integerFlag(1),
  pairs: integerFlag(1),
  resume: z.boolean(),
  quiet: z.boolean(),
  recipe: z.enum(['shipped']).optional(),
});

/** `flex pretrain`: rebuild the base model (Stage 0) on the world's descriptions, questions and checks. */
export function pretrainCommand(program: Command): void {
  program
    .command('pretrain')
    .description('pretrain the base vision-language model on the embedded world (descriptions, grounded questions, checks)')
    .requiredOption('--out <dir>', 'output folder; the base checkpoint is <out>/final')
    .option('--seed <s>', 'seed of the world draw, initial weights and data order', '0')
    .option('--preset <name>', 'model size: tiny, small or base', 'small')
    .option('--steps <n>', 'optimizer steps (the shipped base used 2600)', '2600')
    .option('--pairs <n>', 'world pairs drawn for training', '6000')
    .option('--resume', 'resume from the latest checkpoint in --out', false)
    .option('--recipe <name>', "'shipped': rebuild the shipped base with its four phases (into <out>/<phase>, ~2 h on 2 cores; finished phases are skipped, an interrupted one resumes); --steps, --pairs, --seed and --preset then do not apply")
    .option('--quiet', 'no progress output', false)
    .action(async (raw: Record<string, unknown>) => {
      const o = parseOptions(pretrainSchema, raw);
      if (o.recipe === 'shipped') {
        const phases = phaseCallbacks();
        const result = await pretrainRecipe({
          out: o.out,
          callbacks: [phases.callbacks],
          onPhase: (index, name, total, steps) => {
            log(`phase ${index + 1}/${total}: ${name}`);
            phases.start(callbacksFor(`pretrain ${name}`, steps ?? 0, o.quiet)[0]);
          },
        });
        for (const p of result.phases) log(`${p.name}${p.skipped ? ' (already done)' : ''}: caption accuracy ${JSON.stringify(p.captionAccuracy)}`);
        process.stdout.write(`base checkpoint: ${result.checkpoint}\n`);
        return;
      }
      const result = await pretrain({
        out: o.out,
        seed: o.seed,
        preset: o.preset,
        pairs: o.pairs,
        trainer: { maxSteps: o.steps },
        callbacks: callbacksFor('pretrain', o.steps, o.quiet),
        resume: o.resume,
      });
      process.stdout.write(`base checkpoint: ${result.checkpoint}\ncaption accuracy (held out): ${JSON.stringify(result.captionAccuracy)}\n`);
    });
}

const distillSchema = z.object({
  data: z.string().min(1),
  out: z.string().optional(),
  teacher: z.enum(['simulated', 'openai']),
  baseUrl: z.string().url('must be a URL such as http://127.0.0.1:8000/v1').optional(),
  model: z.string().optional(),
  apiKeyEnv: z.string().min(1),
  filter: traceFilterSchema,
  seed: integerFlag(0),
  limit: integerFlag(1).optional(),
  concurrency: integerFlag(1),
  quiet: z.boolean(),
});

/** `flex distill`: ask a teacher for Flex traces of every training pair (simulated, or any OpenAI-compatible judge). */
export function distillCommand(program: Command): void {
  program
    .command('distill')
    .description('ask a teacher judge for a Flex assessment of every training pair; resumable (answered pairs are skipped)')
    .requiredOption('--data <dir>', 'training dataset folder')
    .option('--out <file>', 'traces file (default <data>/traces.jsonl)')
    .option('--teacher <kind>', 'simulated (the embedded world\'s teacher) or openai (any OpenAI-compatible endpoint)', 'simulated')
    .option('--base-url <url>', 'with --teacher openai: the endpoint, including /v1')
    .option('--model <name>', 'with --teacher openai: the model name')
    .option('--api-key-env <name>', 'with --teacher openai: the environment variable holding the API key', 'OPENAI_API_KEY')
    .option('--filter <name>', 'none, correct or both-correct (both-correct also asks the reversed order)', 'correct')
    .option('--seed <s>', 'seed of the A/B order shown to the teacher', '0')
    .option('--limit <n>', 'use only the first n pairs')
    .option('--concurrency <n>', 'with --teacher openai: requests in flight', '4')
    .option('--quiet', 'no progress output', false)
    .action(async (raw: Record<string, unknown>) => {
      const o = parseOptions(distillSchema, raw);
      let teacher;
      if (o.teacher === 'openai') {
        if (!o.baseUrl || !o.model) throw new CliError('invalid_option', '--teacher openai needs --base-url and --model');
        const { RemoteJudge } = await import('@flex/model');
        teacher = new RemoteJudge({ baseUrl: o.baseUrl, model: o.model, apiKeyEnvironmentVariable: o.apiKeyEnv, concurrency: o.concurrency });
      } else {
        teacher = new SimulatedTeacher({});
      }
      let progress: ReturnType<typeof createProgress> | undefined;
      const stats = await distill({
        data: o.data,
        teacher,
        filter: o.filter,
        seed: o.seed,
        ...(o.out ? { out: o.out } : {}),
        ...(o.limit ? { limit: o.limit } : {}),
        onProgress: (done, total) => {
          progress ??= createProgress({ label: 'distill', total, unit: 'pairs', quiet: o.quiet });
          progress.update(done);
        },
      });
      progress?.stop();
      process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    });
}

const sftSchema = z.object({
  data: z.string().min(1),
  out: z.string().min(1),
  base: z.string().optional(),
  traces: z.string().optional(),
  filter: traceFilterSchema,
  steps: integerFlag(1),
  batchSize: integerFlag(1),
  learningRate: z.coerce.number().positive('must be positive'),
  seed: integerFlag(0),
  resume: z.boolean(),
  quiet: z.boolean(),
});

/** `flex sft`: fine-tune a judge from the base on the kept teacher traces. */
export function sftCommand(program: Command): void {
  program
    .command('sft')
    .description('supervised fine-tuning of a Flex judge on teacher traces (assessment tokens only, description loss mixed in)')
    .requiredOption('--data <dir>', 'training dataset folder (with its traces)')
    .requiredOption('--out <dir>', 'output folder; the judge is <out>/final')
    .option('--base <dir>', 'base checkpoint (default: the shipped image base)')
    .option('--traces <file>', 'traces file (default <data>/traces.jsonl)')
    .option('--filter <name>', 'none, correct or both-correct', 'correct')
    .option('--steps <n>', 'optimizer steps', '400')
    .option('--batch-size <n>', 'examples per step', '16')
    .option('--learning-rate <lr>', 'peak learning rate', '0.0015')
    .option('--seed <s>', 'seed of the data order', '0')
    .option('--resume', 'resume from the latest checkpoint in --out', false)
    .option('--quiet', 'no progress output', false)
    .action(async (raw: Record<string, unknown>) => {
      const o = parseOptions(sftSchema, raw);
      const result = await sft({
        base: o.base ?? baseImageCheckpoint,
        data: o.data,
        out: o.out,
        filter: o.filter,
        seed: o.seed,
        ...(o.traces ? { traces: o.traces } : {}),
        config: { maxSteps: o.steps, batchSize: o.batchSize, learningRate: o.learningRate },
        callbacks: callbacksFor('sft', o.steps, o.quiet),
        resume: o.resume,
      });
      process.stdout.write(`judge checkpoint: ${result.checkpoint} (${result.traces} traces, ${result.descriptions} descriptions, ${result.train.status})\n`);
    });
}

const dpoSchema = z.object({
  model: z.string().min(1),
  data: z.string().min(1),
  out: z.string().min(1),
  preferences: z.string().optional(),
  traces: z.string().optional(),
  samples: integerFlag(2),
  limit: integerFlag(1).optional(),
  steps: integerFlag(1),
  beta: z.coerce.number().positive('must be positive'),
  loss: z.enum(['sigmoid', 'hinge', 'ipo', 'conservative']),
  seed: integerFlag(0),
  resume: z.boolean(),
  quiet: z.boolean(),
});

/** `flex dpo`: curate preference pairs from the judge's own samples (unless given), then DPO. */
export function dpoCommand(program: Command): void {
  program
    .command('dpo')
    .description("curate preference pairs from a judge's own samples (right vs wrong verdicts), then train it with DPO")
    .requiredOption('--model <dir>', 'the SFT judge checkpoint (also the reference)')
    .requiredOption('--data <dir>', 'training dataset folder')
    .requiredOption('--out <dir>', 'output folder: <out>/preferences and <out>/train/final')
    .option('--preferences <dir>', 'use preferences already curated into this folder')
    .option('--traces <file>', 'teacher traces, for teacher-vs-model pairs (default <data>/traces.jsonl)')
    .option('--samples <n>', 'assessments sampled per pair', '4')
    .option('--limit <n>', 'curate from the first n pairs')
    .option('--steps <n>', 'optimizer steps', '100')
    .option('--beta <b>', 'DPO β', '0.1')
    .option('--loss <kind>', 'sigmoid, hinge, ipo or conservative', 'sigmoid')
    .option('--seed <s>', 'seed of sampling and data order', '0')
    .option('--resume', 'resume training from the latest checkpoint', false)
    .option('--quiet', 'no progress output', false)
    .action(async (raw: Record<string, unknown>) => {
      const o = parseOptions(dpoSchema, raw);
      let preferences = o.preferences;
      if (!preferences) {
        const curated = await curate({
          model: o.model,
          data: o.data,
          out: join(o.out, 'preferences'),
          samples: o.samples,
          seed: o.seed,
          ...(o.traces ? { traces: o.traces } : {}),
          ...(o.limit ? { limit: o.limit } : {}),
        });
        process.stderr.write(`curated ${curated.preferences} preference pairs into ${curated.out}\n`);
        preferences = curated.out;
      }
      const result = await dpo({
        model: o.model,
        data: o.data,
        preferences,
        out: join(o.out, 'train'),
        seed: o.seed,
        config: { maxSteps: o.steps, beta: o.beta, lossType: o.loss },
        callbacks: callbacksFor('dpo', o.steps, o.quiet),
        resume: o.resume,
      });
      process.stdout.write(`judge checkpoint: ${result.checkpoint} (${result.pairs} pairs, ${result.train.status})\n`);
    });
}
