/** Neural-network modules (like torch.nn): Module, containers, layers, losses, and `init`. */
export * from './module.js';
export * from './container.js';
export * from './conv.js';
export * from './linear.js';
export * from './pooling.js';
export * from './activation.js';
export * from './normalization.js';
export * from './dropout.js';
export * from './flatten.js';
export * from './loss.js';
export * as init from './init.js';
export * from './fuse.js';
