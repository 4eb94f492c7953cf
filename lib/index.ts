/** convnet's public API: re-exports only. */
export * from './tensor.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { noGrad, setGradEnabled, isGradEnabled } from './autograd/engine.js';
export { gradcheck } from './autograd/gradcheck.js';
export {
  backendInfo,
  setBackend,
  setNumThreads,
  getNumThreads,
  type BackendInfo,
  type BackendName,
} from './backend/index.js';
export * as functional from './functional/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as io from './io/index.js';
export * as train from './train/index.js';
export * as models from './models/index.js';
export { concat, stack } from './functional/shape.js';
export { fit, evaluate, predict } from './train/fit.js';
export { saveModel, loadModel, saveCheckpoint, loadCheckpoint } from './io/model-file.js';
export { VERSION } from './version.js';
