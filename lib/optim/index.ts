/** Optimizers, learning-rate schedulers and gradient clipping. */
export {
  Optimizer,
  type GroupOptions,
  type ParamGroup,
  type ParamGroupInput,
  type ParamsInput,
  type ParamState,
  type StateValue,
  type StateKind,
  type SavedStateValue,
  type OptimizerStateDict,
  type OptimizerSpec,
  type StateDictOptions,
  type ZeroGradOptions,
} from './optimizer.js';
export { SGD, type SGDOptions, type SGDGroupOptions, type SGDState } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamGroupOptions, type AdamState } from './adam.js';
export {
  RMSprop,
  type RMSpropOptions,
  type RMSpropGroupOptions,
  type RMSpropState,
} from './rmsprop.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  type AnyOptimizer,
  type LRSchedulerStateDict,
  type StepLROptions,
  type MultiStepLROptions,
  type ExponentialLROptions,
  type CosineAnnealingLROptions,
} from './scheduler.js';
export { LinearWarmup, type LinearWarmupOptions } from './linear-warmup.js';
export {
  ReduceLROnPlateau,
  type ReduceLROnPlateauOptions,
  type ReduceLROnPlateauStateDict,
} from './reduce-lr-on-plateau.js';
