/** Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh, Identity, Softmax, LogSoftmax. */
import { leakyRelu, logSoftmax, relu, sigmoid, softmax, tanh } from '../functional/activation.js';
import { Tensor } from '../tensor.js';
import { Module } from './module.js';

function requireInput(name: string, x: unknown): Tensor {
  if (!(x instanceof Tensor))
    throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
  return x;
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(requireInput('ReLU', x));
  }
}

/** LeakyReLU(negativeSlope = 0.01): max(x, 0) + negativeSlope * min(x, 0). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;

  constructor(negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) {
      throw new RangeError(
        `LeakyReLU: negativeSlope must be a finite number, got ${String(negativeSlope)}`,
      );
    }
    this.negativeSlope = negativeSlope;
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(requireInput('LeakyReLU', x), this.negativeSlope);
  }

  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(requireInput('Sigmoid', x));
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(requireInput('Tanh', x));
  }
}

/** Returns its input unchanged: the "linear" activation, or a placeholder layer. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return requireInput('Identity', x);
  }
}

function checkAxis(owner: string, axis: unknown): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    throw new TypeError(`${owner}: axis must be an integer, got ${JSON.stringify(axis)}`);
  }
  return axis;
}

/** Softmax(axis = -1): exp(x) / sum(exp(x)) along the axis. */
export class Softmax extends Module {
  readonly axis: number;

  constructor(axis = -1) {
    super();
    this.axis = checkAxis('Softmax', axis);
  }

  forward(x: Tensor): Tensor {
    return softmax(requireInput('Softmax', x), this.axis);
  }

  override extraRepr(): string {
    return `axis=${this.axis}`;
  }
}

/** LogSoftmax(axis = -1): x - logsumexp(x) along the axis. */
export class LogSoftmax extends Module {
  readonly axis: number;

  constructor(axis = -1) {
    super();
    this.axis = checkAxis('LogSoftmax', axis);
  }

  forward(x: Tensor): Tensor {
    return logSoftmax(requireInput('LogSoftmax', x), this.axis);
  }

  override extraRepr(): string {
    return `axis=${this.axis}`;
  }
}
