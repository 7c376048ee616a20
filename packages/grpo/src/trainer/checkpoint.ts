import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { tf, type Parameters } from '@flex/model';
import { GrpoError } from '../errors';

/**
 * Trainer checkpoints: a folder `checkpoint-<step>` with `config.json` (kind, format version, the policy's
 * description, the trainer config), the weights and the Adam state (`tf.io.encodeWeights`, bit-exact), and
 * `trainer_state.json`. Written to a temporary folder and renamed, so a crash never leaves half a checkpoint.
 */

/** The checkpoint format version this package writes and reads. */
export const grpoCheckpointVersion = 1;
const KIND = 'grpo-trainer';

const weightSpecsSchema = z.array(z.object({ name: z.string(), shape: z.array(z.number().int()), dtype: z.string() }).passthrough());

/** `config.json` of a GRPO checkpoint. */
export const grpoCheckpointConfigSchema = z.object({
  kind: z.literal(KIND),
  version: z.number().int(),
  step: z.number().int().nonnegative(),
  policy: z.record(z.string(), z.unknown()),
  config: z.record(z.string(), z.unknown()),
});
/** See {@link grpoCheckpointConfigSchema}. */
export type GRPOCheckpointConfig = z.output<typeof grpoCheckpointConfigSchema>;

/** What a checkpoint holds besides tensors. */
export interface GRPOCheckpointState {
  readonly step: number;
  readonly policy: Record<string, unknown>;
  readonly config: Record<string, unknown>;
  /** Free-form trainer state (log history, …). */
  readonly trainerState: Record<string, unknown>;
}

async function writeTensors(folder: string, name: string, tensors: { name: string; tensor: tf.Tensor }[]): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await writeFile(join(folder, `${name}.bin`), new Uint8Array(data));
  await writeFile(join(folder, `${name}.json`), JSON.stringify(specs));
}

async function readTensors(folder: string, name: string): Promise<tf.NamedTensorMap> {
  let buffer: Buffer;
  let specsText: string;
  try {
    buffer = await readFile(join(folder, `${name}.bin`));
    specsText = await readFile(join(folder, `${name}.json`), 'utf8');
  } catch (error) {
    throw new GrpoError('checkpoint_error', `checkpoint ${folder}: cannot read ${name}: ${(error as Error).message}`, { cause: error });
  }
  const specs = weightSpecsSchema.safeParse(JSON.parse(specsText));
  if (!specs.success) throw new GrpoError('checkpoint_error', `checkpoint ${folder}: ${name}.json is not a weight manifest`);
  const bytes = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
  try {
    return tf.io.decodeWeights(bytes, specs.data as tf.io.WeightsManifestEntry[]);
  } catch (error) {
    throw new GrpoError('checkpoint_error', `checkpoint ${folder}: ${name}.bin does not match its manifest`, { cause: error });
  }
}

const ACCUMULATOR_PREFIX = '__adam_';

/**
 * Adam's running powers β1^t and β2^t. `setWeights` recomputes them as `pow(β, t + 1)`, which differs in the
 * low bits from the running product an uninterrupted run has, so a resumed run would drift; they are saved
 * and restored as they are.
 */
function adamAccumulators(optimizer: tf.Optimizer): { name: string; tensor: tf.Tensor }[] {
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable)) return [];
  return [
    { name: `${ACCUMULATOR_PREFIX}acc_beta1`, tensor: o.accBeta1 },
    { name: `${ACCUMULATOR_PREFIX}acc_beta2`, tensor: o.accBeta2 },
  ];
}

function restoreAdamAccumulators(optimizer: tf.Optimizer, slots: tf.NamedTensorMap): void {
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  const beta1 = slots[`${ACCUMULATOR_PREFIX}acc_beta1`];
  const beta2 = slots[`${ACCUMULATOR_PREFIX}acc_beta2`];
  if (beta1 && beta2 && o.accBeta1 instanceof tf.Variable && o.accBeta2 instanceof tf.Variable) {
    o.accBeta1.assign(beta1);
    o.accBeta2.assign(beta2);
  }
}

