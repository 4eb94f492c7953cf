/**
 * The kernel set: every heavy computation in convnet goes through this interface.
 *
 * Kernels take raw typed arrays and plain parameter objects (never Tensors) and write into
 * outputs that the caller allocated. Outputs are overwritten, never accumulated into, unless a
 * kernel's documentation says otherwise (gemm's `beta`). Geometry is computed once, in
 * TypeScript, by `conv2dGeometry` / `pool2dGeometry` (./geometry.ts), and handed to whichever
 * backend is active. Layout conventions match PyTorch: NCHW activations, OIHW weights,
 * row-major matrices.
 *
 * Two implementations exist: the native addon (./native.ts) and plain TypeScript (./ts/).
 */

/** Instruction sets the native micro-kernels are written for; `ts` reports `scalar`. */
export type Isa = 'avx2' | 'sse2' | 'neon' | 'scalar';

/**
 * C = alpha * op(A) * op(B) + beta * C, all row-major and contiguous.
 * op(A) is m x k: A is stored m x k, or k x m when `transA`.
 * op(B) is k x n: B is stored k x n, or n x k when `transB`.
 * C is m x n. When beta is 0, C's previous contents are ignored (NaNs in C do not propagate).
 */
export interface GemmParams {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
}

/** Everything a 2-D convolution kernel needs; built by `conv2dGeometry`. */
export interface Conv2dGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  outHeight: number;
  outWidth: number;
}

/** Everything a 2-D pooling kernel needs; built by `pool2dGeometry`. */
export interface Pool2dGeometry {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  outHeight: number;
  outWidth: number;
  /** avgPool2d only: divide by the full window including padding (PyTorch's default, true). */
  countIncludePad: boolean;
}

/** The activations a fused convolution can apply (conv2dFused). */
export type FusedActivation = 'none' | 'relu' | 'leakyRelu' | 'sigmoid' | 'tanh';

/**
 * What conv2dFused applies to the convolution's output, in order: the activation (leakyRelu
 * with `negativeSlope`, ignored otherwise), then the pooling when `pool` is not null. The pool
 * geometry's batch, channels, inHeight and inWidth are the convolution's batch, outChannels,
 * outHeight and outWidth.
 */
export interface ConvEpilogue {
  activation: FusedActivation;
  negativeSlope: number;
  pool: { kind: 'max' | 'avg'; g: Pool2dGeometry } | null;
  /**
   * Channels-last input ([N, H, W, C]) and/or output ([N, PH, PW, O]) instead of NCHW (the
   * default): what one fused layer hands the next, as both read and write it best.
   */
  inputLayout?: TensorLayout;
  outputLayout?: TensorLayout;
}

export type TensorLayout = 'nchw' | 'nhwc';

/**
 * A tensor viewed as [outer, channels, inner]: bias is indexed by the middle axis.
 * NCHW conv output: outer = N, channels = C, inner = H*W. Linear output [N, F]: inner = 1.
 */
export interface BiasGeometry {
  outer: number;
  channels: number;
  inner: number;
}

/**
 * Per-channel normalization views a tensor the same way: [N, C, H, W] is outer = N, channels = C,
 * inner = H*W; [N, C] is inner = 1. Statistics are taken over outer and inner.
 */
export type ChannelGeometry = BiasGeometry;

/**
 * The scalars of one Adam / AdamW step (torch.optim.Adam / AdamW), computed once per parameter
 * tensor by the optimizer at step t (counted from 1).
 */
export interface AdamStep {
  beta1: number;
  beta2: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  bias2Sqrt: number;
  eps: number;
  /** Adam's weight decay, added to the gradient (0 for AdamW). */
  l2: number;
  /** AdamW's decoupled decay, the factor 1 - lr * weightDecay on the weights (1 for Adam). */
  decay: number;
  /** -1 to maximize, 1 to minimize. */
  sign: number;
}

/** A row-major matrix [rows, cols]; softmax runs along each row (the last axis). */
export interface RowsGeometry {
  rows: number;
  cols: number;
}

