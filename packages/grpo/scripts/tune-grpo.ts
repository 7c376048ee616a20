/**
 * Short single-modality GRPO probes for tuning (issue #6): one run with the given settings, logging per step
 * the reward, the clip ratio, approx_kl, the gradient norm and the pixel oracle of the TRAINING samples
 * (measured beside the reward, never trained on), then the held-out oracle before and after.
 *
 *   nice -n 5 node --conditions=@flex/source --import tsx scripts/tune-grpo.ts -- --steps 30 --lr 1e-3 --clip 1e-2 \
 *     [--beta 0] [--fraction 0.5] [--iterations 1] [--minibatches 1] [--group 8] [--prompts 4] [--noise 0.7] \
 *     [--held-out 128] [--seed 0] [--reward flex|scalar] [--modality image] [--no-worker] [--final sde|euler] [--window S,L] [--eval-sde G]
 *     [--dynamics flow-sde|cps] [--generator FOLDER] [--lr-schedule constant|linear|cosine] [--warmup N] [--min-lr-ratio R]
 *     [--sampler-steps 10] [--prompt-seed P] [--judge-seed J] [--train-prompts 256] [--outcome winner|probability]
 *
 * The last line is one JSON object: the settings, oracle before/after, the oracle curve, the training-sample
 * oracle in the first and last quarter, mean clip ratio, approx_kl, grad norm and step time.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Media } from '@flex/criteria';
import { initBackend, loadFlowGenerator, runMain } from '@flex/model';
import { PixelOracleJudge, scoreGeneration, type PromptSpec, type TeacherOptions } from '@flex/synth';
import { createFlowPolicy, deriveSeed, functionReward, SeededRandom, GRPOTrainer, pairedChange, pairwiseJudgeReward, scoreRewards, type RewardFunction } from '../src/index';
import { copyGenerator, oracleScore, pixelTeacherJudge, pixelTeacherScore, sdeWindowOf, worldPrompts, type WorldPrompt } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}

const mean = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length);

/** Pearson correlation within each group, averaged over groups with variance. */
function withinGroupCorrelation(a: readonly (number | null)[], b: readonly number[], groupIds: readonly number[]): number {
  const groups = new Map<number, number[]>();
  groupIds.forEach((g, i) => (groups.get(g) ?? groups.set(g, []).get(g)!).push(i));
  const out: number[] = [];
  for (const members of groups.values()) {
    const idx = members.filter((i) => a[i] !== null);
    const xs = idx.map((i) => a[i] as number);
    const ys = idx.map((i) => b[i] as number);
    const mx = mean(xs);
    const my = mean(ys);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    xs.forEach((x, k) => {
      sxy += (x - mx) * ((ys[k] as number) - my);
      sxx += (x - mx) ** 2;
      syy += ((ys[k] as number) - my) ** 2;
    });
    if (sxx > 0 && syy > 0) out.push(sxy / Math.sqrt(sxx * syy));
  }
  return mean(out);
}

