/**
 * 3x3 convolutions with stride 2 on both axes by phases and Winograd F(2,2) (assembly/winograd-s2.ts): along
 * each axis the even taps (0 and 2) over the even inputs are a stride-1 2-tap convolution, computed with 3
 * products per 2 outputs instead of 4, and the odd tap is 2 plain products; over both axes 25 products per
 * 2x2 outputs instead of 36 (1.44x fewer multiply-adds), as 25 matrix products over the channels between SIMD
 * transforms that only add and subtract. The forward pass and the input gradient run `BLOCK` tiles at a time
 * (transform, products, inverse transform), so their transformed buffers stay in cache; the filter gradient
 * sums over every tile, so it transforms the whole batch first (as winograd-conv.ts does).
 * Same result up to rounding; the cpu gradient checks hold it to the same tolerance as every kernel.
 */
import { loopsOf, nativeRuns } from './heap-loops';
import { planeBytes } from './winograd-conv';
import type { TensorInfo, tfTypes, WasmBackendInternals } from './wasm-internals';
import { ptr } from './wasm-internals';

/**
 * Whether a convolution's filter gradient takes this path: not where the native loops run (kernels/native.ts: the
 * direct kernels' products are native there, the transforms and products here are not, and the all-conv family's
 * step at batch 16 measured 6.3-7.9 ms without this path against 7.4-7.7 with it, best of 80 steps), 3x3, stride 2
 * on both axes, 8+ channels in and out,
 * and at least 4 tiles of 2x2 outputs an image (the GEMM tiles need 4 rows; asked of each image, never of the
 * batch: an image's bits must not depend on the batch it comes in). Measured faster than the blocked implicit GEMM
 * on every family shape (bench/stride-two.ts, best CPU time of 60 alternating calls, batch 32, load 7, see
 * BENCHMARKS.md): [32,32,32,16] 16 -> 32 1.73-1.83 against 1.95-2.01 ms, 24 -> 24 1.91-2.01 against 2.17-2.24.
 */
export function strideTwoWinogradShape(
  fh: number,
  fw: number,
  strides: [number, number],
  cin: number,
  cout: number,
  oh: number,
  ow: number,
): boolean {
  return (
    !nativeRuns() &&
    fh === 3 &&
    fw === 3 &&
    strides[0] === 2 &&
    strides[1] === 2 &&
    cin >= 8 &&
    cout >= 8 &&
    Math.ceil(oh / 2) * Math.ceil(ow / 2) >= 4
  );
}

/**
 * Whether its forward pass does: the same and Cin*Cout >= 1024. Below, the transforms cost what the fewer
 * products save (same bench: [32,32,32,16] 16 -> 32 and [32,32,32,24] 24 -> 24 within noise of the direct kernel,
 * input gradient of 24 -> 24 slower, 2.16 against 2.07 ms; [32,16,16,24] 24 -> 48 and [32,16,16,32] 32 -> 64
 * 5-20% faster).
 */
export function strideTwoWinogradFits(
  fh: number,
  fw: number,
  strides: [number, number],
  cin: number,
  cout: number,
  oh: number,
  ow: number,
): boolean {
  return strideTwoWinogradShape(fh, fw, strides, cin, cout, oh, ow) && cin * cout >= 1024;
}

/** Whether its input gradient does: as the forward pass, and 4 tiles of 4x4 input pixels an image. */
export function strideTwoWinogradInputFits(info: tfTypes.backend_util.Conv2DInfo): boolean {
  const { filterHeight: fh, filterWidth: fw, inChannels: cin, outChannels: cout } = info;
  const tiles = Math.ceil((info.padInfo.top + info.inHeight) / 4) * Math.ceil((info.padInfo.left + info.inWidth) / 4);
  const strides: [number, number] = [info.strideHeight, info.strideWidth];
  return (
    info.dataFormat === 'channelsLast' &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    strideTwoWinogradFits(fh, fw, strides, cin, cout, info.outHeight, info.outWidth) &&
    tiles >= 4
  );
}

/** Tiles (2x2 outputs, or 4x4 input-gradient pixels) per block of the forward pass and input gradient. */
const BLOCK = 64;

