/** Differentiable operations on Tensors (the functional API, like torch.nn.functional). */
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './conv.js';
export * from './pooling.js';
export * from './linear.js';
export * from './activation.js';
export * from './dropout.js';
export * from './normalization.js';
export * from './loss.js';
