/**
 * Conv2DBackpropFilter for the wasm backend.
 *
 * What was wrong: tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter at all, so the
 * gradient of every conv2d layer threw "Kernel 'Conv2DBackpropFilter' not registered".
 *
 * Why this is right: dW[kh,kw,ci,co] = sum over n,oh,ow of
 *   x[n, oh*sh + kh - padTop, ow*sw + kw - padLeft, ci] * dy[n, oh, ow, co]
 * (out-of-bounds x read as 0), the definition the cpu backend loops over. Writing the input
 * patches transposed, Pt[(kh,kw,ci), (n,oh,ow)], makes this one matrix product
 *   dW[(kh,kw,ci), co] = Pt · dy[(n,oh,ow), co]
 * whose [K, Cout] result is already the filter layout [kh,kw,Cin,Cout]. Neither operand is
 * transposed and batch is 1, so the stock wasm BatchMatMul runs it through XNNPACK.
 * NCHW inputs are transposed to NHWC first (the wasm forward Conv2D is NHWC-only anyway).
 */
import { runStock } from './stock-kernels';
import { assertFloat32, f32, KernelArgs, KernelFunc, Tf, TensorInfo, tfTypes, WasmBackendInternals, WasmKernel, withShape } from './wasm-internals';

export function makeConv2DBackpropFilterKernel(tf: Tf): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ x: TensorInfo; dy: TensorInfo }>) => {
    const backend = args.backend as WasmBackendInternals;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
      args.attrs as unknown as tfTypes.Conv2DBackpropFilterAttrs;
    assertFloat32('Conv2DBackpropFilter', args.inputs.x, args.inputs.dy);
    const channelsFirst = tf.backend_util.convertConv2DDataFormat(dataFormat) === 'channelsFirst';
    const toNhwc = (t: TensorInfo) => runStock('Transpose', { x: t }, backend, { perm: [0, 2, 3, 1] });
    const x = channelsFirst ? toNhwc(args.inputs.x) : args.inputs.x;
    const dy = channelsFirst ? toNhwc(args.inputs.dy) : args.inputs.dy;

    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
      filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const M = info.batchSize * info.outHeight * info.outWidth;
    const K = info.filterHeight * info.filterWidth * info.inChannels;
    const patchesT = backend.makeOutput([K, M], 'float32');
    writeTransposedPatches(f32(backend, x), f32(backend, patchesT), info);

    const dw = runStock('BatchMatMul', { a: patchesT, b: withShape(dy, [M, info.outChannels]) }, backend,
      { transposeA: false, transposeB: false });
    backend.disposeData(patchesT.dataId);
    if (channelsFirst) {
      backend.disposeData(x.dataId);
      backend.disposeData(dy.dataId);
    }
    return withShape(dw, info.filterShape);
  }) as unknown as KernelFunc;
  return { kernelName: 'Conv2DBackpropFilter', kernelFunc };
}

/** Pt[((kh*FW + kw)*Cin + ci) * M + (n*OH + oh)*OW + ow] = x[n, oh*sh+kh-pt, ow*sw+kw-pl, ci] or 0. */
export function writeTransposedPatches(x: Float32Array, pt: Float32Array, info: tfTypes.backend_util.Conv2DInfo): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const sh = info.strideHeight, sw = info.strideWidth;
  const padTop = info.padInfo.top, padLeft = info.padInfo.left;
  const M = N * OH * OW;
  let row = 0;
  for (let kh = 0; kh < info.filterHeight; kh++) {
    for (let kw = 0; kw < info.filterWidth; kw++) {
      // Output columns whose input column is in bounds: owMin <= ow < owMax.
      const owMin = Math.min(OW, Math.max(0, Math.ceil((padLeft - kw) / sw)));
      const owMax = Math.max(owMin, Math.min(OW, Math.floor((W - 1 + padLeft - kw) / sw) + 1));
      for (let ci = 0; ci < C; ci++, row++) {
        let q = row * M;
        for (let n = 0; n < N; n++) {
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh + kh - padTop;
            if (ih < 0 || ih >= H) {
              pt.fill(0, q, q + OW);
              q += OW;
              continue;
            }
            const rowBase = ((n * H + ih) * W) * C + ci;
            let ow = 0;
            for (; ow < owMin; ow++) pt[q++] = 0;
            let p = rowBase + (owMin * sw + kw - padLeft) * C;
            const step = sw * C;
            for (; ow < owMax; ow++, p += step) pt[q++] = x[p];
            for (; ow < OW; ow++) pt[q++] = 0;
          }
        }
      }
    }
  }
}
