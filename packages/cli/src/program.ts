import { Command, CommanderError } from 'commander';
import { CliError, describeError } from './errors';
import { allCommands, type CommandRegistrar } from './commands/all';

export type { CommandRegistrar };

/** Build the `flex` program with the given subcommands (default: every built-in one). */
export function buildProgram(registrars: readonly CommandRegistrar[] = allCommands): Command {
  const program = new Command('flex')
    .description('Flex: personalized reasoning reward models for image and video generation, and GRPO with them.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const register of registrars) register(program);
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(add --help for usage)');
  return program;
}

/** Output streams for {@link runCli} (injectable for tests). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * Run the `flex` command with `argv` (without the node and script paths). Returns the exit code; expected
 * failures print one line `flex: <reason>` and return non-zero, never a stack trace.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = defaultIo,
  registrars: readonly CommandRegistrar[] = allCommands,
): Promise<number> {
  const program = buildProgram(registrars);
  program.configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return error.exitCode;
    }
    if (CliError.isInstance(error)) {
      io.stderr(`flex: ${error.message}\n`);
      return error.exitCode;
    }
    // Typed errors of the Flex packages (SynthError, CheckpointError, …) carry a stable code: expected failures.
    const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
    if (typeof code === 'string') {
      io.stderr(`flex: ${error instanceof Error ? error.message : String(error)} [${code}]\n`);
      return 1;
    }
    io.stderr(`flex: unexpected error: ${describeError(error)}\n`);
    if (process.env['FLEX_DEBUG'] && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return 1;
  }
}
