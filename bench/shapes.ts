/**
 * The shapes the kernel section measures: square and tall-skinny GEMMs, the GEMMs that the two
 * models' layers turn into, and the convolution and pooling layers of the reference CNN
 * (28x28x1, batch 64) and of ResNet-18 in the CIFAR layout (32x32x3, batch 32).
 */

export interface GemmCase {
  kind: 'gemm';
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export interface ConvCase {
  kind: 'conv';
  /** e.g. 'reference-cnn conv2'. */
  name: string;
  batch: number;
  inChannels: number;
  outChannels: number;
  /** Square input height and width. */
  size: number;
  kernel: number;
  stride: number;
  padding: number;
}

export interface PoolCase {
  kind: 'pool';
  name: string;
  op: 'max' | 'avg';
  batch: number;
  channels: number;
  size: number;
  kernel: number;
  stride: number;
}

export type KernelCase = GemmCase | ConvCase | PoolCase;

export const REFERENCE_CNN_TRAIN_BATCH = 64;
export const REFERENCE_CNN_INFER_BATCH = 256;
export const RESNET18_TRAIN_BATCH = 32;

const gemm = (
  name: string,
  m: number,
  n: number,
  k: number,
  transA = false,
  transB = false,
): GemmCase => ({
  kind: 'gemm',
  name,
  m,
  n,
  k,
  transA,
  transB,
});

/** Square, tall-skinny, and the GEMMs the layers produce (im2col per image, linear layers). */
export function gemmCases(quick: boolean): GemmCase[] {
  if (quick) {
    return [
      gemm('square 256', 256, 256, 256),
      gemm('square 512', 512, 512, 512),
      gemm('tall-skinny', 4096, 32, 256),
      gemm('reference-cnn conv2 im2col', 64, 121, 288),
    ];
  }
  return [
    gemm('square 256', 256, 256, 256),
    gemm('square 512', 512, 512, 512),
    gemm('square 1024', 1024, 1024, 1024),
    gemm('tall-skinny', 8192, 32, 256),
    gemm('short-wide', 32, 8192, 256),
    gemm('reference-cnn conv1 im2col', 32, 676, 9),
    gemm('reference-cnn conv2 im2col', 64, 121, 288),
    gemm('reference-cnn fc1 x.Wt', 64, 128, 1600, false, true),
    gemm('reference-cnn fc1 dW = dYt.x', 128, 1600, 64, true, false),
    gemm('resnet18 64ch@32 im2col', 64, 1024, 576),
    gemm('resnet18 128ch@16 dW = dY.colt', 128, 1152, 256, false, true),
    gemm('resnet18 256ch@8 batch-in-columns', 256, 2048, 2304),
    gemm('resnet18 512ch@4 batch-in-columns', 512, 512, 4608),
  ];
}

const conv = (
  name: string,
  batch: number,
  inChannels: number,
  outChannels: number,
  size: number,
  kernel: number,
  stride: number,
  padding: number,
): ConvCase => ({
  kind: 'conv',
  name,
  batch,
  inChannels,
  outChannels,
  size,
  kernel,
  stride,
  padding,
});

/** Every distinct convolution of the two models, at their training batch sizes. */
export function convCases(quick: boolean): ConvCase[] {
  const rb = quick ? 4 : RESNET18_TRAIN_BATCH;
  const ref = [
    conv('reference-cnn conv1', REFERENCE_CNN_TRAIN_BATCH, 1, 32, 28, 3, 1, 0),
    conv('reference-cnn conv2', REFERENCE_CNN_TRAIN_BATCH, 32, 64, 13, 3, 1, 0),
  ];
  if (quick) {
    return [
      ...ref,
      conv('resnet18 layer2 3x3 128', rb, 128, 128, 16, 3, 1, 1),
      conv('resnet18 layer2 1x1 down', rb, 64, 128, 32, 1, 2, 0),
    ];
  }
  return [
    ...ref,
    conv('resnet18 stem 3x3 3->64', rb, 3, 64, 32, 3, 1, 1),
    conv('resnet18 layer1 3x3 64', rb, 64, 64, 32, 3, 1, 1),
    conv('resnet18 layer2 3x3 64->128 s2', rb, 64, 128, 32, 3, 2, 1),
    conv('resnet18 layer2 3x3 128', rb, 128, 128, 16, 3, 1, 1),
    conv('resnet18 layer2 1x1 down', rb, 64, 128, 32, 1, 2, 0),
    conv('resnet18 layer3 3x3 128->256 s2', rb, 128, 256, 16, 3, 2, 1),
    conv('resnet18 layer3 3x3 256', rb, 256, 256, 8, 3, 1, 1),
    conv('resnet18 layer3 1x1 down', rb, 128, 256, 16, 1, 2, 0),
    conv('resnet18 layer4 3x3 256->512 s2', rb, 256, 512, 8, 3, 2, 1),
    conv('resnet18 layer4 3x3 512', rb, 512, 512, 4, 3, 1, 1),
    conv('resnet18 layer4 1x1 down', rb, 256, 512, 8, 1, 2, 0),
  ];
}

export function poolCases(quick: boolean): PoolCase[] {
  const cases: PoolCase[] = [
    {
      kind: 'pool',
      name: 'reference-cnn pool1',
      op: 'max',
      batch: 64,
      channels: 32,
      size: 26,
      kernel: 2,
      stride: 2,
    },
    {
      kind: 'pool',
      name: 'reference-cnn pool2',
      op: 'max',
      batch: 64,
      channels: 64,
      size: 11,
      kernel: 2,
      stride: 2,
    },
  ];
  if (!quick) {
    cases.push({
      kind: 'pool',
      name: 'resnet18 global avg 4x4',
      op: 'avg',
      batch: RESNET18_TRAIN_BATCH,
      channels: 512,
      size: 4,
      kernel: 4,
      stride: 4,
    });
  }
  return cases;
}

export function kernelCases(quick: boolean): KernelCase[] {
  return [...gemmCases(quick), ...convCases(quick), ...poolCases(quick)];
}
