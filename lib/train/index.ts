/** Training: fit / evaluate / predict, callbacks, metrics and pictures of a run. */
export {
  fit,
  evaluate,
  predict,
  type FitOptions,
  type FitResult,
  type EvaluateOptions,
  type LossFn,
  type BatchSource,
} from './fit.js';
export {
  EarlyStopping,
  earlyStopping,
  ModelCheckpoint,
  SchedulerStep,
  schedulerStep,
  resolveMode,
  type Callback,
  type TrainContext,
  type EpochLogs,
  type BatchLogs,
  type EarlyStoppingOptions,
  type ModelCheckpointOptions,
  type CheckpointWriter,
  type SchedulerLike,
  type MonitorMode,
} from './callbacks.js';
export { ProgressBar, progressBar, formatDuration, type ProgressBarOptions } from './progress.js';
export { MetricsLogger, metricsLogger, type MetricsLoggerOptions } from './logger.js';
export {
  accuracy,
  topKAccuracy,
  confusionMatrix,
  predictClasses,
  MetricTracker,
} from './metrics.js';
export { trainingCurvesSvg, confusionMatrixSvg, type CurveHistory } from './charts.js';
