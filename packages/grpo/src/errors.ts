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
  /** For `invalid_options`: the option at fault (its top-level name, e.g. `sdeWindow`), when one is. */
  readonly option: string | undefined;
  readonly [marker] = true;
  constructor(code: GrpoErrorCode, message: string, options?: { cause?: unknown; option?: string }) {
    super(message, options);
    this.name = 'GrpoError';
    this.code = code;
    this.option = options?.option;
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
  const first = result.error.issues[0]?.path[0];
  throw new GrpoError('invalid_options', `${where}: invalid options: ${issues}`, { cause: result.error, ...(first !== undefined ? { option: String(first) } : {}) });
}
