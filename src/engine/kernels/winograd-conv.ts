/**
 * Stride-1 3x3 convolutions by Winograd F(2x2, 3x3) (assembly/winograd.ts) or F(4x4, 3x3)
 * (assembly/winograd4.ts): 2.25x (4x) fewer multiply-adds than the implicit GEMM, paid for with three
 * memory-bound transform passes and buffers 4x (2.25x) the input and the output. Same result up to
 * rounding (the transforms add and scale in float32; F(4x4)'s larger constants round more); the cpu
 * gradient checks hold both to the same tolerance as every kernel.
 */
import { gemmFor, type HeapLoops, loopsOf } from './heap-loops';
import type { TensorInfo, WasmBackendInternals } from './wasm-internals';
import { ptr } from './wasm-internals';

/** Output tile edge: F(2x2, 3x3) or F(4x4, 3x3). */
export type WinogradTile = 2 | 4;

/** One variant's transforms and sizes: (m + 2)² transformed planes for m x m output tiles. */
interface Variant {
  m: WinogradTile;
  planes: number;
  input: HeapLoops['winogradInput'];
  filter: HeapLoops['winogradFilter'];
  output: HeapLoops['winogradOutput'];
  gradInput: HeapLoops['winogradGradInput'];
  filterGrad: HeapLoops['winogradFilterGrad'];
}

function variantOf(loops: HeapLoops, m: WinogradTile): Variant {
  if (m === 2) {
    const { winogradInput, winogradFilter, winogradOutput, winogradGradInput, winogradFilterGrad } = loops;
    return {
      m,
      planes: 16,
      input: winogradInput,
      filter: winogradFilter,
      output: winogradOutput,
      gradInput: winogradGradInput,
      filterGrad: winogradFilterGrad,
    };
  }
  const { winograd4Input, winograd4Filter, winograd4Output, winograd4GradInput, winograd4FilterGrad } = loops;
  return {
    m,
    planes: 36,
    input: winograd4Input,
    filter: winograd4Filter,
    output: winograd4Output,
    gradInput: winograd4GradInput,
    filterGrad: winograd4FilterGrad,
  };
}

/** Tiles per image of an oh x ow output in m x m tiles. */
export const tilesOf = (oh: number, ow: number, m: WinogradTile) => Math.ceil(oh / m) * Math.ceil(ow / m);

/**
 * The Winograd variant for a 3x3 stride-1 convolution from cin to cout channels with oh x ow outputs an image,
 * or 0 for none (the implicit GEMM). Asked of each image, never of the batch: an image's bits must not depend on
 * the batch it comes in (1 worker's whole batch against 2 workers' halves, predict against serve).
 * F(2x2, 3x3) measured faster than the implicit GEMM from 8 channels to 8 with at least 4 tiles an image (its
 * matrix products need 4 tiles). F(4x4, 3x3) where it needs fewer products than F(2x2) (36 a tile against 16,
 * edge tiles counted whole: from 7x7 outputs, not at 5x5 or 6x6) with 4 tiles an image; measured faster on every
 * family shape down to 8x8 and at 7x7, slower at 6x6 ([32,6,6,32] 32 -> 32 forward 0.59 against 0.43 ms;
 * BENCHMARKS.md).
 */
export function winogradTileFor(oh: number, ow: number, cin: number, cout: number): WinogradTile | 0 {
  if (cin < 8 || cout < 8) return 0;
  const [tiles2, tiles4] = [tilesOf(oh, ow, 2), tilesOf(oh, ow, 4)];
  if (tiles4 >= 4 && 36 * tiles4 < 16 * tiles2) return 4;
  return tiles2 >= 4 ? 2 : 0;
}

/**
 * y = conv3x3(x, w, stride 1, pads [top, bottom, left, right]) (+ bias) (then relu); needs Cin, Cout >= 4.
 * The tiles go in blocks (tileBlocks): each block's transformed input and products stay in the L2 cache between
 * the three passes instead of a round trip through memory of (m + 2)²/m² times the input and the output. A tile's
 * outputs depend on its window alone (every matrix-product row sums over the channels in order), not on the block.
 */
