import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { isVideo, type Judge, type Media, type RgbImage } from '@flex/criteria';
import { loadBaselineJudge } from '@flex/eval';
import {
  createFlowPolicy,
  GrpoError,
  GRPOTrainer,
  latestGrpoCheckpoint,
  pairedChange,
  pairwiseJudgeReward,
  shippedGenerators,
  type FlowPolicy,
  type GRPOMetrics,
  type RewardFunction,
} from '@flex/grpo';
import { initBackend, loadFlowGenerator, saveFlowGenerator } from '@flex/model';
import { encodePng, promptText, samplePromptSpec, scoreGeneration, type PromptSpec } from '@flex/synth';
import { CliError } from '../errors';
import { integerFlag, parseOptions } from '../options';
import { createProgress } from '../progress';

/** Seeds of the held-out evaluation prompts start here (the same set for every run, whatever its seed). */
const HELD_OUT_SEED_BASE = 1_000_000;

/** Options of {@link runGrpo}: one GRPO run of a flow generator against a judge, evaluated by the world's oracle. */
export interface RunGrpoOptions {
  /** The judge whose pairwise verdicts are the reward (the Flex reward of every pair of a group). */
  readonly judge: Judge;
  /** A flow generator folder (`loadFlowGenerator`). Default: the shipped image generator. */
  readonly generator?: string;
  /** Output folder: `train/` (metrics.jsonl, checkpoints), `generator/` (the trained generator), `grpo.json`, grids. */
  readonly out: string;
  /** GRPO steps. */
  readonly steps: number;
  /** Samples per prompt (G). */
  readonly groupSize: number;
  /** Prompts per step. */
  readonly promptsPerStep: number;
  /** Adam learning rate. */
  readonly learningRate: number;
  /** Seed of the training prompts, sampling noise and updates. */
  readonly seed: number;
  /** Held-out prompts scored by the oracle before and after. */
  readonly heldOut: number;
  /** Evaluate every this many steps (0: only at the end). */
  readonly evalSteps: number;
  /** Run the update in a worker thread (its own core). */
  readonly updateInWorker: boolean;
  /**
   * Train only these sampler steps: the SDE on them, the ODE elsewhere (`createFlowPolicy`'s `sdeWindow`,
   * docs/grpo.md). Default: every step.
   */
  readonly sdeWindow?: { readonly start: number; readonly length: number };
  /** The stochastic steps' dynamics (`createFlowPolicy`'s `dynamics`): Flow-GRPO's SDE (default) or CPS. */
  readonly dynamics?: 'flow-sde' | 'cps';
  /** Their noise level: a for the SDE (default 0.7), η ∈ (0, 1] for CPS. */
  readonly noiseLevel?: number;
  /** How advantages are scaled (`GRPOConfig.scaleRewards`): by each group's std (default, Flow-GRPO), the batch's, or not. */
  readonly scaleRewards?: 'group' | 'batch' | 'none';
  /** The learning rate's schedule over the steps (`GRPOConfig.lrSchedulerType`): constant (default), linear to 0, or cosine to 10%. */
  readonly lrSchedulerType?: 'constant' | 'linear' | 'cosine';
  /** The Flex reward's category weights (`pairwiseJudgeReward`'s `categoryWeights`), e.g. `{ A: 1 }`. Default REFERENCE.md §3's. */
  readonly categoryWeights?: Readonly<Record<string, number>>;
  readonly quiet: boolean;
  readonly log: (line: string) => void;
}

/** What {@link runGrpo} reports (also written to `<out>/grpo.json`). */
export interface GrpoRunSummary {
  readonly [key: string]: unknown;
  readonly modality: 'image' | 'video';
  readonly steps: number;
  readonly oracleBefore: number;
  readonly oracleAfter: number;
  readonly oracleCurve: readonly (readonly [number, number])[];
  /** oracleAfter − oracleBefore: the mean of the per-prompt differences (same prompts, same starting noise). */
  readonly oracleChange: number;
  /** Standard error of that mean over the held-out prompts (null with fewer than 2). */
  readonly oracleChangeStdError: number | null;
  readonly summary: string;
  readonly generator: string;
  readonly checkpoint: string | null;
}