/**
 * What batchNormTraining applies to the normalized values before it stores them (ResNet's
 * "batch norm, add the shortcut, ReLU" in one pass): y = relu(bn(x) + residual), residual
 * optional (null), relu optional. Each step rounds to float32 as the separate add and relu
 * kernels do, so y equals running them one by one.
 */
export interface BatchNormEpilogue {
  /** Same length as x. */
  residual: Float32Array | null;
  relu: boolean;
}

/**
 * batchNormBackward for that fused forward: dy is the gradient of its output y, and the ReLU's
 * mask is read from y (reluOut; y > 0 exactly where the ReLU's input was > 0). The masked
 * gradient is what reaches bn(x) and the residual; dresidual (may be null) receives it.
 * reluOut null: no ReLU (dresidual = dy).
 */
export interface BatchNormBackwardEpilogue {
  reluOut: Float32Array | null;
  dresidual: Float32Array | null;
}

export interface Kernels {
  readonly name: 'native' | 'ts';

  gemm(p: GemmParams, a: Float32Array, b: Float32Array, c: Float32Array): void;

  /** y[N, O, OH, OW] = conv(x[N, C, H, W], w[O, C/groups, KH, KW]) + bias[O] (bias may be null). */
  conv2d(
    g: Conv2dGeometry,
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
  ): void;
  /**
   * Inference: y = pool(act(conv2d(x, w) + bias)), the same values as conv2d, the activation
   * kernel and maxPool2d / avgPool2d in turn (no argmax: there is no backward). y is
   * [N, O, PH, PW] with a pool, [N, O, OH, OW] without.
   */
  conv2dFused(
    g: Conv2dGeometry,
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    e: ConvEpilogue,
    y: Float32Array,
  ): void;
  /**
   * The input layout conv2dFused reads best for g (a fused layer feeding it writes that one).
   * Absent: NCHW.
   */
  conv2dFusedInputLayout?(g: Conv2dGeometry): TensorLayout;
  /** dx[N, C, H, W] from dy[N, O, OH, OW] and w. */
  conv2dBackwardInput(g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  /** dw[O, C/groups, KH, KW] and, when given, dbias[O] = sum of dy over N, OH, OW. */
  conv2dBackwardWeight(
    g: Conv2dGeometry,
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    dbias: Float32Array | null,
  ): void;

  /**
   * y[N, C, OH, OW] = max over each window; padding never wins (acts as -Infinity).
   * argmax[N, C, OH, OW] = index of the winner inside its input plane (h * inWidth + w), as
   * PyTorch's return_indices.
   */
  maxPool2d(g: Pool2dGeometry, x: Float32Array, y: Float32Array, argmax: Int32Array): void;
  /** dx (overwritten, zeroed first) receives dy at each argmax; overlapping windows add up. */
  maxPool2dBackward(
    g: Pool2dGeometry,
    dy: Float32Array,
    argmax: Int32Array,
    dx: Float32Array,
  ): void;
  avgPool2d(g: Pool2dGeometry, x: Float32Array, y: Float32Array): void;
  avgPool2dBackward(g: Pool2dGeometry, dy: Float32Array, dx: Float32Array): void;

  // Elementwise: y may be the same array as x (in place). Backward rules take the forward
  // input (relu, leakyRelu) or the forward output (sigmoid, tanh), whichever is cheaper.
  relu(x: Float32Array, y: Float32Array): void;
  reluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  leakyRelu(x: Float32Array, y: Float32Array, slope: number): void;
  leakyReluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, slope: number): void;
  sigmoid(x: Float32Array, y: Float32Array): void;
  sigmoidBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  tanh(x: Float32Array, y: Float32Array): void;
  tanhBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): void;

  /** y = x + bias broadcast along the channel axis (y may be x). */
  biasAdd(g: BiasGeometry, x: Float32Array, bias: Float32Array, y: Float32Array): void;
  /** dbias[c] = sum of dy over outer and inner. */
  biasAddBackward(g: BiasGeometry, dy: Float32Array, dbias: Float32Array): void;

  /** Row-wise softmax, numerically stable (the row max is subtracted first). */
  softmax(g: RowsGeometry, x: Float32Array, y: Float32Array): void;
  /** dx = y * (dy - sum(dy * y)) per row, from the forward output y. */
  softmaxBackward(g: RowsGeometry, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** Row-wise log-softmax: x - max - log(sum(exp(x - max))). */
  logSoftmax(g: RowsGeometry, x: Float32Array, y: Float32Array): void;
  /** dx = dy - exp(y) * sum(dy) per row, from the forward output y. */
  logSoftmaxBackward(g: RowsGeometry, y: Float32Array, dy: Float32Array, dx: Float32Array): void;

  // Batch normalization (PyTorch's batch_norm) over each channel's M = outer * inner values.
  // gamma / beta may be null (scale 1, shift 0). y may be x; dx may be dy.
  /**
   * Training: y = (x - mean) * invStd * gamma + beta with the batch mean and biased variance
   * (M >= 1); mean and invStd = 1 / sqrt(var + eps) are written out for the backward pass. When
   * given, runningMean / runningVar are updated in place:
   * running = (1 - momentum) * running + momentum * stat, with the unbiased variance (M > 1; it is
   * NaN for M = 1, as 0 / 0).
   */
  batchNormTraining(
    g: ChannelGeometry,
    x: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    y: Float32Array,
    mean: Float32Array,
    invStd: Float32Array,
    runningMean: Float32Array | null,
    runningVar: Float32Array | null,
    eps: number,
    momentum: number,
    epilogue?: BatchNormEpilogue,
  ): void;
  /** Evaluation: y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta. */
  batchNormInference(
    g: ChannelGeometry,
    x: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    runningMean: Float32Array,
    runningVar: Float32Array,
    y: Float32Array,
    eps: number,
  ): void;
  /**
   * Gradients from the forward input x and the statistics it was normalized with (mean and
   * invStd: batchNormTraining's outputs when `training`, else the running mean and
   * 1 / sqrt(runningVar + eps)). With xhat = (x - mean) * invStd, each output may be null:
   *   dbeta = sum dy, dgamma = sum dy * xhat,
   *   dx = gamma * invStd * (dy - dbeta / M - xhat * dgamma / M)  (training; the statistics
   *   depend on x too), or gamma * invStd * dy (not training).
   */
  batchNormBackward(
    g: ChannelGeometry,
    x: Float32Array,
    dy: Float32Array,
    mean: Float32Array,
    invStd: Float32Array,
    gamma: Float32Array | null,
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    training: boolean,
    epilogue?: BatchNormBackwardEpilogue,
  ): void;

  /** y[r] = mean of row r of x [rows, cols] (global average pooling: rows = N*C, cols = H*W >= 1). */
  globalAvgPool(g: RowsGeometry, x: Float32Array, y: Float32Array): void;
  /** dx[r, :] = dy[r] / cols (overwritten). */
  globalAvgPoolBackward(g: RowsGeometry, dy: Float32Array, dx: Float32Array): void;

  /** out = a + b, elementwise (out may be a or b): the residual add. */
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** y += alpha * x, elementwise (BLAS saxpy): gradient accumulation. */
  axpy(x: Float32Array, y: Float32Array, alpha: number): void;

  /**
   * One Adam step over a parameter tensor, in place: with d = sign * g + l2 * w,
   * m = beta1 * m + (1 - beta1) * d, v = beta2 * v + (1 - beta2) * d^2,
   * vMax = max(vMax, v) (amsgrad, when vMax is given),
   * w = w * decay - stepSize * m / (sqrt(vMax or v) / bias2Sqrt + eps).
   */
  adamUpdate(
    p: AdamStep,
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vMax: Float32Array | null,
  ): void;
}
