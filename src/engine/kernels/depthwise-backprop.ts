/**
 * DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput for the wasm backend.
 *
 * What was wrong: tfjs-backend-wasm 4.22 registers neither, so the gradient of every
 * depthwise (and separable) convolution threw "Kernel ... not registered" on wasm: MobileNets
 * trained only on the cpu backend.
 *
 * Why this is right: they are the cpu backend's definitions (tfjs-backend-cpu
 * DepthwiseConv2dNativeBackpropFilter/Input), with the filter [fh, fw, C, M] and output
 * channel q = c*M + m reading input channel c:
 *   dF[kh, kw, q] = sum over (n, oh, ow) of x[n, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, q / M] * dy[n, oh, ow, q]
 *   dX[n, ih, iw, c] = sum over the (oh, ow, kh, kw) reading (ih, iw), and m, of dy[n, oh, ow, c*M + m] * F[kh, kw, c*M + m]
 * taps outside the input skipped (zero padding). One pass each in wasm straight on the heap
 * (assembly/depthwise.ts), 4 channels at a time when M = 1 (MobileNet's case).
 */
import { loopsOf } from './heap-loops';
import {
  assertFloat32,
  ptr,
  type TensorInfo,
  type Tf,
  type tfTypes,
  type WasmBackendInternals,
  type WasmKernel,
  wasmKernel,
} from './wasm-internals';

/** (a, b, out, n, h, w, c, oh, ow, mult, sh, sw, fh, fw, dh, dw, pt, pl): byte offsets, then the shape (shapeArgs). */
type Loop = (a: number, b: number, out: number, ...shape: number[]) => void;

/** The loops of assembly/depthwise.ts in the heap module. */
interface DepthwiseLoops {
  depthwiseFilterGrad: Loop;
  depthwiseInputGrad: Loop;
}

type Info = tfTypes.backend_util.Conv2DInfo;

/** The loop's shape arguments, from the convolution's info. */
function shapeArgs(info: Info): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels / info.inChannels,
    info.strideHeight,
    info.strideWidth,
    info.filterHeight,
    info.filterWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

function depthwiseInfo(
  tf: Tf,
  xShape: number[],
  filterShape: number[],
  a: tfTypes.DepthwiseConv2dNativeBackpropFilterAttrs,
): Info {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
  );
}

const depthwiseLoops = (backend: WasmBackendInternals) => loopsOf(backend) as unknown as DepthwiseLoops;

export function makeDepthwiseBackpropFilterKernel(tf: Tf): WasmKernel {
  return wasmKernel<{ x: TensorInfo; dy: TensorInfo }>(
    'DepthwiseConv2dNativeBackpropFilter',
    (inputs, backend, attrs) => {
      const a = attrs as unknown as tfTypes.DepthwiseConv2dNativeBackpropFilterAttrs;
      const { x, dy } = inputs;
      assertFloat32('DepthwiseConv2dNativeBackpropFilter', x, dy);
      const info = depthwiseInfo(tf, x.shape, a.filterShape, a);
      const df = backend.makeOutput(info.filterShape, 'float32');
      depthwiseLoops(backend).depthwiseFilterGrad(
        ptr(backend, x),
        ptr(backend, dy),
        ptr(backend, df),
        ...shapeArgs(info),
      );
      return df;
    },
  );
}

export function makeDepthwiseBackpropInputKernel(tf: Tf): WasmKernel {
  return wasmKernel<{ dy: TensorInfo; filter: TensorInfo }>(
    'DepthwiseConv2dNativeBackpropInput',
    (inputs, backend, attrs) => {
      const a = attrs as unknown as tfTypes.DepthwiseConv2dNativeBackpropInputAttrs;
      const { dy, filter } = inputs;
      assertFloat32('DepthwiseConv2dNativeBackpropInput', dy, filter);
      const info = depthwiseInfo(tf, a.inputShape, filter.shape, { ...a, filterShape: filter.shape as never });
      const dx = backend.makeOutput(info.inShape, 'float32');
      depthwiseLoops(backend).depthwiseInputGrad(
        ptr(backend, dy),
        ptr(backend, filter),
        ptr(backend, dx),
        ...shapeArgs(info),
      );
      return dx;
    },
  );
}
