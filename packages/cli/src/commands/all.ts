import type { Command } from 'commander';
import { evalCommand, judgeCommand, reportCommand } from './evaluate';
import { statsCommand, synthCommand } from './synth';
import { serveCommand } from './serve';
import { pipelineCommand } from './pipeline';

/** A subcommand module: adds itself to the program. */
export type CommandRegistrar = (program: Command) => void;

/** Every built-in subcommand, in the order `flex --help` lists them. */
export const allCommands: readonly CommandRegistrar[] = [pipelineCommand, synthCommand, statsCommand, evalCommand, judgeCommand, reportCommand, serveCommand];
