/**
 * Fusion of batch norm with the ReLU (and residual add) after it while training, for the blocks
 * that own those layers (ResNet's). Not part of the public nn namespace: a block decides, layer
 * by layer, whether anything could observe the values the fusion skips.
 */
import type { Tensor } from '../tensor.js';
import { ReLU } from './activation.js';
import { isFloatNchw, isPlainLayer } from './inference-fusion.js';
import type { Module } from './module.js';
import { BatchNorm2d } from './normalization.js';

/**
 * relu(bn(x) + residual) (residual may be null) as one op, for a block that owns `bn` and `relu`
 * and would otherwise call them one by one: bn.forwardRelu when nothing can tell the difference
 * (bn exactly a BatchNorm2d in training mode and relu exactly a ReLU, neither with hooks; x and
 * the residual 4-D float32 of one shape). Otherwise null, and the caller runs the layers (which
 * also report bad input as usual).
 */
export function fusedBatchNormRelu(
  bn: Module,
  relu: Module,
  x: Tensor,
  residual: Tensor | null,
): Tensor | null {
  if (!canFuseBatchNormRelu(bn, relu)) return null;
  if (!isFloatNchw(x) || x.shape[1] !== (bn as BatchNorm2d).numFeatures) return null;
  if (residual !== null) {
    if (!isFloatNchw(residual)) return null;
    if (residual.shape.some((d, i) => d !== x.shape[i])) return null;
  }
  return (bn as BatchNorm2d).forwardRelu(x, residual);
}

/** The layer half of fusedBatchNormRelu's test: whether bn and relu may run as one op. */
export function canFuseBatchNormRelu(bn: Module, relu: Module): boolean {
  return isPlainLayer(bn, BatchNorm2d) && isPlainLayer(relu, ReLU) && bn.training;
}
