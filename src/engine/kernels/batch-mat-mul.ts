/**
 * BatchMatMul for the wasm backend (speed; same float32 summation order as XNNPACK).
 *
 * What was slow: the stock kernel (src/cc/batch_mat_mul_impl.cc) uses XNNPACK only when
 * neither operand is transposed and the batch is 1, otherwise a scalar blocked triple loop:
 * dense-layer gradients (dW = xᵀ·dy, dx = dy·Wᵀ) were ~10x slower than the forward product.
 * And even on its XNNPACK path, XNNPACK re-packs the right operand whenever it is a new tensor,
 * which in training is every step (new weights, new gradients): ~6 ns per element, more than
 * the product itself for dense layers of small nets.
 *
 * Why this is right: for batch 1, C = op(A)·op(B) is computed by the register-tiled SIMD loop
 * in assembly/gemm.ts, which reads A in place through strides (so Aᵀ costs nothing) and B's rows
 * in place. A transposed B must be materialized, which for a dense layer's input gradient
 * (dy·Wᵀ, W [inputs, units]) means moving the whole weight matrix every step; when that is the
 * larger copy, the kernel computes Cᵀ = B·op(A)ᵀ instead (B read in place as the strided
 * operand, op(A)ᵀ small) and transposes Cᵀ: C[i,j] = sum_t A(i,t)·B(j,t) either way, in the same
 * order of t, so the bits are the same. Transposes are a blocked wasm loop (assembly/transpose.ts). Fewer than
 * 4 rows run the same loop on rows padded to 4. Batched products, non-float32, and fewer than 4 columns
 * go to the stock kernel (with explicit transposes, which keeps them on XNNPACK when possible).
 */
import { gemmFor, loopsOf } from './heap-loops';
import { runStock } from './stock-kernels';
import {
  ptr,
  type TensorInfo,
  type WasmBackendInternals,
  type WasmKernel,
  wasmKernel,
  withShape,
} from './wasm-internals';

