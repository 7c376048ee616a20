import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { z } from 'zod';
import { isVideo, type Media, type PairwiseAssessment, type RgbImage } from '@flex/criteria';
import type { BenchmarkRecord, BenchmarkSample, PreferenceBenchmarkResult } from './benchmark';
import { baselineDefinitions, checkClaimedOrdering } from './baselines';
import { barChart, lineChart } from './charts';
import { EvalError, parseOptions } from './errors';
import type { Estimate } from './metrics';
import { mediaToPng, pngDataUrl } from './raster';
import {
  readResults,
  stringifyResults,
  toResultsDocument,
  trainingCurveSchema,
  writeFileAtomic,
  type BenchmarkRun,
  type ResultsDocument,
  type ResultsInput,
  type TrainingCurve,
} from './results';

/**
 * The self-contained `report.html` of a run: the results table, PNG charts (training curves, accuracy per
 * context and per category, reliability diagrams) and sample pairs shown large with the judge's assessment
 * beside them. Everything is inline (CSS, images as base64 PNG data URLs): the file opens anywhere, offline.
 */

/** A sample pair for the report: a benchmark sample plus which judge and benchmark it came from. */
export interface ReportSample extends BenchmarkSample {
  /** The judge that assessed it. */
  readonly judge: string;
  /** The benchmark it belongs to. */
  readonly benchmark: string;
}

/** The options of {@link writeReport}. */
export const writeReportOptionsSchema = z.object({
  /** The run folder: results.json, samples.json and report.html are written there (created when missing). */
  runDir: z.string().min(1),
  /** The benchmark runs and run metadata (or an array of runs). */
  results: z.union([
    z.custom<ResultsInput>((v) => typeof v === 'object' && v !== null && Array.isArray((v as ResultsInput).runs)),
    z.array(z.custom<PreferenceBenchmarkResult | BenchmarkRun>((v) => typeof v === 'object' && v !== null)),
  ]),
  /** Training curves (added to those in `results`). Default none. */
  curves: z.array(trainingCurveSchema).default([]),
  /** Sample pairs to show. Default: up to `samplesPerRun` from each run's own samples. */
  samples: z.array(z.custom<ReportSample>((v) => typeof v === 'object' && v !== null)).optional(),
  /** Samples taken from each run when `samples` is not given. Default 3. */
  samplesPerRun: z.number().int().nonnegative().default(3),
  /** Side of the square sample images in pixels (nearest-neighbour upscale). Default 256. */
  sampleSize: z.number().int().min(16).max(1024).default(256),
});

/** Options of {@link writeReport}. */
export type WriteReportOptions = z.input<typeof writeReportOptionsSchema>;

/** Paths {@link writeReport} wrote. */
export interface WrittenReport {
  readonly resultsPath: string;
  readonly samplesPath: string;
  readonly reportPath: string;
}

/** A sample as samples.json stores it: media as PNG data URLs at native size. */
interface StoredSample {
  readonly judge: string;
  readonly benchmark: string;
  readonly record: BenchmarkRecord;
  readonly a: StoredMedia;
  readonly b: StoredMedia;
  readonly assessment?: PairwiseAssessment;
  readonly raw?: string;
}
type StoredMedia = { readonly image: string } | { readonly frames: readonly string[]; readonly fps: number };

function imageToPng(image: RgbImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = Math.round(Math.min(1, Math.max(0, image.data[i * 3 + c] || 0)) * 255);
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

function pngToImage(dataUrl: string): RgbImage {
  const base64 = dataUrl.replace(/^data:image\/png;base64,/, '');
  const png = PNG.sync.read(Buffer.from(base64, 'base64'));
  const data = new Float32Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    for (let c = 0; c < 3; c++) data[i * 3 + c] = (png.data[i * 4 + c] as number) / 255;
  }
  return { width: png.width, height: png.height, data };
}

function storeMedia(media: Media): StoredMedia {
  return isVideo(media)
    ? { frames: media.frames.map((f) => pngDataUrl(imageToPng(f))), fps: media.fps }
    : { image: pngDataUrl(imageToPng(media)) };
}