type Pad = (x: TensorInfo, pads: number[]) => TensorInfo;

/** x zero-padded by `pads` and then at the bottom and right to at least `rows` x `cols`. */
function padTo(x: TensorInfo, pads: number[], rows: number, cols: number, pad: Pad): TensorInfo {
  const [, h, w] = x.shape;
  const bottom = pads[1] + Math.max(0, rows - (pads[0] + h + pads[1]));
  const right = pads[3] + Math.max(0, cols - (pads[2] + w + pads[3]));
  return pad(x, [pads[0], bottom, pads[2], right]);
}

/** The transformed filter U [16, Cin, Cout] (or for the input gradient, rotated: [16, Cout, Cin]). */
function transformedFilter(backend: WasmBackendInternals, w: TensorInfo, forInputGrad: boolean): TensorInfo {
  const [, , cin, cout] = w.shape;
  const u = backend.makeOutput([16, cin, cout], 'float32');
  const flag = forInputGrad ? 1 : 0;
  loopsOf(backend).s2Filter(ptr(backend, w), ptr(backend, u), cin, cout, flag, flag);
  return u;
}

/** Runs `work` with block buffers of 25 planes for `kIn` and `kOut` channels, then frees them. */
function withBlockBuffers(
  backend: WasmBackendInternals,
  kIn: number,
  kOut: number,
  work: (v: number, m: number, vPlane: number, mPlane: number) => void,
): void {
  const [vPlane, mPlane] = [planeBytes((BLOCK + 3) * kIn), planeBytes((BLOCK + 3) * kOut)];
  const v = backend.makeOutput([(25 * vPlane) / 4], 'float32');
  const m = backend.makeOutput([(25 * mPlane) / 4], 'float32');
  work(ptr(backend, v), ptr(backend, m), vPlane, mPlane);
  backend.disposeData(v.dataId);
  backend.disposeData(m.dataId);
}

