import { z } from 'zod';
import type { Judge, JudgeCallOptions } from '@flex/criteria';
import { SimulatedTeacher, type TeacherOptions } from '@flex/synth';
import { EvalError, parseOptions } from './errors';
import { oracleCeilingJudge, teacherAsJudge } from './synth-dataset';

/**
 * The rows every comparison shows, in the order the method claims (scalar < fixed rubric < Flex SFT < Flex
 * SFT+DPO), with the teacher and the oracle's ceiling as references. The model-based baselines load from
 * checkpoint folders (by default with @flex/model, or through a loader the caller provides); the teacher
 * and the oracle are built here from @flex/synth.
 */

/** Ids of the baselines. */
export const baselineIds = ['scalar-bt', 'fixed-rubric', 'flex-sft', 'flex-sft-dpo', 'teacher', 'oracle'] as const;

/** The id of a baseline. */
export type BaselineId = (typeof baselineIds)[number];

/** What a baseline is and how it is obtained. */
export interface BaselineDefinition {
  /** Stable id (`--baseline` values). */
  readonly id: BaselineId;
  /** Row label in tables and reports. */
  readonly label: string;
  /** The family of published reward models it stands for. */
  readonly family: string;
  /** How it is built, in one sentence (shown as the row's note). */
  readonly description: string;
  /** `checkpoint`: loaded from a model folder; `teacher` / `oracle`: built from @flex/synth. */
  readonly source: 'checkpoint' | 'teacher' | 'oracle';
}

/** Every baseline, in table order. */
export const baselineDefinitions: readonly BaselineDefinition[] = [
  {
    id: 'scalar-bt',
    label: 'scalar Bradley–Terry',
    family: 'HPS / PickScore / ImageReward',
    description: 'a scalar score head on the pretrained base, trained with the Bradley–Terry loss on the training pairs',
    source: 'checkpoint',
  },
  {
    id: 'fixed-rubric',
    label: 'fixed-rubric judge',
    family: 'UnifiedReward-Think',
    description: 'the same judge architecture trained on teacher traces rewritten to a fixed list of criteria, no self-generated category',
    source: 'checkpoint',
  },
  {
    id: 'flex-sft',
    label: 'Flex SFT',
    family: 'UnifiedReward-Flex (SFT only)',
    description: 'the Flex judge after supervised fine-tuning on filtered teacher traces',
    source: 'checkpoint',
  },
  {
    id: 'flex-sft-dpo',
    label: 'Flex SFT+DPO',
    family: 'UnifiedReward-Flex',
    description: 'the Flex judge after SFT and DPO on pairs of its own traces',
    source: 'checkpoint',
  },
  {
    id: 'teacher',
    label: 'teacher',
    family: 'the stronger judge distilled from',
    description: 'the simulated teacher of @flex/synth (imperfect perception, full Flex traces)',
    source: 'teacher',
  },
  {
    id: 'oracle',
    label: 'oracle ceiling',
    family: 'upper bound',
    description: "the oracle's noiseless preference scored against its own noisy labels",
    source: 'oracle',
  },
];

/** The definition of a baseline by id; unknown ids are an `EvalError('invalid_options')`. */
export function baselineDefinition(id: string): BaselineDefinition {
  const found = baselineDefinitions.find((b) => b.id === id);
  if (!found) throw new EvalError('invalid_options', `unknown baseline ${JSON.stringify(id)}; expected one of ${baselineIds.join(', ')}`);
  return found;
}

/**
 * Loads a judge from a checkpoint folder. The extension point for model-based baselines: @flex/model (or a
 * user's own code) provides it; `kind` tells which baseline is asked for, so one loader can refuse a
 * checkpoint of the wrong kind.
 */
export type CheckpointJudgeLoader = (options: { readonly dir: string; readonly kind: BaselineId }) => Promise<Judge>;

/** The @flex/model checkpoint kind each checkpoint baseline needs. */
export const checkpointKindOf: Readonly<Partial<Record<BaselineId, 'bradley-terry' | 'flex-judge'>>> = {
  'scalar-bt': 'bradley-terry',
  'fixed-rubric': 'flex-judge',
  'flex-sft': 'flex-judge',
  'flex-sft-dpo': 'flex-judge',
};

/**
 * The default {@link CheckpointJudgeLoader}: loads the checkpoint with @flex/model (imported on first use,
 * so @flex/eval's other functions never load TensorFlow.js), after starting its backend (`initBackend`, a
 * no-op when already started). A scalar baseline needs a `bradley-terry` checkpoint, the others a
 * `flex-judge` one; a missing, corrupt or wrong-kind checkpoint is an `EvalError('checkpoint_error')` whose
 * cause is @flex/model's error.
 */
export const modelCheckpointJudgeLoader: CheckpointJudgeLoader = async ({ dir, kind }) => {
  const expected = checkpointKindOf[kind];
  if (expected === undefined) throw new EvalError('invalid_options', `baseline ${kind} does not load from a checkpoint`);
  let model: typeof import('@flex/model');
  try {
    model = await import('@flex/model');
  } catch (cause) {
    throw new EvalError('not_available', `baseline ${kind} needs @flex/model, which could not be loaded: ${(cause as Error).message}`, { cause });
  }
  await model.initBackend();
  try {
    const loaded = await model.loadCheckpoint({ directory: dir, kind: expected });
    return loaded.model;
  } catch (cause) {
    throw new EvalError('checkpoint_error', `baseline ${kind}: ${(cause as Error).message}`, { cause });
  }
};

