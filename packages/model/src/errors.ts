/**
 * Error classes of @flex/model. Every exceptional failure carries a stable `code`, and a marker so that
 * `isInstance()` works across duplicated copies of the package.
 */

/** Stable codes of the exceptional failures of @flex/model. */
export type ModelErrorCode =
  | 'invalid_options'
  | 'backend_unavailable'
  | 'checkpoint_not_found'
  | 'checkpoint_corrupt'
  | 'checkpoint_wrong_kind'
  | 'checkpoint_newer_version'
  | 'checkpoint_mismatch'
  | 'tokenizer_error'
  | 'shape_error'
  | 'out_of_memory';

const marker = Symbol.for('@flex/model.error');

/** The base error of @flex/model: `code` says what went wrong, `details` carries structured context. */
export class ModelError extends Error {
  readonly code: ModelErrorCode;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly [marker] = true;
  constructor(code: ModelErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelError';
    this.code = code;
    if (options.details) this.details = options.details;
  }
  /** True for any @flex/model error, even from another copy of the package. */
  static isInstance(value: unknown): value is ModelError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** A checkpoint could not be read: missing, truncated, of another kind or a newer format. */
export class CheckpointError extends ModelError {
  constructor(code: ModelErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'CheckpointError';
  }
}

/** Options given to a public function failed validation. */
export class InvalidOptionsError extends ModelError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('invalid_options', message, options);
    this.name = 'InvalidOptionsError';
  }
}

/** Parses `value` with a zod schema, throwing {@link InvalidOptionsError} with a readable message on failure. */
export function parseOptions<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } },
  value: unknown,
  what: string,
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new InvalidOptionsError(`invalid ${what}: ${issues}`, { details: { issues: result.error.issues } });
}
