import { z } from 'zod';
import { parseOptions } from './errors';
import { finiteArraySchema, type NumericArray } from './numeric';

/**
 * How per-token (or per-step) losses become one number (TRL's `loss_type`):
 * - `sequence-mean` (TRL `grpo`): mean over each sequence's tokens, then mean over sequences;
 * - `token-mean` (TRL `bnpo` / `dapo`): sum over every token of the batch / number of tokens;
 * - `dr-grpo` (Dr.GRPO): sum over every token / (sequences × a constant `maxLength`), free of length bias.
 */
export const lossAggregationSchema = z.enum(['sequence-mean', 'token-mean', 'dr-grpo']);
/** See {@link lossAggregationSchema}. */
export type LossAggregation = z.output<typeof lossAggregationSchema>;

/** Options of {@link aggregateLoss}. */
export const aggregateLossOptionsSchema = z
  .object({
    /** Per-token losses, one row per sequence (rows may differ in length). */
    losses: z.array(finiteArraySchema).min(1),
    /** Optional 0/1 (or weight) mask, same shape as `losses`; masked tokens count for nothing. Default: all 1. */
    mask: z.array(finiteArraySchema).optional(),
    /** The aggregation. Default `sequence-mean`. */
    mode: lossAggregationSchema.default('sequence-mean'),
    /** Dr.GRPO's constant per-sequence length (tokens). Default: the longest row. */
    maxLength: z.number().int().positive().optional(),
  })
  .superRefine((v, context) => {
    if (v.mask === undefined) return;
    if (v.mask.length !== v.losses.length) {
      context.addIssue({ code: 'custom', message: `mask has ${v.mask.length} rows, losses ${v.losses.length}`, path: ['mask'] });
      return;
    }
    v.mask.forEach((row, i) => {
      if (row.length !== (v.losses[i] as NumericArray).length) {
        context.addIssue({ code: 'custom', message: `mask row ${i} differs in length from its losses`, path: ['mask', i] });
      }
    });
  });

/** Input of {@link aggregateLoss}. */
export type AggregateLossOptions = z.input<typeof aggregateLossOptionsSchema>;

/**
 * Reduces per-token losses to one loss. Sequences with no unmasked token are skipped by `sequence-mean`
 * and count for nothing elsewhere; an all-masked batch gives 0.
 */
export function aggregateLoss(options: AggregateLossOptions): number {
  const o = parseOptions(aggregateLossOptionsSchema, options, 'aggregateLoss');
  const maskAt = (i: number, j: number): number => (o.mask ? ((o.mask[i] as NumericArray)[j] as number) : 1);
  let total = 0;
  let tokens = 0;
  let sequenceSum = 0;
  let sequences = 0;
  let longest = 0;
  o.losses.forEach((row, i) => {
    let rowSum = 0;
    let rowCount = 0;
    for (let j = 0; j < row.length; j++) {
      const m = maskAt(i, j);
      rowSum += (row[j] as number) * m;
      rowCount += m;
    }
    total += rowSum;
    tokens += rowCount;
    longest = Math.max(longest, row.length);
    if (rowCount > 0) {
      sequenceSum += rowSum / rowCount;
      sequences++;
    }
  });
  if (o.mode === 'sequence-mean') return sequences > 0 ? sequenceSum / sequences : 0;
  if (o.mode === 'token-mean') return tokens > 0 ? total / tokens : 0;
  const maxLength = o.maxLength ?? longest;
  return maxLength > 0 ? total / (o.losses.length * maxLength) : 0;
}