/** The options of {@link loadBaselineJudge}. */
export const loadBaselineOptionsSchema = z.object({
  /** Which baseline. */
  id: z.enum(baselineIds),
  /**
   * The checkpoint folder, for `scalar-bt` (the `<out>/final` of {@link trainBradleyTerry}), `fixed-rubric` (the
   * `<out>/final` of @flex/sft's `sft()` trained on the traces {@link rewriteFixedRubric} wrote), `flex-sft`,
   * `flex-sft-dpo`.
   */
  checkpoint: z.string().min(1).optional(),
  /** Loads a judge from a checkpoint folder. Default {@link modelCheckpointJudgeLoader} (@flex/model). */
  loadCheckpointJudge: z.custom<CheckpointJudgeLoader>((v) => typeof v === 'function').optional(),
  /** Options of the simulated teacher (the `teacher` baseline); use the ones distillation used. Default synth's. */
  teacher: z.custom<TeacherOptions>((v) => typeof v === 'object' && v !== null).optional(),
});

/** Options of {@link loadBaselineJudge}. */
export type LoadBaselineOptions = z.input<typeof loadBaselineOptionsSchema>;

/**
 * A judge for one baseline. `teacher` and `oracle` need nothing else (they read the pair records that
 * {@link readDatasetPairs} passes along); the checkpoint baselines need `checkpoint`, loaded by
 * `loadCheckpointJudge` (default: @flex/model's checkpoints). The judge is named with the baseline's label;
 * calls pass straight through to the loaded model.
 */
export async function loadBaselineJudge(options: LoadBaselineOptions): Promise<Judge> {
  const o = parseOptions(loadBaselineOptionsSchema, options, 'loadBaselineJudge');
  const definition = baselineDefinition(o.id);
  if (definition.source === 'oracle') return oracleCeilingJudge(definition.label);
  if (definition.source === 'teacher') return teacherAsJudge(new SimulatedTeacher(o.teacher ?? {}), definition.label);
  if (o.checkpoint === undefined) {
    throw new EvalError('invalid_options', `baseline ${o.id} needs a checkpoint folder (checkpoint)`);
  }
  const load = o.loadCheckpointJudge ?? modelCheckpointJudgeLoader;
  const judge = await load({ dir: o.checkpoint, kind: o.id });
  if (typeof judge?.judge !== 'function') {
    throw new EvalError('judge_contract', `loadCheckpointJudge returned no Judge for ${o.checkpoint}`);
  }
  if (o.id === 'fixed-rubric') {
    // The fixed rubric has only categories A, B and C: never let constrained decoding open a category D.
    const fixed = { grammar: { maxExtraCategories: 0 } };
    return { name: definition.label, judge: (requests, callOptions) => judge.judge(requests, { ...callOptions, ...fixed } as JudgeCallOptions) };
  }
  return { name: definition.label, judge: (requests, callOptions) => judge.judge(requests, callOptions) };
}

/** The rows whose accuracy the method claims to be increasing, in that order. */
export const claimedOrdering: readonly BaselineId[] = ['scalar-bt', 'fixed-rubric', 'flex-sft', 'flex-sft-dpo'];

/** Whether one benchmark's runs show the claimed ordering on accuracy without ties. */
export interface OrderingCheck {
  /** The benchmark. */
  readonly benchmark: string;
  /** The claimed rows present in the runs (matched by judge name = baseline label), in claimed order. */
  readonly rows: readonly { readonly id: BaselineId; readonly label: string; readonly accuracy: number | null }[];
  /** True when every present row beats the one before it; `null` with fewer than two rows. */
  readonly holds: boolean | null;
  /** Each step where the order breaks, in words ("Flex SFT 61.0 ≤ fixed-rubric judge 63.2, intervals overlap"). */
  readonly violations: readonly string[];
}

interface OrderingRun {
  readonly benchmark: string;
  readonly judge: string;
  readonly metrics: { readonly accuracyDiff: { readonly value: number | null; readonly lower: number | null; readonly upper: number | null } };
}

/**
 * Checks, per benchmark, whether accuracy (diff) increases along scalar < fixed rubric < Flex SFT < Flex
 * SFT+DPO for the rows present (runs are matched to baselines by their judge name, as
 * {@link loadBaselineJudge} names them). It reports what the runs show; it does not test significance, but
 * says when two neighbours' intervals overlap.
 */
export function checkClaimedOrdering(runs: readonly OrderingRun[]): OrderingCheck[] {
  const benchmarks = [...new Set(runs.map((r) => r.benchmark))];
  return benchmarks.map((benchmark) => {
    const present = claimedOrdering.flatMap((id) => {
      const label = baselineDefinition(id).label;
      const run = runs.find((r) => r.benchmark === benchmark && r.judge === label);
      return run ? [{ id, label, accuracy: run.metrics.accuracyDiff.value, estimate: run.metrics.accuracyDiff }] : [];
    });
    const violations: string[] = [];
    for (let i = 1; i < present.length; i++) {
      const before = present[i - 1] as (typeof present)[number];
      const after = present[i] as (typeof present)[number];
      if (before.accuracy === null || after.accuracy === null) {
        violations.push(`${after.label} or ${before.label} has no accuracy`);
        continue;
      }
      if (after.accuracy <= before.accuracy) {
        const overlap =
          before.estimate.lower !== null && after.estimate.upper !== null && after.estimate.upper >= before.estimate.lower
            ? ', intervals overlap'
            : '';
        violations.push(`${after.label} ${(after.accuracy * 100).toFixed(1)} ≤ ${before.label} ${(before.accuracy * 100).toFixed(1)}${overlap}`);
      }
    }
    return {
      benchmark,
      rows: present.map(({ id, label, accuracy }) => ({ id, label, accuracy })),
      holds: present.length < 2 ? null : violations.length === 0,
      violations,
    };
  });
}
