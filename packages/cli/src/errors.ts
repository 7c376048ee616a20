/** Codes of the failures the `flex` command reports in one line. */
export type CliErrorCode = 'invalid_option' | 'missing_input' | 'stage_failed' | 'io_error' | 'interrupted';

/**
 * An expected failure of a command: printed as one line (`flex: <message>`) with a non-zero exit code,
 * never as a stack trace.
 */
export class CliError extends Error {
  /** Stable marker so `CliError.isInstance` works across copies of this package. */
  readonly flexCliError = true;
  constructor(
    readonly code: CliErrorCode,
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }

  /** True for any `CliError`, even from another copy of this package. */
  static isInstance(value: unknown): value is CliError {
    return typeof value === 'object' && value !== null && (value as { flexCliError?: unknown }).flexCliError === true;
  }
}

/** One line that says what went wrong, for any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !CliError.isInstance(error) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
