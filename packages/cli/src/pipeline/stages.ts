import { cp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Judge } from '@flex/criteria';
import {
  formatResultsTable,
  loadBaselineJudge,
  runBenchmarkSuite,
  writeReport,
  curveFromMetricLines,
  readJsonLines,
  rewriteFixedRubric,
  trainBradleyTerry,
  type BaselineId,
} from '@flex/eval';
import { curate, dpo } from '@flex/dpo';
import { baseImageCheckpoint, distill, pretrain, pretrainRecipe, sft, shippedBaseRecipe } from '@flex/sft';
import { SimulatedTeacher, datasetStats, synthesize } from '@flex/synth';
import { runGrpo } from '../commands/grpo';
import { createProgress } from '../progress';
import type { PipelineConfig } from './presets';
import type { Stage, StageSummary } from './runner';
import { phaseCallbacks, progressCallbacks } from './training-progress';

/** Dataset folders of a run. */
export function datasetDirs(runDir: string) {
  const root = join(runDir, 'data');
  return {
    imageTrain: join(root, 'image-train'),
    imageValidation: join(root, 'image-validation'),
    imageTest: join(root, 'image-test'),
    imageHeldout: join(root, 'image-heldout-contexts'),
    videoTrain: join(root, 'video-train'),
    videoTest: join(root, 'video-test'),
  };
}

const dataStage: Stage<PipelineConfig> = {
  name: 'data',
  description: 'generate the embedded world: image train/validation/test/held-out contexts, video train/test',
  async run({ runDir, config, quiet }) {
    const dirs = datasetDirs(runDir);
    const jobs = [
      { out: dirs.imageTrain, modality: 'image', split: 'train', pairs: config.data.imageTrain },
      { out: dirs.imageValidation, modality: 'image', split: 'validation', pairs: config.data.imageValidation },
      { out: dirs.imageTest, modality: 'image', split: 'test', pairs: config.data.imageTest },
      { out: dirs.imageHeldout, modality: 'image', split: 'heldout-contexts', pairs: config.data.imageHeldout },
      { out: dirs.videoTrain, modality: 'video', split: 'train', pairs: config.data.videoTrain },
      { out: dirs.videoTest, modality: 'video', split: 'test', pairs: config.data.videoTest },
    ] as const;
    const summary: StageSummary = {};
    for (const [index, job] of jobs.entries()) {
      if (job.pairs === 0) continue;
      const progress = createProgress({ label: `data ${job.modality} ${job.split}`, total: job.pairs, unit: 'pairs', quiet });
      // Every split gets its own seed; overwrite, since a rerun of this stage means the last one did not finish.
      const result = await synthesize({
        out: job.out,
        modality: job.modality,
        split: job.split,
        pairs: job.pairs,
        seed: config.seed * 100 + index,
        width: config.imageSize,
        overwrite: true,
        onProgress: (done) => {
          if (done % 100 === 0 || done === job.pairs) progress.update(done);
        },
      });
      progress.stop();
      summary[`${job.modality}-${job.split}`] = { dir: job.out, labels: result.labels };
    }
    return summary;
  },
};

