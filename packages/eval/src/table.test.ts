import { describe, expect, it } from 'vitest';
import { computePreferenceMetrics } from './metrics';
import { formatResultsTable } from './table';

const metrics = computePreferenceMetrics({
  records: [
    { id: '1', label: 'A', prediction: 'A', probabilityA: 0.9, swappedPrediction: 'A', swappedProbabilityA: 0.8 },
    { id: '2', label: 'B', prediction: 'A', probabilityA: 0.6, swappedPrediction: 'B', swappedProbabilityA: 0.3 },
  ],
  bootstrapSamples: 0,
});

describe('formatResultsTable', () => {
  const runs = [
    { benchmark: 'image/test', judge: 'scalar | BT', metrics },
    { benchmark: 'image/test', judge: 'Flex SFT', metrics },
    { benchmark: 'video/test', judge: 'Flex SFT', metrics },
  ];

  it('writes one Markdown table per benchmark', () => {
    const text = formatResultsTable({ runs });
    expect(text).toContain('**image/test**');
    expect(text).toContain('**video/test**');
    expect(text).toContain('| scalar \\| BT | 50.0 | 50.0 | 50.0 | 50.0 | 75.0 | 0.350 | 0.0 | 2 |');
    expect(text.match(/^\| judge/gm)).toHaveLength(2);
  });

  it('aligns plain-text columns', () => {
    const text = formatResultsTable({ runs, format: 'text' });
    const first = text.split('\n\n')[0]!.split('\n').slice(1);
    expect(first).toHaveLength(4);
    expect(new Set(first.map((l) => l.length)).size).toBe(1);
    expect(first[2]).toMatch(/^scalar \| BT\s+50\.0/);
  });
});
