/**
 * MaxPoolGrad for the wasm backend.
 *
 * What was wrong (tfjs-backend-wasm 4.22, src/cc/kernels/MaxPoolGrad.cc): the search for
 * each window's max starts from `{std::numeric_limits<float>::min(), 0}`: the smallest POSITIVE
 * float, at flat input offset 0, and keeps `x >= max`. In a window whose max is <= 0 nothing
 * beats the start, so the "winner" is input element 0 of the whole tensor: the one window that
 * contains it sends its gradient there, every other such window loses its gradient. Ties go
 * to the LAST maximum where the cpu backend (and TensorFlow) pick the FIRST. With relu in front
 * of a max-pool, all-zero windows are common, so training silently got wrong gradients.
 *
 * Why this is right: it is the cpu backend's rule (tfjs-backend-cpu maxPoolPositions +
 * maxPoolBackprop): per output cell, scan the window's in-bounds input cells in row-major
 * order, keep the first strictly greater value starting from -Infinity (padding never wins,
 * NaN never wins), and add dy of that cell to dx at the winner. A window with no winner
 * (all NaN or all -Infinity) contributes nothing, as on cpu.
 *
 * Speed: one pass over the windows straight on the wasm heap (no intermediate tensors).
 */
import { assertFloat32, f32, KernelArgs, KernelFunc, Tf, TensorInfo, tfTypes, WasmBackendInternals, WasmKernel } from './wasm-internals';

export function makeMaxPoolGradKernel(tf: Tf): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ dy: TensorInfo; input: TensorInfo }>) => {
    const { dy, input } = args.inputs;
    const backend = args.backend as WasmBackendInternals;
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tfTypes.MaxPoolGradAttrs;
    assertFloat32('MaxPoolGrad', dy, input);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);

    const dx = backend.makeOutput(input.shape, 'float32');
    // Views only after the allocation above (it may grow the heap).
    const xv = f32(backend, input);
    const dyv = f32(backend, dy);
    const dxv = f32(backend, dx);
    dxv.fill(0);
    maxPoolBackprop(xv, dyv, dxv, info);
    return dx;
  }) as unknown as KernelFunc;
  return { kernelName: 'MaxPoolGrad', kernelFunc };
}

/** Exported for the tests: the pure routing rule on plain arrays. */
export function maxPoolBackprop(x: Float32Array, dy: Float32Array, dx: Float32Array, info: {
  batchSize: number; inHeight: number; inWidth: number; inChannels: number; outHeight: number; outWidth: number;
  strideHeight: number; strideWidth: number; effectiveFilterHeight: number; effectiveFilterWidth: number;
  padInfo: { top: number; left: number };
}): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const sh = info.strideHeight, sw = info.strideWidth;
  const fh = info.effectiveFilterHeight, fw = info.effectiveFilterWidth;
  const padTop = info.padInfo.top, padLeft = info.padInfo.left;
  const rowStride = W * C;
  const best = new Float64Array(C);
  const bestAt = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    const xBatch = n * H * rowStride;
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sh - padTop;
      const rMin = Math.max(0, r0), rMax = Math.min(H, r0 + fh);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sw - padLeft;
        const cMin = Math.max(0, c0), cMax = Math.min(W, c0 + fw);
        best.fill(-Infinity);
        bestAt.fill(-1);
        // Row-major over the window, channels innermost: contiguous reads, and "first strictly
        // greater" per channel gives the same winner as the cpu backend's per-channel scan.
        for (let r = rMin; r < rMax; r++) {
          let p = xBatch + r * rowStride + cMin * C;
          for (let c = cMin; c < cMax; c++) {
            for (let ch = 0; ch < C; ch++, p++) {
              const v = x[p];
              if (v > best[ch]) { best[ch] = v; bestAt[ch] = p; }
            }
          }
        }
        const dyBase = ((n * OH + oh) * OW + ow) * C;
        for (let ch = 0; ch < C; ch++) {
          const at = bestAt[ch];
          if (at >= 0) dx[at] += dy[dyBase + ch];
        }
      }
    }
  }
}