const statsStage: Stage<PipelineConfig> = {
  name: 'stats',
  description: 'statistics of the image test split: label balance, teacher agreement, context sensitivity',
  async run({ runDir, stageDir }) {
    const stats = await datasetStats({ data: datasetDirs(runDir).imageTest });
    await writeFile(join(stageDir, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
    return {
      contextFlipRate: stats.contextFlipRate,
      contextBlindCeiling: stats.contextBlindCeiling,
      oracleAgreement: stats.oracleAgreement,
      teacherAgreement: (stats as unknown as { teacherAgreement?: unknown }).teacherAgreement ?? null,
    };
  },
};

const baseStage: Stage<PipelineConfig> = {
  name: 'base',
  description: 'the pretrained base model: the shipped checkpoint, or rebuilt with --from-scratch',
  async run({ stageDir, config, quiet, log }) {
    const target = join(stageDir, 'checkpoint');
    if (!config.fromScratch) {
      await cp(baseImageCheckpoint, target, { recursive: true });
      return { checkpoint: target, source: 'shipped' };
    }
    if (config.pretrain.recipe === 'shipped') {
      // The recipe that built the shipped base, with this run's seed and image size; phases resume and skip.
      const phases = phaseCallbacks();
      const recipe = shippedBaseRecipe.map((p) => ({ ...p, seed: config.seed, imageSize: config.imageSize }));
      const result = await pretrainRecipe({
        out: join(stageDir, 'recipe'),
        recipe,
        callbacks: [phases.callbacks],
        onPhase: (index, name, total, steps) => {
          log(`[base] phase ${index + 1}/${total}: ${name}`);
          phases.start(progressCallbacks({ label: `pretrain ${name}`, total: steps ?? 1, quiet, log }));
        },
      });
      await cp(result.checkpoint, target, { recursive: true });
      const last = result.phases.at(-1);
      return { checkpoint: target, source: 'pretrained (shipped recipe)', ...(last ? { captionAccuracy: last.captionAccuracy, steps: result.phases.reduce((n, p) => n + p.steps, 0) } : {}) };
    }
    const result = await pretrain({
      out: join(stageDir, 'train'),
      seed: config.seed,
      imageSize: config.imageSize,
      trainer: { maxSteps: config.pretrain.steps },
      callbacks: [progressCallbacks({ label: 'pretrain', total: config.pretrain.steps, quiet, log })],
      resume: existsSync(join(stageDir, 'train')),
    });
    await cp(result.checkpoint, target, { recursive: true });
    return { checkpoint: target, source: 'pretrained', captionAccuracy: result.captionAccuracy, steps: result.steps };
  },
};

const distillStage: Stage<PipelineConfig> = {
  name: 'distill',
  description: 'the simulated teacher writes Flex traces for the training pairs; keep the ones that agree with the label',
  async run({ runDir, stageDir, config, quiet }) {
    const data = datasetDirs(runDir).imageTrain;
    const out = join(stageDir, 'traces.jsonl');
    const progress = createProgress({ label: 'distill', total: config.data.imageTrain, unit: 'pairs', quiet });
    const stats = await distill({
      data,
      teacher: new SimulatedTeacher({}),
      filter: config.distill.filter,
      out,
      seed: config.seed,
      onProgress: (done) => progress.update(done),
    });
    progress.stop();
    return { traces: out, stats: stats as unknown as StageSummary };
  },
};

function checkpointOf(summary: StageSummary | undefined, stage: string): string {
  const checkpoint = summary?.['checkpoint'];
  if (typeof checkpoint !== 'string') throw new Error(`stage ${stage} left no checkpoint (rerun it)`);
  return checkpoint;
}

const sftStage: Stage<PipelineConfig> = {
  name: 'sft',
  description: 'supervised fine-tuning of the judge on the kept teacher traces (description loss mixed in)',
  async run({ runDir, stageDir, config, previous, quiet, log }) {
    const result = await sft({
      base: checkpointOf(previous['base'], 'base'),
      data: datasetDirs(runDir).imageTrain,
      traces: String(previous['distill']?.['traces']),
      filter: config.distill.filter,
      out: stageDir,
      seed: config.seed,
      config: { maxSteps: config.sft.steps, batchSize: config.sft.batchSize, saveSteps: Math.max(50, Math.floor(config.sft.steps / 5)) },
      callbacks: [progressCallbacks({ label: 'sft', total: config.sft.steps, quiet, log })],
      resume: existsSync(join(stageDir, 'metrics.jsonl')),
    });
    return { checkpoint: result.checkpoint, traces: result.traces, descriptions: result.descriptions, status: result.train.status, metrics: join(stageDir, 'metrics.jsonl') };
  },
};

const dpoStage: Stage<PipelineConfig> = {
  name: 'dpo',
  description: "preference pairs from the SFT judge's own samples (right vs wrong verdicts), then DPO from the SFT checkpoint",
  async run({ runDir, stageDir, config, previous, quiet, log }) {
    const sftCheckpoint = checkpointOf(previous['sft'], 'sft');
    const data = datasetDirs(runDir).imageTrain;
    const curated = await curate({
      model: sftCheckpoint,
      data,
      traces: String(previous['distill']?.['traces']),
      out: join(stageDir, 'preferences'),
      samples: config.dpo.samplesPerPair,
      limit: config.dpo.pairs,
      seed: config.seed,
    });
    log(`[dpo] curated ${curated.preferences} preference pairs`);
    const result = await dpo({
      model: sftCheckpoint,
      data,
      preferences: curated.out,
      out: join(stageDir, 'train'),
      seed: config.seed,
      // A DPO micro-batch holds chosen and rejected sequences: half SFT's micro-batch, accumulated twice, keeps the
      // activations within the wasm heap (4 GB, never shrinks) for the same effective batch.
      config: { maxSteps: config.dpo.steps, batchSize: Math.max(1, Math.floor(Math.min(8, config.sft.batchSize) / 2)), gradientAccumulationSteps: 2 },
      callbacks: [progressCallbacks({ label: 'dpo', total: config.dpo.steps, quiet, log })],
      resume: existsSync(join(stageDir, 'train', 'metrics.jsonl')),
    });
    return { checkpoint: result.checkpoint, preferences: curated.preferences, curation: curated.stats as unknown as StageSummary, metrics: join(stageDir, 'train', 'metrics.jsonl') };
  },
};

const baselineBtStage: Stage<PipelineConfig> = {
  name: 'baseline-bt',
  description: 'the scalar Bradley–Terry baseline (HPS / PickScore family) from the same base, on the same pairs',
  async run({ runDir, stageDir, config, previous, quiet }) {
    const progress = createProgress({ label: 'baseline-bt', total: config.baselines.btSteps, unit: 'steps', quiet });
    const result = await trainBradleyTerry({
      base: checkpointOf(previous['base'], 'base'),
      data: datasetDirs(runDir).imageTrain,
      out: stageDir,
      steps: config.baselines.btSteps,
      seed: config.seed,
      onProgress: (step: number) => progress.update(step),
      resume: existsSync(join(stageDir, 'metrics.jsonl')),
    });
    progress.stop();
    return { checkpoint: result.checkpoint, metrics: join(stageDir, 'metrics.jsonl'), skippedTies: result.skippedTies };
  },
};

const baselineFixedRubricStage: Stage<PipelineConfig> = {
  name: 'baseline-fixed-rubric',
  description: 'the fixed-rubric reasoning judge (UnifiedReward-Think family): the same traces rewritten to fixed criteria, same SFT',
  async run({ runDir, stageDir, config, previous, quiet, log }) {
    const data = datasetDirs(runDir).imageTrain;
    const traces = join(stageDir, 'traces-fixed-rubric.jsonl');
    // Joined reasons are kept short so the rewritten traces fit the judge's text length like the originals.
    const rewrite = await rewriteFixedRubric({ data, traces: String(previous['distill']?.['traces']), out: traces, maxReasonLength: 80 });
    const result = await sft({
      base: checkpointOf(previous['base'], 'base'),
      data,
      traces,
      filter: config.distill.filter,
      out: join(stageDir, 'sft'),
      seed: config.seed,
      config: { maxSteps: config.baselines.fixedRubricSteps, batchSize: config.sft.batchSize },
      callbacks: [progressCallbacks({ label: 'baseline-fixed-rubric', total: config.baselines.fixedRubricSteps, quiet, log })],
      resume: existsSync(join(stageDir, 'sft', 'metrics.jsonl')),
    });
    return { checkpoint: result.checkpoint, metrics: join(stageDir, 'sft', 'metrics.jsonl'), rewritten: rewrite.rewritten };
  },
};

/** The judges of the results table, in row order, from what earlier stages produced. */
function evaluationJudges(previous: Readonly<Record<string, StageSummary>>): { id: BaselineId; load: () => Promise<Judge> }[] {
  const rows: { id: BaselineId; stage?: string }[] = [
    { id: 'scalar-bt', stage: 'baseline-bt' },
    { id: 'fixed-rubric', stage: 'baseline-fixed-rubric' },
    { id: 'flex-sft', stage: 'sft' },
    { id: 'flex-sft-dpo', stage: 'dpo' },
    { id: 'teacher' },
    { id: 'oracle' },
  ];
  return rows
    .filter((row) => !row.stage || typeof previous[row.stage]?.['checkpoint'] === 'string')
    .map((row) => ({
      id: row.id,
      load: () => loadBaselineJudge({ id: row.id, ...(row.stage ? { checkpoint: String(previous[row.stage]!['checkpoint']) } : {}) }),
    }));
}

const evalStage: Stage<PipelineConfig> = {
  name: 'eval',
  description: 'every judge on the image test, held-out-context and video test splits (generated assessments, A/B randomised)',
  async run({ runDir, stageDir, config, previous, quiet }) {
    const dirs = datasetDirs(runDir);
    const datasets = [dirs.imageTest, dirs.imageHeldout, ...(config.data.videoTest > 0 ? [dirs.videoTest] : [])];
    const judges = evaluationJudges(previous);
    let progress: ReturnType<typeof createProgress> | undefined;
    let current = -1;
    const runs = await runBenchmarkSuite({
      judges: judges.map((j) => j.load),
      datasets,
      seed: config.seed,
      limit: config.eval.limit,
      bootstrapSamples: config.eval.bootstrapSamples,
      batchSize: 32,
      onProgress: (p) => {
        if (p.run !== current) {
          progress?.stop();
          current = p.run;
          progress = createProgress({ label: `eval ${p.judge} (${p.run + 1}/${p.runs})`, total: p.total ?? config.eval.limit, unit: 'pairs', quiet });
        }
        progress?.update(p.pairsDone);
      },
    });
    progress?.stop();
    const curves = [];
    for (const stage of ['sft', 'dpo', 'baseline-bt', 'baseline-fixed-rubric']) {
      const metrics = previous[stage]?.['metrics'];
      if (typeof metrics === 'string' && existsSync(metrics)) {
        curves.push(curveFromMetricLines({ title: `${stage} training`, lines: await readJsonLines(metrics), keys: ['loss'] }));
      }
    }
    // results.json, samples.json (media as PNG data URLs) and report.html at the top of the run folder.
    const written = await writeReport({
      runDir,
      results: { runs, title: `Flex pipeline (${config.preset})`, seed: config.seed, options: config as unknown as Record<string, unknown> },
      curves,
    });
    const table = formatResultsTable({ runs, format: 'text' });
    await writeFile(join(stageDir, 'table.txt'), `${table}\n`);
    return { table, results: written.resultsPath, report: written.reportPath };
  },
};

const grpoStage: Stage<PipelineConfig> = {
  name: 'grpo',
  description: "GRPO of the shipped image generator with the pipeline's Flex judge (DPO checkpoint) as the pairwise reward; held-out oracle before/after",
  enabled: (config) => config.grpo.steps > 0,
  async run({ stageDir, config, previous, quiet, log }) {
    // The judge the eval stage scored as flex-sft-dpo.
    const judge = await loadBaselineJudge({ id: 'flex-sft-dpo', checkpoint: checkpointOf(previous['dpo'], 'dpo') });
    const summary = await runGrpo({
      judge,
      out: stageDir,
      steps: config.grpo.steps,
      groupSize: config.grpo.groupSize,
      promptsPerStep: config.grpo.promptsPerStep,
      learningRate: config.grpo.learningRate,
      seed: config.seed,
      heldOut: config.grpo.heldOut,
      evalSteps: Math.max(1, Math.ceil(config.grpo.steps / 4)),
      updateInWorker: true,
      quiet,
      log,
    });
    log(`[grpo] ${summary.summary}`);
    return { ...summary, report: join(stageDir, 'grpo.json') };
  },
};

/** Every stage of `flex pipeline`, in order. */
export const pipelineStages: readonly Stage<PipelineConfig>[] = [dataStage, statsStage, baseStage, distillStage, sftStage, dpoStage, baselineBtStage, baselineFixedRubricStage, evalStage, grpoStage];