/** y = conv3x3(x, w, stride 2, pads [top, bottom, left, right]) (+ bias) (then relu); Cin, Cout >= 4, 4+ tiles. */
export function strideTwoWinogradConv(
  backend: WasmBackendInternals,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | undefined,
  pads: number[],
  outShape: [number, number, number, number],
  relu: boolean,
  pad: Pad,
): TensorInfo {
  const [n, oh, ow, cout] = outShape;
  const cin = x.shape[3];
  // Tile (th, tw) reads the 5x5 window at (4th, 4tw) of the padded input.
  const xp = padTo(x, pads, 4 * Math.ceil(oh / 2) + 1, 4 * Math.ceil(ow / 2) + 1, pad);
  const u = transformedFilter(backend, w, false);
  const y = backend.makeOutput(outShape, 'float32');
  const [xpp, up, yp, bp] = [ptr(backend, xp), ptr(backend, u), ptr(backend, y), bias ? ptr(backend, bias) : 0];
  const [, hp, wp] = xp.shape;
  withBlockBuffers(backend, cin, cout, (v, m, vPlane, mPlane) =>
    loopsOf(backend).s2Forward(xpp, up, bp, yp, v, m, vPlane, mPlane, n, hp, wp, cin, oh, ow, cout, BLOCK, +relu),
  );
  backend.disposeData(u.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  return y;
}

/** dx [N, H, W, Cin] of the same convolution from dy [N, OH, OW, Cout]. */
export function strideTwoWinogradInputGradient(
  backend: WasmBackendInternals,
  dy: TensorInfo,
  filter: TensorInfo,
  info: tfTypes.backend_util.Conv2DInfo,
  pad: Pad,
): TensorInfo {
  const { inShape, padInfo } = info;
  const [padTop, padLeft] = [padInfo.top, padInfo.left];
  const [n, h, w, cin] = inShape;
  const cout = dy.shape[3];
  // Tile (th, tw): dx rows 4th - padTop .. +3 from dy rows 2th - 1 .. 2th + 1 (one zero row before dy).
  const [th, tw] = [Math.ceil((padTop + h) / 4), Math.ceil((padLeft + w) / 4)];
  const dyp = padTo(dy, [1, 0, 1, 0], 2 * th + 1, 2 * tw + 1, pad);
  const u = transformedFilter(backend, filter, true);
  const dx = backend.makeOutput(inShape, 'float32');
  const [dyPtr, up, dxp] = [ptr(backend, dyp), ptr(backend, u), ptr(backend, dx)];
  const [, hp, wp] = dyp.shape;
  withBlockBuffers(backend, cout, cin, (v, m, vPlane, mPlane) =>
    loopsOf(backend).s2InputGrad(
      dyPtr,
      up,
      dxp,
      v,
      m,
      vPlane,
      mPlane,
      n,
      hp,
      wp,
      cout,
      h,
      w,
      cin,
      padTop,
      padLeft,
      BLOCK,
    ),
  );
  backend.disposeData(u.dataId);
  if (dyp !== dy) backend.disposeData(dyp.dataId);
  return dx;
}

/** Which E plane (of 9) the point ξ = i*5 + j reads: E rows 3 and 4 repeat rows 0 and 2. */
const eOf = [0, 1, 2, 0, 2];

/** dw [3, 3, Cin, Cout] of the same convolution: dU[ξ] = V[ξ]ᵀ · E[ξ] summed over all tiles, then Gᵀ dU G. */
export function strideTwoWinogradFilterGradient(
  backend: WasmBackendInternals,
  x: TensorInfo,
  dy: TensorInfo,
  pads: number[],
  filterShape: [number, number, number, number],
  pad: Pad,
): TensorInfo {
  const [n, oh, ow, cout] = dy.shape;
  const cin = x.shape[3];
  const [th, tw] = [Math.ceil(oh / 2), Math.ceil(ow / 2)];
  const xp = padTo(x, pads, 4 * th + 1, 4 * tw + 1, pad);
  const dyp = pad(dy, [0, oh & 1, 0, ow & 1]);
  const t = n * th * tw;
  const [vPlane, ePlane] = [planeBytes(t * cin), planeBytes(t * cout)];
  const v = backend.makeOutput([(25 * vPlane) / 4], 'float32');
  const e = backend.makeOutput([(9 * ePlane) / 4], 'float32');
  const du = backend.makeOutput([25, cin, cout], 'float32');
  const dw = backend.makeOutput(filterShape, 'float32');
  const loops = loopsOf(backend);
  const [vp, ep, dup] = [ptr(backend, v), ptr(backend, e), ptr(backend, du)];
  loops.s2Input(ptr(backend, xp), vp, vPlane, 0, t, xp.shape[1], xp.shape[2], cin, th, tw);
  loops.s2GradTiles(ptr(backend, dyp), ep, ePlane, n, dyp.shape[1], dyp.shape[2], cout, th, tw);
  const ex = (xi: number) => ep + (eOf[Math.floor(xi / 5)] * 3 + eOf[xi % 5]) * ePlane;
  // dU[ξ] = V[ξ]ᵀ · E[ξ] by the cache-blocked filter-gradient kernel (one filter row of Cin taps, base[t] =
  // t*Cin*4): measured faster than the register-tiled GEMM on every family shape, 16 -> 32 channels too.
  const table = backend.makeOutput([t], 'int32');
  const scratch = backend.makeOutput([loops.convFilterGradScratch(cout, 1, cin) >> 2], 'float32');
  const [tp, sp] = [ptr(backend, table), ptr(backend, scratch)];
  loops.convBaseTable(tp, 1, 1, t, 1, t, cin, 1, 1);
  for (let xi = 0; xi < 25; xi++)
    loops.convFilterGradBlocked(vp + xi * vPlane, ex(xi), dup + xi * cin * cout * 4, tp, sp, t, cout, 1, cin, 0);
  for (const tmp of [table, scratch]) backend.disposeData(tmp.dataId);
  loops.s2FilterGrad(dup, ptr(backend, dw), cin, cout);
  for (const tmp of [v, e, du]) backend.disposeData(tmp.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  if (dyp !== dy) backend.disposeData(dyp.dataId);
  return dw;
}
