/** File I/O: the safetensors weights format and atomic writes. Re-exports only. */
export {
  saveSafetensors,
  loadSafetensors,
  serializeSafetensors,
  parseSafetensors,
  safetensorsChunks,
  MAX_HEADER_SIZE,
  type SafetensorsFile,
  type SafetensorsDType,
  type TensorMap,
} from './safetensors.js';
export { writeFileAtomic, type AtomicData, type WriteFileAtomicOptions } from './atomic.js';
export {
  saveModel,
  loadModel,
  saveCheckpoint,
  loadCheckpoint,
  type SaveModelOptions,
  type CheckpointOptions,
  type LoadedFile,
  type LoadedCheckpoint,
} from './model-file.js';
