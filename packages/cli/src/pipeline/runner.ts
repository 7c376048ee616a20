import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CliError, describeError } from '../errors';

/** What every stage gets. */
export interface StageContext<TConfig> {
  /** The run folder; each stage writes under `runDir/<stage name>/`. */
  readonly runDir: string;
  /** This stage's folder (created before `run`). */
  readonly stageDir: string;
  /** The resolved preset/config of the pipeline. */
  readonly config: TConfig;
  /** Summaries of the stages before this one, by name (from this run or an earlier, resumed one). */
  readonly previous: Readonly<Record<string, StageSummary>>;
  /** Log one line. */
  readonly log: (line: string) => void;
  /** Silence progress bars. */
  readonly quiet: boolean;
}

/** What a stage reports when it completes: small JSON-able facts (paths, metrics). */
export type StageSummary = Record<string, unknown>;

/** A stage of the pipeline. */
export interface Stage<TConfig> {
  readonly name: string;
  readonly description: string;
  /** Skip this stage for this config (e.g. `pretrain` unless --from-scratch). */
  readonly enabled?: (config: TConfig) => boolean;
  run(context: StageContext<TConfig>): Promise<StageSummary>;
}

const doneSchema = z.object({
  stage: z.string(),
  completedAt: z.string(),
  seconds: z.number(),
  summary: z.record(z.string(), z.unknown()),
});

/** The completion marker of a stage: written last, atomically, so a crash never marks a half-done stage. */
export function doneMarkerPath(runDir: string, stage: string): string {
  return join(runDir, stage, 'DONE.json');
}

/** Write a file atomically (temporary file, then rename). */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/** Read a stage's completion marker, or undefined when it has not completed. */
export async function readDoneMarker(runDir: string, stage: string): Promise<StageSummary | undefined> {
  const path = doneMarkerPath(runDir, stage);
  if (!existsSync(path)) return undefined;
  const parsed = doneSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new CliError('io_error', `corrupt stage marker ${path}; delete it to rerun the stage`);
  return parsed.data.summary;
}

/** Options of {@link runStages}. */
export interface RunStagesOptions<TConfig> {
  readonly runDir: string;
  readonly stages: readonly Stage<TConfig>[];
  readonly config: TConfig;
  /** Run only these stages (by name), still skipping completed ones. Default: all. */
  readonly only?: readonly string[];
  /** Rerun stages even when complete. Default false. */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
  readonly quiet?: boolean;
}

/**
 * Run stages in order into one run folder, skipping the ones already complete, so an interrupted run resumes
 * where it stopped. Returns every stage's summary.
 */
export async function runStages<TConfig>(options: RunStagesOptions<TConfig>): Promise<Record<string, StageSummary>> {
  const { runDir, stages, config, only, force = false, log = (l) => process.stderr.write(`${l}\n`), quiet = false } = options;
  await mkdir(runDir, { recursive: true });
  const summaries: Record<string, StageSummary> = {};
  for (const stage of stages) {
    if (stage.enabled && !stage.enabled(config)) continue;
    if (only && !only.includes(stage.name)) {
      const done = await readDoneMarker(runDir, stage.name);
      if (done) summaries[stage.name] = done;
      continue;
    }
    const done = force ? undefined : await readDoneMarker(runDir, stage.name);
    if (done) {
      log(`[${stage.name}] already complete, skipped`);
      summaries[stage.name] = done;
      continue;
    }
    const stageDir = join(runDir, stage.name);
    await mkdir(stageDir, { recursive: true });
    log(`[${stage.name}] ${stage.description}`);
    const started = performance.now();
    let summary: StageSummary;
    try {
      summary = await stage.run({ runDir, stageDir, config, previous: { ...summaries }, log, quiet });
    } catch (error) {
      if (CliError.isInstance(error)) throw error;
      throw new CliError('stage_failed', `stage ${stage.name} failed: ${describeError(error)}`, 1);
    }
    const seconds = (performance.now() - started) / 1000;
    await writeFileAtomic(
      doneMarkerPath(runDir, stage.name),
      JSON.stringify({ stage: stage.name, completedAt: new Date().toISOString(), seconds, summary }, null, 2),
    );
    log(`[${stage.name}] done in ${seconds.toFixed(1)} s`);
    summaries[stage.name] = summary;
  }
  return summaries;
}
