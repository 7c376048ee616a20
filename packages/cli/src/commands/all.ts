import type { Command } from 'commander';
import { statsCommand, synthCommand } from './synth';

/** A subcommand module: adds itself to the program. */
export type CommandRegistrar = (program: Command) => void;

/** Every built-in subcommand, in the order `flex --help` lists them. */
export const allCommands: readonly CommandRegistrar[] = [synthCommand, statsCommand];
