/**
 * Conv2DBackpropInput for the wasm backend (speed, same results).
 *
 * What was slow: the stock kernel (src/cc/kernels/Conv2DBackpropInput.cc) is a scalar loop
 * nest, ~10x slower than the XNNPACK forward convolution of the same size.
 *
 * Why this is right: with stride 1, the input gradient is a "full" convolution of dy with
 * the filter rotated by 180 degrees and its in/out channels swapped:
 *   dx[n,h,w,ci] = sum_{i,j,co} dy[n, h+pt-i, w+pl-j, co] * W[i,j,ci,co]
 *                = sum_{i',j',co} dyPadded[n, h+i', w+j', co] * W'[i',j',co,ci]
 * with W'[i',j',co,ci] = W[kh-1-i', kw-1-j', ci, co] and dy zero-padded by
 * (kh-1-pt, kh-1-pb) rows and (kw-1-pl, kw-1-pr) columns, which gives exactly H x W outputs.
 * From 8 input channels our implicit-GEMM convolution (conv2d-forward.ts) computes it, below
 * that the stock Conv2D kernel (XNNPACK), with explicit padding.
 *
 * Strides > 1 into 4+ channels: by output phase, stride-1 convolutions of sub-filters written straight
 * into dx (phase-input-grad.ts), where every phase has a tap and 4+ pixels an image. Measured against
 * GEMM + col2im (interleaved calls, best CPU time of 100 each, relaxed SIMD, batch 32, load 3.0):
 * [32,32,32,16] 3x3 s2 'same' 16 <- 32 1.86 against 2.16 ms, [32,16,16,32] 32 <- 64 1.69 against 1.73,
 * [32,16,16,6] 6 <- 16 0.167 against 0.175, [32,16,16,4] 0.137 against 0.145, [32,31,31,16] 5x5 s2
 * 'valid' 4.38 against 5.34.
 *
 * Other strides > 1 (or paddings larger than the filter, or at stride 1 where that measured faster:
 * at least 16 output channels, more than the input's or at least 64): per output pixel m, the patch gradient
 * dP[m, (kh,kw,ci)] = sum_co dy[m, co] * W[kh,kw,ci,co] is one matrix product
 * dP = dy[M, Cout] · Wᵀ[Cout, K] (wasm SIMD GEMM, assembly/gemm.ts), and dx is the sum of each
 * patch gradient back onto the input positions it was read from (col2im, assembly/im2col.ts),
 * i.e. the transpose of the forward im2col, which is what the input gradient is.
 * NCHW and shapes below one GEMM tile keep the stock kernel.
 */
import { implicitConv, padSpatial } from './conv2d-forward';
import { gemmFor, loopsOf } from './heap-loops';
import { phaseInputGradient, phasesOf } from './phase-input-grad';
import { runStock } from './stock-kernels';
import { strideTwoWinogradInputFits, strideTwoWinogradInputGradient } from './winograd-s2';
import {
  f32,
  ptr,
  type TensorInfo,
  type Tf,
  type tfTypes,
  type WasmBackendInternals,
  type WasmKernel,
  wasmKernel,
  windowArgs,
  withShape,
} from './wasm-internals';

type ConvInfo = tfTypes.backend_util.Conv2DInfo;

