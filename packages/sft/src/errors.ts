/** Stable codes of the exceptional failures of @flex/sft. */
export type SftErrorCode = 'invalid_options' | 'invalid_dataset' | 'missing_traces' | 'teacher_failed';

const marker = Symbol.for('@flex/sft.error');

/** The error class of @flex/sft: `code` says what went wrong. */
export class SftError extends Error {
  readonly code: SftErrorCode;
  readonly [marker] = true;
  constructor(code: SftErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SftError';
    this.code = code;
  }
  /** True for any @flex/sft error, even from another copy of the package. */
  static isInstance(value: unknown): value is SftError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** Parses options with a zod schema, throwing {@link SftError} `invalid_options` with a readable message. */
export function parseSftOptions<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } },
  value: unknown,
  what: string,
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new SftError('invalid_options', `${what}: ${result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}
