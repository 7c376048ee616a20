/**
 * Retry timing: exponential backoff with seeded full jitter, and the server's `Retry-After` when it sends one.
 * Pure functions, so the schedule is testable without sleeping.
 */

/** A 32-bit integer hash (FNV-1a) of a string; used to derive per-request jitter streams. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A uniform number in [0, 1) determined by `(seed, key, attempt)` only (a counter-based generator), so a
 * request's jitter does not depend on how concurrent requests were scheduled.
 */
export function jitterUniform(seed: number, key: string, attempt: number): number {
  // splitmix32-style finaliser over the three inputs.
  let z = (hashString(key) ^ Math.imul(seed | 0, 0x9e3779b9) ^ Math.imul(attempt + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z = (z ^ (z >>> 15)) >>> 0;
  return z / 4294967296;
}

/** Settings of {@link backoffDelayMs}. */
export interface BackoffSettings {
  /** Delay scale of the first retry, in milliseconds. */
  readonly baseDelayMs: number;
  /** Upper bound of any computed delay, in milliseconds. */
  readonly maxDelayMs: number;
  /** Seed of the jitter. */
  readonly seed: number;
}

/**
 * The delay before retry number `attempt + 1` (attempt 0 is the first failure), in milliseconds:
 * "equal jitter" — half of `min(max, base·2^attempt)` fixed plus a seeded uniform share of the other half,
 * so retries of many requests spread out but never collapse to zero.
 */
export function backoffDelayMs(settings: BackoffSettings, key: string, attempt: number): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** attempt);
  const u = jitterUniform(settings.seed, key, attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * u);
}

/**
 * Reads a server's wait request from response headers, in milliseconds: `retry-after-ms` (milliseconds, a
 * common extension), else `Retry-After` as delta-seconds or as an HTTP date (relative to the response's own
 * `Date` header when present, else to `nowMs`). Returns undefined when absent or unreadable; never negative.
 */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, nowMs: number): number | undefined {
  if (!headers) return undefined;
  const milliseconds = headers.get('retry-after-ms');
  if (milliseconds !== null && milliseconds.trim() !== '') {
    const value = Number(milliseconds);
    if (Number.isFinite(value)) return Math.max(0, value);
  }
  const header = headers.get('retry-after');
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.max(0, Number(trimmed) * 1000);
  const when = Date.parse(trimmed);
  if (Number.isNaN(when)) return undefined;
  const serverNow = headers.get('date');
  const reference = serverNow !== null && !Number.isNaN(Date.parse(serverNow)) ? Date.parse(serverNow) : nowMs;
  return Math.max(0, when - reference);
}
