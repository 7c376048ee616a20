import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCandidateMedia, readAllPairs, readManifest, validateDataset } from './dataset';
import { SynthError } from './errors';
import { renderFrame } from './render';
import { datasetStats } from './stats';
import { synthesize } from './synthesize';
import type { RgbImage, Video } from '@flex/criteria';

const root = mkdtempSync(join(tmpdir(), 'flex-synth-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function hashFolder(folder: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, name.name);
      if (name.isDirectory()) walk(path, `${prefix}${name.name}/`);
      else hash.update(`${prefix}${name.name}\0`).update(readFileSync(path));
    }
  };
  walk(folder, '');
  return hash.digest('hex');
}

describe('datasets on disk', () => {
  it('same seed, same bytes; another seed, other bytes', async () => {
    await synthesize({ out: join(root, 'one'), pairs: 40, seed: 11, split: 'test' });
    await synthesize({ out: join(root, 'two'), pairs: 40, seed: 11, split: 'test' });
    await synthesize({ out: join(root, 'three'), pairs: 40, seed: 12, split: 'test' });
    expect(hashFolder(join(root, 'one'))).toBe(hashFolder(join(root, 'two')));
    expect(hashFolder(join(root, 'one'))).not.toBe(hashFolder(join(root, 'three')));
  });

  it('writes a manifest, valid records and PNG media that match the scenes', async () => {
    const out = join(root, 'video');
    const result = await synthesize({ out, pairs: 6, seed: 3, modality: 'video', split: 'train', width: 24 });
    const manifest = readManifest(out);
    expect(manifest).toMatchObject({ modality: 'video', split: 'train', seed: 3, pairs: 6, width: 24, frames: 8, generatorVersion: result.manifest.generatorVersion });
    const records = await readAllPairs({ data: out });
    expect(records).toHaveLength(6);
    expect(await validateDataset({ data: out })).toEqual({ ok: true, value: { pairs: 6 } });
    const record = records[0]!;
    expect(record.a.media).toHaveLength(8);
    const media = loadCandidateMedia(out, record, 'a') as Video;
    const expected = renderFrame(record.a.scene, 3, 24, 24);
    const frame = media.frames[3] as RgbImage;
    let max = 0;
    for (let i = 0; i < frame.data.length; i++) max = Math.max(max, Math.abs((frame.data[i] as number) - (expected.data[i] as number)));
    expect(max).toBeLessThan(1 / 255);
  });

  it('refuses to overwrite unless asked', async () => {
    const out = join(root, 'again');
    await synthesize({ out, pairs: 2, seed: 1 });
    await expect(synthesize({ out, pairs: 2, seed: 1 })).rejects.toMatchObject({ code: 'dataset_exists' });
    expect((await synthesize({ out, pairs: 3, seed: 1, overwrite: true })).manifest.pairs).toBe(3);
  });

  it('reports a malformed line with its line number', async () => {
    const out = join(root, 'broken');
    await synthesize({ out, pairs: 3, seed: 5 });
    const file = join(out, 'pairs.jsonl');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    writeFileSync(file, `${lines[0]}\n${lines[1]!.replace('"label":"', '"label":"X')}\n${lines[2]}\n`);
    const error = await readAllPairs({ data: out }).catch((e: unknown) => e);
    expect(SynthError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'malformed_record', line: 2 });
    const report = await validateDataset({ data: out });
    expect(report.ok).toBe(false);
    if (!report.ok) expect(report.error.problems).toEqual([
      expect.objectContaining({ code: 'malformed_record', line: 2 }),
      expect.objectContaining({ code: 'count_mismatch' }),
    ]);
    writeFileSync(file, `${lines[0]}\n`);
    appendFileSync(file, '{not json\n');
    await expect(readAllPairs({ data: out })).rejects.toMatchObject({ code: 'malformed_record', line: 2 });
  });

  it('rejects bad options with a typed error', async () => {
    await expect(synthesize({ out: join(root, 'bad'), pairs: -1 })).rejects.toMatchObject({ code: 'invalid_options' });
    expect(() => readManifest(join(root, 'nothing'))).toThrowError(expect.objectContaining({ code: 'missing_manifest' }));
  });

  it('computes statistics with context sensitivity as fractions', async () => {
    const out = join(root, 'stats');
    await synthesize({ out, pairs: 150, seed: 9, split: 'test' });
    const stats = await datasetStats({ data: out });
    expect(stats.pairs).toBe(150);
    expect(stats.labelBalance.A + stats.labelBalance.B + stats.labelBalance.tie).toBeCloseTo(1, 9);
    for (const key of ['contextFlipRate', 'contextBlindCeiling', 'oracleAgreement', 'teacherAgreement'] as const) {
      expect(stats[key]).toBeGreaterThan(0);
      expect(stats[key]).toBeLessThan(1);
    }
    expect(stats.oracleAgreement).toBeGreaterThan(stats.contextBlindCeiling);
    expect(stats.teacherAgreement).toBeLessThan(stats.oracleAgreement);
  });
});

describe('contact sheet', () => {
  it('writes a PNG with both candidates of each pair', async () => {
    const { contactSheet } = await import('./contact-sheet');
    const { decodePng } = await import('./png');
    const out = join(root, 'sheet');
    await synthesize({ out, pairs: 3, seed: 2, modality: 'video', width: 16 });
    const result = await contactSheet({ data: out, out: join(root, 'sheet.png'), pairs: 2, cell: 64 });
    const image = decodePng(readFileSync(result.out));
    expect(result.pairs).toBe(2);
    expect([image.width, image.height]).toEqual([result.width, result.height]);
    // Not blank: the sheet holds pictures and text.
    let dark = 0;
    for (let i = 0; i < image.data.length; i += 3) if ((image.data[i] as number) < 0.3) dark++;
    expect(dark).toBeGreaterThan(100);
  });
});
