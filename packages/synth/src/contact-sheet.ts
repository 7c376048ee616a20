import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { RgbImage } from '@flex/criteria';
import { readPairs } from './dataset';
import { describeScene } from './describe';
import { drawText, glyphSize, wrapText } from './font';
import type { PairRecord } from './pair';
import { encodePng } from './png';
import { renderFrame } from './render';

/** Options of {@link contactSheet}. */
export const contactSheetOptionsSchema = z.object({
  /** The dataset folder. */
  data: z.string().min(1),
  /** Where to write the PNG. */
  out: z.string().min(1),
  /** Number of pairs (the first ones). Default 8. */
  pairs: z.number().int().min(1).max(200).default(8),
  /** Size in pixels at which each candidate is re-rendered from its scene. Default 128. */
  cell: z.number().int().min(16).max(512).default(128),
  /** Also print each candidate's dense description. Default true. */
  descriptions: z.boolean().default(true),
});
/** Input of {@link contactSheet}. */
export type ContactSheetOptions = z.input<typeof contactSheetOptionsSchema>;

function blit(target: RgbImage, source: RgbImage, x0: number, y0: number): void {
  for (let y = 0; y < source.height; y++) {
    const ty = y0 + y;
    if (ty < 0 || ty >= target.height) continue;
    for (let x = 0; x < source.width; x++) {
      const tx = x0 + x;
      if (tx < 0 || tx >= target.width) continue;
      const s = (y * source.width + x) * 3;
      const t = (ty * target.width + tx) * 3;
      target.data[t] = source.data[s] as number;
      target.data[t + 1] = source.data[s + 1] as number;
      target.data[t + 2] = source.data[s + 2] as number;
    }
  }
}

/** A candidate's picture for the sheet: the image, or four evenly spaced frames of a video in a 2×2 grid. */
function candidatePicture(record: PairRecord, which: 'a' | 'b', cell: number): RgbImage {
  const scene = record[which].scene;
  if (record.modality === 'image') return renderFrame(scene, 0, cell, cell);
  const half = Math.floor(cell / 2);
  const out: RgbImage = { width: cell, height: cell, data: new Float32Array(cell * cell * 3) };
  const picks = [0, Math.round((scene.frames - 1) / 3), Math.round((2 * (scene.frames - 1)) / 3), scene.frames - 1];
  picks.forEach((f, i) => blit(out, renderFrame(scene, f, half, half), (i % 2) * half, Math.floor(i / 2) * half));
  return out;
}

/** Render a contact sheet of records: each row shows A and B large, the prompt, the label and the oracle's utilities. */
export function contactSheetImage(records: readonly PairRecord[], options: { cell?: number; descriptions?: boolean } = {}): RgbImage {
  const cell = options.cell ?? 128;
  const descriptions = options.descriptions ?? true;
  const margin = 8;
  const textWidth = 360;
  const lineHeight = glyphSize.height + 3;
  const columns = Math.floor(textWidth / (glyphSize.width + 1));
  const rows = records.map((r) => {
    const lines = [
      ...wrapText(r.prompt, columns),
      `LABEL ${r.label}  ORACLE ${r.oracle.preferred}  CONTEXT ${r.context ?? 'NONE'}`,
      `UTILITY A ${r.oracle.utilityA.toFixed(2)}  B ${r.oracle.utilityB.toFixed(2)}`,
      `FAULTS A ${r.a.faults.map((f) => `${f.kind} ${f.severity.toFixed(1)}`).join(', ') || 'none'}`,
      `FAULTS B ${r.b.faults.map((f) => `${f.kind} ${f.severity.toFixed(1)}`).join(', ') || 'none'}`,
    ];
    if (descriptions) {
      lines.push(...wrapText(`A: ${describeScene(r.a.scene)}`, columns), ...wrapText(`B: ${describeScene(r.b.scene)}`, columns));
    }
    return { record: r, lines, height: Math.max(cell, lines.length * lineHeight) + margin };
  });
  const width = margin + 2 * (cell + margin) + textWidth + margin;
  const height = margin + rows.reduce((a, r) => a + r.height, 0);
  const sheet: RgbImage = { width, height, data: new Float32Array(width * height * 3).fill(0.97) };
  let y = margin;
  for (const row of rows) {
    blit(sheet, candidatePicture(row.record, 'a', cell), margin, y);
    blit(sheet, candidatePicture(row.record, 'b', cell), margin + cell + margin, y);
    drawText(sheet, 'A', margin + 2, y + 2, [1, 1, 1]);
    drawText(sheet, 'B', margin + cell + margin + 2, y + 2, [1, 1, 1]);
    row.lines.forEach((line, i) => drawText(sheet, line, margin + 2 * (cell + margin), y + i * lineHeight, i === 0 ? [0, 0, 0] : [0.25, 0.25, 0.3]));
    y += row.height;
  }
  return sheet;
}

/** Write a contact-sheet PNG of the first pairs of a dataset (re-rendered large from their scenes). Returns the pair count. */
export async function contactSheet(options: ContactSheetOptions): Promise<{ out: string; pairs: number; width: number; height: number }> {
  const o = contactSheetOptionsSchema.parse(options);
  const records: PairRecord[] = [];
  for await (const r of readPairs({ data: o.data, limit: o.pairs })) records.push(r);
  const sheet = contactSheetImage(records, { cell: o.cell, descriptions: o.descriptions });
  writeFileSync(o.out, encodePng(sheet));
  return { out: o.out, pairs: records.length, width: sheet.width, height: sheet.height };
}
