/** Codes of the synth package's thrown errors. */
export type SynthErrorCode = 'invalid_options' | 'malformed_record' | 'missing_manifest' | 'invalid_manifest' | 'missing_media' | 'dataset_exists';

/** An exceptional failure of the synth package, with a stable `code`. */
export class SynthError extends Error {
  /** Marker that survives across copies of the package (`SynthError.isInstance`). */
  readonly flexSynthError = true;
  readonly code: SynthErrorCode;
  /** 1-based line number in pairs.jsonl, for `malformed_record`. */
  readonly line?: number;
  /** The file concerned, when there is one. */
  readonly file?: string;

  constructor(code: SynthErrorCode, message: string, details: { line?: number; file?: string; cause?: unknown } = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'SynthError';
    this.code = code;
    if (details.line !== undefined) this.line = details.line;
    if (details.file !== undefined) this.file = details.file;
  }

  /** True for a SynthError from any copy of this package. */
  static isInstance(value: unknown): value is SynthError {
    return typeof value === 'object' && value !== null && (value as { flexSynthError?: unknown }).flexSynthError === true;
  }
}
