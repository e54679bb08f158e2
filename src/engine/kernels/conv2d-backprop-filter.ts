/**
 * Conv2DBackpropFilter for the wasm backend.
 *
 * What was wrong: tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter at all, so the
 * gradient of every conv2d layer threw "Kernel 'Conv2DBackpropFilter' not registered".
 *
 * Why this is right: dW[kh,kw,ci,co] = sum over n,oh,ow of
 *   x[n, oh*sh + kh - padTop, ow*sw + kw - padLeft, ci] * dy[n, oh, ow, co]
 * (out-of-bounds x read as 0), the definition the cpu backend loops over. With x zero-padded
 * explicitly (assembly/im2col.ts padNhwc) nothing is out of bounds, and the x element is at
 *   base[m] + kOff[k],  m = (n,oh,ow), k = (kh,kw,ci)
 * (base: top-left of pixel m's window, kOff: tap k inside a window), so
 *   dW[k, co] = sum_m x[base[m] + kOff[k]] * dy[m, co]
 * is a matrix product whose left operand is read in place from x (implicit GEMM, no im2col
 * buffer). The taps (kw, ci) of one filter row kh are one contiguous run of fw*Cin floats of
 * the padded input, so when that run is at least 4 floats long the product is computed by
 * assembly/conv-filter-grad.ts: taps as f32x4 vectors read straight from x, output channels
 * broadcast from dy, 4x8 register tiles, pixels in cache-sized blocks (2-2.5x the earlier loop on
 * 32-64 channel layers). Shorter runs (1x1 or 1-wide filters over 1-3 channels) and fewer than 8
 * output channels take the earlier tile loop of assembly/gemm.ts (taps broadcast through an offset
 * table). Both sum over the pixels in order in float32, so they
 * give the same bits. The [K, Cout] result is already the filter layout [kh,kw,Cin,Cout].
 *
 * Where a filter row's taps are too few for the 8-tap tiles (3x3 over 3 channels: 9 taps in 16 lanes), each
 * output row's input rows are first copied side by side (stackedRows): one run of fh*fw*Cin taps per window.
 *
 * 3x3 stride-1 convolutions from 8 channels to 8 take Winograd F(4x4, 3x3) or F(2x2, 3x3) instead
 * (winograd-conv.ts: 4x or 2.25x fewer multiply-adds, the same sum in another order).
 *
 * Small shapes the tiles cannot cover (Cout < 4 or kh*kw*Cin < 4) take the first version:
 * transposed patches written by a wasm loop (assembly/im2col.ts im2colT) times dy through the
 * stock BatchMatMul (XNNPACK). NCHW inputs are transposed to NHWC first (the wasm forward
 * Conv2D is NHWC-only anyway).
 */
