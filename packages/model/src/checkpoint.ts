import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { tf } from './engine';
import { CheckpointError, parseOptions } from './errors';
import { modelConfigSchema } from './config';
import { tokenizerJsonSchema, Tokenizer } from './tokenizer';
import { FlexJudgeModel } from './flex-judge';
import { BradleyTerryModel } from './bradley-terry';
import { restoreAdamBetaPowers } from './training';
import { stemBlockIndex } from './layers';

/**
 * Checkpoints: a folder holding `config.json` (validated: format, version, model kind and sizes, tokenizer,
 * the weight manifests with byte lengths and checksums), `weights.bin`, and when training `optimizer.bin`
 * (Adam's state, slots in parameter order) and `trainer.json`. Written to a temporary sibling folder and
 * renamed, so a crash never leaves half a checkpoint. Reading a truncated file, another kind or a newer
 * format throws a {@link CheckpointError} with code `checkpoint_corrupt`, `checkpoint_wrong_kind` or
 * `checkpoint_newer_version`.
 */

/** The format version this code writes and reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** A model that checkpoints hold. */
export type CheckpointModel = FlexJudgeModel | BradleyTerryModel;
/** A model kind. */
export type CheckpointKind = CheckpointModel['kind'];

const weightSpecSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
  dtype: z.enum(['float32', 'int32', 'bool']),
});

const weightFileSchema = z.object({
  file: z.string(),
  byteLength: z.number().int().min(0),
  /** FNV-1a 32 of the file's bytes. */
  checksum: z.number().int().min(0),
  specs: z.array(weightSpecSchema),
});

/** The schema of `config.json`. */
export const checkpointConfigSchema = z.object({
  format: z.literal('flex-checkpoint'),
  formatVersion: z.number().int().min(1),
  kind: z.enum(['flex-judge', 'bradley-terry']),
  name: z.string(),
  model: modelConfigSchema,
  layout: z.enum(['prompt-first', 'evidence-first']).optional(),
  tokenizer: tokenizerJsonSchema,
  weights: weightFileSchema,
  optimizer: z
    .object({
      type: z.literal('adam'),
      learningRate: z.number(),
      beta1: z.number(),
      beta2: z.number(),
      epsilon: z.number(),
      state: weightFileSchema,
    })
    .optional(),
  trainer: z.object({ file: z.string() }).optional(),
});
/** The content of `config.json`. */
export type CheckpointConfig = z.output<typeof checkpointConfigSchema>;

function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** The checkpoint folder (replaced atomically when it exists). */
  readonly directory: string;
  readonly model: CheckpointModel;
  /** Adam optimizer whose state to keep (optional). */
  readonly optimizer?: tf.AdamOptimizer;
  /** Any JSON-serialisable trainer state (step, data order, RNG state, metrics…). */
  readonly trainerState?: unknown;
}

const saveOptionsSchema = z.object({
  directory: z.string().min(1),
  model: z.custom<CheckpointModel>((m) => m instanceof FlexJudgeModel || m instanceof BradleyTerryModel, 'a FlexJudgeModel or BradleyTerryModel'),
  optimizer: z.custom<tf.AdamOptimizer>((o) => o instanceof tf.AdamOptimizer, 'an Adam optimizer').optional(),
  trainerState: z.unknown().optional(),
});

let temporaryCounter = 0;

