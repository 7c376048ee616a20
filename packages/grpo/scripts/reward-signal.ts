/**
 * How well each training reward points GRPO towards what the oracle rewards, without training (issue #6, session 10).
 * Samples `--steps` batches from the pre-trained generator with the bench's training sampler, scores them with each
 * reward variant, computes the advantages as `GRPOTrainer` does (batch scaling; a pairwise reward's overall and
 * category parts z-scored separately, then blended), and reports the cosine between the advantage vector and the
 * oracle's within-group-centred utilities. The policy gradient is Σ advantage · ∇log p, so this cosine is the share of
 * each update that goes the oracle's way; the rest is noise that a run's trajectory has to average out. Also reported:
 * the same cosine against each oracle category (A semantics, B quality, C aesthetics), and the share of the advantages'
 * energy spent on groups whose oracle is constant (pure noise).
 *
 *   nice -n 5 node --conditions=@flex/source --import tsx scripts/reward-signal.ts -- [--modality video] [--steps 6]
 *     [--prompts 8] [--group 8] [--sampler-steps 10] [--window 0,3|all] [--weights '{"A":1}'|published] [--seed 0]
 */
import type { Media } from '@flex/criteria';
import { initBackend, loadFlowGenerator, runMain } from '@flex/model';
import { scoreGeneration, type PromptSpec } from '@flex/synth';
import {
  createFlowPolicy,
  deriveSeed,
  functionReward,
  groupAdvantages,
  grpoConfigSchema,
  multiRewardAdvantages,
  pairwiseJudgeReward,
  scoreRewards,
  shippedGenerators,
  type RewardFunction,
} from '../src/index';
import { flexWeightsOf, pixelTeacherJudge, pixelTeacherScore, sdeWindowOf, worldPrompts, type WorldPrompt } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);

await runMain(async () => {
  const modality = argument('modality', 'video') as 'image' | 'video';
  const steps = Number(argument('steps', '6'));
  const promptsPerStep = Number(argument('prompts', '8'));
  const groupSize = Number(argument('group', '8'));
  const seed = Number(argument('seed', '0'));
  const windowText = argument('window', '0,3');
  const sdeWindow = sdeWindowOf(windowText);
  const weightsText = argument('weights', '{"A":1}');
  const categoryWeights = flexWeightsOf(weightsText);
  const weights = categoryWeights ? { categoryWeights } : {};
  await initBackend();
  const { generator } = await loadFlowGenerator({ folder: shippedGenerators[modality] });
  const policy = createFlowPolicy({
    generator,
    steps: Number(argument('sampler-steps', '10')),
    ...(sdeWindow ? { sdeWindow } : {}),
    dynamics: 'cps',
    noiseLevel: 0.5,
  });
  const train = worldPrompts({ modality, count: steps * promptsPerStep, seed: seed + 1 });
  const specs = new Map<string, PromptSpec>(train.map((p) => [p.text, p.spec]));
  const byText = new Map<string, WorldPrompt>(train.map((p) => [p.text, p]));
  const judge = () => pixelTeacherJudge({ specs, seed });
  const variants: Record<string, () => RewardFunction<string, Media>> = {
    'flex (winner)': () => pairwiseJudgeReward({ judge: judge(), ...weights }),
    'flex (winner, both orders)': () => pairwiseJudgeReward({ judge: judge(), bothOrders: true, ...weights }),
    'flex (probability)': () => pairwiseJudgeReward({ judge: judge(), outcome: 'probability', ...weights }),
    'overall win rate': () => pairwiseJudgeReward({ judge: judge(), reward: 'overall' }),
    scalar: () => {
      const score = pixelTeacherScore({ specs, seed });
      return functionReward<string, Media>({ name: 'scalar', score: ({ prompt, sample, index }) => score(prompt, sample, index) });
    },
  };
  // The trainer's advantage ε and clip (GRPOConfig's defaults).
  const trainerDefaults = grpoConfigSchema.parse({});
  const found: Record<string, { cosine: number[]; flat: number[]; categories: Record<string, number[]> }> = {};
  const cosine = (a: readonly number[], b: readonly number[]) => {
    const norm = Math.sqrt(dot(a, a) * dot(b, b));
    return norm > 0 ? dot(a, b) / norm : 0;
  };
  for (let step = 0; step < steps; step++) {
    const prompts = train.slice(step * promptsPerStep, (step + 1) * promptsPerStep).map((p) => p.text);
    const groups = await policy.sample({ prompts, groupSize, seed: deriveSeed(seed, step, 1), mode: 'train' });
    const samples = groups.flatMap((g) => g.rollouts.map((r) => r.sample as Media));
    const groupIds = samples.map((_, i) => Math.floor(i / groupSize));
    const samplePrompts = groupIds.map((g) => prompts[g] as string);
    const scored = samples.map((sample, i) => scoreGeneration({ spec: (byText.get(samplePrompts[i] as string) as WorldPrompt).spec, media: sample }));
    const groupMean = (values: readonly number[], g: number) => mean(values.slice(g * groupSize, (g + 1) * groupSize));
    const centre = (values: readonly number[]) => values.map((v, i) => v - groupMean(values, groupIds[i] as number));
    const centred = centre(scored.map((x) => x.utility));
    // The oracle's categories (A semantics, B quality, C aesthetics), centred the same way: which part each reward follows.
    const centredCategories = Object.fromEntries((['A', 'B', 'C'] as const).map((id) => [id, centre(scored.map((x) => x.categories[id] ?? 0))]));
    const flatGroups = new Set(groupIds.filter((g) => centred.slice(g * groupSize, (g + 1) * groupSize).every((x) => Math.abs(x) < 1e-12)));
    for (const [name, make] of Object.entries(variants)) {
      const checked = await scoreRewards(make(), { prompts: samplePrompts, samples, groupIds });
      const common = { groupIds, scale: 'batch' as const, epsilon: trainerDefaults.advantageEpsilon, clip: trainerDefaults.advantageClip };
      const advantages =
        checked.components.length > 0
          ? multiRewardAdvantages({ components: checked.components.map((k) => ({ name: k.name, values: [...k.values], weight: k.weight })), ...common }).advantages
          : groupAdvantages({ rewards: checked.rewards, ...common }).advantages;
      const energy = dot(advantages, advantages);
      const flat = advantages.reduce((sum, a, i) => sum + (flatGroups.has(groupIds[i] as number) ? a * a : 0), 0);
      const entry = (found[name] ??= { cosine: [], flat: [], categories: { A: [], B: [], C: [] } });
      entry.cosine.push(cosine(advantages, centred));
      for (const [id, values] of Object.entries(centredCategories)) entry.categories[id]?.push(cosine(advantages, values));
      entry.flat.push(energy > 0 ? flat / energy : 0);
    }
    console.log(`step ${step}: ${Object.entries(found).map(([name, v]) => `${name} ${v.cosine.at(-1)?.toFixed(3)}`).join(' | ')}`);
  }
  const summary = Object.fromEntries(
    Object.entries(found).map(([name, v]) => [
      name,
      {
        cosine: Number(mean(v.cosine).toFixed(3)),
        ...Object.fromEntries(Object.entries(v.categories).map(([id, values]) => [`cosine_${id}`, Number(mean(values).toFixed(3))])),
        flat_energy: Number(mean(v.flat).toFixed(3)),
      },
    ]),
  );
  console.log(JSON.stringify({ modality, steps, promptsPerStep, groupSize, window: windowText, weights: weightsText, variants: summary }));
});
