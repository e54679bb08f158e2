/**
 * Stride-1 3x3 convolutions by Winograd F(2x2, 3x3) (assembly/winograd.ts): 2.25x fewer
 * multiply-adds than the implicit GEMM, paid for with three memory-bound transform passes and
 * buffers 4x the input and the output. Same result up to rounding (the transforms add and halve
 * in float32); the cpu gradient checks hold it to the same tolerance as every kernel.
 */
import { gemmFor, loopsOf } from './heap-loops';
import type { TensorInfo, WasmBackendInternals } from './wasm-internals';
import { ptr } from './wasm-internals';

/** y = conv3x3(x, w, stride 1, pads [top, bottom, left, right]) (+ bias) (then relu); needs Cin, Cout >= 4. */
export function winogradConv(
  backend: WasmBackendInternals,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | undefined,
  pads: number[],
  outShape: [number, number, number, number],
  relu: boolean,
  pad: (x: TensorInfo, pads: number[]) => TensorInfo,
): TensorInfo {
  const [n, oh, ow, cout] = outShape;
  const cin = x.shape[3];
  const [th, tw] = [Math.ceil(oh / 2), Math.ceil(ow / 2)];
  // Odd output sizes: one more zero row / column so that every tile's 4x4 window is inside.
  const xp = pad(x, [pads[0], pads[1] + (oh & 1), pads[2], pads[3] + (ow & 1)]);
  const t = n * th * tw;
  const [vPlane, mPlane] = [planeBytes(t * cin), planeBytes(t * cout)];
  const v = backend.makeOutput([(16 * vPlane) / 4], 'float32');
  const u = backend.makeOutput([16, cin, cout], 'float32');
  const m = backend.makeOutput([(16 * mPlane) / 4], 'float32');
  const y = backend.makeOutput(outShape, 'float32');
  const loops = loopsOf(backend);
  const [vp, up, mp] = [ptr(backend, v), ptr(backend, u), ptr(backend, m)];
  loops.winogradInput(ptr(backend, xp), vp, vPlane, n, xp.shape[1], xp.shape[2], cin, th, tw);
  loops.winogradFilter(ptr(backend, w), up, cin, cout);
  const gemm = gemmFor(loops, cout);
  for (let xi = 0; xi < 16; xi++) {
    gemm(vp + xi * vPlane, cin * 4, 4, up + xi * cin * cout * 4, cout * 4, mp + xi * mPlane, t, cout, cin);
  }
  const biasAt = bias ? ptr(backend, bias) : 0;
  loops.winogradOutput(mp, mPlane, ptr(backend, y), biasAt, n, oh, ow, cout, th, tw, relu ? 1 : 0);
  for (const tmp of [v, u, m]) backend.disposeData(tmp.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  return y;
}

/** Planes a multiple of 4 KiB plus 64 bytes apart (bytes), for `floats` floats each: 16 streams in 16 cache sets, not one. */
export function planeBytes(floats: number): number {
  return (Math.ceil(floats / 1024) * 1024 + 16) * 4;
}

/**
 * The filter gradient of the same stride-1 3x3 convolution (x [N, H, W, Cin], dy [N, OH, OW, Cout]):
 * dw = Gᵀ [Σ over tiles of V ⊙ (A dy Aᵀ)] G, the sum a matrix product over the tiles per ξ.
 */
export function winogradFilterGradient(
  backend: WasmBackendInternals,
  x: TensorInfo,
  dy: TensorInfo,
  pads: number[],
  filterShape: [number, number, number, number],
  pad: (x: TensorInfo, pads: number[]) => TensorInfo,
): TensorInfo {
  const [n, oh, ow, cout] = dy.shape;
  const cin = x.shape[3];
  const [th, tw] = [Math.ceil(oh / 2), Math.ceil(ow / 2)];
  const xp = pad(x, [pads[0], pads[1] + (oh & 1), pads[2], pads[3] + (ow & 1)]);
  const dyp = pad(dy, [0, oh & 1, 0, ow & 1]);
  const t = n * th * tw;
  const [vPlane, ePlane] = [planeBytes(t * cin), planeBytes(t * cout)];
  const v = backend.makeOutput([(16 * vPlane) / 4], 'float32');
  const e = backend.makeOutput([(16 * ePlane) / 4], 'float32');
  const du = backend.makeOutput([16, cin, cout], 'float32');
  const dw = backend.makeOutput(filterShape, 'float32');
  const loops = loopsOf(backend);
  const [vp, ep, dup] = [ptr(backend, v), ptr(backend, e), ptr(backend, du)];
  loops.winogradInput(ptr(backend, xp), vp, vPlane, n, xp.shape[1], xp.shape[2], cin, th, tw);
  loops.winogradGradInput(ptr(backend, dyp), ep, ePlane, n, dyp.shape[1], dyp.shape[2], cout, th, tw);
  // dU[ξ] [Cin, Cout] = V[ξ]ᵀ · E[ξ], a sum over the tiles: as the register-tiled GEMM (A(ci, t) at V[ξ] + 4ci +
  // t*Cin*4), or as the cache-blocked conv filter-gradient kernel (one filter row of Cin taps, base[t] = t*Cin*4),
  // which measured faster from Cin*Cout = 2048 (interleaved calls, batch 32, load 7: [32,16,16,32] 32 -> 64
  // 5.5 against 7.3 ms, 64 -> 64 10.2 against 12.2; 32 -> 32 equal, 8 -> 32 0.83 against 0.72). Same sums, in order.
  if (cin * cout < 2048) {
    const gemm = gemmFor(loops, cout);
    for (let xi = 0; xi < 16; xi++) {
      gemm(vp + xi * vPlane, 4, cin * 4, ep + xi * ePlane, cout * 4, dup + xi * cin * cout * 4, cin, cout, t);
    }
  } else {
    const table = backend.makeOutput([t], 'int32');
    const scratch = backend.makeOutput([loops.convFilterGradScratch(cout, 1, cin) >> 2], 'float32');
    const [tp, sp] = [ptr(backend, table), ptr(backend, scratch)];
    loops.convBaseTable(tp, 1, 1, t, 1, t, cin, 1, 1);
    for (let xi = 0; xi < 16; xi++) {
      const [vx, ex, dux] = [vp + xi * vPlane, ep + xi * ePlane, dup + xi * cin * cout * 4];
      loops.convFilterGradBlocked(vx, ex, dux, tp, sp, t, cout, 1, cin, 0);
    }
    backend.disposeData(table.dataId);
    backend.disposeData(scratch.dataId);
  }
  loops.winogradFilterGrad(dup, ptr(backend, dw), cin, cout);
  for (const tmp of [v, e, du]) backend.disposeData(tmp.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  if (dyp !== dy) backend.disposeData(dyp.dataId);
  return dw;
}