function loadMedia(stored: StoredMedia): Media {
  return 'image' in stored ? pngToImage(stored.image) : { frames: stored.frames.map(pngToImage), fps: stored.fps };
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for HTML. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => escapes[c] as string);
}

function percent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '–' : (value * 100).toFixed(digits);
}

function estimateCell(e: Estimate | undefined): string {
  if (!e || e.value === null) return '<td class="num">–</td>';
  const interval = e.lower !== null && e.upper !== null ? `<span class="ci">[${percent(e.lower)}, ${percent(e.upper)}]</span>` : '';
  return `<td class="num">${percent(e.value)} ${interval}</td>`;
}

function numberCell(value: number | null | undefined, digits = 3): string {
  return `<td class="num">${value === null || value === undefined ? '–' : value.toFixed(digits)}</td>`;
}

/** Width and height of PNG bytes, from the IHDR chunk (after the 8-byte signature and the chunk's length and type). */
function pngSize(png: Uint8Array): [number, number] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

function image(png: Uint8Array, alt: string): string {
  const [width, height] = pngSize(png);
  return `<img src="${pngDataUrl(png)}" alt="${escapeHtml(alt)}" width="${width}" height="${height}">`;
}

function groupByBenchmark(runs: readonly BenchmarkRun[]): Map<string, BenchmarkRun[]> {
  const groups = new Map<string, BenchmarkRun[]>();
  for (const run of runs) {
    const list = groups.get(run.benchmark);
    if (list) list.push(run);
    else groups.set(run.benchmark, [run]);
  }
  return groups;
}

/** Short chart labels of category ids: the predefined ones by their subject, others as self-generated. */
function categoryLabel(id: string): string {
  const names: Record<string, string> = { A: 'A semantic', B: 'B quality', C: 'C aesthetic' };
  return names[id] ?? `${id} own`;
}

function orderingHtml(runs: readonly BenchmarkRun[]): string {
  const check = checkClaimedOrdering(runs)[0];
  if (!check || check.holds === null) return '';
  const order = check.rows.map((r) => `${escapeHtml(r.label)} ${percent(r.accuracy)}`).join(' → ');
  return check.holds
    ? `<p class="ordering">Claimed ordering (accuracy diff) holds: ${order}.</p>`
    : `<p class="ordering">Claimed ordering (accuracy diff) does not hold: ${order}. ${check.violations.map(escapeHtml).join('; ')}.</p>`;
}

