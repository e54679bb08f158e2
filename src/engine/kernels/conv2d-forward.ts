/**
 * FusedConv2D (convolution + bias + relu) and Conv2D for the wasm backend, where it measures faster than
 * the stock kernel (XNNPACK), and the implicit-GEMM convolution the stride-1 input gradient
 * (conv2d-backprop-input.ts) shares.
 *
 * What was slow: XNNPACK's convolution runs at 14-31 GFLOP/s on the shapes of small conv nets
 * (3 input or 6 output channels worst), and its wasm build has no fused multiply-add.
 *
 * Why this is right: with x zero-padded explicitly (padSpatial), output pixel m = (n, oh, ow)
 * reads its window at base[m] + kh*rowBytes + 4j (j < fw*Cin: one filter row's taps (kw, ci) are
 * contiguous in NHWC), and the filter [fh, fw, Cin, Cout] is the [K, Cout] right operand, so
 *   y[m, co] = bias[co] + sum_k x[base[m] + off(k)] * w[k, co]
 * is one matrix product computed in place by assembly/conv-forward.ts, the definition the cpu
 * backend loops over (in another summation order: bias first, then the taps in order).
 */
import { type HeapLoops, loopsOf } from './heap-loops';
import { runStock } from './stock-kernels';
import { winogradConv, winogradTileFor } from './winograd-conv';
import { strideTwoWinogradConv, strideTwoWinogradFits } from './winograd-s2';
import {
  ptr,
  type TensorInfo,
  type Tf,
  type tfTypes,
  type WasmBackendInternals,
  type WasmKernel,
  wasmKernel,
} from './wasm-internals';

type ConvInfo = tfTypes.backend_util.Conv2DInfo;
type ConvForward = HeapLoops['convForward4x2'];

/** x (NHWC) zero-padded by [top, bottom] rows and [left, right] columns; x itself (not a new tensor) when all are 0. */
export function padSpatial(backend: WasmBackendInternals, x: TensorInfo, pads: number[]): TensorInfo {
  const [top, bottom, left, right] = pads;
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  const [n, h, w, c] = x.shape;
  const y = backend.makeOutput([n, top + h + bottom, left + w + right, c], 'float32');
  loopsOf(backend).padNhwc(ptr(backend, x), ptr(backend, y), n, h, w, c, top, bottom, left, right);
  return y;
}

/** The tile for Cout >= 4 output channels: 4, one full-width tile up to 8, else 4x8 tiles. */
export function tileFor(loops: HeapLoops, cout: number): ConvForward {
  if (cout === 4) return loops.convForward4x1;
  return cout <= 8 ? loops.convForwardW2 : loops.convForward4x2;
}

/** What an implicit-GEMM convolution needs besides its operands. */
export interface ImplicitConv {
  /** Input padding [top, bottom, left, right]; all >= 0. */
  pads: number[];
  strides: [number, number];
  filterHeight: number;
  filterWidth: number;
  outShape: [number, number, number, number];
  relu: boolean;
}

/** y = conv(x, w) (+ bias) (then relu), NHWC, dilation 1; needs OH*OW >= 4 and Cout >= 4. */
export function implicitConv(
  backend: WasmBackendInternals,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | undefined,
  c: ImplicitConv,
): TensorInfo {
  // Winograd where it measured faster (winogradTileFor): 3x3 stride 1 from 8 channels to 8, e.g. F(2x2, 3x3) on
  // [32,16,16,32] 32 -> 32 2.18 against 3.33 ms, 64 -> 64 7.4 against 13.0 (interleaved calls, relaxed SIMD,
  // batch 32, load 7-9); 3x3 stride 2 by phases (winograd-s2.ts). Every choice here is per image, never per batch:
  // an image's bits must not depend on the batch it comes in (1 worker's whole batch against 2 workers' halves,
  // or predict against serve).
  const [, oh, ow, cout] = c.outShape;
  const threeByThree = c.filterHeight === 3 && c.filterWidth === 3 && c.strides[0] === 1 && c.strides[1] === 1;
  const tile = threeByThree ? winogradTileFor(oh, ow, x.shape[3], cout) : 0;
  const pad = (t: TensorInfo, p: number[]) => padSpatial(backend, t, p);
  if (tile !== 0) return winogradConv(backend, tile, x, w, bias, c.pads, c.outShape, c.relu, pad);
  if (strideTwoWinogradFits(c.filterHeight, c.filterWidth, c.strides, x.shape[3], cout, oh, ow))
    return strideTwoWinogradConv(backend, x, w, bias, c.pads, c.outShape, c.relu, pad);
  return directConv(backend, x, w, bias, c);
}

