// Shared by the bench diagnostics: a judge's greedy next-token predictions on examples it is fed whole (teacher forcing).
import { tf, type FlexJudgeModel, type JudgeExample } from '@flex/model';

/** Per example: the target ids, the model's argmax prediction at each position, and whether the target is trained. */
export interface ForcedRow {
  readonly targets: readonly number[];
  readonly predicted: readonly number[];
  readonly trained: readonly boolean[];
}

/** Runs the examples through the model in batches of `batchSize` and returns one {@link ForcedRow} per example. */
export function forcedPredictions(model: FlexJudgeModel, examples: readonly JudgeExample[], batchSize = 8): ForcedRow[] {
  const rows: ForcedRow[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const batch = model.prepareBatch(examples.slice(start, start + batchSize));
    const predicted = tf.tidy(() => tf.argMax(model.logits(batch), -1).arraySync() as number[][]);
    const targets = batch.targets.arraySync() as number[][];
    const mask = batch.lossMask.arraySync() as number[][];
    batch.dispose();
    targets.forEach((row, b) => rows.push({ targets: row, predicted: predicted[b] as number[], trained: (mask[b] as number[]).map((m) => m > 0) }));
  }
  return rows;
}
