export { runCli, buildProgram } from './program';
export type { CliIo, CommandRegistrar } from './program';
export { CliError } from './errors';
export type { CliErrorCode } from './errors';
export { createProgress } from './progress';
export type { Progress, ProgressOptions } from './progress';
export { runStages, readDoneMarker, doneMarkerPath, writeFileAtomic } from './pipeline/runner';
export type { Stage, StageContext, StageSummary, RunStagesOptions } from './pipeline/runner';
