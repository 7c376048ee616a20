import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { Media, RgbImage } from '@flex/criteria';
import { SynthError } from './errors';
import { oracleOptionsSchema } from './oracle';
import { pairRecordSchema, splits } from './pair';
import type { PairRecord } from './pair';
import { decodePng, encodePng } from './png';

/** Version of the generator that wrote a dataset (bump when the same seed would give different data). */
export const generatorVersion = '1.0.0';

/** Schema of a dataset's manifest.json. */
export const manifestSchema = z.object({
  format: z.literal('flex-synth-dataset'),
  generatorVersion: z.string(),
  modality: z.enum(['image', 'video']),
  split: z.enum(splits),
  seed: z.number().int(),
  pairs: z.number().int().min(0),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  frames: z.number().int().positive(),
  fps: z.number().positive(),
  oracle: oracleOptionsSchema,
  /** Every other option the generator used. */
  options: z.record(z.string(), z.unknown()),
});
/** A dataset manifest. */
export type Manifest = z.output<typeof manifestSchema>;

/** File names inside a dataset folder. */
export const datasetFiles = { manifest: 'manifest.json', pairs: 'pairs.jsonl', media: 'media' } as const;

/** Read and validate a dataset's manifest. Throws `SynthError` (`missing_manifest`, `invalid_manifest`). */
export function readManifest(folder: string): Manifest {
  const file = join(folder, datasetFiles.manifest);
  if (!existsSync(file)) throw new SynthError('missing_manifest', `no ${datasetFiles.manifest} in ${folder}`, { file });
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new SynthError('invalid_manifest', `${file} is not JSON`, { file, cause });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new SynthError('invalid_manifest', `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { file });
  return parsed.data;
}

/**
 * Writes a dataset: media as PNG files under media/, one JSON line per record. Records are validated before they
 * are written; the manifest is written last (by `close`), so a folder with a manifest is complete.
 */
export class DatasetWriter {
  readonly folder: string;
  private readonly fd: number;
  private count = 0;
  private buffer: string[] = [];
  private pending: Promise<void>[] = [];
  private failure: unknown = undefined;
  /** Media files written concurrently (the thread pool overlaps disk writes with rendering). */
  private static readonly maxPending = 64;

  constructor(folder: string) {
    this.folder = folder;
    mkdirSync(join(folder, datasetFiles.media), { recursive: true });
    this.fd = openSync(join(folder, datasetFiles.pairs), 'w');
  }

  /**
   * Queue the PNG(s) of one candidate under media/ and return their relative paths. Writes run concurrently; await
   * {@link DatasetWriter.drain} (or `close`) before relying on the files.
   */
  writeMedia(name: string, media: Media): string[] {
    const frames: readonly RgbImage[] = 'frames' in media ? media.frames : [media];
    const paths: string[] = [];
    frames.forEach((frame, f) => {
      const relative = `${datasetFiles.media}/${frames.length === 1 && !('frames' in media) ? name : `${name}-f${String(f).padStart(2, '0')}`}.png`;
      this.pending.push(
        writeFile(join(this.folder, relative), encodePng(frame)).catch((error: unknown) => {
          this.failure ??= error;
        }),
      );
      paths.push(relative);
    });
    return paths;
  }

  /** Wait until queued media writes are below the limit (all of them with `all`). Rethrows a failed write. */
  async drain(all = false): Promise<void> {
    if (all || this.pending.length >= DatasetWriter.maxPending) {
      await Promise.all(this.pending);
      this.pending = [];
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Append one record (validated). */
  write(record: PairRecord, options: { validate?: boolean } = {}): void {
    const value = options.validate === false ? record : pairRecordSchema.parse(record);
    this.buffer.push(JSON.stringify(value));
    this.count++;
    if (this.buffer.length >= 256) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }

  /** Number of records written. */
  get size(): number {
    return this.count;
  }

  /** Wait for the media, flush, close and write the manifest (its `pairs` is the number of records written). */
  async close(manifest: Omit<Manifest, 'pairs' | 'format' | 'generatorVersion'>): Promise<Manifest> {
    await this.drain(true);
    this.flush();
    closeSync(this.fd);
    const full: Manifest = manifestSchema.parse({ format: 'flex-synth-dataset', generatorVersion, ...manifest, pairs: this.count });
    writeFileSync(join(this.folder, datasetFiles.manifest), `${JSON.stringify(full, null, 2)}\n`);
    return full;
  }
}

/** Options of {@link readPairs}. */
export const readPairsOptionsSchema = z.object({
  /** The dataset folder. */
  data: z.string().min(1),
  /** Stop after this many records. Default: all. */
  limit: z.number().int().positive().optional(),
});
/** Input of {@link readPairs}. */
export type ReadPairsOptions = z.input<typeof readPairsOptionsSchema>;

/**
 * Stream the records of a dataset, validated one by one. A malformed line throws `SynthError` with code
 * `malformed_record` and its 1-based `line`.
 */
export async function* readPairs(options: ReadPairsOptions): AsyncGenerator<PairRecord> {
  const { data, limit } = readPairsOptionsSchema.parse(options);
  const file = join(data, datasetFiles.pairs);
  if (!existsSync(file)) throw new SynthError('missing_manifest', `no ${datasetFiles.pairs} in ${data}`, { file });
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  let yielded = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      yield parseRecordLine(text, line, file);
      yielded++;
      if (limit !== undefined && yielded >= limit) return;
    }
  } finally {
    lines.close();
  }
}

/** Parse and validate one JSONL line. Throws `SynthError('malformed_record')` naming the line. */
export function parseRecordLine(text: string, line: number, file: string = datasetFiles.pairs): PairRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SynthError('malformed_record', `${file}:${line}: not JSON (${(cause as Error).message})`, { line, file, cause });
  }
  const parsed = pairRecordSchema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new SynthError('malformed_record', `${file}:${line}: invalid record (${detail})`, { line, file });
  }
  return parsed.data;
}

/** One problem found by {@link validateDataset}. */
export interface DatasetProblem {
  readonly code: 'malformed_record' | 'missing_media' | 'invalid_manifest' | 'missing_manifest' | 'count_mismatch' | 'duplicate_id';
  readonly message: string;
  /** 1-based line in pairs.jsonl, when the problem is a line. */
  readonly line?: number;
}

/** Options of {@link validateDataset}. */
export const validateDatasetOptionsSchema = z.object({
  data: z.string().min(1),
  /** Also check that every media file exists. Default true. */
  media: z.boolean().default(true),
  /** Stop after this many problems. Default 20. */
  maxProblems: z.number().int().positive().default(20),
});
/** Input of {@link validateDataset}. */
export type ValidateDatasetOptions = z.input<typeof validateDatasetOptionsSchema>;

/**
 * Check a whole dataset without throwing: the manifest, every line (its number is reported), unique ids, the record
 * count against the manifest and, optionally, that every media file exists. Problems are returned as values.
 */
export async function validateDataset(options: ValidateDatasetOptions): Promise<{ ok: true; value: { pairs: number } } | { ok: false; error: { code: 'invalid_dataset'; problems: DatasetProblem[] } }> {
  const o = validateDatasetOptionsSchema.parse(options);
  const problems: DatasetProblem[] = [];
  let manifest: Manifest | undefined;
  try {
    manifest = readManifest(o.data);
  } catch (error) {
    if (SynthError.isInstance(error)) problems.push({ code: error.code === 'missing_manifest' ? 'missing_manifest' : 'invalid_manifest', message: error.message });
    else throw error;
  }
  const file = join(o.data, datasetFiles.pairs);
  let pairs = 0;
  if (existsSync(file)) {
    const ids = new Set<string>();
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let line = 0;
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      if (problems.length >= o.maxProblems) break;
      try {
        const record = parseRecordLine(text, line, file);
        pairs++;
        if (ids.has(record.id)) problems.push({ code: 'duplicate_id', message: `${file}:${line}: duplicate id ${record.id}`, line });
        ids.add(record.id);
        if (o.media) {
          for (const path of [...record.a.media, ...record.b.media]) {
            if (!existsSync(join(o.data, path))) problems.push({ code: 'missing_media', message: `${file}:${line}: missing ${path}`, line });
          }
        }
      } catch (error) {
        if (SynthError.isInstance(error)) problems.push({ code: 'malformed_record', message: error.message, line });
        else throw error;
      }
    }
    lines.close();
  } else problems.push({ code: 'missing_manifest', message: `no ${datasetFiles.pairs} in ${o.data}` });
  if (manifest !== undefined && problems.length < o.maxProblems && pairs !== manifest.pairs) {
    problems.push({ code: 'count_mismatch', message: `manifest says ${manifest.pairs} pairs, pairs.jsonl holds ${pairs}` });
  }
  return problems.length === 0 ? { ok: true, value: { pairs } } : { ok: false, error: { code: 'invalid_dataset', problems } };
}

/** Read every record of a dataset into memory (small datasets; prefer {@link readPairs}). */
export async function readAllPairs(options: ReadPairsOptions): Promise<PairRecord[]> {
  const out: PairRecord[] = [];
  for await (const record of readPairs(options)) out.push(record);
  return out;
}

/** Load the media of one candidate of a record from its PNG files. Throws `SynthError('missing_media')`. */
export function loadCandidateMedia(data: string, record: PairRecord, which: 'a' | 'b', fps = 8): Media {
  const paths = record[which].media;
  const frames = paths.map((p) => {
    const file = join(data, p);
    if (!existsSync(file)) throw new SynthError('missing_media', `missing ${file} of ${record.id}`, { file });
    return decodePng(readFileSync(file));
  });
  if (record.modality === 'image') return frames[0] as RgbImage;
  return { frames, fps };
}
