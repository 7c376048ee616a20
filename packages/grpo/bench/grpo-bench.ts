/**
 * The GRPO benchmark (issue 6): on held-out prompts of the embedded world, scored by the @flex/synth pixel
 * oracle (never the training reward), the pre-trained generator's oracle score, then after GRPO with
 * (a) the pairwise Flex reward and (b) a scalar pointwise reward, for images and videos, same budget of
 * steps, at least two seeds per arm. Every evaluation uses the same held-out prompts and the same starting
 * noise (`evalSeed` 0), so the pre-trained score and every run's scores are paired. The curve during training is
 * evaluated on the first `--curve-held-out` held-out prompts; the final scores (oracle_base, oracle_flex, …) on all
 * `--held-out` prompts, because one ODE sample per prompt moves a mean over 512 prompts by ±0.0044 (session 8).
 *
 *   npm run bench -w @flex/grpo -- [--seeds 2] [--modalities image,video] [--steps 30] [--video-steps 20]
 *     [--prompts 16] [--group 16] [--video-prompts 8] [--video-group 8] [--held-out 4096] [--curve-held-out 512]
 *     [--video-held-out 256] [--video-curve-held-out 96]
 *     [--lr 1e-4] [--clip 1e-2] [--beta 0] [--fraction 0.5] [--selection random] [--final sde|euler] [--scale batch]
 *     [--window 0,3|all|START,LENGTH] [--no-worker] [--dynamics cps|flow-sde] [--noise 0.5] [--flex-weights '{"A":1}'|published]
 *     [--lr-schedule constant|linear|cosine] [--video-lr LR] [--video-lr-schedule S] [--video-beta B] [--video-scale group|batch|none]
 *     [--video-fraction F] [--video-flex-weights '{"A":1}'|published] [--flex-outcome winner|probability] [--video-flex-outcome O] [--sampler-steps 10] [--video-sampler-steps K] [--video-window S,L]
 *     [--flex-judge <checkpoint>] [--bt-judge <checkpoint>] [--out runs/grpo-bench]
 *
 * Without --flex-judge / --bt-judge the arms use stand-ins that see the same simulated perception: the
 * pairwise arm a simulated Flex judge on pixels, the scalar arm the same perception's utility as one score.
 * At every evaluation the reward model also compares the trained generator's held-out sample with the
 * pre-trained one's (the "reward curve": its preference for the trained generator, 0.5 = no change), printed
 * beside the oracle curve, so reward hacking (reward up, oracle flat or down) is visible.
 * The oracle gates quality, aesthetics and context by the asked-for objects it finds (@flex/synth's presence gate);
 * each modality also reports what a blank grey output scores (`oracle_blank`) and the semantic category A (the
 * objects the prompt asks for) before and after (`semantic_base/flex/bt`), since a gain that comes with A falling is
 * reward hacking, not alignment.
 * Last line: one JSON object (oracle_base, oracle_flex, oracle_bt, seed_spread, video_…).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pairOutcomeFromResult, type Judge, type Media } from '@flex/criteria';
import { initBackend, loadCheckpoint, loadFlowGenerator, runMain } from '@flex/model';
import { scoreGeneration, type PromptSpec } from '@flex/synth';
import { createFlowPolicy, deriveSeed, functionReward, GRPOTrainer, pairwiseJudgeReward, type RewardFunction } from '../src/index';
import { copyGenerator, flexWeightsOf, oracleScore, pixelTeacherJudge, pixelTeacherScore, sdeWindowOf, worldPrompts, writeGrid, type WorldPrompt } from '../scripts/world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}

const here = dirname(fileURLToPath(import.meta.url));
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
/** Every evaluation's starting noise (the trainer's `evaluate` seed). */
const EVAL_SEED = 0;

