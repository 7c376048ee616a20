import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { barChart, formatTick, lineChart, niceTicks, seriesColors } from './charts';
import { glyphColumns, textWidth } from './font';
import { mediaToPng, pngDataUrl, Raster } from './raster';

const decode = (png: Buffer) => PNG.sync.read(png);
const pixel = (png: PNG, x: number, y: number) => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
const hasColor = (png: PNG, color: readonly number[]) => {
  for (let i = 0; i < png.width * png.height; i++) {
    if (png.data[i * 4] === color[0] && png.data[i * 4 + 1] === color[1] && png.data[i * 4 + 2] === color[2]) return true;
  }
  return false;
};

describe('niceTicks and formatTick', () => {
  it('covers the range with 1-2-5 steps', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 2000, 6)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(niceTicks(0.13, 0.87, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const flat = niceTicks(3, 3);
    expect(flat[0]).toBeLessThanOrEqual(3);
    expect(flat.at(-1)).toBeGreaterThanOrEqual(3);
  });
  it('formats ticks compactly', () => {
    expect(formatTick(0.30000000000000004)).toBe('0.3');
    expect(formatTick(25_000)).toBe('25k');
    expect(formatTick(3_000_000)).toBe('3M');
  });
});

describe('font and raster', () => {
  it('has a glyph for every printable ASCII character', () => {
    for (let c = 33; c < 127; c++) {
      const columns = glyphColumns(String.fromCharCode(c));
      expect(columns).toHaveLength(5);
      expect(columns.some((b) => b !== 0)).toBe(true);
    }
    expect(glyphColumns(' ')).toEqual([0, 0, 0, 0, 0]);
    expect(glyphColumns('é')).toEqual(glyphColumns('?'));
    expect(textWidth('ab', 2)).toBe(22);
  });

  it('draws text pixels where the glyph says', () => {
    const r = new Raster(20, 10);
    r.text('I', 0, 0, [0, 0, 0]);
    // "I" is columns 00 41 7f 41 00: the middle column is fully set, the first column empty.
    for (let y = 0; y < 7; y++) expect(r.getPixel(2, y)).toEqual([0, 0, 0]);
    expect(r.getPixel(0, 3)).toEqual([255, 255, 255]);
  });

  it('upscales images by nearest neighbour to 256 × 256', () => {
    const data = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
    const png = decode(mediaToPng({ width: 2, height: 2, data }));
    expect([png.width, png.height]).toEqual([256, 256]);
    expect(pixel(png, 0, 0)).toEqual([255, 0, 0]);
    expect(pixel(png, 127, 127)).toEqual([255, 0, 0]);
    expect(pixel(png, 128, 0)).toEqual([0, 255, 0]);
    expect(pixel(png, 0, 255)).toEqual([0, 0, 255]);
    expect(pixel(png, 255, 255)).toEqual([255, 255, 255]);
  });

  it('lays out video frames in a strip and rejects malformed media', () => {
    const frame = { width: 2, height: 2, data: new Float32Array(12).fill(0.5) };
    const png = decode(mediaToPng({ frames: Array.from({ length: 12 }, () => frame), fps: 8 }, 128));
    expect([png.width, png.height]).toEqual([4 * 64 + 3 * 4, 2 * 64 + 4]);
    expect(() => mediaToPng({ width: 2, height: 2, data: new Float32Array(5) })).toThrow(RangeError);
    expect(() => mediaToPng({ frames: [], fps: 8 })).toThrow(RangeError);
  });

  it('makes data URLs', () => {
    expect(pngDataUrl(new Uint8Array([1, 2, 3]))).toBe('data:image/png;base64,AQID');
  });
});

describe('charts', () => {
  it('draws a line chart with a legend colour per series', () => {
    const png = decode(
      lineChart({
        series: [
          { name: 'loss', points: [{ x: 0, y: 2 }, { x: 10, y: 1 }, { x: 20, y: 0.5 }] },
          { name: 'eval', points: [{ x: 0, y: 1.5 }, { x: 20, y: 1 }] },
        ],
        xLabel: 'step',
        yLabel: 'loss',
        width: 400,
        height: 200,
      }),
    );
    expect([png.width, png.height]).toEqual([400, 200]);
    expect(hasColor(png, seriesColors[0]!)).toBe(true);
    expect(hasColor(png, seriesColors[1]!)).toBe(true);
    expect(hasColor(png, seriesColors[2]!)).toBe(false);
  });

  it('draws bars whose height follows the value', () => {
    const png = decode(
      barChart({ groups: [{ label: 'g', bars: [{ value: 1 }, { value: null }] }], seriesNames: ['a', 'b'], width: 300, height: 200 }),
    );
    // A value of 1 fills up to the top of the plot (y = 12); the null bar draws nothing of colour 2.
    let top = -1;
    for (let y = 0; y < png.height && top < 0; y++) {
      for (let x = 0; x < png.width; x++) {
        const p = pixel(png, x, y);
        if (p[0] === seriesColors[0]![0] && p[1] === seriesColors[0]![1] && p[2] === seriesColors[0]![2] && x < 200) {
          top = y;
          break;
        }
      }
    }
    expect(top).toBe(12);
  });

  it('writes long group labels upwards and grows the image to hold them', () => {
    const groups = Array.from({ length: 9 }, (_, i) => ({ label: `context-number-${i}`, bars: [{ value: 0.5 }] }));
    const tall = decode(barChart({ groups, seriesNames: ['a'], width: 500, height: 300 }));
    expect(tall.width).toBe(500);
    expect(tall.height).toBe(300 + 16 * 12 + 14 - 30);
    const short = decode(barChart({ groups: [{ label: 'A', bars: [{ value: 0.5 }] }], seriesNames: ['a'], width: 500, height: 300 }));
    expect(short.height).toBe(300);
  });

  it('rejects bad chart options', () => {
    expect(() => lineChart({ series: [] })).toThrow(/series/);
    expect(() => barChart({ groups: [], seriesNames: ['a'] })).toThrow(/groups/);
  });
});