export function makeConv2DBackpropInputKernel(tf: Tf): WasmKernel {
  return wasmKernel<{ dy: TensorInfo; filter: TensorInfo }>('Conv2DBackpropInput', (inputs, backend, attrs) => {
    const { dy, filter } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
      attrs as unknown as tfTypes.Conv2DBackpropInputAttrs;
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      tf.backend_util.convertConv2DDataFormat(dataFormat),
    );
    const { filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout } = info;
    const pads = [
      kh - 1 - info.padInfo.top,
      kh - 1 - info.padInfo.bottom,
      kw - 1 - info.padInfo.left,
      kw - 1 - info.padInfo.right,
    ];
    const floats = dy.dtype === 'float32' && filter.dtype === 'float32' && info.dataFormat === 'channelsLast';
    const stride1 = info.strideHeight === 1 && info.strideWidth === 1 && pads.every((p) => p >= 0);
    // Stride 1 also takes the GEMM when XNNPACK's convolution would produce few channels from many
    // (measured: [32,13,13,16] -> 6 channels 0.65 -> 0.50 ms, 5x5 16 -> 6 1.40 -> 0.79 ms, 64 -> 64
    // 20.1 -> 18.1 ms; from 6 channels, or 32 -> 32, XNNPACK stays faster).
    // The implicit-GEMM convolution below (with Winograd for 3x3) beats both from 8 input channels
    // (measured, relaxed SIMD, batch 32: [32,16,16,32] 3x3 32 -> 32 3.4 ms against GEMM 4.7 and XNNPACK 5.3;
    // 64 -> 32 6.4 against 7.4; 32 -> 8 0.89 against 1.06), and from 4 where the padded border it multiplies
    // by zero is small: dx at most 1.5x dy's pixels ([32,13,13,16] -> [32,15,15,6] 3x3 0.39 against GEMM
    // 0.45, [32,24,24,16] -> [32,28,28,6] 5x5 3.5 against 4.5; [32,10,10,16] -> [32,14,14,6] 5x5, 1.96x the
    // pixels: 0.86 against GEMM 0.70).
    // Per image, never per batch (see conv2d-forward.ts): an image's dx must not depend on its batch.
    const [dxPixels, dyPixels] = [info.inHeight * info.inWidth, info.outHeight * info.outWidth];
    const implicit = cin >= 4 && dxPixels >= 4 && (cin >= 8 || dxPixels <= 1.5 * dyPixels);
    const gemmWins = !implicit && cout >= 16 && (cout > cin || cout >= 64);
    if (floats && strideTwoWinogradInputFits(info))
      return strideTwoWinogradInputGradient(backend, dy, filter, info, (t, p) => padSpatial(backend, t, p));
    if (floats && info.strideHeight * info.strideWidth > 1 && cin >= 4 && phasesOf(info))
      return phaseInputGradient(backend, dy, filter, info);
    if (floats && (!stride1 || gemmWins) && dyPixels >= 4 && kh * kw * cin >= 4)
      return gemmCol2im(backend, dy, filter, info);
    if (!floats || !stride1) return runStock('Conv2DBackpropInput', { dy, filter }, backend, attrs);

    const rotated = rotatedFilter(backend, filter);
    const dx = implicit
      ? implicitConv(backend, dy, rotated, undefined, {
          pads,
          strides: [1, 1],
          filterHeight: kh,
          filterWidth: kw,
          outShape: info.inShape,
          relu: false,
        })
      : runStock('Conv2D', { x: dy, filter: rotated }, backend, {
          strides: 1,
          dilations: 1,
          dataFormat: 'NHWC',
          pad: [
            [0, 0],
            [pads[0], pads[1]],
            [pads[2], pads[3]],
            [0, 0],
          ],
        });
    backend.disposeData(rotated.dataId);
    return dx;
  });
}

/** W'[i', j', co, ci] = W[kh-1-i', kw-1-j', ci, co]: the filter rotated by 180 degrees, in and out channels swapped. */
function rotatedFilter(backend: WasmBackendInternals, filter: TensorInfo): TensorInfo {
  const [kh, kw, cin, cout] = filter.shape;
  const rotated = backend.makeOutput([kh, kw, cout, cin], 'float32');
  const w = f32(backend, filter);
  const r = f32(backend, rotated);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * cin * cout;
      const dst = (i * kw + j) * cout * cin;
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) r[dst + co * cin + ci] = w[src + ci * cout + co];
      }
    }
  }
  return rotated;
}

function gemmCol2im(backend: WasmBackendInternals, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout } = info;
  const K = kh * kw * cin;
  const M = info.batchSize * info.outHeight * info.outWidth;
  const wT = runStock('Transpose', { x: withShape(filter, [K, cout]) }, backend, { perm: [1, 0] });
  const patches = backend.makeOutput([M, K], 'float32');
  const dx = backend.makeOutput(info.inShape, 'float32');
  const loops = loopsOf(backend);
  const tile = gemmFor(loops, K);
  tile(ptr(backend, dy), cout * 4, 4, ptr(backend, wT), K * 4, ptr(backend, patches), M, K, cout);
  loops.col2im(ptr(backend, patches), ptr(backend, dx), ...windowArgs(info));
  backend.disposeData(wT.dataId);
  backend.disposeData(patches.dataId);
  return dx;
}
