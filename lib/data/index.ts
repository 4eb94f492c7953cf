/** Data: IDX files, datasets, the DataLoader and transforms. Re-exports only. */
export {
  parseIdx,
  readIdx,
  encodeIdx,
  writeIdx,
  isGzip,
  type IdxArray,
  type IdxData,
  type IdxDType,
  type ParseIdxOptions,
} from './idx.js';
export {
  TensorDataset,
  Subset,
  randomSplit,
  isDataset,
  type Dataset,
  type Sample,
} from './dataset.js';
export { DataLoader, type Batch, type DataLoaderOptions } from './loader.js';
export {
  compose,
  normalize,
  randomHorizontalFlip,
  randomCrop,
  type Transform,
  type TransformContext,
  type RandomTransformOptions,
  type RandomCropOptions,
} from './transforms.js';
export {
  datasets,
  MnistDataset,
  dataSearchPath,
  defaultDownloadDir,
  loadMnistDir,
  BUNDLED_SUBSET_DIR,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  type MnistOptions,
} from './datasets.js';
export {
  downloadDataset,
  verifyDatasetFile,
  DATASET_CATALOG,
  type DatasetName,
  type DatasetSpec,
  type DatasetFile,
  type DownloadOptions,
  type DownloadResult,
  type FetchLike,
  type Split,
} from './download.js';
