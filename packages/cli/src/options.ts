import { z } from 'zod';
import { CliError } from './errors';

/**
 * Validate a command's options with a zod schema; an invalid option becomes a one-line `CliError` naming the
 * option (`--pairs must be a positive integer, got "x"`).
 */
export function parseOptions<TSchema extends z.ZodType>(schema: TSchema, raw: unknown): z.output<TSchema> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.map(String).join('.');
  const flag = key ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : 'options';
  const value = key ? (raw as Record<string, unknown>)[key] : raw;
  throw new CliError('invalid_option', `${flag}: ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`);
}

/** A string flag holding an integer, coerced: `--pairs 100`. */
export const integerFlag = (min: number) => z.coerce.number().int(`must be an integer`).min(min, `must be at least ${min}`);
