import { z } from 'zod';
import { parseOptions } from './errors';
import { textWidth } from './font';
import { Raster, type Color } from './raster';

/**
 * PNG charts for reports, drawn with the small rasteriser: line charts (training curves, reliability
 * diagrams) and grouped bar charts with interval whiskers (accuracy per context and per category).
 */

/** The colours of successive series (colour-blind-friendly, Okabe–Ito order). */
export const seriesColors: readonly Color[] = [
  [0, 114, 178],
  [213, 94, 0],
  [0, 158, 115],
  [204, 121, 167],
  [230, 159, 0],
  [86, 180, 233],
  [120, 120, 120],
  [240, 228, 66],
];

const ink: Color = [40, 40, 40];
const grid: Color = [228, 228, 228];
const axis: Color = [120, 120, 120];
const textScale = 2;
const lineHeight = 7 * textScale + 6;

/** "Nice" tick values covering [min, max] (steps of 1, 2 or 5 × 10^k), about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) as number) * magnitude;
  const first = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= max + step * 0.5 + 1e-12 && ticks.length < 50; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks.at(-1) as number) < max - 1e-12) ticks.push(Number(((ticks.at(-1) as number) + step).toPrecision(12)));
  return ticks;
}

/** A short label for a tick value (k / M suffixes, at most 4 significant digits). */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(4)));
}