await runMain(async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const modality = argument('modality', 'image') as 'image' | 'video';
  const steps = Number(argument('steps', '30'));
  const seed = Number(argument('seed', '0'));
  const kind = argument('reward', 'flex');
  await initBackend();
  // `--generator FOLDER`: another pre-trained generator than the shipped one of the modality.
  const { generator: base } = await loadFlowGenerator({ folder: argument('generator', join(here, '..', 'generators', modality === 'image' ? 'image-32' : 'video-24')) });
  // `--prompt-seed P`: the training prompts of seed P (default the run's seed), to tell a seed's prompts from its noise.
  const train = worldPrompts({ modality, count: Number(argument('train-prompts', '256')), seed: Number(argument('prompt-seed', String(seed))) + 1 });
  const held = worldPrompts({ modality, count: Number(argument('held-out', '128')), seed: 0, heldOut: true });
  const specs = new Map<string, PromptSpec>([...train, ...held].map((p) => [p.text, p.spec]));
  const byText = new Map<string, WorldPrompt>([...train, ...held].map((p) => [p.text, p]));
  let inner: RewardFunction<string, Media>;
  if (kind === 'flex') inner = pairwiseJudgeReward({
      // `--judge-errors '{"colourConfusionRate":0}'`: the stand-in's perception errors (@flex/synth's TeacherOptions).
      judge: pixelTeacherJudge({ specs, seed: Number(argument('judge-seed', String(seed))), ...(process.argv.includes('--judge-errors') ? { errors: JSON.parse(argument('judge-errors', '{}')) as TeacherOptions } : {}) }),
      reward: argument('flex-reward', 'flex') as 'flex' | 'overall',
      outcome: argument('outcome', 'winner') as 'winner' | 'probability',
      bothOrders: process.argv.includes('--both-orders'),
      ...(process.argv.includes('--weights') ? { categoryWeights: JSON.parse(argument('weights', '{}')) as Record<string, number> } : {}),
    });
  else if (kind === 'pairwise-oracle') {
    // Diagnostic only: the pairwise machinery over @flex/synth's pixel-oracle judge (perfect perception).
    inner = pairwiseJudgeReward({ judge: new PixelOracleJudge(), outcome: argument('outcome', 'winner') as 'winner' | 'probability' });
  } else if (kind === 'oracle') {
    // Diagnostic only: the oracle itself as the reward (an upper bound of what the optimisation can do).
    inner = functionReward<string, Media>({ name: 'oracle', score: ({ prompt, sample }) => oracleScore(byText.get(prompt) as WorldPrompt, sample) });
  } else if (kind === 'random') {
    // Diagnostic only: a reward with no information (how much the updates alone move the oracle).
    let call = 0;
    inner = functionReward<string, Media>({ name: 'random', score: () => new SeededRandom(deriveSeed(seed, call++, 9)).uniform() });
  } else {
    const score = pixelTeacherScore({ specs, seed });
    inner = functionReward<string, Media>({ name: 'scalar', score: ({ prompt, sample, index }) => score(prompt, sample, index) });
  }
  // The training reward, plus the oracle of the training samples as a detail (logged, never trained on).
  const reward: RewardFunction<string, Media> = {
    name: inner.name,
    async score(request) {
      const checked = await scoreRewards(inner, request);
      const oracle = request.samples.map((s, i) => oracleScore(byText.get(request.prompts[i] as string) as WorldPrompt, s));
      return {
        rewards: checked.rewards,
        ...(checked.components.length > 0 ? { components: checked.components } : {}),
        details: { ...checked.details, oracle },
        metrics: { reward_oracle_corr: withinGroupCorrelation(checked.rewards, oracle, request.groupIds) },
      };
    },
  };
  const generator = copyGenerator(base);
  const beta = Number(argument('beta', '0'));
  const dynamics = argument('dynamics', 'flow-sde') as 'flow-sde' | 'cps';
  // `--window S,L`: the policy's sdeWindow (the SDE only on sampler steps S … S+L−1, the ODE elsewhere; default every step).
  const sdeWindow = sdeWindowOf(argument('window', 'all'));
  const policy = createFlowPolicy({
    generator,
    ...(beta > 0 ? { reference: copyGenerator(base) } : {}),
    // `--sampler-steps K`: the sampler's steps (training and evaluation). Default 10.
    steps: Number(argument('sampler-steps', '10')),
    noiseLevel: Number(argument('noise', '0.7')),
    sameStartNoise: !process.argv.includes('--independent-start'),
    finalStep: argument('final', 'sde') as 'euler' | 'sde',
    ...(sdeWindow ? { sdeWindow } : {}),
    dynamics,
  });
  const config = {
    seed,
    maxSteps: steps,
    promptsPerStep: Number(argument('prompts', '4')),
    groupSize: Number(argument('group', '8')),
    learningRate: Number(argument('lr', '1e-4')),
    lrSchedulerType: argument('lr-schedule', 'constant') as 'constant' | 'linear' | 'cosine',
    warmupSteps: Number(argument('warmup', '0')),
    minLearningRateRatio: Number(argument('min-lr-ratio', '0.1')),
    epsilonLow: Number(argument('clip', '1e-2')),
    beta,
    numIterations: Number(argument('iterations', '1')),
    minibatches: Number(argument('minibatches', '1')),
    trainStepFraction: Number(argument('fraction', '0.5')),
    trainStepSelection: argument('selection', 'random') as 'random' | 'first',
    scaleRewards: argument('scale', 'group') as 'group' | 'batch' | 'none',
    maxGradNorm: Number(argument('max-grad-norm', '1')),
    advantageMode: argument('adv-mode', 'components') as 'components' | 'total',
    adamBeta1: Number(argument('beta1', '0.9')),
    adamEpsilon: Number(argument('adam-eps', '1e-8')),
    evalSeed: 0,
    evalSteps: Number(argument('eval-every', String(Math.max(1, Math.floor(steps / 3))))),
    updateInWorker: !process.argv.includes('--no-worker'),
  };
  const rows: Record<string, number>[] = [];
  let firstUtilities: number[] | undefined;
  const trainer = new GRPOTrainer({
    policy,
    reward,
    prompts: train.map((p) => p.text),
    evalReward: {
      name: 'oracle',
      // The oracle, and its category scores as metrics (which part of the utility moves).
      score: async ({ prompts, samples }) => {
        const scored = samples.map((sample, i) => scoreGeneration({ spec: (byText.get(prompts[i] as string) as WorldPrompt).spec, media: sample }));
        const categories: Record<string, number> = {};
        for (const id of ['A', 'B', 'C', 'D'] as const) {
          const values = scored.map((x) => x.categories[id]).filter((v): v is number => v !== undefined);
          if (values.length > 0) categories[`category_${id}`] = mean(values);
        }
        // The paired change against the first evaluation (same prompts, same noise) and its standard error.
        const utilities = scored.map((x) => x.utility);
        firstUtilities ??= utilities;
        const se = pairedChange(firstUtilities, utilities).stdError ?? 0;
        return { rewards: utilities, metrics: { ...categories, paired_sd: se * Math.sqrt(utilities.length), paired_se: se } };
      },
    },
    evalPrompts: held.map((p) => p.text),
    config,
    callbacks: [
      {
        onStepEnd: ({ step, metrics: m }) => {
          const row = {
            step,
            reward: m.reward as number,
            train_oracle: m[`rewards/${inner.name}/oracle`] as number,
            corr: m[`rewards/${inner.name}/reward_oracle_corr`] as number,
            clip: m['clip_ratio/region_mean'] as number,
            approx_kl: m.approx_kl as number,
            grad_norm: m.grad_norm as number,
            kl: (m.kl as number | undefined) ?? 0,
            step_s: m['time/step'] as number,
          };
          rows.push(row);
          console.log(
            `step ${step}: train_oracle ${row.train_oracle.toFixed(3)} corr ${row.corr.toFixed(2)} clip ${row.clip.toFixed(3)} approx_kl ${row.approx_kl.toExponential(1)} ` +
              `grad ${row.grad_norm.toExponential(1)} kl ${row.kl.toExponential(1)} step ${row.step_s.toFixed(1)} s updates ${m.num_updates} zero_std ${m.frac_reward_zero_std} invalid ${m.num_invalid_rewards} loss ${m.loss?.toExponential(2)}`,
          );
        },
        onEvaluate: ({ step, metrics }) =>
          console.log(
            `eval @${step}: oracle ${metrics['eval/reward']?.toFixed(4)} categories ${['A', 'B', 'C', 'D'].map((id) => `${id} ${metrics[`eval/rewards/oracle/category_${id}`]?.toFixed(3)}`).join(' ')}` +
              ` paired sd ${metrics['eval/rewards/oracle/paired_sd']?.toFixed(3)} s.e. ${metrics['eval/rewards/oracle/paired_se']?.toFixed(4)}`,
          ),
      },
    ],
  });
  // `--eval-sde G`: the held-out oracle of G training-sampler (SDE) samples per prompt from fixed noise, before and after,
  // beside the trainer's ODE evaluation: does a gain on the training sampler reach the ODE?
  const sdeSamples = Number(argument('eval-sde', '0'));
  const heldSde = async (): Promise<number | undefined> => {
    if (sdeSamples <= 0) return undefined;
    const groups = await policy.sample({ prompts: held.map((p) => p.text), groupSize: sdeSamples, seed: deriveSeed(seed, 0, 77), mode: 'train' });
    return mean(groups.flatMap((g, i) => g.rollouts.map((r) => oracleScore(held[i] as WorldPrompt, r.sample))));
  };
  const sdeBefore = await heldSde();
  const beforeMetrics = await trainer.evaluate();
  const before = beforeMetrics['eval/reward'] as number;
  console.log(`eval @0: oracle ${before.toFixed(4)} categories ${['A', 'B', 'C', 'D'].map((id) => `${id} ${beforeMetrics[`eval/rewards/oracle/category_${id}`]?.toFixed(3)}`).join(' ')}`);
  const result = await trainer.train();
  const sdeAfter = await heldSde();
  if (sdeSamples > 0) console.log(`held-out SDE oracle (${sdeSamples} per prompt): ${sdeBefore?.toFixed(4)} -> ${sdeAfter?.toFixed(4)}`);
  const quarter = Math.max(1, Math.floor(steps / 4));
  const col = (key: keyof (typeof rows)[number], from: number, to: number) => mean(rows.slice(from, to).map((r) => r[key] as number));
  const { updateInWorker: _w, ...settings } = config;
  console.log(
    JSON.stringify({
      modality,
      reward: kind,
      ...settings,
      noise: Number(argument('noise', '0.7')),
      final_step: argument('final', 'sde'),
      dynamics,
      sde_window: sdeWindow ?? 'every step',
      held_out: held.length,
      oracle_before: before,
      oracle_after: result.evaluations[result.evaluations.length - 1]?.metrics['eval/reward'],
      ...(sdeSamples > 0 ? { sde_oracle_before: sdeBefore, sde_oracle_after: sdeAfter } : {}),
      curve: result.evaluations.map((e) => [e.step, Number((e.metrics['eval/reward'] as number).toFixed(4))]),
      train_oracle_first: col('train_oracle', 0, quarter),
      train_oracle_last: col('train_oracle', steps - quarter, steps),
      corr: col('corr', 0, steps),
      clip: col('clip', 0, steps),
      approx_kl: col('approx_kl', 0, steps),
      grad_norm: col('grad_norm', 0, steps),
      step_s: col('step_s', 0, steps),
    }),
  );
});
