import { z } from 'zod';
import { slotOfWinner } from '@flex/criteria';
import { contextSensitivity, contextStatsInput } from './context-stats';
import { readManifest, readPairs } from './dataset';
import type { Manifest } from './dataset';
import type { PairRecord } from './pair';
import { SimulatedTeacher, teacherOptionsSchema } from './teacher';
import { faultKinds } from './vocabulary';

/** Options of {@link datasetStats}. */
export const datasetStatsOptionsSchema = z.object({
  /** The dataset folder. */
  data: z.string().min(1),
  /** Use at most this many pairs. Default: all. */
  limit: z.number().int().positive().optional(),
  /** Options of the simulated teacher whose agreement is measured. Default: its defaults. */
  teacher: teacherOptionsSchema.optional(),
});
/** Input of {@link datasetStats}. */
export type DatasetStatsOptions = z.input<typeof datasetStatsOptionsSchema>;

/** Statistics of a dataset (all rates are fractions in [0, 1]). */
export interface DatasetStats {
  readonly pairs: number;
  readonly modality: 'image' | 'video';
  readonly split: string;
  readonly seed: number;
  /** Share of labels A, B and tie. */
  readonly labelBalance: { readonly A: number; readonly B: number; readonly tie: number };
  readonly tieRate: number;
  /** Share of candidates carrying at least one fault of each category, and the count of every fault kind. */
  readonly faultMix: {
    readonly semantic: number;
    readonly quality: number;
    readonly aesthetic: number;
    readonly clean: number;
    readonly kinds: Readonly<Record<string, number>>;
  };
  /** Share of pairs per context id ("none" for prompts without a cue). */
  readonly contexts: Readonly<Record<string, number>>;
  /** Share of pairs whose prompt uses a held-out colour–shape combination. */
  readonly heldOutCombinationRate: number;
  /** Simulated teacher's agreement with non-tie labels, shown A first. */
  readonly teacherAgreement: number;
  /** The same with A and B swapped. */
  readonly teacherAgreementSwapped: number;
  /** Share of non-tie pairs the teacher gets right in both orders (the "both correct" filter's yield). */
  readonly teacherBothOrders: number;
  /** Share of (pair, other context) combinations whose noiseless preference reverses. */
  readonly contextFlipRate: number;
  /** Share of pairs that reverse under at least one other context. */
  readonly pairsFlippingUnderSomeContext: number;
  /** Best accuracy on non-tie labels of any single context-blind weighting of categories [A, B, C, mean D]. */
  readonly contextBlindCeiling: number;
  readonly contextBlindWeights: readonly number[];
  /** Agreement of the oracle's noiseless preference with its own noisy labels (non-tie labels). */
  readonly oracleAgreement: number;
  /** oracleAgreement − contextBlindCeiling: the room a context-adaptive judge has. */
  readonly contextGap: number;
}

