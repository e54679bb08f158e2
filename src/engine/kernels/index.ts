/**
 * Registers our fixed/added kernels for the tfjs `wasm` backend. Idempotent: a kernel already
 * registered under a name (stock or ours from an earlier call) is unregistered first.
 * Call after `tf.setBackend('wasm')` + `tf.ready()` (the stock kernels we build on must be
 * registered, which importing @tensorflow/tfjs-backend-wasm does).
 */
import { makeActivationKernel } from './activation-map';
import { makeAdamUpdateKernel } from './adam-update';
import { makeAddKernel } from './add';
import { makeAvgPoolGradKernel } from './avg-pool-grad';
import { makeBatchMatMulKernel } from './batch-mat-mul';
import { makeBatchNormKernel } from './batch-norm';
import { makeCastKernel } from './cast';
import { makeDepthwiseBackpropFilterKernel, makeDepthwiseBackpropInputKernel } from './depthwise-backprop';
import { makeConv2DBackpropFilterKernel } from './conv2d-backprop-filter';
import { makeConv2DBackpropInputKernel } from './conv2d-backprop-input';
import { makeConv2DKernel } from './conv2d-forward';
import { kernelBuild } from './heap-loops';
import { makeIdentityKernel } from './identity';
import { makeMaxPoolGradKernel } from './max-pool-grad';
import { makeMeanKernel } from './mean';
import { makeMultiplyKernel } from './multiply';
import { nativeStatus } from './native';
import { makeOptimizerUpdateKernel } from './optimizer-update';
import { captureStock, isOurs, markOurs, stockKernel } from './stock-kernels';
import { makeSubKernel } from './subtract';
import { makeSumKernel } from './sum';
import type { Tf, WasmKernel } from './wasm-internals';

/** Stock wasm kernels our kernels call into; captured before any replacement. */
const STOCK_USED = [
  'BatchMatMul',
  'Conv2D',
  'Conv2DBackpropInput',
  'PadV2',
  'Transpose',
  'Sum',
  'Mean',
  'Add',
  'Multiply',
  'Identity',
  'Cast',
];

