import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { tf } from '../engine';
import { CheckpointError } from '../errors';
import { createFlowGenerator, flowGeneratorConfigSchema, type FlowGenerator } from './flow-generator';

/** The generator checkpoint format version written and read here. */
export const flowGeneratorFormatVersion = 1;
const KIND = 'flow-generator';

const configFileSchema = z.object({
  kind: z.literal(KIND),
  version: z.number().int(),
  config: z.record(z.string(), z.unknown()),
  /** Free-form provenance (command, seed, steps, losses). */
  provenance: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Saves a generator to `folder`: `config.json` (kind `flow-generator`, format version, the generator config,
 * optional provenance) and `weights.bin` / `weights.json` (`tf.io.encodeWeights`, bit-exact). Written to a
 * temporary folder and renamed.
 */
export async function saveFlowGenerator(options: { generator: FlowGenerator; folder: string; provenance?: Record<string, unknown> }): Promise<string> {
  const { generator, folder } = options;
  const temporary = `${folder}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(generator.parameters.entries().map(([name, tensor]) => ({ name, tensor })));
  await writeFile(join(temporary, 'weights.bin'), new Uint8Array(data));
  await writeFile(join(temporary, 'weights.json'), JSON.stringify(specs));
  const config = { kind: KIND, version: flowGeneratorFormatVersion, config: generator.config, ...(options.provenance ? { provenance: options.provenance } : {}) };
  await writeFile(join(temporary, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await rm(folder, { recursive: true, force: true });
  await rename(temporary, folder);
  return folder;
}

/** Loads a generator saved by {@link saveFlowGenerator}; a wrong kind, newer version or broken file is a `CheckpointError`. */
export async function loadFlowGenerator(options: { folder: string }): Promise<{ generator: FlowGenerator; provenance?: Record<string, unknown> }> {
  const { folder } = options;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
  } catch (error) {
    throw new CheckpointError('checkpoint_not_found', `no flow generator at ${folder}`, { cause: error });
  }
  const kind = (raw as { kind?: unknown })?.kind;
  if (kind !== KIND) throw new CheckpointError('checkpoint_wrong_kind', `${folder} holds a ${JSON.stringify(kind)} checkpoint, not a flow generator`);
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new CheckpointError('checkpoint_corrupt', `${folder}/config.json is malformed`);
  if (parsed.data.version > flowGeneratorFormatVersion) {
    throw new CheckpointError('checkpoint_newer_version', `${folder} has format version ${parsed.data.version}; this build reads up to ${flowGeneratorFormatVersion}`);
  }
  const config = flowGeneratorConfigSchema.safeParse(parsed.data.config);
  if (!config.success) throw new CheckpointError('checkpoint_corrupt', `${folder}/config.json: invalid generator config`);
  const generator = createFlowGenerator(config.data);
  try {
    const buffer = await readFile(join(folder, 'weights.bin'));
    const specs = JSON.parse(await readFile(join(folder, 'weights.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
    const weights = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer, specs);
    try {
      generator.parameters.assign(weights);
    } finally {
      tf.dispose(Object.values(weights));
    }
  } catch (error) {
    generator.dispose();
    throw new CheckpointError('checkpoint_corrupt', `${folder}: weights could not be read: ${(error as Error).message}`, { cause: error });
  }
  return { generator, ...(parsed.data.provenance ? { provenance: parsed.data.provenance } : {}) };
}
