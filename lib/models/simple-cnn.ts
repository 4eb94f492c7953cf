import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten } from '../nn/flatten.js';
import { Linear } from '../nn/linear.js';
import { MaxPool2d } from '../nn/pooling.js';
import { makeActivation, type ActivationName } from './activation.js';
import { checkOptions, positiveInt, probability } from './options.js';

export interface SimpleCnnOptions {
  inChannels?: number;
  numClasses?: number;
  /** Square input size (default 28). */
  inputSize?: number;
  /** Channels of the first conv; the second has twice as many (default 32). */
  width?: number;
  /** Units of the hidden fully connected layer (default 128). */
  hidden?: number;
  activation?: ActivationName;
  /** Dropout before the last layer (default 0.25; 0 disables). */
  dropout?: number;
}

/**
 * Two conv + activation + max-pool blocks, then two fully connected layers with dropout:
 * conv 1->32 3x3, act, pool 2; conv 32->64 3x3, act, pool 2; linear 1600->128, act, dropout;
 * linear 128->10 (with the defaults, for 28x28 inputs).
 */
export function simpleCnn(opts: SimpleCnnOptions = {}): Sequential {
  const fn = 'simpleCnn';
  checkOptions(fn, opts, [
    'inChannels',
    'numClasses',
    'inputSize',
    'width',
    'hidden',
    'activation',
    'dropout',
  ]);
  const inChannels = positiveInt(fn, 'inChannels', opts.inChannels ?? 1);
  const numClasses = positiveInt(fn, 'numClasses', opts.numClasses ?? 10);
  const inputSize = positiveInt(fn, 'inputSize', opts.inputSize ?? 28);
  const width = positiveInt(fn, 'width', opts.width ?? 32);
  const hidden = positiveInt(fn, 'hidden', opts.hidden ?? 128);
  const p = probability(fn, 'dropout', opts.dropout ?? 0.25);
  const act = opts.activation ?? 'relu';
  const s1 = Math.floor((inputSize - 2) / 2);
  const s2 = Math.floor((s1 - 2) / 2);
  if (s2 < 1) throw new RangeError(`${fn}: inputSize must be at least 10, got ${inputSize}`);
  return new Sequential(
    new Conv2d(inChannels, width, 3),
    makeActivation(fn, act),
    new MaxPool2d(2),
    new Conv2d(width, 2 * width, 3),
    makeActivation(fn, act),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(2 * width * s2 * s2, hidden),
    makeActivation(fn, act),
    new Dropout(p),
    new Linear(hidden, numClasses),
  );
}
