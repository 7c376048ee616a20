/**
 * How much of a GRPO run's measured gain is evaluation noise (issue #6, session 8): trains one Flex run (the
 * stand-in judge, category weights A 1, CPS η 0.5, a random half of window 0–2 trained), then scores the trained and
 * the pre-trained generator on `--held-out` prompts with one ODE sample each, the same noise for both, on two noise
 * seeds. Prints the per-prompt sd of the paired difference and what it means for a mean over 512 prompts.
 *
 *   nice -n 5 node --conditions=@flex/source --import tsx scripts/eval-noise.ts -- [--held-out 2048] [--steps 30]
 *     [--prompts 16] [--group 16] [--lr 1e-4] [--beta 0] [--seed 0] [--modality image] [--no-worker]
 */
import type { Media } from '@flex/criteria';
import { initBackend, loadFlowGenerator, runMain, type FlowGenerator } from '@flex/model';
import type { PromptSpec } from '@flex/synth';
import { createFlowPolicy, deriveSeed, GRPOTrainer, pairedChange, pairwiseJudgeReward, shippedGenerators } from '../src/index';
import { copyGenerator, oracleScore, pixelTeacherJudge, worldPrompts, type WorldPrompt } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: readonly number[]) => {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};
await runMain(async () => {
  await initBackend();
  const modality = argument('modality', 'image') as 'image' | 'video';
  const seed = Number(argument('seed', '0'));
  const { generator: base } = await loadFlowGenerator({ folder: shippedGenerators[modality] });
  const held = worldPrompts({ modality, count: Number(argument('held-out', '2048')), seed: 0, heldOut: true });
  const train = worldPrompts({ modality, count: 256, seed: seed + 1 });
  const specs = new Map<string, PromptSpec>([...train, ...held].map((p) => [p.text, p.spec]));
  const score = async (g: FlowGenerator, evalSeed: number) => {
    const pol = createFlowPolicy({ generator: g, steps: 10 });
    const groups = await pol.sample({ prompts: held.map((p) => p.text), groupSize: 1, seed: deriveSeed(evalSeed, 0, 4), mode: 'eval' });
    return groups.map((gr, i) => oracleScore(held[i] as WorldPrompt, gr.rollouts[0]!.sample as Media));
  };
  const b0 = await score(base, 0);
  const b1 = await score(base, 1);
  console.log(`base: mean ${mean(b0).toFixed(4)} / seed1 ${mean(b1).toFixed(4)} per-sample sd ${sd(b0).toFixed(4)}`);
  const generator = copyGenerator(base);
  const beta = Number(argument('beta', '0'));
  const policy = createFlowPolicy({
    generator,
    ...(beta > 0 ? { reference: copyGenerator(base) } : {}),
    steps: 10,
    sdeWindow: { start: 0, length: 3 },
    dynamics: 'cps',
    noiseLevel: 0.5,
  });
  const trainer = new GRPOTrainer({
    policy,
    reward: pairwiseJudgeReward({ judge: pixelTeacherJudge({ specs, seed }), categoryWeights: { A: 1 } }),
    prompts: train.map((p) => p.text),
    config: {
      seed,
      maxSteps: Number(argument('steps', '30')),
      promptsPerStep: Number(argument('prompts', '16')),
      groupSize: Number(argument('group', '16')),
      learningRate: Number(argument('lr', '1e-4')),
      epsilonLow: 1e-2,
      beta,
      trainStepFraction: 0.5,
      trainStepSelection: 'random',
      scaleRewards: 'group',
      updateInWorker: !process.argv.includes('--no-worker'),
    },
  });
  await trainer.train();
  for (const es of [0, 1]) {
    const t = await score(generator, es);
    const b = es === 0 ? b0 : b1;
    const d = t.map((x, i) => x - (b[i] as number));
    const { change, stdError } = pairedChange(b, t);
    const sdD = (stdError ?? Number.NaN) * Math.sqrt(d.length);
    const blocks = Array.from({ length: Math.floor(d.length / 512) }, (_, k) => mean(d.slice(k * 512, (k + 1) * 512)));
    console.log(
      `evalSeed ${es}: trained ${mean(t).toFixed(4)} diff ${change.toFixed(4)} sd(d) ${sdD.toFixed(4)} se512 ${(sdD / Math.sqrt(512)).toFixed(
        4
      )} blocks ${blocks.map((x) => x.toFixed(4)).join(' ')}`
    );
  }
});
