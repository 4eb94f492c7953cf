/**
 * Model and checkpoint files: one safetensors file each, so PyTorch and any other safetensors
 * reader can open the weights. The weights are stored under their state-dict names
 * (`0.weight`, `layer1.0.bn1.running_mean`, ...). The `__metadata__` map holds:
 *   convnet.kind          'model' or 'checkpoint'
 *   convnet.version       the library version that wrote it
 *   convnet.architecture  JSON { name, options } of a zoo model (createModel), or absent
 *   convnet.training      checkpoints only: JSON of the optimizer's group options and scalar state,
 *                         the epoch, and whatever `extra` the caller passes (scheduler, RNG, ...)
 * A checkpoint also stores each optimizer state buffer as a tensor named
 * `__optimizer__.<param index>.<key>`. Writes are atomic (temp file + rename).
 */
import { createModel, specOf, type ModelSpec } from '../models/registry.js';
import type { Module } from '../nn/module.js';
import type { OptimizerStateDict, SavedStateValue } from '../optim/optimizer.js';
import { Tensor } from '../tensor.js';
import { VERSION } from '../version.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';

const OPTIMIZER_PREFIX = '__optimizer__.';

export interface SaveModelOptions {
  /** Architecture to record; default: the model's own when it was built by createModel. */
  architecture?: ModelSpec;
}

export interface CheckpointOptions extends SaveModelOptions {
  optimizer: { stateDict(): OptimizerStateDict };
  /** Epochs completed so far. */
  epoch: number;
  /** Anything JSON-serialisable to restore with the run (scheduler state, RNG state, ...). */
  extra?: Record<string, unknown>;
}

export interface LoadedFile {
  kind: 'model' | 'checkpoint';
  version: string;
  architecture: ModelSpec | null;
  weights: Map<string, Tensor>;
}

export interface LoadedCheckpoint extends LoadedFile {
  epoch: number;
  optimizerState: OptimizerStateDict;
  extra: Record<string, unknown>;
}

function baseMetadata(
  kind: 'model' | 'checkpoint',
  model: Module,
  opts: SaveModelOptions,
): Record<string, string> {
  const spec = opts.architecture ?? specOf(model);
  const meta: Record<string, string> = { 'convnet.kind': kind, 'convnet.version': VERSION };
  if (spec !== undefined) meta['convnet.architecture'] = JSON.stringify(spec);
  return meta;
}

