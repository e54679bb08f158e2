/**
 * BatchMatMul for the wasm backend (speed, same results).
 *
 * What was slow: the stock kernel (src/cc/batch_mat_mul_impl.cc) uses XNNPACK only when
 * neither operand is transposed and the batch is 1; otherwise it runs a scalar blocked triple
 * loop. Dense-layer gradients are exactly the transposed cases (dW = xᵀ·dy, dx = dy·Wᵀ), and
 * were ~10x slower than the forward product.
 *
 * Why this is right: A·Bᵀ == A·(Bᵀ materialized) and likewise for A; for batch 1 we
 * materialize the transposed operand(s) with the stock Transpose kernel and call the stock
 * kernel untransposed, which takes its XNNPACK path. Batched products (rank > 2 with a batch
 * > 1) keep the stock kernel.
 */
import { runStock } from './stock-kernels';
import { KernelArgs, KernelFunc, TensorInfo, WasmBackendInternals, WasmKernel, withShape } from './wasm-internals';

export function makeBatchMatMulKernel(): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>) => {
    const { a, b } = args.inputs;
    const backend = args.backend as WasmBackendInternals;
    const transposeA = Boolean(args.attrs.transposeA);
    const transposeB = Boolean(args.attrs.transposeB);
    const batchA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
    const batchB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
    if ((!transposeA && !transposeB) || batchA !== 1 || batchB !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return runStock('BatchMatMul', { a, b }, backend, args.attrs);
    }
    const as2d = (t: TensorInfo) => withShape(t, t.shape.slice(-2));
    const flip = (t: TensorInfo) => runStock('Transpose', { x: as2d(t) }, backend, { perm: [1, 0] });
    const a2 = transposeA ? flip(a) : as2d(a);
    const b2 = transposeB ? flip(b) : as2d(b);
    const out = runStock('BatchMatMul', { a: a2, b: b2 }, backend, { transposeA: false, transposeB: false });
    if (transposeA) backend.disposeData(a2.dataId);
    if (transposeB) backend.disposeData(b2.dataId);
    // Same output shape the stock kernel gives: broadcast batch dims (all 1 here) + [m, n].
    const rank = Math.max(a.shape.length, b.shape.length);
    return withShape(out, [...new Array<number>(rank - 2).fill(1), ...out.shape.slice(-2)]);
  }) as unknown as KernelFunc;
  return { kernelName: 'BatchMatMul', kernelFunc };
}
