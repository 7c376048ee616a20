import { z } from 'zod';

/** A read-only array of numbers: a plain array or any typed array. */
export type NumericArray = ArrayLike<number>;

function isNumericArray(value: unknown): value is NumericArray {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function allFinite(values: NumericArray): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  }
  return true;
}

/** Zod schema of an array (plain or typed) of finite numbers. */
export const finiteArraySchema = z.custom<NumericArray>(
  (value) => isNumericArray(value) && allFinite(value),
  { message: 'expected an array of finite numbers' },
);

/** Zod schema of a non-empty array of finite numbers. */
export const nonEmptyFiniteArraySchema = z.custom<NumericArray>(
  (value) => isNumericArray(value) && value.length > 0 && allFinite(value),
  { message: 'expected a non-empty array of finite numbers' },
);

/** Zod schema of a finite number. */
export const finiteNumberSchema = z.number().refine(Number.isFinite, { message: 'expected a finite number' });

/** Mean of the values (NaN for an empty array). */
export function mean(values: NumericArray): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** Standard deviation: unbiased (n − 1) or population (n). 0 when there are too few values. */
export function standardDeviation(values: NumericArray, unbiased: boolean): number {
  const n = values.length;
  const denominator = unbiased ? n - 1 : n;
  if (denominator <= 0) return 0;
  const m = mean(values);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - m;
    sum += d * d;
  }
  return Math.sqrt(sum / denominator);
}