/** Writes the model's weights (and its architecture when known) atomically. */
export function saveModel(path: string, model: Module, opts: SaveModelOptions = {}): void {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`saveModel: path must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  saveSafetensors(
    path,
    new Map(Object.entries(model.stateDict())),
    baseMetadata('model', model, opts),
  );
}

/** Writes weights, optimizer state, epoch and extra state for resuming, atomically. */
export function saveCheckpoint(path: string, model: Module, opts: CheckpointOptions): void {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `saveCheckpoint: path must be a non-empty string, got ${JSON.stringify(path)}`,
    );
  }
  if (!Number.isInteger(opts.epoch) || opts.epoch < 0) {
    throw new RangeError(`saveCheckpoint: epoch must be a non-negative integer, got ${opts.epoch}`);
  }
  const tensors = new Map(Object.entries(model.stateDict()));
  const sd = opts.optimizer.stateDict();
  const scalarState: Record<string, Record<string, SavedStateValue>> = {};
  for (const [id, entry] of Object.entries(sd.state)) {
    scalarState[id] = {};
    for (const [k, v] of Object.entries(entry)) {
      if (v instanceof Float32Array || Array.isArray(v)) {
        const arr = v instanceof Float32Array ? v : Float32Array.from(v);
        tensors.set(`${OPTIMIZER_PREFIX}${id}.${k}`, new Tensor(arr, [arr.length]));
      } else {
        scalarState[id][k] = v;
      }
    }
  }
  const meta = baseMetadata('checkpoint', model, opts);
  meta['convnet.training'] = JSON.stringify({
    epoch: opts.epoch,
    optimizer: { paramGroups: sd.paramGroups, scalarState },
    extra: opts.extra ?? {},
  });
  saveSafetensors(path, tensors, meta);
}

function parseJsonField(path: string, key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(
      `loadModel: ${path}: metadata '${key}' is not valid JSON (${(e as Error).message})`,
    );
  }
}

function readFile(fn: string, path: string): LoadedFile & { training: string | undefined } {
  const file = loadSafetensors(path);
  const meta = file.metadata;
  const kind = meta['convnet.kind'];
  if (kind !== undefined && kind !== 'model' && kind !== 'checkpoint') {
    throw new Error(`${fn}: ${path}: unknown convnet.kind ${JSON.stringify(kind)}`);
  }
  let architecture: ModelSpec | null = null;
  if (meta['convnet.architecture'] !== undefined) {
    const a = parseJsonField(
      path,
      'convnet.architecture',
      meta['convnet.architecture'],
    ) as ModelSpec;
    if (
      a === null ||
      typeof a !== 'object' ||
      typeof a.name !== 'string' ||
      typeof a.options !== 'object'
    ) {
      throw new Error(`${fn}: ${path}: convnet.architecture must be { name, options }`);
    }
    architecture = a;
  }
  const weights = new Map<string, Tensor>();
  for (const [k, t] of file.tensors) if (!k.startsWith(OPTIMIZER_PREFIX)) weights.set(k, t);
  return {
    kind: (kind ?? 'model') as 'model' | 'checkpoint',
    version: meta['convnet.version'] ?? 'unknown',
    architecture,
    weights,
    training: meta['convnet.training'],
  };
}

/**
 * Loads a model file (or the weights of a checkpoint). With `into`, the weights are loaded into
 * that module (strictly); otherwise the recorded architecture is rebuilt from the zoo.
 */
export function loadModel(path: string, opts: { into?: Module } = {}): Module {
  const f = readFile('loadModel', path);
  let model = opts.into;
  if (model === undefined) {
    if (f.architecture === null) {
      throw new Error(
        `loadModel: ${path} records no architecture (it was not built with createModel); build the model yourself and pass it as { into: model }`,
      );
    }
    model = createModel(f.architecture.name, f.architecture.options);
  }
  model.loadStateDict(Object.fromEntries(f.weights));
  return model;
}

/** Reads a checkpoint written by saveCheckpoint, validating its training record. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const f = readFile('loadCheckpoint', path);
  if (f.kind !== 'checkpoint' || f.training === undefined) {
    throw new Error(
      `loadCheckpoint: ${path} is a model file, not a checkpoint (no optimizer state)`,
    );
  }
  const tr = parseJsonField(path, 'convnet.training', f.training) as {
    epoch: number;
    optimizer: {
      paramGroups: OptimizerStateDict['paramGroups'];
      scalarState: Record<string, Record<string, SavedStateValue>>;
    };
    extra: Record<string, unknown>;
  };
  if (
    !Number.isInteger(tr?.epoch) ||
    tr.epoch < 0 ||
    typeof tr.optimizer !== 'object' ||
    !Array.isArray(tr.optimizer.paramGroups)
  ) {
    throw new Error(
      `loadCheckpoint: ${path}: convnet.training must hold an epoch and optimizer param groups`,
    );
  }
  const state: OptimizerStateDict['state'] = {};
  for (const [id, entry] of Object.entries(tr.optimizer.scalarState ?? {}))
    state[id] = { ...entry };
  const file = loadSafetensors(path);
  for (const [name, t] of file.tensors) {
    if (!name.startsWith(OPTIMIZER_PREFIX)) continue;
    const rest = name.slice(OPTIMIZER_PREFIX.length);
    const dot = rest.indexOf('.');
    if (dot < 1)
      throw new Error(
        `loadCheckpoint: ${path}: malformed optimizer tensor name ${JSON.stringify(name)}`,
      );
    const id = rest.slice(0, dot);
    (state[id] ??= {})[rest.slice(dot + 1)] = t.f32;
  }
  return {
    kind: 'checkpoint',
    version: f.version,
    architecture: f.architecture,
    weights: f.weights,
    epoch: tr.epoch,
    optimizerState: { state, paramGroups: tr.optimizer.paramGroups },
    extra: tr.extra ?? {},
  };
}