/** Writes a checkpoint folder (temporary folder, then rename). */
export async function saveCheckpoint(options: SaveCheckpointOptions): Promise<CheckpointConfig> {
  const o = parseOptions(saveOptionsSchema, options, 'saveCheckpoint options') as SaveCheckpointOptions;
  const { model, optimizer } = o;
  const directory = o.directory.replace(/[\\/]+$/, '');
  const temporary = join(dirname(directory), `.${basename(directory)}.tmp-${process.pid}-${temporaryCounter++}`);
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  try {
    const entries = model.parameters.entries().map(([name, variable]) => ({ name, tensor: variable as tf.Tensor }));
    const weights = await tf.io.encodeWeights(entries);
    const weightBytes = new Uint8Array(weights.data);
    await writeFile(join(temporary, 'weights.bin'), weightBytes);
    const config: CheckpointConfig = {
      format: 'flex-checkpoint',
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      kind: model.kind,
      name: model.name,
      model: model.config,
      ...(model instanceof FlexJudgeModel ? { layout: model.layout } : {}),
      tokenizer: model.tokenizer.toJSON(),
      weights: { file: 'weights.bin', byteLength: weightBytes.byteLength, checksum: checksum(weightBytes), specs: weights.specs.map(({ name, shape, dtype }) => ({ name, shape, dtype: dtype as 'float32' })) },
    };
    if (optimizer) {
      const state = await optimizer.getWeights();
      const encoded = await tf.io.encodeWeights(state.map((s, i) => ({ name: `${i}:${s.name}`, tensor: s.tensor })));
      // getWeights makes a fresh scalar for the iteration count; the slots are the optimizer's own variables.
      if (state[0]?.name === 'iter') state[0].tensor.dispose();
      const bytes = new Uint8Array(encoded.data);
      await writeFile(join(temporary, 'optimizer.bin'), bytes);
      const adam = optimizer as unknown as { learningRate: number; beta1: number; beta2: number; epsilon: number };
      config.optimizer = {
        type: 'adam',
        learningRate: adam.learningRate,
        beta1: adam.beta1,
        beta2: adam.beta2,
        epsilon: adam.epsilon,
        state: { file: 'optimizer.bin', byteLength: bytes.byteLength, checksum: checksum(bytes), specs: encoded.specs.map(({ name, shape, dtype }) => ({ name, shape, dtype: dtype as 'float32' })) },
      };
    }
    if (o.trainerState !== undefined) {
      await writeFile(join(temporary, 'trainer.json'), `${JSON.stringify(o.trainerState, null, 2)}\n`);
      config.trainer = { file: 'trainer.json' };
    }
    await writeFile(join(temporary, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const previous = join(dirname(directory), `.${basename(directory)}.old-${process.pid}-${temporaryCounter++}`);
    const exists = await stat(directory).then(
      () => true,
      () => false,
    );
    await mkdir(dirname(directory), { recursive: true });
    if (exists) await rename(directory, previous);
    await rename(temporary, directory);
    if (exists) await rm(previous, { recursive: true, force: true });
    return config;
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint<M extends CheckpointModel = CheckpointModel> {
  readonly config: CheckpointConfig;
  readonly model: M;
  /** A fresh Adam optimizer holding the saved state, when the checkpoint has one. */
  readonly optimizer?: tf.AdamOptimizer;
  /** The saved trainer state, when there is one. */
  readonly trainerState?: unknown;
}

async function readBinary(directory: string, file: z.output<typeof weightFileSchema>): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(join(directory, file.file)));
  } catch (error) {
    throw new CheckpointError('checkpoint_corrupt', `${file.file} is missing from checkpoint ${directory}`, { cause: error });
  }
  if (bytes.byteLength !== file.byteLength) {
    throw new CheckpointError('checkpoint_corrupt', `${file.file} has ${bytes.byteLength} bytes, expected ${file.byteLength} (truncated?)`, { details: { file: file.file } });
  }
  if (checksum(bytes) !== file.checksum) throw new CheckpointError('checkpoint_corrupt', `${file.file} fails its checksum`, { details: { file: file.file } });
  return bytes;
}

function decode(bytes: Uint8Array, specs: z.output<typeof weightFileSchema>['specs']): tf.NamedTensorMap {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return tf.io.decodeWeights(buffer, specs);
}

/** Options of {@link loadCheckpoint}. */
export const loadCheckpointOptionsSchema = z.object({
  /** The checkpoint folder. */
  directory: z.string().min(1),
  /** Fail with `checkpoint_wrong_kind` unless the checkpoint holds this kind. */
  kind: z.enum(['flex-judge', 'bradley-terry']).optional(),
  /**
   * Switch the text position bias of the loaded model (`'alibi'` or `'none'`). It has no parameters, so the weights
   * load unchanged and fine-tuning adapts them (docs/model.md). Default: the checkpoint's own.
   */
  positionBias: z.enum(['none', 'alibi']).optional(),
  /**
   * Grow the vision stem to this many residual blocks per conv (at least the checkpoint's own). The new blocks start
   * as the identity, so the grown model computes what the checkpoint did until it is trained (docs/model.md). A
   * grown model is a different model: the checkpoint's optimizer and trainer state are not loaded. Default: the
   * checkpoint's own.
   */
  residualBlocks: z.number().int().min(0).optional(),
  /**
   * Grow the decoder to this many transformer blocks (at least the checkpoint's own). The new blocks go on top, their
   * attention output and MLP down projections start at zero, so each is the identity and the grown model computes
   * what the checkpoint did until it is trained. Like `residualBlocks`, the optimizer and trainer state are not loaded.
   * Default: the checkpoint's own.
   */
  layers: z.number().int().min(1).optional(),
  /**
   * Switch on the candidate tags of text tokens (`candidateTags` in the model config, docs/model.md). Their embedding
   * starts at zero, so the model computes what the checkpoint did until it is trained; like the growth options, the
   * optimizer and trainer state are not loaded. A checkpoint trained with tags cannot switch them off.
   */
  candidateTags: z.boolean().optional(),
});
/** Input of {@link loadCheckpoint}. */
export type LoadCheckpointOptions = z.input<typeof loadCheckpointOptionsSchema>;

/**
 * The model a checkpoint loads as under `loadCheckpoint`'s switches: its config, which parameters the file may lack
 * (those a growth adds: they keep their initial values) and which new ones start at zero so that every added block is
 * the identity. A grown model drops the saved optimizer and trainer state (they belong to the smaller model).
 */
function planGrowth(
  saved: CheckpointConfig,
  o: { positionBias?: 'none' | 'alibi'; residualBlocks?: number; layers?: number; candidateTags?: boolean },
  directory: string,
): { config: CheckpointConfig; keepInitial?: (name: string) => boolean; startsAtZero: (name: string) => boolean } {
  const savedBlocks = saved.model.vision.residualBlocks;
  const savedLayers = saved.model.layers;
  if (o.residualBlocks !== undefined && o.residualBlocks < savedBlocks) {
    throw new CheckpointError('checkpoint_mismatch', `checkpoint ${directory} has ${savedBlocks} residual blocks per stem conv; it cannot be shrunk to ${o.residualBlocks}`);
  }
  if (o.layers !== undefined && o.layers < savedLayers) throw new CheckpointError('checkpoint_mismatch', `checkpoint ${directory} has ${savedLayers} decoder blocks; it cannot be shrunk to ${o.layers}`);
  if (o.candidateTags === false && saved.model.candidateTags) throw new CheckpointError('checkpoint_mismatch', `checkpoint ${directory} was trained with candidate tags; they cannot be switched off`);
  const growStem = o.residualBlocks !== undefined && o.residualBlocks > savedBlocks;
  const growDecoder = o.layers !== undefined && o.layers > savedLayers;
  const addTags = o.candidateTags === true && !saved.model.candidateTags;
  const model = {
    ...saved.model,
    ...(o.positionBias === undefined ? {} : { positionBias: o.positionBias }),
    ...(growStem ? { vision: { ...saved.model.vision, residualBlocks: o.residualBlocks as number } } : {}),
    ...(growDecoder ? { layers: o.layers as number } : {}),
    ...(addTags ? { candidateTags: true } : {}),
  };
  const newLayer = (name: string) => {
    const match = /^decoder\.block(\d+)\./.exec(name);
    return match !== null && Number(match[1]) >= savedLayers;
  };
  // New decoder blocks write nothing back into the residual stream until trained.
  const startsAtZero = (name: string) => newLayer(name) && /\.(attention\.output|mlp\.down)\.weight$/.test(name);
  if (!(growStem || growDecoder || addTags)) return { config: { ...saved, model }, startsAtZero };
  return {
    config: { ...saved, model, optimizer: undefined, trainer: undefined },
    keepInitial: (name) => (stemBlockIndex(name) ?? -1) >= savedBlocks || newLayer(name) || (addTags && name === 'text.tag.table'),
    startsAtZero,
  };
}

/** Reads a checkpoint folder: the model, and the optimizer and trainer state when saved. */
export async function loadCheckpoint(options: LoadCheckpointOptions & { kind: 'flex-judge' }): Promise<LoadedCheckpoint<FlexJudgeModel>>;
export async function loadCheckpoint(options: LoadCheckpointOptions & { kind: 'bradley-terry' }): Promise<LoadedCheckpoint<BradleyTerryModel>>;
export async function loadCheckpoint(options: LoadCheckpointOptions): Promise<LoadedCheckpoint>;
export async function loadCheckpoint(options: LoadCheckpointOptions): Promise<LoadedCheckpoint> {
  const { directory, kind, positionBias, residualBlocks, layers, candidateTags } = parseOptions(loadCheckpointOptionsSchema, options, 'loadCheckpoint options');
  let raw: string;
  try {
    raw = await readFile(join(directory, 'config.json'), 'utf8');
  } catch (error) {
    throw new CheckpointError('checkpoint_not_found', `no checkpoint at ${directory} (config.json is missing)`, { cause: error });
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch (error) {
    throw new CheckpointError('checkpoint_corrupt', `config.json of ${directory} is not valid JSON (truncated?)`, { cause: error });
  }
  if (json?.format !== 'flex-checkpoint') throw new CheckpointError('checkpoint_corrupt', `${directory} is not a Flex checkpoint`);
  if (typeof json.formatVersion === 'number' && json.formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError('checkpoint_newer_version', `checkpoint format ${json.formatVersion} is newer than this @flex/model reads (${CHECKPOINT_FORMAT_VERSION}); upgrade @flex/model`, {
      details: { formatVersion: json.formatVersion },
    });
  }
  if (kind && json.kind !== kind) throw new CheckpointError('checkpoint_wrong_kind', `checkpoint ${directory} holds a ${String(json.kind)} model, expected ${kind}`, { details: { kind: json.kind } });
  const parsed = checkpointConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new CheckpointError('checkpoint_corrupt', `config.json of ${directory} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { config, keepInitial, startsAtZero } = planGrowth(parsed.data, { positionBias, residualBlocks, layers, candidateTags }, directory);
  const tokenizer = Tokenizer.fromJSON(config.tokenizer);
  const model: CheckpointModel =
    config.kind === 'flex-judge'
      ? new FlexJudgeModel(config.model, tokenizer, { layout: config.layout ?? 'prompt-first', name: config.name })
      : new BradleyTerryModel(config.model, tokenizer, { name: config.name });
  try {
    const weights = decode(await readBinary(directory, config.weights), config.weights.specs);
    try {
      model.parameters.assign(weights, keepInitial);
      for (const name of model.parameters.names().filter(startsAtZero)) {
        const variable = model.parameters.get(name);
        tf.tidy(() => variable.assign(tf.zerosLike(variable)));
      }
    } catch (error) {
      throw new CheckpointError('checkpoint_mismatch', `weights of ${directory} do not fit the model: ${(error as Error).message}`, { cause: error });
    } finally {
      tf.dispose(Object.values(weights));
    }
    let optimizer: tf.AdamOptimizer | undefined;
    if (config.optimizer) {
      const o = config.optimizer;
      const state = decode(await readBinary(directory, o.state), o.state.specs);
      optimizer = tf.train.adam(o.learningRate, o.beta1, o.beta2, o.epsilon) as tf.AdamOptimizer;
      // Slots are matched to variables by position: keep the saved order.
      await optimizer.setWeights(o.state.specs.map((spec) => ({ name: spec.name.slice(spec.name.indexOf(':') + 1), tensor: state[spec.name] as tf.Tensor })));
      tf.dispose(Object.values(state));
      // setWeights restores β1^t, β2^t with pow; training multiplies them: recompute them as training does (bit-exact resume).
      restoreAdamBetaPowers(optimizer);
    }
    let trainerState: unknown;
    if (config.trainer) {
      try {
        trainerState = JSON.parse(await readFile(join(directory, config.trainer.file), 'utf8'));
      } catch (error) {
        throw new CheckpointError('checkpoint_corrupt', `${config.trainer.file} of ${directory} is missing or not valid JSON`, { cause: error });
      }
    }
    return { config, model, ...(optimizer ? { optimizer } : {}), ...(trainerState !== undefined ? { trainerState } : {}) };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
