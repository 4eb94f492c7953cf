/** `convnet train`: trains a zoo model on Fashion-MNIST (or MNIST) and leaves its artefacts. */
import fs from 'node:fs';
import path from 'node:path';
import { backendInfo, setBackend, setNumThreads, type BackendName } from '../backend/index.js';
import { DataLoader } from '../data/loader.js';
import { randomSplit } from '../data/dataset.js';
import { datasets, type MnistDataset } from '../data/datasets.js';
import { compose, randomCrop, randomHorizontalFlip } from '../data/transforms.js';
import { loadCheckpoint, saveCheckpoint, saveModel } from '../io/model-file.js';
import { createModel, modelNames, zooEntries } from '../models/registry.js';
import { ACTIVATIONS } from '../models/activation.js';
import type { Module } from '../nn/module.js';
import { Adam } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { CosineAnnealingLR, StepLR, type LRScheduler } from '../optim/scheduler.js';
import { SGD } from '../optim/sgd.js';
import { defaultGenerator, manualSeed } from '../random.js';
import { earlyStopping, type Callback, type TrainContext } from '../train/callbacks.js';
import { confusionMatrixSvg, trainingCurvesSvg } from '../train/charts.js';
import { fit, predict } from '../train/fit.js';
import { metricsLogger } from '../train/logger.js';
import { confusionMatrix, predictClasses } from '../train/metrics.js';
import { progressBar, formatDuration } from '../train/progress.js';
import { writeFileAtomic } from '../io/atomic.js';
import { UsageError, type FlagSpec, type ParsedArgs } from './args.js';

export const TRAIN_FLAGS: Record<string, FlagSpec> = {
  model: {
    type: 'string',
    description: 'zoo model to train (see `convnet models`)',
    default: 'simple-cnn',
  },
  data: {
    type: 'string',
    description: 'directory with the four IDX files (default: the bundled Fashion-MNIST subset)',
  },
  dataset: {
    type: 'string',
    choices: ['fashion-mnist', 'mnist'],
    description: 'which dataset --data holds',
    default: 'fashion-mnist',
  },
  epochs: { type: 'int', min: 1, description: 'training epochs', default: 5 },
  'batch-size': { type: 'int', min: 1, description: 'samples per batch', default: 32 },
  optimizer: {
    type: 'string',
    choices: ['sgd', 'momentum', 'nesterov', 'adam'],
    description: 'optimizer',
    default: 'adam',
  },
  lr: {
    type: 'number',
    min: 0,
    description: 'learning rate (default 2e-3 for adam, 0.05 for the SGD family)',
  },
  'weight-decay': { type: 'number', min: 0, description: 'L2 weight decay', default: 0 },
  dropout: { type: 'number', min: 0, max: 0.99, description: 'dropout probability (simple-cnn)' },
  activation: { type: 'string', choices: ACTIVATIONS, description: 'activation function' },
  width: {
    type: 'int',
    min: 1,
    description: 'channels of the first conv (simple-cnn) or stage (resnet20...resnet110)',
  },
  stem: {
    type: 'string',
    choices: ['cifar', 'imagenet'],
    description:
      "first layers of the ImageNet-size models (resnet18..., densenet...); default 'cifar', made for 28x28 images",
  },
  schedule: {
    type: 'string',
    choices: ['cosine', 'step', 'none'],
    description: 'learning-rate schedule over the epochs',
    default: 'cosine',
  },
  augment: { type: 'boolean', description: 'random crops (padding 2) and horizontal flips' },
  'val-split': {
    type: 'number',
    min: 0,
    max: 0.5,
    description: 'fraction of training data held out for validation',
    default: 0.1,
  },
  patience: {
    type: 'int',
    min: 0,
    description: 'stop after this many epochs without validation improvement',
  },
  backend: {
    type: 'string',
    choices: ['native', 'ts'],
    description: 'kernel backend (default: native when available)',
  },
  threads: { type: 'int', min: 1, description: 'native thread-pool size (default: all cores)' },
  seed: { type: 'int', min: 0, description: 'random seed', default: 0 },
  out: { type: 'string', description: 'output directory', default: 'convnet-run' },
  resume: { type: 'string', description: 'continue from a checkpoint written by an earlier run' },
  'limit-train': {
    type: 'int',
    min: 1,
    description: 'use only the first N training images (quick runs)',
  },
  quiet: { type: 'boolean', description: 'no progress output' },
};

