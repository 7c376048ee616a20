import type { Command } from 'commander';
import { evalCommand, judgeCommand, reportCommand } from './evaluate';
import { statsCommand, synthCommand } from './synth';
import { serveCommand } from './serve';
import { pipelineCommand } from './pipeline';
import { distillCommand, dpoCommand, pretrainCommand, sftCommand } from './train';
import { grpoCommand } from './grpo';

/** A subcommand module: adds itself to the program. */
export type CommandRegistrar = (program: Command) => void;

/** Every built-in subcommand, in the order `flex --help` lists them. */
export const allCommands: readonly CommandRegistrar[] = [pipelineCommand, synthCommand, statsCommand, pretrainCommand, distillCommand, sftCommand, dpoCommand, evalCommand, grpoCommand, judgeCommand, reportCommand, serveCommand];