/** Statistics of records already in memory (manifest facts are passed in). */
export function statsOfRecords(records: readonly PairRecord[], manifest: Pick<Manifest, 'modality' | 'split' | 'seed' | 'oracle'>, teacherOptions: z.input<typeof teacherOptionsSchema> = {}): DatasetStats {
  const n = records.length;
  const labels = { A: 0, B: 0, tie: 0 };
  const kinds: Record<string, number> = {};
  for (const k of [...faultKinds.semantic, ...faultKinds.quality, ...faultKinds.aesthetic]) kinds[k] = 0;
  const categories = { semantic: 0, quality: 0, aesthetic: 0, clean: 0 };
  const contexts: Record<string, number> = {};
  let heldOut = 0;
  const teacher = new SimulatedTeacher(teacherOptions);
  let decisive = 0;
  let direct = 0;
  let swapped = 0;
  let both = 0;
  for (const r of records) {
    labels[r.label]++;
    contexts[r.context ?? 'none'] = (contexts[r.context ?? 'none'] ?? 0) + 1;
    if (r.heldOutCombination) heldOut++;
    for (const c of [r.a, r.b]) {
      if (c.faults.length === 0) categories.clean++;
      for (const cat of ['semantic', 'quality', 'aesthetic'] as const) if (c.faults.some((f) => f.category === cat)) categories[cat]++;
      for (const f of c.faults) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
    }
    if (r.label === 'tie') continue;
    decisive++;
    const first = teacher.assessRecord(r, false);
    const second = teacher.assessRecord(r, true);
    const sayFirst = first.ok ? (slotOfWinner(first.assessment.winner) === 1 ? 'A' : 'B') : undefined;
    const saySecond = second.ok ? (slotOfWinner(second.assessment.winner) === 1 ? 'B' : 'A') : undefined;
    if (sayFirst === r.label) direct++;
    if (saySecond === r.label) swapped++;
    if (sayFirst === r.label && saySecond === r.label) both++;
  }
  const sensitivity = contextSensitivity(records.map(contextStatsInput), manifest.oracle);
  const share = (v: number, d: number) => (d === 0 ? 0 : v / d);
  return {
    pairs: n,
    modality: manifest.modality,
    split: manifest.split,
    seed: manifest.seed,
    labelBalance: { A: share(labels.A, n), B: share(labels.B, n), tie: share(labels.tie, n) },
    tieRate: share(labels.tie, n),
    faultMix: {
      semantic: share(categories.semantic, 2 * n),
      quality: share(categories.quality, 2 * n),
      aesthetic: share(categories.aesthetic, 2 * n),
      clean: share(categories.clean, 2 * n),
      kinds,
    },
    contexts: Object.fromEntries(Object.entries(contexts).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, share(v, n)])),
    heldOutCombinationRate: share(heldOut, n),
    teacherAgreement: share(direct, decisive),
    teacherAgreementSwapped: share(swapped, decisive),
    teacherBothOrders: share(both, decisive),
    contextFlipRate: sensitivity.contextFlipRate,
    pairsFlippingUnderSomeContext: sensitivity.pairsFlippingUnderSomeContext,
    contextBlindCeiling: sensitivity.contextBlindCeiling,
    contextBlindWeights: sensitivity.contextBlindWeights,
    oracleAgreement: sensitivity.oracleAgreement,
    contextGap: sensitivity.oracleAgreement - sensitivity.contextBlindCeiling,
  };
}

/** Read a dataset and compute its statistics (what `flex stats --data DIR --json FILE` writes). */
export async function datasetStats(options: DatasetStatsOptions): Promise<DatasetStats> {
  const o = datasetStatsOptionsSchema.parse(options);
  const manifest = readManifest(o.data);
  const records: PairRecord[] = [];
  for await (const r of readPairs({ data: o.data, ...(o.limit !== undefined ? { limit: o.limit } : {}) })) records.push(r);
  return statsOfRecords(records, manifest, o.teacher ?? {});
}

/** Dataset statistics as a short human-readable text block. */
export function formatStats(stats: DatasetStats): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const kinds = Object.entries(stats.faultMix.kinds)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `${stats.pairs} ${stats.modality} pairs, split ${stats.split}, seed ${stats.seed}`,
    `labels: A ${pct(stats.labelBalance.A)}, B ${pct(stats.labelBalance.B)}, tie ${pct(stats.tieRate)}`,
    `faults per candidate: semantic ${pct(stats.faultMix.semantic)}, quality ${pct(stats.faultMix.quality)}, aesthetic ${pct(stats.faultMix.aesthetic)}, clean ${pct(stats.faultMix.clean)}`,
    `fault kinds: ${kinds}`,
    `teacher agreement: ${pct(stats.teacherAgreement)} (swapped ${pct(stats.teacherAgreementSwapped)}, both orders ${pct(stats.teacherBothOrders)})`,
    `oracle agreement with its labels: ${pct(stats.oracleAgreement)}`,
    `context flip rate: ${pct(stats.contextFlipRate)} (pairs flipping under some context: ${pct(stats.pairsFlippingUnderSomeContext)})`,
    `best context-blind weighting: ${pct(stats.contextBlindCeiling)} (weights A/B/C/D̄ ${stats.contextBlindWeights.join('/')}), gap ${(100 * stats.contextGap).toFixed(1)} points`,
  ].join('\n');
}
