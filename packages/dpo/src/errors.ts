/** Stable codes of the exceptional failures of @flex/dpo. */
export type DpoErrorCode = 'invalid_options' | 'invalid_dataset' | 'missing_preferences' | 'missing_reference';

const marker = Symbol.for('@flex/dpo.error');

/** The error class of @flex/dpo: `code` says what went wrong. */
export class DpoError extends Error {
  readonly code: DpoErrorCode;
  readonly [marker] = true;
  constructor(code: DpoErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DpoError';
    this.code = code;
  }
  /** True for any @flex/dpo error, even from another copy of the package. */
  static isInstance(value: unknown): value is DpoError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** Parses options with a zod schema, throwing {@link DpoError} `invalid_options` with a readable message. */
export function parseDpoOptions<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } },
  value: unknown,
  what: string,
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new DpoError('invalid_options', `${what}: ${result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}
