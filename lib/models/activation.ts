import { Identity, LeakyReLU, ReLU, Sigmoid, Tanh } from '../nn/activation.js';
import type { Module } from '../nn/module.js';

/** Activation names the model builders and the CLI accept; 'linear' is the identity. */
export const ACTIVATIONS = ['relu', 'leaky-relu', 'sigmoid', 'tanh', 'linear'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export function makeActivation(fn: string, name: string): Module {
  switch (name) {
    case 'relu':
      return new ReLU();
    case 'leaky-relu':
      return new LeakyReLU(0.01);
    case 'sigmoid':
      return new Sigmoid();
    case 'tanh':
      return new Tanh();
    case 'linear':
      return new Identity();
    default:
      throw new RangeError(
        `${fn}: activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(name)}`,
      );
  }
}