function ensureWritableDir(dir: string): void {
  try {
    // One level at a time: a recursive mkdir can spin forever under pseudo-filesystems like /proc.
    const missing: string[] = [];
    let p = dir;
    while (!fs.existsSync(p)) {
      missing.unshift(p);
      const parent = path.dirname(p);
      if (parent === p) break;
      p = parent;
    }
    for (const m of missing) fs.mkdirSync(m);
    const probe = path.join(dir, `.convnet-write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (e) {
    throw new UsageError(
      `--out ${dir} cannot be written: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

function loadData(flags: ParsedArgs['flags']): { train: MnistDataset; test: MnistDataset } {
  const dir = flags.data as string | undefined;
  if (dir === undefined) {
    return {
      train: datasets.fashionMnistSubset({ split: 'train' }),
      test: datasets.fashionMnistSubset({ split: 'test' }),
    };
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`--data ${dir} is not a directory`);
  }
  const load = flags.dataset === 'mnist' ? datasets.mnistSync : datasets.fashionMnistSync;
  return { train: load({ root: dir, split: 'train' }), test: load({ root: dir, split: 'test' }) };
}

function makeOptimizer(model: Module, flags: ParsedArgs['flags']): Optimizer {
  const kind = flags.optimizer as string;
  const weightDecay = flags['weight-decay'] as number;
  if (kind === 'adam')
    return new Adam(model.parameters(), {
      lr: (flags.lr as number | undefined) ?? 2e-3,
      weightDecay,
    });
  const lr = (flags.lr as number | undefined) ?? 0.05;
  const momentum = kind === 'sgd' ? 0 : 0.9;
  return new SGD(model.parameters(), { lr, momentum, nesterov: kind === 'nesterov', weightDecay });
}

function makeScheduler(opt: Optimizer, flags: ParsedArgs['flags']): LRScheduler | undefined {
  const epochs = flags.epochs as number;
  if (flags.schedule === 'cosine') return new CosineAnnealingLR(opt, { tMax: epochs });
  if (flags.schedule === 'step')
    return new StepLR(opt, { stepSize: Math.max(1, Math.floor(epochs / 3)), gamma: 0.1 });
  return undefined;
}

/**
 * The builder options of a training run: the model-shaping flags, and what the data needs from
 * models built for other data — one input channel and ten classes (the ImageNet-size zoo defaults
 * to 3 and 1000) and, for 28x28 images, the CIFAR stem (the ImageNet one would shrink them to 7x7
 * before the first block).
 */
export function modelOptionsFor(
  modelName: string,
  flags: ParsedArgs['flags'],
): Record<string, unknown> {
  const defaults = zooEntries().find((e) => e.name === modelName)?.defaults ?? {};
  const options: Record<string, unknown> = {};
  if (flags.dropout !== undefined) options.dropout = flags.dropout;
  if (flags.activation !== undefined) options.activation = flags.activation;
  if (flags.width !== undefined) options.width = flags.width;
  if ('inChannels' in defaults && defaults.inChannels !== 1) options.inChannels = 1;
  if ('numClasses' in defaults && defaults.numClasses !== 10) options.numClasses = 10;
  if ('stem' in defaults) {
    const stem = (flags.stem as string | undefined) ?? 'cifar';
    if (stem !== defaults.stem) options.stem = stem;
  } else if (flags.stem !== undefined) {
    throw new UsageError(
      `--stem applies to the ImageNet-size models (resnet18, ..., densenet201), not ${modelName}`,
    );
  }
  return options;
}

export interface TrainSummary {
  testAccuracy: number;
  seconds: number;
  epochsRun: number;
  outDir: string;
  interrupted: boolean;
}

/** Validates everything, trains, evaluates on the test split and writes the run's files. */
export async function runTrain(
  args: ParsedArgs,
  log: (s: string) => void = console.log,
): Promise<TrainSummary> {
  const { flags } = args;
  if (args.positionals.length > 0)
    throw new UsageError(`train takes no positional arguments, got '${args.positionals[0]}'`);
  const modelName = flags.model as string;
  if (!modelNames().includes(modelName)) {
    throw new UsageError(`--model must be one of ${modelNames().join(', ')}, got '${modelName}'`);
  }
  const outDir = path.resolve(flags.out as string);
  ensureWritableDir(outDir);
  if (flags.resume !== undefined && !fs.existsSync(flags.resume as string)) {
    throw new UsageError(`--resume ${flags.resume}: no such file`);
  }
  if (flags.backend !== undefined) setBackend(flags.backend as BackendName);
  if (flags.threads !== undefined) setNumThreads(flags.threads as number);
  manualSeed(flags.seed as number);

  const { train: trainSet, test: testSet } = loadData(flags);
  const seed = flags.seed as number;
  let source = trainSet as import('../data/dataset.js').Dataset;
  if (flags['limit-train'] !== undefined) {
    const n = Math.min(flags['limit-train'] as number, trainSet.length);
    source = randomSplit(trainSet, [n, trainSet.length - n], { seed })[0];
  }
  const valFraction = flags['val-split'] as number;
  const nVal = Math.round(source.length * valFraction);
  const [trainPart, valPart] = randomSplit(source, [source.length - nVal, nVal], { seed });

  const modelOptions = modelOptionsFor(modelName, flags);
  const model = createModel(modelName, modelOptions);
  const optimizer = makeOptimizer(model, flags);
  const scheduler = makeScheduler(optimizer, flags);
  const transform = flags.augment
    ? compose([randomCrop(28, { padding: 2 }), randomHorizontalFlip()])
    : undefined;
  const batchSize = flags['batch-size'] as number;
  const trainLoader = new DataLoader(trainPart, { batchSize, shuffle: true, seed, transform });
  const valLoader = nVal > 0 ? new DataLoader(valPart, { batchSize: 256 }) : undefined;

  let initialEpoch = 0;
  let initialBatch = 0;
  if (flags.resume !== undefined) {
    const ck = loadCheckpoint(flags.resume as string);
    if (ck.architecture?.name !== modelName) {
      throw new UsageError(
        `--resume ${flags.resume} holds a ${ck.architecture?.name ?? 'unknown'} model, not ${modelName}`,
      );
    }
    model.loadStateDict(Object.fromEntries(ck.weights));
    optimizer.loadStateDict(ck.optimizerState);
    if (scheduler && ck.extra.scheduler) scheduler.loadStateDict(ck.extra.scheduler as never);
    if (Array.isArray(ck.extra.rng)) defaultGenerator.setState(ck.extra.rng as number[]);
    initialEpoch = ck.epoch;
    initialBatch = typeof ck.extra.batch === 'number' ? ck.extra.batch : 0;
  }

  const info = backendInfo();
  log(
    `convnet train: ${modelName} (${model.numParameters().toLocaleString('en-US')} parameters) on ${trainSet.bundled ? 'the bundled Fashion-MNIST subset' : trainSet.dir}: ` +
      `${trainPart.length} training, ${nVal} validation, ${testSet.length} test images; ` +
      `backend ${info.name}${info.name === 'native' ? ` (${info.isa}, ${info.threads} threads)` : ''}`,
  );

  const checkpointPath = path.join(outDir, 'checkpoint.safetensors');
  const writeCheckpoint = (epoch: number, batch: number): void =>
    saveCheckpoint(checkpointPath, model, {
      optimizer,
      epoch,
      extra: {
        batch,
        rng: defaultGenerator.getState(),
        scheduler: scheduler?.stateDict() ?? null,
        flags,
      },
    });
  const epochCheckpoint: Callback = {
    onEpochEnd: (epoch: number, _logs, _ctx: TrainContext) => writeCheckpoint(epoch + 1, 0),
  };
  const callbacks: Callback[] = [
    epochCheckpoint,
    metricsLogger(path.join(outDir, 'metrics.csv'), { append: flags.resume !== undefined }),
  ];
  if (!flags.quiet) callbacks.unshift(progressBar());
  if (flags.patience !== undefined) {
    callbacks.push(
      earlyStopping({
        monitor: nVal > 0 ? 'valLoss' : 'loss',
        patience: flags.patience as number,
        restoreBestWeights: true,
      }),
    );
  }

  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    log(
      '\nInterrupted: finishing the current batch and writing a checkpoint (Ctrl-C again to quit at once)',
    );
    abort.abort('interrupted by Ctrl-C');
  };
  process.on('SIGINT', onSigint);
  let result;
  try {
    result = await fit(model, {
      train: trainLoader,
      validation: valLoader,
      epochs: flags.epochs as number,
      optimizer,
      scheduler,
      callbacks,
      initialEpoch,
      initialBatch,
      signal: abort.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const interrupted = abort.signal.aborted;
  if (interrupted) {
    writeCheckpoint(result.next.epoch, result.next.batch);
    log(
      `Checkpoint written to ${checkpointPath}; continue with: convnet train --resume ${checkpointPath} (and the same flags)`,
    );
  }

  const logits = predict(model, testSet.inputs);
  const predicted = predictClasses(logits);
  const matrix = confusionMatrix(predicted, testSet.targets.data, testSet.classes.length);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++)
    if (predicted[i] === testSet.targets.data[i]) correct++;
  const testAccuracy = correct / predicted.length;

  saveModel(path.join(outDir, 'model.safetensors'), model);
  const h = result.history;
  writeFileAtomic(
    path.join(outDir, 'curves.svg'),
    trainingCurvesSvg(
      {
        loss: h.map((e) => e.loss),
        accuracy: h.map((e) => e.accuracy),
        valLoss: h.map((e) => e.valLoss),
        valAccuracy: h.map((e) => e.valAccuracy),
      },
      `${modelName} on ${trainSet.name}`,
    ),
  );
  writeFileAtomic(
    path.join(outDir, 'confusion.svg'),
    confusionMatrixSvg(
      matrix,
      testSet.classes,
      `${modelName}: test accuracy ${(testAccuracy * 100).toFixed(2)}%`,
    ),
  );
  log(
    `Test accuracy ${(testAccuracy * 100).toFixed(2)}% on ${testSet.length} images; trained ${h.length} epoch(s) in ${formatDuration(result.seconds)}` +
      (result.stopReason ? ` (${result.stopReason})` : ''),
  );
  log(
    `Wrote ${outDir}/{model.safetensors, checkpoint.safetensors, metrics.csv, curves.svg, confusion.svg}`,
  );
  return { testAccuracy, seconds: result.seconds, epochsRun: h.length, outDir, interrupted };
}