/** Writes a checkpoint of the parameters, the optimizer and the trainer state to `folder` (atomically). */
export async function saveGrpoCheckpoint(options: {
  folder: string;
  parameters: Parameters;
  optimizer: tf.Optimizer;
  state: GRPOCheckpointState;
}): Promise<string> {
  const { folder, parameters, optimizer, state } = options;
  const temporary = `${folder}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  await writeTensors(temporary, 'weights', parameters.entries().map(([name, tensor]) => ({ name, tensor })));
  await writeTensors(temporary, 'optimizer', [...(await optimizer.getWeights()), ...adamAccumulators(optimizer)]);
  const config: GRPOCheckpointConfig = { kind: KIND, version: grpoCheckpointVersion, step: state.step, policy: state.policy, config: state.config };
  await writeFile(join(temporary, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(temporary, 'trainer_state.json'), `${JSON.stringify(state.trainerState)}\n`);
  await rm(folder, { recursive: true, force: true });
  await rename(temporary, folder);
  return folder;
}

/** Reads a checkpoint's config, checking its kind and version. */
export async function readGrpoCheckpointConfig(folder: string): Promise<GRPOCheckpointConfig> {
  let text: string;
  try {
    text = await readFile(join(folder, 'config.json'), 'utf8');
  } catch (error) {
    throw new GrpoError('checkpoint_error', `no GRPO checkpoint at ${folder} (config.json missing)`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new GrpoError('checkpoint_error', `checkpoint ${folder}: config.json is not JSON`, { cause: error });
  }
  const kind = (raw as { kind?: unknown })?.kind;
  if (kind !== KIND) throw new GrpoError('checkpoint_error', `checkpoint ${folder} is of kind ${JSON.stringify(kind)}, expected "${KIND}"`);
  const parsed = grpoCheckpointConfigSchema.safeParse(raw);
  if (!parsed.success) throw new GrpoError('checkpoint_error', `checkpoint ${folder}: config.json is malformed`);
  if (parsed.data.version > grpoCheckpointVersion) {
    throw new GrpoError('checkpoint_error', `checkpoint ${folder} has format version ${parsed.data.version}; this @flex/grpo reads up to ${grpoCheckpointVersion}`);
  }
  return parsed.data;
}

/** Loads a checkpoint into the parameters and the optimizer; returns its config and trainer state. */
export async function loadGrpoCheckpoint(options: {
  folder: string;
  parameters: Parameters;
  optimizer: tf.Optimizer;
}): Promise<{ config: GRPOCheckpointConfig; trainerState: Record<string, unknown> }> {
  const { folder, parameters, optimizer } = options;
  const config = await readGrpoCheckpointConfig(folder);
  const weights = await readTensors(folder, 'weights');
  try {
    parameters.assign(weights);
  } catch (error) {
    throw new GrpoError('checkpoint_error', `checkpoint ${folder}: weights do not fit the policy: ${(error as Error).message}`, { cause: error });
  } finally {
    tf.dispose(Object.values(weights));
  }
  const slots = await readTensors(folder, 'optimizer');
  const order = (JSON.parse(await readFile(join(folder, 'optimizer.json'), 'utf8')) as { name: string }[]).map((s) => s.name);
  await optimizer.setWeights(order.filter((name) => !name.startsWith(ACCUMULATOR_PREFIX)).map((name) => ({ name, tensor: slots[name] as tf.Tensor })));
  restoreAdamAccumulators(optimizer, slots);
  tf.dispose(Object.values(slots));
  let trainerState: Record<string, unknown> = {};
  try {
    trainerState = JSON.parse(await readFile(join(folder, 'trainer_state.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new GrpoError('checkpoint_error', `checkpoint ${folder}: trainer_state.json missing or malformed`, { cause: error });
  }
  return { config, trainerState };
}

/** The newest `checkpoint-<step>` folder in `outputDir`, or undefined. */
export async function latestGrpoCheckpoint(outputDir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch {
    return undefined;
  }
  const steps = names.map((n) => /^checkpoint-(\d+)$/.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
  if (steps.length === 0) return undefined;
  return join(outputDir, `checkpoint-${Math.max(...steps)}`);
}