/** What we register, and why (each file's header says more). */
export const WASM_KERNEL_FIXES: ReadonlyArray<{ kernelName: string; why: string; make: (tf: Tf) => WasmKernel }> = [
  {
    kernelName: 'Conv2DBackpropFilter',
    why: 'missing in tfjs-backend-wasm 4.22 (conv2d gradients threw); implicit GEMM in wasm SIMD',
    make: makeConv2DBackpropFilterKernel,
  },
  {
    kernelName: 'FusedConv2D',
    why: 'speed: XNNPACK runs small conv nets at 14-31 GFLOP/s; now an implicit GEMM in wasm SIMD (fused multiply-add where relaxed SIMD validates)',
    make: (tf) => makeConv2DKernel(tf, 'FusedConv2D'),
  },
  {
    kernelName: 'Conv2D',
    why: 'same sums as FusedConv2D, so tfjs autograd (Conv2D, Add, Relu) and the direct step (FusedConv2D) agree to the bit',
    make: (tf) => makeConv2DKernel(tf, 'Conv2D'),
  },
  {
    kernelName: 'Conv2DBackpropInput',
    why: 'speed: stock kernel is a scalar loop; stride 1 now runs as an XNNPACK convolution, other strides as wasm GEMM + col2im',
    make: makeConv2DBackpropInputKernel,
  },
  {
    kernelName: 'BatchMatMul',
    why: 'speed: stock kernel leaves XNNPACK for transposed operands (every dense gradient), and XNNPACK re-packs new weights every step; now a wasm SIMD GEMM reading operands in place',
    make: () => makeBatchMatMulKernel(),
  },
  {
    kernelName: 'Sum',
    why: 'speed: reducing leading axes (bias gradients) no longer transposes the tensor first',
    make: makeSumKernel,
  },
  {
    kernelName: 'Mean',
    why: 'speed: reducing leading axes (batch-normalization statistics) no longer transposes the tensor first',
    make: makeMeanKernel,
  },
  {
    kernelName: 'Add',
    why: 'speed: bias add [..., C] + [C] no longer takes the generic broadcast path',
    make: () => makeAddKernel(),
  },
  {
    kernelName: 'Multiply',
    why: 'speed: a per-channel scale [..., C] * [C] no longer takes the generic broadcast path',
    make: () => makeMultiplyKernel(),
  },
  {
    kernelName: 'Sub',
    why: 'speed: centring [..., C] by a per-channel mean (batch normalization) no longer takes the generic broadcast path',
    make: () => makeSubKernel(),
  },
  {
    kernelName: 'Tanh',
    why: 'speed: stock kernel calls libm per element; now a SIMD polynomial (Cephes tanhf)',
    make: () => makeActivationKernel('Tanh', 'tanhMap'),
  },
  {
    kernelName: 'Sigmoid',
    why: 'speed: stock kernel calls libm per element; now a SIMD polynomial (Cephes expf)',
    make: () => makeActivationKernel('Sigmoid', 'sigmoidMap'),
  },
  {
    kernelName: 'AvgPoolGrad',
    why: 'speed: stock kernel divides per input cell and tap; now window sums scattered 4 channels at a time',
    make: makeAvgPoolGradKernel,
  },
  {
    kernelName: 'FusedBatchNorm',
    why: 'speed: per-channel factors computed once, then one SIMD pass (stock divides by a square root per element)',
    make: () => makeBatchNormKernel(),
  },
  {
    kernelName: 'Identity',
    why: 'speed: stock kernel copies; the engine clones every tensor it saves for backprop',
    make: () => makeIdentityKernel(),
  },
  {
    kernelName: 'Cast',
    why: 'stock cast to bool stores the value modulo 256 (0.5 -> false, 256 -> false, -7 -> 249) instead of x != 0; same-dtype casts copied',
    make: () => makeCastKernel(),
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    why: 'missing in tfjs-backend-wasm 4.22 (depthwise and separable conv gradients threw); one wasm pass on the heap',
    make: makeDepthwiseBackpropFilterKernel,
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    why: 'missing in tfjs-backend-wasm 4.22 (depthwise and separable conv gradients threw); one wasm pass on the heap',
    make: makeDepthwiseBackpropInputKernel,
  },
  {
    kernelName: 'PipelineAdamUpdate',
    why: 'new: one fused Adam step per variable, used by createAdam() (bit-identical to tf.train.adam)',
    make: () => makeAdamUpdateKernel(),
  },
  {
    kernelName: 'PipelineOptimizerUpdate',
    why: 'new: one fused SGD, Momentum, RMSProp, Adagrad, Adadelta or Adamax step per variable, used by fuse() (bit-identical to the stock optimizers)',
    make: () => makeOptimizerUpdateKernel(),
  },
  {
    kernelName: 'MaxPoolGrad',
    why: 'stock kernel drops or misroutes the gradient of windows whose max is <= 0 (max search starts at FLT_MIN), and sends ties to the last max',
    make: makeMaxPoolGradKernel,
  },
];

export function registerWasmKernels(tf: Tf): string[] {
  for (const name of STOCK_USED) captureStock(tf, name);
  for (const fix of WASM_KERNEL_FIXES) captureStock(tf, fix.kernelName);
  const registered: string[] = [];
  for (const fix of WASM_KERNEL_FIXES) {
    const kernel = fix.make(tf);
    markOurs(kernel.kernelFunc);
    if (tf.getKernel(kernel.kernelName, 'wasm')) tf.unregisterKernel(kernel.kernelName, 'wasm');
    tf.registerKernel({ kernelName: kernel.kernelName, backendName: 'wasm', kernelFunc: kernel.kernelFunc });
    registered.push(kernel.kernelName);
  }
  return registered;
}

/** Undoes registerWasmKernels: every kernel name we replaced gets the captured stock kernel back (or none). */
export function restoreStockKernels(tf: Tf): void {
  for (const fix of WASM_KERNEL_FIXES) {
    const config = tf.getKernel(fix.kernelName, 'wasm');
    if (!config || !isOurs(config.kernelFunc)) continue;
    tf.unregisterKernel(fix.kernelName, 'wasm');
    const stock = stockKernel(fix.kernelName);
    if (stock) tf.registerKernel({ kernelName: fix.kernelName, backendName: 'wasm', kernelFunc: stock });
  }
}

/**
 * Which builds of the loops run in this process, for the log (the two wasm builds' bits differ in the last places;
 * the native loops give the relaxed build's): e.g. 'relaxed-simd wasm, native avx2' or
 * 'simd wasm, native off (the simd wasm build runs)'.
 */
export function kernelsInUse(): string {
  const build = kernelBuild();
  return `${build} wasm, ${nativeStatus(build)}`;
}