/** implicitConv without Winograd: the implicit GEMM over output pixels (assembly/conv-forward.ts). */
export function directConv(
  backend: WasmBackendInternals,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | undefined,
  c: ImplicitConv,
): TensorInfo {
  const [n, oh, ow, cout] = c.outShape;
  const m = n * oh * ow;
  if (cout < 4 || oh * ow < 4) throw new Error(`implicitConv: needs 4+ output channels and pixels, got ${c.outShape}`);
  const xp = padSpatial(backend, x, c.pads);
  const [, hp, wp, cin] = xp.shape;
  const base = backend.makeOutput([m], 'int32');
  const y = backend.makeOutput(c.outShape, 'float32');
  const loops = loopsOf(backend);
  loops.convBaseTable(ptr(backend, base), n, oh, ow, hp, wp, cin, c.strides[0], c.strides[1]);
  tileFor(loops, cout)(
    ptr(backend, xp),
    ptr(backend, w),
    bias ? ptr(backend, bias) : 0,
    ptr(backend, y),
    ptr(backend, base),
    m,
    cout,
    c.filterHeight,
    c.filterWidth * cin,
    wp * cin * 4,
    c.relu ? 1 : 0,
    0,
  );
  backend.disposeData(base.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  return y;
}

/**
 * Ours runs every forward convolution it can (NHWC float32, dilation 1, linear or relu, Cout >= 4,
 * >= 4 pixels). Measured against XNNPACK (interleaved calls, best CPU time, batch 32, relaxed SIMD,
 * load 5-6): faster on every family shape, e.g. [32,32,32,3]x[5,5,3,6] 0.77 against 1.21 ms,
 * [32,16,16,32]x[3,3,32,32] 'same' 3.6 against 5.5 ms, [32,32,32,3]x[3,3,3,16] 'same' 1.30 against 1.58.
 */
/** Every window inside the padded input (not so for some explicit paddings rounded up by dimRoundingMode 'ceil'). */
function windowsInside(info: ConvInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return (
    (info.outHeight - 1) * info.strideHeight + info.filterHeight <= info.inHeight + top + bottom &&
    (info.outWidth - 1) * info.strideWidth + info.filterWidth <= info.inWidth + left + right
  );
}

type ConvInputs = { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };

/** Whether the implicit-GEMM convolution runs this call (else the stock kernel). */
function oursRuns(inputs: ConvInputs, info: ConvInfo, activation: string): boolean {
  const { x, filter, bias } = inputs;
  return (
    info.dataFormat === 'channelsLast' &&
    [x, filter, ...(bias ? [bias] : [])].every((t) => t.dtype === 'float32') &&
    (activation === 'linear' || activation === 'relu') &&
    !inputs.preluActivationWeights &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    (!bias || bias.shape.reduce((p, q) => p * q, 1) === info.outChannels) &&
    info.outChannels >= 4 &&
    info.outHeight * info.outWidth >= 4 &&
    windowsInside(info)
  );
}

/**
 * FusedConv2D (what the direct step runs) or Conv2D (what tfjs autograd runs for a layer with
 * an activation, followed by Add and Relu): the same sums, so both give the same bits.
 */
export function makeConv2DKernel(tf: Tf, name: 'FusedConv2D' | 'Conv2D'): WasmKernel {
  return wasmKernel<ConvInputs>(name, (inputs, backend, attrs) => {
    const a = attrs as unknown as tfTypes.FusedConv2DAttrs;
    const info = tf.backend_util.computeConv2DInfo(
      inputs.x.shape as [number, number, number, number],
      inputs.filter.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      false,
      tf.backend_util.convertConv2DDataFormat(a.dataFormat),
    );
    const activation = a.activation ?? 'linear';
    if (!oursRuns(inputs, info, activation))
      return runStock(name, inputs as Record<string, TensorInfo>, backend, attrs);
    const { top, bottom, left, right } = info.padInfo;
    return implicitConv(backend, inputs.x, inputs.filter, inputs.bias, {
      pads: [top, bottom, left, right],
      strides: [info.strideHeight, info.strideWidth],
      filterHeight: info.filterHeight,
      filterWidth: info.filterWidth,
      outShape: info.outShape,
      relu: activation === 'relu',
    });
  });
}
