/**
 * The two models the end-to-end section trains and serves, built from the model zoo the way a
 * user would build them.
 */
import { createModel, modelNames } from '../lib/models/registry.js';
import { simpleCnn } from '../lib/models/simple-cnn.js';
import type { Module } from '../lib/nn/module.js';

export interface BenchModel {
  /** 'reference-cnn' or 'resnet18-cifar'. */
  name: string;
  /** One image: [C, H, W]. */
  inputShape: [number, number, number];
  numClasses: number;
  /** A fresh model, or null with the reason it cannot be built here. */
  build(): Module | { unavailable: string };
}

/**
 * The reference CNN of the issue (conv 1->32 3x3, ReLU, max-pool 2; conv 32->64 3x3, ReLU,
 * max-pool 2; linear 1600->128, ReLU; linear 128->10) is the zoo's simple-cnn without dropout:
 * the peers run it without dropout too.
 */
export const REFERENCE_CNN: BenchModel = {
  name: 'reference-cnn',
  inputShape: [1, 28, 28],
  numClasses: 10,
  build: () => simpleCnn({ dropout: 0 }),
};

/**
 * ResNet-18 in the CIFAR layout (3x3 stride-1 stem, no max-pool, 32x32x3 inputs). This is the hook
 * for the zoo's resnet18: until it is registered, the rows that need it are skipped with a note.
 */
export const RESNET18_CIFAR: BenchModel = {
  name: 'resnet18-cifar',
  inputShape: [3, 32, 32],
  numClasses: 10,
  build: () => {
    if (!modelNames().includes('resnet18')) {
      return {
        unavailable:
          "the model zoo has no 'resnet18' yet (lib/models/registry.ts); createModel('resnet18', { stem: 'cifar' }) is what this row runs",
      };
    }
    return createModel('resnet18', { stem: 'cifar', numClasses: 10 });
  },
};
