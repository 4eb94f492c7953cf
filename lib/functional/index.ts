/** Differentiable operations on Tensors (the functional API, like torch.nn.functional). */
export * from './elementwise.js';
export * from './reduce.js';
// shape.ts also holds helpers for the other functional files; only its ops are public.
export {
  broadcastShapes,
  broadcastTo,
  concat,
  expand,
  flatten,
  index,
  indexSelect,
  narrow,
  permute,
  reshape,
  slice,
  squeeze,
  stack,
  sumToShape,
  transpose,
  unsqueeze,
  view,
  type Indices,
} from './shape.js';
export * from './matmul.js';
export * from './conv.js';
export * from './pooling.js';
export * from './linear.js';
export * from './activation.js';
export * from './dropout.js';
export * from './normalization.js';
export * from './loss.js';
