/** Codes of the exceptional (programmer) errors of @flex/criteria. */
export type CriteriaErrorCode = 'invalid_options';

const marker = Symbol.for('flex.criteria.error');

/**
 * An exceptional error of @flex/criteria (malformed options to a function that cannot return a result value).
 * Expected failures (a judge's bad output) are never thrown: they are result values.
 */
export class CriteriaError extends Error {
  /** Always 'CriteriaError'. */
  override readonly name = 'CriteriaError';

  constructor(
    /** Stable code. */
    readonly code: CriteriaErrorCode,
    message: string,
  ) {
    super(message);
    // A registered symbol marks the instance so `isInstance` works across copies of the package.
    Object.defineProperty(this, marker, { value: true });
  }

  /** True for a CriteriaError from any copy of this package. */
  static isInstance(error: unknown): error is CriteriaError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

/**
 * Validates options with a zod schema, throwing a {@link CriteriaError} `invalid_options` that lists every issue.
 * @param schema The options schema.
 * @param options The caller's options.
 * @param what What the options are for, for the message ("template options").
 */
export function parseOptionsOrThrow<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } }, options: unknown, what: string): T {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  throw new CriteriaError('invalid_options', `invalid ${what}: ${parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}