/** Mean oracle category scores (A semantics, B quality, C aesthetics, D context) as `category_<id>`. */
function categoryMeans(scored: readonly { categories: Partial<Record<string, number>> }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ['A', 'B', 'C', 'D']) {
    const values = scored.map((x) => x.categories[id]).filter((v): v is number => v !== undefined);
    if (values.length > 0) out[`category_${id}`] = mean(values);
  }
  return out;
}

/** The oracle's score of a blank (mid-grey) output for every prompt: what drawing nothing earns. */
function blankScore(modality: 'image' | 'video', size: number, frames: number, prompts: readonly WorldPrompt[]): { utility: number; categories: Record<string, number> } {
  const frame = { width: size, height: size, data: new Float32Array(size * size * 3).fill(0.5) };
  const media: Media = modality === 'image' ? frame : { fps: 8, frames: Array.from({ length: frames }, () => frame) };
  const scored = prompts.map((p) => scoreGeneration({ spec: p.spec, media }));
  return { utility: mean(scored.map((x) => x.utility)), categories: categoryMeans(scored) };
}

interface ArmResult {
  /** Oracle categories at the end (category_A … category_D). */
  categories: Record<string, number>;
  seed: number;
  oracle: number;
  /** [step, oracle, reward model's preference for the trained generator over the pre-trained one]. */
  curve: [number, number, number][];
  seconds: { sampling: number; judging: number; update: number; step: number };
}

/** Per-modality settings. */
interface ModalitySettings {
  steps: number;
  promptsPerStep: number;
  groupSize: number;
  /** Held-out prompts of the final evaluation, and the first `curveHeldOut` of them for the curve during training. */
  heldOut: number;
  curveHeldOut: number;
  /** The flow sampler's steps (training and every evaluation) and its SDE window (undefined: every step). */
  samplerSteps: number;
  sdeWindow: { start: number; length: number } | undefined;
  /** The Flex reward's category weights (undefined: the published ones). */
  flexWeights: Record<string, number> | undefined;
  /** How the Flex reward reads a judgement: the written winner (1 / 0) or the judge's probabilities (soft win rates). */
  flexOutcome: 'winner' | 'probability';
  /** This modality's overrides of the common settings (learning rate and schedule, KL β, advantage scaling, trained share of the window). */
  overrides: Partial<CommonSettings>;
}

/** The trainer settings common to both modalities (`--lr`, `--lr-schedule`, `--beta`, …). */
interface CommonSettings {
  learningRate: number;
  lrSchedulerType: 'constant' | 'linear' | 'cosine';
  epsilonLow: number;
  beta: number;
  trainStepFraction: number;
  trainStepSelection: 'random' | 'first';
  scaleRewards: 'group' | 'batch' | 'none';
  numIterations: number;
}

/** The summary's key of each overridable setting (prefixed with the modality's `video_`). */
const overrideKeys: Partial<Record<keyof CommonSettings, string>> = {
  learningRate: 'learning_rate',
  lrSchedulerType: 'lr_scheduler_type',
  beta: 'beta',
  scaleRewards: 'scale_rewards',
  trainStepFraction: 'train_step_fraction',
};

/**
 * A modality's settings: steps, batch and held-out sizes from `--<prefix>steps`, `--<prefix>prompts`, … (or the
 * defaults); the sampler's steps and window and the Flex weights from `--<prefix>sampler-steps`, `--<prefix>window`,
 * `--<prefix>flex-weights`, falling back to the unprefixed flag (`--sampler-steps 10`, `--window 0,3`,
 * `--flex-weights '{"A":1}'`, `published` for REFERENCE.md §3's).
 */
function modalitySettings(
  prefix: '' | 'video-',
  defaults: Record<'steps' | 'prompts' | 'group' | 'held-out' | 'curve-held-out', number>,
  overrides: Partial<CommonSettings> = {},
): ModalitySettings {
  const read = (name: keyof typeof defaults) => Number(argument(`${prefix}${name}`, String(defaults[name])));
  const own = (name: string, fallback: string) => argument(`${prefix}${name}`, argument(name, fallback));
  return {
    steps: read('steps'),
    promptsPerStep: read('prompts'),
    groupSize: read('group'),
    heldOut: read('held-out'),
    curveHeldOut: read('curve-held-out'),
    samplerSteps: Number(own('sampler-steps', '10')),
    sdeWindow: sdeWindowOf(own('window', '0,3')),
    flexWeights: flexWeightsOf(own('flex-weights', '{"A":1}')),
    flexOutcome: own('flex-outcome', 'winner') as 'winner' | 'probability',
    overrides,
  };
}