import { padSpatial } from './conv2d-forward';
import { convFilterGradFor, loopsOf } from './heap-loops';
import { type WinogradTile, winogradFilterGradient, winogradTileFor } from './winograd-conv';
import { strideTwoWinogradFilterGradient, strideTwoWinogradShape } from './winograd-s2';
import { runStock } from './stock-kernels';
import {
  assertFloat32,
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

export function makeConv2DBackpropFilterKernel(tf: Tf): WasmKernel {
  return wasmKernel<{ x: TensorInfo; dy: TensorInfo }>('Conv2DBackpropFilter', (inputs, backend, attrs) => {
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
      attrs as unknown as tfTypes.Conv2DBackpropFilterAttrs;
    assertFloat32('Conv2DBackpropFilter', inputs.x, inputs.dy);
    const channelsFirst = tf.backend_util.convertConv2DDataFormat(dataFormat) === 'channelsFirst';
    const toNhwc = (t: TensorInfo) => runStock('Transpose', { x: t }, backend, { perm: [0, 2, 3, 1] });
    const x = channelsFirst ? toNhwc(inputs.x) : inputs.x;
    const dy = channelsFirst ? toNhwc(inputs.dy) : inputs.dy;

    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const K = info.filterHeight * info.filterWidth * info.inChannels;
    const dw =
      info.outChannels >= 4 && K >= 4 ? implicitGemm(backend, x, dy, info) : patchesTimesDy(backend, x, dy, info);
    if (channelsFirst) {
      backend.disposeData(x.dataId);
      backend.disposeData(dy.dataId);
    }
    return dw;
  });
}

/**
 * Winograd (winograd-conv.ts, winogradTileFor: the forward pass's choice, per image) for 3x3 stride 1. F(2x2, 3x3)
 * measured faster than the blocked implicit GEMM on every such family shape from 8 channels to 8 with 4 tiles an
 * image (interleaved calls, relaxed SIMD, batch 32, load 5-7): [32,16,16,32] 32 -> 32 3.10 against 3.93 ms,
 * 16 -> 32 1.23 against 1.65, 8 -> 32 0.64 against 0.90, [32,16,16,64] 64 -> 64 11.7 against 16.0.
 */
function winogradTile(info: ConvInfo): WinogradTile | 0 {
  const threeByThree =
    info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1;
  return threeByThree ? winogradTileFor(info.outHeight, info.outWidth, info.inChannels, info.outChannels) : 0;
}

function implicitGemm(backend: WasmBackendInternals, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { top, bottom, left, right } = info.padInfo;
  const tile = winogradTile(info);
  if (tile !== 0) {
    const pad = (t: TensorInfo, p: number[]) => padSpatial(backend, t, p);
    return winogradFilterGradient(backend, tile, x, dy, [top, bottom, left, right], info.filterShape, pad);
  }
  const strides: [number, number] = [info.strideHeight, info.strideWidth];
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  if (strideTwoWinogradShape(fh, fw, strides, ci, co, oh, ow)) {
    const pad = (t: TensorInfo, p: number[]) => padSpatial(backend, t, p);
    return strideTwoWinogradFilterGradient(backend, x, dy, [top, bottom, left, right], info.filterShape, pad);
  }
  return directFilterGradient(backend, x, dy, info);
}

/** implicitGemm without Winograd: the blocked implicit GEMM (or its stacked-rows form). */
export function directFilterGradient(
  backend: WasmBackendInternals,
  x: TensorInfo,
  dy: TensorInfo,
  info: ConvInfo,
): TensorInfo {
  if (stackFits(info)) return stackedRows(backend, x, dy, info);
  const { top, bottom, left, right } = info.padInfo;
  const xp = padSpatial(backend, x, [top, bottom, left, right]);
  const [, hp, wp, cin] = xp.shape;
  const M = info.batchSize * info.outHeight * info.outWidth;
  const K = info.filterHeight * info.filterWidth * cin;
  const cout = info.outChannels;
  const base = backend.makeOutput([M], 'int32');
  const kOff = backend.makeOutput([K], 'int32');
  const dw = backend.makeOutput(info.filterShape, 'float32');
  const loops = loopsOf(backend);
  const rowFloats = info.filterWidth * cin;
  // The blocked kernel's tiles are 4 output channels x 8 taps of a filter row. From 8 output channels it is
  // the faster; below, its 4-channel tiles overlap (6 channels: 8 computed), and it wins only where the row's
  // 8-tap tiles waste little (measured, relaxed SIMD: [32,32,32,3] 5x5 -> 6 channels, rows of 15 taps, 0.80
  // against 0.99 ms; 3x3 -> 6, rows of 9 taps in two tiles of 8, 0.57 against 0.45 for the earlier loop,
  // whose full-width tiles cover 5..16 channels exactly).
  const tapTilesTight = Math.ceil(rowFloats / 8) * 8 * 3 <= rowFloats * 4;
  const scratch =
    rowFloats >= 4 && (cout >= 8 || tapTilesTight) && M >= 1
      ? backend.makeOutput([loops.convFilterGradScratch(cout, info.filterHeight, rowFloats) >> 2], 'float32')
      : undefined;
  // Views only after the last allocation (an allocation may grow the heap).
  const kOffView = new Int32Array(backend.wasm.HEAPU8.buffer, ptr(backend, kOff), K);
  for (let kh = 0, k = 0; kh < info.filterHeight; kh++) {
    for (let kw = 0; kw < info.filterWidth; kw++) {
      for (let ci = 0; ci < cin; ci++, k++) kOffView[k] = ((kh * wp + kw) * cin + ci) * 4;
    }
  }
  loops.convBaseTable(
    ptr(backend, base),
    info.batchSize,
    info.outHeight,
    info.outWidth,
    hp,
    wp,
    cin,
    info.strideHeight,
    info.strideWidth,
  );
  if (scratch) {
    loops.convFilterGradBlocked(
      ptr(backend, xp),
      ptr(backend, dy),
      ptr(backend, dw),
      ptr(backend, base),
      ptr(backend, scratch),
      M,
      cout,
      info.filterHeight,
      rowFloats,
      wp * cin * 4,
    );
    backend.disposeData(scratch.dataId);
  } else {
    const tile = convFilterGradFor(loops, cout);
    tile(ptr(backend, xp), ptr(backend, dy), ptr(backend, dw), ptr(backend, base), ptr(backend, kOff), M, cout, K);
  }
  backend.disposeData(base.dataId);
  backend.disposeData(kOff.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  return dw;
}

function patchesTimesDy(backend: WasmBackendInternals, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const M = info.batchSize * info.outHeight * info.outWidth;
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const patchesT = backend.makeOutput([K, M], 'float32');
  loopsOf(backend).im2colT(ptr(backend, x), ptr(backend, patchesT), ...windowArgs(info));
  const dw = runStock('BatchMatMul', { a: patchesT, b: withShape(dy, [M, info.outChannels]) }, backend, {
    transposeA: false,
    transposeB: false,
  });
  backend.disposeData(patchesT.dataId);
  return withShape(dw, info.filterShape);
}

/** Lanes the blocked kernel's 8-tap tiles compute for a row of L taps. */
const lanes = (L: number) => Math.max(8, Math.ceil(L / 8) * 8);

/**
 * Rows side by side (stackRows) from 8 output channels where that cuts the lanes the blocked kernel computes
 * per useful tap by a quarter: 3-channel 3x3 inputs (rows of 9 taps in 16 lanes, stacked 27 in 32). Measured
 * (best CPU time of 100 calls, alternate runs, relaxed SIMD, batch 32, load 3.9-4.2; the same output bits):
 * [32,32,32,3] 3x3 'same' -> 16 0.886 against 1.051 ms (the stacking itself 0.16), -> 32 1.62 against 2.09;
 * -> 6 'valid' 0.47 against 0.36 for the earlier loop (4-channel tiles overlapping), so not below 8.
 */
function stackFits(info: ConvInfo): boolean {
  const L = info.filterWidth * info.inChannels;
  const whole = info.filterHeight * L;
  return info.outChannels >= 8 && info.filterHeight > 1 && lanes(whole) * L * 4 <= lanes(L) * whole * 3;
}

/**
 * The blocked kernel over x with each output row's fh input rows side by side: window taps (kw, kh, ci) are one
 * run, so dw comes out as [fw, fh, Cin, Cout] and is reordered. Same products, summed over the pixels in the
 * same order: the same bits as the row-by-row kernel.
 */
function stackedRows(backend: WasmBackendInternals, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { top, bottom, left, right } = info.padInfo;
  const { filterHeight: fh, filterWidth: fw, inChannels: cin, outChannels: cout } = info;
  const xp = padSpatial(backend, x, [top, bottom, left, right]);
  const [n, hp, wp] = xp.shape;
  const oh = info.outHeight;
  const run = fw * fh * cin;
  const loops = loopsOf(backend);
  const stacked = backend.makeOutput([n * oh * wp * fh * cin + 3], 'float32');
  const M = n * oh * info.outWidth;
  const base = backend.makeOutput([M], 'int32');
  const out = backend.makeOutput([run * cout], 'float32');
  const scratch = backend.makeOutput([loops.convFilterGradScratch(cout, 1, run) >> 2], 'float32');
  const dw = backend.makeOutput(info.filterShape, 'float32');
  loops.stackRows(ptr(backend, xp), ptr(backend, stacked), n, hp, wp, cin, fh, oh, info.strideHeight);
  loops.convBaseTable(ptr(backend, base), n, oh, info.outWidth, oh, wp, fh * cin, 1, info.strideWidth);
  loops.convFilterGradBlocked(
    ptr(backend, stacked),
    ptr(backend, dy),
    ptr(backend, out),
    ptr(backend, base),
    ptr(backend, scratch),
    M,
    cout,
    1,
    run,
    0,
  );
  const [src, dst] = [f32(backend, out), f32(backend, dw)];
  const row = cin * cout;
  for (let kw = 0; kw < fw; kw++) {
    for (let kh = 0; kh < fh; kh++)
      dst.set(src.subarray((kw * fh + kh) * row, (kw * fh + kh + 1) * row), (kh * fw + kw) * row);
  }
  for (const t of [stacked, base, out, scratch, ...(xp === x ? [] : [xp])]) backend.disposeData(t.dataId);
  return dw;
}
