/**
 * Keeps the API key out of every string the remote judge lets go of (log lines, error messages, raw bodies).
 * A misbehaving server may echo request headers back in an error body, so the remote judge never trusts a
 * server-provided string: each one passes through {@link redactSecret} before it is logged or returned.
 */

/** What a secret is replaced with. */
export const redactedMarker = '[redacted]';

// Bearer tokens are hidden even when they are not our key (a proxy may echo someone else's).
const bearerPattern = /(bearer\s+)[^\s"',;]+/gi;

/**
 * Returns `text` with every occurrence of `secret` (and any `Bearer <token>`) replaced by `[redacted]`.
 * An empty or missing secret only strips bearer tokens.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  let out = text;
  if (secret !== undefined && secret.length > 0) out = out.split(secret).join(redactedMarker);
  return out.replace(bearerPattern, `$1${redactedMarker}`);
}
