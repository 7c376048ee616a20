/**
 * The GRPO benchmark (issue 6): on held-out prompts of the embedded world, scored by the @flex/synth pixel
 * oracle (never the training reward), the pre-trained generator's oracle score, then after GRPO with
 * (a) the pairwise Flex reward and (b) a scalar pointwise reward, for images and videos, same budget of
 * steps, at least two seeds per arm. Reward and oracle curves are printed side by side; grids are written.
 *
 *   npm run bench -w @flex/grpo -- [--steps 30] [--seeds 2] [--modalities image,video]
 *                                  [--flex-judge <checkpoint>] [--bt-judge <checkpoint>] [--out runs/grpo-bench]
 *
 * Without --flex-judge / --bt-judge the arms use stand-ins that see the same simulated perception: the
 * pairwise arm a simulated Flex judge on pixels, the scalar arm the same perception's utility as one score.
 * Last line: one JSON object (oracle_base, oracle_flex, oracle_bt, seed_spread, video_…).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Judge, Media } from '@flex/criteria';
import { createFlowGenerator, initBackend, loadCheckpoint, loadFlowGenerator, runMain, type FlowGenerator } from '@flex/model';
import type { PromptSpec } from '@flex/synth';
import { createFlowPolicy, functionReward, GRPOTrainer, pairwiseJudgeReward, type RewardFunction } from '../src/index';
import { oracleScore, pixelTeacherJudge, pixelTeacherScore, worldPrompts, writeGrid, type WorldPrompt } from '../scripts/world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}

const here = dirname(fileURLToPath(import.meta.url));
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function copyOf(generator: FlowGenerator): FlowGenerator {
  const copy = createFlowGenerator(generator.config);
  copy.parameters.assign(Object.fromEntries(generator.parameters.entries()));
  return copy;
}

interface ArmResult {
  oracle: number;
  curve: [number, number][];
  seconds: { sampling: number; judging: number; update: number; step: number };
}

await runMain(async () => {
  const steps = Number(argument('steps', '30'));
  const seeds = Array.from({ length: Number(argument('seeds', '2')) }, (_, i) => i);
  const modalities = argument('modalities', 'image,video').split(',') as ('image' | 'video')[];
  const out = argument('out', join(process.cwd(), 'runs', 'grpo-bench'));
  await mkdir(out, { recursive: true });
  const backend = await initBackend();
  const started = performance.now();
  const flexCheckpoint = process.argv.includes('--flex-judge') ? argument('flex-judge', '') : undefined;
  const btCheckpoint = process.argv.includes('--bt-judge') ? argument('bt-judge', '') : undefined;
  const flexJudge = flexCheckpoint ? ((await loadCheckpoint({ directory: flexCheckpoint, kind: 'flex-judge' })).model as unknown as Judge) : undefined;
  const btModel = btCheckpoint ? (await loadCheckpoint({ directory: btCheckpoint, kind: 'bradley-terry' })).model : undefined;
  const summary: Record<string, number | string | boolean> = { backend: backend.backend, steps, seeds: seeds.length, flex_judge: flexCheckpoint ?? 'stand-in: simulated Flex judge on pixels', bt_reward: btCheckpoint ?? 'stand-in: scalar utility of the same perception' };
  for (const modality of modalities) {
    const prefix = modality === 'image' ? '' : 'video_';
    const { generator: base } = await loadFlowGenerator({ folder: join(argument('generators', join(here, '..', 'generators')), modality === 'image' ? 'image-32' : 'video-24') });
    const held = worldPrompts({ modality, count: Number(argument('held-out', '64')), seed: 0, heldOut: true });
    const evalPolicy = createFlowPolicy({ generator: base, steps: 10 });
    const baseGroups = await evalPolicy.sample({ prompts: held.map((p) => p.text), groupSize: 1, seed: 0, mode: 'eval' });
    const baseOracle = mean(baseGroups.map((g, i) => oracleScore(held[i] as WorldPrompt, g.rollouts[0]!.sample)));
    console.log(`${modality}: pre-trained oracle ${baseOracle.toFixed(4)} on ${held.length} held-out prompts`);
    await writeGrid({ file: join(out, `${modality}-before.png`), rows: modality === 'image' ? [baseGroups.slice(0, 8).map((g) => g.rollouts[0]!.sample)] : baseGroups.slice(0, 4).map((g) => [g.rollouts[0]!.sample]) });
    const results: Record<'flex' | 'bt', ArmResult[]> = { flex: [], bt: [] };
    for (const arm of ['flex', 'bt'] as const) {
      for (const seed of seeds) {
        const train = worldPrompts({ modality, count: 256, seed: seed + 1 });
        const specs = new Map<string, PromptSpec>([...train, ...held].map((p) => [p.text, p.spec]));
        const byText = new Map<string, WorldPrompt>([...train, ...held].map((p) => [p.text, p]));
        let reward: RewardFunction<string, Media>;
        if (arm === 'flex') reward = pairwiseJudgeReward({ judge: flexJudge ?? pixelTeacherJudge({ specs, seed }) });
        else if (btModel) reward = { name: 'bradley-terry', score: async ({ prompts, samples }) => btModel.score(samples.map((media, i) => ({ prompt: prompts[i] as string, media }))) };
        else {
          const score = pixelTeacherScore({ specs, seed });
          reward = functionReward<string, Media>({ name: 'scalar', score: ({ prompt, sample, index }) => score(prompt, sample, index) });
        }
        const generator = copyOf(base);
        const policy = createFlowPolicy({ generator, reference: copyOf(base), steps: 10 });
        const trainer = new GRPOTrainer({
          policy,
          reward,
          prompts: train.map((p) => p.text),
          evalReward: functionReward<string, Media>({ name: 'oracle', score: ({ prompt, sample }) => oracleScore(byText.get(prompt) as WorldPrompt, sample) }),
          evalPrompts: held.map((p) => p.text),
          config: {
            seed,
            maxSteps: steps,
            promptsPerStep: 4,
            groupSize: Number(argument('group', '8')),
            learningRate: Number(argument('lr', '1e-4')),
            epsilonLow: Number(argument('clip', '1e-2')),
            beta: Number(argument('beta', '0.01')),
            minibatches: Number(argument('minibatches', '1')),
            trainStepFraction: Number(argument('fraction', '0.5')),
            evalSteps: Math.max(1, Math.floor(steps / 3)),
            updateInWorker: true,
          },
          callbacks: [
            {
              onStepEnd: ({ step, metrics: m }) => {
                if (step % 4 === 0) {
                  console.log(
                    `  ${modality} ${arm} seed ${seed} step ${step}: reward ${m.reward?.toFixed(3)} ±${m.reward_std?.toFixed(3)} kl ${m.kl?.toExponential(1)} ` +
                      `sampling ${m['time/sampling']?.toFixed(1)} s, judging ${m['time/judging']?.toFixed(1)} s, update ${m['time/update']?.toFixed(1)} s (worker), step ${m['time/step']?.toFixed(1)} s`,
                  );
                }
              },
            },
          ],
        });
        const result = await trainer.train();
        const curve = result.evaluations.map((e) => [e.step, e.metrics['eval/reward'] as number] as [number, number]);
        const final = curve[curve.length - 1]?.[1] ?? Number.NaN;
        const seconds = {
          sampling: mean(result.history.map((h) => h['time/sampling'] as number)),
          judging: mean(result.history.map((h) => h['time/judging'] as number)),
          update: mean(result.history.map((h) => h['time/update'] as number)),
          step: mean(result.history.map((h) => h['time/step'] as number)),
        };
        results[arm].push({ oracle: final, curve, seconds });
        // The reward curve: group std of the training reward (a pairwise reward's mean is 0.5 by construction).
        console.log(`  ${modality} ${arm} seed ${seed}: oracle ${baseOracle.toFixed(4)} → ${final.toFixed(4)}; curve ${curve.map(([s, v]) => `${s}:${v.toFixed(3)}`).join(' ')}; reward_std ${result.history.map((h) => (h.reward_std as number).toFixed(2)).join(' ')}`);
        if (seed === seeds[0]) {
          const after = await policy.sample({ prompts: held.slice(0, 8).map((p) => p.text), groupSize: 1, seed: 0, mode: 'eval' });
          await writeGrid({ file: join(out, `${modality}-${arm}-after.png`), rows: modality === 'image' ? [after.map((g) => g.rollouts[0]!.sample)] : after.slice(0, 4).map((g) => [g.rollouts[0]!.sample]) });
        }
        generator.dispose();
        policy.reference?.dispose();
      }
    }
    const spread = (rs: ArmResult[]) => Math.max(...rs.map((r) => r.oracle)) - Math.min(...rs.map((r) => r.oracle));
    summary[`${prefix}oracle_base`] = baseOracle;
    summary[`${prefix}oracle_flex`] = mean(results.flex.map((r) => r.oracle));
    summary[`${prefix}oracle_bt`] = mean(results.bt.map((r) => r.oracle));
    summary[`${prefix}seed_spread`] = Math.max(spread(results.flex), spread(results.bt));
    summary[`${prefix}time_sampling_s`] = mean([...results.flex, ...results.bt].map((r) => r.seconds.sampling));
    summary[`${prefix}time_judging_s`] = mean([...results.flex, ...results.bt].map((r) => r.seconds.judging));
    summary[`${prefix}time_update_s`] = mean([...results.flex, ...results.bt].map((r) => r.seconds.update));
    summary[`${prefix}time_step_s`] = mean([...results.flex, ...results.bt].map((r) => r.seconds.step));
    base.dispose();
  }
  summary.minutes = (performance.now() - started) / 60_000;
  console.log(JSON.stringify(summary));
});
