/**
 * The model zoo by name: what `convnet train --model NAME` and saved models refer to. A model built
 * through `createModel` remembers its name and options (its architecture), so it can be saved and
 * rebuilt.
 */
import type { Module } from '../nn/module.js';
import { lenet5 } from './lenet.js';
import { simpleCnn } from './simple-cnn.js';

export interface ModelSpec {
  /** A zoo name, e.g. 'simple-cnn'. */
  name: string;
  /** The builder's options (JSON-serialisable). */
  options: Record<string, unknown>;
}

export interface ZooEntry {
  name: string;
  description: string;
  build(options: Record<string, unknown>): Module;
}

const zoo = new Map<string, ZooEntry>();
const specs = new WeakMap<Module, ModelSpec>();

export function registerModel(entry: ZooEntry): void {
  zoo.set(entry.name, entry);
}

registerModel({
  name: 'simple-cnn',
  description: 'two conv+ReLU+max-pool blocks, two fully connected layers with dropout',
  build: (o) => simpleCnn(o),
});
registerModel({
  name: 'lenet5',
  description: 'LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling',
  build: (o) => lenet5(o),
});

export function modelNames(): string[] {
  return [...zoo.keys()];
}

export function zooEntries(): ZooEntry[] {
  return [...zoo.values()];
}

/** Builds a zoo model by name; the result remembers its spec (see specOf). */
export function createModel(name: string, options: Record<string, unknown> = {}): Module {
  const entry = zoo.get(name);
  if (entry === undefined) {
    throw new RangeError(`createModel: unknown model ${JSON.stringify(name)}; available: ${modelNames().join(', ')}`);
  }
  const model = entry.build(options);
  specs.set(model, { name, options: JSON.parse(JSON.stringify(options)) as Record<string, unknown> });
  return model;
}

/** The architecture of a model built by createModel, or undefined. */
export function specOf(model: Module): ModelSpec | undefined {
  return specs.get(model);
}
