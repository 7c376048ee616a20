import type { z } from 'zod';

/** Stable codes of the exceptional errors @flex/grpo throws. */
export type GrpoErrorCode =
  | 'invalid_options' // an options object failed its zod schema
  | 'reward_length_mismatch' // a reward function returned the wrong number of values
  | 'reward_error' // a reward function threw
  | 'policy_error' // a policy broke its contract (wrong shapes, wrong counts)
  | 'checkpoint_error' // a checkpoint is missing, of the wrong kind or version
  | 'worker_error' // the update worker failed or stopped
  | 'not_available'; // a feature needs a package that is not installed

const marker = Symbol.for('@flex/grpo/GrpoError');

/**
 * The one error class @flex/grpo throws. `code` is stable; `isInstance` works across copies of the package
 * (it checks a global symbol, not the prototype chain).
 */
export class GrpoError extends Error {
  readonly code: GrpoErrorCode;
  readonly [marker] = true;
  constructor(code: GrpoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GrpoError';
    this.code = code;
  }
  /** True when `value` is a GrpoError from any copy of this package. */
  static isInstance(value: unknown): value is GrpoError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** Parses `input` with `schema`; throws a `GrpoError('invalid_options')` naming `where` and every issue. */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(options)'}: ${issue.message}`)
    .join('; ');
  throw new GrpoError('invalid_options', `${where}: invalid options: ${issues}`, { cause: result.error });
}
