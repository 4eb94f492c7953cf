/**
 * The model zoo by name: what `convnet train --model NAME` and saved models refer to. A model built
 * through `createModel` remembers its name and options (its architecture), so it can be saved and
 * rebuilt.
 */
import type { Module } from '../nn/module.js';
import type { ArchStats } from './arch-stats.js';
import {
  cifarResnetStats,
  resnet20,
  resnet32,
  resnet44,
  resnet56,
  resnet110,
  type CifarResNet,
  type CifarResNetOptions,
} from './cifar-resnet.js';
import {
  DENSENET_OPTION_NAMES,
  DENSENET_PRESETS,
  densenetPreset,
  densenetStats,
  type DenseNetOptions,
} from './densenet.js';
import { lenet5 } from './lenet.js';
import { checkOptions } from './options.js';
import {
  RESNET_OPTION_NAMES,
  RESNET_PRESETS,
  resnetPreset,
  resnetStats,
  type ResNetOptions,
} from './resnet.js';
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
  /**
   * The builder's options that have defaults, with those defaults (e.g. { inChannels: 3,
   * numClasses: 1000, stem: 'imagenet' }): the CLI adapts these to its data.
   */
  defaults?: Readonly<Record<string, unknown>>;
  /** The input [C, H, W] the model is designed for, with these options (default [1, 28, 28]). */
  inputShape?(options: Record<string, unknown>): number[];
  /**
   * Parameters and multiply-adds per image at an input shape, computed without building the model
   * (building the largest models takes seconds); absent: build the model and count.
   */
  stats?(options: Record<string, unknown>, inputShape: readonly number[]): ArchStats;
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

const stemInput = (o: Record<string, unknown>): number[] => [
  typeof o.inChannels === 'number' ? o.inChannels : 3,
  o.stem === 'cifar' ? 32 : 224,
  o.stem === 'cifar' ? 32 : 224,
];

const RESNET_DESCRIPTIONS: Record<string, string> = {
  resnet18: 'ResNet-18 (He et al. 2015): basic blocks [2, 2, 2, 2]',
  resnet34: 'ResNet-34: basic blocks [3, 4, 6, 3]',
  resnet50: 'ResNet-50: bottleneck blocks [3, 4, 6, 3]',
  resnet101: 'ResNet-101: bottleneck blocks [3, 4, 23, 3]',
  resnet152: 'ResNet-152: bottleneck blocks [3, 8, 36, 3]',
  resnet200: 'ResNet-200: bottleneck blocks [3, 24, 36, 3]',
  resnext50_32x4d: 'ResNeXt-50 32x4d (Xie et al. 2016): grouped bottlenecks',
  resnext101_32x8d: 'ResNeXt-101 32x8d: grouped bottlenecks [3, 4, 23, 3]',
  wide_resnet50_2: 'Wide ResNet-50-2 (Zagoruyko & Komodakis 2016): bottlenecks twice as wide',
};

for (const [name, preset] of Object.entries(RESNET_PRESETS)) {
  registerModel({
    name,
    description: RESNET_DESCRIPTIONS[name],
    build: (o) => resnetPreset(name, o as ResNetOptions),
    defaults: { numClasses: 1000, inChannels: 3, stem: 'imagenet', zeroInitResidual: false },
    inputShape: stemInput,
    stats: (o, shape) => {
      checkOptions(name, o, RESNET_OPTION_NAMES);
      return resnetStats({ ...preset, ...(o as ResNetOptions) }, shape);
    },
  });
}

const CIFAR_BUILDERS: [number, (o?: CifarResNetOptions) => CifarResNet][] = [
  [20, resnet20],
  [32, resnet32],
  [44, resnet44],
  [56, resnet56],
  [110, resnet110],
];
for (const [depth, builder] of CIFAR_BUILDERS) {
  registerModel({
    name: `resnet${depth}`,
    description: `CIFAR ResNet-${depth} (He et al. 2015): 3 x ${(depth - 2) / 6} basic blocks, 16/32/64 channels, option-A shortcuts`,
    build: (o) => builder(o as CifarResNetOptions),
    defaults: {
      numClasses: 10,
      inChannels: 3,
      shortcut: 'A',
      width: 16,
      zeroInitResidual: false,
      plain: false,
      preact: false,
    },
    inputShape: (o) => [typeof o.inChannels === 'number' ? o.inChannels : 3, 32, 32],
    stats: (o, shape) => cifarResnetStats(depth, o as CifarResNetOptions, shape),
  });
}

for (const [name, preset] of Object.entries(DENSENET_PRESETS)) {
  registerModel({
    name,
    description: `DenseNet-${name.slice(8)} (Huang et al. 2017): dense blocks [${(preset.blockConfig ?? []).join(', ')}], growth ${preset.growthRate}`,
    build: (o) => densenetPreset(name, o as DenseNetOptions),
    defaults: { numClasses: 1000, inChannels: 3, stem: 'imagenet', dropRate: 0 },
    inputShape: stemInput,
    stats: (o, shape) => {
      checkOptions(name, o, DENSENET_OPTION_NAMES);
      return densenetStats({ ...preset, ...(o as DenseNetOptions) }, shape);
    },
  });
}

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
    throw new RangeError(
      `createModel: unknown model ${JSON.stringify(name)}; available: ${modelNames().join(', ')}`,
    );
  }
  const model = entry.build(options);
  specs.set(model, {
    name,
    options: JSON.parse(JSON.stringify(options)) as Record<string, unknown>,
  });
  return model;
}

/** The architecture of a model built by createModel, or undefined. */
export function specOf(model: Module): ModelSpec | undefined {
  return specs.get(model);
}
