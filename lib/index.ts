/** convnet's public API: re-exports only. */
export * from './tensor.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { noGrad, setGradEnabled, isGradEnabled } from './autograd/engine.js';
export {
  backendInfo,
  setBackend,
  setNumThreads,
  getNumThreads,
  type BackendInfo,
  type BackendName,
} from './backend/index.js';
