import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPreferenceBenchmark, type PreferenceBenchmarkResult } from './benchmark';
import { EvalError } from './errors';
import { escapeHtml, rebuildReport, writeReport } from './report';
import { curveFromMetricLines, readJsonLines, readResults, stringifyResults, toResultsDocument, writeResults } from './results';
import { failingJudge, firstSlotJudge, makePairs, perfectJudge } from './testing.test-helpers';

let dir: string;
let runs: PreferenceBenchmarkResult[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flex-eval-report-'));
  const pairs = makePairs(40);
  const video = makePairs(12, 4, 'video');
  runs = [
    await runPreferenceBenchmark({ judge: perfectJudge(), pairs, benchmark: 'image', seed: 1, bootstrapSamples: 100, sampleCount: 3 }),
    await runPreferenceBenchmark({ judge: firstSlotJudge(), pairs, benchmark: 'image', seed: 1, bootstrapSamples: 100, sampleCount: 3 }),
    await runPreferenceBenchmark({ judge: failingJudge(), pairs, benchmark: 'image', seed: 1, bootstrapSamples: 0, sampleCount: 1 }),
    await runPreferenceBenchmark({ judge: perfectJudge(), pairs: video, benchmark: 'video', seed: 1, bootstrapSamples: 100, sampleCount: 1 }),
  ];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dataUrls = (html: string) => [...html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1] as string);

describe('writeResults / readResults', () => {
  it('round-trips every number with options and seeds, without media', async () => {
    const { path } = await writeResults({ runDir: join(dir, 'results-only'), results: { runs, seed: 1, commit: 'abc123', options: { preset: 'quick' } } });
    const back = await readResults(path);
    expect(back.formatVersion).toBe(1);
    expect(back.commit).toBe('abc123');
    expect(back.options).toEqual({ preset: 'quick' });
    expect(back.runs).toHaveLength(4);
    expect(back.runs[0]?.metrics).toEqual(JSON.parse(JSON.stringify(runs[0]!.metrics)));
    expect(back.runs[0]?.settings.seed).toBe(1);
    expect(back.runs[0]?.seeds).toEqual(runs[0]!.seeds);
    expect(back.runs[0]?.records).toHaveLength(40);
    expect((back.runs[0] as unknown as Record<string, unknown>).samples).toBeUndefined();
  });

  it('writes valid JSON with one line per record', () => {
    for (const input of [{ runs }, { runs: [] }, { runs: [{ ...runs[0]!, records: [] }] }]) {
      const document = toResultsDocument(input);
      const text = stringifyResults(document);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(document)));
    }
    const text = stringifyResults(toResultsDocument({ runs }));
    expect(text.split('\n').filter((line) => line.startsWith('      {"id":')).length).toBe(40 * 3 + 12);
  });

  it('refuses missing, malformed and newer files', async () => {
    await expect(readResults(join(dir, 'nope.json'))).rejects.toMatchObject({ code: 'invalid_results' });
    await writeFile(join(dir, 'bad.json'), '{"formatVersion":1,"runs":[{"judge":3}]}');
    await expect(readResults(join(dir, 'bad.json'))).rejects.toThrow(/not a results document/);
    await writeFile(join(dir, 'new.json'), '{"formatVersion":9,"runs":[]}');
    await expect(readResults(join(dir, 'new.json'))).rejects.toThrow(/format version 9/);
    await expect(writeResults({ runDir: '', results: { runs } })).rejects.toSatisfy(EvalError.isInstance);
  });
});

describe('curves from metric lines', () => {
  it('reads JSON lines and builds one series per key', async () => {
    const path = join(dir, 'metrics.jsonl');
    await writeFile(path, '{"step":1,"loss":2}\n\n{"step":2,"loss":1.5,"rewards/margins":0.1}\n{"step":3}\n');
    const lines = await readJsonLines(path);
    expect(lines).toHaveLength(3);
    const curve = curveFromMetricLines({ title: 'SFT', lines, keys: ['loss', 'rewards/margins'] });
    expect(curve.series[0]?.points).toEqual([{ x: 1, y: 2 }, { x: 2, y: 1.5 }]);
    expect(curve.series[1]?.points).toEqual([{ x: 2, y: 0.1 }]);
    await writeFile(path, '{"step":1}\nnot json\n');
    await expect(readJsonLines(path)).rejects.toThrow(/metrics.jsonl:2/);
  });
});