interface WorldPrompt {
  readonly spec: PromptSpec;
  readonly text: string;
}

function worldPrompts(modality: 'image' | 'video', count: number, base: number): WorldPrompt[] {
  return Array.from({ length: count }, (_, i) => {
    const spec = samplePromptSpec({ modality, seed: base + i });
    return { spec, text: promptText(spec) };
  });
}

const mean = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length);

/** Held-out sets below this size give oracle means that per-prompt jumps dominate (see the summary's s.e.). */
const FEW_HELD_OUT = 32;

/** One PNG row of samples (a video shows its frames side by side), each pixel repeated `zoom` times. */
function gridImage(samples: readonly Media[], zoom = 4): RgbImage {
  const tiles = samples.map((m) => (isVideo(m) ? [...m.frames] : [m]));
  const side = (tiles[0]?.[0] as RgbImage | undefined)?.width ?? 1;
  const cell = side * zoom + 2;
  const columns = Math.max(1, ...tiles.map((t) => t.length));
  const width = columns * cell;
  const height = tiles.length * cell;
  const data = new Float32Array(width * height * 3).fill(1);
  tiles.forEach((row, r) =>
    row.forEach((image, c) => {
      for (let y = 0; y < image.height * zoom; y++) {
        for (let x = 0; x < image.width * zoom; x++) {
          const source = (Math.floor(y / zoom) * image.width + Math.floor(x / zoom)) * 3;
          const target = ((r * cell + y) * width + c * cell + x) * 3;
          for (let k = 0; k < 3; k++) data[target + k] = image.data[source + k] as number;
        }
      }
    }),
  );
  return { width, height, data };
}

async function writeGrid(policy: FlowPolicy, prompts: readonly WorldPrompt[], file: string): Promise<void> {
  const groups = await policy.sample({ prompts: prompts.map((p) => p.text), groupSize: 1, seed: 0, mode: 'eval' });
  await writeFile(file, encodePng(gridImage(groups.map((g) => g.rollouts[0]!.sample))));
}

/**
 * GRPO of a flow generator with the pairwise Flex reward over `judge`, resumable (an interrupted run continues
 * from the newest checkpoint in `<out>/train`), with the held-out oracle (the `@flex/synth` pixel oracle, never
 * the training reward) before and after, the reward curve beside the oracle curve, and sample grids.
 */
