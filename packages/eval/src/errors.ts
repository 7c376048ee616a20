import type { z } from 'zod';

/** Stable codes of the exceptional errors @flex/eval throws. */
export type EvalErrorCode =
  | 'invalid_options' // an options object failed its zod schema
  | 'invalid_pair' // a benchmark pair is malformed (label, media, modality)
  | 'judge_contract' // a judge broke its contract (wrong number of results, probability out of range)
  | 'invalid_dataset' // a dataset folder is missing or malformed
  | 'invalid_results' // a results.json is missing or malformed
  | 'io_error' // a file could not be written or read
  | 'checkpoint_error' // a checkpoint is missing, corrupt, or of the wrong kind for the baseline asked
  | 'not_available'; // a baseline or loader needs a package API that is not there

const marker = Symbol.for('@flex/eval/EvalError');

/**
 * The one error class @flex/eval throws. `code` is stable; `isInstance` works across copies of the package
 * (it checks a global symbol, not the prototype chain).
 */
export class EvalError extends Error {
  readonly code: EvalErrorCode;
  readonly [marker] = true;
  constructor(code: EvalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvalError';
    this.code = code;
  }
  /** True when `value` is an EvalError from any copy of this package. */
  static isInstance(value: unknown): value is EvalError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** Parses `input` with `schema`; throws an `EvalError('invalid_options')` naming `where` and every issue. */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(options)'}: ${issue.message}`)
    .join('; ');
  throw new EvalError('invalid_options', `${where}: invalid options: ${issues}`, { cause: result.error });
}