export function winogradConv(
  backend: WasmBackendInternals,
  m: WinogradTile,
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
  const [th, tw] = [Math.ceil(oh / m), Math.ceil(ow / m)];
  // Sizes not a multiple of m: zero rows / columns so that every tile's window is inside.
  const xp = pad(x, [pads[0], pads[1] + th * m - oh, pads[2], pads[3] + tw * m - ow]);
  const loops = loopsOf(backend);
  const f = variantOf(loops, m);
  const blocks = tileBlocks(n * th * tw, f.planes * (cin + cout));
  const rows = blocks[1] - blocks[0];
  const [vPlane, mPlane] = [planeBytes(rows * cin), planeBytes(rows * cout)];
  const v = backend.makeOutput([(f.planes * vPlane) / 4], 'float32');
  const u = backend.makeOutput([f.planes, cin, cout], 'float32');
  const mt = backend.makeOutput([(f.planes * mPlane) / 4], 'float32');
  const y = backend.makeOutput(outShape, 'float32');
  const [vp, up, mp, xpp, yp] = [ptr(backend, v), ptr(backend, u), ptr(backend, mt), ptr(backend, xp), ptr(backend, y)];
  const biasAt = bias ? ptr(backend, bias) : 0;
  f.filter(ptr(backend, w), up, cin, cout);
  const gemm = gemmFor(loops, cout);
  for (let b = 0; b + 1 < blocks.length; b++) {
    const [t0, t1] = [blocks[b], blocks[b + 1]];
    f.input(xpp, vp, vPlane, xp.shape[1], xp.shape[2], cin, th, tw, t0, t1);
    for (let xi = 0; xi < f.planes; xi++) {
      gemm(vp + xi * vPlane, cin * 4, 4, up + xi * cin * cout * 4, cout * 4, mp + xi * mPlane, t1 - t0, cout, cin);
    }
    f.output(mp, mPlane, yp, biasAt, oh, ow, cout, th, tw, t0, t1, relu ? 1 : 0);
  }
  for (const tmp of [v, u, mt]) backend.disposeData(tmp.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  return y;
}

/** Bytes of transformed input and products a block of tiles may take (of the 1 MiB L2 cache of this kind of CPU). */
const BLOCK_BYTES = 384 * 1024;

/**
 * Block boundaries over t tiles (t >= 4) of `floatsPerTile` transformed floats each: as few blocks as keep a
 * block within BLOCK_BYTES, of near-equal sizes (the first is the largest), each of at least 4 tiles (a matrix
 * product needs 4 rows).
 */
export function tileBlocks(t: number, floatsPerTile: number, blockBytes = BLOCK_BYTES): number[] {
  const perBlock = Math.max(8, Math.floor(blockBytes / (4 * floatsPerTile)));
  const count = Math.max(1, Math.ceil(t / perBlock));
  return Array.from({ length: count + 1 }, (_, k) => t - Math.floor(((count - k) * t) / count));
}

/**
 * Planes a multiple of 4 KiB plus 64 bytes apart (bytes), for `floats` floats each: 16-36 streams in as many cache
 * sets, not one.
 */
export function planeBytes(floats: number): number {
  return (Math.ceil(floats / 1024) * 1024 + 16) * 4;
}

/**
 * The filter gradient of the same stride-1 3x3 convolution (x [N, H, W, Cin], dy [N, OH, OW, Cout]):
 * dw = Gᵀ [Σ over tiles of V ⊙ (A dy Aᵀ)] G, the sum a matrix product over the tiles per ξ. In blocks of tiles
 * as the forward pass: each block's sums are added to the first block's (a fixed order for a given batch).
 */
export function winogradFilterGradient(
  backend: WasmBackendInternals,
  m: WinogradTile,
  x: TensorInfo,
  dy: TensorInfo,
  pads: number[],
  filterShape: [number, number, number, number],
  pad: (x: TensorInfo, pads: number[]) => TensorInfo,
  blockBytes = BLOCK_BYTES,
): TensorInfo {
  const [n, oh, ow, cout] = dy.shape;
  const cin = x.shape[3];
  const [th, tw] = [Math.ceil(oh / m), Math.ceil(ow / m)];
  const xp = pad(x, [pads[0], pads[1] + th * m - oh, pads[2], pads[3] + tw * m - ow]);
  const dyp = pad(dy, [0, th * m - oh, 0, tw * m - ow]);
  const loops = loopsOf(backend);
  const f = variantOf(loops, m);
  const blocks = tileBlocks(n * th * tw, f.planes * (cin + cout), blockBytes);
  const rows = blocks[1] - blocks[0];
  const [vPlane, ePlane, duFloats] = [planeBytes(rows * cin), planeBytes(rows * cout), f.planes * cin * cout];
  const v = backend.makeOutput([(f.planes * vPlane) / 4], 'float32');
  const e = backend.makeOutput([(f.planes * ePlane) / 4], 'float32');
  const du = backend.makeOutput([f.planes, cin, cout], 'float32');
  const part = blocks.length > 2 ? backend.makeOutput([duFloats], 'float32') : du;
  const dw = backend.makeOutput(filterShape, 'float32');
  // dU[ξ] [Cin, Cout] = Σ over the tiles of V[ξ]ᵀ · E[ξ]: a block's sum by the register-tiled GEMM (A(ci, t) at
  // V[ξ] + 4ci + t*Cin*4, in order over the tiles), then added to the earlier blocks'. Unblocked, the cache-blocked
  // conv filter-gradient kernel (one filter row of Cin taps) was the faster from Cin*Cout = 2048; in blocks the GEMM
  // is (interleaved calls, F(4x4), batch 32, load 6.7, CPU ms min / median): [32,16,16,32] 32 -> 64 2.83 / 3.26
  // against 3.40 / 3.83, 64 -> 32 2.87 / 3.46 against 3.31 / 4.36, 64 -> 64 5.72 / 6.13 against 6.55 / 7.44,
  // [32,8,8,64] 64 -> 64 1.47 / 1.68 against 1.63 / 1.79, [32,32,32,32] 32 -> 64 11.2 / 12.2 against 13.3 / 15.6.
  const gemm = gemmFor(loops, cout);
  const [vp, ep, dup, partp] = [ptr(backend, v), ptr(backend, e), ptr(backend, du), ptr(backend, part)];
  const [xpp, dypp] = [ptr(backend, xp), ptr(backend, dyp)];
  for (let b = 0; b + 1 < blocks.length; b++) {
    const [t0, t1] = [blocks[b], blocks[b + 1]];
    f.input(xpp, vp, vPlane, xp.shape[1], xp.shape[2], cin, th, tw, t0, t1);
    f.gradInput(dypp, ep, ePlane, dyp.shape[1], dyp.shape[2], cout, th, tw, t0, t1);
    const out = b === 0 ? dup : partp;
    for (let xi = 0; xi < f.planes; xi++) {
      gemm(vp + xi * vPlane, 4, cin * 4, ep + xi * ePlane, cout * 4, out + xi * cin * cout * 4, cin, cout, t1 - t0);
    }
    if (b > 0) loops.addRowVector(dup, partp, dup, 1, duFloats);
  }
  f.filterGrad(dup, ptr(backend, dw), cin, cout);
  for (const tmp of [v, e, du, ...(part === du ? [] : [part])]) backend.disposeData(tmp.dataId);
  if (xp !== x) backend.disposeData(xp.dataId);
  if (dyp !== dy) backend.disposeData(dyp.dataId);
  return dw;
}