export async function runGrpo(options: RunGrpoOptions): Promise<GrpoRunSummary> {
  const o = options;
  await initBackend();
  const folder = o.generator ?? shippedGenerators.image;
  if (!existsSync(join(folder, 'config.json'))) throw new CliError('missing_input', `--generator: no flow generator at ${folder} (expected a folder with config.json)`);
  const { generator } = await loadFlowGenerator({ folder });
  const modality = generator.config.modality;
  await mkdir(o.out, { recursive: true });
  const train = worldPrompts(modality, 256, (o.seed + 1) * 100_000);
  const held = worldPrompts(modality, o.heldOut, HELD_OUT_SEED_BASE);
  const byText = new Map<string, WorldPrompt>([...train, ...held].map((p) => [p.text, p]));
  let policy: FlowPolicy;
  try {
    policy = createFlowPolicy({
      generator,
      ...(o.sdeWindow ? { sdeWindow: o.sdeWindow } : {}),
      ...(o.dynamics ? { dynamics: o.dynamics } : {}),
      ...(o.noiseLevel !== undefined ? { noiseLevel: o.noiseLevel } : {}),
    });
  } catch (error) {
    // The policy checks the window against the generator's steps and the noise level against the dynamics: name the flag.
    const flag = GrpoError.isInstance(error) && error.code === 'invalid_options' ? policyFlags[error.option ?? ''] : undefined;
    if (flag) throw new CliError('invalid_option', `${flag}: ${(error as Error).message}`);
    throw error;
  }
  const outputDir = join(o.out, 'train');
  // Every evaluation's per-prompt oracle scores (same prompts, same starting noise), for the paired change.
  const evaluations: number[][] = [];
  const evalReward: RewardFunction<string, Media> = {
    name: 'oracle',
    score: async ({ prompts, samples }) => {
      const scores = samples.map((sample, i) => scoreGeneration({ spec: (byText.get(prompts[i] as string) as WorldPrompt).spec, media: sample }).utility);
      evaluations.push(scores);
      return scores;
    },
  };
  const trainer = new GRPOTrainer({
    policy,
    reward: pairwiseJudgeReward({ judge: o.judge, ...(o.categoryWeights ? { categoryWeights: { ...o.categoryWeights } } : {}) }),
    prompts: train.map((p) => p.text),
    evalReward,
    evalPrompts: held.map((p) => p.text),
    config: {
      seed: o.seed,
      maxSteps: o.steps,
      groupSize: o.groupSize,
      promptsPerStep: o.promptsPerStep,
      learningRate: o.learningRate,
      ...(o.scaleRewards ? { scaleRewards: o.scaleRewards } : {}),
      ...(o.lrSchedulerType ? { lrSchedulerType: o.lrSchedulerType } : {}),
      evalSteps: o.evalSteps,
      outputDir,
      updateInWorker: o.updateInWorker,
    },
    callbacks: [progressOf(o)],
  });
  const gridPrompts = held.slice(0, modality === 'image' ? 8 : 4);
  // The pre-trained generator's score, before any checkpoint is loaded.
  const before = (await trainer.evaluate())['eval/reward'] as number;
  const beforeScores = evaluations[evaluations.length - 1] as number[];
  await writeGrid(policy, gridPrompts, join(o.out, 'samples-before.png'));
  const resume = (await latestGrpoCheckpoint(outputDir)) !== undefined;
  if (resume) o.log(`[grpo] resuming from the latest checkpoint in ${outputDir}`);
  const result = await trainer.train(resume ? { resumeFrom: 'latest' } : {});
  await writeGrid(policy, gridPrompts, join(o.out, 'samples-after.png'));
  const generatorOut = join(o.out, 'generator');
  const oracleCurve = result.evaluations.map((e) => [e.step, e.metrics['eval/reward'] as number] as const);
  const after = oracleCurve[oracleCurve.length - 1]?.[1] ?? before;
  // The last evaluation is the final one (or none ran: a resumed run that was already complete).
  const { change, stdError } = pairedChange(beforeScores, result.evaluations.length > 0 ? (evaluations[evaluations.length - 1] as number[]) : beforeScores);
  const noise =
    stdError === null
      ? 'one prompt: no error estimate'
      : `Δ ${change >= 0 ? '+' : ''}${change.toFixed(4)} ± ${stdError.toFixed(4)} s.e., paired${Math.abs(change) < 2 * stdError ? ': within 2 s.e. of no change' : ''}`;
  const few = held.length < FEW_HELD_OUT ? `; only ${held.length} held-out prompts: use --held-out 64 or more to read a change` : '';
  await saveFlowGenerator({
    generator,
    folder: generatorOut,
    provenance: { command: 'flex grpo', from: resolve(folder), judge: o.judge.name, steps: result.step, seed: o.seed, oracle_before: before, oracle_after: after },
  });
  const history = result.history;
  const column = (key: string) => history.map((h) => h[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const summary: GrpoRunSummary = {
    modality,
    judge: o.judge.name,
    steps: result.step,
    groupSize: o.groupSize,
    promptsPerStep: o.promptsPerStep,
    learningRate: o.learningRate,
    seed: o.seed,
    sdeWindow: o.sdeWindow ?? null,
    dynamics: policy.options.dynamics,
    noiseLevel: policy.options.noiseLevel,
    scaleRewards: trainer.config.scaleRewards,
    lrSchedulerType: trainer.config.lrSchedulerType,
    categoryWeights: o.categoryWeights ?? 'published (REFERENCE.md §3)',
    heldOut: held.length,
    oracleBefore: before,
    oracleAfter: after,
    oracleCurve: [[0, before], ...oracleCurve],
    oracleChange: change,
    oracleChangeStdError: stdError,
    // The reward curve beside the oracle curve: a pairwise reward's mean is 0.5 by construction, so its group std
    // and the judge's share of failures are what move.
    rewardCurve: history.map((h) => [h.step, h.reward, h.reward_std] as const),
    time: { sampling: mean(column('time/sampling')), judging: mean(column('time/judging')), update: mean(column('time/update')), step: mean(column('time/step')) },
    summary: `held-out oracle ${before.toFixed(4)} → ${after.toFixed(4)} (${noise}; ${held.length} prompts, ${result.step} steps${few})`,
    generator: generatorOut,
    checkpoint: result.checkpoint ?? (await latestGrpoCheckpoint(outputDir)) ?? null,
    grids: { before: join(o.out, 'samples-before.png'), after: join(o.out, 'samples-after.png') },
  };
  await writeFile(join(o.out, 'grpo.json'), `${JSON.stringify(summary, null, 2)}\n`);
  generator.dispose();
  return summary;
}

function progressOf(o: RunGrpoOptions) {
  const progress = createProgress({ label: 'grpo', total: o.steps, unit: 'steps', quiet: o.quiet });
  return {
    onStepEnd: ({ step, metrics: m }: { step: number; metrics: GRPOMetrics }) => {
      const values: Record<string, number> = {};
      for (const [key, name] of [
        ['reward_std', 'reward_std'],
        ['time/sampling', 'sampling_s'],
        ['time/judging', 'judging_s'],
        ['time/update', 'update_s'],
      ] as const) {
        const v = m[key];
        if (typeof v === 'number' && Number.isFinite(v)) values[name] = v;
      }
      progress.update(Math.min(step, o.steps), values);
      if (step >= o.steps) progress.stop();
    },
    onEvaluate: ({ step, metrics }: { step: number; metrics: GRPOMetrics }) => {
      if (!o.quiet) o.log(`[grpo] step ${step}: held-out oracle ${(metrics['eval/reward'] as number).toFixed(4)}`);
    },
  };
}

const grpoSchema = z.object({
  judge: z.string().min(1).optional(),
  judgeUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8000/v1' }).optional(),
  judgeModel: z.string().min(1).optional(),
  apiKeyEnv: z.string().min(1),
  generator: z.string().min(1).optional(),
  out: z.string().min(1),
  steps: integerFlag(1),
  groupSize: integerFlag(2),
  promptsPerStep: integerFlag(1),
  lr: z.coerce.number().positive('must be positive'),
  seed: integerFlag(0),
  heldOut: integerFlag(1),
  evalEvery: integerFlag(0).optional(),
  worker: z.boolean(),
  quiet: z.boolean(),
  sdeWindow: z
    .string()
    .regex(/^\d+,\d+$/, 'must be START,LENGTH such as 0,3')
    .transform((v) => {
      const [start, length] = v.split(',').map(Number) as [number, number];
      return { start, length };
    })
    .refine((w) => w.length >= 1, 'the window needs at least one step')
    .optional(),
  dynamics: z.enum(['flow-sde', 'cps']),
  noise: z.coerce.number().positive('must be positive').optional(),
  scaleRewards: z.enum(['group', 'batch', 'none']),
  lrSchedule: z.enum(['constant', 'linear', 'cosine']),
  categoryWeights: z
    .string()
    .transform((text, context) => {
      const weights = z.record(z.string().regex(/^[A-Z]$/), z.number().nonnegative()).safeParse(parseJson(text));
      if (weights.success) return weights.data;
      context.addIssue({ code: 'custom', message: `must be JSON mapping category ids to weights ≥ 0, such as '{"A":1}'` });
      return z.NEVER;
    })
    .optional(),
});

/** The `flex grpo` flag of each `createFlowPolicy` option the command sets (for the policy's own checks). */
const policyFlags: Readonly<Record<string, string>> = { sdeWindow: '--sde-window', noiseLevel: '--noise', dynamics: '--dynamics' };

/** The JSON value of `text`, or undefined when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Loads the judge named by `flex grpo`'s options: a Flex judge checkpoint or a remote OpenAI-compatible one. */
async function judgeFrom(o: z.output<typeof grpoSchema>): Promise<Judge> {
  if (o.judge && o.judgeUrl) throw new CliError('invalid_option', 'give either --judge or --judge-url, not both');
  if (o.judgeUrl) {
    if (!o.judgeModel) throw new CliError('invalid_option', '--judge-url needs --judge-model');
    const { RemoteJudge } = await import('@flex/model');
    return new RemoteJudge({ baseUrl: o.judgeUrl, model: o.judgeModel, apiKeyEnvironmentVariable: o.apiKeyEnv });
  }
  if (!o.judge) throw new CliError('invalid_option', '--judge <checkpoint> or --judge-url <url> is required (the Flex judge that rewards the generator)');
  if (!existsSync(join(o.judge, 'config.json'))) throw new CliError('missing_input', `--judge: no judge checkpoint at ${o.judge} (expected a folder with config.json)`);
  return loadBaselineJudge({ id: 'flex-sft-dpo', checkpoint: o.judge });
}

/** `flex grpo`: align a flow generator with a Flex judge (GRPO, pairwise Flex reward), oracle before and after. */
export function grpoCommand(program: Command): void {
  program
    .command('grpo')
    .description('GRPO of a flow-matching generator with the pairwise Flex reward of a judge; held-out oracle before/after, grids; rerun to resume')
    .option('--judge <dir>', 'Flex judge checkpoint (e.g. <run>/dpo/train/final)')
    .option('--judge-url <url>', 'or a remote OpenAI-compatible judge endpoint, including /v1')
    .option('--judge-model <name>', 'with --judge-url: the model name')
    .option('--api-key-env <name>', 'with --judge-url: the environment variable holding the API key', 'OPENAI_API_KEY')
    .option('--generator <dir>', 'flow generator folder (default: the shipped 32×32 image generator)')
    .option('--out <dir>', 'output folder', 'runs/grpo')
    .option('--steps <n>', 'GRPO steps', '30')
    .option('--group-size <n>', 'samples per prompt (G)', '8')
    .option('--prompts-per-step <n>', 'prompts per step', '4')
    .option('--lr <lr>', 'Adam learning rate', '1e-4')
    .option('--lr-schedule <type>', "the learning rate over the steps: 'constant', 'linear' (to 0) or 'cosine' (to 10% of --lr)", 'constant')
    .option('--seed <s>', 'seed of prompts, sampling and updates', '0')
    .option('--held-out <n>', 'held-out prompts scored by the oracle before and after', '64')
    .option('--eval-every <n>', 'evaluate the oracle every n steps (default: 4 times per run; 0 only at the end)')
    .option('--no-worker', 'run the update in this thread instead of a worker thread')
    .option('--sde-window <start,length>', 'train only these sampler steps (SDE there, ODE elsewhere), e.g. 0,3 (default: every step)')
    .option('--dynamics <name>', "stochastic steps: 'flow-sde' (Flow-GRPO) or 'cps' (coefficients-preserving)", 'flow-sde')
    .option('--noise <level>', 'noise level of the stochastic steps: a for flow-sde (default 0.7), η in (0, 1] for cps')
    .option('--scale-rewards <mode>', "advantages scaled by each 'group' std (Flow-GRPO), the 'batch' std, or 'none'", 'group')
    .option('--category-weights <json>', `the Flex reward's category weights, e.g. '{"A":1}' (default: the published ones, REFERENCE.md §3)`)
    .option('--quiet', 'no progress output', false)
    .action(async (raw: Record<string, unknown>) => {
      const o = parseOptions(grpoSchema, raw);
      const judge = await judgeFrom(o);
      const summary = await runGrpo({
        judge,
        ...(o.generator ? { generator: o.generator } : {}),
        out: o.out,
        steps: o.steps,
        groupSize: o.groupSize,
        promptsPerStep: o.promptsPerStep,
        learningRate: o.lr,
        seed: o.seed,
        heldOut: o.heldOut,
        evalSteps: o.evalEvery ?? Math.max(1, Math.ceil(o.steps / 4)),
        updateInWorker: o.worker,
        ...(o.sdeWindow ? { sdeWindow: o.sdeWindow } : {}),
        dynamics: o.dynamics,
        ...(o.noise !== undefined ? { noiseLevel: o.noise } : {}),
        scaleRewards: o.scaleRewards,
        lrSchedulerType: o.lrSchedule,
        ...(o.categoryWeights ? { categoryWeights: o.categoryWeights } : {}),
        quiet: o.quiet,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${summary.summary}\ntrained generator: ${summary.generator}\nreport: ${join(o.out, 'grpo.json')}\n`);
    });
}
