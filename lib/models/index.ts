/** The model zoo. */
export { simpleCnn, type SimpleCnnOptions } from './simple-cnn.js';
export { lenet5, type LeNet5Options } from './lenet.js';
export { ACTIVATIONS, makeActivation, type ActivationName } from './activation.js';
export { createModel, modelNames, registerModel, specOf, zooEntries, type ModelSpec, type ZooEntry } from './registry.js';
export { countFlops, countMacs } from './flops.js';
