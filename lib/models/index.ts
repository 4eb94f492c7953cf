/** The model zoo. */
export { simpleCnn, type SimpleCnnOptions } from './simple-cnn.js';
export { lenet5, type LeNet5Options } from './lenet.js';
export { ACTIVATIONS, makeActivation, type ActivationName } from './activation.js';
export {
  createModel,
  modelNames,
  registerModel,
  specOf,
  zooEntries,
  type ModelSpec,
  type ZooEntry,
} from './registry.js';
export { countFlops, countMacs } from './flops.js';
export {
  BasicBlock,
  Bottleneck,
  PreActBasicBlock,
  PreActBottleneck,
  ResidualBlock,
  ZeroPadShortcut,
  bottleneckWidth,
  type ResidualBlockOptions,
  type ShortcutKind,
} from './resnet-blocks.js';
export {
  ResNet,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnet200,
  resnext50_32x4d,
  resnext101_32x8d,
  wideResnet50_2,
  resnetPreset,
  resnetStats,
  RESNET_PRESETS,
  type ResNetConfig,
  type ResNetOptions,
  type Stem,
} from './resnet.js';
export {
  CifarResNet,
  cifarResnet,
  cifarResnetStats,
  resnet20,
  resnet32,
  resnet44,
  resnet56,
  resnet110,
  type CifarResNetOptions,
} from './cifar-resnet.js';
export { DenseLayer, DenseBlock, Transition, type DenseLayerOptions } from './densenet-blocks.js';
export {
  DenseNet,
  densenet121,
  densenet169,
  densenet201,
  densenetPreset,
  densenetStats,
  DENSENET_PRESETS,
  type DenseNetConfig,
  type DenseNetOptions,
} from './densenet.js';
export { ArchTally, type ArchStats } from './arch-stats.js';
export { initConvNetWeights, type ConvInitOptions } from './init-weights.js';
