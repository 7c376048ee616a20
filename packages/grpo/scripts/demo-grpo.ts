/**
 * A short GRPO run on a shipped generator with the pairwise Flex reward, to see the whole loop work:
 * held-out oracle score before and after, the reward curve beside the oracle curve, sample grids.
 *
 *   npm run demo-grpo -w @flex/grpo -- --modality image --steps 40 --seed 0 [--worker] [--out runs/demo-grpo]
 *
 * The judge is a stand-in (a simulated Flex judge on pixels, see `pixelTeacherJudge`) until trained Flex and
 * Bradley–Terry judges exist; the evaluation is the @flex/synth pixel oracle, never used for training.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Media } from '@flex/criteria';
import { initBackend, loadFlowGenerator, runMain } from '@flex/model';
import type { PromptSpec } from '@flex/synth';
import { createFlowPolicy, functionReward, GRPOTrainer, pairwiseJudgeReward } from '../src/index';
import { copyGenerator, oracleScore, pixelTeacherJudge, worldPrompts, writeGrid, type WorldPrompt } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}

await runMain(async () => {
  const modality = argument('modality', 'image') as 'image' | 'video';
  const steps = Number(argument('steps', '40'));
  const seed = Number(argument('seed', '0'));
  const here = dirname(fileURLToPath(import.meta.url));
  const folder = argument('generator', join(here, '..', 'generators', modality === 'image' ? 'image-32' : 'video-24'));
  const out = argument('out', join(process.cwd(), 'runs', `demo-grpo-${modality}-${seed}`));
  await mkdir(out, { recursive: true });
  const backend = await initBackend();
  const { generator } = await loadFlowGenerator({ folder });
  const reference = copyGenerator(generator);
  const train = worldPrompts({ modality, count: 256, seed });
  const held = worldPrompts({ modality, count: 32, seed, heldOut: true });
  const specs = new Map<string, PromptSpec>([...train, ...held].map((p) => [p.text, p.spec]));
  const byText = new Map<string, WorldPrompt>([...train, ...held].map((p) => [p.text, p]));
  const oracle = functionReward<string, Media>({ name: 'oracle', score: ({ prompt, sample }) => oracleScore(byText.get(prompt) as WorldPrompt, sample) });
  const policy = createFlowPolicy({ generator, reference, steps: 10 });
  const grid = async (name: string) => {
    const groups = await policy.sample({ prompts: held.slice(0, 8).map((p) => p.text), groupSize: 1, seed: 1, mode: 'eval' });
    await writeGrid({ file: join(out, name), rows: modality === 'image' ? [groups.map((g) => g.rollouts[0]!.sample)] : groups.map((g) => [g.rollouts[0]!.sample]) });
  };
  await grid('samples-before.png');
  const trainer = new GRPOTrainer({
    policy,
    reward: pairwiseJudgeReward({ judge: pixelTeacherJudge({ specs, seed }) }),
    prompts: train.map((p) => p.text),
    evalReward: oracle,
    evalPrompts: held.map((p) => p.text),
    config: {
      seed,
      maxSteps: steps,
      promptsPerStep: Number(argument('prompts', '4')),
      groupSize: Number(argument('group', '6')),
      learningRate: Number(argument('lr', '3e-4')),
      epsilonLow: Number(argument('clip', '2e-3')),
      beta: Number(argument('beta', '0.01')),
      minibatches: Number(argument('minibatches', '2')),
      trainStepFraction: Number(argument('fraction', '0.4')),
      evalSteps: Number(argument('eval-every', '10')),
      outputDir: out,
      updateInWorker: process.argv.includes('--worker'),
    },
    callbacks: [
      {
        onStepEnd: ({ step, metrics: m }) =>
          console.log(
            `step ${step}: reward ${m.reward?.toFixed(3)} (std ${m.reward_std?.toFixed(3)}) kl ${m.kl?.toExponential(2)} clip ${m['clip_ratio/region_mean']?.toFixed(3)} ` +
              `time sampling ${m['time/sampling']?.toFixed(2)} s judging ${m['time/judging']?.toFixed(2)} s update ${m['time/update']?.toFixed(2)} s step ${m['time/step']?.toFixed(2)} s`,
          ),
        onEvaluate: ({ step, metrics }) => console.log(`eval @${step}: oracle ${metrics['eval/reward']?.toFixed(4)}`),
      },
    ],
  });
  const before = await trainer.evaluate();
  console.log(`eval @0: oracle ${before['eval/reward']?.toFixed(4)} (${backend.backend})`);
  const result = await trainer.train();
  await grid('samples-after.png');
  const mean = (key: string, from: number, to: number) => {
    const values = result.history.slice(from, to).map((h) => h[key] as number);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const tail = Math.max(1, Math.floor(steps / 4));
  console.log(
    JSON.stringify({
      modality,
      seed,
      steps,
      oracle_before: before['eval/reward'],
      oracle_after: result.evaluations[result.evaluations.length - 1]?.metrics['eval/reward'],
      oracle_curve: result.evaluations.map((e) => [e.step, e.metrics['eval/reward']]),
      reward_std_first: mean('reward_std', 0, tail),
      reward_std_last: mean('reward_std', steps - tail, steps),
      time_sampling: mean('time/sampling', 0, steps),
      time_judging: mean('time/judging', 0, steps),
      time_update: mean('time/update', 0, steps),
      time_step: mean('time/step', 0, steps),
      worker: process.argv.includes('--worker'),
    }),
  );
});