/** Shortens `text` to at most `maxChars` characters with a trailing `~`. */
function fit(text: string, maxChars: number): string {
  if (maxChars < 1) return '';
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}~`;
}

const pointSchema = z.object({ x: z.number().finite(), y: z.number().finite() });

/** The options of {@link lineChart}. */
export const lineChartOptionsSchema = z.object({
  /** One line per series; points are drawn in x order. */
  series: z
    .array(z.object({ name: z.string(), points: z.array(pointSchema) }))
    .min(1),
  /** Label of the x axis. Default none. */
  xLabel: z.string().default(''),
  /** Label of the y axis. Default none. */
  yLabel: z.string().default(''),
  /** Width in pixels. Default 720. */
  width: z.number().int().min(200).max(4000).default(720),
  /** Height in pixels. Default 360. */
  height: z.number().int().min(150).max(4000).default(360),
  /** Fixed x range; default from the data. */
  xRange: z.tuple([z.number(), z.number()]).optional(),
  /** Fixed y range; default from the data. */
  yRange: z.tuple([z.number(), z.number()]).optional(),
  /** Draw a dashed y = x line (reliability diagrams). Default false. */
  diagonal: z.boolean().default(false),
  /** Draw a dot at every point. Default: when a series has at most 30 points. */
  markers: z.boolean().optional(),
});

/** Options of {@link lineChart}. */
export type LineChartOptions = z.input<typeof lineChartOptionsSchema>;

interface Frame {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function legendWidth(names: readonly string[]): number {
  if (names.length <= 1 && (names[0] ?? '') === '') return 0;
  const longest = Math.max(...names.map((n) => textWidth(fit(n, 22), textScale)));
  return longest + 36;
}

function drawLegend(raster: Raster, names: readonly string[], x: number, y: number): void {
  names.forEach((name, i) => {
    const color = seriesColors[i % seriesColors.length] as Color;
    raster.fillRect(x, y + i * lineHeight + 2, 16, 10, color);
    raster.text(fit(name, 22), x + 22, y + i * lineHeight, ink, textScale);
  });
}

function drawYAxis(raster: Raster, frame: Frame, ticks: readonly number[], toY: (v: number) => number, label: string): void {
  for (const t of ticks) {
    const y = Math.round(toY(t));
    raster.line(frame.left, y, frame.right, y, grid);
    const text = formatTick(t);
    raster.text(text, frame.left - 8 - textWidth(text, textScale), y - 7, ink, textScale);
  }
  raster.line(frame.left, frame.top, frame.left, frame.bottom, axis);
  if (label) raster.textVertical(fit(label, 30), 4, (frame.top + frame.bottom) / 2 + textWidth(fit(label, 30), textScale) / 2, ink, textScale);
}

/** A line chart as PNG bytes: one coloured line per series, a legend when there are several or they are named. */
export function lineChart(options: LineChartOptions): Buffer {
  const o = parseOptions(lineChartOptionsSchema, options, 'lineChart');
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const [xMin, xMax] = o.xRange ?? [xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1];
  const [yMinData, yMaxData] = o.yRange ?? [ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1];
  const xTicks = niceTicks(xMin, xMax, 6);
  const yTicks = o.yRange ? niceTicks(yMinData, yMaxData, 5).filter((t) => t >= yMinData - 1e-9 && t <= yMaxData + 1e-9) : niceTicks(yMinData, yMaxData, 5);
  const x0 = o.xRange ? xMin : (xTicks[0] as number);
  const x1 = o.xRange ? xMax : (xTicks.at(-1) as number);
  const y0 = o.yRange ? yMinData : (yTicks[0] as number);
  const y1 = o.yRange ? yMaxData : (yTicks.at(-1) as number);

  const names = o.series.map((s) => s.name);
  const legend = legendWidth(names);
  const raster = new Raster(o.width, o.height);
  const yTickWidth = Math.max(...yTicks.map((t) => textWidth(formatTick(t), textScale)));
  const frame: Frame = {
    left: 24 + yTickWidth + 10,
    top: 12,
    right: o.width - 16 - (legend ? legend + 8 : 0),
    bottom: o.height - (o.xLabel ? 2 * lineHeight + 8 : lineHeight + 10),
  };
  const toX = (v: number) => frame.left + ((v - x0) / (x1 - x0 || 1)) * (frame.right - frame.left);
  const toY = (v: number) => frame.bottom - ((v - y0) / (y1 - y0 || 1)) * (frame.bottom - frame.top);

  drawYAxis(raster, frame, yTicks, toY, o.yLabel);
  for (const t of xTicks) {
    if (t < x0 - 1e-9 || t > x1 + 1e-9) continue;
    const x = Math.round(toX(t));
    raster.line(x, frame.top, x, frame.bottom, grid);
    raster.textCentered(formatTick(t), x, frame.bottom + 6, ink, textScale);
  }
  raster.line(frame.left, frame.bottom, frame.right, frame.bottom, axis);
  if (o.xLabel) raster.textCentered(fit(o.xLabel, 50), (frame.left + frame.right) / 2, frame.bottom + lineHeight + 6, ink, textScale);
  if (o.diagonal) raster.line(toX(Math.max(x0, y0)), toY(Math.max(x0, y0)), toX(Math.min(x1, y1)), toY(Math.min(x1, y1)), axis, 1, 6);

  o.series.forEach((series, i) => {
    const color = seriesColors[i % seriesColors.length] as Color;
    const points = [...series.points].sort((a, b) => a.x - b.x);
    const clampY = (v: number) => Math.min(frame.bottom, Math.max(frame.top, toY(v)));
    for (let k = 1; k < points.length; k++) {
      const a = points[k - 1] as { x: number; y: number };
      const b = points[k] as { x: number; y: number };
      raster.line(toX(a.x), clampY(a.y), toX(b.x), clampY(b.y), color, 2);
    }
    if (o.markers ?? points.length <= 30) for (const p of points) raster.dot(toX(p.x), clampY(p.y), 3, color);
  });
  if (legend) drawLegend(raster, names, frame.right + 16, frame.top);
  return raster.toPng();
}

const barSchema = z.object({
  value: z.number().finite().nullable(),
  lower: z.number().finite().nullable().optional(),
  upper: z.number().finite().nullable().optional(),
});

/** The options of {@link barChart}. */
export const barChartOptionsSchema = z.object({
  /** Groups along the x axis (a context, a category); each holds one bar per series, in series order. */
  groups: z.array(z.object({ label: z.string(), bars: z.array(barSchema) })).min(1),
  /** Names of the series (the judges), for the legend. */
  seriesNames: z.array(z.string()).min(1),
  /** Label of the y axis. Default none. */
  yLabel: z.string().default(''),
  /** The y range. Default [0, 1]. */
  yRange: z.tuple([z.number(), z.number()]).default([0, 1]),
  /** A dashed horizontal reference line (chance level), if any. */
  reference: z.number().optional(),
  /** Width in pixels. Default 720. */
  width: z.number().int().min(200).max(4000).default(720),
  /** Height in pixels. Default 360. */
  height: z.number().int().min(150).max(4000).default(360),
});

/** Options of {@link barChart}. */
export type BarChartOptions = z.input<typeof barChartOptionsSchema>;

const maxVerticalChars = 18;

/**
 * A grouped bar chart as PNG bytes, with whiskers for the bars' intervals; missing values leave a gap. Group labels too
 * long to fit across are written upwards and the image grows taller (`height` is then a minimum).
 */
export function barChart(options: BarChartOptions): Buffer {
  const o = parseOptions(barChartOptionsSchema, options, 'barChart');
  const [y0, y1] = o.yRange;
  const yTicks = niceTicks(y0, y1, 5).filter((t) => t >= y0 - 1e-9 && t <= y1 + 1e-9);
  const legend = legendWidth(o.seriesNames);
  const yTickWidth = Math.max(...yTicks.map((t) => textWidth(formatTick(t), textScale)));
  const left = 24 + yTickWidth + 10;
  const right = o.width - 16 - (legend ? legend + 8 : 0);
  // Labels that do not fit across their group are written upwards; the image grows to hold them.
  const fitsAcross = o.groups.every((g) => textWidth(g.label, textScale) <= (right - left) / o.groups.length - 4);
  const longest = Math.min(maxVerticalChars, Math.max(...o.groups.map((g) => g.label.length)));
  const labelArea = fitsAcross ? lineHeight + 10 : longest * 6 * textScale + 14;
  const height = fitsAcross ? o.height : o.height + labelArea - (lineHeight + 10);
  const raster = new Raster(o.width, height);
  const frame: Frame = { left, top: 12, right, bottom: height - labelArea };
  const toY = (v: number) => frame.bottom - ((Math.min(y1, Math.max(y0, v)) - y0) / (y1 - y0 || 1)) * (frame.bottom - frame.top);
  drawYAxis(raster, frame, yTicks, toY, o.yLabel);

  const groupWidth = (frame.right - frame.left) / o.groups.length;
  const seriesCount = o.seriesNames.length;
  const barWidth = Math.max(2, Math.floor((groupWidth * 0.8) / seriesCount));
  o.groups.forEach((group, g) => {
    const start = frame.left + g * groupWidth + (groupWidth - barWidth * seriesCount) / 2;
    group.bars.slice(0, seriesCount).forEach((bar, s) => {
      if (bar.value === null) return;
      const color = seriesColors[s % seriesColors.length] as Color;
      const x = start + s * barWidth;
      const top = toY(bar.value);
      raster.fillRect(x + 1, top, barWidth - 2, frame.bottom - top, color);
      if (bar.lower != null && bar.upper != null) {
        const cx = x + barWidth / 2;
        raster.line(cx, toY(bar.lower), cx, toY(bar.upper), ink, 1);
        const cap = Math.max(1, Math.floor(barWidth / 4));
        raster.line(cx - cap, toY(bar.lower), cx + cap, toY(bar.lower), ink);
        raster.line(cx - cap, toY(bar.upper), cx + cap, toY(bar.upper), ink);
      }
    });
    const center = frame.left + (g + 0.5) * groupWidth;
    if (fitsAcross) raster.textCentered(group.label, center, frame.bottom + 6, ink, textScale);
    else {
      const label = fit(group.label, maxVerticalChars);
      raster.textVertical(label, center - (7 * textScale) / 2, frame.bottom + 8 + textWidth(label, textScale), ink, textScale);
    }
  });
  raster.line(frame.left, frame.bottom, frame.right, frame.bottom, axis);
  if (o.reference !== undefined && o.reference >= y0 && o.reference <= y1) {
    raster.line(frame.left, toY(o.reference), frame.right, toY(o.reference), axis, 1, 6);
  }
  if (legend) drawLegend(raster, o.seriesNames, frame.right + 16, frame.top);
  return raster.toPng();
}
