import { z } from 'zod';
import { parseOptions } from './errors';
import type { Estimate, PreferenceMetrics } from './metrics';

/**
 * The results table as text: Markdown (for docs/results.md) or aligned plain text (what `flex pipeline`
 * prints at the end). One row per judge, grouped by benchmark, in the order the runs are given.
 */

/** A run as the table reads it (a benchmark result or a results.json run). */
export interface TableRun {
  readonly benchmark: string;
  readonly judge: string;
  readonly metrics: PreferenceMetrics;
}

/** The options of {@link formatResultsTable}. */
export const formatResultsTableOptionsSchema = z.object({
  /** The runs, in row order. */
  runs: z.array(z.custom<TableRun>((v) => typeof v === 'object' && v !== null && 'metrics' in v && 'judge' in v)),
  /** `markdown` (a GitHub table per benchmark) or `text` (aligned columns). Default `markdown`. */
  format: z.enum(['markdown', 'text']).default('markdown'),
  /** Show the 95% intervals of the accuracies. Default true. */
  intervals: z.boolean().default(true),
});

/** Options of {@link formatResultsTable}. */
export type FormatResultsTableOptions = z.input<typeof formatResultsTableOptionsSchema>;

const columns = ['judge', 'acc diff %', 'acc tau %', 'tau tie-cal. %', 'consistency %', 'slot-1 %', 'ECE', 'parse fail %', 'pairs'];

function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : (value * 100).toFixed(1);
}

function withInterval(e: Estimate, intervals: boolean): string {
  if (e.value === null) return '–';
  if (!intervals || e.lower === null || e.upper === null) return pct(e.value);
  return `${pct(e.value)} [${pct(e.lower)}, ${pct(e.upper)}]`;
}

function row(run: TableRun, intervals: boolean): string[] {
  const m = run.metrics;
  return [
    run.judge,
    withInterval(m.accuracyDiff, intervals),
    withInterval(m.accuracyTau, intervals),
    pct(m.tieCalibrated.accuracyTau),
    pct(m.positionConsistency.value),
    pct(m.firstSlotWinRate.value),
    m.calibration.ece === null ? '–' : m.calibration.ece.toFixed(3),
    pct(m.parseFailureRate),
    String(m.pairs),
  ];
}

/** Formats the results table (see {@link formatResultsTableOptionsSchema}). */
export function formatResultsTable(options: FormatResultsTableOptions): string {
  const { runs, format, intervals } = parseOptions(formatResultsTableOptionsSchema, options, 'formatResultsTable');
  const benchmarks = [...new Set(runs.map((r) => r.benchmark))];
  const blocks = benchmarks.map((benchmark) => {
    const rows = runs.filter((r) => r.benchmark === benchmark).map((r) => row(r, intervals));
    if (format === 'markdown') {
      const escape = (cell: string) => cell.replace(/\|/g, '\\|');
      return [
        `**${escape(benchmark)}**`,
        '',
        `| ${columns.join(' | ')} |`,
        `|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
        ...rows.map((cells) => `| ${cells.map(escape).join(' | ')} |`),
      ].join('\n');
    }
    const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((cells) => (cells[i] as string).length)));
    const line = (cells: string[]) =>
      cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ');
    return [benchmark, line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}
