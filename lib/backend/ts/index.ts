/**
 * The pure-TypeScript kernel set: the fallback used when the native addon cannot be loaded, and
 * the reference the native kernels are tested against. Runs on the calling thread.
 */
import type { Kernels } from '../kernels.js';
import { adamUpdate } from './adam.js';
import { batchNormBackward, batchNormInference, batchNormTraining } from './batch-norm.js';
import { biasAdd, biasAddBackward } from './bias.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv2d.js';
import {
  add,
  axpy,
  leakyRelu,
  leakyReluBackward,
  relu,
  reluBackward,
  sigmoid,
  sigmoidBackward,
  tanh,
  tanhBackward,
} from './elementwise.js';
import { conv2dFused } from './fused.js';
import { gemm } from './gemm.js';
import {
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  maxPool2d,
  maxPool2dBackward,
} from './pool2d.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './softmax.js';

export const tsKernels: Kernels = Object.freeze({
  name: 'ts',
  gemm,
  conv2d,
  conv2dFused,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  relu,
  reluBackward,
  leakyRelu,
  leakyReluBackward,
  sigmoid,
  sigmoidBackward,
  tanh,
  tanhBackward,
  biasAdd,
  biasAddBackward,
  softmax,
  softmaxBackward,
  logSoftmax,
  logSoftmaxBackward,
  batchNormTraining,
  batchNormInference,
  batchNormBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  add,
  axpy,
  adamUpdate,
});