function resultsTable(runs: readonly BenchmarkRun[]): string {
  const rows = runs.map((run) => {
    const m = run.metrics;
    const tieCalibrated =
      m.tieCalibrated.accuracyTau === null ? '–' : `${percent(m.tieCalibrated.accuracyTau)} <span class="ci">ε=${m.tieCalibrated.margin.toFixed(3)}</span>`;
    const note = run.notes ?? baselineDefinitions.find((b) => b.label === run.judge)?.family;
    return `<tr><th scope="row">${escapeHtml(run.judge)}${note ? `<div class="note">${escapeHtml(note)}</div>` : ''}</th>
${estimateCell(m.accuracyDiff)}${estimateCell(m.accuracyTau)}${estimateCell(m.accuracyDiffBothOrders)}<td class="num">${tieCalibrated}</td>${estimateCell(m.positionConsistency)}
<td class="num">${percent(m.firstSlotWinRate.value)}</td>${numberCell(m.calibration.ece)}${numberCell(m.calibration.brier)}
<td class="num">${percent(m.parseFailureRate)}</td><td class="num">${m.pairs}</td></tr>`;
  });
  return `<table class="results"><thead><tr><th>judge</th><th>accuracy diff %</th><th>accuracy tau %</th><th>diff, orders averaged %</th><th>tau, tie-calibrated %</th>
<th>position consistency %</th><th>slot-1 wins %</th><th>ECE</th><th>Brier</th><th>parse failures %</th><th>pairs</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function perGroupChart(
  runs: readonly BenchmarkRun[],
  keysOf: (run: BenchmarkRun) => string[],
  estimateOf: (run: BenchmarkRun, key: string) => Estimate | undefined,
  yLabel: string,
  alt: string,
  labelOf: (key: string) => string = (key) => key,
): string {
  const keys = [...new Set(runs.flatMap(keysOf))].sort();
  if (keys.length === 0) return '';
  const png = barChart({
    groups: keys.map((key) => ({
      label: labelOf(key),
      bars: runs.map((run) => {
        const e = estimateOf(run, key);
        return { value: e?.value ?? null, lower: e?.lower ?? null, upper: e?.upper ?? null };
      }),
    })),
    seriesNames: runs.map((r) => r.judge),
    yLabel,
    reference: 0.5,
    // Wide enough for bars of about 12 pixels when many judges meet many groups.
    width: Math.min(1600, Math.max(720, 300 + keys.length * runs.length * 12)),
  });
  return image(png, alt);
}

function reliabilityChart(runs: readonly BenchmarkRun[], benchmark: string): string {
  const series = runs
    .filter((run) => run.metrics.calibration.count > 0)
    .map((run) => ({
      name: run.judge,
      points: run.metrics.calibration.bins
        .filter((b) => b.meanProbability !== null && b.frequency !== null)
        .map((b) => ({ x: b.meanProbability as number, y: b.frequency as number })),
    }));
  if (series.length === 0) return '';
  const png = lineChart({ series, xRange: [0, 1], yRange: [0, 1], diagonal: true, xLabel: 'P(A wins), bin mean', yLabel: 'share A won', markers: true });
  return image(png, `reliability diagram, ${benchmark}`);
}

function curveChart(curve: TrainingCurve): string {
  const series = curve.series.filter((s) => s.points.length > 0);
  if (series.length === 0) return '';
  const png = lineChart({ series, xLabel: curve.xLabel ?? 'step', yLabel: curve.yLabel ?? '' });
  return `<figure><figcaption>${escapeHtml(curve.title)}</figcaption>${image(png, curve.title)}</figure>`;
}

function assessmentHtml(assessment: PairwiseAssessment): string {
  const parts: string[] = [];
  if (assessment.intent) parts.push(`<p><b>Intent.</b> ${escapeHtml(assessment.intent)}</p>`);
  if (assessment.evidence) {
    parts.push(`<p><b>Evidence 1.</b> ${escapeHtml(assessment.evidence[0])}<br><b>Evidence 2.</b> ${escapeHtml(assessment.evidence[1])}</p>`);
  }
  for (const category of assessment.categories) {
    const dims = category.dims
      .map(
        (d) =>
          `<tr><td>${escapeHtml(d.name)}</td><td class="num">${d.score_1}–${d.score_2}</td><td>${escapeHtml(d.reason_1)}</td><td>${escapeHtml(d.reason_2)}</td></tr>`,
      )
      .join('');
    parts.push(`<div class="category"><div class="cat-head">${escapeHtml(category.name)} → <b>${escapeHtml(category.cat_winner)}</b></div>
<table class="dims"><thead><tr><th>criterion</th><th>1–2</th><th>slot 1</th><th>slot 2</th></tr></thead><tbody>${dims}</tbody></table>
<div class="cat-reason">${escapeHtml(category.cat_reason)}</div></div>`);
  }
  parts.push(`<p class="overall"><b>Overall → ${escapeHtml(assessment.winner)}.</b> ${escapeHtml(assessment.reason)}</p>`);
  return parts.join('\n');
}

function judgedHtml(sample: ReportSample, open: boolean): string {
  const r = sample.record;
  const verdict = r.prediction === null ? 'failed' : r.prediction;
  const right = r.prediction === r.label;
  const shown = r.order === 'AB' ? '' : ' · shown as Image 1 = B, Image 2 = A';
  const body = sample.assessment
    ? assessmentHtml(sample.assessment)
    : `<p class="failure">No assessment: ${escapeHtml(r.error?.code ?? 'failed')} — ${escapeHtml(r.error?.message ?? '')}</p>${
        sample.raw ? `<pre>${escapeHtml(sample.raw.slice(0, 2000))}</pre>` : ''
      }`;
  return `<details${open ? ' open' : ''}><summary><b>${escapeHtml(sample.judge)}</b>: <b class="${right ? 'right' : 'wrong'}">${escapeHtml(verdict)}</b>${
    r.probabilityA !== null ? ` · P(A wins) ${r.probabilityA.toFixed(3)}` : ''
  }${r.swappedPrediction !== undefined ? ` · other order: ${escapeHtml(r.swappedPrediction ?? 'failed')}` : ''}${shown}</summary>
${body}</details>`;
}

/**
 * Sample pairs grouped by pair: the two candidates once (dataset order, the labelled winner framed) and
 * every judge's verdict and assessment of that pair beside them (the first one unfolded).
 */
function samplesHtml(samples: readonly ReportSample[], size: number): string[] {
  const groups = new Map<string, ReportSample[]>();
  for (const sample of samples) {
    const key = `${sample.benchmark}\u0000${sample.record.id}`;
    const list = groups.get(key);
    if (list) list.push(sample);
    else groups.set(key, [sample]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as ReportSample;
    const r = first.record;
    const figure = (media: Media, name: 'A' | 'B') =>
      `<figure class="${r.label === name ? 'preferred' : ''}">${image(mediaToPng(media, size), `candidate ${name}`)}<figcaption>candidate ${name}${
        r.label === name ? ' (preferred)' : ''
      }</figcaption></figure>`;
    return `<section class="sample">
<h3>${escapeHtml(first.benchmark)} · ${escapeHtml(r.id)}</h3>
<p class="prompt">“${escapeHtml(r.prompt)}”${r.context ? ` <span class="context">context: ${escapeHtml(r.context)}</span>` : ''} · label <b>${escapeHtml(r.label)}</b></p>
<div class="pair">${figure(first.a, 'A')}${figure(first.b, 'B')}
<div class="assessment">${group.map((sample, i) => judgedHtml(sample, i === 0)).join('\n')}</div>
</div></section>`;
  });
}

const css = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:2rem auto;max-width:1400px;padding:0 1.5rem}
h1{margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.meta{color:#666}.ci{color:#777;font-size:.85em}.note{font-weight:normal;color:#777;font-size:.8em}
table.results{border-collapse:collapse;margin:1rem 0}table.results th,table.results td{border:1px solid #ddd;padding:.35rem .6rem}
table.results thead th{background:#f4f4f4;font-size:.9em}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:.5rem 0}figcaption{color:#555;font-size:.9em}img{display:block;max-width:100%;height:auto;image-rendering:pixelated}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.sample{border:1px solid #e3e3e3;border-radius:6px;padding:1rem;margin:1.2rem 0}
.sample h3{margin:0 0 .3rem}.prompt{font-style:italic}.context{font-style:normal;background:#eef;padding:0 .4rem;border-radius:3px}
.pair{display:flex;gap:1rem;align-items:flex-start;flex-wrap:wrap}.pair figure{margin:0;padding:4px;border:3px solid transparent}
.pair figure.preferred{border-color:#0072b2}details{margin:.2rem 0 .6rem}summary{cursor:pointer}.assessment{flex:1;min-width:320px;font-size:.9em}
table.dims{border-collapse:collapse;width:100%}table.dims th{white-space:nowrap}table.dims td,table.dims th{border-top:1px solid #eee;padding:.2rem .4rem;vertical-align:top;text-align:left}
.cat-head{margin-top:.6rem;font-weight:600}.cat-reason{color:#555;margin:.2rem 0 .4rem}.right{color:#007a4d}.wrong{color:#c0392b}
.failure{color:#c0392b}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5rem}dl.defs dt{font-weight:600}dl.defs dd{margin:0 0 .5rem 1rem}
`;

/** Renders the report HTML (a pure function of the document, curves and samples). */
export function renderReportHtml(options: {
  /** The results document. */
  document: ResultsDocument;
  /** Extra training curves (besides the document's). */
  curves?: readonly TrainingCurve[];
  /** Sample pairs. */
  samples?: readonly ReportSample[];
  /** Side of the sample images. Default 256. */
  sampleSize?: number;
}): string {
  const { document } = options;
  const size = options.sampleSize ?? 256;
  const curves = [...document.curves, ...(options.curves ?? [])];
  const sections: string[] = [];
  const meta = [
    document.commit ? `commit ${escapeHtml(document.commit)}` : '',
    document.seed !== undefined ? `seed ${document.seed}` : '',
    document.options && Object.keys(document.options).length ? `options <code>${escapeHtml(JSON.stringify(document.options))}</code>` : '',
  ].filter(Boolean);

  const groups = groupByBenchmark(document.runs);
  sections.push('<h2>Results</h2>');
  if (groups.size === 0) sections.push('<p>No benchmark runs.</p>');
  for (const [benchmark, runs] of groups) {
    const settings = runs[0]?.settings;
    sections.push(`<h3>${escapeHtml(benchmark)}</h3>
<p class="meta">${settings ? `seed ${settings.seed} · ${settings.bothOrders ? 'both orders' : 'one order'} · tie margin ${settings.tieMargin} · ${settings.bootstrapSamples} bootstrap resamples (95% percentile intervals)` : ''}</p>
${resultsTable(runs)}${orderingHtml(runs)}`);
  }
  for (const note of document.notes) sections.push(`<p class="note">${escapeHtml(note)}</p>`);

  const chartSections: string[] = [];
  for (const [benchmark, runs] of groups) {
    const figures = [
      ['accuracy per context (diff)', perGroupChart(runs, (r) => Object.keys(r.metrics.perContext), (r, k) => r.metrics.perContext[k]?.accuracyDiff, 'accuracy (diff)', `accuracy per context, ${benchmark}`)],
      ['agreement with the oracle per category', perGroupChart(runs, (r) => Object.keys(r.metrics.perCategory), (r, k) => r.metrics.perCategory[k]?.agreement, 'agreement', `agreement per category, ${benchmark}`, categoryLabel)],
      ['calibration of P(A wins) (reliability diagram; dashed: perfect)', reliabilityChart(runs, benchmark)],
    ].filter(([, html]) => html !== '');
    if (figures.length) {
      chartSections.push(
        `<h3>${escapeHtml(benchmark)}</h3><div class="charts">${figures
          .map(([title, html]) => `<figure><figcaption>${escapeHtml(title)}</figcaption>${html}</figure>`)
          .join('')}</div>`,
      );
    }
  }
  if (chartSections.length) sections.push('<h2>Per context, per category, calibration</h2>', ...chartSections);
  const curveHtml = curves.map(curveChart).filter(Boolean);
  if (curveHtml.length) sections.push('<h2>Training curves</h2>', `<div class="charts">${curveHtml.join('')}</div>`);

  const samples = options.samples ?? [];
  if (samples.length) {
    sections.push(
      '<h2>Sample pairs</h2><p class="meta">Candidates in the dataset\'s order (A left), the labelled winner framed; each judge\'s verdict and P(A) are in the dataset\'s terms, its assessment in the slots it saw (Image 1 is shown first).</p>',
      ...samplesHtml(samples, size),
    );
  }
  sections.push(`<h2>Definitions</h2><dl class="defs">
<dt>accuracy diff</dt><dd>Over pairs whose label is not a tie: share where the judge named the labelled winner (a predicted tie or a failed call is wrong).</dd>
<dt>accuracy tau</dt><dd>Over every pair: share predicted exactly (a tie label needs a tie verdict, so a judge that never says tie loses tie pairs). A judge says tie when |P(slot 1 wins) − 0.5| is below the tie margin.</dd>
<dt>diff, orders averaged</dt><dd>Accuracy diff of P(A wins) averaged over the two orders (the usual remedy for position bias).</dd>
<dt>tau, tie-calibrated</dt><dd>Tau with the tie margin ε chosen on these pairs to maximise it (optimistic; for comparing judges that never say tie).</dd>
<dt>position consistency</dt><dd>Share of pairs, judged in both orders with both calls readable, where the judge named the same candidate both times. Slot-1 wins: share of readable non-tie calls won by the first slot (0.5 is unbiased).</dd>
<dt>ECE, Brier</dt><dd>Expected calibration error of P(A wins) over equal-width bins (Σ n_b/N · |share A won − mean P(A)|) and mean squared error of P(A wins), over non-tie labels.</dd>
<dt>parse failures</dt><dd>Share of judge calls whose output could not be read as an assessment.</dd>
<dt>intervals</dt><dd>95% percentile bootstrap over pairs, seeded.</dd></dl>`);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(document.title)}</title><style>${css}</style></head>
<body><h1>${escapeHtml(document.title)}</h1>
<p class="meta">${meta.join(' · ')}</p>
${sections.join('\n')}
</body></html>
`;
}

/** Takes up to `count` samples from each run that kept some, labelled with the run's judge and benchmark. */
export function samplesFromRuns(runs: readonly (PreferenceBenchmarkResult | BenchmarkRun)[], count: number): ReportSample[] {
  return runs.flatMap((run) =>
    ((run as PreferenceBenchmarkResult).samples ?? []).slice(0, count).map((s) => ({ ...s, judge: run.judge, benchmark: run.benchmark })),
  );
}

/**
 * Writes a run's report: `results.json` (every number, options and seeds), `samples.json` (the sample pairs
 * with their media as PNG data URLs, so the report can be rebuilt) and the self-contained `report.html`.
 */
export async function writeReport(options: WriteReportOptions): Promise<WrittenReport> {
  const o = parseOptions(writeReportOptionsSchema, options, 'writeReport');
  const input: ResultsInput = Array.isArray(o.results) ? { runs: o.results } : (o.results as ResultsInput);
  const document = toResultsDocument({ ...input, curves: [...(input.curves ?? []), ...o.curves] });
  const samples = o.samples ?? samplesFromRuns(input.runs, o.samplesPerRun);
  await mkdir(o.runDir, { recursive: true }).catch((cause: unknown) => {
    throw new EvalError('io_error', `could not create ${o.runDir}: ${(cause as Error).message}`, { cause });
  });
  const resultsPath = join(o.runDir, 'results.json');
  const samplesPath = join(o.runDir, 'samples.json');
  const reportPath = join(o.runDir, 'report.html');
  await writeFileAtomic(resultsPath, stringifyResults(document));
  const stored: StoredSample[] = samples.map((s) => ({
    judge: s.judge,
    benchmark: s.benchmark,
    record: s.record,
    a: storeMedia(s.a),
    b: storeMedia(s.b),
    ...(s.assessment ? { assessment: s.assessment } : {}),
    ...(s.raw !== undefined ? { raw: s.raw } : {}),
  }));
  await writeFileAtomic(samplesPath, `${JSON.stringify({ formatVersion: 1, samples: stored })}\n`);
  await writeFileAtomic(reportPath, renderReportHtml({ document, samples, sampleSize: o.sampleSize }));
  return { resultsPath, samplesPath, reportPath };
}

/**
 * Rebuilds `report.html` from a run folder's `results.json` (and `samples.json` when present), as
 * `flex report RUN_DIR` does. Returns the report's path.
 */
export async function rebuildReport(options: { runDir: string; sampleSize?: number }): Promise<string> {
  const { runDir, sampleSize } = parseOptions(
    z.object({ runDir: z.string().min(1), sampleSize: z.number().int().min(16).max(1024).default(256) }),
    options,
    'rebuildReport',
  );
  const document = await readResults(join(runDir, 'results.json'));
  let samples: ReportSample[] = [];
  const samplesText = await readFile(join(runDir, 'samples.json'), 'utf8').catch(() => null);
  if (samplesText !== null) {
    try {
      const parsed = JSON.parse(samplesText) as { samples: StoredSample[] };
      samples = parsed.samples.map((s) => ({ ...s, a: loadMedia(s.a), b: loadMedia(s.b) }));
    } catch (cause) {
      throw new EvalError('invalid_results', `${join(runDir, 'samples.json')} is malformed: ${(cause as Error).message}`, { cause });
    }
  }
  const reportPath = join(runDir, 'report.html');
  await writeFileAtomic(reportPath, renderReportHtml({ document, samples, sampleSize }));
  return reportPath;
}