export function makeBatchMatMulKernel(): WasmKernel {
  return wasmKernel<{ a: TensorInfo; b: TensorInfo }>('BatchMatMul', (inputs, backend, attrs) => {
    const { a, b } = inputs;
    const transposeA = Boolean(attrs.transposeA);
    const transposeB = Boolean(attrs.transposeB);
    const batchA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
    const batchB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
    if (batchA !== 1 || batchB !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return runStock('BatchMatMul', { a, b }, backend, attrs);
    }
    const [ar, ac] = a.shape.slice(-2);
    const [br, bc] = b.shape.slice(-2);
    const m = transposeA ? ac : ar;
    const k = transposeA ? ar : ac;
    const n = transposeB ? br : bc;
    if ((transposeB ? bc : br) !== k) {
      throw new Error(
        `Error in matMul: inner shapes (${k}) and (${transposeB ? bc : br}) of Tensors with shapes ` +
          `${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
      );
    }
    // Same output shape the stock kernel gives: broadcast batch dims (all 1 here) + [m, n].
    const rank = Math.max(a.shape.length, b.shape.length);
    const outShape = [...new Array<number>(rank - 2).fill(1), m, n];
    const as2d = (t: TensorInfo) => withShape(t, t.shape.slice(-2));
    const flip = (t: TensorInfo) => runStock('Transpose', { x: as2d(t) }, backend, { perm: [1, 0] });

    // Fewer than 4 rows (a batch of 1-3 through a dense layer): the same GEMM on rows padded to 4, so a row's
    // bits never depend on how many rows come with it (the relaxed-SIMD GEMM fuses its multiply-adds,
    // XNNPACK does not: 1 and 2 workers, or predict and serve's batches, would otherwise round differently).
    if (m < 4 && n >= 4) return paddedRows(backend, a, b, transposeA, transposeB, m, n, k, outShape);
    if (m < 4 || n < 4) {
      const a2 = transposeA ? flip(a) : as2d(a);
      const b2 = transposeB ? flip(b) : as2d(b);
      const out = runStock('BatchMatMul', { a: a2, b: b2 }, backend, { transposeA: false, transposeB: false });
      if (transposeA) backend.disposeData(a2.dataId);
      if (transposeB) backend.disposeData(b2.dataId);
      return withShape(out, outShape);
    }
    const loops = loopsOf(backend);
    if (transposeB && n * k > (transposeA ? 0 : m * k) + m * n)
      return viaTransposedC(backend, a, b, transposeA, m, n, k, outShape);
    const b2 = transposeB ? transpose(backend, as2d(b)) : b;
    const out = backend.makeOutput(outShape, 'float32');
    const tile = gemmFor(loops, n);
    // A(i, t): row-major [m, k] -> (k*4, 4) bytes; stored transposed [k, m] -> (4, m*4).
    const [sAi, sAt] = transposeA ? [4, m * 4] : [k * 4, 4];
    tile(ptr(backend, a), sAi, sAt, ptr(backend, b2), n * 4, ptr(backend, out), m, n, k);
    if (transposeB) backend.disposeData(b2.dataId);
    return out;
  });
}

/** A row-major [rows, cols] float32 matrix transposed into a new tensor (assembly/transpose.ts). */
function transpose(backend: WasmBackendInternals, t: TensorInfo): TensorInfo {
  const [rows, cols] = t.shape;
  const out = backend.makeOutput([cols, rows], 'float32');
  loopsOf(backend).transpose2d(ptr(backend, t), ptr(backend, out), rows, cols);
  return out;
}

/**
 * C = op(A)·Bᵀ as the transpose of Cᵀ = B·op(A)ᵀ: B [n, k] is the gemm's strided left operand
 * read in place; op(A)ᵀ is A's storage itself when A is transposed, else A transposed ([k, m]).
 */
function viaTransposedC(
  backend: WasmBackendInternals,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  m: number,
  n: number,
  k: number,
  outShape: number[],
): TensorInfo {
  const aT = transposeA ? a : transpose(backend, withShape(a, [m, k]));
  const cT = backend.makeOutput([n, m], 'float32');
  const out = backend.makeOutput(outShape, 'float32');
  const loops = loopsOf(backend);
  gemmFor(loops, m)(ptr(backend, b), k * 4, 4, ptr(backend, aT), m * 4, ptr(backend, cT), n, m, k);
  loops.transpose2d(ptr(backend, cT), ptr(backend, out), n, m);
  if (!transposeA) backend.disposeData(aT.dataId);
  backend.disposeData(cT.dataId);
  return out;
}

/** C = op(A)·op(B) for m < 4 rows: op(A) copied into 4 zero-padded rows, the 4-row product, its first m rows. */
function paddedRows(
  backend: WasmBackendInternals,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  m: number,
  n: number,
  k: number,
  outShape: number[],
): TensorInfo {
  const a4 = backend.makeOutput([4, k], 'float32');
  const b2 = transposeB ? transpose(backend, withShape(b, b.shape.slice(-2))) : b;
  const c4 = backend.makeOutput([4, n], 'float32');
  const out = backend.makeOutput(outShape, 'float32');
  const heap = backend.wasm.HEAPF32;
  const [ap, a4p] = [ptr(backend, a) >> 2, ptr(backend, a4) >> 2];
  heap.fill(0, a4p, a4p + 4 * k);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < k; t++) heap[a4p + i * k + t] = heap[ap + (transposeA ? t * m + i : i * k + t)];
  }
  gemmFor(loopsOf(backend), n)(a4p * 4, k * 4, 4, ptr(backend, b2), n * 4, ptr(backend, c4), 4, n, k);
  heap.copyWithin(ptr(backend, out) >> 2, ptr(backend, c4) >> 2, (ptr(backend, c4) >> 2) + m * n);
  if (transposeB) backend.disposeData(b2.dataId);
  backend.disposeData(a4.dataId);
  backend.disposeData(c4.dataId);
  return out;
}