/** `{ [key]: parsed value }` if `--<flag>` is given, else `{}`: a modality's override of a common setting. */
function override<K extends string, T>(key: K, flag: string, parse: (text: string) => T): Partial<Record<K, T>> {
  return process.argv.includes(`--${flag}`) ? ({ [key]: parse(argument(flag, '')) } as Record<K, T>) : {};
}

await runMain(async () => {
  const seeds = Array.from({ length: Number(argument('seeds', '2')) }, (_, i) => i);
  const modalities = argument('modalities', 'image,video').split(',') as ('image' | 'video')[];
  const settings: Record<'image' | 'video', ModalitySettings> = {
    // 16 prompts × G 16. The final scores on 4096 held-out prompts: between a trained generator and the pre-trained one,
    // the per-prompt oracle difference of one ODE sample each has sd 0.10, so a mean over 512 prompts moves by ±0.0044,
    // as much as the whole seed-to-seed spread seen in session 7 (session 8); over 4096, ±0.0016 (+1.5 minutes).
    image: modalitySettings('', { steps: 30, prompts: 16, group: 16, 'held-out': 4096, 'curve-held-out': 512 }),
    // The video arms' own step size and schedule, KL, advantage scaling and window share, if given (by default the common ones).
    video: modalitySettings(
      'video-',
      { steps: 20, prompts: 8, group: 8, 'held-out': 256, 'curve-held-out': 96 },
      {
        ...override('learningRate', 'video-lr', Number),
        ...override('lrSchedulerType', 'video-lr-schedule', (t) => t as CommonSettings['lrSchedulerType']),
        ...override('beta', 'video-beta', Number),
        ...override('scaleRewards', 'video-scale', (t) => t as CommonSettings['scaleRewards']),
        ...override('trainStepFraction', 'video-fraction', Number),
      },
    ),
  };
  const common: CommonSettings = {
    learningRate: Number(argument('lr', '1e-4')),
    // `--lr-schedule constant|linear|cosine` over each run's steps (cosine: down to 10% of --lr at the last step).
    lrSchedulerType: argument('lr-schedule', 'constant') as CommonSettings['lrSchedulerType'],
    epsilonLow: Number(argument('clip', '1e-2')),
    beta: Number(argument('beta', '0')),
    trainStepFraction: Number(argument('fraction', '0.5')),
    trainStepSelection: argument('selection', 'random') as CommonSettings['trainStepSelection'],
    // Advantages scaled by the batch's std, not each group's (session 8): a group whose samples differ only in the
    // stand-in's perception noise no longer gets unit-size advantages. Three image probes all rose (+0.0034 … +0.0071).
    scaleRewards: argument('scale', 'batch') as CommonSettings['scaleRewards'],
    numIterations: Number(argument('iterations', '1')),
  };
  // The policy's last step: an SDE step with a log-prob (the library default, Flow-GRPO) or the untrained Euler step.
  const finalStep = argument('final', 'sde') as 'sde' | 'euler';
  // `--sampler-steps K` (default 10) and `--window S,L` (or `all`; the SDE only on sampler steps S … S+L−1, the ODE
  // elsewhere) are read by modalitySettings. Default window 0,3 (steps 0–2 of 10): in session 4 it left the Flex arm at
  // 0.123 against 0.106 with every step (docs/grpo.md).
  const describeWindow = (window: { start: number; length: number } | undefined) => (window ? `${window.start},${window.length}` : 'all');
  // `--no-worker`: the update on the main thread (one core; the step is then sampling + judging + update).
  const inWorker = !process.argv.includes('--no-worker');
  // `--dynamics flow-sde|cps` and `--noise` (a, or η for CPS): the training sampler's stochastic steps. Default CPS at
  // η 0.5: with it the held-out ODE follows the reward, with Flow-GRPO's SDE it did not (docs/grpo.md, session 7).
  const dynamics = argument('dynamics', 'cps') as 'flow-sde' | 'cps';
  const noiseLevel = Number(argument('noise', dynamics === 'cps' ? '0.5' : '0.7'));
  // `--flex-weights`: the Flex reward's category weights. Default A only (with the overall win rate's 0.3): with
  // REFERENCE.md §3's A 1 / B 0.7 / C 0.7 the stand-in's reward lowered the oracle's category A (session 7).
  // `--flex-weights published` restores the published weights; `--video-flex-weights` sets the video arms' own.
  // `--flex-outcome winner|probability` (and `--video-flex-outcome`): hard win rates from the written winners (the
  // default) or soft ones from the judge's probabilities.
  const describeWeights = (modality: 'image' | 'video') => {
    const weights = settings[modality].flexWeights;
    return weights ? JSON.stringify(weights) : modality === 'image' ? 'published: A 1, B 0.7, C 0.7' : 'published: 1 / 1 / 1';
  };
  const out = argument('out', join(process.cwd(), 'runs', 'grpo-bench'));
  await mkdir(out, { recursive: true });
  const backend = await initBackend();
  const started = performance.now();
  const flexCheckpoint = process.argv.includes('--flex-judge') ? argument('flex-judge', '') : undefined;
  const btCheckpoint = process.argv.includes('--bt-judge') ? argument('bt-judge', '') : undefined;
  const flexModel = flexCheckpoint ? (await loadCheckpoint({ directory: flexCheckpoint, kind: 'flex-judge' })).model : undefined;
  const flexJudge = flexModel as unknown as Judge | undefined;
  const btModel = btCheckpoint ? (await loadCheckpoint({ directory: btCheckpoint, kind: 'bradley-terry' })).model : undefined;
  const summary: Record<string, number | string | boolean | number[]> = {
    backend: backend.backend,
    seeds: seeds.length,
    ...common,
    finalStep,
    samplerSteps: settings.image.samplerSteps,
    sdeWindow: describeWindow(settings.image.sdeWindow),
    video_sampler_steps: settings.video.samplerSteps,
    video_sde_window: describeWindow(settings.video.sdeWindow),
    dynamics,
    noiseLevel,
    flex_weights: describeWeights('image'),
    video_flex_weights: describeWeights('video'),
    flex_outcome: settings.image.flexOutcome,
    video_flex_outcome: settings.video.flexOutcome,
    updateInWorker: inWorker,
    flex_judge: flexCheckpoint ?? 'stand-in: simulated Flex judge on pixels',
    bt_reward: btCheckpoint ?? 'stand-in: scalar utility of the same perception',
  };
  console.log(`settings: ${JSON.stringify({ ...common, ...Object.fromEntries(modalities.map((m) => [m, settings[m]])) })}`);
  for (const modality of modalities) {
    const prefix = modality === 'image' ? '' : 'video_';
    const s = settings[modality];
    if (modality === 'video' && (flexModel || btModel)) {
      console.log('video: the trained judges given are image judges; the video arms use the stand-ins');
    }
    const { generator: base } = await loadFlowGenerator({ folder: join(argument('generators', join(here, '..', 'generators')), modality === 'image' ? 'image-32' : 'video-24') });
    const held = worldPrompts({ modality, count: s.heldOut, seed: 0, heldOut: true });
    const heldTexts = held.map((p) => p.text);
    const { samplerSteps, sdeWindow } = s;
    const evalPolicy = createFlowPolicy({ generator: base, steps: samplerSteps });
    // The same ODE noise as the trainer's evaluations (GRPOTrainer.evaluate with evalSeed).
    const baseGroups = await evalPolicy.sample({ prompts: heldTexts, groupSize: 1, seed: deriveSeed(EVAL_SEED, 0, 4), mode: 'eval' });
    const baseSamples = baseGroups.map((g) => g.rollouts[0]!.sample);
    const baseScored = baseSamples.map((sample, i) => scoreGeneration({ spec: (held[i] as WorldPrompt).spec, media: sample }));
    const baseOracle = mean(baseScored.map((x) => x.utility));
    const baseCategories = categoryMeans(baseScored);
    // The curve during training: the first `curveHeldOut` prompts (the same noise, so paired with the first base samples).
    const curveTexts = heldTexts.slice(0, Math.min(s.curveHeldOut, heldTexts.length));
    const baseCurve = mean(baseScored.slice(0, curveTexts.length).map((x) => x.utility));
    const blank = blankScore(modality, base.config.size, base.config.frames, held);
    const show = (c: Record<string, number>) => ['A', 'B', 'C', 'D'].map((id) => `${id} ${c[`category_${id}`]?.toFixed(3)}`).join(' ');
    console.log(
      `${modality}: pre-trained oracle ${baseOracle.toFixed(4)} (${show(baseCategories)}) on ${held.length} held-out prompts, ${baseCurve.toFixed(4)} on the curve's first ${curveTexts.length}; ${JSON.stringify(s)}`,
    );
    console.log(`${modality}: a blank grey output scores ${blank.utility.toFixed(4)} (${show(blank.categories)})`);
    await writeGrid({ file: join(out, `${modality}-before.png`), rows: modality === 'image' ? [baseSamples.slice(0, 8)] : baseSamples.slice(0, 4).map((m) => [m]) });
    const results: Record<'flex' | 'bt', ArmResult[]> = { flex: [], bt: [] };
    for (const arm of ['flex', 'bt'] as const) {
      for (const seed of seeds) {
        const train = worldPrompts({ modality, count: 256, seed: seed + 1 });
        const specs = new Map<string, PromptSpec>([...train, ...held].map((p) => [p.text, p.spec]));
        const byText = new Map<string, WorldPrompt>([...train, ...held].map((p) => [p.text, p]));
        const useTrained = modality === 'image';
        let reward: RewardFunction<string, Media>;
        // The reward model's preference for a trained sample over the pre-trained one (held-out prompt `index`).
        let prefers: (prompts: readonly string[], samples: readonly Media[]) => Promise<number[]>;
        if (arm === 'flex') {
          const judge = (useTrained ? flexJudge : undefined) ?? pixelTeacherJudge({ specs, seed });
          reward = pairwiseJudgeReward({ judge, outcome: s.flexOutcome, ...(s.flexWeights ? { categoryWeights: s.flexWeights } : {}) });
          prefers = async (prompts, samples) => {
            // Alternate the slots so a position bias cancels.
            const results = await judge.judge(
              samples.map((sample, i) => {
                const trainedFirst = i % 2 === 0;
                const a = trainedFirst ? sample : (baseSamples[i] as Media);
                const b = trainedFirst ? (baseSamples[i] as Media) : sample;
                return { id: `vs-base-${i}`, prompt: prompts[i] as string, modality, a, b };
              }),
            );
            return results.map((r, i) => {
              // The written winner, as the training reward reads it (failures and written ties count 0.5).
              const outcome = pairOutcomeFromResult(r, { i: 0, j: 1 }).overall;
              const first = outcome === null || (r.ok && r.probabilityA === 0.5) ? 0.5 : outcome;
              return i % 2 === 0 ? first : 1 - first;
            });
          };
        } else {
          let score: (prompts: readonly string[], samples: readonly Media[]) => Promise<(number | null)[]>;
          if (btModel && useTrained) {
            score = async (prompts, samples) => (await btModel.score(samples.map((media, i) => ({ prompt: prompts[i] as string, media })))) as (number | null)[];
          } else {
            const perceive = pixelTeacherScore({ specs, seed });
            score = async (prompts, samples) => samples.map((sample, i) => perceive(prompts[i] as string, sample, i));
          }
          reward = { name: btModel && useTrained ? 'bradley-terry' : 'scalar', score: async ({ prompts, samples }) => score(prompts, samples) };
          prefers = async (prompts, samples) => {
            const trained = await score(prompts, samples);
            const before = await score(prompts, baseSamples.slice(0, prompts.length));
            return trained.map((t, i) => (t === null || before[i] === null || t === before[i] ? 0.5 : t > (before[i] as number) ? 1 : 0));
          };
        }
        const generator = copyGenerator(base);
        const trainerSettings = { ...common, ...s.overrides };
        const beta = trainerSettings.beta;
        const policy = createFlowPolicy({ generator, ...(beta > 0 ? { reference: copyGenerator(base) } : {}), steps: samplerSteps, finalStep, ...(sdeWindow ? { sdeWindow } : {}), dynamics, noiseLevel });
        // The evaluation reward: the oracle, plus the reward model's preference for the trained generator (a metric).
        const evalReward: RewardFunction<string, Media> = {
          name: 'oracle',
          score: async ({ prompts, samples }) => {
            const scored = samples.map((sample, i) => scoreGeneration({ spec: (byText.get(prompts[i] as string) as WorldPrompt).spec, media: sample }));
            return { rewards: scored.map((x) => x.utility), metrics: { prefers_trained: mean(await prefers(prompts, samples)), ...categoryMeans(scored) } };
          },
        };
        const trainer = new GRPOTrainer({
          policy,
          reward,
          prompts: train.map((p) => p.text),
          evalReward,
          evalPrompts: curveTexts,
          config: {
            seed,
            evalSeed: EVAL_SEED,
            maxSteps: s.steps,
            promptsPerStep: s.promptsPerStep,
            groupSize: s.groupSize,
            ...trainerSettings,
            // Three evaluations a run (the last one at the end).
            evalSteps: Math.max(1, Math.ceil(s.steps / 3)),
            updateInWorker: inWorker,
          },
          callbacks: [
            {
              onStepEnd: ({ step, metrics: m }) => {
                if (step % 5 === 0) {
                  console.log(
                    `  ${modality} ${arm} seed ${seed} step ${step}: reward ${m.reward?.toFixed(3)} ±${m.reward_std?.toFixed(3)} clip ${m['clip_ratio/region_mean']?.toFixed(3)} approx_kl ${m.approx_kl?.toExponential(1)} ` +
                      `sampling ${m['time/sampling']?.toFixed(1)} s, judging ${m['time/judging']?.toFixed(1)} s, update ${m['time/update']?.toFixed(1)} s${inWorker ? ' (worker)' : ''}, step ${m['time/step']?.toFixed(1)} s`,
                  );
                }
              },
            },
          ],
        });
        const result = await trainer.train();
        const curve = result.evaluations.map(
          (e) => [e.step, e.metrics['eval/reward'] as number, e.metrics['eval/rewards/oracle/prefers_trained'] as number] as [number, number, number],
        );
        const column = (key: string) => mean(result.history.map((h) => h[key] as number));
        const seconds = { sampling: column('time/sampling'), judging: column('time/judging'), update: column('time/update'), step: column('time/step') };
        // The final score: every held-out prompt, the same noise as the pre-trained generator's samples (paired).
        const after = (await policy.sample({ prompts: heldTexts, groupSize: 1, seed: deriveSeed(EVAL_SEED, 0, 4), mode: 'eval' })).map((g) => g.rollouts[0]!.sample);
        const afterScored = after.map((sample, i) => scoreGeneration({ spec: (held[i] as WorldPrompt).spec, media: sample }));
        const final = mean(afterScored.map((x) => x.utility));
        const categories = categoryMeans(afterScored);
        results[arm].push({ seed, oracle: final, curve, seconds, categories });
        console.log(
          `  ${modality} ${arm} seed ${seed}: oracle ${baseOracle.toFixed(4)} → ${final.toFixed(4)} (${show(categories)}) on ${held.length} held-out prompts; ` +
            `oracle curve on ${curveTexts.length} ${[[0, baseCurve], ...curve].map(([st, v]) => `${st}:${(v ?? Number.NaN).toFixed(3)}`).join(' ')}; ` +
            `reward curve (reward model prefers trained over pre-trained) ${[[0, 0.5], ...curve.map(([st, , w]) => [st, w])].map(([st, w]) => `${st}:${(w ?? Number.NaN).toFixed(2)}`).join(' ')}`,
        );
        if (seed === seeds[0]) {
          await writeGrid({ file: join(out, `${modality}-${arm}-after.png`), rows: modality === 'image' ? [after.slice(0, 8)] : after.slice(0, 4).map((m) => [m]) });
        }
        generator.dispose();
        policy.reference?.dispose();
      }
    }
    const spread = (rs: ArmResult[]) => Math.max(...rs.map((r) => r.oracle)) - Math.min(...rs.map((r) => r.oracle));
    const round = (v: number) => Number(v.toFixed(4));
    summary[`${prefix}oracle_base`] = round(baseOracle);
    summary[`${prefix}oracle_flex`] = round(mean(results.flex.map((r) => r.oracle)));
    summary[`${prefix}oracle_bt`] = round(mean(results.bt.map((r) => r.oracle)));
    summary[`${prefix}seed_spread`] = round(Math.max(spread(results.flex), spread(results.bt)));
    summary[`${prefix}oracle_flex_seeds`] = results.flex.map((r) => round(r.oracle));
    summary[`${prefix}oracle_bt_seeds`] = results.bt.map((r) => round(r.oracle));
    summary[`${prefix}flex_gain_exceeds_spread`] = mean(results.flex.map((r) => r.oracle)) - baseOracle > Math.max(spread(results.flex), spread(results.bt));
    summary[`${prefix}prefers_trained_flex`] = round(mean(results.flex.map((r) => r.curve[r.curve.length - 1]?.[2] ?? Number.NaN)));
    summary[`${prefix}prefers_trained_bt`] = round(mean(results.bt.map((r) => r.curve[r.curve.length - 1]?.[2] ?? Number.NaN)));
    // What the utility hides: the semantic category A (the objects asked for) before and after, and a blank output.
    summary[`${prefix}oracle_blank`] = round(blank.utility);
    // The modality's own settings where they differ from the common ones.
    for (const [key, value] of Object.entries(s.overrides)) summary[`${prefix}${overrideKeys[key as keyof CommonSettings] ?? key}`] = value;
    summary[`${prefix}semantic_base`] = round(baseCategories.category_A ?? Number.NaN);
    summary[`${prefix}semantic_flex`] = round(mean(results.flex.map((r) => r.categories.category_A as number)));
    summary[`${prefix}semantic_bt`] = round(mean(results.bt.map((r) => r.categories.category_A as number)));
    summary[`${prefix}steps`] = s.steps;
    summary[`${prefix}samples_per_step`] = s.promptsPerStep * s.groupSize;
    summary[`${prefix}held_out`] = s.heldOut;
    summary[`${prefix}curve_held_out`] = curveTexts.length;
    const all = [...results.flex, ...results.bt];
    summary[`${prefix}time_sampling_s`] = round(mean(all.map((r) => r.seconds.sampling)));
    summary[`${prefix}time_judging_s`] = round(mean(all.map((r) => r.seconds.judging)));
    summary[`${prefix}time_update_s`] = round(mean(all.map((r) => r.seconds.update)));
    summary[`${prefix}time_step_s`] = round(mean(all.map((r) => r.seconds.step)));
    base.dispose();
  }
  summary.minutes = Number(((performance.now() - started) / 60_000).toFixed(2));
  console.log(JSON.stringify(summary));
});
