import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Flatten } from '../nn/flatten.js';
import { Linear } from '../nn/linear.js';
import { AvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { makeActivation, type ActivationName } from './activation.js';
import { checkOptions, oneOf, positiveInt } from './options.js';

export interface LeNet5Options {
  inChannels?: number;
  numClasses?: number;
  /** 'relu' (default) or the original 'tanh', or any other activation name. */
  activation?: ActivationName;
  /** 'max' (default) or the original 'avg' subsampling. */
  pool?: 'max' | 'avg';
}

/**
 * LeNet-5 (LeCun et al., 1998) for 28x28 inputs: conv 6@5x5 (padding 2, so the 28x28 image is seen
 * as the original 32x32 one), pool, conv 16@5x5, pool, 120, 84, classes. 61,706 parameters for 10
 * classes.
 */
export function lenet5(opts: LeNet5Options = {}): Sequential {
  const fn = 'lenet5';
  checkOptions(fn, opts, ['inChannels', 'numClasses', 'activation', 'pool']);
  const inChannels = positiveInt(fn, 'inChannels', opts.inChannels ?? 1);
  const numClasses = positiveInt(fn, 'numClasses', opts.numClasses ?? 10);
  const pool = oneOf(fn, 'pool', opts.pool ?? 'max', ['max', 'avg'] as const);
  const act = opts.activation ?? 'relu';
  const makePool = () => (pool === 'max' ? new MaxPool2d(2) : new AvgPool2d(2));
  return new Sequential(
    new Conv2d(inChannels, 6, 5, { padding: 2 }),
    makeActivation(fn, act),
    makePool(),
    new Conv2d(6, 16, 5),
    makeActivation(fn, act),
    makePool(),
    new Flatten(),
    new Linear(16 * 5 * 5, 120),
    makeActivation(fn, act),
    new Linear(120, 84),
    makeActivation(fn, act),
    new Linear(84, numClasses),
  );
}