describe('writeReport', () => {
  it('writes a self-contained report with the table, charts and samples', async () => {
    const runDir = join(dir, 'run');
    const curves = [{ title: 'SFT loss', series: [{ name: 'loss', points: [{ x: 0, y: 2 }, { x: 100, y: 0.7 }] }] }];
    const written = await writeReport({ runDir, results: { runs, title: 'Test <run>', seed: 1 }, curves });
    const html = await readFile(written.reportPath, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('Test &lt;run&gt;');
    for (const judge of ['perfect', 'first-slot', 'failing']) expect(html).toContain(`<th scope="row">${judge}`);
    expect(html).toContain('100.0 <span class="ci">[100.0, 100.0]</span>');
    // No external resources: every src is a data URL, no http(s) links, no scripts.
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toContain('<script');
    const urls = dataUrls(html);
    // image: context + category + reliability; video: same three; 1 curve; two images per distinct sampled pair.
    const distinct = new Set(runs.flatMap((run) => run.samples.slice(0, 3).map((sample) => `${run.benchmark}/${sample.record.id}`)));
    expect(distinct.size).toBeLessThan(8); // the same seed samples the same pairs for every judge
    expect(urls.length).toBe(3 + 3 + 1 + 2 * distinct.size);
    expect((html.match(/<details/g) ?? []).length).toBe(3 + 3 + 1 + 1);
    for (const url of urls) {
      const png = PNG.sync.read(Buffer.from(url, 'base64'));
      expect(png.width).toBeGreaterThan(0);
    }
    const sampleImages = [...html.matchAll(/alt="candidate [AB]" width="(\d+)" height="(\d+)"/g)];
    expect(sampleImages[0]?.slice(1)).toEqual(['256', '256']);
    expect(html).toContain('No assessment: parse_error');
    expect(html).toContain('Semantic Alignment &amp; Accuracy');

    const results = await readResults(written.resultsPath);
    expect(results.curves).toHaveLength(1);
    expect(results.title).toBe('Test <run>');

    // The report can be rebuilt from the run folder alone (results.json + samples.json).
    await rm(written.reportPath);
    await rebuildReport({ runDir });
    expect(await readFile(written.reportPath, 'utf8')).toBe(html);
  });

  it('accepts a plain array of runs and explicit samples', async () => {
    const runDir = join(dir, 'array');
    const samples = runs[0]!.samples.slice(0, 1).map((s) => ({ ...s, judge: 'perfect', benchmark: 'image' }));
    const written = await writeReport({ runDir, results: [runs[0]!], samples });
    const html = await readFile(written.reportPath, 'utf8');
    expect(dataUrls(html).length).toBe(3 + 2);
    expect(html).toContain('<details open><summary><b>perfect</b>');
  });

  it('states whether the claimed ordering holds and names the baseline families', async () => {
    const named = [{ ...runs[1]!, judge: 'scalar Bradley–Terry' }, { ...runs[0]!, judge: 'Flex SFT' }];
    const written = await writeReport({ runDir: join(dir, 'ordering'), results: named, samplesPerRun: 0 });
    const html = await readFile(written.reportPath, 'utf8');
    expect(html).toContain('Claimed ordering (accuracy diff) holds: scalar Bradley–Terry');
    expect(html).toContain('<div class="note">HPS / PickScore / ImageReward</div>');
    const reversed = await writeReport({ runDir: join(dir, 'ordering2'), results: [named[1]!, { ...named[0]!, judge: 'Flex SFT+DPO' }], samplesPerRun: 0 });
    expect(await readFile(reversed.reportPath, 'utf8')).toContain('does not hold');
  });

  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
